"""Facts about the machine and the libraries a measurement ran with.

The thread default and the SIMD level are pyconvx's own (``show_config``),
so a run with ``OMP_NUM_THREADS`` set measures what a user's call would use;
the FMA peak is pyconvx's register-only probe, measured here, never assumed.
"""

import importlib
import math
import os

import numpy as np

import pyconvx

from . import environment

__all__ = [
    "cpu_model",
    "default_threads",
    "environment_line",
    "fma_peak",
    "load_average",
    "simd_level",
    "usable_cpus",
    "versions",
]


def cpu_model():
    """The CPU's model name with its family and model numbers (pyconvx's own rule).

    Examples
    --------
    >>> isinstance(cpu_model(), str)
    True
    """
    return pyconvx.show_config(print_=False)["cpu"]


def usable_cpus():
    """CPUs this process may run on.

    Examples
    --------
    >>> usable_cpus() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def default_threads():
    """The thread count pyconvx uses when a call names none (honours OMP_NUM_THREADS).

    Examples
    --------
    >>> default_threads() >= 1
    True
    """
    return int(pyconvx.show_config(print_=False)["default_threads"])


def simd_level():
    """The SIMD kernel set pyconvx's calls use in this process.

    Examples
    --------
    >>> simd_level() in ("generic", "avx2", "avx512")
    True
    """
    return pyconvx.show_config(print_=False)["simd_level"]


_PEAKS = {}


def fma_peak(dtype, threads):
    """(GFLOP/s, None) of the FMA peak, or (None, why) when it cannot be measured.

    Measured by :func:`pyconvx.fma_peak_gflops` for ``dtype`` on ``threads``
    threads, as the larger of that probe and ``min(threads, usable CPUs)``
    times the one-thread probe: the register-only loop scales with cores, and
    on a shared machine a one-thread probe is the likelier to find a free core.
    Measured once per (dtype, threads) and remembered.

    Examples
    --------
    >>> value, why = fma_peak("float32", 1)
    >>> value > 0 and why is None
    True
    """
    key = (np.dtype(dtype).name, int(threads))
    if key not in _PEAKS:
        double = np.dtype(dtype) == np.float64
        try:
            value = float(pyconvx.fma_peak_gflops(double, threads))
            if threads > 1:
                one = float(pyconvx.fma_peak_gflops(double, 1))
                value = max(value, one * min(threads, usable_cpus()))
        except (RuntimeError, ValueError, TypeError, AttributeError, MemoryError) as exc:
            # reported in the output; the times are measured all the same
            why = f"the FMA peak could not be measured ({type(exc).__name__}: {exc})"
            _PEAKS[key] = (None, why)
        else:
            if value > 0 and math.isfinite(value):
                _PEAKS[key] = (value, None)
            else:
                _PEAKS[key] = (None, f"the FMA peak probe returned {value!r}")
    return _PEAKS[key]


def measured_peaks():
    """{(dtype, threads): GFLOP/s} of the peaks measured so far."""
    return {key: value for key, (value, _) in sorted(_PEAKS.items()) if value is not None}


def versions(names=("pyconvx", "numpy", "scipy", "torch", "cv2")):
    """{module: version, or None when it does not import}.

    Examples
    --------
    >>> versions(("numpy",))["numpy"] == np.__version__
    True
    """
    return {name: _version(name) for name in names}


def _version(name):
    try:
        module = importlib.import_module(name)
    except (ImportError, OSError):  # not installed, or a broken install: reported as missing
        return None
    return getattr(module, "__version__", "?")


def environment_line(threads):
    """One comment line: threads, CPU, SIMD level, versions, switches, load.

    Examples
    --------
    >>> environment_line(2).startswith("# threads=2, ")
    True
    """
    parts = [f"threads={threads}", f"CPU {cpu_model()}", f"pyconvx SIMD {simd_level()}"]
    for name, version in versions().items():
        parts.append(f"{name} {version or 'missing'}")
    for name, value in environment.switches().items():
        if value is not None:
            parts.append(f"{name}={value}")
    if os.environ.get("OPENBLAS_CORETYPE") is None:
        parts.append("OPENBLAS_CORETYPE unset")
    load = load_average()
    if load:
        parts.append(f"load average before the run {load}")
    return "# " + ", ".join(parts)


def load_average():
    """The 1, 5 and 15 minute load averages as text, or None where there are none.

    Examples
    --------
    >>> load_average() is None or len(load_average().split()) == 3
    True
    """
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except (AttributeError, OSError):
        return None
