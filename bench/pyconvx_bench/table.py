"""The ratio table: every workload timed against its peer, then the extra rows.

:func:`run` measures and returns one dict per row; :func:`main` runs it from
parsed command-line options (``pyconvx bench``, ``bench/run_table.py``) and
prints :func:`pyconvx_bench.report.format_table`.

A peer that is not installed is skipped with a note; a pyconvx call that fails
leaves its columns empty with a note.  Nothing here asserts a speed.
"""

import gc
import json
import sys

from . import environment, extras, machine
from .report import format_table, path_label, plan_fields, plot_results
from .timing import Budget, agreement_note, interleave, median_ms
from .workloads import PEER_ERRORS, PYCONVX_ERRORS, WORKLOADS, select

__all__ = ["main", "measure_workload", "run"]

FULL = Budget(warmup=3, rounds=25, min_rounds=7, seconds=4.0)
QUICK = Budget(warmup=2, rounds=5, min_rounds=3, seconds=1.0)
# scipy.signal.correlate2d takes 0.07-1.5 s per call on these images
SLOW_FULL = Budget(warmup=1, rounds=5, min_rounds=3, seconds=6.0)
SLOW_QUICK = Budget(warmup=1, rounds=2, min_rounds=1, seconds=1.0)

#: pyconvx calls per round next to a slow peer, so that it still gets samples.
CALLS_NEXT_TO_SLOW_PEER = 5


def _nothing():
    return None


def measure_workload(workload, quick, threads):
    """Time one workload against its peer; return its row dict.

    The row has ``pyconvx_ms``, ``peer_ms`` (medians), ``ratio``, ``met``,
    ``gflops``, ``peak_pct``, ``path`` and ``plan`` (the plan's fields),
    ``notes`` and the workload's description; None where a side did not run.
    """
    if workload.slow_peer:
        budget = SLOW_QUICK if quick else SLOW_FULL
    else:
        budget = QUICK if quick else FULL
    plan = workload.plan(threads)
    row = {
        "key": workload.key, "name": workload.name, "dtype": workload.dtype,
        "threads": threads, "peer": workload.peer, "pyconvx_ms": None, "peer_ms": None,
        "ratio": None, "goal": workload.goal, "peak_goal": workload.peak_goal, "met": None,
        "gflops": None, "peer_gflops": None, "peak_pct": None, "peak_note": None,
        "flops": plan.flops, "rounds": 0, "notes": [], "peer_threaded": workload.peer_threaded,
        "path": path_label(plan), "simd": plan.simd, "plan": plan_fields(plan),
    }
    x, w = workload.make_inputs()
    calls, sides = [], []
    restore = _nothing
    ours = theirs = None
    try:
        call = workload.pyconvx_call(x, w, threads)
        ours = call()  # also the first warm-up call
        calls.append(call)
        sides.append("pyconvx")
    except PYCONVX_ERRORS as exc:  # reported in the row, the table goes on
        row["notes"].append(f"pyconvx failed: {type(exc).__name__}: {exc}")
    missing = workload.peer_available()
    if missing is not None:
        row["notes"].append(missing + ": peer skipped")
    else:
        try:
            call, restore = workload.peer_factory(x, w, threads)
            theirs = call()
            calls.append(call)
            sides.append("peer")
        except PEER_ERRORS as exc:  # reported in the row, the table goes on
            row["notes"].append(f"peer failed: {type(exc).__name__}: {exc}")
    if not workload.peer_threaded and threads != 1 and "peer" in sides:
        row["notes"].append(f"{workload.peer} runs on 1 thread (no thread option)")
    if ours is not None and theirs is not None:
        note = agreement_note(ours, theirs, workload.dtype)
        if note:
            row["notes"].append(note)
    del ours, theirs
    try:
        if calls:
            counts = [CALLS_NEXT_TO_SLOW_PEER if workload.slow_peer and side == "pyconvx" else 1
                      for side in sides]
            times = interleave(calls, budget, counts=counts)
            row["rounds"] = len(times[-1])
            for side, seconds in zip(sides, times):
                row[f"{side}_ms"] = median_ms(seconds)
                row[f"{side}_min_ms"] = min(seconds) * 1e3
    finally:
        restore()

    if row["pyconvx_ms"] and plan.flops:   # pooling rows count no FLOPs
        row["gflops"] = plan.flops / (row["pyconvx_ms"] * 1e-3) / 1e9
        peak, why = machine.fma_peak(workload.dtype, threads)
        if peak is not None:
            row["peak_pct"] = 100.0 * row["gflops"] / peak
        else:
            row["peak_note"] = why
    if row["peer_ms"] and plan.flops:
        row["peer_gflops"] = plan.flops / (row["peer_ms"] * 1e-3) / 1e9
    if row["pyconvx_ms"] and row["peer_ms"]:
        row["ratio"] = row["pyconvx_ms"] / row["peer_ms"]
        met = row["ratio"] <= workload.goal
        if workload.peak_goal is not None:
            peak = row["peak_pct"]
            met = met and peak is not None and peak >= 100 * workload.peak_goal
        row["met"] = met
    return row


def run(quick=False, threads=None, progress=None, keys=None, extra_rows=None):
    """Measure the workloads (and the extra rows); return one dict per row.

    Parameters
    ----------
    quick : bool
        Fewer rounds and a smaller time budget per workload.
    threads : int, optional
        Threads for pyconvx and for the peers that take a thread count;
        default: pyconvx's own default (``OMP_NUM_THREADS`` or the usable cores).
    progress : callable, optional
        Called with a short message before each measurement.
    keys : sequence of str, optional
        Keys (or parts of keys) of the workloads to run; default all.
    extra_rows : bool, optional
        Also measure thread scaling, the first call, the peak memory and the
        Dask rows in fresh processes; default: when every workload runs.

    Returns
    -------
    list of dict
        Workload rows (see :func:`measure_workload`), then the extra rows
        (``extra=True``, ``value``, ``unit``, ``goal_text``, ``met``, ``notes``).
    """
    threads = machine.default_threads() if threads is None else int(threads)
    chosen = select(keys)
    if extra_rows is None:
        extra_rows = not keys
    say = progress or (lambda message: None)
    # the FMA peaks first, before any peer has started its thread pools
    say("measuring the FMA peak")
    for dtype in sorted({workload.dtype for workload in chosen}):
        machine.fma_peak(dtype, threads)
    results = []
    for index, workload in enumerate(chosen, 1):
        say(f"[{index}/{len(chosen)}] {workload.key}: {workload.name} vs {workload.peer}")
        results.append(measure_workload(workload, quick, threads))
        gc.collect()
    if extra_rows:
        say("extra: thread scaling (fresh process)")
        results.append(extras.scaling_row(quick, threads))
        say("extra: first call vs warm call (fresh processes)")
        results.append(extras.first_call_row(quick, threads))
        say("extra: peak extra memory (fresh process)")
        results.append(extras.memory_row(threads))
        say("extra: pyconvx.dask vs dask-image on a 2-process cluster (fresh process)")
        results.extend(extras.dask_rows(quick))
        for row in results:
            row.setdefault("threads", threads)
    return results


def main(options, dev):
    """Print the table for parsed options; return an exit status.

    Parameters
    ----------
    options : argparse.Namespace
        ``quick``, ``threads``, ``only``, ``plot``, ``json``, ``list``,
        ``no_progress`` (see :mod:`pyconvx_bench.commands`).
    dev : bool
        Show the goal, met? and % of peak columns.
    """
    if options.list:
        for workload in WORKLOADS:
            print(f"{workload.key:16s} {workload.name}  [peer: {workload.peer}; "
                  f"goal <= {workload.goal:g}]")
        return 0
    warning = environment.openblas_coretype_warning()
    if warning:
        print(warning, file=sys.stderr)
    progress = None if options.no_progress else (
        lambda message: print(message, file=sys.stderr, flush=True))
    threads = machine.default_threads() if options.threads is None else options.threads
    header = machine.environment_line(threads)
    results = run(quick=options.quick, threads=threads, progress=progress, keys=options.only)
    peaks = {key: value for key, value in machine.measured_peaks().items() if key[1] == threads}
    peak_notes = sorted({r["peak_note"] for r in results if r.get("peak_note")})
    print(header)
    print(format_table(results, dev=dev, peaks=peaks, peak_notes=peak_notes))
    if options.json:
        # one record per row, as the documentation's reader of saved runs expects;
        # the rows carry their threads, dtype, path, SIMD set and plan fields
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1, default=str)
    if options.plot:
        plot_results(results, options.plot)
        print(f"plot saved to {options.plot}")
    return 0
