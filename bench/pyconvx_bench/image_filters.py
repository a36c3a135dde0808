"""The image-filtering rows of the ratio table: :mod:`pyconvx.ndimage` against its peers.

Each row times one call of a ``pyconvx.ndimage`` function (Gaussian, a 5x5
correlation, a box mean, a Sobel derivative of a volume) against the same
call of ``scipy.ndimage`` (one thread, float64 arithmetic) or OpenCV (its
own threads), on float32 data, with the same border: scipy.ndimage's
``"reflect"``, which is OpenCV's ``BORDER_REFLECT``.

A row is a :class:`~pyconvx_bench.workloads.Workload` whose pyconvx side is
that function instead of one ``pyconvx.conv``; its ``passes`` list the
convolutions the engine runs for it (the 1-D passes of a separable filter),
whose plans give the path column (the first pass; "tap rows" for a 1-D pass
on pyconvx.ndimage's tap-rows engine) and the FLOP count (all passes: 2 x the
multiply-adds of direct summation, as in the other rows).
"""

import dataclasses
import importlib
import math

import numpy as np

import pyconvx
from pyconvx import _ndimage_core

from .workloads import Workload

__all__ = ["IMAGE_FILTER_WORKLOADS", "FilterWorkload"]

#: The 2048 x 2048 image of the 2-d rows and the 256**3 volume of the Sobel row.
IMAGE = (2048, 2048)
VOLUME = (256, 256, 256)


class FilterWorkload(Workload):
    """A ratio-table row whose pyconvx side is a ``pyconvx.ndimage`` call.

    Parameters
    ----------
    key, name, dtype, peer, peer_module, peer_factory, goal, peer_threaded, slow_peer, group
        As for :class:`~pyconvx_bench.workloads.Workload`; ``peer_factory(x,
        w, threads)`` gets the image as ``x`` and the row's kernel (or None)
        as ``w``.
    shape : tuple of int
        The array filtered.
    call : callable
        ``call(image, kernel, threads)`` runs the pyconvx function once.
    passes : list of (tuple, tuple, dict)
        The engine's convolutions for that call: ``(x_shape, w_shape,
        conv_kwargs)`` each, in the order they run.
    kernel_shape : tuple of int, optional
        Shape of a random kernel the row filters with (``correlate``).
    """

    def __init__(self, key, name, shape, dtype, call, passes, peer, peer_module, peer_factory,
                 goal, kernel_shape=None, peer_threaded=True, slow_peer=False, group=None):
        first_x, first_w, first_kwargs = passes[0]
        super().__init__(key, name, first_x, first_w, dtype, first_kwargs, peer, peer_module,
                         peer_factory, goal, peer_threaded=peer_threaded, slow_peer=slow_peer,
                         group=group)
        self.shape = tuple(shape)
        self.call = call
        self.passes = list(passes)
        self.kernel_shape = kernel_shape

    @property
    def out_shape(self):
        """The result has the shape of the array filtered."""
        return self.shape

    def plan(self, threads):
        """The first pass's plan, with ``flops`` counting every pass.

        A 1-D pass that ``pyconvx.ndimage`` runs on its tap-rows engine rather
        than on ``pyconvx.conv`` has the algorithm ``"tap rows"`` (no conv
        microkernel, tile or box).
        """
        plans = [pyconvx.plan(x_shape, w_shape, threads=threads, dtype=self.dtype, **kwargs)
                 for x_shape, w_shape, kwargs in self.passes]
        first = dataclasses.replace(plans[0], flops=sum(plan.flops for plan in plans))
        x_shape, w_shape, kwargs = self.passes[0]
        pads = kwargs["padding"]
        if isinstance(pads, int):
            pads = [(pads, pads)] * (len(x_shape) - 2)
        if _ndimage_core._tap_rows_layout(x_shape[2:], w_shape[2:], [tuple(p) for p in pads]):
            first = dataclasses.replace(first, algorithm="tap rows", microkernel=None,
                                        tile=None, box=None)
        return first

    def make_inputs(self, seed=0, n=None):
        """A uniform random array in [0, 1) and the row's kernel (or None)."""
        rng = np.random.default_rng(seed)
        image = rng.random(self.shape, dtype=np.float32).astype(self.dtype, copy=False)
        kernel = None
        if self.kernel_shape is not None:
            kernel = rng.standard_normal(self.kernel_shape).astype(self.dtype)
            kernel /= np.asarray(math.sqrt(kernel.size), dtype=self.dtype)
        return image, kernel

    def pyconvx_call(self, x, w, threads):
        """A zero-argument callable running the row's ``pyconvx.ndimage`` call once."""

        def call():
            return self.call(x, w, threads)

        return call


# -- pyconvx's side ---------------------------------------------------------


def _ndimage(name, *args, **kwargs):
    """``pyconvx.ndimage.<name>(image, *args, threads=T, **kwargs)`` as a row's call."""

    def call(image, kernel, threads):
        function = getattr(pyconvx.ndimage, name)
        if kernel is not None:
            return function(image, kernel, *args, threads=threads, **kwargs)
        return function(image, *args, threads=threads, **kwargs)

    return call


def _passes_2d(taps):
    """The two 1-D passes of a separable 2-d filter of ``taps`` taps on IMAGE."""
    low = taps // 2
    plane = (1, 1) + IMAGE
    return [
        (plane, (1, 1, taps, 1), {"padding": ((low, taps - 1 - low), (0, 0)),
                                  "padding_mode": "symmetric"}),
        (plane, (1, 1, 1, taps), {"padding": ((0, 0), (low, taps - 1 - low)),
                                  "padding_mode": "symmetric"}),
    ]


def _sobel_volume_passes():
    """sobel(volume, axis=0): the difference along axis 0, [1, 2, 1] along axes 1 and 2."""
    depth, rows, cols = VOLUME
    pad = {"padding_mode": "symmetric"}
    return [
        ((1, 1, depth, rows * cols), (1, 1, 3, 1), {"padding": ((1, 1), (0, 0)), **pad}),
        ((depth, 1, rows, cols), (1, 1, 3, 1), {"padding": ((1, 1), (0, 0)), **pad}),
        ((1, 1, depth * rows, cols), (1, 1, 1, 3), {"padding": ((0, 0), (1, 1)), **pad}),
    ]


# -- the peers --------------------------------------------------------------


def _nothing_to_restore():
    return None


def _scipy_ndimage(name, *args, **kwargs):
    """``scipy.ndimage.<name>`` on the same operands (one thread)."""

    def factory(x, w, threads):
        function = getattr(importlib.import_module("scipy.ndimage"), name)

        def call():
            if w is not None:
                return function(x, w, *args, **kwargs)
            return function(x, *args, **kwargs)

        return call, _nothing_to_restore

    return factory


def _cv2_gaussian(sigma):
    """``cv2.GaussianBlur`` with the kernel size ndimage's truncate=4 gives, BORDER_REFLECT."""

    def factory(x, w, threads):
        cv2 = importlib.import_module("cv2")
        before = cv2.getNumThreads()
        cv2.setNumThreads(threads)
        size = 2 * int(4.0 * sigma + 0.5) + 1

        def call():
            try:
                return cv2.GaussianBlur(x, (size, size), sigma, sigmaY=sigma,
                                        borderType=cv2.BORDER_REFLECT)
            except cv2.error as exc:  # OpenCV's own class, not a built-in error
                raise RuntimeError(f"cv2.GaussianBlur: {exc}") from exc

        def restore():
            cv2.setNumThreads(before)

        return call, restore

    return factory


_SCIPY = "scipy.ndimage"

IMAGE_FILTER_WORKLOADS = [
    FilterWorkload("nd_gaussian", "ndimage.gaussian_filter sigma=3, 2048x2048 float32",
                   IMAGE, "float32", _ndimage("gaussian_filter", 3.0), _passes_2d(25),
                   _SCIPY, "scipy", _scipy_ndimage("gaussian_filter", 3.0), 0.1,
                   peer_threaded=False),
    FilterWorkload("nd_gaussian_cv2", "the same against cv2.GaussianBlur (25x25, BORDER_REFLECT)",
                   IMAGE, "float32", _ndimage("gaussian_filter", 3.0), _passes_2d(25),
                   "cv2.GaussianBlur", "cv2", _cv2_gaussian(3.0), 1.0, group="nd_gaussian"),
    FilterWorkload("nd_correlate5x5", "ndimage.correlate, random 5x5, 2048x2048 float32",
                   IMAGE, "float32", _ndimage("correlate"),
                   [((1, 1) + IMAGE, (1, 1, 5, 5),
                     {"padding": 2, "padding_mode": "symmetric"})],
                   _SCIPY, "scipy", _scipy_ndimage("correlate"), 0.05, kernel_shape=(5, 5),
                   peer_threaded=False),
    FilterWorkload("nd_uniform31", "ndimage.uniform_filter size 31, 2048x2048 float32",
                   IMAGE, "float32", _ndimage("uniform_filter", 31), _passes_2d(31),
                   _SCIPY, "scipy", _scipy_ndimage("uniform_filter", 31), 0.3,
                   peer_threaded=False),
    FilterWorkload("nd_sobel3d", "ndimage.sobel axis 0, 256**3 float32 volume",
                   VOLUME, "float32", _ndimage("sobel", 0), _sobel_volume_passes(),
                   _SCIPY, "scipy", _scipy_ndimage("sobel", 0), 0.2, peer_threaded=False,
                   slow_peer=True),
]
