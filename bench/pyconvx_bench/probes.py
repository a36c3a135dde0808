"""Measurements that need a fresh process, run as ``python -m pyconvx_bench.probes NAME ...``.

Each probe prints one JSON line on stdout:

``scaling THREADS ROUNDS``
    The table's first workload with ``threads=1`` and ``threads=THREADS``
    interleaved: ``{"one": s, "many": s}``, medians in seconds.  A fresh
    process, because the peers' thread pools in the table's own process would
    compete for the same cores.
``first_call THREADS WARM_CALLS SETTLE_SECONDS``
    Imports pyconvx (``"import"``, not counted), waits ``SETTLE_SECONDS``,
    times the first call of the first workload (``"first"``), then the median
    of ``WARM_CALLS`` warm calls (``"warm"``).
``memory THREADS N``
    The first workload at batch N: the resident memory before the call,
    the peak during it, the output's and the input's bytes.
``neighbour ROUNDS FIRST``
    What a pyconvx call costs the next library's call in the same process: a
    small torch convolution (64->64 3x3 on 14x14, N=1, two threads) timed right
    after a pyconvx call (``"after_pyconvx"``) and right after a torch call
    with both thread pools idle for 20 ms before (``"after_torch"``), ROUNDS
    of each interleaved, medians in seconds; also pyconvx's own median
    (``"pyconvx"``), the load average and how pyconvx's OpenMP threads wait
    (``"idle_wait"``, from ``pyconvx.show_config``).  FIRST (``pyconvx`` or
    ``torch``) is imported first: torch's OpenMP runtime has the same name as
    the system's, so both libraries share the one loaded first, with the wait
    policy it took when it loaded.  Run it in the environment to judge (the
    harness's own ``GOMP_SPINCOUNT`` default is not applied to it).
``dask_cluster ROUNDS``
    ``pyconvx.dask.correlate`` and dask-image on a two-process Dask cluster
    (:func:`pyconvx_bench.cluster.measure`): times, peak worker memory.

Nothing is imported before a probe runs, so that ``first_call`` can time the
import of pyconvx itself.
"""

import json
import statistics
import sys
import time

__all__ = ["dask_cluster", "first_call", "main", "memory", "neighbour", "scaling"]


def scaling(threads, rounds):
    """1-thread and ``threads``-thread medians (seconds) of the first workload."""
    from pyconvx_bench import timing, workloads

    workload = workloads.WORKLOADS[0]
    x, w = workload.make_inputs()
    one = workload.pyconvx_call(x, w, 1)
    many = workload.pyconvx_call(x, w, threads)
    t_one, t_many = timing.interleave([one, many], timing.Budget(3, rounds, rounds, 0.0))
    return {"one": statistics.median(t_one), "many": statistics.median(t_many)}


def first_call(threads, warm_calls, settle_seconds):
    """Import time, first-call time and warm median (seconds) of the first workload."""
    start = time.perf_counter()
    import pyconvx  # noqa: F401  (timed: the import is what a user pays first)

    import_seconds = time.perf_counter() - start
    from pyconvx_bench import timing, workloads

    workload = workloads.WORKLOADS[0]
    x, w = workload.make_inputs()
    call = workload.pyconvx_call(x, w, threads)
    # NumPy's OpenBLAS pool starts with NumPy and its threads spin for a while,
    # holding the second core: let it go idle, so that the first call measures
    # pyconvx's own start-up (plan, thread team, workspace), not OpenBLAS's.
    time.sleep(settle_seconds)
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    for _ in range(2):
        call()
    warm = []
    for _ in range(warm_calls):
        timing.pause(timing.GAP_SECONDS)
        start = time.perf_counter()
        call()
        warm.append(time.perf_counter() - start)
    return {"import": import_seconds, "first": first, "warm": statistics.median(warm)}


def _status_bytes(field):
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


def memory(threads, batch):
    """Resident bytes before and at the peak of one call at batch ``batch``.

    The peak is ``VmHWM`` after resetting it with ``/proc/self/clear_refs``
    (so it restarts from the current RSS); where that is refused, the maximum
    RSS of the process (``ru_maxrss``) before and after.  tracemalloc would
    miss the C allocations.
    """
    import resource

    from pyconvx_bench import workloads

    workload = workloads.WORKLOADS[0]
    # warm up on one sample: thread pools, caches, lazy initialisation
    small, w = workload.make_inputs(n=1)
    workload.pyconvx_call(small, w, threads)()
    del small
    x, w = workload.make_inputs(n=batch)
    x[...] = x  # every page of the input resident
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        method = "VmHWM reset via /proc/self/clear_refs"
        before = _status_bytes("VmRSS")

        def peak():
            return _status_bytes("VmHWM")
    except OSError:
        method = "ru_maxrss before and after"

        def peak():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

        before = peak()
    out = workload.pyconvx_call(x, w, threads)()
    return {"before": before, "peak": peak(), "out_bytes": int(out.nbytes),
            "x_bytes": int(x.nbytes), "method": method}


def neighbour(rounds, first):
    """Medians (seconds) of a small torch call after a pyconvx call and after a torch call."""
    import importlib
    import os

    import numpy as np

    # the library imported first loads the OpenMP runtime both share (see the docstring)
    order = ("pyconvx", "torch") if first == "pyconvx" else ("torch", "pyconvx")
    modules = {name: importlib.import_module(name) for name in order}
    pyconvx, torch = modules["pyconvx"], modules["torch"]
    threads = 2
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 64, 14, 14), dtype=np.float32)
    w = rng.standard_normal((64, 64, 3, 3), dtype=np.float32)
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)

    def ours():
        pyconvx.conv(x, w, padding=1, threads=threads)

    def theirs():
        torch.nn.functional.conv2d(tx, tw, padding=1)

    for _ in range(10):
        ours()
        theirs()
    times = {"pyconvx": [], "after_pyconvx": [], "after_torch": []}
    for _ in range(rounds):
        for first, label in ((ours, "after_pyconvx"), (theirs, "after_torch")):
            time.sleep(0.02)   # both pools idle
            start = time.perf_counter()
            first()
            middle = time.perf_counter()
            theirs()
            end = time.perf_counter()
            times[label].append(end - middle)
            if first is ours:
                times["pyconvx"].append(middle - start)
    result = {label: statistics.median(values) for label, values in times.items()}
    result["load_average"] = os.getloadavg()[0]
    result["idle_wait"] = pyconvx.show_config(print_=False)["openmp_idle_wait"]
    return result


def dask_cluster(rounds):
    """The Dask rows' measurement (see :mod:`pyconvx_bench.cluster`)."""
    from pyconvx_bench import cluster

    return cluster.measure(rounds)


_PROBES = {
    "scaling": (scaling, (int, int)),
    "first_call": (first_call, (int, int, float)),
    "memory": (memory, (int, int)),
    "neighbour": (neighbour, (int, str)),
    "dask_cluster": (dask_cluster, (int,)),
}


def main(argv=None):
    """Run the probe named by ``argv[0]`` and print its JSON result."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in _PROBES:
        print(f"usage: python -m pyconvx_bench.probes {{{','.join(_PROBES)}}} ARGS...",
              file=sys.stderr)
        return 2
    probe, types = _PROBES[argv[0]]
    if len(argv) - 1 != len(types):
        print(f"{argv[0]} takes {len(types)} arguments, got {len(argv) - 1}", file=sys.stderr)
        return 2
    result = probe(*(kind(text) for kind, text in zip(types, argv[1:])))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
