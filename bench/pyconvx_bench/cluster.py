"""The Dask rows: ``pyconvx.dask.correlate`` against dask-image on a two-process cluster.

The workload: an 8192 x 8192 float32 image in 1024 x 1024 chunks, generated
chunk by chunk on the workers (``dask.array.random``: no image is sent from
this process), correlated with a random 7x7 kernel, border ``"reflect"``
(scipy.ndimage's name), by ``pyconvx.dask.correlate`` and by
``dask_image.ndfilters.correlate`` on the same ``distributed.LocalCluster``
(2 worker processes with 1 thread each, on 127.0.0.1, no dashboard), with the
same chunks.  Each result is reduced on the workers to one float64 sum per
block, so that no result accumulates anywhere: what a worker holds is what the
filter needs.  A third side, the input alone (summed per block, not
filtered), is measured the same way: the time and memory every side spends
outside the filter.

The sides run in two settings, each in interleaved rounds (A B C, C B A, ...)
after a warm-up round of each side:

* **stored**: the image is computed once and kept in the workers' memory
  (``persist``), as a dataset loaded for analysis is; a round filters it.
  The time row is the ratio of the two filters' median wall times of one
  ``compute`` here: the filters' own cost, with no image generation in it.
* **streamed**: every round generates the image anew, chunk by chunk, while
  it is filtered, so a worker holds only the chunks in flight.  The memory
  row comes from here: a thread in each worker reads the worker's resident
  memory (``/proc/self/statm``) every 2 ms; a round's peak is the largest
  reading minus the reading when the round starts, in chunks (4 MiB); the
  row gives the median over the rounds of the larger of the two workers'
  peaks.  Its times (the generation included) are in the note.

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

__all__ = ["CHUNK", "IMAGE", "TAPS", "block_sums", "describe", "measure", "peak_chunks",
           "time_ratio"]

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


def _rounds(client, sides, rounds):
    """Interleaved rounds of ``sides``: per side, the wall seconds of one
    ``compute``, the larger worker's peak memory above its start, and the CPU
    seconds of both workers, one entry per round."""
    result = {key: {name: [] for name in sides} for key in ("seconds", "peaks", "cpu")}
    order = list(sides)
    for number in range(rounds):
        for name in order if number % 2 == 0 else order[::-1]:
            lazy = block_sums(sides[name]())
            client.run(_round_start)
            start = time.perf_counter()
            client.compute(lazy).result()
            result["seconds"][name].append(time.perf_counter() - start)
            result["peaks"][name].append(max(client.run(_round_peak).values()))
            result["cpu"][name].append(sum(client.run(_round_cpu).values()))
    return result


def measure(rounds, size=IMAGE, chunk=CHUNK, taps=TAPS):
    """Time and peak worker memory of every side, ``rounds`` interleaved rounds
    in each setting.

    Returns a dict: ``stored`` and ``streamed`` (the two settings, see the
    module doc), each a dict of ``seconds``, ``peaks`` and ``cpu`` (per side:
    ``"pyconvx"``, ``"dask-image"`` and ``"input"``, the input alone; one
    entry per round; the peaks in bytes, the larger worker's; the CPU
    seconds of both workers together); ``chunk_bytes``, ``workers`` (their
    thread counts), ``load`` (the load averages before and after) and
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
        streamed = _rounds(client, sides, rounds)
        stored_image = image.persist()
        distributed.wait(stored_image)
        sides = _sides(stored_image, kernel)
        for build in sides.values():   # warm-up
            client.compute(block_sums(build())).result()
        stored = _rounds(client, sides, rounds)
        del stored_image
        workers = sorted(client.nthreads().values())
    return {"stored": stored, "streamed": streamed, "chunk_bytes": chunk * chunk * 4,
            "workers": workers, "load": [load_before, load_average()],
            "check": agreement_note(sums["pyconvx"], sums["dask-image"], "float32")}


def time_ratio(result):
    """The time row: pyconvx.dask / dask-image, medians on the stored image.

    Examples
    --------
    >>> time_ratio({"stored": {"seconds": {"pyconvx": [1.0, 3.0], "dask-image": [8.0]}}})
    0.25
    """
    seconds = result["stored"]["seconds"]
    return statistics.median(seconds["pyconvx"]) / statistics.median(seconds["dask-image"])


def peak_chunks(result):
    """The memory row: pyconvx.dask's median peak on the streamed image, in chunks.

    Examples
    --------
    >>> peak_chunks({"streamed": {"peaks": {"pyconvx": [2**23, 2**24]}}, "chunk_bytes": 2**22})
    3.0
    """
    return statistics.median(result["streamed"]["peaks"]["pyconvx"]) / result["chunk_bytes"]


def _setting(result, key, label, with_peaks):
    """One setting's part of the note: each side's medians and the CPU ratio."""
    chunk = result["chunk_bytes"]
    part = result[key]
    sides = []
    for name, side in (("pyconvx", "pyconvx.dask"), ("dask-image", "dask-image"),
                       ("input", "the input alone")):
        text = f"{side} {statistics.median(part['seconds'][name]) * 1e3:.0f} ms"
        if with_peaks:
            peak = statistics.median(part["peaks"][name])
            text += f", peak {peak / chunk:.2f} chunks ({human_bytes(peak)})"
        sides.append(text + f", worker CPU {statistics.median(part['cpu'][name]):.2f} s")
    cpu_ratio = (statistics.median(part["cpu"]["pyconvx"])
                 / statistics.median(part["cpu"]["dask-image"]))
    return (f"{label}: {', '.join(sides[:1])}; {'; '.join(sides[1:])}; "
            f"worker CPU pyconvx.dask / dask-image {cpu_ratio:.2f}")


def describe(result):
    """The notes of the Dask rows: per setting, each side's medians (time, memory,
    the workers' CPU seconds); the rounds, the machine's load.

    Examples
    --------
    >>> side = {"pyconvx": [1.0, 3.0], "dask-image": [8.0, 10.0], "input": [0.5, 0.5]}
    >>> describe({"stored": {"seconds": side, "peaks": side, "cpu": side},
    ...           "streamed": {"seconds": side, "cpu": side,
    ...                        "peaks": {"pyconvx": [2**23, 2**23], "dask-image": [2**25, 2**25],
    ...                                  "input": [2**22, 2**22]}},
    ...           "chunk_bytes": 2**22, "workers": [1, 1], "load": ["1.00 1.00 1.00", None],
    ...           "check": None})  # doctest: +NORMALIZE_WHITESPACE
    'image stored on the workers: pyconvx.dask 2000 ms, worker CPU 2.00 s; dask-image 9000
    ms, worker CPU 9.00 s; the input alone 500 ms, worker CPU 0.50 s; worker CPU
    pyconvx.dask / dask-image 0.22. Image generated while filtered: pyconvx.dask 2000 ms,
    peak 2.00 chunks (8.0 MiB), worker CPU 2.00 s; dask-image 9000 ms, peak 8.00 chunks
    (32.0 MiB), worker CPU 9.00 s; the input alone 500 ms, peak 1.00 chunks (4.0 MiB),
    worker CPU 0.50 s; worker CPU pyconvx.dask / dask-image 0.22. Medians of 2
    interleaved rounds each; 2 workers x 1 thread; load average before 1.00 1.00 1.00,
    after unknown'
    """
    rounds = len(result["stored"]["seconds"]["pyconvx"])
    before, after = (load or "unknown" for load in result["load"])
    text = (f"{_setting(result, 'stored', 'image stored on the workers', False)}. "
            f"{_setting(result, 'streamed', 'Image generated while filtered', True)}. "
            f"Medians of {rounds} interleaved rounds each; "
            f"{len(result['workers'])} workers x {result['workers'][0]} thread; "
            f"load average before {before}, after {after}")
    if result["check"]:
        text += f"; {result['check']}"
    return text
