"""The table's extra rows: thread scaling, first call, peak memory, and the Dask rows.

Each is measured by a probe in a fresh process (:mod:`pyconvx_bench.probes`),
on the table's first workload (the Dask rows on their own, see
:mod:`pyconvx_bench.cluster`), and becomes one row dict with ``extra=True``,
``value``, ``unit``, ``goal_text``, ``met`` and ``notes``.
"""

import json
import subprocess
import sys

import pyconvx
import pyconvx_bench

from . import cluster, environment
from .report import human_bytes
from .workloads import WORKLOADS

__all__ = ["FIRST_CALL_SETTLE_SECONDS", "dask_rows", "first_call_row", "memory_row",
           "run_probe", "scaling_row"]

#: Seconds the first-call probe waits after importing and before its first
#: call: right after import NumPy's OpenBLAS threads still spin on the second
#: core, and a 2-thread first call then runs at 1-thread speed (measured: 12 ms
#: first call without the wait, 6 ms with it or with OPENBLAS_NUM_THREADS=1;
#: 4 ms warm).
FIRST_CALL_SETTLE_SECONDS = 0.2

#: What a failed probe raises here: its exit status (RuntimeError), a timeout,
#: output that is not JSON (ValueError), or a failure to start it.
_PROBE_FAILURES = (RuntimeError, subprocess.SubprocessError, ValueError, OSError)

#: The memory row's batch size and goal.
MEMORY_BATCH = 256
MEMORY_GOAL_BYTES = 64 * 2**20

#: The Dask rows' goals: pyconvx.dask's time over dask-image's, and the peak
#: resident memory of a worker above its start, in chunks.
DASK_TIME_GOAL = 0.25
DASK_MEMORY_GOAL_CHUNKS = 4


def run_probe(name, args, timeout):
    """Run ``python -m pyconvx_bench.probes NAME ARGS`` and return its JSON result.

    The child imports the same pyconvx and pyconvx_bench as this process, in
    the measuring environment.

    Raises
    ------
    RuntimeError
        With the child's last line of stderr, if it fails.
    """
    env = environment.child_environment([pyconvx.__file__, pyconvx_bench.__file__])
    command = [sys.executable, "-m", "pyconvx_bench.probes", name] + [str(a) for a in args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"probe {name} failed: {tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(key, name, value, unit, goal_text, met, notes=()):
    return {"key": key, "name": name, "extra": True, "value": value, "unit": unit,
            "goal_text": goal_text, "met": met, "notes": list(notes)}


def _names(threads):
    first = WORKLOADS[0].key
    return {
        "scaling": (f"{first}: {threads} threads vs 1 thread (speedup, fresh process)",
                    "x", ">= 1.8x"),
        "first_call": (f"{first}: first call / warm call (fresh process)", "x", "<= 2x"),
        "memory": (f"{first} at N={MEMORY_BATCH}: peak extra memory", "bytes",
                   f"<= {human_bytes(MEMORY_GOAL_BYTES)}"),
    }


def scaling_row(quick, threads):
    """pyconvx on 1 thread vs ``threads`` threads (speedup of the medians)."""
    name, unit, goal = _names(threads)["scaling"]
    if threads < 2:
        return _row("scaling", name, None, unit, goal, None, ["needs threads >= 2"])
    try:
        r = run_probe("scaling", [threads, 4 if quick else 12], 600)
    except _PROBE_FAILURES as exc:  # a note in the table, not a crash
        return _row("scaling", name, None, unit, goal, None, [str(exc)])
    speedup = r["one"] / r["many"]
    return _row("scaling", name, speedup, unit, goal, speedup >= 1.8,
                [f"1 thread {r['one'] * 1e3:.2f} ms, {threads} threads {r['many'] * 1e3:.2f} ms"])


def first_call_row(quick, threads):
    """First call / warm median, median over several fresh processes.

    One first call is a single sample, so 5 processes (2 with ``quick``) are
    run and the median ratio is reported, all of them in the note.
    """
    name, unit, goal = _names(threads)["first_call"]
    arguments = [threads, 5 if quick else 11, FIRST_CALL_SETTLE_SECONDS]
    try:
        runs = [run_probe("first_call", arguments, 300) for _ in range(2 if quick else 5)]
    except _PROBE_FAILURES as exc:  # a note in the table, not a crash
        return _row("first_call", name, None, unit, goal, None, [str(exc)])
    runs.sort(key=lambda r: r["first"] / r["warm"])
    middle = runs[len(runs) // 2]
    ratio = middle["first"] / middle["warm"]
    spread = ", ".join(f"{r['first'] / r['warm']:.2f}" for r in runs)
    return _row("first_call", name, ratio, unit, goal, ratio <= 2.0,
                [(f"median of {len(runs)} fresh processes (ratios {spread}), first call "
                  f"{FIRST_CALL_SETTLE_SECONDS} s after import: first "
                  f"{middle['first'] * 1e3:.2f} ms, warm median {middle['warm'] * 1e3:.2f} ms "
                  f"(import pyconvx {middle['import'] * 1e3:.0f} ms, not counted)")])


def memory_row(threads):
    """Peak resident memory of one call beyond its input and output."""
    name, unit, goal = _names(threads)["memory"]
    try:
        r = run_probe("memory", [threads, MEMORY_BATCH], 600)
    except _PROBE_FAILURES as exc:  # a note in the table, not a crash
        return _row("memory", name, None, unit, goal, None, [str(exc)])
    extra = r["peak"] - r["before"] - r["out_bytes"]
    return _row("memory", name, extra, unit, goal, extra <= MEMORY_GOAL_BYTES,
                [(f"peak RSS during the call minus RSS before it (input "
                  f"{human_bytes(r['x_bytes'])} resident) minus the output "
                  f"({human_bytes(r['out_bytes'])}); {r['method']}")])


def dask_rows(quick):
    """``pyconvx.dask.correlate`` vs dask-image on a 2-process cluster: time and memory.

    Two rows from one probe run: the ratio of the median times on the image
    stored on the workers, and the median peak resident memory of a worker
    (above its memory when the round starts) in chunks while the image is
    generated as it is filtered; the notes give every side's numbers in both
    settings.
    """
    workload = (f"dask {cluster.IMAGE}x{cluster.IMAGE} float32 in {cluster.CHUNK}x"
                f"{cluster.CHUNK} chunks, {cluster.TAPS}x{cluster.TAPS} correlate, reflect, "
                "2 worker processes")
    time_name = f"{workload}: pyconvx.dask / dask-image time"
    memory_name = f"{workload}: peak worker memory (pyconvx.dask)"
    time_goal = f"<= {DASK_TIME_GOAL:g}x"
    memory_goal = f"< {DASK_MEMORY_GOAL_CHUNKS} chunks"
    try:
        r = run_probe("dask_cluster", [2 if quick else 5], 1800)
    except _PROBE_FAILURES as exc:  # a note in the table, not a crash
        return [_row("dask_time", time_name, None, "x", time_goal, None, [str(exc)]),
                _row("dask_memory", memory_name, None, " chunks", memory_goal, None,
                     [str(exc)])]
    notes = [cluster.describe(r)]
    ratio = cluster.time_ratio(r)
    peak = cluster.peak_chunks(r)
    return [_row("dask_time", time_name, ratio, "x", time_goal, ratio <= DASK_TIME_GOAL, notes),
            _row("dask_memory", memory_name, peak, " chunks", memory_goal,
                 peak < DASK_MEMORY_GOAL_CHUNKS, notes)]
