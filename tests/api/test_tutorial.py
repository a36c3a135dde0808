"""The convolution tutorial's worked examples, verbatim and exact (integer data, float64)."""

import numpy as np
import pytest

import pyconvx

from _reference import conv_loops

SOBEL_X = [[-1, 0, 1],
           [-2, 0, 2],
           [-1, 0, 1]]

GRADIENT_5x5 = [[10, 20, 30, 40, 50],
                [20, 40, 60, 80, 100],
                [30, 60, 90, 120, 150],
                [40, 80, 120, 160, 200],
                [50, 100, 150, 200, 250]]


def conv2d_single(image, kernel, **kwargs):
    """One image, one kernel, through the batched 4-d API."""
    x = np.asarray(image, dtype=float)[None, None]
    w = np.asarray(kernel, dtype=float)[None, None]
    return pyconvx.conv(x, w, **kwargs)[0, 0]


def test_1d_difference_kernel():
    # [1, 0, -1] computes signal[n] - signal[n+2] (cross-correlation)
    got = pyconvx.conv(np.array([[[1, 2, 3, 4, 5]]], float), np.array([[[1, 0, -1]]], float))
    np.testing.assert_array_equal(got, [[[-2.0, -2.0, -2.0]]])
    got = pyconvx.conv1d(np.array([[1, 2, 3, 4, 5]]), np.array([[[1, 0, -1]]]))  # unbatched, ints
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[-2.0, -2.0, -2.0]])


def test_1d_true_convolution_flips():
    got = pyconvx.conv(np.array([[[1, 2, 3, 4, 5]]], float), np.array([[[1, 0, -1]]], float), flip=True)
    np.testing.assert_array_equal(got, [[[2.0, 2.0, 2.0]]])


def test_sobel_x_on_gradient_image():
    expected = [[160, 160, 160],
                [240, 240, 240],
                [320, 320, 320]]
    got = conv2d_single(GRADIENT_5x5, SOBEL_X)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(conv_loops(GRADIENT_5x5, SOBEL_X), expected)
    # top-left window by hand: -10 + 0 + 30 - 40 + 0 + 120 - 30 + 0 + 90
    assert got[0, 0] == -10 + 0 + 30 - 40 + 0 + 120 - 30 + 0 + 90 == 160


def test_sobel_x_float32_exact():
    x = np.asarray(GRADIENT_5x5, np.float32)[None, None]
    w = np.asarray(SOBEL_X, np.float32)[None, None]
    got = pyconvx.conv2d(x, w)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got[0, 0], [[160, 160, 160], [240, 240, 240], [320, 320, 320]])


def test_binary_image_diagonal_kernel():
    image = [[1, 1, 1, 0],
             [1, 1, 0, 0],
             [1, 0, 0, 0],
             [0, 0, 0, 0]]
    kernel = [[1, 0, -1],
              [0, 0, 0],
              [-1, 0, 1]]
    # by hand: (0,0) 1-1-1+0 = -1; (0,1) 1-0-0+0 = 1; (1,0) 1-0-0+0 = 1; (1,1) 1-0-0+0 = 1
    expected = [[-1, 1],
                [1, 1]]
    np.testing.assert_array_equal(conv2d_single(image, kernel), expected)
    np.testing.assert_array_equal(conv_loops(image, kernel), expected)


def test_rgb_4x4x3_example():
    red = [[255, 200, 150, 100], [220, 180, 140, 80], [180, 140, 100, 60], [140, 100, 60, 40]]
    green = [[100, 120, 140, 160], [80, 100, 120, 140], [60, 80, 100, 120], [40, 60, 80, 100]]
    blue = [[50, 80, 110, 140], [70, 100, 130, 160], [90, 120, 150, 180], [110, 140, 170, 200]]
    k_red = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    k_green = [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    k_blue = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    x = np.array([red, green, blue], float)  # unbatched (C=3, H, W)
    w = np.array([[k_red, k_green, k_blue]], float)  # (C_out=1, C_in=3, 3, 3)
    got = pyconvx.conv2d(x, w)
    assert got.shape == (1, 2, 2)
    np.testing.assert_array_equal(got[0], [[345, 380], [320, 320]])
    # per-channel contributions at (0, 0): R 345, G 0, B 0
    per_channel = [pyconvx.conv2d(x[c:c + 1], w[:, c:c + 1])[0, 0, 0] for c in range(3)]
    assert per_channel == [345, 0, 0]


def test_rgb_2x2x3_single_output():
    image = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]])
    kernel = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, 1], [1, 1]]])
    per_channel = [pyconvx.conv(image[c:c + 1], kernel[None, c:c + 1])[0, 0, 0] for c in range(3)]
    assert per_channel == [5, 13, 42]
    got = pyconvx.conv(image, kernel[None])
    assert got.shape == (1, 1, 1)
    assert got[0, 0, 0] == 60


def test_3x3_with_2x2_gives_minus_four():
    x = [[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]]
    k = [[1., 0.], [0., -1.]]
    np.testing.assert_array_equal(conv2d_single(x, k), [[-4, -4], [-4, -4]])


def test_true_convolution_vs_correlation_asymmetric():
    x = np.arange(25, dtype=float).reshape(5, 5) ** 2
    k = np.array([[1, 2, 0], [0, -1, 3], [4, 0, 0]], float)
    corr = conv2d_single(x, k)
    conv = conv2d_single(x, k, flip=True)
    np.testing.assert_array_equal(corr, conv_loops(x, k))
    np.testing.assert_array_equal(conv, conv_loops(x, k[::-1, ::-1]))
    assert not np.array_equal(corr, conv)
    # symmetric kernel: both agree
    sym = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], float)
    np.testing.assert_array_equal(conv2d_single(x, sym), conv2d_single(x, sym, flip=True))


def test_true_convolution_commutes():
    f = np.array([1., 2., 3., 4., 5.])
    g = np.array([1., 0., -1.])
    fg = pyconvx.conv(f[None, None], g[None, None], padding="full", flip=True)[0, 0]
    gf = pyconvx.conv(g[None, None], f[None, None], padding="full", flip=True)[0, 0]
    np.testing.assert_array_equal(fg, gf)
    np.testing.assert_array_equal(fg, np.convolve(f, g))


@pytest.mark.parametrize("args,expected", [
    ((3, 64, 3), 1792),
    ((64, 128, 3), 73856),
    ((3, 32, 5), 2432),
    ((3, 64, (3, 3)), 1792),
    ((3, 64, 3, False), 1728),
])
def test_param_counts(args, expected):
    assert pyconvx.param_count(*args) == expected


@pytest.mark.parametrize("args,kwargs,expected", [
    ((10, 4), {}, 7),                                   # quick check: length 10 with kernel 4
    ((5, 3), {}, 3),                                    # 5x5 with 3x3, no padding
    ((5, 3), dict(padding=1), 5),                       # P=1 keeps 5
    ((64, 5), dict(padding=2, stride=2), 32),           # quick check
    ((128, 5), dict(padding=2, stride=2), 64),          # exercise Q1
    ((224, 3), dict(padding=1, stride=1), 224),         # table rows
    ((224, 5), dict(padding=2, stride=1), 224),
    ((224, 3), dict(padding=1, stride=2), 112),
    ((224, 3), dict(padding=0, stride=1), 222),
    ((32, 3), dict(padding=1, stride=2), 16),
    ((32, 3), dict(padding=1), 32),
    ((7, 7), dict(padding=3), 7),                       # exercise Q3: 7x7 kernel needs P=3
    ((100, 7), dict(padding=3), 100),
])
def test_output_sizes(args, kwargs, expected):
    assert pyconvx.output_size(*args, **kwargs) == expected


def test_exercise_q1_shapes():
    assert pyconvx.output_shape((1, 3, 128, 128), (32, 3, 5, 5), stride=2, padding=2) == (1, 32, 64, 64)
    assert pyconvx.param_count(3, 32, 5) == 5 * 5 * 3 * 32 + 32 == 2432


def test_pytorch_examples_shapes():
    assert pyconvx.output_shape((8, 3, 32, 32), (16, 3, 3, 3), padding=1) == (8, 16, 32, 32)
    assert pyconvx.output_shape((8, 3, 32, 32), (16, 3, 3, 3), stride=2, padding=1) == (8, 16, 16, 16)
    assert pyconvx.output_shape((16, 3, 64, 64), (32, 3, 3, 3), padding=1) == (16, 32, 64, 64)


def test_seven_by_seven_same_padding():
    rng = np.random.default_rng(7)
    x = rng.integers(-9, 10, (1, 2, 7, 7)).astype(float)
    w = rng.integers(-3, 4, (1, 2, 7, 7)).astype(float)
    explicit = pyconvx.conv(x, w, padding=3)
    assert explicit.shape == (1, 1, 7, 7)
    np.testing.assert_array_equal(pyconvx.conv(x, w, padding="same"), explicit)


def test_padding_one_preserves_5x5():
    got = conv2d_single(GRADIENT_5x5, SOBEL_X, padding=1)
    assert got.shape == (5, 5)
    np.testing.assert_array_equal(got[1:-1, 1:-1], [[160] * 3, [240] * 3, [320] * 3])
    padded = np.pad(np.asarray(GRADIENT_5x5, float), 1)
    np.testing.assert_array_equal(got, conv_loops(padded, SOBEL_X))


def test_stride_two_visits_every_other_position():
    x = np.arange(49, dtype=float).reshape(7, 7)
    k = np.ones((3, 3))
    got = conv2d_single(x, k, stride=2)
    np.testing.assert_array_equal(got, conv_loops(x, k, stride=2))
    np.testing.assert_array_equal(got, conv2d_single(x, k)[::2, ::2])
