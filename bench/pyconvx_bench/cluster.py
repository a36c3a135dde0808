"""The Dask rows: ``pyconvx.dask.correlate`` against dask-image on a two-process cluster.

The workload: an 8192 x 8192 float32 image in 1024 x 1024 chunks, generated
chunk by chunk on the workers (``dask.array.random``: no image is sent from
this process), correlated with a random 7x7 kernel, border ``"reflect"``
(scipy.ndimage's name), by ``pyconvx.dask.correlate`` and by
``dask_image.ndfilters.correlate`` on the same ``distributed.LocalCluster``
(2 worker processes with 1 thread each, on 127.0.0.1, no dashboard), with the
same chunks.  Each result is reduced on the workers to one float64 sum per
block, so that no result accumulates anywhere: what a worker holds is what the
filter needs.  A third side, the input alone (generated and summed per block,
not filtered), is measured the same way: the time and memory every side
spends outside the filter.

Time: the wall time of one ``compute`` of each side, the sides interleaved
(A B C, C B A, ...) after a warm-up round of each; the row gives the ratio of
the medians.  Memory: a thread in each worker reads the worker's resident
memory (``/proc/self/statm``) every 2 ms; a round's peak is the largest
reading minus the reading when the round starts, in chunks (4 MiB); the row
gives the median over the rounds of the larger of the two workers' peaks.
CPU: the CPU seconds both worker processes spend in a round (all their
threads: the tasks, the worker's event loop, the sampler), for the notes:
unlike the wall time, it hardly moves with the load other jobs put on the
machine.
The per-block sums of the two sides are compared (the like-for-like check).
"""

import os
import statistics
import threading
import time

import numpy as np

from .report import human_bytes
from .timing import agreement_note

__all__ = ["CHUNK", "IMAGE", "TAPS", "block_sums", "describe", "measure"]

#: The image, its chunks and the kernel's taps per axis.
IMAGE = 8192
CHUNK = 1024
TAPS = 7

#: How often the workers' resident memory is read (seconds).
SAMPLE_SECONDS = 0.002


def _resident_bytes():
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _start_sampler(dask_worker):
    """Start the resident-memory sampler of this worker (run by ``client.run``)."""
    state = {"peak": _resident_bytes(), "start": _resident_bytes(), "cpu": time.process_time()}

    def sample():
        while True:
            state["peak"] = max(state["peak"], _resident_bytes())
            time.sleep(SAMPLE_SECONDS)

    threading.Thread(target=sample, daemon=True, name="rss-sampler").start()
    dask_worker.pyconvx_bench_rss = state
    return True


def _round_start(dask_worker):
    """Reset the worker's peak to its resident memory now, and its CPU clock."""
    state = dask_worker.pyconvx_bench_rss
    state["start"] = state["peak"] = _resident_bytes()
    state["cpu"] = time.process_time()
    return state["start"]


def _round_peak(dask_worker):
    """The worker's peak resident memory since the round started, above its start."""
    state = dask_worker.pyconvx_bench_rss
    return state["peak"] - state["start"]


def _round_cpu(dask_worker):
    """The CPU seconds the worker's process has spent since the round started."""
    return time.process_time() - dask_worker.pyconvx_bench_rss["cpu"]


def _sum_of_block(block):
    return np.array(block.sum(dtype=np.float64)).reshape((1,) * block.ndim)


def block_sums(lazy):
    """One float64 sum per block of ``lazy``, computed where the block is.

    Examples
    --------
    >>> import dask.array as da
    >>> block_sums(da.ones((4, 6), chunks=(2, 3))).compute()
    array([[6., 6.],
           [6., 6.]])
    """
    return lazy.map_blocks(_sum_of_block, chunks=(1,) * lazy.ndim, dtype=np.float64)


def _sides(image, kernel):
    import dask_image.ndfilters

    import pyconvx.dask

    return {"pyconvx": lambda: pyconvx.dask.correlate(image, kernel, mode="reflect"),
            "dask-image": lambda: dask_image.ndfilters.correlate(image, kernel, mode="reflect"),
            "input": lambda: image}


def measure(rounds, size=IMAGE, chunk=CHUNK, taps=TAPS):
    """Time and peak worker memory of both sides, ``rounds`` interleaved rounds each.

    Returns a dict: ``seconds``, ``peaks`` and ``cpu`` (per side:
    ``"pyconvx"``, ``"dask-image"`` and ``"input"``, the input alone; one
    entry per round; the peaks in bytes, the larger worker's; the CPU
    seconds of both workers together), ``chunk_bytes``, ``workers``
    (their thread counts), ``load`` (the load averages before and after) and
    ``check`` (None when the per-block sums agree).
    """
    import dask.array as da
    import distributed

    from .machine import load_average

    load_before = load_average()
    kernel = np.random.default_rng(1).random((taps, taps)).astype(np.float32)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        client.run(_start_sampler)
        image = da.random.default_rng(0).random((size, size), dtype=np.float32, chunks=chunk)
        sides = _sides(image, kernel)
        sums = {name: client.compute(block_sums(build())).result()   # warm-up and check
                for name, build in sides.items()}
        seconds = {name: [] for name in sides}
        peaks = {name: [] for name in sides}
        cpu = {name: [] for name in sides}
        order = list(sides)
        for number in range(rounds):
            for name in order if number % 2 == 0 else order[::-1]:
                lazy = block_sums(sides[name]())
                client.run(_round_start)
                start = time.perf_counter()
                client.compute(lazy).result()
                seconds[name].append(time.perf_counter() - start)
                peaks[name].append(max(client.run(_round_peak).values()))
                cpu[name].append(sum(client.run(_round_cpu).values()))
        workers = sorted(client.nthreads().values())
    return {"seconds": seconds, "peaks": peaks, "cpu": cpu, "chunk_bytes": chunk * chunk * 4,
            "workers": workers, "load": [load_before, load_average()],
            "check": agreement_note(sums["pyconvx"], sums["dask-image"], "float32")}


def describe(result):
    """The notes of the Dask rows: each side's medians (time, memory, the workers' CPU
    seconds), the rounds, the machine's load.

    Examples
    --------
    >>> describe({"seconds": {"pyconvx": [1.0, 3.0], "dask-image": [8.0, 10.0],
    ...                       "input": [0.5, 0.5]},
    ...           "peaks": {"pyconvx": [2**23, 2**23], "dask-image": [2**25, 2**25],
    ...                     "input": [2**22, 2**22]},
    ...           "cpu": {"pyconvx": [1.5, 2.5], "dask-image": [8.0, 8.0], "input": [0.5, 0.5]},
    ...           "chunk_bytes": 2**22, "workers": [1, 1], "load": ["1.00 1.00 1.00", None],
    ...           "check": None})  # doctest: +NORMALIZE_WHITESPACE
    'pyconvx.dask 2000 ms, peak 2.00 chunks (8.0 MiB), worker CPU 2.00 s; dask-image 9000
    ms, peak 8.00 chunks (32.0 MiB), worker CPU 8.00 s; the input alone (generated and
    summed, not filtered) 500 ms, peak 1.00 chunks (4.0 MiB), worker CPU 0.50 s; worker
    CPU pyconvx.dask / dask-image 0.25; medians of 2 interleaved rounds; 2 workers x 1
    thread; load average before 1.00 1.00 1.00, after unknown'
    """
    chunk = result["chunk_bytes"]
    parts = []
    for name, label in (("pyconvx", "pyconvx.dask"), ("dask-image", "dask-image"),
                        ("input", "the input alone (generated and summed, not filtered)")):
        seconds = statistics.median(result["seconds"][name])
        peak = statistics.median(result["peaks"][name])
        parts.append(f"{label} {seconds * 1e3:.0f} ms, peak {peak / chunk:.2f} chunks "
                     f"({human_bytes(peak)}), worker CPU "
                     f"{statistics.median(result['cpu'][name]):.2f} s")
    cpu_ratio = (statistics.median(result["cpu"]["pyconvx"])
                 / statistics.median(result["cpu"]["dask-image"]))
    parts.append(f"worker CPU pyconvx.dask / dask-image {cpu_ratio:.2f}")
    rounds = len(result["seconds"]["pyconvx"])
    before, after = (load or "unknown" for load in result["load"])
    text = (f"{'; '.join(parts)}; medians of {rounds} interleaved rounds; "
            f"{len(result['workers'])} workers x {result['workers'][0]} thread; "
            f"load average before {before}, after {after}")
    if result["check"]:
        text += f"; {result['check']}"
    return text
