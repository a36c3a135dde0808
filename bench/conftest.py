"""pytest set-up for the benchmark suite in bench/ (not part of tests/).

    pytest bench/ --benchmark-only [--bench-threads N] [-k NAME]

- OPENBLAS_CORETYPE is removed before NumPy is imported when possible (it
  forces NumPy/SciPy's OpenBLAS onto other kernels and is read only when
  OpenBLAS loads); if NumPy was already imported a warning is printed: run
  `env -u OPENBLAS_CORETYPE pytest bench/ ...` then.
- The repository root is put on sys.path so that an in-place build of
  pyconvx is found without installing it.
"""

import os
import sys

_CORETYPE_LEFT = None
if "OPENBLAS_CORETYPE" in os.environ:
    if "numpy" in sys.modules:
        _CORETYPE_LEFT = os.environ["OPENBLAS_CORETYPE"]
    else:
        del os.environ["OPENBLAS_CORETYPE"]

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--bench-threads", type=int, default=None,
                     help="threads for pyconvx and threaded peers "
                          "(default: the CPUs available)")


def pytest_report_header(config):
    lines = []
    if _CORETYPE_LEFT is not None:
        lines.append(f"warning: OPENBLAS_CORETYPE={_CORETYPE_LEFT} is in effect "
                     "(NumPy was imported first); peers may be slowed. "
                     "Run with `env -u OPENBLAS_CORETYPE`.")
    return lines


@pytest.fixture(scope="session")
def bench_threads(request):
    from pyconvx import _benchtable

    threads = request.config.getoption("--bench-threads")
    return threads if threads else _benchtable.default_threads()
