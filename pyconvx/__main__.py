"""``python -m pyconvx``: the same as the ``pyconvx`` command."""

import sys

from pyconvx.cli import main

if __name__ == "__main__":
    sys.exit(main())
