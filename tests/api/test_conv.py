"""pyconvx.conv's public contract: wrappers, ranks, the dtype rule, layouts, out=, empties."""

import warnings

import numpy as np
import pytest

import pyconvx

from _problems import (
    ALGORITHMS,
    GRID,
    GRID_IDS,
    LAYOUTS,
    conv_or_refusal,
    make_problem,
)
from _reference import (
    PADDING_MODES,
    assert_bitwise_equal,
    assert_matches_reference,
    conv_reference,
    mode_kwargs,
    out_length,
    transform_algorithm,
)

RANK_1_TO_3 = [case for case in GRID if len(case[2]) <= 5]   # conv1d/2d/3d exist


@pytest.mark.parametrize("case", RANK_1_TO_3, ids=[case[0] for case in RANK_1_TO_3])
def test_conv_nd_wrappers_equal_conv(case, rng):
    _name, x_shape, w_shape, kwargs = case
    ndim = len(w_shape) - 2
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", [GRID[1], GRID[9], GRID[16], GRID[30], GRID[33]],
                         ids=[GRID_IDS[1], GRID_IDS[9], GRID_IDS[16], GRID_IDS[30], GRID_IDS[33]])
def test_layout_bitwise_same_as_contiguous(case, layout, dtype, rng):
    _name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
    expected = pyconvx.conv(x, w, b, **kwargs)
    transform = LAYOUTS[layout]
    for args in [(transform(x), w, b), (x, transform(w), b), (x, w, transform(b)),
                 (transform(x), transform(w), transform(b))]:
        originals = [np.array(a, copy=True) for a in args]
        if layout == "byte-swapped":
            # converted, or a clear TypeError naming the dtype; never misread
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


@pytest.mark.parametrize("case", [c for c in GRID if len(c[1]) == len(c[2])],
                         ids=[c[0] for c in GRID if len(c[1]) == len(c[2])])
def test_batch_slice_rows_bitwise(case, rng):
    _name, x_shape, w_shape, kwargs = case
    x_shape = (5,) + x_shape[1:]
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
    full = pyconvx.conv(x, w, b, **kwargs)
    for sl in (slice(0, 1), slice(1, 4), slice(4, 5), slice(0, 5, 2)):
        assert_bitwise_equal(pyconvx.conv(x[sl], w, b, **kwargs), full[sl])
    # unbatched input gives the row of the batched result
    assert_bitwise_equal(pyconvx.conv(x[3], w, b, **kwargs), full[3])


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_inputs_never_modified(mode, rng, algorithm):
    x, w, b = make_problem(rng, (2, 4, 9, 8), (6, 2, 3, 3))
    copies = [x.copy(), w.copy(), b.copy()]
    conv_or_refusal(algorithm, x, w, b, padding=2, groups=2, **mode_kwargs(mode), flip=True,
                    stride=2)
    for before, after in zip(copies, (x, w, b)):
        assert_bitwise_equal(after, before)


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
    expected = conv_or_refusal(algorithm, x.copy(), w, b, padding=1)
    if expected is None:
        return
    got = pyconvx.conv(x, w, b, padding=1, out=x, algorithm=algorithm)
    assert got is x
    assert_bitwise_equal(x, expected)


@pytest.mark.parametrize("shape,groups", [((1, 1, 40, 50), 1), ((2, 3, 64, 70), 3), ((1, 1, 200, 300), 1)])
def test_out_is_input_one_channel_and_depthwise(shape, groups, rng, algorithm):
    x = rng.standard_normal(shape)
    w = rng.standard_normal((shape[1], shape[1] // groups, 3, 3))
    expected = conv_or_refusal(algorithm, x.copy(), w, padding=1, groups=groups, flip=True)
    if expected is None:
        return
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
    expected = conv_or_refusal(algorithm, x0, w0, b0)
    if expected is None:
        return
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


@pytest.mark.parametrize("stride", [3, 7, 10**6])
def test_stride_larger_than_kernel_skips(stride, rng):
    x, w, b = make_problem(rng, (1, 2, 20), (3, 2, 2))
    got = pyconvx.conv(x, w, b, stride=stride)
    assert got.shape == (1, 3, out_length(20, 2, stride, 0, 0, 1))
    assert_matches_reference(got, x, w, b, stride=stride)


def test_nan_only_in_receptive_field(rng, algorithm):
    if transform_algorithm(algorithm, ALGORITHMS):
        return   # documented: transform paths spread non-finite values (see test_errors)
    x, w, _ = make_problem(rng, (1, 1, 9, 9), (1, 1, 3, 3), bias=False)
    x[0, 0, 4, 4] = np.nan
    got = conv_or_refusal(algorithm, x, w, padding=1)
    reach = np.zeros((9, 9), bool)
    reach[3:6, 3:6] = True
    assert np.isnan(got[0, 0][reach]).all()
    assert np.isfinite(got[0, 0][~reach]).all()
    x2 = x.copy()
    x2[0, 0, 4, 4] = np.inf
    got = pyconvx.conv(x2, np.abs(w), padding=1, algorithm=algorithm)
    assert np.isposinf(got[0, 0][reach]).all() and np.isfinite(got[0, 0][~reach]).all()


def test_fft_warns_like_scipy_when_an_input_is_not_finite(rng):
    """The FFT spreads one NaN to every output; it says so with SciPy's words."""
    x, w, _ = make_problem(rng, (1, 2, 12, 13), (3, 2, 3, 3), bias=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # finite input: no warning
        pyconvx.conv(x, w, algorithm="fft")
        pyconvx.correlate(x[0, 0], w[0, 0], method="fft")
    x[0, 1, 5, 6] = np.nan
    message = "Use of fft convolution on input with NAN or inf results in NAN or inf output"
    for call in (lambda: pyconvx.conv(x, w, algorithm="fft"),
                 lambda: pyconvx.convolve(x[0, 1], np.inf * w[0, 0], method="fft")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = call()
        # that one warning, not NumPy's "invalid value" from inside the transforms
        assert [str(warning.message) for warning in caught] == [message]
        assert caught[0].category is RuntimeWarning
        assert np.isnan(got).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the default path keeps NaN local, silently
        assert not np.isnan(pyconvx.conv(x, w)).all()


def test_fft_nan_is_one_nan_for_every_layout(rng):
    """With NaN and Inf in the operands the FFT path's NaNs are one NaN (their sign and
    payload followed the transforms' order, hence the input's memory layout)."""
    x = rng.standard_normal((2, 1, 1, 3, 4)).astype(np.float32)
    w = np.array([np.nan, np.inf, -np.inf, -0.0, 1.0, -2.5], np.float32).reshape(1, 1, 1, 3, 2)
    kwargs = dict(padding=(0, 1, 2), algorithm="fft")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = pyconvx.conv(x, w, **kwargs)
        for layout in (np.asfortranarray(x), x[::-1].copy()[::-1], np.repeat(x, 2, -1)[..., ::2]):
            assert_bitwise_equal(pyconvx.conv(layout, w, **kwargs), expected)
        assert_bitwise_equal(pyconvx.conv(x, np.asfortranarray(w), **kwargs), expected)
        plane = pyconvx.correlate(np.asfortranarray(x[0, 0, 0]), w[0, 0, 0], method="fft")
        assert_bitwise_equal(pyconvx.correlate(x[0, 0, 0].copy(), w[0, 0, 0], method="fft"),
                             plane)
    assert np.isnan(expected).all()


# ----------------------------------------------------------------------------- channels-last
CHANNELS_LAST_CASES = [case for case in GRID if len(case[2]) <= 5]


def _channels_first(array, batched):
    return np.ascontiguousarray(np.moveaxis(array, -1, 1 if batched else 0))


@pytest.mark.parametrize("case", CHANNELS_LAST_CASES, ids=[c[0] for c in CHANNELS_LAST_CASES])
def test_channels_last_bitwise_equals_channels_first(case, algorithm, rng):
    """(N, *spatial, C) in and out, read and written through strides: the bits of the
    channels-first call on the transposed arrays, for every algorithm."""
    _name, x_shape, w_shape, kwargs = case
    batched = len(x_shape) == len(w_shape)
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
    x_last = np.moveaxis(x, 1 if batched else 0, -1).copy()
    expected = conv_or_refusal(algorithm, x, w, b, **kwargs)
    if expected is None:
        return
    got = pyconvx.conv(x_last, w, b, data_format="channels_last", algorithm=algorithm,
                       **kwargs)
    assert got.shape == np.moveaxis(expected, 1 if batched else 0, -1).shape
    assert got.flags.c_contiguous
    assert_bitwise_equal(_channels_first(got, batched), expected)


def test_channels_last_out_layers_and_shapes(rng):
    x, w, b = make_problem(rng, (2, 9, 10, 6), (4, 6, 3, 3), dtype=np.float64)
    kwargs = dict(padding=1, stride=(1, 2), data_format="channels_last")
    got = pyconvx.conv(x, w, b, **kwargs)
    assert got.shape == pyconvx.output_shape(x.shape, w.shape, padding=1, stride=(1, 2),
                                             data_format="channels_last") == (2, 9, 5, 4)
    out = np.empty_like(got)
    assert pyconvx.conv(x, w, b, out=out, **kwargs) is out
    assert_bitwise_equal(out, got)
    assert_bitwise_equal(pyconvx.conv2d(x[1], w, b, **kwargs), got[1])   # unbatched
    layer = pyconvx.Conv2d(6, 4, 3, padding=1, stride=(1, 2), data_format="channels_last",
                           seed=3)
    assert layer.output_shape(x.shape) == (2, 9, 5, 4)
    assert_bitwise_equal(layer(x), pyconvx.conv(x, layer.weight, layer.bias, **kwargs))
    assert "data_format='channels_last'" in repr(layer)
    assert pyconvx.plan(x, w, **kwargs).records[0].fields["out_unit_stride"] is False
    with pytest.raises(ValueError, match=r"data_format must be one of 'channels_first', "
                                         r"'channels_last'; got 'NHWC'"):
        pyconvx.conv(x, w, data_format="NHWC")
    with pytest.raises(ValueError, match=r"x must have shape \(N, \*spatial, C_in\) or "
                                         r"\(\*spatial, C_in\) with 2 spatial dims"):
        pyconvx.conv(x[0, 0], w, data_format="channels_last")
