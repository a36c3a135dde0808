"""Shared fixtures of the test suite.

``tests/api`` tests the public functions, ``tests/engine`` the planner, the
layouts, the compiled paths and each microkernel.  Tests import the installed
(or in-place built) pyconvx, never a copy under tests/.  ``_reference`` (this
directory) is the independent NumPy reference, ``_problems`` the shared
problems and layouts.
"""

import contextlib
import os
import signal

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import pyconvx
from pyconvx._engine import dispatch

from _reference import assert_bitwise_equal

# The Ctrl-C tests need SIGINT to reach Python: a shell that starts the test run in
# the background ignores it, and an ignored signal stays ignored in this process and
# in every child it starts.  Python's own handler is restored when that is so.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Reproducible examples; PYCONVX_HYPOTHESIS_EXAMPLES raises the count for a long run.
settings.register_profile(
    "pyconvx",
    max_examples=int(os.environ.get("PYCONVX_HYPOTHESIS_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)
settings.load_profile("pyconvx")

# Child processes started by the tests (the CLI, fork and crash checks) must
# import the same pyconvx as this process: the installed package in CI, where
# the source tree in the current directory has no compiled core and would
# shadow it.  PYTHONSAFEPATH keeps "" (the cwd) off a child's sys.path, and
# PYTHONPATH points at the directory this process imported pyconvx from.
os.environ["PYTHONSAFEPATH"] = "1"
_PYCONVX_HOME = os.path.dirname(os.path.dirname(os.path.abspath(pyconvx.__file__)))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_PYCONVX_HOME] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                       if p and os.path.abspath(p) != _PYCONVX_HOME])


#: The directory of the shared test modules (_reference, _problems, _guarded).
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def child_env(**extra):
    """Environment for a child Python process: this one's (see above) plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- SIMD levels
def simd_levels():
    """Every microkernel set this process can run (compiled in, supported here)."""
    return list(dispatch.available_levels())


@contextlib.contextmanager
def forced_level(level):
    """Run the calls of this thread on the microkernel set ``level``."""
    with dispatch.forced_simd(level):
        yield


def pytest_report_header(config):
    """Say which slow checks this run leaves out, and how to run them."""
    if config.getoption("markexpr") == "not slow":
        return "slow checks left out (pyproject.toml's addopts): pytest -m slow runs them"
    return None


def pytest_generate_tests(metafunc):
    """``simd_level``: every microkernel set this process can run; ``algorithm``: every
    value of ``pyconvx.ALGORITHMS`` (tests check refusals with ``conv_or_refusal``)."""
    if "simd_level" in metafunc.fixturenames:
        levels = simd_levels()
        metafunc.parametrize("simd_level", levels, ids=levels)
    if "algorithm" in metafunc.fixturenames:
        metafunc.parametrize("algorithm", pyconvx.ALGORITHMS, ids=pyconvx.ALGORITHMS)


@pytest.fixture
def simd(simd_level):
    """Run the test body with the kernels of ``simd_level`` forced (this thread)."""
    with forced_level(simd_level):
        yield simd_level


@pytest.fixture
def rng():
    return np.random.default_rng(20261122)


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def bitwise():
    return assert_bitwise_equal
