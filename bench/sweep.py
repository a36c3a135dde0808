"""Time every distinct convolution layer of a few models, pyconvx against PyTorch.

    python bench/sweep.py [--models MODEL ...] [--batch N ...] [--dtype float32|float64]
                          [--threads N] [--quick] [--json FILE] [--isa avx2]
                          [--algorithms] [--repeat R] [--no-progress]

Run from the repository root after an in-place build, or with pyconvx
installed.  The harness is the package ``pyconvx_bench`` beside this script;
see bench/README.md.
"""

import os
import sys


def main():
    # this folder (with pyconvx_bench) is on sys.path as the script's own; the
    # repository root goes after it, so that an in-place build of pyconvx is found
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(1, root)
    from pyconvx_bench.commands import run_sweep_script

    return run_sweep_script()


if __name__ == "__main__":
    sys.exit(main())
