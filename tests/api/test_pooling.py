"""pyconvx.pooling against an independent NumPy reference and torch.nn.functional.

The reference below is written from torch's documented semantics, one window
at a time in float64: taps at ``start + i * dilation``, padding that never wins
(max) or counts as zero (average), the divisor of ``count_include_pad``, the
first maximum in row-major order (a NaN wins, the last one), gradients added
in row-major order of the outputs.  torch is the oracle where installed.
"""

import importlib.util
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import numpy as np
import pytest

import pyconvx
from pyconvx import pooling as pooling_module
from pyconvx._engine import pooling as pooling_engine
from pyconvx.pooling import (
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_unpool2d,
    pool_output_size,
)

from _problems import LAYOUTS
from _reference import assert_bitwise_equal
from conftest import child_env

if importlib.util.find_spec("torch") is None:  # the oracle is optional
    torch = None
else:  # installed: an import error is a failure, not a skip
    import torch

    F = torch.nn.functional
    # torch's idle OpenMP team spins between calls and would compete with ours.
    torch.set_num_threads(1)

needs_torch = pytest.mark.skipif(torch is None, reason="torch (the oracle) is not installed")

GRID = list(
    itertools.product(
        [(5, 5), (6, 7), (2, 9)],  # spatial input
        [1, 2, 3, (2, 3)],  # kernel_size
        [None, 1, 2, (3, 1)],  # stride
        [0, 1, (1, 0)],  # padding
        [False, True],  # ceil_mode
    )
)


# ----------------------------------------------------------------------------- the reference
def _pair(value, default=None):
    if value is None or (isinstance(value, tuple) and len(value) == 0):
        return default
    if isinstance(value, (tuple, list)):
        return (value[0], value[0]) if len(value) == 1 else tuple(value)
    return (value, value)


def _out_length(size, kernel, stride, pad, dilation, ceil_mode):
    """torch's pooling output length, written out from its documentation."""
    numerator = size + 2 * pad - dilation * (kernel - 1) - 1
    if ceil_mode:
        length = -(-numerator // stride) + 1
        if (length - 1) * stride >= size + pad:  # the last window must start inside
            length -= 1
        return length
    return numerator // stride + 1


class _Windows:
    """The windows of one pooling problem on (H, W) planes."""

    def __init__(self, in_hw, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        self.in_hw = tuple(in_hw)
        self.kernel = _pair(kernel_size)
        self.stride = _pair(stride, self.kernel)
        self.pad = _pair(padding)
        self.dilation = _pair(dilation)
        self.out_hw = tuple(_out_length(*args, ceil_mode) for args in zip(
            self.in_hw, self.kernel, self.stride, self.pad, self.dilation))

    def taps(self, oh, ow):
        """(row, col) of every tap of window (oh, ow) inside the input, row-major."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel, self.stride, self.pad, self.dilation
        h, w = self.in_hw
        for i in range(kh):
            row = oh * sh - ph + i * dh
            for j in range(kw):
                col = ow * sw - pw + j * dw
                if 0 <= row < h and 0 <= col < w:
                    yield row, col

    def padded_extent(self, oh, ow):
        """torch's count_include_pad divisor: the window clipped to the padded input."""
        extent = 1
        for o, k, s, p, size in zip((oh, ow), self.kernel, self.stride, self.pad, self.in_hw):
            start = o * s - p
            extent *= min(start + k, size + p) - start
        return extent

    def outputs(self):
        return itertools.product(range(self.out_hw[0]), range(self.out_hw[1]))


def _planes(x):
    """(N*C, H, W) float64 planes and a function putting results back in shape."""
    x = np.asarray(x, dtype=np.float64)
    lead = x.shape[:-2]
    return x.reshape((-1,) + x.shape[-2:]), lambda planes: planes.reshape(lead + planes.shape[1:])


def max_reference(x, *window_args):
    """(values, indices): the first maximum of each window in row-major order,
    a NaN winning (the last one); -inf and -1 for a window with no tap inside."""
    planes, back = _planes(x)
    windows = _Windows(planes.shape[1:], *window_args)
    values = np.empty((len(planes),) + windows.out_hw)
    indices = np.empty((len(planes),) + windows.out_hw, dtype=np.int64)
    for p, (oh, ow) in itertools.product(range(len(planes)), windows.outputs()):
        taps = list(windows.taps(oh, ow))
        best, where = -np.inf, (taps[0][0] * windows.in_hw[1] + taps[0][1]) if taps else -1
        for row, col in taps:
            value = planes[p, row, col]
            if value > best or np.isnan(value):
                best, where = value, row * windows.in_hw[1] + col
        values[p, oh, ow], indices[p, oh, ow] = best, where
    return back(values), back(indices)


def avg_reference(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                  count_include_pad=True, divisor_override=None):
    planes, back = _planes(x)
    windows = _Windows(planes.shape[1:], kernel_size, stride, padding, 1, ceil_mode)
    out = np.empty((len(planes),) + windows.out_hw)
    for p, (oh, ow) in itertools.product(range(len(planes)), windows.outputs()):
        taps = list(windows.taps(oh, ow))
        total = sum(planes[p, row, col] for row, col in taps)
        if divisor_override is not None:
            divisor = divisor_override
        else:
            divisor = windows.padded_extent(oh, ow) if count_include_pad else len(taps)
        out[p, oh, ow] = total / divisor
    return back(out)


def max_backward_reference(grad, x, *window_args):
    planes, back = _planes(x)
    grads, _ = _planes(grad)
    _, indices = max_reference(planes, *window_args)
    result = np.zeros_like(planes)
    for p in range(len(planes)):
        for (oh, ow), index in np.ndenumerate(indices[p]):
            if index >= 0:
                result[p].flat[index] += grads[p, oh, ow]
    return back(result)


def avg_backward_reference(grad, input_shape, kernel_size, stride=None, padding=0,
                           ceil_mode=False, count_include_pad=True, divisor_override=None):
    grads, _ = _planes(grad)
    windows = _Windows(input_shape[-2:], kernel_size, stride, padding, 1, ceil_mode)
    result = np.zeros((len(grads),) + tuple(input_shape[-2:]))
    for p, (oh, ow) in itertools.product(range(len(grads)), windows.outputs()):
        taps = list(windows.taps(oh, ow))
        if divisor_override is not None:
            divisor = divisor_override
        else:
            divisor = windows.padded_extent(oh, ow) if count_include_pad else len(taps)
        for row, col in taps:
            result[p, row, col] += grads[p, oh, ow] / divisor
    return result.reshape(input_shape)


def unpool_reference(x, indices, out_hw):
    planes, back = _planes(x)
    where, _ = _planes(indices)
    result = np.zeros((len(planes),) + tuple(out_hw))
    for p in range(len(planes)):
        for position, index in np.ndenumerate(where[p].astype(np.int64)):
            if index >= 0:
                result[p].flat[index] = planes[(p,) + position]
    return back(result)


# ----------------------------------------------------------------------------- oracles
def _torch_or_error(function, *args, **kwargs):
    try:
        return function(*args, **kwargs).numpy()
    except RuntimeError:
        return "error"


def _ours_or_error(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except ValueError:
        return "error"


@needs_torch
@pytest.mark.parametrize("spatial, kernel, stride, padding, ceil", GRID)
def test_against_torch(spatial, kernel, stride, padding, ceil):
    rng = np.random.default_rng(abs(hash((spatial, kernel, stride, padding, ceil))) % 2**32)
    x = rng.standard_normal((2, 3) + spatial)
    tx = torch.from_numpy(x)
    cases = [
        (max_pool2d, F.max_pool2d, {"dilation": 1}),
        (max_pool2d, F.max_pool2d, {"dilation": 2}),
        (avg_pool2d, F.avg_pool2d, {"count_include_pad": True}),
        (avg_pool2d, F.avg_pool2d, {"count_include_pad": False}),
    ]
    for ours, theirs, extra in cases:
        expected = _torch_or_error(theirs, tx, kernel, stride, padding, ceil_mode=ceil, **extra)
        got = _ours_or_error(ours, x, kernel, stride, padding, ceil_mode=ceil, **extra)
        if isinstance(expected, str) or isinstance(got, str):
            assert got == expected if isinstance(expected, str) else isinstance(got, np.ndarray)
            continue
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


REFERENCE_CASES = [
    # (x shape, kernel_size, stride, padding, dilation, ceil_mode)
    ((2, 3, 7, 6), 3, 2, 1, 1, False),
    ((2, 3, 7, 6), (2, 3), (1,), (1, 0), (2, 1), True),
    ((1, 2, 9, 8), (3,), (), 1, 1, True),
    ((3, 5, 6), 2, None, 0, 1, False),           # unbatched
    ((1, 1, 5, 5), 3, 1, 1, 3, False),           # dilated windows reaching past the input
    ((2, 2, 4, 9), (1, 4), (1, 3), (0, 2), 1, True),
    ((1, 3, 6, 6), 6, 1, 3, 1, True),            # windows larger than the input
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_max_pool_matches_reference(case, dtype, rng):
    shape, kernel, stride, padding, dilation, ceil = case
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::5] = x.flat[1::5][:x.flat[::5].size]  # equal neighbours: ties
    out, indices = max_pool2d(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    values, where = max_reference(x, kernel, stride, padding, dilation, ceil)
    assert out.dtype == dtype and indices.dtype == np.int64
    assert_bitwise_equal(out, values.astype(dtype))  # a pure selection: exact
    assert_bitwise_equal(indices, where)
    assert_bitwise_equal(max_pool2d(x, kernel, stride, padding, dilation, ceil), out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_max_pool_backward_and_unpool_match_reference(case, dtype, rng):
    shape, kernel, stride, padding, dilation, ceil = case
    x = rng.standard_normal(shape).astype(dtype)
    out, indices = max_pool2d(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    grad = rng.integers(-8, 9, out.shape).astype(dtype)  # integer data: sums are exact
    got = max_pool2d_backward(grad, x, kernel, stride, padding, dilation, ceil)
    assert got.dtype == dtype
    assert_bitwise_equal(got, max_backward_reference(grad, x, kernel, stride, padding, dilation,
                                                     ceil).astype(dtype))
    size = _unpool_size(shape, out.shape, kernel, stride, padding)
    if size is not None:   # else x's size is out of the unpooling's reach (as in torch)
        unpooled = max_unpool2d(out, indices, kernel, stride, padding, output_size=size)
        assert_bitwise_equal(unpooled, unpool_reference(out, indices, size).astype(dtype))


def _unpool_size(x_shape, pooled_shape, kernel, stride, padding):
    """x's size when max_unpool2d may give it (within stride of the default), else None."""
    kernel, padding = _pair(kernel), _pair(padding)
    stride = _pair(stride, kernel)
    default = [(p - 1) * s - 2 * q + k for p, s, q, k in zip(pooled_shape[-2:], stride, padding,
                                                              kernel)]
    fits = all(d - s < size < d + s for d, s, size in zip(default, stride, x_shape[-2:]))
    return tuple(x_shape[-2:]) if fits else None


AVG_CASES = [
    # (x shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    ((2, 3, 7, 6), 3, 2, 1, False, True, None),
    ((2, 3, 7, 6), (2, 3), (1,), (1, 0), True, False, None),
    ((1, 2, 9, 8), (3,), (), 1, True, True, None),
    ((3, 5, 6), 2, None, 0, False, True, 3),
    ((2, 2, 4, 9), (1, 4), (1, 3), (0, 2), True, True, -2),
    ((1, 3, 6, 6), 6, 1, 3, True, False, None),
    ((1, 3, 5, 5), 4, 3, 2, True, True, None),    # ceil_mode windows past the padded input
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool_and_backward_match_reference(case, dtype, rng):
    shape, kernel, stride, padding, ceil, include, divisor = case
    x = rng.standard_normal(shape).astype(dtype)
    got = avg_pool2d(x, kernel, stride, padding, ceil, include, divisor)
    expected = avg_reference(x, kernel, stride, padding, ceil, include, divisor)
    assert got.dtype == dtype and got.shape == expected.shape
    # the sum is formed in float64 and divided once: one rounding to the dtype
    np.testing.assert_allclose(got, expected, rtol=np.finfo(dtype).eps, atol=0)
    grad = rng.integers(-8, 9, got.shape).astype(dtype) * 12
    back = avg_pool2d_backward(grad, shape, kernel, stride, padding, ceil, include, divisor)
    assert back.dtype == dtype and back.shape == shape
    # each of the (at most 9) shares is rounded, then added in the dtype
    window = (kernel, stride, padding, ceil, include, divisor)
    exact = avg_backward_reference(grad, shape, *window)
    scale = avg_backward_reference(np.abs(grad), shape, *window)
    assert (np.abs(back - exact) <= 10 * np.finfo(dtype).eps * np.abs(scale)).all()


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_max_pool_indices_gradient_and_unpool_equal_torch(case, dtype, rng):
    shape, kernel, stride, padding, dilation, ceil = case
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::5] = x.flat[1::5][:x.flat[::5].size]  # ties: the first maximum wins in both
    out, indices = max_pool2d(x, kernel, stride, padding, dilation, ceil, return_indices=True)
    tx = torch.from_numpy(x).requires_grad_(True)
    t_out, t_indices = F.max_pool2d(tx, kernel, stride, padding, dilation, ceil,
                                    return_indices=True)
    empty = indices < 0   # no tap inside the input: -1 here, a stray index in torch
    assert_bitwise_equal(out, t_out.detach().numpy())
    assert_bitwise_equal(indices[~empty], t_indices.numpy()[~empty])
    grad = rng.standard_normal(out.shape).astype(dtype)
    if not empty.any():   # torch adds an empty window's gradient at its stray index
        (t_grad,) = torch.autograd.grad(t_out, tx, torch.from_numpy(grad))
        assert_bitwise_equal(max_pool2d_backward(grad, x, kernel, stride, padding, dilation,
                                                 ceil), t_grad.numpy())
    size = _unpool_size(shape, out.shape, kernel, stride, padding)
    if size is not None and not empty.any() and len(_pair(kernel)) == 2 and (
            isinstance(kernel, int) or len(kernel) == 2):
        t_unpooled = F.max_unpool2d(t_out.detach(), t_indices, kernel, stride or None, padding,
                                    output_size=size)
        assert_bitwise_equal(max_unpool2d(out, indices, kernel, stride, padding,
                                          output_size=size), t_unpooled.numpy())


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool_gradient_equals_torch(case, dtype, rng):
    """The gradient uses torch's arithmetic: the same bits as its autograd."""
    shape, kernel, stride, padding, ceil, include, divisor = case
    x = rng.standard_normal(shape).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_(True)
    t_out = F.avg_pool2d(tx, kernel, stride, padding, ceil, include, divisor)
    got = avg_pool2d(x, kernel, stride, padding, ceil, include, divisor)
    np.testing.assert_allclose(got, t_out.detach().numpy(), rtol=4 * np.finfo(dtype).eps,
                               atol=4 * np.finfo(dtype).eps)
    grad = rng.standard_normal(got.shape).astype(dtype)
    (t_grad,) = torch.autograd.grad(t_out, tx, torch.from_numpy(grad))
    assert_bitwise_equal(avg_pool2d_backward(grad, shape, kernel, stride, padding, ceil,
                                             include, divisor), t_grad.numpy())


@needs_torch
def test_float32_unbatched_and_threads():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 13, 11)).astype(np.float32)
    tx = torch.from_numpy(x)
    for threads in (1, 2, 3):
        result = max_pool2d(x, 3, 2, 1, ceil_mode=True, threads=threads)
        assert result.dtype == np.float32
        np.testing.assert_array_equal(result, F.max_pool2d(tx, 3, 2, 1, ceil_mode=True).numpy())
        mean = avg_pool2d(x, (3, 2), 2, (1, 1), ceil_mode=True, count_include_pad=False, threads=threads)
        assert mean.dtype == np.float32
        np.testing.assert_allclose(
            mean,
            F.avg_pool2d(tx, (3, 2), 2, (1, 1), ceil_mode=True, count_include_pad=False).numpy(),
            rtol=1e-5,
            atol=1e-6,
        )
        np.testing.assert_array_equal(mean, avg_pool2d(x, (3, 2), 2, (1, 1), True, False, threads=1))


@needs_torch
def test_integer_input_and_layouts():
    x = np.arange(2 * 3 * 8 * 6).reshape(2, 3, 8, 6)
    result = max_pool2d(x, 2)
    assert result.dtype == np.float64
    np.testing.assert_array_equal(result, F.max_pool2d(torch.from_numpy(x.astype(float)), 2).numpy())
    view = np.asfortranarray(x.astype(float))[:, :, ::-1, ::2]
    view.flags.writeable = False
    np.testing.assert_array_equal(avg_pool2d(view, 2), avg_pool2d(view.copy(), 2))


@needs_torch
def test_torch_spellings():
    """One-element tuples mean both dims; stride None or () means the kernel size."""
    x = np.random.default_rng(3).standard_normal((2, 9, 8))
    tx = torch.from_numpy(x)
    for kernel, stride, padding in [((3,), (), (1,)), ((2,), None, 0), (3, (2,), (1,)),
                                    ([2, 3], [], [1, 0])]:
        np.testing.assert_array_equal(max_pool2d(x, kernel, stride, padding),
                                      F.max_pool2d(tx, kernel, stride, padding).numpy())
        np.testing.assert_allclose(avg_pool2d(x, kernel, stride, padding),
                                   F.avg_pool2d(tx, kernel, stride, padding).numpy(),
                                   rtol=1e-15, atol=1e-15)
    assert_bitwise_equal(max_pool2d(x, (3,), (), (1,)), max_pool2d(x, 3, 3, 1))


# ----------------------------------------------------------------------------- NaN and Inf
def _window_mask(shape, windows, row, col):
    """Which outputs of one plane have the input (row, col) among their taps."""
    mask = np.zeros(windows.out_hw, dtype=bool)
    for oh, ow in windows.outputs():
        mask[oh, ow] = (row, col) in set(windows.taps(oh, ow))
    return mask


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_nonfinite_reach_exactly_their_windows(value, dtype, rng):
    """Max: NaN and +inf are exactly the outputs whose window holds them; -inf
    never wins over a finite value.  Average: NaN and +-inf reach exactly the
    windows holding them, and inf stays inf (no inf - inf in these windows)."""
    args = ((3, 3), 2, 1)
    x = rng.uniform(1, 2, (1, 2, 9, 10)).astype(dtype)
    x[0, 1, 4, 8] = value
    windows = _Windows((9, 10), *args)
    holds = _window_mask(x.shape, windows, 4, 8)
    for data_format in ("channels_first", "channels_last"):
        data = x if data_format == "channels_first" else np.moveaxis(x, 1, -1)
        top = max_pool2d(data, *args, data_format=data_format)
        mean = avg_pool2d(data, *args, data_format=data_format)
        if data_format == "channels_last":
            top, mean = np.moveaxis(top, -1, 1), np.moveaxis(mean, -1, 1)
        assert np.isfinite(top[0, 0]).all() and np.isfinite(mean[0, 0]).all()
        if np.isnan(value) or value > 0:
            assert_bitwise_equal(np.isnan(top[0, 1]) if np.isnan(value) else top[0, 1] == value,
                                 holds)
        else:
            assert np.isfinite(top[0, 1]).all()
        assert np.isfinite(top[0, 1][~holds]).all()
        if np.isnan(value):
            assert_bitwise_equal(np.isnan(mean[0, 1]), holds)
        else:
            assert_bitwise_equal(mean[0, 1] == value, holds)
        assert np.isfinite(mean[0, 1][~holds]).all()


def test_inf_minus_inf_in_a_window_is_nan():
    x = np.zeros((1, 4, 4))
    x[0, 0, 0], x[0, 0, 1] = np.inf, -np.inf
    mean = avg_pool2d(x, 2)
    assert np.isnan(mean[0, 0, 0]) and np.isfinite(mean[0].ravel()[1:]).all()
    assert max_pool2d(x, 2)[0, 0, 0] == np.inf
    assert max_pool2d(np.full((1, 2, 2), -np.inf), 2)[0, 0, 0] == -np.inf


def test_nan_index_is_the_last_nan():
    x = np.array([[[1.0, np.nan, 3.0, np.nan]]])
    out, indices = max_pool2d(x, (1, 4), return_indices=True)
    assert np.isnan(out[0, 0, 0]) and indices[0, 0, 0] == 3
    out, indices = max_pool2d(np.full((1, 1, 3), -np.inf), (1, 3), return_indices=True)
    assert out[0, 0, 0] == -np.inf and indices[0, 0, 0] == 0


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nonfinite_gradients_reach_exactly_their_windows(value, rng):
    x = rng.standard_normal((1, 1, 8, 8))
    grad = np.ones((1, 1, 4, 4))
    grad[0, 0, 1, 2] = value
    back = avg_pool2d_backward(grad, x.shape, 2)
    holds = np.zeros((8, 8), dtype=bool)
    holds[2:4, 4:6] = True
    assert_bitwise_equal(~np.isfinite(back[0, 0]), holds)
    top = max_pool2d_backward(grad, x, 2)
    _, where = max_pool2d(x, 2, return_indices=True)
    assert_bitwise_equal(np.flatnonzero(~np.isfinite(top[0, 0])), where[0, 0, 1, 2:3])


# ----------------------------------------------------------------------------- layouts
LAYOUT_CALLS = {
    "max_pool2d": lambda x, **kw: max_pool2d(x, 3, 2, 1, 2, True, True, **kw),
    "avg_pool2d": lambda x, **kw: avg_pool2d(x, (3, 2), (2, 1), 1, True, False, **kw),
    "avg_divisor": lambda x, **kw: avg_pool2d(x, 2, divisor_override=3, **kw),
}


def _channels_last(array):
    return np.moveaxis(array, 1 if array.ndim == 4 else 0, -1)


def _channels_first(array):
    return np.moveaxis(array, -1, 1 if array.ndim == 4 else 0)


@pytest.mark.parametrize("name", sorted(LAYOUT_CALLS))
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_channels_last_bitwise_equal(name, batched, dtype, rng):
    x = rng.standard_normal((2, 5, 11, 9)).astype(dtype)
    if not batched:
        x = x[0]
    expected = LAYOUT_CALLS[name](x)
    for data in (np.ascontiguousarray(_channels_last(x)), _channels_last(x)):
        got = LAYOUT_CALLS[name](data, data_format="channels_last")
        for g, e in zip(got if isinstance(got, tuple) else (got,),
                        expected if isinstance(expected, tuple) else (expected,)):
            assert g.flags.c_contiguous
            assert_bitwise_equal(_channels_first(g), e)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_gradients_and_unpool_channels_last_bitwise_equal(dtype, rng):
    x = rng.standard_normal((2, 3, 10, 7)).astype(dtype)
    xl = np.ascontiguousarray(_channels_last(x))
    out, indices = max_pool2d(x, 3, 2, 1, return_indices=True)
    grad = rng.standard_normal(out.shape).astype(dtype)
    grad_l = np.ascontiguousarray(_channels_last(grad))
    last = {"data_format": "channels_last"}
    assert_bitwise_equal(_channels_first(max_pool2d_backward(grad_l, xl, 3, 2, 1, **last)),
                         max_pool2d_backward(grad, x, 3, 2, 1))
    assert_bitwise_equal(_channels_first(avg_pool2d_backward(grad_l, xl.shape, 3, 2, 1, **last)),
                         avg_pool2d_backward(grad, x.shape, 3, 2, 1))
    out_l, indices_l = max_pool2d(xl, 3, 2, 1, return_indices=True, **last)
    assert_bitwise_equal(_channels_first(indices_l), indices)
    for size in ((10, 7), (2, 10, 7, 3)):
        assert_bitwise_equal(_channels_first(max_unpool2d(out_l, indices_l, 3, 2, 1, size, **last)),
                             max_unpool2d(out, indices, 3, 2, 1, (10, 7)))


@pytest.mark.parametrize("layout", sorted(LAYOUTS) + ["broadcast"])
def test_any_input_layout_same_bits(layout, rng):
    """Every layout of every input (misaligned ones too) gives the bits of a
    C-contiguous copy, and no input is modified."""
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    out, indices = max_pool2d(x, 3, 2, 1, return_indices=True)
    if layout == "broadcast":
        x = np.broadcast_to(x[:1], x.shape)
        out, indices = max_pool2d(x, 3, 2, 1, return_indices=True)
        y, grad, where = x, out, indices
    else:
        y, grad, where = (LAYOUTS[layout](a) for a in (x, out, indices))
    before = [np.array(a, copy=True) for a in (y, grad, where)]
    got, got_indices = max_pool2d(y, 3, 2, 1, return_indices=True)
    assert_bitwise_equal(got, out.astype(got.dtype))
    assert_bitwise_equal(got_indices, indices)
    assert_bitwise_equal(avg_pool2d(y, 3, 2, 1), avg_pool2d(x, 3, 2, 1))
    assert_bitwise_equal(max_pool2d_backward(grad, y, 3, 2, 1), max_pool2d_backward(out, x, 3, 2, 1))
    assert_bitwise_equal(avg_pool2d_backward(grad, x.shape, 3, 2, 1),
                         avg_pool2d_backward(out, x.shape, 3, 2, 1))
    assert_bitwise_equal(max_unpool2d(grad, where, 3, 2, 1, (9, 8)),
                         max_unpool2d(out, indices, 3, 2, 1, (9, 8)))
    for after, saved in zip((y, grad, where), before):
        assert_bitwise_equal(np.asarray(after), saved)


# ----------------------------------------------------------------------------- threads, chunks
THREAD_CALLS = {
    "max": lambda x, g, **kw: max_pool2d(x, 3, 1, 1, 2, return_indices=True, **kw),
    "avg": lambda x, g, **kw: avg_pool2d(x, 4, 1, 2, True, False, **kw),
    "max_backward": lambda x, g, **kw: max_pool2d_backward(g[..., 2:, 2:], x, 3, 1, 1, 2, **kw),
    "avg_backward": lambda x, g, **kw: avg_pool2d_backward(g, x.shape, 3, 1, 1, **kw),
    "unpool": lambda x, g, **kw: max_unpool2d(
        *max_pool2d(x, 3, 1, 1, return_indices=True), 3, 1, 1, **kw),
}


@pytest.mark.parametrize("name", sorted(THREAD_CALLS))
@pytest.mark.parametrize("shape", [(3, 5, 37, 29), (1, 1, 61, 67)], ids=["planes", "one-plane"])
def test_every_thread_count_and_chunking_same_bits(name, shape, rng, monkeypatch):
    """Bitwise identical for every thread count, and when the work is cut into
    many small chunks (the walk checks for Ctrl-C between them)."""
    x = rng.standard_normal(shape).astype(np.float32)
    grad = rng.standard_normal(shape[:2] + (shape[2], shape[3])).astype(np.float32)
    call = THREAD_CALLS[name]
    expected = call(x, grad, threads=1)
    for threads in (2, 3, 5):
        got = call(x, grad, threads=threads)
        for g, e in zip(got if isinstance(got, tuple) else (got,),
                        expected if isinstance(expected, tuple) else (expected,)):
            assert_bitwise_equal(g, e)
    for chunk, thread_counts in ((7, (1,)), (2000, (3,))):
        monkeypatch.setattr(pooling_engine, "CHUNK_TAPS", chunk)
        for threads in thread_counts:
            got = call(x, grad, threads=threads)
            for g, e in zip(got if isinstance(got, tuple) else (got,),
                            expected if isinstance(expected, tuple) else (expected,)):
                assert_bitwise_equal(g, e)


#: Windows of up to 13 x 11 taps (dilated for max pooling, clipped at the
#: borders) and their gradients: (x, grad, options) -> results, where
#: ``grad(pooled)`` is the gradient of a pooled output.
MAX_SPLIT_ARGS = ((13, 11), (3, 2), (6, 5), (1, 2), True)
AVG_SPLIT_ARGS = ((13, 11), (3, 2), (6, 5), True, False)
SPLIT_CALLS = {
    "max": lambda x, grad, **kw: max_pool2d(x, *MAX_SPLIT_ARGS, True, **kw),
    "max_values": lambda x, grad, **kw: max_pool2d(x, *MAX_SPLIT_ARGS, **kw),
    "avg": lambda x, grad, **kw: avg_pool2d(x, *AVG_SPLIT_ARGS, **kw),
    "avg_divisor": lambda x, grad, **kw: avg_pool2d(x, (9, 12), 2, 4, False, True, 7, **kw),
    "max_backward": lambda x, grad, **kw: max_pool2d_backward(
        grad(max_pool2d(x, *MAX_SPLIT_ARGS, **kw)), x, *MAX_SPLIT_ARGS, **kw),
    "avg_backward": lambda x, grad, **kw: avg_pool2d_backward(
        grad(avg_pool2d(x, *AVG_SPLIT_ARGS, **kw)), x.shape, *AVG_SPLIT_ARGS, **kw),
}


@pytest.mark.parametrize("name", sorted(SPLIT_CALLS))
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_windows_cut_into_pieces_same_bits(name, data_format, dtype, rng, monkeypatch):
    """A window of more than CHUNK_TAPS taps is walked in pieces (Ctrl-C is
    checked between them); its sum, or its maximum and the place of the first
    one (ties, NaN and -inf here), come out bitwise as from the whole window,
    for every piece size and thread count."""
    shape = (1, 3, 23, 19) if data_format == "channels_first" else (1, 23, 19, 3)
    x = rng.integers(-2, 3, shape).astype(dtype)
    x[rng.random(shape) < 0.05] = np.nan
    x[rng.random(shape) < 0.2] = -np.inf
    seed = int(rng.integers(2**32))

    def grad(pooled):
        return np.random.default_rng(seed).standard_normal(pooled.shape).astype(dtype)

    call = SPLIT_CALLS[name]
    expected = call(x, grad, data_format=data_format, threads=1)
    monkeypatch.setattr(pooling_module, "_WORK_PER_THREAD", 1)   # threads even on small work
    for chunk, threads in ((1, 1), (5, 2), (64, 3)):   # pieces of 1, 2 and 21 taps
        monkeypatch.setattr(pooling_engine, "CHUNK_TAPS", chunk)
        got = call(x, grad, data_format=data_format, threads=threads)
        for g, e in zip(got if isinstance(got, tuple) else (got,),
                        expected if isinstance(expected, tuple) else (expected,)):
            assert_bitwise_equal(g, e)


# ----------------------------------------------------------------------------- Ctrl-C
def _seconds_to_stop(call):
    """Run ``call`` while another thread sends one SIGINT 100 ms in; return the
    seconds from the signal to the KeyboardInterrupt, which must come out of
    the compiled pooling.pyx (a call that ends first gets no signal and fails)."""
    ended = threading.Event()
    sent = []

    def handler(signum, frame):
        if not ended.is_set():   # a signal racing the end of the call is dropped
            raise KeyboardInterrupt

    def bell():
        if not ended.wait(0.1):
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, handler)
    ringer = threading.Thread(target=bell)
    ringer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as raised:
            call()
        stopped = time.monotonic()
    finally:
        ended.set()
        ringer.join()
        signal.signal(signal.SIGINT, previous)
    frames = traceback.extract_tb(raised.value.__traceback__)
    assert any(frame.filename.endswith("pooling.pyx") for frame in frames), frames
    return stopped - sent[0]


def _zero_stride(shape):
    return np.lib.stride_tricks.as_strided(np.zeros(1, np.float32), shape, (0,) * len(shape))


#: Calls whose first output alone is a window of 2**33 taps (two input rows of
#: 2**32 zero-stride columns, the kernel clipped to them): seconds of work in
#: one output.
GIANT_WINDOW_CALLS = {
    "avg_pool2d": lambda: avg_pool2d(_zero_stride((1, 2, 2**32)), 2**32, (), 1, True, False,
                                     threads=1),
    "max_pool2d": lambda: max_pool2d(_zero_stride((2, 2, 2**32)), 2**32, (), 1, 1, True, True,
                                     threads=2),
}


@pytest.mark.parametrize("name", sorted(GIANT_WINDOW_CALLS))
def test_ctrl_c_stops_a_giant_window_within_a_second(name):
    """Ctrl-C during one window of billions of taps: the window is walked in
    pieces of about CHUNK_TAPS taps, so the KeyboardInterrupt comes out of the
    compiled walk well within a second of the signal."""
    assert _seconds_to_stop(GIANT_WINDOW_CALLS[name]) < 1.0


#: The gradients of one window over a whole 5000 x 5000 plane: with CHUNK_TAPS
#: set to 1, 25 million pieces of that window, a second of work or more (with
#: or without OpenMP).
ONE_WINDOW_GRADIENT_CALLS = {
    "max_pool2d_backward": lambda x: max_pool2d_backward(np.ones((1, 1, 1), x.dtype), x,
                                                         x.shape[1:], threads=1),
    "avg_pool2d_backward": lambda x: avg_pool2d_backward(np.ones((1, 1, 1), x.dtype), x.shape,
                                                         x.shape[1:], threads=1),
}


@pytest.mark.parametrize("name", sorted(ONE_WINDOW_GRADIENT_CALLS))
def test_ctrl_c_reaches_inside_one_gradient_window(name, monkeypatch):
    """Ctrl-C during the gradient of a single window: the KeyboardInterrupt comes
    out of the compiled walk between two pieces of the window."""
    monkeypatch.setattr(pooling_engine, "CHUNK_TAPS", 1)
    x = np.zeros((1, 5000, 5000), np.float32)
    assert _seconds_to_stop(lambda: ONE_WINDOW_GRADIENT_CALLS[name](x)) < 1.0


# ----------------------------------------------------------------------------- bounded work
def test_huge_windows_walk_only_the_input(rng):
    """A window is clipped to the input before it is walked: kernels of 2**28 and
    2**40 (padding half of them) cost what the input holds, not what they cover."""
    code = textwrap.dedent("""
        import numpy as np, pyconvx
        x = np.random.default_rng(0).standard_normal((2, 3, 5, 7))
        for k in (2**28, 2**40):
            top, where = pyconvx.max_pool2d(x, k, 1, k // 2, return_indices=True)
            mean = pyconvx.avg_pool2d(x, k, 1, k // 2)
            assert top.shape == mean.shape == (2, 3, 6, 8)
            assert (top == x.max(axis=(2, 3))[..., None, None]).all()
            assert np.allclose(mean, x.sum(axis=(2, 3))[..., None, None] / float(k) ** 2)
            grad = pyconvx.avg_pool2d_backward(np.ones(mean.shape), x.shape, k, 1, k // 2)
            assert np.allclose(grad, 48 / float(k) ** 2)
            pyconvx.max_pool2d_backward(np.ones(top.shape), x, k, 1, k // 2)
            pyconvx.max_pool2d(x, (k, 3), 1, (k // 2, 1), (1, 2))
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=child_env())
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def test_large_windows_match_the_reference_bounds(rng):
    """Windows far larger than the input, checked against the reference."""
    x = rng.standard_normal((1, 2, 4, 5))
    for kernel, padding in ((9, 4), (12, 6), ((8, 3), (4, 1))):
        out, indices = max_pool2d(x, kernel, 1, padding, return_indices=True)
        values, where = max_reference(x, kernel, 1, padding, 1, False)
        assert_bitwise_equal(out, values)
        assert_bitwise_equal(indices, where)
        np.testing.assert_allclose(avg_pool2d(x, kernel, 1, padding),
                                   avg_reference(x, kernel, 1, padding), rtol=1e-15)


# ----------------------------------------------------------------------------- small cases
@needs_torch
def test_nan_propagates_and_padding_is_minus_infinity():
    x = -np.ones((1, 4, 4)) * 5
    x[0, 1, 1] = np.nan
    result = max_pool2d(x, 2, padding=1)
    expected = F.max_pool2d(torch.from_numpy(x), 2, padding=1).numpy()
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))
    np.testing.assert_array_equal(result[~np.isnan(result)], expected[~np.isnan(expected)])
    assert (result[~np.isnan(result)] == -5).all()  # never the -inf padding, never 0


def test_empty_batch_and_seed_example():
    assert max_pool2d(np.ones((0, 3, 4, 4)), 2).shape == (0, 3, 2, 2)
    assert avg_pool2d(np.ones((2, 0, 4, 4), np.float32), 2).shape == (2, 0, 2, 2)
    out, indices = max_pool2d(np.ones((0, 3, 4, 4)), 2, return_indices=True)
    assert indices.shape == (0, 3, 2, 2) and indices.dtype == np.int64
    assert max_pool2d_backward(np.ones((0, 3, 2, 2)), np.ones((0, 3, 4, 4)), 2).shape == (0, 3, 4, 4)
    assert avg_pool2d_backward(np.ones((2, 0, 2, 2)), (2, 0, 4, 4), 2).shape == (2, 0, 4, 4)
    assert max_unpool2d(out, indices, 2).shape == (0, 3, 4, 4)
    # the tutorial's example: a 5x5 feature map, 2x2 max pooling -> 2x2
    assert max_pool2d(np.arange(25.0).reshape(1, 5, 5), 2).shape == (1, 2, 2)
    assert pool_output_size(5, 2, 2, 0) == 2
    x = np.arange(16.0).reshape(1, 4, 4)
    np.testing.assert_array_equal(max_pool2d(x, 2), [[[5, 7], [13, 15]]])
    np.testing.assert_array_equal(avg_pool2d(x, 2), [[[2.5, 4.5], [10.5, 12.5]]])
    # ceil_mode: a last window that starts inside the input is kept, clipped
    np.testing.assert_array_equal(max_pool2d(np.arange(25.0).reshape(1, 5, 5), 2, ceil_mode=True)[0, -1], [21, 23, 24])
    np.testing.assert_allclose(avg_pool2d(np.ones((1, 5, 5)), 2, ceil_mode=True)[0, -1], [1.0, 1.0, 1.0])
    # count_include_pad: padded zeros count in the divisor, or not
    assert avg_pool2d(np.ones((1, 2, 2)), 3, 1, 1)[0, 0, 0] == pytest.approx(4 / 9)
    assert avg_pool2d(np.ones((1, 2, 2)), 3, 1, 1, count_include_pad=False)[0, 0, 0] == 1.0


def test_window_without_input_taps_gives_minus_one():
    """A dilated window whose taps all fall in the padding: -inf and index -1;
    the gradient and unpooling skip it."""
    x = np.arange(4.0).reshape(1, 1, 4)
    out, indices = max_pool2d(x, (1, 2), 1, (0, 1), (1, 5), return_indices=True)
    assert out.tolist() == [[[-np.inf]]] and indices.tolist() == [[[-1]]]
    assert max_pool2d_backward(np.ones((1, 1, 1)), x, (1, 2), 1, (0, 1), (1, 5)).tolist() == [[[0.0] * 4]]
    unpooled = max_unpool2d(np.ones((1, 1, 2)), np.array([[[-1, 1]]]), (1, 2))
    assert unpooled.tolist() == [[[0.0, 1.0, 0.0, 0.0]]]


def test_unpool_later_duplicate_wins_and_output_size_forms():
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    indices = np.array([[[0, 0], [5, 0]]], dtype=np.int32)
    got = max_unpool2d(x, indices, 2)
    assert got.tolist() == [[[4.0, 0, 0, 0], [0, 3.0, 0, 0], [0] * 4, [0] * 4]]
    assert max_unpool2d(x, indices, 2, output_size=(5, 5)).shape == (1, 5, 5)
    assert max_unpool2d(x, indices, 2, output_size=(1, 5, 3)).shape == (1, 5, 3)
    assert max_unpool2d(x, indices.astype(np.uint8), 2).tolist() == got.tolist()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: max_pool2d(np.ones((4, 4)), 2), ValueError, r"\(N, C, H, W\) or unbatched \(C, H, W\), got shape \(4, 4\)"),
        (lambda: max_pool2d(np.ones((4, 4)), 2, data_format="channels_last"), ValueError, r"\(N, H, W, C\) or unbatched \(H, W, C\), got shape \(4, 4\)"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, data_format="NHWC"), ValueError, r"data_format must be one of 'channels_first', 'channels_last'; got 'NHWC'"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 3, padding=2), ValueError, "padding must be at most half of kernel_size"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 0), ValueError, "kernel_size must be >= 1"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, stride=0), ValueError, "stride must be >= 1"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2.0), TypeError, "kernel_size must be an int, got float 2.0"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), (2, 2, 2)), ValueError, r"kernel_size must be an int or a tuple of 1 or 2 ints, got 3 entries"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), ()), ValueError, r"kernel_size must be an int or a tuple of 1 or 2 ints, got 0 entries"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, dilation=(1, 1, 1)), ValueError, r"dilation must be an int or a tuple of 1 or 2 ints"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, stride=(1, 1, 1)), ValueError, r"stride must be an int or a tuple of 1 or 2 ints"),
        (lambda: max_pool2d(np.ones((1, 2, 2)), 3), ValueError, "the output would be empty"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, ceil_mode=1), TypeError, "ceil_mode must be a bool"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, return_indices=None), TypeError, "return_indices must be a bool"),
        (lambda: avg_pool2d(np.ones((1, 4, 4)), 2, count_include_pad="yes"), TypeError, "count_include_pad must be a bool"),
        (lambda: avg_pool2d(np.ones((1, 4, 4)), 2, divisor_override=0), ValueError, "divisor_override must not be 0"),
        (lambda: avg_pool2d(np.ones((1, 4, 4)), 2, divisor_override=2.0), TypeError, "divisor_override must be an int, got float 2.0"),
        (lambda: avg_pool2d(np.ones((1, 4, 4)), 2, divisor_override=2**63), ValueError, r"divisor_override must fit in 64 bits"),
        (lambda: avg_pool2d(np.ones((1, 4, 4), np.float16), 2), TypeError, "x has dtype float16"),
        (lambda: avg_pool2d(np.ones((1, 0, 4)), 2), ValueError, "spatial input must not be empty"),
        (lambda: avg_pool2d(np.ones((1, 4, 4)), 2, threads=0), ValueError, "threads must be >= 1"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2**61, padding=2**60), ValueError, "more than 64-bit arithmetic can index"),
        (lambda: max_pool2d_backward(np.ones((1, 2, 3)), np.ones((1, 4, 4)), 2), ValueError, r"grad_output must have shape \(1, 2, 2\) \(the max_pool2d output for an input of shape \(1, 4, 4\)\), got shape \(1, 2, 3\)"),
        (lambda: max_pool2d_backward(np.ones((1, 2, 2), np.complex64), np.ones((1, 4, 4)), 2), TypeError, "grad_output has dtype complex64"),
        (lambda: avg_pool2d_backward(np.ones((1, 2, 2)), (1, 4, 6), 2), ValueError, r"grad_output must have shape \(1, 2, 3\) \(the avg_pool2d output"),
        (lambda: avg_pool2d_backward(np.ones((2, 2)), (1, 4, 4), 2), ValueError, r"grad_output must have shape \(1, 2, 2\)"),
        (lambda: avg_pool2d_backward(np.ones((1, 2, 2)), (1, 4, 4.0), 2), TypeError, "input_shape entry must be an int, got float 4.0"),
        (lambda: avg_pool2d_backward(np.ones((1, 2, 2)), 16, 2), TypeError, "input_shape must be a tuple of ints"),
        (lambda: avg_pool2d_backward(np.ones((1, 2, 2)), (1, -4, 4), 2), ValueError, "input_shape must not hold negative sizes"),
        (lambda: avg_pool2d_backward(np.ones((1, 1, 1)), (1, 2**20, 2**20), 2**20), MemoryError, r"bytes"),
        (lambda: avg_pool2d_backward(np.ones((1, 1, 1)), (1, 2**40, 2**40), 2**40), ValueError, r"x has \d+ elements, more than 64-bit arithmetic can index"),
        (lambda: max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 2)), 2), TypeError, "indices must hold integers"),
        (lambda: max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 3), int), 2), ValueError, r"indices must have the shape of x \(1, 2, 2\), got shape \(1, 2, 3\)"),
        (lambda: max_unpool2d(np.ones((1, 2, 2)), np.full((1, 2, 2), 16), 2), ValueError, r"indices must be flat indices into the output plane, 0 <= i < 16 \(or -1: no input element\), got 16 at \(0, 0, 0\)"),
        (lambda: max_unpool2d(np.ones((1, 2, 2)), np.array([[[0, 1], [-2, 3]]]), 2), ValueError, r"got -2 at \(0, 1, 0\)"),
        (lambda: max_unpool2d(np.ones((1, 2, 2)), np.array([[[0, 1], [2, 2**64 - 1]]], np.uint64), 2), ValueError, r"got 18446744073709551615 at \(0, 1, 1\)"),
        (lambda: max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 2), int), 2, output_size=(6, 4)), ValueError, r"output_size \(6, 4\) must be within stride \(2, 2\) of the default size \(4, 4\)"),
        (lambda: max_unpool2d(np.ones((1, 2, 2)), np.zeros((1, 2, 2), int), 2, output_size=(4, 4, 4, 4)), ValueError, r"output_size must be \(H_out, W_out\) or the output's full shape \(3 entries\)"),
        (lambda: max_unpool2d(np.ones((1, 1, 1)), np.zeros((1, 1, 1), int), 1, 1, 1), ValueError, r"max_unpool2d: the output would be empty"),
        (lambda: pool_output_size(5, 2, 0, 0), ValueError, "stride must be >= 1, got 0"),
        (lambda: pool_output_size(5, 2.0, 1, 0), TypeError, "kernel_size must be an int, got float 2.0"),
        (lambda: pool_output_size(5, 2, 1, 0, ceil_mode=None), TypeError, "ceil_mode must be a bool"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_exports():
    for name in ("max_pool2d", "avg_pool2d", "max_unpool2d", "max_pool2d_backward",
                 "avg_pool2d_backward"):
        assert name in pyconvx.__all__
        assert getattr(pyconvx, name).__module__ == "pyconvx.pooling"
