"""The harness's command lines: ``pyconvx bench``, ``bench/run_table.py``, ``bench/sweep.py``.

The options are defined once here and added to each parser.  A command parses
its options, checks them, puts the measuring environment in place
(:func:`pyconvx_bench.environment.prepare`, which may re-execute the command)
and only then imports the measuring modules, which load NumPy, pyconvx and the
peers.  This module imports nothing heavy.
"""

import argparse
import importlib.util
import os
import sys

from . import HarnessError, environment
from .models import MODELS

__all__ = [
    "HarnessError",
    "add_bench_arguments",
    "run_bench",
    "run_sweep_script",
    "run_table_script",
    "sweep_parser",
    "table_parser",
]

BENCH_EXTRA = "pip install 'pyconvx[bench]'"
PLOT_EXTRA = "pip install 'pyconvx[plot]'"

#: Options of the table only, and of the sweep only (``pyconvx bench`` has both).
TABLE_ONLY = ("only", "list", "plot", "dev")
SWEEP_ONLY = ("models", "batch", "dtype", "isa", "algorithms", "repeat")

def positive_int(text):
    """argparse type: an int >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _add_common(parser):
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds per measurement and a smaller time budget")
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="threads for pyconvx and the peers that take a thread count "
                             "(default: pyconvx's default, OMP_NUM_THREADS or the usable cores)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress messages on stderr")


def _add_table(parser, dev_flag):
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="only the workloads whose key contains NAME (repeatable; "
                             "leaves out the extra rows)")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--plot", metavar="FILE",
                        help=f"also draw a bar chart to FILE (needs matplotlib: {PLOT_EXTRA})")
    if dev_flag:
        parser.add_argument("--dev", action="store_true",
                            help="developer columns: each row's goal, whether it is met, "
                                 "and the share of the measured FMA peak")


def _add_sweep(parser):
    parser.add_argument("--models", nargs="+", choices=list(MODELS), metavar="MODEL",
                        help=f"models to sweep: {', '.join(MODELS)} (default: all)")
    parser.add_argument("--batch", nargs="+", type=positive_int, metavar="N",
                        help="batch sizes (default: 1 8)")
    parser.add_argument("--dtype", choices=("float32", "float64"),
                        help="compute dtype (default: float32)")
    parser.add_argument("--isa", choices=sorted(environment.ISA_SWITCHES),
                        help="re-execute with both pyconvx and torch capped at this "
                             "instruction set (PYCONVX_SIMD, ONEDNN_MAX_CPU_ISA, "
                             "ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS)")
    parser.add_argument("--algorithms", action="store_const", const=True,
                        help="also time every forced algorithm= a layer accepts and report "
                             "auto against the best of them")
    parser.add_argument("--repeat", type=positive_int, metavar="R",
                        help="run the whole sweep R times; report the medians (default: 1)")


def add_bench_arguments(parser):
    """Add the options of ``pyconvx bench`` (table and sweep) to ``parser``."""
    parser.add_argument("--sweep", action="store_true",
                        help="run the model-zoo sweep against PyTorch instead of the table")
    _add_common(parser)
    _add_table(parser.add_argument_group("the ratio table (without --sweep)"), dev_flag=True)
    _add_sweep(parser.add_argument_group("the sweep (with --sweep)"))


def table_parser():
    """The parser of ``bench/run_table.py`` (the table with the developer columns)."""
    parser = argparse.ArgumentParser(
        prog="run_table.py",
        description="pyconvx against its peers: medians of interleaved calls, ratios, "
                    "GFLOP/s, goals and the share of the FMA peak.")
    _add_common(parser)
    _add_table(parser, dev_flag=False)
    return parser


def sweep_parser():
    """The parser of ``bench/sweep.py``."""
    parser = argparse.ArgumentParser(
        prog="sweep.py",
        description="Every distinct convolution layer of ResNet-50, MobileNetV2, VGG-16 and "
                    "the wav2vec 2.0 feature encoder: pyconvx against "
                    "torch.nn.functional.conv1d/conv2d, interleaved in one process.")
    _add_common(parser)
    _add_sweep(parser)
    return parser


def _given(options, names):
    return [name for name in names if getattr(options, name, None) not in (None, False)]


def _check_table(options):
    if options.plot:
        if importlib.util.find_spec("matplotlib") is None:
            raise HarnessError(f"--plot needs matplotlib, which is not installed: {PLOT_EXTRA}")
        folder = os.path.dirname(os.path.abspath(options.plot))
        if not os.path.isdir(folder):
            raise HarnessError(f"the folder of --plot {options.plot!r} does not exist")


def _check_sweep(options):
    if importlib.util.find_spec("torch") is None:
        raise HarnessError("the sweep times pyconvx against PyTorch, which is not installed: "
                           f"{BENCH_EXTRA}")


def _check_json(options):
    if options.json:
        folder = os.path.dirname(os.path.abspath(options.json))
        if not os.path.isdir(folder):
            raise HarnessError(f"the folder of --json {options.json!r} does not exist")


def _flags(names):
    return ", ".join("--" + name.replace("_", "-") for name in names)


def run_bench(options):
    """``pyconvx bench``: the table, or the sweep with ``--sweep``; return the exit status.

    Raises
    ------
    HarnessError
        For options that do not go together, a missing extra, or an
        environment that cannot be put in place.
    """
    _check_json(options)
    if options.sweep:
        misplaced = _given(options, TABLE_ONLY)
        if misplaced:
            raise HarnessError(f"{_flags(misplaced)} belong to the table, not to --sweep")
        _check_sweep(options)
        environment.prepare(isa=options.isa)
        from . import sweep

        return sweep.main(options)
    misplaced = _given(options, SWEEP_ONLY)
    if misplaced:
        raise HarnessError(f"{_flags(misplaced)} need --sweep")
    _check_table(options)
    environment.prepare()
    from . import table

    return table.main(options, dev=options.dev)


def _script(parser, argv, run, source_tree):
    if source_tree is not None and source_tree not in sys.path:
        # after the script's own folder (which holds this package): an in-place
        # build of pyconvx in the source tree is found before an installed one
        sys.path.insert(1, source_tree)
    options = parser.parse_args(argv)
    try:
        return run(options)
    except (HarnessError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1


def run_table_script(argv=None, source_tree=None):
    """``python bench/run_table.py``: the table with the developer columns.

    ``source_tree``: the repository root when run from a source checkout.
    """
    def run(options):
        _check_json(options)
        _check_table(options)
        environment.prepare()
        from . import table

        return table.main(options, dev=True)

    return _script(table_parser(), argv, run, source_tree)


def run_sweep_script(argv=None, source_tree=None):
    """``python bench/sweep.py``: the model-zoo sweep.

    ``source_tree``: the repository root when run from a source checkout.
    """
    def run(options):
        _check_json(options)
        _check_sweep(options)
        environment.prepare(isa=options.isa)
        from . import sweep

        return sweep.main(options)

    return _script(sweep_parser(), argv, run, source_tree)
