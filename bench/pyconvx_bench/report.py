"""Text of the results: numbers in readable units, Markdown tables, footnotes.

:func:`format_table` renders the ratio table of :func:`pyconvx_bench.table.run`;
the helpers are shared with the sweep.  The path of a call is named from the
fields of ``pyconvx.plan``'s :class:`~pyconvx.Plan` (algorithm, microkernel,
tile), never from its text.
"""

__all__ = [
    "Footnotes",
    "fmt",
    "fmt_ms",
    "format_sweep_model",
    "format_sweep_summary",
    "format_table",
    "human_bytes",
    "markdown_table",
    "path_label",
    "plan_fields",
    "plot_results",
]


def fmt(value, spec, missing="—"):
    """``format(value, spec)``, or ``missing`` for None.

    Examples
    --------
    >>> fmt(0.456, ".2f"), fmt(None, ".2f")
    ('0.46', '—')
    """
    return missing if value is None else format(value, spec)


def fmt_ms(value):
    """Milliseconds with three significant digits or so ("—" for None).

    Examples
    --------
    >>> fmt_ms(123.4), fmt_ms(12.34), fmt_ms(1.234), fmt_ms(0.01234)
    ('123', '12.3', '1.23', '0.0123')
    """
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def human_bytes(count):
    """A byte count in binary units.

    Examples
    --------
    >>> human_bytes(4_089_446), human_bytes(512), human_bytes(-3 * 2**20)
    ('3.9 MiB', '512 B', '-3.0 MiB')
    """
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    size, unit = float(abs(count)), 0
    while size >= 1024 and unit < len(units) - 1:
        size /= 1024
        unit += 1
    text = f"{size:.0f} B" if unit == 0 else f"{size:.1f} {units[unit]}"
    return ("-" if count < 0 else "") + text


def path_label(plan):
    """The algorithm and microkernel of a :class:`pyconvx.Plan`, e.g. ``direct/gemm 8x32``.

    Examples
    --------
    >>> import pyconvx
    >>> path_label(pyconvx.plan((1, 64, 56, 56), (64, 64, 3, 3), padding=1, algorithm="row"))
    'direct/row 1x192'
    >>> path_label(pyconvx.plan((1, 1, 64), (1, 1, 5), algorithm="fft"))
    'fft'
    """
    if plan.microkernel is None:
        return plan.algorithm
    label = f"{plan.algorithm}/{plan.microkernel}"
    if plan.tile is not None:
        label += " {}x{}".format(*plan.tile)
    return label


def plan_fields(plan):
    """The public fields of a :class:`pyconvx.Plan` that describe the path, as a dict."""
    return {"algorithm": plan.algorithm, "microkernel": plan.microkernel,
            "tile": list(plan.tile) if plan.tile is not None else None,
            "simd": plan.simd, "box": list(plan.box) if plan.box is not None else None,
            "threads": plan.threads, "work_units": plan.work_units,
            "workspace_bytes": plan.workspace_bytes, "flops": plan.flops}


def markdown_table(headers, rows):
    """Lines of a Markdown table.

    Examples
    --------
    >>> print("\\n".join(markdown_table(["a", "b"], [[1, "x"]])))
    | a | b |
    |---|---|
    | 1 | x |
    """
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return lines


class Footnotes:
    """Numbered footnotes shared by the rows of a table, each text once."""

    def __init__(self):
        self.texts = []

    def refs(self, notes):
        """`` [1][2]`` for ``notes`` (numbering new texts), or "" for none."""
        marks = []
        for note in notes:
            if note not in self.texts:
                self.texts.append(note)
            marks.append(f"[{self.texts.index(note) + 1}]")
        return " " + "".join(marks) if marks else ""

    def lines(self):
        return [f"[{i}] {text}" for i, text in enumerate(self.texts, 1)]


def _met(value):
    return {True: "yes", False: "**no**", None: "—"}[value]


def _extra_value(row):
    if row["value"] is None:
        return "—"
    if row["unit"] == "bytes":
        return human_bytes(row["value"])
    return f"{row['value']:.2f}{row['unit']}"


def format_table(results, dev=False, peaks=None, peak_notes=()):
    """The results of :func:`pyconvx_bench.table.run` as Markdown with footnotes.

    Parameters
    ----------
    results : list of dict
    dev : bool
        Also the developer columns: the goal, whether it is met, and the share
        of the FMA peak.
    peaks : dict, optional
        ``{(dtype, threads): GFLOP/s}`` of the measured FMA peaks (named in a
        footnote with ``dev``).
    peak_notes : sequence of str
        Why a peak could not be measured (footnotes with ``dev``).
    """
    notes = Footnotes()
    headers = ["workload", "pyconvx ms", "peer", "peer ms", "ratio"]
    if dev:
        headers += ["goal", "met?"]
    headers += ["GFLOP/s"] + (["% of peak"] if dev else []) + ["path"]
    rows = []
    simd = set()
    for r in results:
        if r.get("extra"):
            continue
        row = [r["name"] + notes.refs(r["notes"]), fmt_ms(r["pyconvx_ms"]), r["peer"],
               fmt_ms(r["peer_ms"]), fmt(r["ratio"], ".2f")]
        if dev:
            goal = f"<= {r['goal']:g}"
            if r.get("peak_goal"):
                goal += f", >= {100 * r['peak_goal']:.0f}% peak"
            row += [goal, _met(r["met"])]
        row.append(fmt(r["gflops"], ".1f"))
        if dev:
            row.append(fmt(r["peak_pct"], ".0f"))
        row.append(r["path"] or "—")
        rows.append(row)
        if r.get("simd"):
            simd.add(r["simd"])
    lines = markdown_table(headers, rows)
    extras = [r for r in results if r.get("extra")]
    if extras:
        lines.append("")
        if dev:
            lines += markdown_table(
                ["extra goal", "value", "goal", "met?"],
                [[r["name"] + notes.refs(r["notes"]), _extra_value(r), r["goal_text"],
                  _met(r["met"])] for r in extras])
        else:
            lines += markdown_table(
                ["measurement", "value"],
                [[r["name"] + notes.refs(r["notes"]), _extra_value(r)] for r in extras])
    threads = next((r["threads"] for r in results if r.get("threads")), None)
    lines.append("")
    lines.append(
        f"Times are medians of interleaved calls on {threads} thread(s), in ms; ratio = "
        "pyconvx ms / peer ms (below 1: pyconvx is faster); GFLOP/s = the plan's FLOP count "
        "(2 * multiply-adds of direct summation) / pyconvx time; path = the algorithm and "
        "microkernel (register tile rows x columns) of pyconvx.plan for the call"
        + (f", compiled for {', '.join(sorted(simd))}." if simd else "."))
    if dev:
        for note in peak_notes:
            notes.refs([f"% of peak: {note}"])
        if peaks:
            named = ", ".join(f"{dtype} on {count} thread(s) {value:.0f}"
                              for (dtype, count), value in sorted(peaks.items()))
            notes.refs([(
                "% of peak uses the FMA peak measured by pyconvx.fma_peak_gflops (a "
                "register-only FMA loop) before the runs, the larger of the T-thread probe and "
                f"T x the 1-thread probe: {named} GFLOP/s; other load on the machine lowers it.")])
    lines += notes.lines()
    return "\n".join(lines)


def _runs(values, spec):
    return " ".join(fmt(v, spec) for v in values)


def format_sweep_summary(results, repeat=1):
    """One line per (model, batch) of a sweep: totals, their ratio, the worst layer.

    Parameters
    ----------
    results : list of dict
        :func:`pyconvx_bench.sweep.combine_runs` output.
    repeat : int
        Runs merged into the results (their total ratios get a column).
    """
    headers = ["model", "N", "conv layers (distinct)", "pyconvx ms", "torch ms", "total ratio"]
    if repeat > 1:
        headers.append("total ratios of the runs")
    headers.append("worst layer (ratio)")
    rows = []
    for result in results:
        worst = next((r for r in result["layers"] if r["name"] == result["worst"]), None)
        row = [result["model"], result["batch"],
               f"{result['conv_layers']} ({len(result['layers'])})",
               fmt_ms(result["pyconvx_total_ms"]), fmt_ms(result["torch_total_ms"]),
               fmt(result["total_ratio"], ".2f") + ("" if result["complete"] else " (incomplete)")]
        if repeat > 1:
            row.append(_runs(result["total_ratios"], ".2f"))
        row.append(f"{worst['name']} {worst['shape']} ({worst['ratio']:.2f})" if worst else "—")
        rows.append(row)
    lines = markdown_table(headers, rows)
    lines.append("")
    lines.append("Total = sum over the distinct layers of multiplicity x median time of one call; "
                 "total ratio = pyconvx total / torch total (below 1: pyconvx is faster).")
    return "\n".join(lines)


def format_sweep_model(result, algorithms=False, repeat=1):
    """The per-layer table of one (model, batch) of a sweep, then its worst layer and totals.

    Parameters
    ----------
    result : dict
        One item of :func:`pyconvx_bench.sweep.combine_runs` output.
    algorithms : bool
        The results hold forced algorithms: add auto against the best forced
        direct-summation one, and against "fast".
    repeat : int
        Runs merged into the result (their ratios get a column).
    """
    notes = Footnotes()
    headers = ["layer", "shape", "x", "pyconvx ms", "torch ms", "ratio"]
    if repeat > 1:
        headers.append("ratios of the runs")
    headers.append("pyconvx path")
    if algorithms:
        headers += ["best forced direct (ms)", "auto / best direct", "fast ms", "auto / fast"]
    rows = []
    for r in result["layers"]:
        row = [r["name"] + notes.refs(r["notes"]), r["shape"], r["count"], fmt_ms(r["pyconvx_ms"]),
               fmt_ms(r["torch_ms"]), fmt(r["ratio"], ".2f")]
        if repeat > 1:
            row.append(_runs(r["ratios"], ".2f"))
        row.append(r["path"])
        if algorithms:
            best = r["best_forced"]
            if best:
                row.append(f"{best} ({fmt_ms(r['forced'][best])})")
            elif r.get("same_as_auto"):   # auto's own plan, forced by these names
                row.append(f"auto's plan ({', '.join(r['same_as_auto'])})")
            else:
                row.append("—")
            flag = " **auto slower**" if r["name"] in result["auto_slower"] else ""
            row.append(fmt(r["auto_vs_best"], ".2f") + flag)
            row.append(fmt_ms(r["forced"].get("fast")))
            row.append(fmt(r["auto_vs_fast"], ".2f"))
        rows.append(row)
    title = (f"### {result['model']} ({result['title']}), N={result['batch']}, {result['dtype']}: "
             f"{len(result['layers'])} distinct of {result['conv_layers']} convolution layers")
    lines = [title, ""] + markdown_table(headers, rows) + [""]
    worst = next((r for r in result["layers"] if r["name"] == result["worst"]), None)
    if worst:
        lines.append(f"Worst layer: {worst['name']} ({worst['shape']}, x{worst['count']}), "
                     f"ratio {worst['ratio']:.2f}.")
    total = ("Total (sum of multiplicity x median): "
             f"pyconvx {fmt_ms(result['pyconvx_total_ms'])} ms, "
             f"torch {fmt_ms(result['torch_total_ms'])} ms, "
             f"ratio {fmt(result['total_ratio'], '.2f')}")
    if repeat > 1:
        total += f" (runs: {_runs(result['total_ratios'], '.2f')})"
    if not result["complete"]:
        total += "; pyconvx failed on some layers, which the totals leave out"
    lines.append(total + ".")
    if algorithms:
        slow = [r for r in result["layers"] if r["name"] in result["auto_slower"]]
        if slow:
            named = "; ".join(
                f"{r['name']} ({r['path']} {fmt_ms(r['pyconvx_ms'])} ms vs {r['best_forced']} "
                f"{fmt_ms(r['forced'][r['best_forced']])} ms)" for r in slow)
            lines.append("auto is more than 10% slower than the best forced direct-summation "
                         f"algorithm on: {named}.")
        else:
            lines.append("auto is within 10% of the best forced direct-summation algorithm on "
                         "every layer.")
        lines.append("Forced algorithms that cannot take a layer are left out. Direct summation: "
                     "the forced algorithms whose plan keeps the per-output rounding bound of "
                     "'auto' (Plan.error_bound 'elementwise'); auto / best direct and auto / fast "
                     "are medians over the runs of the ratios of the times ('fast' may take "
                     "Winograd, whose bound is the 4x4 input tile's). A forced algorithm whose "
                     "plan is auto's own is not timed again ('auto's plan'): the fastest of "
                     "several timings of one computation would beat a single timing of it by "
                     "chance.")
    lines += notes.lines()
    return "\n".join(lines)


def plot_results(results, path):
    """Bar chart of pyconvx vs peer ms per workload, log scale, saved to ``path``.

    Needs matplotlib (``pip install 'pyconvx[plot]'``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if not r.get("extra")]
    labels = [f"{r['key']}\nvs {r['peer']}" for r in rows]
    ours = [r["pyconvx_ms"] or float("nan") for r in rows]
    theirs = [r["peer_ms"] or float("nan") for r in rows]
    positions = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(8, 0.8 * len(rows)), 6))
    ax.bar([p - 0.2 for p in positions], ours, 0.4, label="pyconvx")
    ax.bar([p + 0.2 for p in positions], theirs, 0.4, label="peer")
    ax.set_yscale("log")
    ax.set_ylabel("median ms (log scale, lower is better)")
    ax.set_xticks(list(positions))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    ax.legend()
    ax.set_title("pyconvx vs peers")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
