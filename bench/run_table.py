"""Print pyconvx's speed table against its peers (issue 3).

    python bench/run_table.py [--quick] [--threads N] [--only NAME ...]
                              [--plot FILE] [--json FILE] [--list]

Run from the repository root (or with pyconvx installed).  If
OPENBLAS_CORETYPE is set, this script re-executes itself without it, so that
NumPy's and SciPy's OpenBLAS use the best kernels for the machine.
"""

import argparse
import os
import sys

# Set the measurement environment (see pyconvx._benchtable.bench_environment:
# no OPENBLAS_CORETYPE, a bounded GOMP_SPINCOUNT) before anything loads NumPy,
# OpenBLAS or an OpenMP runtime: they read it once, when loaded.  If NumPy is
# somehow loaded already (e.g. by sitecustomize), re-execute instead.
_REMOVED = ("OPENBLAS_CORETYPE",)
_DEFAULTS = {"GOMP_SPINCOUNT": "20000"}   # kept equal to _benchtable.BENCH_ENV_DEFAULTS
if any(name in os.environ for name in _REMOVED) or any(
        name not in os.environ for name in _DEFAULTS):
    env = {k: v for k, v in os.environ.items() if k not in _REMOVED}
    for name, value in _DEFAULTS.items():
        env.setdefault(name, value)
    if "numpy" in sys.modules or "pyconvx" in sys.modules:
        env["PYCONVX_BENCH_REEXEC"] = "1"
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    os.environ.clear()
    os.environ.update(env)

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="pyconvx vs peers: medians of interleaved calls, ratios, "
                    "GFLOP/s and % of the FMA peak.")
    parser.add_argument("--quick", action="store_true",
                        help="about 5 repeats per side and a small time budget")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for pyconvx and threaded peers "
                             "(default: the CPUs available)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only workloads whose key contains NAME "
                             "(repeatable; skips the extra goals)")
    parser.add_argument("--plot", metavar="FILE",
                        help="save a bar chart (needs matplotlib)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write the raw results as JSON")
    parser.add_argument("--list", action="store_true",
                        help="list the workload keys and exit")
    parser.add_argument("--no-progress", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from pyconvx import _benchtable

    if args.list:
        for wl in _benchtable.WORKLOADS:
            print(f"{wl.key:16s} {wl.name}  [peer: {wl.peer}; goal <= {wl.goal:g}]")
        return 0
    return _benchtable.main(quick=args.quick, plot=args.plot,
                            progress=not args.no_progress,
                            threads=args.threads, only=args.only,
                            as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
