"""SciPy's own tests of scipy.ndimage's linear filters, run against pyconvx.ndimage.

SciPy ships its test suite with the package (``scipy/ndimage/tests/
test_filters.py``).  This module loads that file under a new module name
with ``scipy.ndimage``'s functions replaced by pyconvx's (also inside the
parameter lists its decorators build at import time) and collects every test
that calls one of them.  Nothing of SciPy's test code is copied here.

What is collected:

* every test that names one of ``pyconvx.ndimage.__all__``, with the
  parameter sets that pass another function (a rank, minimum, maximum,
  median or generic filter: functions pyconvx does not provide) removed;
  tests of those other functions and of SciPy's private helpers are not
  collected;
* with NumPy arrays only (the tests' ``xp`` fixture is NumPy; the other
  array namespaces SciPy supports are not pyconvx's business).

The reference helper that builds the expected complex results calls the real
``scipy.ndimage``.  Tests left out although they concern these functions,
and why, are in ``EXCLUDED``.
"""

import importlib.util
import os
import types
import warnings

import numpy as np
import pytest

scipy_ndimage = pytest.importorskip("scipy.ndimage")
scipy_array_api = pytest.importorskip("scipy._lib._array_api")

from pyconvx import ndimage as pyconvx_ndimage  # noqa: E402

SUITE = os.path.join(os.path.dirname(scipy_ndimage.__file__), "tests", "test_filters.py")
OURS = set(pyconvx_ndimage.__all__)

#: Tests of these functions that are not collected: name -> why.
EXCLUDED = {}


def _foreign(value):
    """Whether a parameter value is a scipy.ndimage function pyconvx does not provide."""
    values = getattr(value, "values", value)
    values = values if isinstance(values, tuple) else (values,)
    return any(callable(v) and getattr(v, "__module__", "").startswith("scipy.ndimage")
               for v in values)


def _marks_without_foreign(marks):
    """The marks with foreign parameter sets dropped (None: nothing left to run)."""
    kept = []
    for mark in marks:
        if mark.name in ("skip_xp_backends", "xfail_xp_backends"):
            continue
        if mark.name == "parametrize":
            argnames, argvalues = mark.args[:2]
            argvalues = [v for v in argvalues if not _foreign(v)]
            if not argvalues:
                return None
            mark = pytest.mark.parametrize(argnames, argvalues, **mark.kwargs).mark
        kept.append(mark)
    return kept


def _names(code):
    names = set(code.co_names)
    for const in code.co_consts:   # nested functions (derivative2 ...)
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _calls_ours(function, helpers):
    """Whether ``function`` calls one of ours, itself or through one of ``helpers``."""
    names = _names(function.__code__)
    return bool(names & OURS) or any(
        _names(helpers[name].__code__) & OURS for name in names & set(helpers))


def _copy(function, globals_=None, marks=None):
    clone = types.FunctionType(function.__code__, globals_ or function.__globals__,
                               function.__name__, function.__defaults__, function.__closure__)
    clone.__dict__.update({k: v for k, v in function.__dict__.items() if k != "pytestmark"})
    clone.__qualname__ = function.__qualname__
    if marks:
        clone.pytestmark = marks
    return clone


def _collected(function, name, helpers):
    """A copy of a test function to collect, or None."""
    if name in EXCLUDED:
        return None
    marks = _marks_without_foreign(getattr(function, "pytestmark", []))
    if marks is None:
        return None
    uses_ours = _calls_ours(function, helpers) or any(
        mark.name == "parametrize" and any(
            callable(v) and getattr(v, "__module__", "") == "pyconvx.ndimage"
            for values in mark.args[1] for v in (getattr(values, "values", None)
                                                 or (values if isinstance(values, tuple)
                                                     else (values,))))
        for mark in marks)
    return _copy(function, marks=marks) if uses_ours else None


def _load_suite():
    """SciPy's test module, executed with pyconvx's functions in scipy.ndimage's place."""
    spec = importlib.util.spec_from_file_location("scipy.ndimage.tests._pyconvx_filters", SUITE)
    suite = importlib.util.module_from_spec(spec)
    saved = {name: getattr(scipy_ndimage, name) for name in OURS}
    saved_helpers = (scipy_array_api.make_xp_test_case, scipy_array_api.make_xp_pytest_param)
    try:
        for name in OURS:
            setattr(scipy_ndimage, name, getattr(pyconvx_ndimage, name))
        # The xp capability marks look functions up in SciPy's table: NumPy needs none.
        scipy_array_api.make_xp_test_case = lambda *funcs, **kwargs: (lambda test: test)
        scipy_array_api.make_xp_pytest_param = (
            lambda func, *args, **kwargs: pytest.param(func, *args, id=func.__name__))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # SciPy's own pytest marks, unknown here
            spec.loader.exec_module(suite)
    finally:
        for name, function in saved.items():
            setattr(scipy_ndimage, name, function)
        scipy_array_api.make_xp_test_case, scipy_array_api.make_xp_pytest_param = saved_helpers
    under_test = types.ModuleType("ndimage_under_test")
    under_test.__dict__.update(vars(scipy_ndimage))
    under_test.__dict__.update({name: getattr(pyconvx_ndimage, name) for name in OURS})
    suite.ndimage = under_test
    reference = suite._complex_correlate
    suite._complex_correlate = _copy(reference, dict(vars(suite), ndimage=scipy_ndimage))
    return suite


def _functions(namespace):
    return {name: value for name, value in namespace.items()
            if isinstance(value, types.FunctionType) and not name.startswith("test_")}


def _collect(suite):
    found = {}
    for name, value in vars(suite).items():
        if name.startswith("test_") and isinstance(value, types.FunctionType):
            test = _collected(value, name, _functions(vars(suite)))
            if test is not None:
                found[name] = test
        elif name.startswith("Test") and isinstance(value, type):
            members, tests = {}, 0
            for attr, member in vars(value).items():
                if attr.startswith("test_") and isinstance(member, types.FunctionType):
                    test = _collected(member, f"{name}.{attr}", _functions(vars(value)))
                    if test is not None:
                        members[attr] = test
                        tests += 1
                elif not attr.startswith("__") or attr == "__doc__":
                    members[attr] = member
            if tests:
                found[name] = type(name, (), members)
    return found


@pytest.fixture
def xp():
    """SciPy's tests take their array namespace from this fixture: NumPy."""
    return np


@pytest.fixture
def num_parallel_threads():
    """SciPy's tests ask how many copies of themselves run at once: one."""
    return 1


globals().update(_collect(_load_suite()))
