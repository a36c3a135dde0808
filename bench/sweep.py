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

from pyconvx_bench.commands import run_sweep_script

if __name__ == "__main__":
    sys.exit(run_sweep_script(source_tree=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
