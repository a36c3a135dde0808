"""pyconvx.pooling against torch.nn.functional over a grid of arguments."""

import itertools

import numpy as np
import pytest

from pyconvx.pooling import avg_pool2d, max_pool2d, pool_output_size

try:
    import torch
except ImportError:  # the oracle is optional
    torch = None
else:
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


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: max_pool2d(np.ones((4, 4)), 2), ValueError, r"\(N, C, H, W\) or unbatched \(C, H, W\), got shape \(4, 4\)"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 3, padding=2), ValueError, "padding must be at most half of kernel_size"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 0), ValueError, "kernel_size must be >= 1"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, stride=0), ValueError, "stride must be >= 1"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, padding=-1), ValueError, "padding must be >= 0"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2.0), TypeError, "kernel_size must be an int, got float 2.0"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), (2, 2, 2)), ValueError, "kernel_size must be an int or a tuple of 1 or 2 ints"),
        (lambda: max_pool2d(np.ones((1, 2, 2)), 3), ValueError, "the output would be empty"),
        (lambda: max_pool2d(np.ones((1, 4, 4)), 2, ceil_mode=1), TypeError, "ceil_mode must be a bool"),
        (lambda: avg_pool2d(np.ones((1, 4, 4)), 2, count_include_pad="yes"), TypeError, "count_include_pad must be a bool"),
        (lambda: avg_pool2d(np.ones((1, 4, 4), np.float16), 2), TypeError, "x has dtype float16"),
        (lambda: avg_pool2d(np.ones((1, 0, 4)), 2), ValueError, "spatial input must not be empty"),
        (lambda: avg_pool2d(np.ones((1, 4, 4)), 2, threads=0), ValueError, "threads must be >= 1"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
