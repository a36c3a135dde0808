"""The model-zoo sweep: every distinct convolution layer of a few models against PyTorch.

For each model of :mod:`pyconvx_bench.models`, each batch size and each
distinct layer, ``pyconvx.conv`` and ``torch.nn.functional.conv1d/conv2d`` are
timed interleaved in this process on the same operands and thread count
(:func:`pyconvx_bench.timing.interleave`).  Per model it reports each layer's
medians and ratio with pyconvx's path, the worst layer, and the ratio of the
model's total time: the sum over its distinct layers of multiplicity x median,
pyconvx over torch.

With ``algorithms`` every ``algorithm=`` of ``pyconvx.ALGORITHMS`` that the
layer accepts (besides "auto" and "fft") is timed in the same rounds, and each
layer reports auto against the best forced direct-summation one (a plan whose
``error_bound`` is "elementwise", as every "auto" plan's is) and, separately,
against "fast" (which may take Winograd).  A forced algorithm whose plan is
auto's own (the same records: the same computation) is not timed again: taking
the fastest of several timings of one computation against a single timing of
it would flag auto by chance; it counts as auto's time.  Forced algorithms
that share one plan are timed once for the same reason.  With ``repeat`` > 1 the whole
sweep runs that many times and the report gives the medians of the per-run
ratios and totals.
"""

import functools
import gc
import json
import statistics
import sys
import time

import pyconvx

from . import HarnessError, environment, machine
from .models import MODELS, distinct_layers, model_layers
from .report import format_sweep_model, format_sweep_summary, path_label, plan_fields
from .timing import Budget, agreement_note, interleave, median_ms
from .workloads import PYCONVX_ERRORS, random_operands, torch_conv

__all__ = ["FULL", "QUICK", "combine_runs", "forced_algorithms", "main", "measure_layer",
           "run_sweep"]

FULL = Budget(warmup=2, rounds=15, min_rounds=5, seconds=1.0)
QUICK = Budget(warmup=1, rounds=3, min_rounds=2, seconds=0.2)

#: auto is flagged when it is this much slower than the best forced direct-summation algorithm.
AUTO_SLACK = 1.10

DEFAULT_BATCHES = (1, 8)


def forced_algorithms():
    """The ``algorithm=`` values timed against auto: all but "auto" and "fft".

    Examples
    --------
    >>> "auto" in forced_algorithms() or "fft" in forced_algorithms()
    False
    """
    return tuple(name for name in pyconvx.ALGORITHMS if name not in ("auto", "fft"))


def _frozen(value):
    """``value`` (a plan record's field) as a hashable, comparable value."""
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(v)) for key, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if hasattr(value, "tolist"):   # NumPy arrays and scalars
        return _frozen(value.tolist())
    return str(value) if hasattr(value, "itemsize") else value   # a dtype by its name


def plan_key(plan):
    """What a plan computes and how, without why it was chosen: two plans with one
    key run the same computation (the same records, or the same FFT).

    >>> import pyconvx
    >>> auto = pyconvx.plan((1, 8, 16, 16), (8, 8, 3, 3), padding=1, threads=1)
    >>> forced = pyconvx.plan((1, 8, 16, 16), (8, 8, 3, 3), padding=1, threads=1,
    ...                       algorithm=auto.microkernel)
    >>> plan_key(auto) == plan_key(forced) and auto.reason != forced.reason
    True
    """
    records = tuple(_frozen(record.fields) for record in plan.records or ())
    return (plan.algorithm, plan.microkernel, plan.threads, records)


def _forced_call(x, w, threads, kwargs, algorithm):
    """A call of ``pyconvx.conv`` with ``algorithm=``, its plan's ``error_bound`` and
    :func:`plan_key`, or None if the layer is outside the algorithm's reach.

    pyconvx refuses a forced algorithm that cannot take a problem with a
    ValueError saying "cannot take this problem"; any other error propagates.
    """
    try:
        plan = pyconvx.plan(x, w, threads=threads, algorithm=algorithm, **kwargs)
    except ValueError as exc:
        if "cannot take this problem" in str(exc):
            return None
        raise
    call = functools.partial(pyconvx.conv, x, w, threads=threads, algorithm=algorithm, **kwargs)
    return call, plan.error_bound, plan_key(plan)


def measure_layer(distinct, batch, dtype, threads, budget, algorithms=False):
    """Time one distinct layer, pyconvx (and forced algorithms) against torch.

    Returns
    -------
    dict
        ``name``, ``names``, ``shape``, ``count``, ``pyconvx_ms``, ``torch_ms``,
        ``ratio``, ``path``, ``plan`` (the plan's fields), ``forced``
        ({algorithm: ms}), ``bounds`` ({algorithm: its plan's error_bound}),
        ``same_as_auto`` (the forced algorithms whose plan is auto's, not timed),
        ``aliases`` ({algorithm: the timed one whose plan it shares}),
        ``not_applicable``, ``notes``.
    """
    layer = distinct.layer
    kwargs = layer.conv_kwargs
    x, w = random_operands(layer.x_shape(batch), layer.w_shape, dtype)
    plan = pyconvx.plan(x, w, threads=threads, **kwargs)
    row = {"name": layer.name, "names": list(distinct.names), "shape": layer.describe(),
           "count": distinct.count, "x_shape": list(x.shape), "w_shape": list(w.shape),
           "pyconvx_ms": None, "torch_ms": None, "ratio": None, "path": path_label(plan),
           "plan": plan_fields(plan), "forced": {}, "bounds": {}, "same_as_auto": [],
           "aliases": {}, "not_applicable": [], "notes": []}
    labels = ["auto", "torch"]
    calls = [functools.partial(pyconvx.conv, x, w, threads=threads, **kwargs)]
    torch_call, restore = torch_conv(x, w, threads, **kwargs)
    calls.append(torch_call)
    if algorithms:
        timed_keys = {plan_key(plan): "auto"}
        for name in forced_algorithms():
            try:
                call = _forced_call(x, w, threads, kwargs, name)
            except PYCONVX_ERRORS as exc:  # reported with the layer, the sweep goes on
                row["notes"].append(f"algorithm={name} failed: {type(exc).__name__}: {exc}")
                continue
            if call is None:
                row["not_applicable"].append(name)
                continue
            row["bounds"][name] = call[1]
            twin = timed_keys.setdefault(call[2], name)
            if twin == "auto":
                row["same_as_auto"].append(name)
            elif twin != name:
                row["aliases"][name] = twin
            else:
                labels.append(name)
                calls.append(call[0])
    try:
        reference = torch_call()
        kept_labels, kept_calls = [], []
        for label, call in zip(labels, calls):
            if label != "torch":
                try:
                    note = agreement_note(call(), reference, dtype)
                except PYCONVX_ERRORS as exc:  # reported with the layer, the sweep goes on
                    row["notes"].append(f"{label} failed: {type(exc).__name__}: {exc}")
                    continue
                if note:
                    row["notes"].append(f"{label}: {note}")
            kept_labels.append(label)
            kept_calls.append(call)
        del reference
        times = interleave(kept_calls, budget)
    finally:
        restore()
    medians = {label: median_ms(seconds) for label, seconds in zip(kept_labels, times)}
    row["pyconvx_ms"] = medians.get("auto")
    row["torch_ms"] = medians["torch"]
    row["forced"] = {label: ms for label, ms in medians.items() if label not in ("auto", "torch")}
    for name, twin in row["aliases"].items():
        if twin in row["forced"]:
            row["forced"][name] = row["forced"][twin]
    if row["pyconvx_ms"] is not None:
        row["ratio"] = row["pyconvx_ms"] / row["torch_ms"]
    return row


def _model_totals(result):
    layers = [r for r in result["layers"] if r["pyconvx_ms"] is not None]
    ours = sum(r["count"] * r["pyconvx_ms"] for r in layers)
    theirs = sum(r["count"] * r["torch_ms"] for r in layers)
    result["pyconvx_total_ms"] = ours
    result["torch_total_ms"] = theirs
    result["total_ratio"] = ours / theirs if theirs else None
    result["complete"] = len(layers) == len(result["layers"])
    return result


def run_sweep(models, batches, dtype, threads, budget, algorithms=False, progress=None,
              label=""):
    """One pass over ``models`` x ``batches``; one result dict per (model, batch).

    Each result has ``model``, ``batch``, ``dtype``, ``layers`` (rows of
    :func:`measure_layer`), ``conv_layers`` (the model's count), and the totals
    ``pyconvx_total_ms``, ``torch_total_ms``, ``total_ratio``.
    """
    say = progress or (lambda message: None)
    results = []
    for model in models:
        layers = model_layers(model)
        merged = distinct_layers(layers)
        for batch in batches:
            rows = []
            for index, distinct in enumerate(merged, 1):
                say(f"{label}{model} N={batch} [{index}/{len(merged)}] {distinct.layer.name} "
                    f"{distinct.layer.describe()}")
                rows.append(measure_layer(distinct, batch, dtype, threads, budget, algorithms))
                gc.collect()
            results.append(_model_totals({"model": model, "title": MODELS[model][1],
                                          "batch": batch, "dtype": dtype,
                                          "conv_layers": len(layers), "layers": rows}))
    return results


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _direct_summation(row):
    """The forced algorithms of a row whose plans sum directly (the bound "auto" keeps)."""
    return {name: ms for name, ms in row["forced"].items()
            if row["bounds"].get(name) == "elementwise"}


def _auto_vs_best(row):
    """auto's time over the best direct-summation plan's, auto's own plan among them
    when a forced algorithm gives it (at least 1 then)."""
    if row["pyconvx_ms"] is None:
        return None
    candidates = list(_direct_summation(row).values())
    if row.get("same_as_auto"):
        candidates.append(row["pyconvx_ms"])
    return row["pyconvx_ms"] / min(candidates) if candidates else None


def _auto_vs_fast(row):
    if row["pyconvx_ms"] is None:
        return None
    if "fast" in row.get("same_as_auto", ()):
        return 1.0
    fast = row["forced"].get("fast")
    return None if fast is None else row["pyconvx_ms"] / fast


def combine_runs(runs):
    """Merge the results of several :func:`run_sweep` passes into one.

    Times are medians over the runs; ``ratio``, ``auto_vs_best`` (auto against the
    best forced direct-summation algorithm), ``auto_vs_fast`` and ``total_ratio``
    are the medians of the per-run ratios, whose values are kept in ``ratios``,
    ``auto_vs_best_runs``, ``auto_vs_fast_runs`` and ``total_ratios``.
    """
    combined = []
    for results in zip(*runs):
        first = results[0]
        layers = []
        for rows in zip(*(result["layers"] for result in results)):
            row = dict(rows[0])
            row["pyconvx_ms"] = _median([r["pyconvx_ms"] for r in rows])
            row["torch_ms"] = _median([r["torch_ms"] for r in rows])
            row["ratios"] = [r["ratio"] for r in rows]
            row["ratio"] = _median(row["ratios"])
            forced_names = [name for name in rows[0]["forced"]
                            if all(name in r["forced"] for r in rows)]
            row["forced"] = {name: _median([r["forced"][name] for r in rows])
                             for name in forced_names}
            row["auto_vs_best_runs"] = [_auto_vs_best(r) for r in rows]
            row["auto_vs_best"] = _median(row["auto_vs_best_runs"])
            row["auto_vs_fast_runs"] = [_auto_vs_fast(r) for r in rows]
            row["auto_vs_fast"] = _median(row["auto_vs_fast_runs"])
            direct = _direct_summation(row)
            if row.get("same_as_auto") and row["pyconvx_ms"] is not None:
                # auto's own plan is one of the candidates: None names it
                direct = {k: v for k, v in direct.items() if v < row["pyconvx_ms"]}
            row["best_forced"] = min(direct, key=direct.get) if direct else None
            row["notes"] = sorted({note for r in rows for note in r["notes"]})
            layers.append(row)
        result = {key: value for key, value in first.items() if key != "layers"}
        result["layers"] = layers
        result["total_ratios"] = [r["total_ratio"] for r in results]
        result["pyconvx_total_ms"] = _median([r["pyconvx_total_ms"] for r in results])
        result["torch_total_ms"] = _median([r["torch_total_ms"] for r in results])
        result["total_ratio"] = _median(result["total_ratios"])
        result["complete"] = all(r["complete"] for r in results)
        worst = max((r for r in layers if r["ratio"] is not None), key=lambda r: r["ratio"],
                    default=None)
        result["worst"] = worst["name"] if worst else None
        result["auto_slower"] = [
            r["name"] for r in layers
            if r["auto_vs_best"] is not None and r["auto_vs_best"] > AUTO_SLACK]
        combined.append(result)
    return combined


def _torch():
    try:
        import torch
    except ImportError:
        raise HarnessError("the sweep times pyconvx against PyTorch, which is not installed: "
                           "pip install 'pyconvx[bench]'") from None
    return torch


def main(options):
    """Run the sweep for parsed options, print it; return an exit status.

    Parameters
    ----------
    options : argparse.Namespace
        ``models``, ``batch``, ``dtype``, ``threads``, ``quick``, ``json``,
        ``isa``, ``algorithms``, ``repeat``, ``no_progress`` (see
        :mod:`pyconvx_bench.commands`); None means the default.
    """
    torch = _torch()
    models = list(options.models or MODELS)
    batches = list(options.batch or DEFAULT_BATCHES)
    dtype = options.dtype or "float32"
    threads = machine.default_threads() if options.threads is None else options.threads
    repeat = options.repeat or 1
    algorithms = bool(options.algorithms)
    budget = QUICK if options.quick else FULL
    progress = None if options.no_progress else (
        lambda message: print(message, file=sys.stderr, flush=True))
    warning = environment.openblas_coretype_warning()
    if warning:
        print(warning, file=sys.stderr)

    facts = {
        "cpu": machine.cpu_model(), "simd": machine.simd_level(),
        "torch": torch.__version__, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "pyconvx": pyconvx.__version__, "threads": threads, "dtype": dtype, "batches": batches,
        "models": models, "isa": options.isa or "default", "algorithms": algorithms,
        "repeat": repeat, "quick": bool(options.quick), "environment": environment.switches(),
        "load_average_before": machine.load_average(),
    }
    header = [
        "# pyconvx.conv vs torch.nn.functional.conv1d/conv2d, every distinct convolution layer",
        f"# CPU {facts['cpu']}; {threads} thread(s) for both (torch.set_num_threads); "
        f"pyconvx {facts['pyconvx']} SIMD {facts['simd']}; torch {facts['torch']} "
        f"(CPU capability {facts['torch_cpu_capability']}); {dtype}; N = "
        + ", ".join(map(str, batches)),
    ]
    if options.isa:
        caps = " ".join(f"{k}={v}" for k, v in environment.ISA_SWITCHES[options.isa].items())
        header.append(f"# ISA capped at {options.isa} for both libraries: {caps}")
    switched = [f"{k}={v}" for k, v in facts["environment"].items() if v is not None]
    header.append("# environment: " + (", ".join(switched) if switched else "no switches set"))
    if repeat > 1:
        header.append(f"# the whole sweep ran {repeat} times: times are medians over the runs, "
                      "ratios the medians of the per-run ratios")

    start = time.perf_counter()
    torch_threads = torch.get_num_threads()
    try:
        runs = [run_sweep(models, batches, dtype, threads, budget, algorithms, progress,
                          label=f"[run {i + 1}/{repeat}] " if repeat > 1 else "")
                for i in range(repeat)]
    finally:
        torch.set_num_threads(torch_threads)
    wall = time.perf_counter() - start
    facts["wall_seconds"] = wall
    facts["load_average_after"] = machine.load_average()
    combined = combine_runs(runs)

    print("\n".join(header))
    print()
    print(format_sweep_summary(combined, repeat))
    for result in combined:
        print()
        print(format_sweep_model(result, algorithms, repeat))
    print()
    print(f"# sweep wall time {wall:.0f} s; load average (1, 5, 15 min) before "
          f"{facts['load_average_before']}, after {facts['load_average_after']}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as handle:
            json.dump({**facts, "results": combined, "runs": runs}, handle, indent=1, default=str)
    return 0
