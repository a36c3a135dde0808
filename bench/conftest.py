"""pytest set-up for the benchmark suite in bench/ (not part of tests/).

    pytest bench/ --benchmark-only [--bench-threads N] [-k NAME]

- The measuring environment of the harness (no OPENBLAS_CORETYPE, a bounded
  GOMP_SPINCOUNT; see pyconvx_bench.environment) is put in place before NumPy
  is imported when possible; if NumPy was already imported, a warning says
  which variables are not as the measurements need them.
- The repository root is put on sys.path so that an in-place build of pyconvx
  is found without installing it (pytest puts this folder, with the harness
  package pyconvx_bench, on sys.path itself).
"""

import os
import sys

import pytest
from pyconvx_bench import environment

_NOT_APPLIED = environment.prepare(reexec=False)

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(1, _ROOT)


def pytest_addoption(parser):
    parser.addoption("--bench-threads", type=int, default=None,
                     help="threads for pyconvx and threaded peers "
                          "(default: pyconvx's default, OMP_NUM_THREADS or the usable cores)")


def pytest_report_header(config):
    if not _NOT_APPLIED:
        return []
    return [(f"warning: {', '.join(_NOT_APPLIED)} not as the measurements need them (NumPy "
             "was imported first); peers may be slowed. Run with `env -u OPENBLAS_CORETYPE "
             "GOMP_SPINCOUNT=20000 pytest bench/ ...`.")]


@pytest.fixture(scope="session")
def bench_threads(request):
    from pyconvx_bench import machine

    threads = request.config.getoption("--bench-threads")
    return threads if threads else machine.default_threads()
