"""Shared fixtures for the pyconvx core test suite.

Tests import the installed (or in-place built) pyconvx, never a copy under tests/.
``_reference`` (this directory) is the independent NumPy reference.
"""

import contextlib
import os

import numpy as np
import pytest

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "pyconvx",
        max_examples=int(os.environ.get("PYCONVX_HYPOTHESIS_EXAMPLES", "50")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        derandomize=True,
    )
    settings.load_profile("pyconvx")
except ImportError:  # hypothesis is a test extra; tests that need it importorskip
    pass

import pyconvx  # noqa: E402
from pyconvx._engine import dispatch  # noqa: E402
from _reference import assert_bitwise_equal, transform_algorithm  # noqa: E402

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


def child_env(**extra):
    """Environment for a child Python process: this one's (see above) plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- algorithms
def algorithm_names():
    """'auto' plus every explicit path the library exposes in pyconvx.ALGORITHMS."""
    names = ["auto"]
    for name in getattr(pyconvx, "ALGORITHMS", ()):
        if name not in names:
            names.append(name)
    return names


def is_transform_algorithm(name):
    """FFT and Winograd paths have norm-wise, not element-wise, error bounds."""
    return transform_algorithm(name, algorithm_names())


# ----------------------------------------------------------------------------- SIMD levels
def simd_levels():
    """Every microkernel set this process can run (compiled in, supported here)."""
    return list(dispatch.available_levels())


@contextlib.contextmanager
def forced_level(level):
    """Run the calls of this thread on the microkernel set ``level``."""
    with dispatch.forced_simd(level):
        yield


def pytest_generate_tests(metafunc):
    if "simd_level" in metafunc.fixturenames:
        levels = simd_levels()
        metafunc.parametrize("simd_level", levels, ids=levels)
    if "algorithm" in metafunc.fixturenames:
        names = algorithm_names()
        metafunc.parametrize("algorithm", names, ids=names, indirect=True)


@pytest.fixture
def algorithm(request, monkeypatch):
    """An algorithm name; a path that documents a refusal skips the problems it refuses.

    An explicit microkernel (e.g. "rowblock") raises ValueError "algorithm=... cannot
    take this problem: why" for shapes outside its reach; every other error still fails.
    """
    name = request.param
    if name != "auto":
        real_conv = pyconvx.conv

        def conv(*args, **kwargs):
            try:
                return real_conv(*args, **kwargs)
            except ValueError as exc:
                if f"algorithm={name!r} cannot take this problem" in str(exc):
                    pytest.skip(str(exc))
                raise

        monkeypatch.setattr(pyconvx, "conv", conv)
    return name


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
