"""output_size, output_shape, param_count; docstring examples; README code blocks."""

import doctest
import importlib
import inspect
import os
import re
import sys

import numpy as np
import pytest

import pyconvx

from _reference import canonical_pads, out_length
from conftest import TESTS_DIR


# ----------------------------------------------------------------------------- output_size
@pytest.mark.parametrize("size", [1, 2, 5, 10, 31])
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 3, (0, 2), (3, 1)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_output_size_formula(size, kernel, stride, padding, dilation):
    low, high = (padding, padding) if isinstance(padding, int) else padding
    reach = dilation * (kernel - 1) + 1
    if reach > size + low + high:
        with pytest.raises(ValueError, match="the dilated kernel"):
            pyconvx.output_size(size, kernel, stride, padding, dilation)
        return
    expected = (size + low + high - dilation * (kernel - 1) - 1) // stride + 1
    assert pyconvx.output_size(size, kernel, stride=stride, padding=padding, dilation=dilation) == expected
    assert type(pyconvx.output_size(size, kernel, stride, padding, dilation)) is int


@pytest.mark.parametrize("size,kernel,stride,dilation", [
    (10, 3, 1, 1), (10, 4, 1, 1), (10, 3, 3, 1), (7, 2, 2, 3), (1, 5, 1, 1), (9, 4, 4, 2), (100, 6, 7, 1),
])
def test_output_size_strings(size, kernel, stride, dilation):
    assert pyconvx.output_size(size, kernel, stride, "same", dilation) == -(-size // stride)
    assert pyconvx.output_size(size, kernel, stride, "full", dilation) == out_length(
        size, kernel, stride, dilation * (kernel - 1), dilation * (kernel - 1), dilation)
    if dilation * (kernel - 1) + 1 <= size:
        assert pyconvx.output_size(size, kernel, stride, "valid", dilation) == out_length(
            size, kernel, stride, 0, 0, dilation)


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ((0, 3), {}, ValueError, r"size must be >= 1, got 0"),
    ((10, 0), {}, ValueError, r"kernel_size must be >= 1, got 0"),
    ((10, 3), dict(stride=0), ValueError, r"stride must be >= 1, got 0"),
    ((10, 3), dict(dilation=-1), ValueError, r"dilation must be >= 1, got -1"),
    ((10, 3), dict(padding=-1), ValueError, r"padding must be >= 0 on every side"),
    ((10, 3), dict(padding=(1, -1)), ValueError, r"padding must be >= 0 on every side"),
    ((3, 5), {}, ValueError, r"the dilated kernel \(5 = dilation 1 \* \(kernel 5 - 1\) \+ 1\) is larger than the padded input \(3 = 3 \+ 0 \+ 0\)"),
    ((10, 3), dict(padding="sam"), ValueError, r"one of 'valid', 'same', 'full'; got 'sam'"),
    ((10.0, 3), {}, TypeError, r"size must be an int, got float 10.0"),
    ((10, 3.0), {}, TypeError, r"kernel_size must be an int, got float 3.0"),
    ((True, 3), {}, TypeError, r"size must be an int, got bool True"),
    ((None, 3), {}, TypeError, r"size must be an int or a tuple of 1 ints, got NoneType None"),
    ((10, 3), dict(stride=1.5), TypeError, r"stride must be an int, got float 1.5"),
    ((10, 3), dict(padding=None), TypeError, r"padding must be an int, a tuple of ints or \(low, high\) pairs"),
    ((10, 3), dict(padding=1.0), TypeError, r"padding must be an int, got float 1.0"),
    ((10, 3), dict(stride=2**62), ValueError, r"stride is too large"),
])
def test_output_size_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pyconvx.output_size(*args, **kwargs)


def test_output_size_numpy_ints():
    assert pyconvx.output_size(np.int64(224), np.int32(3), np.int16(2), np.uint8(1)) == 112


def test_output_size_huge_values_exact():
    assert pyconvx.output_size(2**40, 3, stride=2**40) == 1
    assert pyconvx.output_size(2**50, 1, padding=2**50) == 3 * 2**50


# ----------------------------------------------------------------------------- output_shape
SHAPE_CASES = [
    ((8, 3, 128, 128), (32, 3, 5, 5), dict(stride=2, padding=2), (8, 32, 64, 64)),
    ((3, 32, 32), (16, 3, 3, 3), dict(padding="same", stride=2), (16, 16, 16)),
    ((2, 4, 10), (6, 2, 3), dict(groups=2, dilation=2, padding="full"), (2, 6, 14)),
    ((1, 2, 5, 6, 7), (4, 2, 3, 3, 3), dict(padding=((1, 0), 1, (0, 2))), (1, 4, 4, 6, 7)),
    ((1, 2, 5, 6), (4, 2, 4, 2), dict(padding="same"), (1, 4, 5, 6)),
    ((1, 2, 9, 9), (4, 2, 3, 3), dict(padding=4, padding_mode="circular"), (1, 4, 15, 15)),
    ((1, 2, 9, 9), (4, 2, 3, 3), dict(stride=2**40), (1, 4, 1, 1)),
    ((0, 2, 9, 9), (4, 2, 3, 3), {}, (0, 4, 7, 7)),
    ((1, 0, 9, 9), (4, 0, 3, 3), {}, (1, 4, 7, 7)),
    ((1, 2, 3, 4, 5, 6), (1, 2, 1, 2, 3, 4), {}, (1, 1, 3, 3, 3, 3)),
    ((2**10, 3, 2**20, 2**20), (64, 3, 3, 3), dict(padding=1), (2**10, 64, 2**20, 2**20)),
]


@pytest.mark.parametrize("x_shape,w_shape,kwargs,expected", SHAPE_CASES)
def test_output_shape(x_shape, w_shape, kwargs, expected):
    got = pyconvx.output_shape(x_shape, w_shape, **kwargs)
    assert got == expected
    assert isinstance(got, tuple) and all(type(v) is int for v in got)
    assert pyconvx.output_shape(list(x_shape), np.array(w_shape), **kwargs) == expected


@pytest.mark.parametrize("x_shape,w_shape,kwargs,expected", SHAPE_CASES[:10])
def test_output_shape_matches_conv(x_shape, w_shape, kwargs, expected):
    got = pyconvx.conv(np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32), **kwargs)
    assert got.shape == expected


def test_output_shape_matches_reference_same_rule():
    for size in range(1, 12):
        for k in range(1, 6):
            for s in range(1, 4):
                for d in range(1, 3):
                    pads = canonical_pads("same", (size,), (k,), (s,), (d,))
                    expected = out_length(size, k, s, *pads[0], d)
                    assert expected == -(-size // s)
                    assert pyconvx.output_shape((1, 1, size), (1, 1, k), stride=s,
                                                padding="same", dilation=d) == (1, 1, expected)


@pytest.mark.parametrize("x_shape,w_shape,exc,match", [
    ((1, 2, 5.0), (1, 2, 3), TypeError, r"input must be a shape \(a tuple of ints\), got \(1, 2, 5.0\)"),
    ((1, 2, 5), (1, 2, None), TypeError, r"weight must be a shape \(a tuple of ints\)"),
    (5, (1, 2, 3), TypeError, r"input must be a shape \(a tuple of ints\), got 5"),
    ((1, 2, -5), (1, 2, 3), ValueError, r"shapes must not be negative, got x \(1, 2, -5\), weight \(1, 2, 3\)"),
    ((1, 2, 5), (-1, 2, 3), ValueError, r"shapes must not be negative"),
])
def test_output_shape_bad_shapes(x_shape, w_shape, exc, match):
    with pytest.raises(exc, match=match):
        pyconvx.output_shape(x_shape, w_shape)


@pytest.mark.parametrize("valid, invalid, exc, match", [
    (dict(stride=2), dict(stride=2.0), TypeError, r"stride must be an int, got float 2.0"),
    (dict(stride=1), dict(stride=True), TypeError, r"stride must be an int, got bool True"),
    (dict(padding=(1, 1)), dict(padding=(1, 1.0)), TypeError, r"got float 1.0"),
    (dict(groups=1), dict(groups=np.float64(1)), TypeError, r"groups must be an int"),
])
def test_a_remembered_problem_does_not_admit_an_equal_value_of_another_type(
        valid, invalid, exc, match):
    """Validated problems are remembered, keyed by value and type: a value equal
    to a remembered valid one (2.0 == 2, True == 1) is still refused."""
    x = np.ones((1, 1, 6, 6), np.float32)
    w = np.ones((1, 1, 3, 3), np.float32)
    for _ in range(2):
        pyconvx.conv(x, w, **valid)
        with pytest.raises(exc, match=match):
            pyconvx.conv(x, w, **invalid)


def test_a_remembered_problem_keeps_the_sign_of_a_zero_padding_value():
    """``padding_value=-0.0`` and ``0.0`` compare equal: each keeps its own
    remembered problem, with its own sign."""
    from pyconvx.shapes import describe_conv

    for value in (0.0, -0.0, 0.0, -0.0):
        geometry = describe_conv((1, 1, 4), (1, 1, 3), padding=1, padding_mode="constant",
                                 padding_value=value)
        assert np.copysign(1.0, geometry.padding_value) == np.copysign(1.0, value)


def test_output_shape_product_overflow():
    with pytest.raises(ValueError, match=r"x has \d+ elements, more than 64-bit arithmetic can index"):
        pyconvx.output_shape((2**31, 2**31, 2**31), (1, 2**31, 1))
    with pytest.raises(ValueError, match=r"weight has \d+ elements"):
        pyconvx.output_shape((1, 2**32, 5), (2**32, 2**32, 1))


# ----------------------------------------------------------------------------- param_count
@pytest.mark.parametrize("args,kwargs,expected", [
    ((3, 64, 3), {}, 1792),
    ((64, 128, 3), {}, 73856),
    ((3, 32, 5), {}, 2432),
    ((3, 64, 3), dict(bias=False), 1728),
    ((3, 64, (7,)), {}, 3 * 64 * 7 + 64),
    ((3, 64, (3, 3, 3)), {}, 3 * 64 * 27 + 64),
    ((3, 64, [3, 5]), {}, 3 * 64 * 15 + 64),
    ((32, 32, 3), dict(groups=32), 32 * 9 + 32),
    ((32, 64, 3), dict(groups=32, bias=False), 64 * 9),
    ((0, 0, 3), {}, 0),
    ((np.int64(3), np.int32(64), np.int8(3)), dict(bias=np.True_), 1792),
])
def test_param_count(args, kwargs, expected):
    got = pyconvx.param_count(*args, **kwargs)
    assert got == expected and type(got) is int


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ((3, 64, ()), {}, ValueError, r"kernel_size must not be an empty tuple"),
    ((3, 64, 0), {}, ValueError, r"kernel_size must be >= 1, got 0"),
    ((3, 64, (3, 0)), {}, ValueError, r"kernel_size must be >= 1"),
    ((-1, 64, 3), {}, ValueError, r"channel counts must be >= 0, got in_channels=-1, out_channels=64"),
    ((3, 64, 3), dict(groups=2), ValueError, r"groups=2 must divide both in_channels=3 and out_channels=64"),
    ((4, 64, 3), dict(groups=0), ValueError, r"groups must be >= 1, got 0"),
    ((3.0, 64, 3), {}, TypeError, r"in_channels must be an int, got float 3.0"),
    ((3, None, 3), {}, TypeError, r"out_channels must be an int, got NoneType None"),
    ((3, 64, 3.0), {}, TypeError, r"kernel_size must be an int, got float 3.0"),
    ((3, 64, "3"), {}, TypeError, r"kernel_size must be an int or a tuple of 2 ints, got str '3'"),
    ((3, 64, 3), dict(bias=1), TypeError, r"bias must be a bool, got int 1"),
    ((3, 64, 3), dict(bias=None), TypeError, r"bias must be a bool, got NoneType None"),
    ((3, 64, 3), dict(groups=1.0), TypeError, r"groups must be an int, got float 1.0"),
])
def test_param_count_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pyconvx.param_count(*args, **kwargs)


# ----------------------------------------------------------------------------- docs
def _public_modules():
    modules = {}
    for name in getattr(pyconvx, "__all__", []):
        obj = getattr(pyconvx, name)
        module_name = getattr(obj, "__module__", None) or (obj.__name__ if inspect.ismodule(obj) else None)
        if module_name and module_name.startswith("pyconvx"):
            modules[module_name] = sys.modules.get(module_name) or importlib.import_module(module_name)
    modules["pyconvx"] = pyconvx
    return modules


def test_all_is_defined_and_resolves():
    assert hasattr(pyconvx, "__all__")
    for name in pyconvx.__all__:
        assert hasattr(pyconvx, name), name
    for name in ("conv", "conv1d", "conv2d", "conv3d", "output_size", "output_shape",
                 "param_count", "Conv1d", "Conv2d", "Conv3d", "im2col", "col2im", "show_config"):
        assert name in pyconvx.__all__, name


@pytest.mark.parametrize("module_name", sorted(_public_modules()))
def test_docstring_examples_run(module_name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = _public_modules()[module_name]
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             extraglobs={"np": np}, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest failures in {module_name}"


def test_every_public_function_has_a_runnable_example():
    """STYLE.md: every public function has a docstring with a runnable example."""
    missing = []
    for name in pyconvx.__all__:
        obj = getattr(pyconvx, name)
        if not (inspect.isfunction(obj) or inspect.isbuiltin(obj)
                or name in ("Conv1d", "Conv2d", "Conv3d")):
            continue
        doc = inspect.getdoc(obj) or ""
        if ">>>" not in doc:
            missing.append(name)
    assert not missing, f"public callables without a docstring example: {missing}"


#: The README of the source tree the tests belong to (not of the installed copy).
README = os.path.join(os.path.dirname(TESTS_DIR), "README.md")


def _readme_blocks():
    """The README's Python code blocks, each with the line it starts on."""
    text = open(README, encoding="utf-8").read()
    return [(text.count("\n", 0, match.start()) + 2, match.group(1))
            for match in re.finditer(r"```python\n(.*?)```", text, flags=re.S)]


def test_the_readme_has_python_examples():
    assert len(_readme_blocks()) >= 5


@pytest.mark.parametrize("line, block", _readme_blocks(),
                         ids=[f"line-{line}" for line, _ in _readme_blocks()])
def test_each_readme_block_runs_on_its_own(line, block, tmp_path, monkeypatch):
    """Every block runs in a fresh namespace, as a reader pasting it alone would
    run it: each imports what it uses.  Its dependencies are the test suite's."""
    monkeypatch.chdir(tmp_path)
    exec(compile(block, f"README.md, the block at line {line}", "exec"),
         {"__name__": "__readme__"})
