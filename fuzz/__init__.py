"""Differential fuzzing of pyconvx's public functions.

Every public function is a *target*: a hypothesis strategy that draws one
call (a plain-data *case*), an independent reference or oracle, and the rule
that compares the two (see ``fuzz/README.md``).  ``python -m fuzz`` runs
targets in a pool of child processes, so that a crash is caught and reported
with the case that caused it.

Which pyconvx is fuzzed: the compiled package first found on ``sys.path``.
When that is a source tree without its compiled core (the repository root
of a checkout whose package was installed with pip), the source tree is
skipped and the installed package is used, as the main test suite does.
The float64 convolution reference is the main suite's own
(``tests/_reference.py``): ``tests`` is appended to ``sys.path`` so that it
is imported, never copied.
"""

import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = REPO_ROOT / "tests"


def _has_compiled_core(package_dir):
    """Whether the package directory holds compiled extension modules."""
    return any(package_dir.glob("**/*.so")) or any(package_dir.glob("**/*.pyd"))


def _import_pyconvx():
    """Import the compiled pyconvx, skipping source trees that have no compiled core."""
    hidden = []
    try:
        while True:
            spec = importlib.util.find_spec("pyconvx")
            if spec is None or spec.origin is None:
                break
            package_dir = Path(spec.origin).resolve().parent
            if _has_compiled_core(package_dir):
                break
            entry = next((p for p in sys.path
                          if Path(p or ".").resolve() == package_dir.parent), None)
            if entry is None:
                break
            hidden.append((sys.path.index(entry), entry))
            sys.path.remove(entry)
        import pyconvx  # noqa: F401  (the one every fuzz module then uses)
    finally:
        for index, entry in reversed(hidden):
            sys.path.insert(index, entry)


_import_pyconvx()
if str(TESTS_DIR) not in sys.path:
    sys.path.append(str(TESTS_DIR))
