"""Print pyconvx's ratio table against its peers, with the developer columns.

    python bench/run_table.py [--quick] [--threads N] [--only NAME ...]
                              [--plot FILE] [--json FILE] [--list] [--no-progress]

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
    from pyconvx_bench.commands import run_table_script

    return run_table_script()


if __name__ == "__main__":
    sys.exit(main())
