"""pyconvx.conv against the float64 reference: grid, hypothesis, layouts, dtypes, out=."""

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pyconvx
from _reference import (
    PADDING_MODES,
    assert_bitwise_equal,
    assert_matches_reference,
    canonical_pads,
    conv_reference,
    out_length,
    transform_algorithm,
)

ALGORITHMS = ["auto"] + [a for a in getattr(pyconvx, "ALGORITHMS", ()) if a != "auto"]


def make_problem(rng, x_shape, w_shape, bias=True, dtype=np.float64, wdtype=None):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(wdtype or dtype)
    b = rng.standard_normal(w_shape[0]).astype(wdtype or dtype) if bias else None
    return x, w, b


# (id, x shape, weight shape, conv kwargs).  Shapes are odd on purpose.
GRID = [
    ("1d-valid", (2, 3, 11), (4, 3, 3), {}),
    ("1d-s2-p1-d2", (2, 3, 13), (4, 3, 3), dict(stride=2, padding=1, dilation=2)),
    ("1d-asym-pad", (1, 2, 9), (3, 2, 4), dict(padding=((3, 1),))),
    ("1d-same-even-k-s3", (2, 2, 10), (2, 2, 4), dict(padding="same", stride=3)),
    ("1d-full", (1, 1, 6), (1, 1, 3), dict(padding="full")),
    ("1d-unbatched", (3, 12), (2, 3, 5), dict(padding=2)),
    ("1d-long-2048", (1, 2, 2048), (3, 2, 5), dict(padding=2)),
    ("2d-valid", (2, 3, 9, 8), (5, 3, 3, 3), {}),
    ("2d-p1", (3, 4, 10, 7), (6, 4, 3, 3), dict(padding=1)),
    ("2d-stride-pairs", (2, 3, 11, 10), (4, 3, 3, 2), dict(stride=(2, 3), padding=((1, 2), (0, 1)), dilation=(2, 1))),
    ("2d-same-s2-even", (2, 2, 9, 8), (3, 2, 4, 2), dict(padding="same", stride=2)),
    ("2d-same-dil", (1, 2, 9, 10), (3, 2, 3, 3), dict(padding="same", dilation=(2, 3))),
    ("2d-full-dil2", (1, 2, 6, 7), (2, 2, 3, 2), dict(padding="full", dilation=2)),
    ("2d-valid-str", (1, 2, 7, 7), (2, 2, 3, 3), dict(padding="valid", stride=(1, 2))),
    ("2d-mixed-pads", (2, 2, 8, 9), (3, 2, 3, 3), dict(padding=(2, (0, 3)))),
    ("2d-groups2", (2, 4, 8, 9), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ("2d-depthwise", (2, 5, 9, 8), (5, 1, 3, 3), dict(groups=5, padding=1)),
    ("2d-depthwise-mult3", (1, 4, 10, 9), (12, 1, 3, 3), dict(groups=4, padding=1, stride=2)),
    ("2d-depthwise-5x5", (2, 8, 12, 13), (8, 1, 5, 5), dict(groups=8, padding=2)),
    ("2d-1x1", (2, 17, 7, 9), (13, 17, 1, 1), {}),
    ("2d-1x1-s2", (2, 9, 7, 9), (5, 9, 1, 1), dict(stride=2)),
    ("2d-1ch-7x7", (1, 1, 40, 50), (1, 1, 7, 7), dict(padding=3)),
    ("2d-1ch-15x15", (1, 1, 33, 37), (1, 1, 15, 15), {}),
    ("2d-unbatched", (3, 9, 10), (4, 3, 3, 3), dict(padding=1, stride=2)),
    ("2d-kernel-eq-input", (2, 3, 4, 5), (2, 3, 4, 5), {}),
    ("2d-huge-stride", (1, 2, 9, 9), (3, 2, 2, 2), dict(stride=100)),
    ("2d-300ch", (2, 300, 9, 10), (7, 300, 3, 3), dict(padding=1)),
    ("2d-N5-odd", (5, 3, 33, 47), (5, 3, 5, 3), dict(stride=2, padding=(2, 1))),
    ("2d-wide-2048", (1, 3, 5, 2048), (4, 3, 3, 3), dict(padding=1)),
    ("2d-64to64-tile", (2, 64, 14, 15), (64, 64, 3, 3), dict(padding=1)),
    ("3d-p1", (2, 2, 5, 6, 7), (3, 2, 3, 2, 3), dict(padding=1, stride=(1, 2, 1))),
    ("3d-groups-same-dil", (1, 4, 6, 7, 5), (4, 2, 3, 3, 2), dict(groups=2, padding="same", dilation=2)),
    ("3d-unbatched", (2, 5, 5, 5), (2, 2, 2, 2, 2), dict(padding=((1, 0), 1, (0, 2)))),
    ("4d-via-conv", (1, 2, 4, 3, 4, 5), (2, 2, 2, 2, 2, 2), dict(padding=1)),
    ("1d-64taps", (1, 1, 5000), (1, 1, 64), dict(padding="same")),
    ("1d-depthwise-long", (2, 6, 777), (12, 1, 9), dict(groups=6, stride=2, dilation=3)),
    ("2d-s3-d2-phases", (1, 5, 30, 31), (7, 5, 3, 3), dict(stride=3, dilation=2, padding=2)),
    ("2d-stride-gt-kernel-pad", (2, 3, 17, 16), (4, 3, 2, 2), dict(stride=5, padding=3)),
    ("2d-groups2-cout80", (1, 6, 11, 12), (80, 3, 3, 3), dict(groups=2, padding=(1, 0))),
    ("2d-1ch-700x900", (1, 1, 700, 900), (1, 1, 3, 3), dict(padding=1)),
]


def _probe_case_in_subprocess(case):
    """Run one grid case (float64 and float32) in a child; True if it crashes or corrupts."""
    name, x_shape, w_shape, kwargs = case
    code = textwrap.dedent(f"""
        import sys, gc
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        import numpy as np, pyconvx
        from _reference import assert_matches_reference
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(0)
            x = rng.standard_normal({x_shape!r}).astype(dtype)
            w = rng.standard_normal({w_shape!r}).astype(dtype)
            x0, w0 = x.copy(), w.copy()
            got = pyconvx.conv(x, w, **{kwargs!r})
            assert (x == x0).all() and (w == w0).all(), "inputs modified"
            assert_matches_reference(got, x, w, **{kwargs!r})
            del got
            gc.collect()
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return result.returncode != 0 or result.stdout.strip() != "ok"


def _crashing_cases(cases):
    """Large cases are first run in children, so a heap-corrupting core cannot kill the suite."""
    big = [c for c in cases if int(np.prod(c[1])) >= 10_000]
    with ThreadPoolExecutor(max_workers=2) as pool:
        flags = list(pool.map(_probe_case_in_subprocess, big))
    return {case[0] for case, crashed in zip(big, flags) if crashed}


CRASHING = _crashing_cases(GRID)
GRID_ALL = GRID
GRID = [case for case in GRID_ALL if case[0] not in CRASHING]
GRID_IDS = [case[0] for case in GRID]


def test_no_grid_case_crashes_in_a_child_process():
    """Regression: a box-rounding bug once let the engine write past the output."""
    assert not CRASHING, f"grid cases that crash or corrupt memory in a child: {sorted(CRASHING)}"


def _has_padding(x_shape, w_shape, kwargs):
    ndim = len(w_shape) - 2
    spatial = x_shape[-ndim:]
    pads = canonical_pads(
        kwargs.get("padding", 0), spatial, w_shape[2:],
        _dims(kwargs.get("stride", 1), ndim), _dims(kwargs.get("dilation", 1), ndim),
    )
    return pads, spatial


def _dims(value, ndim):
    return (value,) * ndim if isinstance(value, int) else tuple(value)


def mode_allowed(mode, x_shape, w_shape, kwargs):
    pads, spatial = _has_padding(x_shape, w_shape, kwargs)
    if mode == "reflect":
        return all(max(p) < n for p, n in zip(pads, spatial))
    if mode == "circular":
        return all(max(p) <= n for p, n in zip(pads, spatial))
    return True


def call_or_refused(algorithm, func, *args, **kwargs):
    """Run ``func``; an explicit algorithm may refuse with a ValueError naming itself."""
    if algorithm == "auto":
        return func(*args, algorithm=algorithm, **kwargs)
    try:
        return func(*args, algorithm=algorithm, **kwargs)
    except ValueError as exc:
        assert algorithm in str(exc), f"refusal does not name the algorithm: {exc}"
        pytest.skip(f"{algorithm} refuses this problem: {exc}")


# ----------------------------------------------------------------------------- the grid
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_grid_vs_reference(case, dtype, algorithm, rng):
    name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
    got = call_or_refused(algorithm, pyconvx.conv, x, w, b, **kwargs)
    assert got.dtype == dtype
    assert got.flags.c_contiguous
    assert_matches_reference(
        got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs
    )


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("case", [c for c in GRID if c[3].get("padding", 0) not in (0, "valid")],
                         ids=[c[0] for c in GRID if c[3].get("padding", 0) not in (0, "valid")])
def test_grid_padding_modes(case, mode, rng):
    name, x_shape, w_shape, kwargs = case
    if not mode_allowed(mode, x_shape, w_shape, kwargs):
        pytest.skip("padding too large for this mode (tested in test_reliability)")
    x, w, b = make_problem(rng, x_shape, w_shape)
    got = pyconvx.conv(x, w, b, padding_mode=mode, **kwargs)
    assert_matches_reference(got, x, w, b, padding_mode=mode, **kwargs)


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("case", GRID[:12] + GRID[15:19] + GRID[30:33], ids=GRID_IDS[:12] + GRID_IDS[15:19] + GRID_IDS[30:33])
def test_grid_modes_every_algorithm(case, mode, algorithm, rng):
    name, x_shape, w_shape, kwargs = case
    if not mode_allowed(mode, x_shape, w_shape, kwargs):
        pytest.skip("padding too large for this mode")
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
    got = call_or_refused(algorithm, pyconvx.conv, x, w, b, padding_mode=mode, flip=True, **kwargs)
    assert_matches_reference(
        got, x, w, b, padding_mode=mode, flip=True,
        normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs,
    )


def test_every_algorithm_accepts_some_grid_problem(rng):
    """Each explicit path must actually run somewhere in the grid (not refuse everything)."""
    for algorithm in ALGORITHMS:
        accepted = []
        for name, x_shape, w_shape, kwargs in GRID:
            x, w, b = make_problem(rng, x_shape, w_shape)
            try:
                got = pyconvx.conv(x, w, b, algorithm=algorithm, **kwargs)
            except ValueError as exc:
                assert algorithm in str(exc), exc
                continue
            accepted.append(name)
            assert_matches_reference(
                got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs
            )
        assert accepted, f"algorithm {algorithm!r} refused every grid problem"


def test_unknown_algorithm_lists_valid_ones(rng):
    x, w, b = make_problem(rng, (1, 1, 5, 5), (1, 1, 3, 3))
    with pytest.raises(ValueError, match="algorithm") as info:
        pyconvx.conv(x, w, algorithm="bogus")
    assert "bogus" in str(info.value)
    for name in ALGORITHMS:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="algorithm"):
        pyconvx.conv(x, w, algorithm=3)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("case", GRID[:10] + GRID[30:34], ids=GRID_IDS[:10] + GRID_IDS[30:34])
def test_grid_core_over_simd_levels(case, flip, simd, rng):
    name, x_shape, w_shape, kwargs = case
    for dtype in (np.float32, np.float64):
        x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
        got = pyconvx.conv(x, w, b, flip=flip, **kwargs)
        assert_matches_reference(
            got, x, w, b, flip=flip, normwise=transform_algorithm("auto", ALGORITHMS), **kwargs
        )


def test_simd_levels_agree_with_each_other(rng):
    from conftest import forced_level, simd_levels

    levels = simd_levels()
    x, w, b = make_problem(rng, (2, 3, 19, 21), (4, 3, 3, 3), dtype=np.float32)
    results = {}
    for level in levels:
        with forced_level(level):
            results[level] = pyconvx.conv(x, w, b, padding=1)
        assert_matches_reference(results[level], x, w, b, padding=1)


# ----------------------------------------------------------------------------- flip, ranks
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_flip_is_correlation_with_rotated_kernel(case, rng):
    name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape)
    ndim = len(w_shape) - 2
    rotated = np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim])
    got = pyconvx.conv(x, w, b, flip=True, **kwargs)
    assert_matches_reference(got, x, w, b, flip=True, **kwargs)
    assert_matches_reference(pyconvx.conv(x, rotated, b, **kwargs), x, w, b, flip=True, **kwargs)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_conv_nd_wrappers_equal_conv(case, rng):
    name, x_shape, w_shape, kwargs = case
    ndim = len(w_shape) - 2
    if ndim > 3:
        pytest.skip("no conv4d")
    func = {1: pyconvx.conv1d, 2: pyconvx.conv2d, 3: pyconvx.conv3d}[ndim]
    x, w, b = make_problem(rng, x_shape, w_shape)
    assert_bitwise_equal(func(x, w, b, **kwargs), pyconvx.conv(x, w, b, **kwargs))


@pytest.mark.parametrize("func_ndim", [1, 2, 3])
@pytest.mark.parametrize("weight_ndim", [1, 2, 3, 4])
def test_conv_nd_rank_check(func_ndim, weight_ndim, rng):
    if weight_ndim == func_ndim:
        return
    func = {1: pyconvx.conv1d, 2: pyconvx.conv2d, 3: pyconvx.conv3d}[func_ndim]
    w = np.ones((2, 2) + (2,) * weight_ndim)
    x = np.ones((1, 2) + (5,) * weight_ndim)
    with pytest.raises(ValueError, match=rf"weight must have {func_ndim + 2} dims"):
        func(x, w)


# ----------------------------------------------------------------------------- dtypes
DTYPE_CASES = [
    (np.float32, np.float32, np.float32),
    (np.float64, np.float64, np.float64),
    (np.float32, np.float64, np.float64),
    (np.float64, np.float32, np.float64),
    (np.int32, np.float32, np.float64),
    (np.float32, np.int64, np.float64),
    (np.int64, np.int64, np.float64),
    (np.uint8, np.int16, np.float64),
    (np.bool_, np.float32, np.float64),
    (np.bool_, np.bool_, np.float64),
]


@pytest.mark.parametrize("x_dtype,w_dtype,result", DTYPE_CASES,
                         ids=[f"{np.dtype(a).name}-{np.dtype(b).name}" for a, b, _ in DTYPE_CASES])
def test_dtype_rule(x_dtype, w_dtype, result, rng):
    x = (rng.integers(0, 2 if x_dtype is np.bool_ else 50, (2, 3, 8, 7))).astype(x_dtype)
    w = (rng.integers(0 if w_dtype in (np.bool_, np.uint8) else -5, 2 if w_dtype is np.bool_ else 6,
                      (4, 3, 3, 3))).astype(w_dtype)
    got = pyconvx.conv(x, w, padding=1)
    assert got.dtype == result
    # small integers: every partial sum is exact in float64 -> the exact answer
    expected = conv_reference(x, w, padding=1)
    if result == np.float64:
        np.testing.assert_array_equal(got, expected)
    else:
        assert_matches_reference(got, x, w, padding=1)


def test_integer_inputs_not_rounded_to_float32(rng):
    """float32 weight with an int64 input computes in float64 (no 24-bit rounding)."""
    x = np.array([[[2**24 + 1, 0, 0]]], dtype=np.int64)
    w = np.array([[[1.0]]], dtype=np.float32)
    got = pyconvx.conv(x, w)
    assert got.dtype == np.float64
    assert got[0, 0, 0] == 2**24 + 1


@pytest.mark.parametrize("bias_dtype", [np.float32, np.float64, np.int32])
def test_bias_dtype(bias_dtype, rng):
    x, w, _ = make_problem(rng, (1, 2, 6, 6), (3, 2, 3, 3), dtype=np.float32)
    b = np.arange(3).astype(bias_dtype)
    got = pyconvx.conv(x, w, b)
    assert_matches_reference(got, x, w, b)


def test_lists_are_accepted():
    got = pyconvx.conv([[[1, 2, 3, 4, 5]]], [[[1, 0, -1]]], [0.5])
    np.testing.assert_array_equal(got, [[[-1.5, -1.5, -1.5]]])
    assert got.dtype == np.float64


# ----------------------------------------------------------------------------- layouts
def _fortran(a):
    return np.asfortranarray(a)


def _transposed(a):
    order = tuple(reversed(range(a.ndim)))
    return np.ascontiguousarray(a.transpose(order)).transpose(order)


def _negative(a):
    flip = tuple(slice(None, None, -1) for _ in range(a.ndim))
    return np.ascontiguousarray(a[flip])[flip]


def _strided(a):
    big = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
    view = big[tuple(slice(1, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def _readonly(a):
    a = a.copy()
    a.setflags(write=False)
    return a


def _byteswapped(a):
    return a.astype(a.dtype.newbyteorder("S"))


def _unaligned(a):
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    view = buf[1:].view(a.dtype).reshape(a.shape)
    view[...] = a
    assert not view.flags.aligned
    return view


LAYOUTS = {
    "fortran": _fortran,
    "transposed": _transposed,
    "negative-strides": _negative,
    "non-contiguous": _strided,
    "read-only": _readonly,
    "byte-swapped": _byteswapped,
    "unaligned": _unaligned,
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", [GRID[1], GRID[9], GRID[16], GRID[30], GRID[33]],
                         ids=[GRID_IDS[1], GRID_IDS[9], GRID_IDS[16], GRID_IDS[30], GRID_IDS[33]])
def test_layout_bitwise_same_as_contiguous(case, layout, dtype, rng):
    name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
    expected = pyconvx.conv(x, w, b, **kwargs)
    transform = LAYOUTS[layout]
    for args in [(transform(x), w, b), (x, transform(w), b), (x, w, transform(b)),
                 (transform(x), transform(w), transform(b))]:
        originals = [np.array(a, copy=True) for a in args]
        if layout == "byte-swapped":
            # RELIABILITY 14: converted, or a clear TypeError naming the dtype; never misread
            try:
                got = pyconvx.conv(*args, **kwargs)
            except TypeError as exc:
                assert "has dtype >" in str(exc) or "byte" in str(exc), exc
                continue
            assert got.dtype == np.dtype(dtype)  # native result
        else:
            got = pyconvx.conv(*args, **kwargs)
        assert_bitwise_equal(got, expected)
        for before, after in zip(originals, args):
            assert_bitwise_equal(np.asarray(after), before)


def test_broadcast_zero_stride_input(rng):
    row = rng.standard_normal((1, 3, 1, 9))
    x = np.broadcast_to(row, (4, 3, 6, 9))
    assert x.strides[0] == 0 and x.strides[2] == 0
    w = np.broadcast_to(rng.standard_normal((1, 3, 3, 3)), (5, 3, 3, 3))
    b = np.broadcast_to(np.float64(0.25), (5,))
    got = pyconvx.conv(x, w, b, padding=1)
    assert_bitwise_equal(got, pyconvx.conv(np.ascontiguousarray(x), np.ascontiguousarray(w),
                                           np.ascontiguousarray(b), padding=1))
    assert_matches_reference(got, x, w, b, padding=1)


# ----------------------------------------------------------------------------- threads, batches
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_threads_bitwise_equal(case, algorithm, rng):
    name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
    serial = call_or_refused(algorithm, pyconvx.conv, x, w, b, threads=1, **kwargs)
    for threads in (2, 3):
        assert_bitwise_equal(pyconvx.conv(x, w, b, threads=threads, algorithm=algorithm, **kwargs), serial)
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=None, algorithm=algorithm, **kwargs), serial)


@pytest.mark.parametrize("case", [c for c in GRID if len(c[1]) == len(c[2])],
                         ids=[c[0] for c in GRID if len(c[1]) == len(c[2])])
def test_batch_slice_rows_bitwise(case, rng):
    name, x_shape, w_shape, kwargs = case
    x_shape = (5,) + x_shape[1:]
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
    full = pyconvx.conv(x, w, b, **kwargs)
    for sl in (slice(0, 1), slice(1, 4), slice(4, 5), slice(0, 5, 2)):
        assert_bitwise_equal(pyconvx.conv(x[sl], w, b, **kwargs), full[sl])
    # unbatched input gives the row of the batched result
    assert_bitwise_equal(pyconvx.conv(x[3], w, b, **kwargs), full[3])


# ----------------------------------------------------------------------------- inputs untouched
@pytest.mark.parametrize("mode", PADDING_MODES)
def test_inputs_never_modified(mode, rng, algorithm):
    x, w, b = make_problem(rng, (2, 4, 9, 8), (6, 2, 3, 3))
    copies = [x.copy(), w.copy(), b.copy()]
    pyconvx.conv(x, w, b, padding=2, groups=2, padding_mode=mode, flip=True, stride=2,
                 algorithm=algorithm)
    for before, after in zip(copies, (x, w, b)):
        assert_bitwise_equal(after, before)


# ----------------------------------------------------------------------------- out=
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_out_is_filled_and_returned(dtype, rng):
    x, w, b = make_problem(rng, (2, 3, 9, 8), (4, 3, 3, 3), dtype=dtype)
    expected = pyconvx.conv(x, w, b, padding=1)
    out = np.full(expected.shape, np.nan, dtype=dtype)
    got = pyconvx.conv(x, w, b, padding=1, out=out)
    assert got is out
    assert_bitwise_equal(out, expected)


def test_out_overlapping_input_is_correct(rng, algorithm):
    # out is the input itself (same shape, same dtype)
    x, w, b = make_problem(rng, (2, 3, 8, 8), (3, 3, 3, 3))
    expected = pyconvx.conv(x.copy(), w, b, padding=1, algorithm=algorithm)
    got = pyconvx.conv(x, w, b, padding=1, out=x, algorithm=algorithm)
    assert got is x
    assert_bitwise_equal(x, expected)


@pytest.mark.parametrize("shape,groups", [((1, 1, 40, 50), 1), ((2, 3, 64, 70), 3), ((1, 1, 200, 300), 1)])
def test_out_is_input_one_channel_and_depthwise(shape, groups, rng, algorithm):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((shape[1], shape[1] // groups, 3, 3))
    expected = pyconvx.conv(x.copy(), w, padding=1, groups=groups, flip=True, algorithm=algorithm)
    got = pyconvx.conv(x, w, padding=1, groups=groups, out=x, flip=True, algorithm=algorithm)
    assert got is x
    assert_bitwise_equal(x, expected)


def test_out_partially_overlapping_input_and_weight(rng, algorithm):
    x0, w0, b0 = make_problem(rng, (2, 3, 8, 9), (4, 3, 3, 3))
    out_shape = (2, 4, 6, 7)
    buf = np.zeros(x0.size + w0.size + 500)
    x = buf[:x0.size].reshape(x0.shape)
    x[...] = x0
    w = buf[x0.size:x0.size + w0.size].reshape(w0.shape)
    w[...] = w0
    start = x0.size // 2  # overlaps the end of x and all of w
    out = buf[start:start + int(np.prod(out_shape))].reshape(out_shape)
    assert np.shares_memory(out, x) and np.shares_memory(out, w)
    expected = pyconvx.conv(x0, w0, b0, algorithm=algorithm)
    got = pyconvx.conv(x, w, b0, out=out, algorithm=algorithm)
    assert got is out
    assert_bitwise_equal(out, expected)


def test_out_overlapping_bias(rng):
    x, w, _ = make_problem(rng, (1, 2, 4, 4), (3, 2, 3, 3), bias=False)
    out = np.zeros((1, 3, 2, 2))
    b = out.reshape(-1)[:3]
    b[...] = [1.0, 2.0, 3.0]
    expected = pyconvx.conv(x, w, b.copy())
    pyconvx.conv(x, w, b, out=out)
    assert_bitwise_equal(out, expected)


# ----------------------------------------------------------------------------- empties
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_empty_batch(dtype):
    x = np.zeros((0, 3, 8, 8), dtype=dtype)
    w = np.ones((4, 3, 3, 3), dtype=dtype)
    got = pyconvx.conv(x, w, np.ones(4, dtype=dtype), padding=1, stride=2)
    assert got.shape == (0, 4, 4, 4) and got.dtype == dtype


def test_zero_out_channels():
    x = np.ones((2, 3, 8, 8))
    got = pyconvx.conv(x, np.ones((0, 3, 3, 3)), np.ones(0))
    assert got.shape == (2, 0, 6, 6) and got.dtype == np.float64


@pytest.mark.parametrize("groups", [1, 2])
def test_zero_in_channels_gives_bias(groups):
    x = np.ones((2, 0, 7, 6), dtype=np.float32)
    w = np.ones((4, 0, 3, 3), dtype=np.float32)
    b = np.arange(4, dtype=np.float32) - 1.5
    got = pyconvx.conv(x, w, b, groups=groups, padding=1)
    assert got.shape == (2, 4, 7, 6) and got.dtype == np.float32
    np.testing.assert_array_equal(got, np.broadcast_to(b[None, :, None, None], got.shape))
    got = pyconvx.conv(x, w, groups=groups)
    np.testing.assert_array_equal(got, np.zeros((2, 4, 5, 4), np.float32))


# ----------------------------------------------------------------------------- huge stride
@pytest.mark.parametrize("stride", [3, 7, 10**6])
def test_stride_larger_than_kernel_skips(stride, rng):
    x, w, b = make_problem(rng, (1, 2, 20), (3, 2, 2))
    got = pyconvx.conv(x, w, b, stride=stride)
    assert got.shape == (1, 3, out_length(20, 2, stride, 0, 0, 1))
    assert_matches_reference(got, x, w, b, stride=stride)


# ----------------------------------------------------------------------------- NaN / Inf locality
def test_nan_only_in_receptive_field(rng, algorithm):
    if transform_algorithm(algorithm, ALGORITHMS):
        pytest.skip("transform paths spread non-finite values by design (documented)")
    x, w, _ = make_problem(rng, (1, 1, 9, 9), (1, 1, 3, 3), bias=False)
    x[0, 0, 4, 4] = np.nan
    got = pyconvx.conv(x, w, padding=1, algorithm=algorithm)
    reach = np.zeros((9, 9), bool)
    reach[3:6, 3:6] = True
    assert np.isnan(got[0, 0][reach]).all()
    assert np.isfinite(got[0, 0][~reach]).all()
    x2 = x.copy()
    x2[0, 0, 4, 4] = np.inf
    got = pyconvx.conv(x2, np.abs(w), padding=1, algorithm=algorithm)
    assert np.isposinf(got[0, 0][reach]).all() and np.isfinite(got[0, 0][~reach]).all()


# ----------------------------------------------------------------------------- hypothesis
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def problems(draw):
    ndim = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    batch = draw(st.integers(1, 3))
    unbatched = draw(st.booleans())
    max_size = {1: 20, 2: 10, 3: 6}[ndim]
    spatial = tuple(draw(st.integers(1, max_size)) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    kind = draw(st.sampled_from(["int", "per-dim", "pairs", "valid", "same", "full"]))
    if kind == "int":
        padding = draw(st.integers(0, 3))
    elif kind == "per-dim":
        padding = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    elif kind == "pairs":
        padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
    else:
        padding = kind
    mode = draw(st.sampled_from(PADDING_MODES))
    pads = canonical_pads(padding, spatial, kernel, stride, dilation)
    for n, (lo, hi) in zip(spatial, pads):
        assume(mode != "reflect" or max(lo, hi) < n)
        assume(mode != "circular" or max(lo, hi) <= n)
    for n, k, d, (lo, hi) in zip(spatial, kernel, dilation, pads):
        assume(d * (k - 1) + 1 <= n + lo + hi)
    x_shape = ((c_in,) if unbatched else (batch, c_in)) + spatial
    w_shape = (c_out, c_in // groups) + kernel
    kwargs = dict(
        stride=stride if draw(st.booleans()) else stride[0] if len(set(stride)) == 1 else stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=mode,
        flip=draw(st.booleans()),
    )
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return x_shape, w_shape, kwargs, dtype, bias, seed


@given(problems())
def test_hypothesis_vs_reference(problem):
    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    got = pyconvx.conv(x, w, b, **kwargs)
    assert got.dtype == dtype
    assert_matches_reference(got, x, w, b, normwise=transform_algorithm("auto", ALGORITHMS), **kwargs)
    # output_shape agrees with conv, without arrays
    shape_kwargs = {k: v for k, v in kwargs.items() if k != "flip"}
    assert pyconvx.output_shape(x_shape, w_shape, **shape_kwargs) == got.shape


@given(problems(), st.sampled_from(list(LAYOUTS)))
def test_hypothesis_layouts_and_threads(problem, layout):
    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    expected = pyconvx.conv(x, w, b, threads=1, **kwargs)
    transform = LAYOUTS[layout]
    args = (transform(x), transform(w), None if b is None else transform(b))
    try:
        got = pyconvx.conv(*args, threads=2, **kwargs)
    except TypeError as exc:  # byte-swapped may be refused (RELIABILITY 14)
        assert layout == "byte-swapped" and "has dtype >" in str(exc), exc
        return
    assert_bitwise_equal(got, expected)


@given(problems(), st.sampled_from(ALGORITHMS))
def test_hypothesis_every_algorithm(problem, algorithm):
    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    try:
        got = pyconvx.conv(x, w, b, algorithm=algorithm, **kwargs)
    except ValueError as exc:
        assert algorithm != "auto", exc
        assert algorithm in str(exc), exc
        return
    assert_matches_reference(got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs)


@st.composite
def big_problems(draw):
    """Channel counts and sizes that cross the microkernel tiles (remainders everywhere)."""
    ndim = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = groups * draw(st.integers(1, 24))
    c_out = groups * draw(st.integers(1, 40))
    batch = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(8, 300 if ndim == 1 else 40)) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
    mode = draw(st.sampled_from(PADDING_MODES))
    x_shape = (batch, c_in) + spatial
    w_shape = (c_out, c_in // groups) + kernel
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  padding_mode=mode, flip=draw(st.booleans()))
    return x_shape, w_shape, kwargs, draw(st.sampled_from([np.float32, np.float64])), True, draw(
        st.integers(0, 2**32 - 1))


@hypothesis.settings(max_examples=max(1, hypothesis.settings().max_examples // 2))
@given(big_problems())
def test_hypothesis_big_every_algorithm_and_level(problem):
    from conftest import forced_level, simd_levels

    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    reference = None
    for algorithm in ALGORITHMS:
        try:
            got = pyconvx.conv(x, w, b, algorithm=algorithm, threads=2, **kwargs)
        except ValueError as exc:  # a forced microkernel may refuse, naming itself
            assert f"algorithm={algorithm!r} cannot take this problem" in str(exc)
            continue
        assert_matches_reference(got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS),
                                 **kwargs)
        if algorithm == "auto":
            reference = got
    for level in simd_levels():
        with forced_level(level):
            got = pyconvx.conv(x, w, b, threads=3, **kwargs)
        assert_matches_reference(got, x, w, b, **kwargs)
    # one thread gives the same bits as several
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=1, **kwargs), reference)


# ----------------------------------------------------------------------------- winograd under auto
@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_auto_winograd_meets_the_elementwise_bound(mode, dtype, rng):
    """'auto' picks Winograd F(2x2,3x3) for large 3x3 layers: it must keep the strict,
    per-output error bound of direct summation, and the bits of every thread count."""
    x, w, b = make_problem(rng, (2, 24, 37, 70), (20, 24, 3, 3), dtype=dtype)
    kwargs = dict(padding=1, padding_mode=mode)
    assert pyconvx.plan(x, w, **kwargs).algorithm == "winograd"
    got = pyconvx.conv(x, w, b, threads=1, **kwargs)
    assert_matches_reference(got, x, w, b, **kwargs)
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=2, **kwargs), got)
    # large magnitudes next to small ones: cancellation inside the transforms
    x[:, :, ::3] *= 1e4
    got = pyconvx.conv(x, w, b, **kwargs)
    assert_matches_reference(got, x, w, b, **kwargs)


# ----------------------------------------------------------------------------- forced microkernels
@pytest.mark.parametrize("kernel_name", ["gemm", "row", "rowblock", "depthwise", "winograd"])
def test_forced_microkernel_runs_or_refuses_never_substitutes(kernel_name):
    """algorithm='gemm'|'row'|'rowblock'|'depthwise'|'winograd' either plans that very kernel or
    raises ValueError naming it: it never silently runs another one."""
    takes_all = pyconvx.plan((1, 1, 64, 64), (1, 1, 3, 3), algorithm=kernel_name)
    if kernel_name == "winograd":
        assert takes_all.algorithm == "winograd" and takes_all.microkernel == "gemm"
    else:
        assert takes_all.algorithm == "direct" and takes_all.microkernel == kernel_name
    if kernel_name in ("gemm", "row"):
        return
    refused = (1, 4, 20, 40), (4, 4, 5, 5)  # several channels per group, 5x5
    with pytest.raises(ValueError, match=f"algorithm={kernel_name!r} cannot take this problem"):
        pyconvx.plan(*refused, algorithm=kernel_name)


def test_direct_means_direct_summation():
    """algorithm='direct' never runs Winograd, even where 'auto' would."""
    shape = (8, 64, 56, 56), (64, 64, 3, 3)
    assert pyconvx.plan(*shape, padding=1).algorithm == "winograd"
    forced = pyconvx.plan(*shape, padding=1, algorithm="direct")
    assert forced.algorithm == "direct" and forced.microkernel == "gemm"


# ----------------------------------------------------------------------------- pointwise in place
@pytest.mark.parametrize("x_shape, w_shape, groups", [
    ((2, 7, 57), (5, 7, 1), 1),                 # 1-d, a partial last tile
    ((3, 16, 28, 28), (24, 16, 1, 1), 1),       # 784 pixels: tiles end mid-row
    ((1, 6, 5, 3), (10, 3, 1, 1), 2),           # fewer pixels than one tile, groups
    ((2, 4, 3, 5, 7), (11, 4, 1, 1, 1), 1),     # 3-d
    ((1, 3, 1, 1), (2, 3, 1, 1), 1),            # one pixel
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", ["contiguous", "channel-strided", "batch-strided"])
def test_pointwise_reads_x_in_place(x_shape, w_shape, groups, dtype, layout, rng):
    """1x1 layers read x in place (no band copy); tiles reaching past a box use a
    zero-padded copy, so nothing is read past x.  Any channel or batch stride."""
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
    if layout == "channel-strided":   # every other channel of a wider array
        wide = rng.standard_normal((x_shape[0], 2 * x_shape[1]) + x_shape[2:]).astype(dtype)
        x = wide[:, ::2]
    elif layout == "batch-strided":
        x = np.concatenate([x, x], axis=1)[:, :x_shape[1]]
    plan = pyconvx.plan(x, w, groups=groups)
    if plan.algorithm == "direct" and plan.microkernel in ("gemm", "row"):
        assert plan.record.fields["inplace"]
    got = {t: pyconvx.conv(x, w, b, groups=groups, threads=t) for t in (1, 2, 3)}
    assert_matches_reference(got[1], x, w, b, groups=groups)
    assert_bitwise_equal(got[2], got[1])
    assert_bitwise_equal(got[3], got[1])
    flipped = pyconvx.conv(x, w, b, groups=groups, flip=True)   # 1x1: flip changes nothing
    assert_bitwise_equal(flipped, got[1])


# ----------------------------------------------------------------------------- the depthwise kernel
# (x shape, kernel, conv kwargs): narrow and wide rows around every vector length
# (1..40 columns), kernels 1..7, stride 1 and 2, dilation, asymmetric padding.
DEPTHWISE_CASES = [
    ((2, 3, 5, 1), (1, 1), {}),
    ((1, 4, 6, 2), (3, 3), dict(padding=1)),
    ((2, 5, 9, 7), (3, 3), dict(padding=1)),
    ((1, 3, 8, 8), (3, 3), dict(padding=1, stride=2)),
    ((2, 6, 11, 15), (5, 5), dict(padding=2)),
    ((1, 4, 13, 16), (3, 3), dict(padding=1)),
    ((1, 3, 12, 17), (7, 7), dict(padding=3)),
    ((3, 7, 10, 23), (3, 5), dict(padding=(1, 2), stride=(1, 2))),
    ((1, 5, 14, 28), (3, 3), dict(padding=1)),
    ((1, 4, 9, 31), (3, 3), dict(padding=2, dilation=2)),
    ((2, 3, 16, 33), (5, 5), dict(padding=2, stride=2)),
    ((1, 2, 7, 40), (7, 7), dict(padding=3)),
    ((1, 3, 21, 40), (3, 3), dict(padding=((0, 2), (1, 0)), stride=(2, 1), dilation=(1, 3))),
    ((1, 2, 30, 37), (4, 2), dict(padding="same")),
    ((2, 40, 28, 28), (3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", DEPTHWISE_CASES,
                         ids=[f"{c[0]}-k{c[1]}-{c[2]}" for c in DEPTHWISE_CASES])
def test_depthwise_kernel_vs_reference(case, dtype, mode, rng):
    """algorithm='depthwise' (and 'auto', which picks it for these shapes unless the
    rows are wide enough for 'rowblock'): every padding mode, bias, flip, threads 1/2/3
    bitwise, every SIMD level."""
    from conftest import forced_level, simd_levels

    x_shape, kernel, kwargs = case
    channels = x_shape[1]
    kwargs = dict(kwargs, groups=channels)
    if not mode_allowed(mode, x_shape, (channels, 1) + kernel, kwargs):
        pytest.skip("padding too large for this mode")
    kwargs["padding_mode"] = mode
    x, w, b = make_problem(rng, x_shape, (channels, 1) + kernel, dtype=dtype)
    assert pyconvx.plan(x, w, algorithm="depthwise", **kwargs).microkernel == "depthwise"
    for flip, bias in ((False, b), (True, None)):
        got = pyconvx.conv(x, w, bias, flip=flip, threads=1, algorithm="depthwise", **kwargs)
        assert_matches_reference(got, x, w, bias, flip=flip, **kwargs)
        for threads in (2, 3):
            assert_bitwise_equal(pyconvx.conv(x, w, bias, flip=flip, threads=threads,
                                              algorithm="depthwise", **kwargs), got)
    for level in simd_levels():
        with forced_level(level):
            got = pyconvx.conv(x, w, b, threads=2, algorithm="depthwise", **kwargs)
        assert_matches_reference(got, x, w, b, **kwargs)


def test_depthwise_kernel_strided_input_and_boxes(rng):
    """Non-contiguous input (the general band copy) and a plane split into row boxes
    (large image) give the bits of the contiguous, whole-plane run."""
    x, w, b = make_problem(rng, (1, 2, 1500, 100), (2, 1, 3, 3), dtype=np.float32)
    kwargs = dict(padding=1, groups=2, algorithm="depthwise")
    p = pyconvx.plan(x, w, **kwargs)
    assert p.microkernel == "depthwise" and p.work_units > 2
    got = pyconvx.conv(x, w, b, **kwargs)
    assert_matches_reference(got, x, w, b, padding=1, groups=2)
    wide = np.zeros((1, 2, 1500, 200), np.float32)
    wide[..., ::2] = x
    assert_bitwise_equal(pyconvx.conv(wide[..., ::2], w, b, **kwargs), got)
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=3, **kwargs), got)


def test_auto_picks_depthwise_for_narrow_depthwise_layers():
    p = pyconvx.plan((8, 256, 28, 28), (256, 1, 3, 3), padding=1, groups=256)
    assert p.microkernel == "depthwise" and p.work_units < 256
    p = pyconvx.plan((8, 96, 112, 112), (96, 1, 3, 3), padding=1, groups=96, stride=2)
    assert p.microkernel == "depthwise"
    with pytest.raises(ValueError, match="algorithm='depthwise' cannot take this problem"):
        pyconvx.plan((1, 4, 30), (4, 1, 3), groups=4, algorithm="depthwise")


def test_plan_cache_follows_level_and_arguments(rng):
    """conv remembers its plans (pyconvx._engine.plan.cached_plan): the cached plan is the
    one make_plan would make for the same problem, SIMD level, threads and strides."""
    from conftest import forced_level, simd_levels
    from pyconvx._engine import plan as _plan
    from pyconvx.shapes import describe_conv

    g = describe_conv((2, 6, 9, 10), (6, 1, 3, 3), padding=1, groups=6)
    for level in simd_levels():
        with forced_level(level):
            for threads, strides in ((1, None), (3, [540, 90, 10, 1]), (2, [540, 90, 20, 2])):
                cached = _plan.cached_plan(g, np.float32, threads=threads, x_strides=strides)
                again = _plan.cached_plan(g, np.float32, threads=threads, x_strides=strides)
                fresh = _plan.make_plan(g, np.float32, threads=threads, x_strides=strides)
                assert again is cached
                assert cached.microkernel == fresh.microkernel and cached.tile == fresh.tile
                assert cached.box == fresh.box and cached.threads == fresh.threads
                assert cached.record.fields.keys() == fresh.record.fields.keys()
                for key, value in fresh.record.fields.items():
                    assert str(cached.record.fields[key]) == str(value), key
    for _ in range(_plan.PLAN_CACHE_SIZE + 5):
        _plan.cached_plan(g, np.float32, threads=int(rng.integers(1, 10**6)))
    assert len(_plan._plan_cache) <= _plan.PLAN_CACHE_SIZE
    with pytest.raises(ValueError, match="algorithm"):
        _plan.cached_plan(g, np.float32, threads=1, algorithm="bogus")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("stride,dilation", [((1, 1), 1), ((1, 2), 1), ((2, 2), 1), ((2, 2), 2),
                                             ((1, 3), (1, 2))])
def test_depthwise_every_width_1_to_40(stride, dilation, dtype, rng):
    """Every row width from 1 to 40 (around every vector length, the overlapping
    last vector and band, the partial stores, the strided gathers with their masked
    tails), zero and reflect padding, contiguous and strided input."""
    dil_w = dilation if isinstance(dilation, int) else dilation[1]
    for width in range(max(1, 2 * dil_w - 1), 41):  # the dilated kernel fits the padded row
        x, w, b = make_problem(rng, (1, 3, 9, width), (3, 1, 3, 3), dtype=dtype)
        for mode in ("zeros", "reflect"):
            kwargs = dict(stride=stride, dilation=dilation, padding=1, groups=3,
                          padding_mode=mode)
            if not mode_allowed(mode, x.shape, w.shape, kwargs):
                continue
            got = pyconvx.conv(x, w, b, algorithm="depthwise", threads=2, **kwargs)
            assert_matches_reference(got, x, w, b, **kwargs)
            assert_bitwise_equal(pyconvx.conv(x, w, b, algorithm="depthwise", threads=1,
                                              **kwargs), got)
            wide = np.repeat(x, 2, axis=-1)[..., ::2]
            assert wide.strides[-1] == 2 * x.itemsize
            assert_bitwise_equal(pyconvx.conv(wide, w, b, algorithm="depthwise", **kwargs), got)
