"""What every bad input gets: each case pins the exception type and its message.

Messages are those of pyconvx/_normalize.py and pyconvx/shapes.py, the single home
of every validation rule; conv and output_shape must share them (see test_shapes).
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconvx
from pyconvx.pooling import pool_output_size

from _problems import LAYOUTS
from _reference import assert_bitwise_equal, assert_matches_reference, conv_reference, mode_kwargs
from conftest import TESTS_DIR
from conftest import child_env as _env

MODES = r"'zeros', 'reflect', 'replicate', 'circular', 'symmetric', 'constant'"
PAD_STRINGS = r"'valid', 'same', 'full'"

# (id, x shape, weight shape, kwargs, exception, message regex)
BAD_CASES = [
    # 1. wrong rank
    ("1-x-0d", (), (2, 3, 3, 3), {}, ValueError, r"x must have shape \(N, C_in, \*spatial\) or \(C_in, \*spatial\) with 2 spatial dims, got shape \(\)"),
    ("1-x-too-few", (3,), (2, 3, 3, 3), {}, ValueError, r"x must have shape .* with 2 spatial dims, got shape \(3,\)"),
    ("1-x-too-many", (1, 1, 3, 5, 5), (2, 3, 3, 3), {}, ValueError, r"with 2 spatial dims, got shape \(1, 1, 3, 5, 5\)"),
    ("1-w-0d", (1, 3, 5, 5), (), {}, ValueError, r"weight must have shape \(C_out, C_in/groups, \*kernel\) with at least one spatial dim, got shape \(\)"),
    ("1-w-2d", (1, 3, 5, 5), (2, 3), {}, ValueError, r"at least one spatial dim, got shape \(2, 3\)"),
    # 2. channel mismatch
    ("2-cin-mismatch", (1, 4, 5, 5), (2, 3, 3, 3), {}, ValueError, r"x has C_in=4 channels but weight shape \(2, 3, 3, 3\) with groups=1 expects 3 \(= weight.shape\[1\] \* groups\)"),
    ("2-cin-mismatch-groups", (1, 4, 5, 5), (4, 1, 3, 3), dict(groups=2), ValueError, r"x has C_in=4 channels but weight shape \(4, 1, 3, 3\) with groups=2 expects 2"),
    # 3. groups
    ("3-groups-0", (1, 4, 5, 5), (4, 4, 3, 3), dict(groups=0), ValueError, r"groups must be >= 1, got 0"),
    ("3-groups-neg", (1, 4, 5, 5), (4, 4, 3, 3), dict(groups=-2), ValueError, r"groups must be >= 1, got -2"),
    ("3-groups-not-dividing-cin", (1, 4, 5, 5), (3, 1, 3, 3), dict(groups=3), ValueError, r"groups=3 must divide both C_in=4 and C_out=3 \(x shape \(1, 4, 5, 5\), weight shape \(3, 1, 3, 3\)\)"),
    ("3-groups-not-dividing-cout", (1, 4, 5, 5), (3, 2, 3, 3), dict(groups=2), ValueError, r"groups=2 must divide both C_in=4 and C_out=3"),
    ("3-groups-float", (1, 4, 5, 5), (4, 2, 3, 3), dict(groups=2.0), TypeError, r"groups must be an int, got float 2.0"),
    ("3-groups-bool", (1, 4, 5, 5), (4, 4, 3, 3), dict(groups=True), TypeError, r"groups must be an int, got bool True"),
    ("3-groups-none", (1, 4, 5, 5), (4, 4, 3, 3), dict(groups=None), TypeError, r"groups must be an int, got NoneType None"),
    ("3-groups-str", (1, 4, 5, 5), (4, 4, 3, 3), dict(groups="2"), TypeError, r"groups must be an int, got str '2'"),
    # 4. ranges
    ("4-stride-0", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=0), ValueError, r"stride must be >= 1, got 0"),
    ("4-stride-neg-entry", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=(1, -1)), ValueError, r"stride must be >= 1, got \(1, -1\)"),
    ("4-dilation-0", (1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=0), ValueError, r"dilation must be >= 1, got 0"),
    ("4-dilation-neg", (1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=(-1, 1)), ValueError, r"dilation must be >= 1, got \(-1, 1\)"),
    ("4-padding-neg", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=-1), ValueError, r"padding must be >= 0 on every side, got padding=-1"),
    ("4-padding-neg-entry", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=(1, -1)), ValueError, r"padding must be >= 0 on every side, got padding=\(1, -1\)"),
    ("4-padding-neg-low", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=((-1, 0), (0, 0))), ValueError, r"padding must be >= 0 on every side"),
    ("4-padding-neg-high", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=((0, 0), (0, -2))), ValueError, r"padding must be >= 0 on every side"),
    # 5. tuple lengths
    ("5-stride-len3", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=(1, 2, 3)), ValueError, r"stride must be an int or a tuple of 2 ints \(one per spatial dim\), got 3 entries: \(1, 2, 3\)"),
    ("5-stride-empty", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=()), ValueError, r"stride must be an int or a tuple of 2 ints \(one per spatial dim\), got 0 entries"),
    ("5-dilation-len1", (1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=[2]), ValueError, r"dilation must be an int or a tuple of 2 ints \(one per spatial dim\), got 1 entries"),
    ("5-padding-len3", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=(1, 1, 1)), ValueError, r"padding must have 2 entries \(one int or \(low, high\) pair per spatial dim\), got 3"),
    ("5-padding-empty", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=()), ValueError, r"padding must have 2 entries .*got 0"),
    ("5-padding-triple", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=((1, 2, 3), 0)), ValueError, r"padding entries must be an int or a \(low, high\) pair, got \(1, 2, 3\)"),
    ("5-padding-1d-pair-hint", (1, 1, 5), (1, 1, 3), dict(padding=(1, 2)), ValueError, r"for an asymmetric 1-d padding write \(\(1, 2\),\)"),
    # 6. wrong types where ints are needed
    ("6-stride-float", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=1.0), TypeError, r"stride must be an int, got float 1.0"),
    ("6-stride-bool", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=True), TypeError, r"stride must be an int, got bool True"),
    ("6-stride-none", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=None), TypeError, r"stride must be an int or a tuple of 2 ints, got NoneType None"),
    ("6-stride-str", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride="2"), TypeError, r"stride must be an int or a tuple of 2 ints, got str '2'"),
    ("6-stride-entry-float", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=(1, 2.5)), TypeError, r"stride must be an int, got float 2.5"),
    ("6-dilation-float", (1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=2.0), TypeError, r"dilation must be an int, got float 2.0"),
    ("6-dilation-bool-entry", (1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=(1, False)), TypeError, r"dilation must be an int, got bool False"),
    ("6-padding-float", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=1.5), TypeError, r"padding must be an int, got float 1.5"),
    ("6-padding-bool", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=True), TypeError, r"padding must be an int, got bool True"),
    ("6-padding-none", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=None), TypeError, r"padding must be an int, a tuple of ints or \(low, high\) pairs, or one of 'valid', 'same', 'full'; got NoneType None"),
    ("6-padding-pair-float", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=((1, 1.0), 0)), TypeError, r"padding must be an int, got float 1.0"),
    ("6-padding-mode-none", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding_mode=None), TypeError, rf"padding_mode must be one of {MODES}; got NoneType None"),
    # 7. overflow
    ("7-stride-2**63", (1, 1, 5, 5), (1, 1, 3, 3), dict(stride=2**63), ValueError, r"stride is too large \(9223372036854775808 >= 2\*\*62\)"),
    ("7-dilation-2**62", (1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=(1, 2**62)), ValueError, r"dilation is too large"),
    ("7-padding-2**64", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=2**64), ValueError, r"padding is too large \(>= 2\*\*62\)"),
    ("7-padding-sum-overflow", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=((2**61, 2**61), 0)), ValueError, r"the padded input has \d+ elements, more than 64-bit arithmetic can index"),
    ("9-output-too-large-2d", (1, 1, 5, 5), (1, 1, 1, 1), dict(padding=2**40), MemoryError, r"the output of shape \(1, 1, 2199023255557, 2199023255557\) needs \d+ bytes"),
    # 8. kernel too large / empty
    ("8-dilated-kernel", (1, 1, 5, 5), (1, 1, 3, 3), dict(dilation=3), ValueError, r"the dilated kernel \(7 = dilation 3 \* \(kernel 3 - 1\) \+ 1\) is larger than the padded input \(5 = 5 \+ 0 \+ 0\)"),
    ("8-kernel-gt-input", (1, 1, 2, 5), (1, 1, 3, 3), {}, ValueError, r"the dilated kernel \(3 = dilation 1 \* \(kernel 3 - 1\) \+ 1\) is larger than the padded input \(2 = 2 \+ 0 \+ 0\)"),
    ("8-kernel-gt-padded", (1, 1, 2, 5), (1, 1, 6, 3), dict(padding=((1, 2), 0)), ValueError, r"larger than the padded input \(5 = 2 \+ 1 \+ 2\)"),
    ("8-empty-kernel", (1, 1, 5, 5), (1, 1, 0, 3), {}, ValueError, r"the kernel must not be empty, got weight shape \(1, 1, 0, 3\)"),
    ("8-empty-spatial", (1, 1, 0, 5), (1, 1, 1, 1), {}, ValueError, r"the spatial input must not be empty, got x shape \(1, 1, 0, 5\)"),
    # 11. strings
    ("11-padding-typo", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding="sme"), ValueError, rf"padding must be an int, a tuple, or one of {PAD_STRINGS}; got 'sme'"),
    ("11-padding-case", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding="SAME"), ValueError, rf"one of {PAD_STRINGS}; got 'SAME'"),
    ("11-mode-typo", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=1, padding_mode="zero"), ValueError, rf"padding_mode must be one of {MODES}; got 'zero'"),
    ("11-mode-ndimage-name", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=1, padding_mode="mirror"), ValueError, rf"padding_mode must be one of {MODES}; got 'mirror'"),
    ("11-symmetric-gt-size", (1, 1, 3, 5), (1, 1, 3, 3), dict(padding=4, padding_mode="symmetric"), ValueError, r"padding_mode='symmetric' needs padding <= the input size on every side"),
    ("11-padding-value-without-constant", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=1, padding_value=2.0), ValueError, r"padding_value=2.0 is used only with padding_mode='constant' \(got padding_mode='zeros'\)"),
    ("11-padding-value-str", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=1, padding_mode="constant", padding_value="1"), TypeError, r"padding_value must be a real number, got str '1'"),
    ("11-padding-value-bool", (1, 1, 5, 5), (1, 1, 3, 3), dict(padding=1, padding_mode="constant", padding_value=True), TypeError, r"padding_value must be a real number, got bool True"),
    ("11-reflect-eq-size", (1, 1, 3, 5), (1, 1, 3, 3), dict(padding=3, padding_mode="reflect"), ValueError, r"padding_mode='reflect' needs padding < the input size on every side, got padding \(\(3, 3\), \(3, 3\)\) for spatial input \(3, 5\)"),
    ("11-reflect-high-side", (1, 1, 4, 5), (1, 1, 3, 3), dict(padding=((0, 4), 0), padding_mode="reflect"), ValueError, r"padding_mode='reflect' needs padding < the input size"),
    ("11-circular-gt-size", (1, 1, 3, 5), (1, 1, 3, 3), dict(padding=4, padding_mode="circular"), ValueError, r"padding_mode='circular' needs padding <= the input size on every side, got padding \(\(4, 4\), \(4, 4\)\) for spatial input \(3, 5\)"),
]

IDS = [case[0] for case in BAD_CASES]


@pytest.mark.parametrize("case", BAD_CASES, ids=IDS)
def test_catalogue_conv(case):
    _name, x_shape, w_shape, kwargs, exc, match = case
    x = np.zeros(x_shape)
    w = np.zeros(w_shape)
    with pytest.raises(exc, match=match):
        pyconvx.conv(x, w, **kwargs)


@pytest.mark.parametrize("case", BAD_CASES, ids=IDS)
def test_catalogue_output_shape_same_error(case):
    _name, x_shape, w_shape, kwargs, exc, match = case
    with pytest.raises(exc, match=match):
        pyconvx.output_shape(x_shape, w_shape, **kwargs)


def test_edge_values_accepted():
    """The boundaries of the refused ranges are accepted (reflect size-1, circular and
    symmetric size, any width for the rest)."""
    x = np.arange(15.0).reshape(1, 1, 3, 5)
    w = np.ones((1, 1, 3, 3))
    for mode, pad in (("reflect", 2), ("circular", 3), ("symmetric", 3), ("replicate", 9),
                      ("zeros", 9), ("constant", 9)):
        got = pyconvx.conv(x, w, padding=pad, **mode_kwargs(mode))
        assert_matches_reference(got, x, w, padding=pad, **mode_kwargs(mode))
    # dilated kernel exactly the padded input
    got = pyconvx.conv(x, w, dilation=(1, 2))
    assert got.shape == (1, 1, 1, 1)


# ----------------------------------------------------------------------------- 6. numpy ints
def test_numpy_integer_scalars_accepted(rng):
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 3))
    expected = pyconvx.conv(x, w, stride=2, padding=1, dilation=(1, 2), groups=2, threads=2)
    got = pyconvx.conv(
        x, w, stride=np.int64(2), padding=np.int32(1), dilation=(np.uint8(1), np.int16(2)),
        groups=np.int64(2), threads=np.int8(2),
    )
    assert_bitwise_equal(got, expected)
    got = pyconvx.conv(x, w, stride=np.array([2, 2]), padding=((np.int64(1), 1), np.intp(1)),
                       dilation=[1, 2], groups=2)
    assert_bitwise_equal(got, expected)


# ----------------------------------------------------------------------------- 9. memory
@pytest.mark.parametrize("ndim,padding,mode", [
    (1, 2**40, "zeros"),
    (2, (2**40, 0), "zeros"),
    (2, ((0, 2**40), (1, 1)), "replicate"),
    (3, (0, 2**40, 0), "zeros"),
])
def test_huge_padding_memory_error(ndim, padding, mode):
    x = np.ones((1, 1) + (5,) * ndim)
    w = np.ones((1, 1) + (3,) * ndim)
    with pytest.raises(MemoryError, match=r"\d+ bytes"):
        pyconvx.conv(x, w, padding=padding, padding_mode=mode)


def test_huge_broadcast_output_memory_error():
    # a zero-stride input of 2**60 logical elements: only the output would be allocated
    x = np.broadcast_to(np.float32(1), (2**20, 1, 2**20, 2**20))
    w = np.ones((1, 1, 1, 1), np.float32)
    with pytest.raises(MemoryError, match=r"bytes"):
        pyconvx.conv(x, w)
    with pytest.raises(MemoryError, match=r"bytes"):
        pyconvx.conv(x, np.ones((3, 1, 1, 1), np.float32))


def test_memory_error_in_address_space_limited_process():
    """The refusal happens before any allocation: works under a 3 GiB address-space cap."""
    code = textwrap.dedent("""
        import resource, numpy as np, pyconvx
        x = np.ones((1, 1, 5)); w = np.ones((1, 1, 3))
        pyconvx.conv(x, w, padding=1)  # warm up (threads, imports)
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
        for padding in (2**40, 2**35, 2**33):
            try:
                pyconvx.conv(x, w, padding=padding)
            except MemoryError as exc:
                assert "bytes" in str(exc), exc
            else:
                raise SystemExit("no MemoryError for padding %d" % padding)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_memory_error_leaves_out_untouched():
    x = np.ones((1, 1, 5))
    w = np.ones((1, 1, 3))
    out = np.full((1, 1, 3), 7.0)
    with pytest.raises((MemoryError, ValueError)):
        pyconvx.conv(x, w, padding=2**40, out=out)
    np.testing.assert_array_equal(out, 7.0)


# ----------------------------------------------------------------------------- 10. huge stride
@pytest.mark.parametrize("stride", [2**40, (2**40, 3), 10**12])
def test_huge_stride_tiny_output(stride, rng):
    x = rng.standard_normal((2, 3, 7, 8))
    w = rng.standard_normal((2, 3, 2, 2))
    got = pyconvx.conv(x, w, stride=stride)
    assert_matches_reference(got, x, w, stride=stride)
    assert got.shape[2] == 1


# ----------------------------------------------------------------------------- 11. wide borders
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("mode", ["zeros", "constant"])
@pytest.mark.parametrize("x_shape, w_shape, padding", [
    ((1, 64, 10), (8, 64, 3), 5000),                             # 1-d
    ((2, 64, 3, 10), (8, 64, 1, 3), ((1, 0), (5000, 5000))),     # 2-d, rows then columns
])
def test_padding_wider_than_a_box(x_shape, w_shape, padding, mode, dtype):
    """A border wider than the output boxes: the first boxes read nothing but the
    border (their band's first input column lies beyond the band).  The band
    tables were written that far past their end, corrupting the heap."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    kwargs = dict(padding=padding, **mode_kwargs(mode))
    plan = pyconvx.plan(x, w, **kwargs)
    assert plan.box[-1] + w_shape[-1] - 1 < 5000, "the first box no longer reads only border"
    got = pyconvx.conv(x, w, b, threads=1, **kwargs)
    assert_matches_reference(got, x, w, b, **kwargs)
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=2, **kwargs), got)


def test_reduction_blocks_whose_taps_read_only_the_border():
    """Huge dilation and padding: the window is over the scratch limit, so each tap
    is a reduction block of its own, and the outer taps' blocks read nothing but
    the border (2**22 samples before and after the input)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 2, 1)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    far = 5_000_000
    plan = pyconvx.plan(x, w, padding=far, dilation=far)
    assert len(plan.records) > 1 and "reduction runs in" in plan.reason
    for threads in (1, 2):
        got = pyconvx.conv1d(x, w, b, padding=far, dilation=far, threads=threads)
        # only the middle tap reads the input: x[0, 0] w[:, 0, 1] + x[0, 1] w[:, 1, 1] + b,
        # summed in the reduction's order (channel 0's taps, then channel 1's)
        expected = (np.float32(0) + x[0, 0, 0] * w[:, 0, 1]) + x[0, 1, 0] * w[:, 1, 1] + b
        np.testing.assert_allclose(got[0, :, 0], expected, rtol=1e-6)


# ----------------------------------------------------------------------------- 12. empties
def test_empties():
    got = pyconvx.conv(np.zeros((0, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32))
    assert got.shape == (0, 3, 3, 3) and got.dtype == np.float32
    got = pyconvx.conv(np.ones((2, 2, 5, 5)), np.ones((0, 2, 3, 3)))
    assert got.shape == (2, 0, 3, 3)
    got = pyconvx.conv(np.ones((2, 0, 5, 5)), np.ones((3, 0, 3, 3)), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(got, np.broadcast_to(np.array([1.0, 2.0, 3.0])[:, None, None], (2, 3, 3, 3)))
    got = pyconvx.conv(np.zeros((0, 5)), np.ones((2, 0, 3)))  # unbatched, C_in = 0
    np.testing.assert_array_equal(got, np.zeros((2, 3)))


# ----------------------------------------------------------------------------- 13/14 layouts
def test_layouts_bitwise(rng):
    x = rng.standard_normal((3, 4, 9, 10)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    expected = pyconvx.conv(x, w, padding=1)
    variants = [
        np.asfortranarray(x),
        np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2),
        np.ascontiguousarray(x[:, :, ::-1, ::-1])[:, :, ::-1, ::-1],
        np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))[:, :, 1:-1, 2:-2],
    ]
    ro = x.copy()
    ro.flags.writeable = False
    variants.append(ro)
    buf = np.empty(x.nbytes + 2, np.uint8)[2:].view(np.float32).reshape(x.shape)
    buf[...] = x
    variants.append(buf)
    for variant in variants:
        assert_bitwise_equal(pyconvx.conv(variant, w, padding=1), expected)
    # 14: byte-swapped data is converted, or refused with a TypeError naming the dtype
    for swapped, name in ((x.astype(">f4"), "x"), (w.astype(">f4"), "weight")):
        args = (swapped, w) if name == "x" else (x, swapped)
        try:
            got = pyconvx.conv(*args, padding=1)
        except TypeError as exc:
            assert f"{name} has dtype >f4" in str(exc), exc
        else:
            assert_bitwise_equal(got, expected)


def test_broadcast_bitwise(rng):
    x = np.broadcast_to(rng.standard_normal((1, 2, 1, 7)), (3, 2, 6, 7))
    w = rng.standard_normal((2, 2, 3, 3))
    assert_bitwise_equal(pyconvx.conv(x, w, padding=1), pyconvx.conv(x.copy(), w, padding=1))


# ----------------------------------------------------------------------------- 15. dtypes
@pytest.mark.parametrize("which", ["x", "weight", "bias"])
@pytest.mark.parametrize("dtype", [np.float16, np.complex64, np.complex128, object, "U3", "S2", "M8[s]", np.longdouble])
def test_unsupported_dtypes(which, dtype):
    if np.dtype(dtype) == np.float64:  # longdouble == double on some platforms
        pytest.skip("longdouble is float64 here")
    arrays = {"x": np.ones((1, 2, 5, 5)), "weight": np.ones((3, 2, 3, 3)), "bias": np.ones(3)}
    if np.dtype(dtype).kind in "USM":
        arrays[which] = np.zeros(arrays[which].shape, dtype=dtype)
    else:
        arrays[which] = arrays[which].astype(dtype)
    with pytest.raises(TypeError, match=rf"{which} has dtype .*; supported dtypes are float32 or float64"):
        pyconvx.conv(arrays["x"], arrays["weight"], arrays["bias"])


def test_not_arrays():
    w = np.ones((1, 1, 3))
    with pytest.raises(TypeError, match="x must be an array, got None"):
        pyconvx.conv(None, w)
    with pytest.raises(TypeError, match="weight must be an array, got None"):
        pyconvx.conv(np.ones((1, 1, 5)), None)
    with pytest.raises(TypeError, match="x must be an array, got str 'abc'"):
        pyconvx.conv("abc", w)
    with pytest.raises(TypeError, match="x could not be converted to an array"):
        pyconvx.conv([[[1.0, 2.0], [3.0]]], w)


def test_array_likes_accepted():
    got = pyconvx.conv(((1, 2, 3, 4, 5),), [[[1, 0, -1]]])
    np.testing.assert_array_equal(got, [[-2.0, -2.0, -2.0]])


# ----------------------------------------------------------------------------- bias
@pytest.mark.parametrize("bias_shape", [(4,), (2,), (3, 1), (1, 3), ()])
def test_bias_wrong_shape(bias_shape):
    x = np.ones((1, 2, 5, 5))
    w = np.ones((3, 2, 3, 3))
    with pytest.raises(ValueError, match=rf"bias must have shape \(C_out,\) = \(3,\), got shape {re.escape(str(bias_shape))}"):
        pyconvx.conv(x, w, np.ones(bias_shape))


# ----------------------------------------------------------------------------- 16. out=
def _conv_args():
    rng = np.random.default_rng(1)
    return rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))


@pytest.mark.parametrize("kind", ["shape", "shape-unbatched", "dtype-f32", "dtype-int", "fortran", "strided", "read-only", "transposed"])
def test_out_refused(kind):
    x, w = _conv_args()
    shape = (2, 4, 4, 4)
    if kind == "shape":
        out = np.zeros((2, 4, 4, 5))
    elif kind == "shape-unbatched":
        out = np.zeros((4, 4, 4))
    elif kind == "dtype-f32":
        out = np.zeros(shape, np.float32)
    elif kind == "dtype-int":
        out = np.zeros(shape, np.int64)
    elif kind == "fortran":
        out = np.zeros(shape, order="F")
    elif kind == "strided":
        out = np.zeros((2, 4, 4, 8))[..., ::2]
    elif kind == "transposed":
        out = np.zeros((4, 4, 4, 2)).transpose(3, 2, 1, 0)
    else:
        out = np.zeros(shape)
        out.flags.writeable = False
    before = out.copy()
    with pytest.raises(ValueError, match="out"):
        pyconvx.conv(x, w, out=out)
    assert_bitwise_equal(out, before)  # never half-written


def test_out_float32_result_refuses_float64_out():
    x, w = _conv_args()
    with pytest.raises(ValueError, match="out"):
        pyconvx.conv(x.astype(np.float32), w.astype(np.float32), out=np.zeros((2, 4, 4, 4)))


def test_out_not_an_array():
    x, w = _conv_args()
    with pytest.raises((TypeError, ValueError), match="out"):
        pyconvx.conv(x, w, out=[[0.0]])


def test_out_overlap_correct(rng):
    x = rng.standard_normal((1, 2, 6, 6))
    w = rng.standard_normal((2, 2, 3, 3))
    expected = conv_reference(x, w, padding=1)
    got = pyconvx.conv(x, w, padding=1, out=x)
    assert got is x
    np.testing.assert_allclose(x, expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- threads
@pytest.mark.parametrize("threads,exc,match", [
    (0, ValueError, r"threads must be >= 1 or None, got 0"),
    (-3, ValueError, r"threads must be >= 1 or None, got -3"),
    (1.0, TypeError, r"threads must be an int, got float 1.0"),
    (True, TypeError, r"threads must be an int, got bool True"),
    ("2", TypeError, r"threads must be an int, got str '2'"),
])
def test_threads_refused(threads, exc, match):
    with pytest.raises(exc, match=match):
        pyconvx.conv(np.ones((1, 1, 5)), np.ones((1, 1, 3)), threads=threads)


# ----------------------------------------------------------------------------- 17. inputs kept
def test_inputs_not_modified(rng):
    x = rng.standard_normal((2, 4, 7, 7)).astype(np.float32)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    saved = [a.copy() for a in (x, w, b)]
    for mode in ("zeros", "reflect", "replicate", "circular"):
        pyconvx.conv(x, w, b, padding=2, groups=4, padding_mode=mode, flip=True)
    for before, after in zip(saved, (x, w, b)):
        assert_bitwise_equal(after, before)


# ----------------------------------------------------------------------------- 18. NaN / Inf
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nonfinite_reach_only_their_receptive_field(mode, value, rng):
    x = rng.standard_normal((1, 2, 8, 9))
    x[0, 1, 0, 7] = value  # near a border: padded copies carry it too (except zeros)
    w = rng.uniform(0.5, 1.0, (2, 2, 3, 3))  # no zero weights: inf * 0 would make NaN
    got = pyconvx.conv(x, w, padding=2, padding_mode=mode)
    expected = conv_reference(x, w, padding=2, padding_mode=mode)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-10, atol=1e-10)


def test_nan_in_weight_spreads_to_its_output_channel_only(rng):
    x = rng.standard_normal((1, 2, 6, 6))
    w = rng.standard_normal((3, 2, 3, 3))
    w[1, 0, 2, 2] = np.nan
    got = pyconvx.conv(x, w, padding=1)
    assert np.isnan(got[:, 1]).all()
    assert np.isfinite(got[:, [0, 2]]).all()


# ----------------------------------------------------------------------------- 19. denormals
def test_denormals_preserved_after_import_and_call():
    code = textwrap.dedent("""
        import numpy as np
        def check(where):
            tiny32 = np.finfo(np.float32).tiny
            a = np.array([tiny32], np.float32) / np.float32(4)      # denormal result
            assert a[0] != 0, f"float32 denormal flushed to zero {where}"
            b = np.float32(1e-40) * np.float32(1.0)
            assert b != 0, f"float32 denormal input treated as zero {where}"
            t64 = np.finfo(np.float64).tiny / 2
            assert t64 != 0 and t64 * 1.0 != 0, f"float64 denormal lost {where}"
        check("before import")
        import pyconvx
        check("after import")
        x = np.random.default_rng(0).standard_normal((2, 8, 32, 32)).astype(np.float32)
        w = np.ones((8, 8, 3, 3), np.float32)
        pyconvx.conv(x, w, padding=1, threads=2)
        pyconvx.conv(x.astype(np.float64), w, padding=1, threads=1)
        check("after conv")
        # the library itself must not flush denormal data either
        xd = np.full((1, 1, 4), np.float32(1e-40))
        got = pyconvx.conv(xd.astype(np.float32), np.ones((1, 1, 1), np.float32))
        assert (got != 0).all(), "conv flushed denormal float32 data"
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=_env())
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


# ----------------------------------------------------------------------------- 20. batches/threads
def test_batch_rows_and_threads(rng):
    x = rng.standard_normal((7, 3, 13, 11)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    full = pyconvx.conv(x, w, padding=1, threads=1)
    for threads in (1, 2, 3, 8):
        assert_bitwise_equal(pyconvx.conv(x, w, padding=1, threads=threads), full)
    for i in range(7):
        assert_bitwise_equal(pyconvx.conv(x[i:i + 1], w, padding=1, threads=2), full[i:i + 1])


@pytest.mark.parametrize("threads", [
    4, 64,
    1024,
])
def test_large_thread_counts_same_bits(threads, rng):
    x = rng.standard_normal((1, 64, 56, 56)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    expected = pyconvx.conv(x, w, padding=1, threads=1)
    assert_bitwise_equal(pyconvx.conv(x, w, padding=1, threads=threads), expected)


@pytest.mark.parametrize("name", ["stride", "dilation"])
def test_zero_d_integer_array_parameter(name):
    x = np.ones((1, 1, 7, 7))
    w = np.ones((1, 1, 3, 3))
    try:
        got = pyconvx.conv(x, w, **{name: np.array(2)})
    except TypeError as exc:
        assert name in str(exc), exc
    else:
        assert_bitwise_equal(got, pyconvx.conv(x, w, **{name: 2}))


HEAP_CODE = """
import sys, gc
sys.path.insert(0, {tests!r})
import numpy as np, pyconvx
from _reference import assert_matches_reference
h, w_, dtype, threads = {h}, {w}, np.dtype({dtype!r}), {threads}
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 1, h, w_)).astype(dtype)
k = rng.standard_normal((1, 1, 3, 3)).astype(dtype)
x0 = x.copy()
guard = 4096
buf = np.full(h * w_ + 2 * guard, 7.0, dtype)
out = buf[guard:guard + h * w_].reshape(1, 1, h, w_)
pyconvx.conv(x, k, padding=1, out=out, threads=threads)
assert (buf[:guard] == 7).all() and (buf[guard + h * w_:] == 7).all(), "wrote outside out"
assert (x == x0).all(), "input overwritten"
assert_matches_reference(out, x, k, padding=1)
got = pyconvx.conv(x, k, padding=1, threads=threads)
assert (got == out).all()
del got, out, buf
gc.collect()
print("ok")
"""


@pytest.mark.parametrize("h,w,dtype,threads", [
    (500, 900, "float64", 1),
    (1000, 1000, "float64", 2),
    (700, 900, "float64", 1),
    (600, 900, "float64", 2),
    (700, 800, "float64", 1),
    (1400, 1800, "float32", 1),
])
def test_large_one_channel_image_no_memory_corruption(h, w, dtype, threads):
    """Never a crash: run in a child so a corrupting core cannot kill the suite."""
    code = HEAP_CODE.format(tests=TESTS_DIR, h=h, w=w,
                            dtype=dtype, threads=threads)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=_env())
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        f"rc={result.returncode}: {result.stderr[-1500:]}")


DEPTHWISE_CODE = """
import sys
sys.path.insert(0, {tests!r})
import numpy as np, pyconvx
from _reference import assert_matches_reference
rng = np.random.default_rng(0)
x = rng.standard_normal((1, {c}, {h}, {w})).astype({dtype!r})
k = rng.standard_normal(({c}, 1) + {kernel!r}).astype({dtype!r})
x0 = x.copy()
got = pyconvx.conv(x, k, padding={pad!r}, groups={c}, padding_mode={mode!r}, threads={threads})
assert (x == x0).all(), "input overwritten"
assert_matches_reference(got, x, k, padding={pad!r}, groups={c}, padding_mode={mode!r})
print("ok")
"""

@pytest.mark.parametrize("c,h,w,kernel,pad,mode,dtype,threads", [
    (2, 300, 310, (3, 3), 1, "reflect", "float64", 2),
    (2, 958, 1030, (3, 3), ((0, 1), (3, 2)), "replicate", "float64", 3),
    (3, 702, 705, (6, 3), ((3, 3), (1, 1)), "zeros", "float64", 1),
    (3, 770, 1079, (3, 4), ((1, 3), (0, 1)), "reflect", "float64", 2),
])
def test_large_depthwise_no_memory_corruption(c, h, w, kernel, pad, mode, dtype, threads):
    code = DEPTHWISE_CODE.format(tests=TESTS_DIR, c=c, h=h, w=w,
                                 kernel=kernel, pad=pad, mode=mode, dtype=dtype, threads=threads)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=_env())
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        f"rc={result.returncode}: {result.stderr[-1500:]}")


def test_large_weights_are_not_refused(rng):
    """75 MB of float64 weights (1024 -> 1024, 3x3) fit easily: no MemoryError."""
    x = rng.standard_normal((1, 1024, 4, 4))
    w = rng.standard_normal((1024, 1024, 3, 3))
    got = pyconvx.conv(x, w, padding=1)
    assert_matches_reference(got, x, w, padding=1)


@pytest.mark.parametrize("level", [
    "generic", "avx2",
    "avx512",
])
def test_large_one_channel_image_per_simd_level(level):
    from conftest import simd_levels

    if level not in simd_levels():
        pytest.skip(f"{level} not available here")
    code = HEAP_CODE.format(tests=TESTS_DIR, h=700, w=900,
                            dtype="float64", threads=1)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=_env(PYCONVX_SIMD=level))
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        f"rc={result.returncode}: {result.stderr[-1500:]}")


GUARDED_POINTWISE_CASES = [
    # (x shape, weight shape, threads): pointwise layers read x in place; the last,
    # partial output box of each must stop at the end of x
    ((1, 256, 45, 45), (4, 256, 1, 1), 2),
    ((1, 256, 45, 45), (64, 256, 1, 1), 2),
    ((1, 512, 81, 80), (1, 512, 1, 1), 1),
    ((1, 512, 81, 80), (1, 512, 1, 1), 2),
    ((1, 184, 74, 74), (8, 184, 1, 1), 2),
    ((1, 184, 74, 74), (24, 184, 1, 1), 1),
    ((2, 96, 13, 17, 19), (5, 96, 1, 1, 1), 2),
    ((1, 300, 61, 7), (3, 300, 1, 1), 2),
]


def test_pointwise_reads_stop_at_the_end_of_x():
    """x ends right before an unmapped page: a read past its end kills the child."""
    script = textwrap.dedent(
        f"""
        import numpy as np, pyconvx
        from _guarded import guarded_array
        cases = {GUARDED_POINTWISE_CASES!r}
        for x_shape, w_shape, threads in cases:
            for dtype in (np.float32, np.float64):
                x = guarded_array(x_shape, dtype, fill=1)
                w = np.full(w_shape, 0.5, dtype=dtype)
                for algorithm in ("auto", "gemm", "row"):
                    y = pyconvx.conv(x, w, threads=threads, algorithm=algorithm)
                    assert (y == 0.5 * x_shape[1]).all(), (x_shape, w_shape, algorithm)
        print("ok")
        """)
    tests_dir = TESTS_DIR
    env = _env(PYTHONPATH=os.pathsep.join([os.environ["PYTHONPATH"], tests_dir]))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        f"child exited with {result.returncode}: {result.stderr[-2000:]}")


# ----------------------------------------------------------------------------- 21. misaligned
#: A float view of a uint8 buffer at offset 1, holding an array's values.
_misaligned = LAYOUTS["unaligned"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("which", ["x", "weight", "bias"])
@pytest.mark.parametrize("path", ["auto", "gemm", "row", "depthwise", "fft"])
def test_misaligned_operands_give_the_bits_of_aligned_copies(which, dtype, path, rng):
    groups = 4 if path == "depthwise" else 1
    arrays = {"x": rng.standard_normal((2, 4, 9, 10)).astype(dtype),
              "weight": rng.standard_normal((4, 4 // groups, 3, 3)).astype(dtype),
              "bias": rng.standard_normal(4).astype(dtype)}
    expected = pyconvx.conv(arrays["x"], arrays["weight"], arrays["bias"], padding=1,
                            groups=groups, algorithm=path)
    arrays[which] = _misaligned(arrays[which])
    got = pyconvx.conv(arrays["x"], arrays["weight"], arrays["bias"], padding=1, groups=groups,
                       algorithm=path)
    assert_bitwise_equal(got, expected)


def test_misaligned_out_is_refused_naming_out(rng):
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    out = _misaligned(np.full((1, 3, 6, 6), 7, np.float32))
    with pytest.raises(ValueError, match="out must be aligned"):
        pyconvx.conv(x, w, padding=1, out=out)
    assert (out == 7).all()   # nothing written


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_misaligned_pooling_and_unfold_inputs_give_the_bits_of_aligned_copies(dtype, rng):
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    calls = [
        lambda a: pyconvx.max_pool2d(a, 3, 2, 1, return_indices=True)[0],
        lambda a: pyconvx.max_pool2d(a, 3, 2, 1, return_indices=True)[1],
        lambda a: pyconvx.avg_pool2d(a, (2, 3), 1, 1, divisor_override=5),
        lambda a: pyconvx.max_pool2d_backward(a[..., :5, :4], x, 3, 2, 1),
        lambda a: pyconvx.max_pool2d_backward(np.ones((2, 3, 5, 4), dtype), a, 3, 2, 1),
        lambda a: pyconvx.avg_pool2d_backward(a[..., :5, :4], x.shape, 3, 2, 1),
        lambda a: pyconvx.im2col(a, 3, stride=(1, 2), padding=1),
        lambda a: pyconvx.col2im(a.reshape(2, 12, 18), (4, 8), (2, 3)),
        lambda a: pyconvx.max_pool2d(np.moveaxis(a, 1, -1), 2, data_format="channels_last"),
    ]
    for call in calls:
        assert_bitwise_equal(call(_misaligned(x)), call(x))
    out, indices = pyconvx.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert_bitwise_equal(pyconvx.max_unpool2d(_misaligned(out), _misaligned(indices), 3, 2, 1,
                                              (9, 8)),
                         pyconvx.max_unpool2d(out, indices, 3, 2, 1, (9, 8)))


# ----------------------------------------------------------------------------- 22. huge integers
HUGE_INTEGERS = (2**31, 2**62, 2**63, -2**63)

#: What a public call may raise for any argument values.
DOCUMENTED_ERRORS = (TypeError, ValueError, MemoryError)

_x4 = np.ones((1, 2, 5, 5))
_w4 = np.ones((2, 2, 3, 3))
_cols = np.ones((1, 18, 9))

#: One valid call per public function (and per padding form): each int in it,
#: also inside tuples and shapes, is replaced by each of HUGE_INTEGERS.
PROBE_CALLS = {
    "conv": (pyconvx.conv, (_x4, _w4), dict(stride=1, padding=0, dilation=1, groups=1,
                                           threads=1)),
    "conv-pairs": (pyconvx.conv, (_x4, _w4), dict(stride=(1, 1), padding=((0, 0), (0, 0)),
                                                 dilation=(1, 1))),
    "conv-same": (pyconvx.conv, (_x4, _w4), dict(stride=1, padding="same", dilation=1)),
    "conv-full": (pyconvx.conv, (_x4, _w4), dict(stride=1, padding="full", dilation=1)),
    "conv-fft": (pyconvx.conv, (_x4, _w4), dict(stride=1, padding=1, dilation=1,
                                               algorithm="fft", threads=1)),
    "conv1d": (pyconvx.conv1d, (np.ones((1, 1, 7)), np.ones((1, 1, 3))),
               dict(stride=1, padding=1, dilation=1, groups=1, threads=1)),
    "conv3d": (pyconvx.conv3d, (np.ones((1, 1, 4, 4, 4)), np.ones((1, 1, 2, 2, 2))),
               dict(stride=1, padding=1, dilation=1, threads=1)),
    "output_shape": (pyconvx.output_shape, ((1, 2, 5, 5), (2, 2, 3, 3)),
                     dict(stride=1, padding=0, dilation=1, groups=1)),
    "output_shape-same": (pyconvx.output_shape, ((1, 2, 5, 5), (2, 2, 3, 3)),
                          dict(stride=1, padding="same", dilation=1, groups=1)),
    "output_size": (pyconvx.output_size, (5, 3), dict(stride=1, padding=0, dilation=1)),
    "output_size-same": (pyconvx.output_size, (5, 3), dict(stride=1, padding="same",
                                                           dilation=1)),
    "param_count": (pyconvx.param_count, (2, 2, 3), dict(groups=1)),
    "plan": (pyconvx.plan, ((1, 2, 5, 5), (2, 2, 3, 3)),
             dict(stride=1, padding=0, dilation=1, groups=1, threads=1)),
    "plan-same": (pyconvx.plan, (_x4, _w4), dict(stride=1, padding="same", dilation=1,
                                                threads=1)),
    "plan-fft": (pyconvx.plan, ((1, 2, 5, 5), (2, 2, 3, 3)),
                 dict(stride=1, padding=1, dilation=1, algorithm="fft", threads=1)),
    "explain": (pyconvx.explain, (_x4, _w4, (0, 0, 1, 1)),
                dict(stride=1, padding=0, dilation=1, groups=1, threads=1)),
    "Conv2d": (pyconvx.Conv2d, (2, 2, 3), dict(stride=1, padding=0, dilation=1, groups=1,
                                              seed=0)),
    "Conv2d-same": (pyconvx.Conv2d, (2, 2, 3), dict(stride=1, padding="same", dilation=1)),
    "im2col": (pyconvx.im2col, (_x4, 3), dict(stride=1, padding=0, dilation=1, threads=1)),
    "im2col-same": (pyconvx.im2col, (_x4, 3), dict(stride=1, padding="same", dilation=1)),
    "col2im": (pyconvx.col2im, (_cols, (5, 5), 3), dict(stride=1, padding=0, dilation=1,
                                                         threads=1)),
    "col2im-same": (pyconvx.col2im, (np.ones((1, 18, 25)), (5, 5), 3),
                    dict(stride=1, padding="same", dilation=1)),
    "max_pool2d": (pyconvx.max_pool2d, (_x4, 2), dict(stride=None, padding=0, dilation=1,
                                                       threads=1)),
    "max_pool2d-tuples": (pyconvx.max_pool2d, (_x4, (3, 2)),
                          dict(stride=(2, 1), padding=(1, 1), dilation=(1, 2))),
    "avg_pool2d": (pyconvx.avg_pool2d, (_x4, (2, 3)), dict(stride=(1, 2), padding=(1, 1),
                                                            divisor_override=3, threads=1)),
    "max_unpool2d": (pyconvx.max_unpool2d, (np.ones((1, 2, 2)), np.zeros((1, 2, 2), int), 2),
                     dict(stride=(2, 2), padding=0, output_size=(4, 5), threads=1)),
    "max_pool2d_backward": (pyconvx.max_pool2d_backward, (np.ones((1, 2, 2, 2)), _x4, 2),
                            dict(stride=2, padding=0, dilation=1, threads=1)),
    "avg_pool2d_backward": (pyconvx.avg_pool2d_backward, (np.ones((1, 2, 2, 2)), (1, 2, 5, 5),
                                                          (2, 2)),
                            dict(stride=2, padding=(0, 1), divisor_override=2, threads=1)),
    "filter2d": (pyconvx.filter2d, (np.ones((6, 6)), np.ones((3, 3))), {}),
    "correlate": (pyconvx.correlate, (np.ones((6, 6)), np.ones((3, 3))), {}),
    "pool_output_size": (pool_output_size, (5, 2, 2, 1), dict(dilation=1)),
    "box_blur": (pyconvx.kernels.box_blur, (), dict(size=3)),
    "gaussian": (pyconvx.kernels.gaussian, (), dict(size=3)),
}


def _integer_places(value, path=()):
    """Paths to every int inside ``value`` (tuples and lists looked into)."""
    if isinstance(value, (bool, np.bool_)):
        return
    if isinstance(value, int):
        yield path
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            yield from _integer_places(item, path + (index,))


def _replaced(value, path, new):
    if not path:
        return new
    items = list(value)
    items[path[0]] = _replaced(items[path[0]], path[1:], new)
    return tuple(items)


def _probe_variants(args, kwargs):
    """(where, args, kwargs) with one int replaced by a huge one, for every int."""
    for index, arg in enumerate(args):
        for path in _integer_places(arg):
            for new in HUGE_INTEGERS:
                changed = list(args)
                changed[index] = _replaced(arg, path, new)
                yield (index,) + path, new, tuple(changed), kwargs
    for name, value in kwargs.items():
        paths = list(_integer_places(value)) + ([()] if value is None or isinstance(
            value, (tuple, str)) else [])
        for path in paths:
            for new in HUGE_INTEGERS:
                yield (name,) + path, new, args, {**kwargs, name: _replaced(value, path, new)}


@pytest.mark.parametrize("name", sorted(PROBE_CALLS))
def test_huge_integers_raise_only_documented_errors(name):
    """Every integer argument (and every int inside a tuple or shape) at 2**31,
    2**62, 2**63 and -2**63: the call returns or raises TypeError, ValueError or
    MemoryError; never OverflowError or another type, never a crash."""
    function, args, kwargs = PROBE_CALLS[name]
    undocumented = []
    for where, new, changed_args, changed_kwargs in _probe_variants(args, kwargs):
        try:
            function(*changed_args, **changed_kwargs)
        except DOCUMENTED_ERRORS:
            pass
        except Exception as exc:
            undocumented.append(f"{where} = {new}: {type(exc).__name__}: {exc}")
    assert not undocumented, "\n".join(undocumented)


HYPOTHESIS_CALLS = ("conv", "conv-same", "im2col", "col2im", "max_pool2d-tuples", "avg_pool2d",
                    "max_unpool2d", "avg_pool2d_backward", "output_shape-same", "plan")


@settings(max_examples=150)
@given(data=st.data())
def test_random_integer_arguments_raise_only_documented_errors(data):
    """Random ints, small or beyond 32 and 64 bits, in random places at once."""
    function, args, kwargs = PROBE_CALLS[data.draw(st.sampled_from(HYPOTHESIS_CALLS))]
    places = [(where, new) for where, new, _, _ in _probe_variants(args, kwargs)
              if new == HUGE_INTEGERS[0]]
    chosen = data.draw(st.lists(st.sampled_from(places), min_size=1, max_size=4,
                                unique_by=lambda place: place[0][0]))
    values = st.one_of(st.integers(-3, 9), st.integers(2**30, 2**70),
                       st.integers(-(2**70), -(2**30)))
    for where, _ in chosen:
        new = data.draw(values)
        if isinstance(where[0], int):
            args = list(args)
            args[where[0]] = _replaced(args[where[0]], where[1:], new)
            args = tuple(args)
        else:
            kwargs = {**kwargs, where[0]: _replaced(kwargs[where[0]], where[1:], new)}
    try:
        function(*args, **kwargs)
    except DOCUMENTED_ERRORS:
        pass


# ----------------------------------------------------------------------------- 23. threads
def test_thread_counts_are_capped_under_an_address_space_limit():
    """threads=3000 under a 4 GiB address-space limit: the count is capped
    (results do not depend on it), so the OpenMP runtime never fails to start
    a thread and abort the interpreter."""
    code = textwrap.dedent("""
        import resource, numpy as np, pyconvx
        from pyconvx._normalize import cap_threads
        x = np.ones((2, 8, 40, 40), np.float32); w = np.ones((8, 8, 3, 3), np.float32)
        expected = pyconvx.conv(x, w, padding=1, threads=2)
        # enough work units for hundreds of threads, were they not capped
        big_x = np.ones((16, 64, 32, 32), np.float32); big_w = np.ones((64, 64, 3, 3), np.float32)
        big = pyconvx.conv(big_x, big_w, padding=1, threads=2)
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
        assert cap_threads(3000) < 3000
        assert (pyconvx.conv(big_x, big_w, padding=1, threads=3000) == big).all()
        for threads in (3000, 2**31 - 1, 2**31, 2**63):
            assert (pyconvx.conv(x, w, padding=1, threads=threads) == expected).all()
            pyconvx.im2col(x, 3, threads=threads)
            pyconvx.col2im(pyconvx.im2col(x, 3), (40, 40), 3, threads=threads)
            pyconvx.max_pool2d(x, 3, 1, 1, return_indices=True, threads=threads)
            pyconvx.avg_pool2d_backward(np.ones((2, 8, 40, 40)), x.shape, 3, 1, 1,
                                        threads=threads)
            assert pyconvx.plan(x, w, threads=threads).threads <= cap_threads(threads)
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=_env())
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        f"rc={result.returncode}: {result.stderr[-3000:]}")


def test_cap_threads_rule(monkeypatch):
    from pyconvx import _normalize

    monkeypatch.setattr(_normalize, "_usable_cores", lambda: 3)
    monkeypatch.setattr(_normalize, "_threads_the_address_space_allows", lambda: 10**6)
    assert [_normalize.cap_threads(n) for n in (1, 8, 9, 12, 13, 3000, 2**200)] == [
        1, 8, 9, 12, 12, 12, 12]
    monkeypatch.setattr(_normalize, "_threads_the_address_space_allows", lambda: 2)
    assert [_normalize.cap_threads(n) for n in (5, 8, 9, 3000)] == [5, 8, 8, 8]
    assert pyconvx.plan((1, 1, 5, 5), (1, 1, 3, 3), threads=2**31).threads <= 8


# ----------------------------------------------------------------------------- 24. FFT memory
FFT_MEMORY_CODE = """
import json, numpy as np, pyconvx

def resident(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith(field))

x_shape, w_shape, dtype, kwargs = {problem!r}
x = np.ones(x_shape, dtype); w = np.ones(w_shape, dtype)
estimate = pyconvx.plan(x, w, algorithm="fft", **kwargs).workspace_bytes
out = np.ones(pyconvx.output_shape(x_shape, w_shape, **kwargs), dtype)
pyconvx.conv(np.ones((1, 1, 9, 9)), np.ones((1, 1, 3, 3)), algorithm="fft")  # warm up
pyconvx.conv(np.ones((1, 1, 9)), np.ones((1, 1, 3)), algorithm="fft")
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")   # the peak resident set starts again from the current one
before = resident("VmRSS:")
pyconvx.conv(x, w, algorithm="fft", out=out, **kwargs)
print(json.dumps([estimate, resident("VmHWM:") - before]))
"""


@pytest.mark.parametrize("problem", [
    ((8, 64, 56, 56), (64, 64, 3, 3), "float32", {"padding": 1}),
    ((8, 64, 56, 56), (64, 64, 3, 3), "float64", {"padding": 1}),
    ((2, 1, 1000000), (4, 1, 257), "float64", {}),                 # a length with a large prime
    ((4, 16, 256, 256), (16, 16, 15, 15), "float32", {"padding": 7}),
    ((2, 8, 20, 20, 20), (8, 8, 5, 5, 5), "float64", {"padding": 2}),
])
def test_fft_workspace_estimate_bounds_the_measured_peak(problem):
    """Plan.workspace_bytes of the FFT path is at least the peak memory the call
    adds (resident set, measured in a fresh process) and not far above it."""
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak resident set")
    result = subprocess.run([sys.executable, "-c", FFT_MEMORY_CODE.format(problem=problem)],
                            capture_output=True, text=True, timeout=300, env=_env())
    assert result.returncode == 0, result.stderr[-3000:]
    estimate, peak = json.loads(result.stdout)
    assert peak <= estimate <= 4 * peak + 32 * 2**20, (estimate, peak)


def test_fft_workspace_is_checked_before_anything_is_allocated():
    x = np.broadcast_to(np.float32(1), (1, 1, 2**18, 2**18))   # no memory behind it
    w = np.ones((1, 1, 3, 3), np.float32)
    estimate = pyconvx.plan(x, w, stride=2**17, algorithm="fft").workspace_bytes
    with pytest.raises(MemoryError, match=rf"the FFT path's workspace needs {estimate} bytes"):
        pyconvx.conv(x, w, stride=2**17, algorithm="fft")


# ----------------------------------------------------------------------------- 25. Ctrl-C
def _interrupted(call, frame_file, frame_name=""):
    """Run ``call`` while another thread sends SIGINT every 5 ms from 100 ms on;
    return the KeyboardInterrupt raised from inside the compiled ``frame_file``
    (a function named ``frame_name``, when given).

    A call that ends before the first signal (a fast or quiet machine) is run
    again, and an interrupt that landed in the Python code around the compiled
    part is tried again, a few times: what is tested is that the compiled part
    answers, not the timing of one run.  The first SIGINT handled raises and
    stops the bell; later ones are ignored (one sent while the call unwinds
    would otherwise be raised wherever the test then is).
    """
    seen = []
    for _ in range(5):
        done = threading.Event()

        def handler(signum, frame, done=done):
            if not done.is_set():
                done.set()
                raise KeyboardInterrupt

        def ring(done=done):
            if done.wait(0.1):
                return
            while not done.wait(0.005):
                os.kill(os.getpid(), signal.SIGINT)

        previous = signal.signal(signal.SIGINT, handler)
        bell = threading.Thread(target=ring)
        bell.start()
        exc = None
        try:
            deadline = time.monotonic() + 20
            while exc is None and time.monotonic() < deadline:
                try:
                    call()
                except KeyboardInterrupt as raised:
                    exc = raised
        finally:
            done.set()
            bell.join()
            time.sleep(0.02)   # a signal sent while stopping goes off here (ignored)
            signal.signal(signal.SIGINT, previous)
        if exc is None:
            raise AssertionError("20 s of calls and no KeyboardInterrupt")
        frames = traceback.extract_tb(exc.__traceback__)
        if any(frame.filename.endswith(frame_file) and frame.name.endswith(frame_name)
               for frame in frames):
            return exc
        seen.append(traceback.format_tb(exc.__traceback__))
    raise AssertionError(f"no interrupt came from {frame_file}; tracebacks: {seen}")


#: Calls of many small chunks (the chunk sizes set small), seconds of work
#: each: (engine module, its chunk-size constant, the function, its arguments).
INTERRUPTIBLE_CALLS = {
    "max_pool2d": ("pooling", "CHUNK_TAPS", pyconvx.max_pool2d, lambda plane: (plane, 101, 1, 50)),
    "avg_pool2d": ("pooling", "CHUNK_TAPS", pyconvx.avg_pool2d, lambda plane: (plane, 101, 1, 50)),
    "max_pool2d_backward": ("pooling", "CHUNK_TAPS", pyconvx.max_pool2d_backward,
                            lambda plane: (plane, plane, 101, 1, 50)),
    "avg_pool2d_backward": ("pooling", "CHUNK_TAPS", pyconvx.avg_pool2d_backward,
                            lambda plane: (plane, plane.shape, 101, 1, 50)),
    "im2col": ("unfold", "CHUNK_VALUES", pyconvx.im2col, lambda plane: (plane, 15, 1, 7)),
    "col2im": ("unfold", "CHUNK_VALUES", pyconvx.col2im,
               lambda plane: (np.ones((1, 2 * 225, 400 * 400), np.float32), (400, 400), 15, 1,
                              7)),
}


@pytest.mark.parametrize("name", sorted(INTERRUPTIBLE_CALLS))
def test_ctrl_c_is_raised_inside_the_engine(name, monkeypatch):
    """Repeated SIGINTs during a call: the KeyboardInterrupt comes out of the
    compiled walk between two chunks (its traceback holds the engine's .pyx
    file), not from the Python code after the call."""
    from pyconvx import _engine

    module, constant, function, arguments = INTERRUPTIBLE_CALLS[name]
    monkeypatch.setattr(getattr(_engine, module), constant, 1024)
    args = arguments(np.ones((1, 2, 400, 400), np.float32))
    _interrupted(lambda: function(*args, threads=1), f"{module}.pyx")


#: A convolution whose weight gradient takes seconds on one thread while its
#: input gradient takes milliseconds: a wide zero border (the weight gradient
#: sums over every output position, the input gradient only reaches the 8x8
#: input), so the signals, from 100 ms on, reach the weight gradient.
WIDE_BORDER = 250


def _layer_backward(x, weight, grad_output):
    layer = pyconvx.Conv2d(16, 16, 15, padding=WIDE_BORDER, seed=0)
    layer(x)

    def call():
        layer.zero_grad()
        try:
            layer.backward(grad_output, threads=1)
        except KeyboardInterrupt:   # stopped, it stores no gradient
            assert layer.grad_weight is None and layer.grad_bias is None
            raise

    return call


#: The public calls that compute a weight gradient: each takes (x, weight,
#: grad_output) and returns the call to interrupt.
WEIGHT_GRADIENT_CALLS = {
    "conv_grad_weight": lambda x, weight, grad_output: lambda: pyconvx.conv_grad_weight(
        x, weight.shape, grad_output, padding=WIDE_BORDER, threads=1),
    "conv_backward": lambda x, weight, grad_output: lambda: pyconvx.conv_backward(
        x, weight, grad_output, padding=WIDE_BORDER, needs=("weight",), threads=1),
    "layer_backward": _layer_backward,
}


@pytest.mark.parametrize("name", sorted(WEIGHT_GRADIENT_CALLS))
def test_ctrl_c_is_raised_inside_the_weight_gradient(name, monkeypatch):
    """Repeated SIGINTs during a weight gradient of seconds: the KeyboardInterrupt
    comes out of the compiled weight_grad between two runs of steps (its traceback
    holds backward.pyx's weight_grad), not from the Python code after the call."""
    from pyconvx._engine import plan_backward

    monkeypatch.setattr(plan_backward, "WEIGHT_GRAD_CHECK_FLOPS", 1)   # one item per step
    monkeypatch.setattr(plan_backward, "_plan_cache", {})   # plan anew with that size
    x = np.ones((1, 16, 8, 8), np.float32)
    weight = np.ones((16, 16, 15, 15), np.float32)
    grad_output = np.ones(pyconvx.output_shape(x.shape, weight.shape, padding=WIDE_BORDER),
                          np.float32)
    call = WEIGHT_GRADIENT_CALLS[name](x, weight, grad_output)
    _interrupted(call, "backward.pyx", "weight_grad")


def test_the_weight_gradient_refuses_empty_steps_and_blocks():
    """A plan whose runs, steps or blocks hold nothing would never finish: a ValueError."""
    import dataclasses

    from pyconvx._engine import backward
    from pyconvx._engine.plan_backward import make_weight_grad_plan
    from pyconvx.shapes import describe_conv

    x = np.ones((2, 4, 10))
    plan = make_weight_grad_plan(describe_conv(x.shape, (3, 4, 3)), np.dtype(np.float64),
                                 threads=1, x_strides=[40, 10, 1])
    for fields in ({"steps_per_check": 0}, {"step_items": 0}, {"block_units": 0}):
        bad = dataclasses.replace(plan, fields={**plan.fields, **fields})
        with pytest.raises(ValueError, match="the plan's steps do not fit its work units"):
            backward.weight_grad(x, np.ones((2, 3, 8)), np.empty((3, 4, 3)),
                                 plan.band.records[0], bad, False)


# ----------------------------------------------------------------------------- fuzz findings
def test_zero_flop_problems_plan_without_overflow():
    """No input channels: a plan of 2**40 work units and zero FLOPs (it overflowed int64)."""
    p = pyconvx.plan((2**40, 0, 1, 1), (1, 0, 1, 1), dilation=(1, 2))
    assert p.flops == 0
    x = np.broadcast_to(np.float32(1), (1, 0, 2**26))
    got = pyconvx.conv(x, np.ones((1, 0, 1), np.float32), np.array([2.5], np.float32))
    assert got.shape == (1, 1, 2**26) and (got == 2.5).all()
    # a 1x1x1 kernel over 2**31 - 1 planes without channels (its box was kept whole, as
    # for reading x in place: an empty list of reduction blocks, then IndexError)
    p = pyconvx.plan((0, 2**31 - 1, 1, 1), (1, 0, 1, 1, 1), dilation=(1, 1, 2))
    assert p.flops == 0 and p.box[0] < 2**31 - 1
    x = np.broadcast_to(np.float32(0), (0, 2**22, 1, 1))
    got = pyconvx.conv(x, np.ones((1, 0, 1, 1, 1), np.float32), np.array([2.5], np.float32))
    assert got.shape == (1, 2**22, 1, 1) and (got == 2.5).all()


def test_absurd_kernels_are_refused_fast():
    """A 2**36-tap kernel (zero-stride views) is a MemoryError before any planning loop."""
    x = np.broadcast_to(np.float32(1), (1, 1, 2**36))
    with pytest.raises(MemoryError, match="needs"):
        pyconvx.conv(x, x)
    with pytest.raises(MemoryError, match="needs"):
        pyconvx.convolve(x[0, 0], x[0, 0], mode="valid", method="direct")


def test_fill_values_outside_an_integer_output_are_refused_like_scipy():
    image = np.arange(9, dtype=np.uint8).reshape(3, 3)
    for fill in (-2, 300):
        with pytest.raises(ValueError, match=rf"fillvalue={fill} cannot be cast to the output "
                                             r"dtype uint8"):
            pyconvx.convolve2d(image, image, fillvalue=fill)
    assert pyconvx.correlate2d(image, image, fillvalue=1.7).dtype == np.uint8
    for boundary in ("wrap", "symm"):   # they fill with nothing: SciPy computes them
        got = pyconvx.correlate2d(image, image, boundary=boundary, fillvalue=-2)
        assert got.dtype == np.uint8


def test_pointwise_rows_too_long_for_an_in_place_box_are_computed():
    """A 1x1 layer over rows of 2**22 samples: in place, a box keeps whole rows and
    its index table one entry per column, so such rows take the band (they were a
    MemoryError); the values are the two-term sums."""
    x = np.random.default_rng(0).standard_normal((1, 2, 2**22)).astype(np.float32)
    w = np.array([[[2.0], [3.0]]], np.float32)
    p = pyconvx.plan(x, w)
    assert p.workspace_bytes < 64 * 2**20 and p.box[0] < x.shape[-1]
    y = pyconvx.conv(x, w)
    expected = 2.0 * x[0, 0].astype(np.float64) + 3.0 * x[0, 1]
    assert np.abs(y[0, 0] - expected).max() <= 2 * np.finfo(np.float32).eps * np.abs(
        expected).max()
    assert pyconvx.plan((1, 1, 2**28), (1, 1, 1)).workspace_bytes < 64 * 2**20


def test_problems_without_input_channels_plan_on_long_rows():
    assert pyconvx.plan((1, 0, 2**26), (1, 0, 1)).flops == 0
    assert pyconvx.plan((0, 2**31 - 1), (1, 0, 1)).work_units >= 1


@pytest.mark.parametrize("forced", ["depthwise", "rowblock", "winograd"])
def test_a_forced_algorithm_is_refused_for_an_empty_batch_too(forced):
    """conv refuses what plan() refuses, whatever the batch holds."""
    x = np.zeros((0, 1, 1, 1, 2), np.float32)
    w = np.ones((1, 1, 1, 1, 2), np.float32)
    with pytest.raises(ValueError, match=f"algorithm='{forced}' cannot take this problem"):
        pyconvx.plan(x, w, algorithm=forced)
    with pytest.raises(ValueError, match=f"algorithm='{forced}' cannot take this problem"):
        pyconvx.conv(x, w, algorithm=forced)
    with pytest.raises(ValueError, match=f"algorithm='{forced}' cannot take this problem"):
        pyconvx.conv(np.zeros((2, 0, 1, 1, 2)), np.ones((1, 0, 1, 1, 2)), algorithm=forced)
