"""Sphinx directives of pyconvx's docs; everything they show is computed at build time.

``.. runblock::``
    Runs its Python code when the page is built and shows the code and what it
    printed.  The blocks of one page share a namespace.  An exception fails
    the build, so every example on the pages runs as written.
``.. command-help:: SUBCOMMAND``
    The ``--help`` text of ``pyconvx SUBCOMMAND``, from the installed parser.
``.. bench-table::``
    The speed table of the saved run (``_data/bench_run.json``, read by
    ``bench_results``); ``:extras:`` shows the extra measurements instead.
"""

import contextlib
import inspect
import io
import os
import sys
import textwrap
from typing import ClassVar

import bench_results
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective


class RunBlock(SphinxDirective):
    """Run the content as Python; show the code, then its printed output."""

    has_content = True
    option_spec: ClassVar[dict] = {"hide-output": directives.flag}

    def run(self):
        code = "\n".join(self.content)
        namespace = self.env.temp_data.setdefault("runblock_namespace", {"__name__": "__main__"})
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                # Running the page's own example code is the directive's purpose.
                exec(compile(code, f"<runblock in {self.env.docname}>", "exec"), namespace)
        except Exception as exc:
            raise self.error(f"runblock failed: {type(exc).__name__}: {exc}\n{code}") from exc
        source = nodes.literal_block(code, code, language="python", classes=["runblock-code"])
        result = [source]
        output = printed.getvalue().rstrip()
        if output and "hide-output" not in self.options:
            result.append(nodes.literal_block(output, output, language="none",
                                              classes=["runblock-output"]))
        return result


class CommandHelp(SphinxDirective):
    """The ``--help`` text of one ``pyconvx`` subcommand."""

    required_arguments = 1

    def run(self):
        from pyconvx.cli import main

        printed = io.StringIO()
        previous = os.environ.get("COLUMNS")
        # argparse wraps to the terminal width: make it that of the page column.
        os.environ["COLUMNS"] = "72"
        try:
            with contextlib.redirect_stdout(printed):
                try:
                    main([self.arguments[0], "--help"])
                except SystemExit as exit_:
                    if exit_.code not in (0, None):
                        raise self.error(f"pyconvx {self.arguments[0]} --help exited "
                                         f"with {exit_.code}") from None
        finally:
            if previous is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = previous
        text = printed.getvalue().rstrip()
        return [nodes.literal_block(text, text, language="none")]


def _note_marks(rows, first):
    """Number every distinct note from ``first``; return the numbers per row and
    (number, note) in order."""
    marks = {}
    for row in rows:
        for note in row.notes:
            marks.setdefault(note, first + len(marks))
    return [[marks[note] for note in row.notes] for row in rows], [
        (label, note) for note, label in marks.items()]


class BenchTable(SphinxDirective):
    """The saved speed table as a list table, with its notes below it."""

    option_spec: ClassVar[dict] = {"extras": directives.flag}

    def run(self):
        path = bench_results.DEFAULT_RUN
        self.env.note_dependency(str(path))
        workloads, extras = bench_results.load(path)
        if "extras" in self.options:
            header, widths = ["measurement", "value"], "70 30"
            # Numbered after the workloads' notes: every note number on a page is unique.
            first = len(_note_marks(workloads, 1)[1]) + 1
            rows = extras
            cells = [[row.name, f"{_number(row.value)} {row.unit}".strip()] for row in rows]
        else:
            header = ["workload", "pyconvx ms", "peer ms", "ratio", "peer", "pyconvx path"]
            widths = "34 12 9 8 20 17"
            first = 1
            rows = workloads
            cells = [[row.name if row.dtype in row.name else f"{row.name} ({row.dtype})",
                      _number(row.pyconvx_ms), _number(row.peer_ms), f"{row.ratio:.2f}",
                      row.peer, row.path] for row in rows]
        marks, notes = _note_marks(rows, first)
        for row_cells, row_marks in zip(cells, marks):
            if row_marks:
                row_cells[0] += " (" + ", ".join(f"note {m}" for m in row_marks) + ")"
        lines = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
        for row in [header] + cells:
            lines.append("   * - " + _escape(row[0]))
            lines.extend("     - " + _escape(cell) for cell in row[1:])
        lines.append("")
        for number, note in notes:
            lines.append(f"Note {number}: {_escape(note)}")
            lines.append("")
        container = nodes.container(classes=["bench-table"])
        self.state.nested_parse(StringList(lines, source=str(path)), self.content_offset, container)
        return [container]


def _number(value):
    """A measured number with three significant digits, never in e-notation."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _escape(text):
    """Plain text safe inside reStructuredText (no markup characters act)."""
    text = str(text)
    for char in "\\*`_|[]":
        text = text.replace(char, "\\" + char)
    return textwrap.dedent(text).replace("\n", " ")


def _defining_comment(obj, package="pyconvx"):
    """The ``#:`` comment above ``obj``'s assignment in the pyconvx module defining it."""
    for module_name, module in sorted(sys.modules.items()):
        if module is None or not module_name.startswith(package + "."):
            continue
        for attribute, value in vars(module).items():
            if value is obj:
                comment = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(
                    ("", attribute))
                if comment:
                    return list(comment)
    return []


def reexported_data_doc(app, what, name, obj, options, lines):
    """A constant re-exported by ``pyconvx`` gets its defining module's comment,
    not the docstring of its type (``tuple``'s, for ``ALGORITHMS``)."""
    type_doc = inspect.getdoc(type(obj))
    if what == "data" and type_doc and "\n".join(lines).strip() == type_doc.strip():
        lines[:] = _defining_comment(obj)


def setup(app):
    # Before numpydoc (priority 500) rewrites the docstring.
    app.connect("autodoc-process-docstring", reexported_data_doc, priority=400)
    app.add_directive("runblock", RunBlock)
    app.add_directive("command-help", CommandHelp)
    app.add_directive("bench-table", BenchTable)
    app.add_css_file("pyconvx.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
