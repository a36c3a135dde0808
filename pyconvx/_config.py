"""Build and run-time configuration: what ``pyconvx info`` and show_config print."""

from __future__ import annotations

import platform
import sys
import sysconfig
import time
from typing import Any, Literal, overload

import numpy as np

from ._engine import cpu, dispatch, openmp_env
from ._normalize import default_threads

__all__ = ["config_info", "cpu_model", "fma_peak_gflops", "show_config"]


def cpu_model() -> str:
    """The CPU's model name, with its family and model numbers where known.

    Read from /proc/cpuinfo (Linux); elsewhere what the platform module says.
    """
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine() or "unknown"
    numbers = [f"{label} {fields[key]}" for key, label in
               (("cpu family", "family"), ("model", "model"), ("stepping", "stepping"))
               if key in fields]
    return f"{name} ({', '.join(numbers)})" if numbers else name


def config_info() -> dict[str, Any]:
    """The build and run-time facts as a dict (see :func:`show_config`)."""
    from . import __version__

    return {
        "version": __version__,
        "cpu": cpu_model(),
        "openmp": cpu.openmp_enabled(),
        "openmp_idle_wait": openmp_env.spin_policy() if cpu.openmp_enabled() else "no OpenMP",
        "simd_level": dispatch.active_level(),
        "simd_levels_compiled": dispatch.compiled_levels(),
        "simd_levels_available": dispatch.available_levels(),
        "simd_generic_vectors": cpu.portable_isa(),
        "default_threads": default_threads(),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "compiler": sysconfig.get_config_var("CC") or "unknown",
    }


@overload
def show_config(print_: Literal[True] = True) -> None: ...


@overload
def show_config(print_: Literal[False]) -> dict[str, Any]: ...


@overload
def show_config(print_: bool) -> dict[str, Any] | None: ...


def show_config(print_: bool = True) -> dict[str, Any] | None:
    """Print (or return) pyconvx's build and run-time configuration.

    Parameters
    ----------
    print_ : bool, optional
        Print the report (default) or return it as a dict.

    Returns
    -------
    dict or None
        The facts, when ``print_`` is False.

    Examples
    --------
    >>> import pyconvx
    >>> info = pyconvx.show_config(print_=False)
    >>> sorted(info)[:3]
    ['compiler', 'cpu', 'default_threads']
    """
    info = config_info()
    if not print_:
        return info
    width = max(len(key) for key in info)
    for key, value in info.items():
        if isinstance(value, tuple):
            value = ", ".join(value)
        elif isinstance(value, bool):
            value = "on" if value else "off"
        print(f"{key:<{width}} : {value}")
    return None


def fma_peak_gflops(double: bool = False, threads: int | None = None,
                    seconds: float = 0.2) -> float:
    """Measured FMA peak of this machine in GFLOP/s (register-only loop).

    On one thread the loop is timed by the thread's CPU time, so that a
    machine shared with other processes still shows its cores' peak (time
    the thread spends descheduled is not counted); on several threads by the
    wall clock, which is what a parallel computation sees.

    Parameters
    ----------
    double : bool, optional
        float64 (True) or float32 (False) lanes.
    threads : int, optional
        Threads to run on (default: all usable).
    seconds : float, optional
        Approximate measuring time.

    Returns
    -------
    float

    Examples
    --------
    >>> import pyconvx
    >>> pyconvx.fma_peak_gflops(threads=1, seconds=0.01) > 0
    True
    """
    threads = default_threads() if threads is None else threads
    clock = time.thread_time if threads == 1 else time.perf_counter
    level = dispatch.level_code()
    iterations = 100_000
    cpu.fma_probe(level, double, threads, 1000)  # wake the cores up
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        start = clock()
        flops = cpu.fma_probe(level, double, threads, iterations)
        elapsed = clock() - start
        if elapsed < 0.01:
            iterations *= 4
            continue
        best = max(best, flops / elapsed / 1e9)
        if time.perf_counter() > deadline:
            return best
