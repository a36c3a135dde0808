"""The rows of the ratio table: pyconvx's call, the peer that sets the bar, the goal.

Each :class:`Workload` is one convolution (shapes, dtype, ``pyconvx.conv``
keyword arguments) with the peer call that computes the same thing and the
goal for ``pyconvx time / peer time``.  Shapes, output shapes and FLOP counts
come from pyconvx itself (``output_shape``, ``plan``).  The peers are optional
and only ever timed: each is imported by name when its row runs.
"""

import importlib
import math

import numpy as np

import pyconvx

__all__ = ["PEER_ERRORS", "PYCONVX_ERRORS", "WORKLOADS", "PoolingPath", "PoolingWorkload",
           "Workload", "random_operands", "select", "torch_conv"]

#: What a pyconvx call raises for a problem it refuses or cannot hold in memory.
PYCONVX_ERRORS = (ValueError, TypeError, MemoryError)

#: What a peer's call raises when it fails (the OpenCV factory turns cv2.error
#: into RuntimeError, which is what torch raises).
PEER_ERRORS = (RuntimeError, ValueError, TypeError, MemoryError, OSError)


def random_operands(x_shape, w_shape, dtype, seed=0):
    """Standard-normal ``(x, w)`` in C order, ``w`` scaled by 1/sqrt(fan-in).

    The scaling keeps the outputs near unit size whatever the reduction length.

    Examples
    --------
    >>> x, w = random_operands((1, 2, 5, 5), (3, 2, 3, 3), "float32")
    >>> x.shape, w.shape, w.dtype.name
    ((1, 2, 5, 5), (3, 2, 3, 3), 'float32')
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    w /= np.asarray(math.sqrt(math.prod(w_shape[1:])), dtype=dtype)
    return x, w


class Workload:
    """One row of the ratio table.

    Attributes
    ----------
    key : str
        Short name: ``--only`` matches it, and it names the pytest-benchmark group.
    name : str
        What the row measures.
    x_shape, w_shape : tuple of int
        pyconvx's operands: ``(N, C_in, *spatial)`` and ``(C_out, C_in/groups, *kernel)``.
    dtype : str
    conv_kwargs : dict
        Keyword arguments of ``pyconvx.conv`` besides ``threads``.
    peer : str
        Human name of the peer.
    peer_module : str
        Module that must import for the peer to run.
    peer_factory : callable
        ``peer_factory(x, w, threads)`` -> ``(call, restore)``: ``call()`` runs
        the peer once and returns its result; ``restore()`` undoes any thread
        setting the factory made.
    goal : float
        Goal for ``pyconvx time / peer time`` (at most).
    peak_goal : float or None
        Goal for the share of the FMA peak pyconvx reaches (at least).
    slow_peer : bool
        The peer takes a large part of a second: fewer rounds.
    peer_threaded : bool
        Whether the peer takes a thread count (else it runs on one thread).
    group : str
        Rows on the same operands share a group (the pytest-benchmark group).
    """

    def __init__(self, key, name, x_shape, w_shape, dtype, conv_kwargs, peer,
                 peer_module, peer_factory, goal, peak_goal=None,
                 slow_peer=False, peer_threaded=True, group=None):
        self.key = key
        self.name = name
        self.x_shape = tuple(x_shape)
        self.w_shape = tuple(w_shape)
        self.dtype = dtype
        self.conv_kwargs = dict(conv_kwargs)
        self.peer = peer
        self.peer_module = peer_module
        self.peer_factory = peer_factory
        self.goal = goal
        self.peak_goal = peak_goal
        self.slow_peer = slow_peer
        self.peer_threaded = peer_threaded
        self.group = group or key

    @property
    def out_shape(self):
        """The result's shape, from ``pyconvx.output_shape``."""
        return pyconvx.output_shape(self.x_shape, self.w_shape, **self.conv_kwargs)

    def plan(self, threads):
        """``pyconvx.plan`` of this row's call on ``threads`` threads."""
        return pyconvx.plan(self.x_shape, self.w_shape, threads=threads,
                            dtype=self.dtype, **self.conv_kwargs)

    @property
    def flops(self):
        """2 * multiply-adds of the convolution (``Plan.flops``)."""
        return self.plan(1).flops

    def make_inputs(self, seed=0, n=None):
        """Random operands ``(x, w)``; ``n`` replaces the batch size."""
        x_shape = self.x_shape if n is None else (n,) + self.x_shape[1:]
        return random_operands(x_shape, self.w_shape, self.dtype, seed)

    def pyconvx_call(self, x, w, threads):
        """A zero-argument callable running ``pyconvx.conv`` on ``x, w`` once."""
        kwargs = dict(self.conv_kwargs)

        def call():
            return pyconvx.conv(x, w, threads=threads, **kwargs)

        return call

    def peer_available(self):
        """None if the peer imports, else a short note."""
        try:
            importlib.import_module(self.peer_module)
        except (ImportError, OSError) as exc:  # not installed, or a broken install
            return f"{self.peer} not installed ({type(exc).__name__})"
        return None

    def __repr__(self):
        return f"Workload({self.key!r})"


class PoolingPath:
    """What a pooling row shows where a convolution row shows its :class:`pyconvx.Plan`.

    Pooling has no plan: the path is ``"pooling"``, with no microkernel, SIMD
    set or FLOP count (so no GFLOP/s and no share of the FMA peak).
    """

    algorithm = "pooling"
    microkernel = None
    tile = None
    simd = None
    box = None
    workspace_bytes = 0
    flops = None

    def __init__(self, threads, work_units):
        self.threads = threads
        self.work_units = work_units


class PoolingWorkload(Workload):
    """A row timing one of pyconvx's pooling functions against torch's.

    ``function`` names both (``"max_pool2d"``, ``"avg_pool2d"``), called on
    ``x`` with ``pool_kwargs``; ``w_shape`` is empty, the operands are ``(x,
    None)``.
    """

    def __init__(self, key, name, x_shape, dtype, function, pool_kwargs, goal):
        super().__init__(key, name, x_shape, (), dtype, pool_kwargs, f"torch F.{function}",
                         "torch", _torch_pooling(function, pool_kwargs), goal)
        self.function = function

    @property
    def out_shape(self):
        """The result's shape, from ``pyconvx.pooling.pool_output_size``."""
        from pyconvx.pooling import pool_output_size

        kernel = self.conv_kwargs["kernel_size"]
        stride = self.conv_kwargs.get("stride") or kernel
        padding = self.conv_kwargs.get("padding", 0)
        return self.x_shape[:2] + tuple(pool_output_size(size, kernel, stride, padding)
                                        for size in self.x_shape[2:])

    def plan(self, threads):
        """The row's :class:`PoolingPath` (work units: the N * C planes)."""
        return PoolingPath(threads, self.x_shape[0] * self.x_shape[1])

    def make_inputs(self, seed=0, n=None):
        """Standard-normal ``x`` and None; ``n`` replaces the batch size."""
        x_shape = self.x_shape if n is None else (n,) + self.x_shape[1:]
        return np.random.default_rng(seed).standard_normal(x_shape).astype(self.dtype), None

    def pyconvx_call(self, x, w, threads):
        """A zero-argument callable running the pyconvx pooling function on ``x`` once."""
        function = getattr(pyconvx, self.function)
        kwargs = dict(self.conv_kwargs)

        def call():
            return function(x, threads=threads, **kwargs)

        return call


# -- peer factories ---------------------------------------------------------


def _nothing_to_restore():
    return None


def torch_conv(x, w, threads, stride=1, padding=0, groups=1):
    """``torch.nn.functional.conv1d/conv2d`` on ``x, w`` as ``(call, restore)``.

    torch runs on ``threads`` threads until ``restore()``; the call runs under
    ``torch.no_grad()`` on tensors sharing the arrays' memory.
    """
    torch = importlib.import_module("torch")
    functional = importlib.import_module("torch.nn.functional")

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    tx = torch.from_numpy(x)
    tw = torch.from_numpy(w)
    conv = {3: functional.conv1d, 4: functional.conv2d}[x.ndim]

    def call():
        with torch.no_grad():
            return conv(tx, tw, stride=stride, padding=padding, groups=groups)

    def restore():
        torch.set_num_threads(before)

    return call, restore


def _torch_pooling(function, kwargs):
    """``torch.nn.functional.<function>(x, **kwargs)`` as a peer factory."""

    def factory(x, w, threads):
        torch = importlib.import_module("torch")
        functional = importlib.import_module("torch.nn.functional")
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        tx = torch.from_numpy(x)
        pool = getattr(functional, function)

        def call():
            with torch.no_grad():
                return pool(tx, **kwargs)

        def restore():
            torch.set_num_threads(before)

        return call, restore

    return factory


def _torch_factory(**kwargs):
    def factory(x, w, threads):
        return torch_conv(x, w, threads, **kwargs)
    return factory


def _cv2_filter2d(x, w, threads):
    """cv2.filter2D on the one image: correlation, same-size output, zeros
    outside the image (BORDER_CONSTANT), anchor at the kernel centre: the
    same result as pyconvx.conv(..., padding="same")."""
    cv2 = importlib.import_module("cv2")

    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    image = np.ascontiguousarray(x[0, 0])
    kernel = np.ascontiguousarray(w[0, 0])
    depth = cv2.CV_32F if x.dtype == np.float32 else cv2.CV_64F

    def call():
        try:
            return cv2.filter2D(image, depth, kernel, borderType=cv2.BORDER_CONSTANT)
        except cv2.error as exc:  # OpenCV's own class, not a built-in error
            raise RuntimeError(f"cv2.filter2D: {exc}") from exc

    def restore():
        cv2.setNumThreads(before)

    return call, restore


def _scipy_correlate_fft(mode):
    def factory(x, w, threads):
        signal = importlib.import_module("scipy.signal")
        image = np.ascontiguousarray(x[0, 0])
        kernel = np.ascontiguousarray(w[0, 0])

        def call():
            return signal.correlate(image, kernel, mode=mode, method="fft")

        return call, _nothing_to_restore
    return factory


def _scipy_correlate2d(x, w, threads):
    signal = importlib.import_module("scipy.signal")
    image = np.ascontiguousarray(x[0, 0])
    kernel = np.ascontiguousarray(w[0, 0])

    def call():
        return signal.correlate2d(image, kernel, mode="same", boundary="fill")

    return call, _nothing_to_restore


def _numpy_correlate(x, w, threads):
    signal = np.ascontiguousarray(x[0, 0])
    taps = np.ascontiguousarray(w[0, 0])

    def call():
        return np.correlate(signal, taps, mode="valid")

    return call, _nothing_to_restore


# -- the table --------------------------------------------------------------


def _pyconvx_channels_first(x, w, threads):
    """pyconvx on the channels-first copy of a channels-last ``x`` (made here, not
    timed); the result is viewed channels-last again, to compare."""
    x_first = np.ascontiguousarray(np.moveaxis(x, -1, 1))

    def call():
        return np.moveaxis(pyconvx.conv(x_first, w, padding=1, threads=threads), 1, -1)

    return call, _nothing_to_restore


def _one_channel(key, name, size, k, peer, module, factory, goal, **extra):
    return Workload(key, name, (1, 1, size, size), (1, 1, k, k), "float32",
                    {"padding": "same"}, peer, module, factory, goal, **extra)


_TORCH = "torch F.conv2d"
_C2D = "scipy.signal.correlate2d"

WORKLOADS = [
    Workload("conv3x3", "3x3, 64->64, 56x56, N=8, padding 1",
             (8, 64, 56, 56), (64, 64, 3, 3), "float32", {"padding": 1},
             _TORCH, "torch", _torch_factory(padding=1), 0.9, peak_goal=0.70),
    Workload("conv3x3_f64", "the same in float64",
             (8, 64, 56, 56), (64, 64, 3, 3), "float64", {"padding": 1},
             _TORCH, "torch", _torch_factory(padding=1), 0.25),
    Workload("conv7x7s2", "7x7 stride 2, 3->64, 224x224, N=8, padding 3",
             (8, 3, 224, 224), (64, 3, 7, 7), "float32", {"stride": 2, "padding": 3},
             _TORCH, "torch", _torch_factory(stride=2, padding=3), 0.9),
    Workload("conv1x1", "1x1, 256->256, 28x28, N=8",
             (8, 256, 28, 28), (256, 256, 1, 1), "float32", {"padding": 0},
             _TORCH, "torch", _torch_factory(padding=0), 0.75),
    Workload("depthwise3x3", "depthwise 3x3, C=256, 28x28, N=8",
             (8, 256, 28, 28), (256, 1, 3, 3), "float32", {"padding": 1, "groups": 256},
             _TORCH, "torch", _torch_factory(padding=1, groups=256), 0.7),
    Workload("conv3x3_256", "3x3, 256->256, 14x14, N=1",
             (1, 256, 14, 14), (256, 256, 3, 3), "float32", {"padding": 1},
             _TORCH, "torch", _torch_factory(padding=1), 1.0),
    Workload("conv3x3_nhwc", "the first row channels-last: (8, 56, 56, 64), data_format",
             (8, 56, 56, 64), (64, 64, 3, 3), "float32",
             {"padding": 1, "data_format": "channels_last"},
             "pyconvx channels-first", "pyconvx", _pyconvx_channels_first, 1.1),
    _one_channel("img2048_3x3", "one channel 2048x2048, 3x3, padding same",
                 2048, 3, "cv2.filter2D", "cv2", _cv2_filter2d, 1.0),
    _one_channel("img2048_7x7", "one channel 2048x2048, 7x7 (same)",
                 2048, 7, "cv2.filter2D", "cv2", _cv2_filter2d, 0.8),
    _one_channel("img2048_15x15", "one channel 2048x2048, 15x15 (same)",
                 2048, 15, "cv2.filter2D", "cv2", _cv2_filter2d, 0.5),
    _one_channel("img512_31x31", "one channel 512x512, 31x31 (same)",
                 512, 31, "scipy.signal.correlate (FFT)", "scipy",
                 _scipy_correlate_fft("same"), 1.0, peer_threaded=False),
    PoolingWorkload("maxpool3x3s2", "max pooling 3x3 stride 2, 64 channels, 112x112, N=8",
                    (8, 64, 112, 112), "float32", "max_pool2d", {"kernel_size": 3, "stride": 2},
                    1.0),
    PoolingWorkload("avgpool2x2", "average pooling 2x2, 256 channels, 56x56, N=8",
                    (8, 256, 56, 56), "float32", "avg_pool2d", {"kernel_size": 2}, 1.0),
    Workload("conv1d_f64", "1-d, 1e6 samples, 64 taps, float64 (valid)",
             (1, 1, 1_000_000), (1, 1, 64), "float64", {"padding": 0},
             "numpy.correlate", "numpy", _numpy_correlate, 0.3, peer_threaded=False),
    # every one-channel case above against scipy.signal.correlate2d, one row each
    *[_one_channel(f"c2d_{size}_{k}x{k}", f"correlate2d: one channel {size}x{size}, {k}x{k}",
                   size, k, _C2D, "scipy", _scipy_correlate2d, 0.02, slow_peer=True,
                   peer_threaded=False, group=f"img{size}_{k}x{k}")
      for size, k in ((2048, 3), (2048, 7), (2048, 15), (512, 31))],
]

# the training rows (gradients, transposed convolution) live in their own module,
# which builds on Workload above
from .training import TRAINING_WORKLOADS  # noqa: E402

WORKLOADS += TRAINING_WORKLOADS


# the image-filtering rows (pyconvx.ndimage against scipy.ndimage and OpenCV) live in
# their own module, built on Workload above
from .image_filters import IMAGE_FILTER_WORKLOADS  # noqa: E402

WORKLOADS.extend(IMAGE_FILTER_WORKLOADS)


def select(keys=None):
    """The workloads whose key equals or contains one of ``keys`` (default all).

    Raises
    ------
    ValueError
        If a key matches no workload.

    Examples
    --------
    >>> [wl.key for wl in select(["img2048_7"])]
    ['img2048_7x7']
    """
    if not keys:
        return list(WORKLOADS)
    chosen = []
    for key in keys:
        matches = [wl for wl in WORKLOADS if key in wl.key]
        if not matches:
            raise ValueError(f"unknown workload {key!r}; known: "
                             + ", ".join(wl.key for wl in WORKLOADS))
        chosen.extend(wl for wl in matches if wl not in chosen)
    return chosen
