"""Print pyconvx's ratio table against its peers, with the developer columns.

    python bench/run_table.py [--quick] [--threads N] [--only NAME ...]
                              [--plot FILE] [--json FILE] [--list] [--no-progress]

Run from the repository root after an in-place build, or with pyconvx
installed.  The harness is the package ``pyconvx_bench`` beside this script;
see bench/README.md.
"""

import os
import sys

from pyconvx_bench.commands import run_table_script

if __name__ == "__main__":
    sys.exit(run_table_script(source_tree=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
