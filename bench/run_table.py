"""Print pyconvx's ratio table against its peers, with the developer columns.

    python bench/run_table.py [--quick] [--threads N] [--only NAME ...]
                              [--plot FILE] [--json FILE] [--list] [--no-progress]

Run from the repository root after an in-place build, or with pyconvx
installed.  The harness is the package ``pyconvx_bench`` beside this script;
see bench/README.md.
"""

import os
import sys

# this folder (pyconvx_bench) is on sys.path as the script's own; the
# repository root is added after it, so that an in-place build of pyconvx is found
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(1, _ROOT)

from pyconvx_bench.commands import run_table_script

if __name__ == "__main__":
    sys.exit(run_table_script())
