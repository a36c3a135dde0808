"""The speed table of issue 3: pyconvx against its peers, as ratios.

Each row of :data:`WORKLOADS` is one workload of the goals table: the shapes,
the pyconvx call (always ``pyconvx.conv``), the peer that sets the bar and a
factory for the peer's call, the dtype, the FLOP count and the goal ratio
``pyconvx time / peer time``.  :func:`run` measures them, :func:`format_table`
prints them, :func:`main` does both (it is what ``pyconvx bench`` and
``bench/run_table.py`` call).

Method (see bench/README.md): one process; each side is called 2-3 times to
warm up, then the two sides are called alternately (A B, B A, A B, ...) so that
drift in clock speed or in the load from other processes hits both alike; the
medians of the per-call ``time.perf_counter`` times are compared.  A peer that
is not installed is skipped with a note.  Nothing here asserts a speed.

OPENBLAS_CORETYPE=Haswell (set in some environments) forces the OpenBLAS
inside NumPy and SciPy onto AVX2 kernels, and it is read once when NumPy is
first imported, so it cannot be undone in a running process: :func:`main`
warns about it and :func:`ensure_clean_env` re-executes the command without
it.
"""

import gc
import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

__all__ = [
    "Workload",
    "WORKLOADS",
    "peak_gflops",
    "run",
    "format_table",
    "main",
    "ensure_clean_env",
    "openblas_coretype_warning",
]

#: Environment variable set by :func:`ensure_clean_env` in the re-executed
#: process, so that it never re-executes twice.
_REEXEC_MARK = "PYCONVX_BENCH_REEXEC"

#: FMA peak of this machine from PERFORMANCE.md (AMD Zen 5, AVX-512, register
#: only loop, 16 chains), GFLOP/s per core; used when the core cannot measure.
_DOC_PEAK_PER_CORE = {"float32": 222.5, "float64": 111.0}

# Timing budgets.  ``repeats`` is the number of interleaved pairs aimed at,
# ``min_repeats`` the floor, ``budget`` the seconds after which a workload
# stops adding pairs once it has its floor.
_FULL = {"warmup": 3, "repeats": 25, "min_repeats": 7, "budget": 4.0}
_QUICK = {"warmup": 2, "repeats": 5, "min_repeats": 3, "budget": 1.0}
# scipy.signal.correlate2d takes 0.07-1.5 s per call on these images.
_SLOW_FULL = {"warmup": 1, "repeats": 5, "min_repeats": 3, "budget": 6.0}
_SLOW_QUICK = {"warmup": 1, "repeats": 2, "min_repeats": 1, "budget": 1.0}

#: Pause between two timed calls (seconds), spent busy-waiting.  After a
#: parallel region an OpenMP runtime spins for a while before its threads
#: sleep; pyconvx and torch each bring their own libgomp, so on 2 cores a
#: spinning pool of one side would steal the cores of the other's next call.
#: The pause lets the spinners go to sleep; it is not part of any timed
#: interval.  It busy-waits rather than sleeps: after a sleep the next call
#: measurably pays for the idle core (about 0.7 ms more on a 3 ms call here).
#: Measured here: both runtimes burn 1-5 ms of CPU after a call.
_GAP = 0.005


def _pause(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


# ---------------------------------------------------------------------------
# workloads


def _out_size(n, k, stride, pad_lo, pad_hi, dilation=1):
    return (n + pad_lo + pad_hi - dilation * (k - 1) - 1) // stride + 1


def _pad_pair(padding, k):
    """(lo, hi) zero padding of one dimension for an int or "same"/"valid"."""
    if padding == "same":
        total = k - 1
        return total // 2, total - total // 2
    if padding == "valid":
        return 0, 0
    return padding, padding


class Workload:
    """One row of the speed table.

    Attributes
    ----------
    key : str
        Short name, used by ``--only`` and as the pytest-benchmark group.
    name : str
        What the row measures, as written in issue 3.
    x_shape, w_shape : tuple of int
        pyconvx operands: NC(D)HW input, (C_out, C_in/groups, *kernel) weight.
    dtype : str
    conv_kwargs : dict
        Keyword arguments of ``pyconvx.conv`` besides ``threads``.
    peer : str
        Human name of the peer.
    peer_module : str
        Module that must import for the peer to run.
    peer_factory : callable
        ``peer_factory(x, w, threads)`` -> ``(call, restore)``: ``call()``
        runs the peer once and returns its result; ``restore()`` undoes any
        thread setting the factory made.
    goal : float
        Goal for ``pyconvx time / peer time`` (at most).
    peak_goal : float or None
        Goal for the fraction of the FMA peak reached by pyconvx (at least).
    slow_peer : bool
        The peer takes a large fraction of a second: fewer repeats.
    peer_threaded : bool
        Whether the peer honours a thread count (else it runs on one thread).
    group : str
        Rows with the same operands share a group (the pytest-benchmark
        group): the correlate2d rows join the cv2/scipy row of their image.
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

    # -- shapes and counts ------------------------------------------------
    @property
    def groups(self):
        return self.conv_kwargs.get("groups", 1)

    @property
    def out_shape(self):
        spatial_in = self.x_shape[2:]
        kernel = self.w_shape[2:]
        ndim = len(kernel)
        stride = self.conv_kwargs.get("stride", 1)
        strides = (stride,) * ndim if isinstance(stride, int) else tuple(stride)
        padding = self.conv_kwargs.get("padding", 0)
        out = []
        for d in range(ndim):
            lo, hi = _pad_pair(padding, kernel[d])
            out.append(_out_size(spatial_in[d], kernel[d], strides[d], lo, hi))
        return (self.x_shape[0], self.w_shape[0]) + tuple(out)

    @property
    def flops(self):
        """2 * N * C_out * (C_in/groups) * prod(kernel) * prod(out_spatial)."""
        n, c_out = self.x_shape[0], self.w_shape[0]
        c_in_per_group = self.w_shape[1]
        return (2 * n * c_out * c_in_per_group * math.prod(self.w_shape[2:])
                * math.prod(self.out_shape[2:]))

    # -- operands and calls -----------------------------------------------
    def make_inputs(self, seed=0, n=None):
        """Random standard-normal operands (x, w) in C order."""
        rng = np.random.default_rng(seed)
        x_shape = self.x_shape if n is None else (n,) + self.x_shape[1:]
        x = rng.standard_normal(x_shape).astype(self.dtype)
        w = rng.standard_normal(self.w_shape).astype(self.dtype)
        if math.prod(self.w_shape[2:]) > 9:
            # keep large one-channel kernels at a sensible output scale
            w /= math.sqrt(math.prod(self.w_shape[1:]))
        return x, w

    def pyconvx_call(self, pyconvx, x, w, threads):
        kwargs = dict(self.conv_kwargs)
        conv = pyconvx.conv

        def call():
            return conv(x, w, threads=threads, **kwargs)

        return call

    def peer_available(self):
        """None if the peer imports, else a short note."""
        try:
            __import__(self.peer_module)
        except Exception as exc:  # ImportError, or a broken install
            return f"{self.peer} not installed ({type(exc).__name__})"
        return None

    def __repr__(self):
        return f"Workload({self.key!r})"


# -- peer factories ---------------------------------------------------------
# The peers are optional and only ever timed here, never used to compute a
# pyconvx result: they are imported on demand, by name.


def _noop():
    return None


def _torch_conv(x, w, threads, stride=1, padding=0, groups=1):
    torch = importlib.import_module("torch")
    F = importlib.import_module("torch.nn.functional")

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    tx = torch.from_numpy(x)
    tw = torch.from_numpy(w)
    fn = F.conv1d if x.ndim == 3 else F.conv2d

    def call():
        with torch.no_grad():
            return fn(tx, tw, stride=stride, padding=padding, groups=groups)

    def restore():
        torch.set_num_threads(before)

    return call, restore


def _torch_factory(**kw):
    def factory(x, w, threads):
        return _torch_conv(x, w, threads, **kw)
    return factory


def _cv2_filter2d(x, w, threads):
    """cv2.filter2D on the one image: correlation, same-size output, zeros
    outside the image (BORDER_CONSTANT), anchor at the kernel centre: the
    same result as pyconvx.conv(..., padding="same")."""
    cv2 = importlib.import_module("cv2")

    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    img = np.ascontiguousarray(x[0, 0])
    ker = np.ascontiguousarray(w[0, 0])
    ddepth = cv2.CV_32F if x.dtype == np.float32 else cv2.CV_64F

    def call():
        return cv2.filter2D(img, ddepth, ker, borderType=cv2.BORDER_CONSTANT)

    def restore():
        cv2.setNumThreads(before)

    return call, restore


def _scipy_correlate_fft(mode):
    def factory(x, w, threads):
        from scipy import signal

        img = np.ascontiguousarray(x[0, 0])
        ker = np.ascontiguousarray(w[0, 0])

        def call():
            return signal.correlate(img, ker, mode=mode, method="fft")

        return call, _noop
    return factory


def _scipy_correlate2d(x, w, threads):
    from scipy import signal

    img = np.ascontiguousarray(x[0, 0])
    ker = np.ascontiguousarray(w[0, 0])

    def call():
        return signal.correlate2d(img, ker, mode="same", boundary="fill")

    return call, _noop


def _numpy_correlate(x, w, threads):
    a = np.ascontiguousarray(x[0, 0])
    v = np.ascontiguousarray(w[0, 0])

    def call():
        return np.correlate(a, v, mode="valid")

    return call, _noop


# -- the table --------------------------------------------------------------


def _one_channel(key, name, size, k, peer, module, factory, goal, **extra):
    return Workload(key, name, (1, 1, size, size), (1, 1, k, k), "float32",
                    {"padding": "same"}, peer, module, factory, goal, **extra)


_C2D = "scipy.signal.correlate2d"

WORKLOADS = [
    Workload("conv3x3", "3x3, 64->64, 56x56, N=8, padding 1",
             (8, 64, 56, 56), (64, 64, 3, 3), "float32", {"padding": 1},
             "torch F.conv2d", "torch", _torch_factory(padding=1), 0.9,
             peak_goal=0.70),
    Workload("conv3x3_f64", "the same in float64",
             (8, 64, 56, 56), (64, 64, 3, 3), "float64", {"padding": 1},
             "torch F.conv2d", "torch", _torch_factory(padding=1), 0.25),
    Workload("conv7x7s2", "7x7 stride 2, 3->64, 224x224, N=8, padding 3",
             (8, 3, 224, 224), (64, 3, 7, 7), "float32",
             {"stride": 2, "padding": 3},
             "torch F.conv2d", "torch", _torch_factory(stride=2, padding=3), 0.9),
    Workload("conv1x1", "1x1, 256->256, 28x28, N=8",
             (8, 256, 28, 28), (256, 256, 1, 1), "float32", {"padding": 0},
             "torch F.conv2d", "torch", _torch_factory(padding=0), 0.6),
    Workload("depthwise3x3", "depthwise 3x3, C=256, 28x28, N=8",
             (8, 256, 28, 28), (256, 1, 3, 3), "float32",
             {"padding": 1, "groups": 256},
             "torch F.conv2d", "torch", _torch_factory(padding=1, groups=256), 0.7),
    Workload("conv3x3_256", "3x3, 256->256, 14x14, N=1",
             (1, 256, 14, 14), (256, 256, 3, 3), "float32", {"padding": 1},
             "torch F.conv2d", "torch", _torch_factory(padding=1), 1.0),
    _one_channel("img2048_3x3", "one channel 2048x2048, 3x3, padding same",
                 2048, 3, "cv2.filter2D", "cv2", _cv2_filter2d, 1.0),
    _one_channel("img2048_7x7", "one channel 2048x2048, 7x7 (same)",
                 2048, 7, "cv2.filter2D", "cv2", _cv2_filter2d, 0.8),
    _one_channel("img2048_15x15", "one channel 2048x2048, 15x15 (same)",
                 2048, 15, "cv2.filter2D", "cv2", _cv2_filter2d, 0.5),
    _one_channel("img512_31x31", "one channel 512x512, 31x31 (same)",
                 512, 31, "scipy.signal.correlate (FFT)", "scipy",
                 _scipy_correlate_fft("same"), 1.0, peer_threaded=False),
    Workload("conv1d_f64", "1-d, 1e6 samples, 64 taps, float64 (valid)",
             (1, 1, 1_000_000), (1, 1, 64), "float64", {"padding": 0},
             "numpy.correlate", "numpy", _numpy_correlate, 0.3,
             peer_threaded=False),
    # The last goal of issue 3, "every one-channel case above" against
    # scipy.signal.correlate2d, as one row per case.
    _one_channel("c2d_2048_3x3", "correlate2d: one channel 2048x2048, 3x3",
                 2048, 3, _C2D, "scipy", _scipy_correlate2d, 0.02,
                 slow_peer=True, peer_threaded=False, group="img2048_3x3"),
    _one_channel("c2d_2048_7x7", "correlate2d: one channel 2048x2048, 7x7",
                 2048, 7, _C2D, "scipy", _scipy_correlate2d, 0.02,
                 slow_peer=True, peer_threaded=False, group="img2048_7x7"),
    _one_channel("c2d_2048_15x15", "correlate2d: one channel 2048x2048, 15x15",
                 2048, 15, _C2D, "scipy", _scipy_correlate2d, 0.02,
                 slow_peer=True, peer_threaded=False, group="img2048_15x15"),
    _one_channel("c2d_512_31x31", "correlate2d: one channel 512x512, 31x31",
                 512, 31, _C2D, "scipy", _scipy_correlate2d, 0.02,
                 slow_peer=True, peer_threaded=False, group="img512_31x31"),
]

_BY_KEY = {wl.key: wl for wl in WORKLOADS}


# ---------------------------------------------------------------------------
# environment


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def openblas_coretype_warning():
    """A warning line if OPENBLAS_CORETYPE is set in this process, else None."""
    value = os.environ.get("OPENBLAS_CORETYPE")
    if value is None:
        return None
    return (f"warning: OPENBLAS_CORETYPE={value} is set: NumPy/SciPy's OpenBLAS "
            "runs on the kernels of that core type, which slows some peers. "
            "It is read when NumPy is imported and cannot be undone in this "
            "process; run `env -u OPENBLAS_CORETYPE ...` or bench/run_table.py, "
            "which removes it.")


#: Environment the measurements run in.  OpenBLAS reads OPENBLAS_CORETYPE and
#: libgomp reads GOMP_SPINCOUNT once, when loaded, so they are set before any
#: of them loads.  GOMP_SPINCOUNT bounds how long idle OpenMP workers spin after
#: a call (the default spins for ~10 ms on CPUs with a slow `pause`): torch and
#: pyconvx each ship an OpenMP runtime, and on two cores one runtime's spinning
#: workers would otherwise steal a core from the other's next call.  The same
#: setting applies to both sides; a user's own value is kept.
BENCH_ENV_DEFAULTS = {"GOMP_SPINCOUNT": "20000"}
BENCH_ENV_REMOVED = ("OPENBLAS_CORETYPE",)


def bench_environment(environ=None):
    """The measurement environment: ``environ`` (default os.environ) adjusted."""
    env = dict(os.environ if environ is None else environ)
    for name in BENCH_ENV_REMOVED:
        env.pop(name, None)
    for name, value in BENCH_ENV_DEFAULTS.items():
        env.setdefault(name, value)
    return env


def needs_bench_environment(environ=None):
    environ = os.environ if environ is None else environ
    return (any(name in environ for name in BENCH_ENV_REMOVED)
            or any(name not in environ for name in BENCH_ENV_DEFAULTS))


def ensure_clean_env(args=None):
    """Re-execute this program in ``bench_environment()`` unless it runs there.

    ``args`` are the arguments after the interpreter, e.g.
    ``["-m", "pyconvx", "bench", "--quick"]``.  By default they are rebuilt
    from ``sys.argv``: ``-m pyconvx ...`` when running as ``python -m pyconvx``
    (``sys.argv[0]`` is pyconvx/__main__.py), else the script and its
    arguments.  Returns (does nothing) when the environment is already right or
    when this process is already the re-executed one; otherwise it does not
    return.  Call it before any heavy work; stdout/stderr are flushed first.
    """
    if not needs_bench_environment() or os.environ.get(_REEXEC_MARK):
        return
    if args is None:
        argv0 = sys.argv[0] if sys.argv else ""
        if (os.path.basename(argv0) == "__main__.py"
                and os.path.basename(os.path.dirname(argv0)) == "pyconvx"):
            args = ["-m", "pyconvx"] + sys.argv[1:]
        elif argv0 in ("", "-c", "-m"):
            return  # interactive or -c: nothing sensible to re-run
        else:
            args = [argv0] + sys.argv[1:]
    env = bench_environment()
    env[_REEXEC_MARK] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + list(args), env)


def _clean_subprocess_env():
    env = bench_environment()
    # make the pyconvx that this process imported importable in the child
    try:
        import pyconvx
        root = os.path.dirname(os.path.dirname(os.path.abspath(pyconvx.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (root, env.get("PYTHONPATH")) if p)
    except Exception:
        pass
    return env


def _import_pyconvx():
    """(module, None) or (None, note)."""
    try:
        import pyconvx
    except Exception as exc:
        return None, f"pyconvx not importable ({type(exc).__name__}: {exc})"
    if not hasattr(pyconvx, "conv"):
        return None, "pyconvx has no conv() yet"
    return pyconvx, None


_PEAK_CACHE = {}


def peak_gflops(dtype, threads, pyconvx=None):
    """(GFLOP/s, source) of the FMA peak for ``dtype`` on ``threads`` threads.

    Measured by ``pyconvx.fma_peak_gflops(double, threads)`` (or
    ``pyconvx._core.fma_peak_gflops``) when pyconvx provides it, as the
    larger of the ``threads`` probe and ``min(threads, cpus)`` times the
    one-thread probe (robust to another process holding a core), else PERFORMANCE.md's figure for this machine
    (222.5 fp32 / 111 fp64 GFLOP/s per core, times min(threads, cores)).
    """
    key = (str(dtype), threads)
    if key in _PEAK_CACHE:
        return _PEAK_CACHE[key]
    double = np.dtype(dtype) == np.float64
    result = None
    fn = getattr(pyconvx, "fma_peak_gflops", None)
    if fn is None and pyconvx is not None:
        try:
            from pyconvx import _core as core
            fn = getattr(core, "fma_peak_gflops", None)
        except Exception:
            fn = None
    if fn is not None:
        try:
            # The FMA peak scales with cores (registers only, nothing
            # shared), and on a shared machine a single-thread probe is the
            # likelier to find a free core: take the larger estimate.
            value = float(fn(bool(double), int(threads)))
            if threads > 1:
                one = float(fn(bool(double), 1))
                value = max(value, one * min(threads, default_threads()))
            if value > 0 and math.isfinite(value):
                result = (value, "measured")
        except Exception:
            result = None
    if result is None:
        per_core = _DOC_PEAK_PER_CORE["float64" if double else "float32"]
        cores = min(threads, default_threads())
        result = (per_core * cores, "PERFORMANCE.md")
    _PEAK_CACHE[key] = result
    return result


# ---------------------------------------------------------------------------
# measuring


def _median_ms(times):
    return statistics.median(times) * 1e3 if times else None


def _time_once(fn):
    t0 = time.perf_counter()
    out = fn()
    t1 = time.perf_counter()
    return t1 - t0, out


def _interleave(calls, settings, gap=_GAP, counts=None):
    """Time ``calls`` (list of zero-argument callables) alternately.

    Returns one list of per-call seconds per callable.  The order of the
    callables is reversed every round (A B, B A, ...).  ``counts`` (one int
    per callable) makes a callable run that many times in a row per round:
    a fast side next to a peer that takes a second gets more samples.
    """
    counts = counts or [1] * len(calls)
    for _ in range(settings["warmup"]):
        for fn in calls:
            fn()
    times = [[] for _ in calls]
    order = list(range(len(calls)))
    start = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        rounds = 0
        while rounds < settings["repeats"]:
            for i in order:
                for _ in range(counts[i]):
                    if gap:
                        _pause(gap)
                    dt, _ = _time_once(calls[i])
                    times[i].append(dt)
            order.reverse()
            rounds += 1
            if (rounds >= settings["min_repeats"]
                    and time.perf_counter() - start > settings["budget"]):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    return times


def _as_numpy(value):
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().numpy()
    return np.asarray(value)


def _check(pc_out, peer_out, dtype):
    """A note if the two results differ beyond a loose tolerance, else None.

    Guards the like-for-like claim (same padding, same correlation
    orientation); it is not an accuracy test.
    """
    a = _as_numpy(pc_out).reshape(-1).astype(np.float64)
    b = _as_numpy(peer_out).reshape(-1).astype(np.float64)
    if a.shape != b.shape:
        return f"CHECK: output sizes differ ({a.size} vs {b.size})"
    scale = float(np.max(np.abs(b))) or 1.0
    err = float(np.max(np.abs(a - b))) / scale
    tol = 1e-3 if np.dtype(dtype) == np.float32 else 1e-8
    if not err <= tol:
        return f"CHECK: results differ (max err {err:.2g} of max |peer|)"
    return None


def _measure_workload(wl, pyconvx, pc_note, quick, threads):
    if wl.slow_peer:
        settings = dict(_SLOW_QUICK if quick else _SLOW_FULL)
    else:
        settings = dict(_QUICK if quick else _FULL)
    res = {
        "key": wl.key, "name": wl.name, "dtype": wl.dtype, "threads": threads,
        "peer": wl.peer, "pyconvx_ms": None, "peer_ms": None, "ratio": None,
        "goal": wl.goal, "peak_goal": wl.peak_goal, "met": None,
        "gflops": None, "peer_gflops": None, "peak_pct": None,
        "peak_source": None, "flops": wl.flops, "repeats": 0, "notes": [],
        "peer_threaded": wl.peer_threaded, "path": None,
    }
    x, w = wl.make_inputs()
    calls, names = [], []
    restore = _noop

    if pyconvx is not None and hasattr(pyconvx, "plan"):
        try:
            p = pyconvx.plan(x, w, threads=threads, **wl.conv_kwargs)
            res["path"] = (f"direct/{p.microkernel}" if p.algorithm == "direct"
                           else str(p.algorithm))
        except Exception:
            pass
    if pyconvx is not None:
        try:
            pc_call = wl.pyconvx_call(pyconvx, x, w, threads)
            pc_out = pc_call()  # also the first warm-up call
            calls.append(pc_call)
            names.append("pyconvx")
        except Exception as exc:
            pc_out = None
            res["notes"].append(f"pyconvx failed: {type(exc).__name__}: {exc}")
    else:
        pc_out = None
        res["notes"].append(pc_note)

    missing = wl.peer_available()
    if missing is not None:
        res["notes"].append(missing + ": peer skipped")
        peer_out = None
    else:
        try:
            peer_call, restore = wl.peer_factory(x, w, threads)
            peer_out = peer_call()
            calls.append(peer_call)
            names.append("peer")
        except Exception as exc:
            peer_out = None
            res["notes"].append(f"peer failed: {type(exc).__name__}: {exc}")
    if not wl.peer_threaded and threads != 1 and "peer" in names:
        res["notes"].append(f"{wl.peer} runs on 1 thread (no thread option)")
    if pc_out is not None and peer_out is not None:
        note = _check(pc_out, peer_out, wl.dtype)
        if note:
            res["notes"].append(note)
    del pc_out, peer_out

    try:
        if calls:
            # next to a slow peer (correlate2d) pyconvx runs 5 times a round
            counts = [5 if (wl.slow_peer and n == "pyconvx") else 1
                      for n in names]
            times = _interleave(calls, settings, counts=counts)
            res["repeats"] = len(times[-1])
            for name, t in zip(names, times):
                res[f"{name}_ms"] = _median_ms(t)
                res[f"{name}_min_ms"] = min(t) * 1e3
    finally:
        restore()

    if res["pyconvx_ms"]:
        res["gflops"] = wl.flops / (res["pyconvx_ms"] * 1e-3) / 1e9
        peak, source = peak_gflops(wl.dtype, threads, pyconvx)
        res["peak_pct"] = 100.0 * res["gflops"] / peak
        res["peak_source"] = source
    if res["peer_ms"]:
        res["peer_gflops"] = wl.flops / (res["peer_ms"] * 1e-3) / 1e9
    if res["pyconvx_ms"] and res["peer_ms"]:
        res["ratio"] = res["pyconvx_ms"] / res["peer_ms"]
        met = res["ratio"] <= wl.goal
        if wl.peak_goal is not None:
            met = met and res["peak_pct"] >= 100.0 * wl.peak_goal
        res["met"] = met
    return res


# -- the extra goals ----------------------------------------------------------


def _extra_row(key, name, value, unit, goal_text, met, notes=(),
               threads=None):
    return {"key": key, "name": name, "extra": True, "value": value,
            "unit": unit, "goal_text": goal_text, "met": met,
            "notes": list(notes), "threads": threads}


_SCALING_SCRIPT = r"""
import json, statistics, sys
import pyconvx
from pyconvx import _benchtable as bt
wl = bt.WORKLOADS[0]
threads, repeats = int(sys.argv[1]), int(sys.argv[2])
x, w = wl.make_inputs()
one = wl.pyconvx_call(pyconvx, x, w, 1)
many = wl.pyconvx_call(pyconvx, x, w, threads)
settings = dict(bt._FULL)
settings["repeats"] = repeats
t1, tn = bt._interleave([one, many], settings)
print(json.dumps({"one": statistics.median(t1), "many": statistics.median(tn)}))
"""


def _measure_thread_scaling(quick, threads):
    """1-thread vs T-thread pyconvx on the first workload, in a fresh process:
    the peers' thread pools in this one would compete for the same cores."""
    wl = WORKLOADS[0]
    name = f"{wl.key}: {threads} threads vs 1 thread (speedup, fresh process)"
    if threads < 2:
        return _extra_row("scaling", name, None, "x", ">= 1.8x", None,
                          ["needs threads >= 2"])
    try:
        r = _run_script(_SCALING_SCRIPT, [threads, 4 if quick else 12], 600)
    except Exception as exc:
        return _extra_row("scaling", name, None, "x", ">= 1.8x", None, [str(exc)])
    speedup = r["one"] / r["many"]
    return _extra_row("scaling", name, speedup, "x", ">= 1.8x", speedup >= 1.8,
                      [f"1 thread {r['one'] * 1e3:.2f} ms, {threads} threads "
                       f"{r['many'] * 1e3:.2f} ms"])


_FIRST_CALL_SCRIPT = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
import numpy as np
import pyconvx
t_import = time.perf_counter() - t0
from pyconvx import _benchtable as bt
wl = bt.WORKLOADS[0]
threads = int(sys.argv[1])
x, w = wl.make_inputs()
call = wl.pyconvx_call(pyconvx, x, w, threads)
# NumPy's OpenBLAS pool starts with numpy and its threads spin for a while,
# holding the second core: let it go idle so that the first call measures
# pyconvx's own start-up (plan, thread team, workspace), not OpenBLAS's
time.sleep(float(sys.argv[3]))
t0 = time.perf_counter(); call(); first = time.perf_counter() - t0
for _ in range(2):
    call()
warm = []
for _ in range(int(sys.argv[2])):
    bt._pause(bt._GAP)
    t0 = time.perf_counter(); call(); warm.append(time.perf_counter() - t0)
print(json.dumps({"import": t_import, "first": first,
                  "warm": statistics.median(warm)}))
"""


_MEMORY_SCRIPT = r"""
import json, resource, sys, time
import numpy as np
import pyconvx
from pyconvx import _benchtable as bt
wl = bt.WORKLOADS[0]
threads = int(sys.argv[1]); n = int(sys.argv[2])

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None

# warm up on a small batch: thread pools, caches, lazy initialisation
xs, w = wl.make_inputs(n=1)
wl.pyconvx_call(pyconvx, xs, w, threads)()
del xs
x, w = wl.make_inputs(n=n)
x[...] = x          # every page of the input resident
method = "VmHWM reset via /proc/self/clear_refs"
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status("VmRSS")
    read_peak = lambda: status("VmHWM")
except OSError:
    method = "ru_maxrss before/after"
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    read_peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = wl.pyconvx_call(pyconvx, x, w, threads)()
peak = read_peak()
print(json.dumps({"before": before, "peak": peak, "out_bytes": int(out.nbytes),
                  "x_bytes": int(x.nbytes), "method": method}))
"""


def _run_script(script, args, timeout):
    proc = subprocess.run(
        [sys.executable, "-c", script] + [str(a) for a in args],
        capture_output=True, text=True, timeout=timeout,
        env=_clean_subprocess_env())
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"subprocess failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: Seconds the first-call process waits after importing and before its first
#: call (see _FIRST_CALL_SCRIPT): right after import, NumPy's OpenBLAS threads
#: still spin on the second core and a 2-thread first call runs at 1-thread speed
#: (measured: 12 ms first call without the wait, 6 ms with it or with
#: OPENBLAS_NUM_THREADS=1; 4 ms warm).
FIRST_CALL_SETTLE_S = 0.2


def _measure_first_call(quick, threads):
    """First call / warm median in fresh processes: one first call is a single
    sample, so several processes are run and the median ratio is reported."""
    name = f"{WORKLOADS[0].key}: first call / warm call (fresh process)"
    runs = []
    try:
        for _ in range(2 if quick else 5):
            runs.append(_run_script(_FIRST_CALL_SCRIPT,
                                    [threads, 5 if quick else 11, FIRST_CALL_SETTLE_S], 300))
    except Exception as exc:
        return _extra_row("first_call", name, None, "x", "<= 2x", None,
                          [str(exc)])
    runs.sort(key=lambda r: r["first"] / r["warm"])
    r = runs[len(runs) // 2]
    ratio = r["first"] / r["warm"]
    spread = ", ".join(f"{q['first'] / q['warm']:.2f}" for q in runs)
    return _extra_row(
        "first_call", name, ratio, "x", "<= 2x", ratio <= 2.0,
        [f"median of {len(runs)} fresh processes (ratios {spread}), first call "
         f"{FIRST_CALL_SETTLE_S} s after import: first "
         f"{r['first'] * 1e3:.2f} ms, warm median {r['warm'] * 1e3:.2f} ms"
         f" (import pyconvx {r['import'] * 1e3:.0f} ms, not counted)"])


def _measure_memory(threads, n=256):
    name = f"{WORKLOADS[0].key} at N={n}: peak extra memory"
    try:
        r = _run_script(_MEMORY_SCRIPT, [threads, n], 600)
    except Exception as exc:
        return _extra_row("memory", name, None, "MiB", "<= 64 MiB", None,
                          [str(exc)])
    extra = (r["peak"] - r["before"] - r["out_bytes"]) / 2**20
    return _extra_row(
        "memory", name, extra, "MiB", "<= 64 MiB", extra <= 64.0,
        [f"peak RSS during the call minus RSS before it (input {r['x_bytes'] / 2**20:.0f}"
         f" MiB resident) minus the output ({r['out_bytes'] / 2**20:.0f} MiB); "
         f"{r['method']}"])


# ---------------------------------------------------------------------------
# public entry points


def _select(workloads):
    if workloads is None:
        return list(WORKLOADS)
    chosen = []
    for item in workloads:
        if isinstance(item, Workload):
            chosen.append(item)
            continue
        matches = [wl for wl in WORKLOADS
                   if wl.key == item or item in wl.key]
        if not matches:
            raise ValueError(f"unknown workload {item!r}; known: "
                             + ", ".join(wl.key for wl in WORKLOADS))
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def run(quick=False, threads=None, progress=None, workloads=None,
        extras=None):
    """Measure the workloads; return one dict per row.

    Parameters
    ----------
    quick : bool
        Fewer repeats and a smaller time budget per workload.
    threads : int, optional
        Threads for pyconvx and for the peers that take a thread count;
        default: the CPUs this process may run on.
    progress : callable, optional
        Called with a short message before each workload.
    workloads : sequence of str or Workload, optional
        Keys (or substrings of keys) of :data:`WORKLOADS`; default all.
    extras : bool, optional
        Also measure the extra goals (thread scaling, first call, memory at
        N=256).  Default: when all workloads are measured.

    Returns
    -------
    list of dict
        Workload rows have ``pyconvx_ms``, ``peer``, ``peer_ms``, ``ratio``,
        ``goal``, ``met``, ``gflops``, ``peak_pct``, ``notes`` and more;
        extra rows have ``extra=True``, ``value``, ``unit``, ``goal_text``,
        ``met``, ``notes``.  Times are medians in milliseconds; None where a
        side could not run.
    """
    if threads is None:
        threads = default_threads()
    threads = int(threads)
    chosen = _select(workloads)
    if extras is None:
        extras = workloads is None
    say = progress or (lambda msg: None)
    pyconvx, pc_note = _import_pyconvx()
    results = []
    if pyconvx is not None:
        # the FMA peak first, before any peer has started its thread pools
        say("measuring the FMA peak")
        for dtype in sorted({wl.dtype for wl in chosen}):
            peak_gflops(dtype, threads, pyconvx)
    for i, wl in enumerate(chosen, 1):
        say(f"[{i}/{len(chosen)}] {wl.key}: {wl.name} vs {wl.peer}")
        results.append(_measure_workload(wl, pyconvx, pc_note, quick, threads))
        gc.collect()
    if extras:
        if pyconvx is None:
            first = WORKLOADS[0].key
            for key, name, goal in (
                    ("scaling", f"{first}: {threads} threads vs 1 thread "
                                "(speedup, fresh process)", ">= 1.8x"),
                    ("first_call", f"{first}: first call / warm call "
                                   "(fresh process)", "<= 2x"),
                    ("memory", f"{first} at N=256: peak extra memory",
                     "<= 64 MiB")):
                results.append(_extra_row(key, name, None, "", goal, None,
                                          [pc_note]))
        else:
            say("extra: thread scaling (subprocess)")
            results.append(_measure_thread_scaling(quick, threads))
            say("extra: first call vs warm call (subprocess)")
            results.append(_measure_first_call(quick, threads))
            say("extra: peak extra memory at N=256 (subprocess)")
            results.append(_measure_memory(threads))
        for r in results:
            if r.get("extra"):
                r["threads"] = threads
    return results


def _fmt(value, spec, missing="—"):
    return missing if value is None else format(value, spec)


def _fmt_ms(value):
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _met(value):
    return {True: "yes", False: "**no**", None: "—"}[value]


def format_table(results):
    """The results of :func:`run` as a Markdown table with footnotes."""
    header = ("| workload | pyconvx ms | peer | peer ms | ratio | goal | met? "
              "| GFLOP/s | % of peak | path |")
    lines = [header, "|" + "---|" * 10]
    footnotes = []

    def note_refs(notes):
        refs = []
        for n in notes:
            if n not in footnotes:
                footnotes.append(n)
            refs.append(f"[{footnotes.index(n) + 1}]")
        return " " + "".join(refs) if refs else ""

    sources = set()
    for r in results:
        if r.get("extra"):
            continue
        goal = f"<= {r['goal']:g}"
        if r.get("peak_goal"):
            goal += f", >= {100 * r['peak_goal']:.0f}% peak"
        lines.append(
            f"| {r['name']}{note_refs(r['notes'])} | {_fmt_ms(r['pyconvx_ms'])} "
            f"| {r['peer']} | {_fmt_ms(r['peer_ms'])} | {_fmt(r['ratio'], '.2f')} "
            f"| {goal} | {_met(r['met'])} | {_fmt(r['gflops'], '.1f')} "
            f"| {_fmt(r['peak_pct'], '.0f')} | {r.get('path') or '—'} |")
        if r.get("peak_source"):
            sources.add(r["peak_source"])
    extras = [r for r in results if r.get("extra")]
    if extras:
        lines.append("")
        lines.append("| extra goal | value | goal | met? |")
        lines.append("|---|---|---|---|")
        for r in extras:
            if r["value"] is None:
                value = "—"
            elif r["unit"] == "MiB":
                value = f"{r['value']:.1f} MiB"
            else:
                value = f"{r['value']:.2f}{r['unit']}"
            lines.append(f"| {r['name']}{note_refs(r['notes'])} | {value} "
                         f"| {r['goal_text']} | {_met(r['met'])} |")
    lines.append("")
    threads = next((r["threads"] for r in results if r.get("threads")), None)
    lines.append(
        f"Times are medians of interleaved calls on {threads} thread(s), in ms; "
        "ratio = pyconvx / peer (lower is better); GFLOP/s = "
        "2*N*C_out*(C_in/groups)*prod(kernel)*prod(out_spatial) / pyconvx time; "
        "path = the algorithm pyconvx.plan chose (for direct, its microkernel).")
    if "PERFORMANCE.md" in sources:
        footnotes.append(
            "% of peak uses PERFORMANCE.md's FMA peak for this machine (222.5 "
            "fp32 / 111 fp64 GFLOP/s per core; 445 / 222 on 2 threads): "
            "pyconvx.fma_peak_gflops was not available.")
    elif "measured" in sources:
        peaks = ", ".join(f"{d} {t} thr {v:.0f}" for (d, t), (v, src)
                          in sorted(_PEAK_CACHE.items()) if src == "measured")
        footnotes.append("% of peak uses the FMA peak measured by "
                         "pyconvx.fma_peak_gflops (register-only FMA loop) "
                         "for that dtype and thread count before the runs "
                         "(max of the T-thread probe and T x the 1-thread "
                         "probe): "
                         f"{peaks} GFLOP/s (PERFORMANCE.md: 445 fp32 / 222 "
                         "fp64 on 2 idle cores; a lower figure means other "
                         "load on the machine).")
    for i, n in enumerate(footnotes, 1):
        lines.append(f"[{i}] {n}")
    return "\n".join(lines)


def _environment_line(threads):
    parts = [f"threads={threads}"]
    for mod in ("pyconvx", "numpy", "scipy", "torch", "cv2"):
        try:
            m = sys.modules.get(mod) or __import__(mod)
            parts.append(f"{mod} {getattr(m, '__version__', '?')}")
        except Exception:
            parts.append(f"{mod} missing")
    parts.append("OPENBLAS_CORETYPE="
                 + os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
    try:
        parts.append("load average before the run %.2f %.2f %.2f"
                     % os.getloadavg())
    except (AttributeError, OSError):
        pass
    return "# " + ", ".join(parts)


def plot_results(results, path):
    """Bar chart of pyconvx vs peer ms per workload, log scale, to ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if not r.get("extra")]
    labels = [f"{r['key']}\nvs {r['peer']}" for r in rows]
    pc = [r["pyconvx_ms"] or float("nan") for r in rows]
    peer = [r["peer_ms"] or float("nan") for r in rows]
    xs = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, 0.8 * len(rows)), 6))
    ax.bar(xs - 0.2, pc, 0.4, label="pyconvx")
    ax.bar(xs + 0.2, peer, 0.4, label="peer")
    ax.set_yscale("log")
    ax.set_ylabel("median ms (log scale, lower is better)")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    ax.legend()
    ax.set_title("pyconvx vs peers")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(quick=False, plot=None, progress=True, threads=None, only=None,
         as_json=None):
    """Print the speed table; return an exit status.

    Parameters
    ----------
    quick : bool
        Fewer repeats (about 5 per side) and a smaller budget per workload.
    plot : str, optional
        Also save a bar chart (pyconvx vs peer ms, log scale) to this file;
        needs matplotlib (``pip install 'pyconvx[plot]'``), else exit 2.
    progress : bool or callable
        True prints progress to stderr; a callable receives the messages.
    threads : int, optional
        Default: the CPUs available to this process.
    only : sequence of str, optional
        Workload keys (or substrings) to run; the extra goals run only
        when this is None.
    as_json : str, optional
        Also write the raw results to this JSON file.
    """
    if plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("plotting needs matplotlib: pip install 'pyconvx[plot]'")
            return 2
    warning = openblas_coretype_warning()
    if warning:
        print(warning, file=sys.stderr)
    if progress is True:
        def progress(msg):
            print(msg, file=sys.stderr, flush=True)
    elif not progress:
        progress = None
    if threads is None:
        threads = default_threads()
    if isinstance(only, str):
        only = [only]
    env_line = _environment_line(threads)
    try:
        results = run(quick=quick, threads=threads, progress=progress,
                      workloads=only or None)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(env_line)
    print(format_table(results))
    if as_json:
        with open(as_json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    if plot:
        plot_results(results, plot)
        print(f"plot saved to {plot}")
    return 0
