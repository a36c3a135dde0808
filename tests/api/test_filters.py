"""pyconvx.filters: filter2d and edge_magnitude.

Oracles: scipy.signal.correlate2d per channel (its three boundaries) and
scipy.ndimage.correlate (the mirrored, replicated and periodic borders of
'same' filtering).
"""

import numpy as np
import pytest

from pyconvx import _ndimage_core, kernels
from pyconvx.filters import edge_magnitude, filter2d

scipy_signal = pytest.importorskip("scipy.signal")
scipy_ndimage = pytest.importorskip("scipy.ndimage")


@pytest.mark.parametrize("mode", ["same", "valid", "full"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("name", ["sobel_x", "emboss", "gaussian"])
def test_filter2d_matches_scipy_signal_per_channel(mode, boundary, name):
    rng = np.random.default_rng(7)
    kernel = kernels.get(name)
    gray = rng.integers(0, 256, (9, 11)).astype(np.uint8)
    colour = rng.integers(0, 256, (9, 11, 3)).astype(np.uint8)
    expected = scipy_signal.correlate2d(gray.astype(float), kernel, mode, boundary)
    np.testing.assert_allclose(filter2d(gray, kernel, mode, boundary), expected, atol=1e-9)
    result = filter2d(colour, kernel, mode, boundary)
    assert result.shape == expected.shape + (3,)
    assert result.dtype == np.float64
    channels_first = filter2d(np.moveaxis(colour, -1, 0), kernel, mode, boundary, channel_axis=0)
    for channel in range(3):
        expected = scipy_signal.correlate2d(colour[..., channel].astype(float), kernel, mode,
                                            boundary)
        np.testing.assert_allclose(result[..., channel], expected, atol=1e-9)
        np.testing.assert_allclose(channels_first[channel], expected, atol=1e-9)


@pytest.mark.parametrize("boundary, ndimage_mode", [("symmetric", "reflect"), ("reflect", "mirror"),
                                                    ("replicate", "nearest"), ("circular", "wrap"),
                                                    ("zeros", "constant")])
@pytest.mark.parametrize("shape", [(3, 3), (5, 5), (9, 9), (3, 7), (17, 17)])
def test_every_border_matches_scipy_ndimage(boundary, ndimage_mode, shape):
    """Odd kernels, 'same': scipy.ndimage.correlate with the same border, also wider than the image."""
    rng = np.random.default_rng(3)
    image = rng.standard_normal((8, 13, 2))
    kernel = rng.standard_normal(shape)
    result = filter2d(image, kernel, boundary=boundary)
    for channel in range(2):
        expected = scipy_ndimage.correlate(image[..., channel], kernel, mode=ndimage_mode)
        np.testing.assert_allclose(result[..., channel], expected, atol=1e-12 * np.abs(kernel).sum() * 4)


def test_default_border_draws_no_frame():
    """A flat image stays flat under a blur and has no edges, border included."""
    flat = np.full((6, 9), 7.0)
    np.testing.assert_allclose(filter2d(flat, kernels.box_blur(5)), flat)
    np.testing.assert_allclose(filter2d(flat, kernels.gaussian(sigma=2.0)), flat)
    np.testing.assert_array_equal(filter2d(flat, kernels.sobel_x()), 0)
    np.testing.assert_array_equal(edge_magnitude(flat), 0)
    # zero padding darkens the frame and draws an edge along it
    assert filter2d(flat, kernels.box_blur(), boundary="zeros")[0, 0] < 7
    assert edge_magnitude(flat, boundary="zeros")[0, 4] > 0


def test_even_kernel_same_centring_matches_scipy():
    rng = np.random.default_rng(1)
    image = rng.standard_normal((6, 7))
    kernel = rng.standard_normal((2, 4))
    np.testing.assert_allclose(filter2d(image, kernel, boundary="fill"),
                               scipy_signal.correlate2d(image, kernel, "same"), atol=1e-12)


def test_dtype_rule_and_float32_gallery():
    image32 = np.ones((5, 5), np.float32)
    assert filter2d(image32, np.ones((3, 3), np.float32)).dtype == np.float32
    assert filter2d(image32, kernels.box_blur()).dtype == np.float64
    for name in kernels.names():
        assert filter2d(image32, kernels.get(name, dtype=np.float32)).dtype == np.float32
    assert edge_magnitude(image32).dtype == np.float32
    assert edge_magnitude(np.ones((5, 5), np.uint8)).dtype == np.float64


def test_rank_one_kernel_runs_as_two_passes(monkeypatch):
    passes = []
    real_passes = _ndimage_core.correlate_passes
    monkeypatch.setattr(
        _ndimage_core, "correlate_passes",
        lambda x, steps, *args: passes.extend(s[0].shape for s in steps) or real_passes(x, steps, *args))
    rng = np.random.default_rng(5)
    image = rng.random((40, 50, 3), dtype=np.float32)
    kernel = kernels.gaussian(sigma=3.0, dtype=np.float32)   # 25 x 25
    result = filter2d(image, kernel)
    assert passes == [(25, 1, 1), (1, 25, 1)]
    exact = np.stack([scipy_ndimage.correlate(image[..., c].astype(float), kernel.astype(float))
                      for c in range(3)], axis=-1)
    assert result.dtype == np.float32
    # the passes' bound: (25 + 25 + 1) roundings of sum|w| * max|x| (= 1 here)
    assert np.abs(result - exact).max() <= 51 * 2.0**-24


def test_seed_sobel_and_identity():
    image = np.array(
        [[10, 20, 30, 40, 50], [20, 40, 60, 80, 100], [30, 60, 90, 120, 150],
         [40, 80, 120, 160, 200], [50, 100, 150, 200, 250]]
    )
    np.testing.assert_array_equal(
        filter2d(image, kernels.sobel_x(), mode="valid"), [[160] * 3, [240] * 3, [320] * 3]
    )
    np.testing.assert_array_equal(filter2d(image, kernels.identity()), image)


def test_edge_magnitude_vertical_step():
    step = np.zeros((6, 8))
    step[:, 4:] = 10.0
    magnitude = edge_magnitude(step)
    assert magnitude.shape == step.shape
    # |Gx| = 4 * 10 on both columns beside the step, 0 elsewhere (mirrored border)
    np.testing.assert_allclose(magnitude, np.where(np.isin(np.arange(8), [3, 4]), 40.0, 0.0)[None].repeat(6, 0))


def test_edge_magnitude_is_hypot_of_sobel_responses():
    rng = np.random.default_rng(2)
    image = rng.standard_normal((7, 9, 2))
    for boundary in ("fill", "wrap", "symm", "reflect", "replicate"):
        gx = filter2d(image, kernels.sobel_x(), boundary=boundary)
        gy = filter2d(image, kernels.sobel_y(), boundary=boundary)
        np.testing.assert_allclose(edge_magnitude(image, boundary=boundary), np.sqrt(gx**2 + gy**2), atol=1e-12)
    first = edge_magnitude(np.moveaxis(image, -1, 0), channel_axis=0)
    np.testing.assert_allclose(first, np.moveaxis(edge_magnitude(image), -1, 0), atol=1e-12)


def test_channel_axis():
    rng = np.random.default_rng(4)
    planes = rng.standard_normal((4, 10, 12))   # (C, H, W) RGBA
    kernel = kernels.sharpen()
    first = filter2d(planes, kernel, channel_axis=0)
    last = filter2d(np.moveaxis(planes, 0, -1), kernel)
    middle = filter2d(np.moveaxis(planes, 0, 1), kernel, channel_axis=1)
    np.testing.assert_allclose(first, np.moveaxis(last, -1, 0), atol=1e-12)
    np.testing.assert_allclose(middle, np.moveaxis(first, 0, 1), atol=1e-12)
    # an explicit channel_axis=-1 is taken at its word, even for a (3, H, W) shape
    assert filter2d(np.ones((3, 5, 6)), kernel, channel_axis=-1).shape == (3, 5, 6)
    assert filter2d(np.ones((5, 6)), kernel, channel_axis=None).shape == (5, 6)
    # (H, W, 3) and (3, 3, 3) are not ambiguous: the last axis is not the longer one
    assert filter2d(np.ones((3, 3, 3)), kernel).shape == (3, 3, 3)


def test_results_do_not_depend_on_threads():
    image = np.random.default_rng(6).random((130, 140, 3), dtype=np.float32)
    for kernel in (kernels.gaussian(sigma=2.0, dtype=np.float32), kernels.emboss(dtype=np.float32)):
        np.testing.assert_array_equal(filter2d(image, kernel, threads=1), filter2d(image, kernel, threads=2))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: filter2d(np.ones(5), kernels.sobel_x()), ValueError, r"image must be 2-D .* got shape \(5,\)"),
        (lambda: filter2d(np.ones((2, 2, 2, 2)), kernels.sobel_x()), ValueError, "image must be 2-D"),
        (lambda: filter2d(np.ones((3, 64, 64)), kernels.sobel_x()), ValueError,
         r"shape \(3, 64, 64\) looks channels-first .* pass channel_axis=0"),
        (lambda: edge_magnitude(np.ones((4, 20, 30))), ValueError, "channel_axis=0 to filter its 4 channels"),
        (lambda: filter2d(np.ones((5, 6, 3)), kernels.sobel_x(), channel_axis=None), ValueError,
         "channel_axis=None says it has no channel axis"),
        (lambda: filter2d(np.ones((5, 6)), kernels.sobel_x(), channel_axis=0), ValueError, "has no channel axis"),
        (lambda: filter2d(np.ones((5, 6, 3)), kernels.sobel_x(), channel_axis=3), ValueError, "channel_axis must be in -3..2"),
        (lambda: filter2d(np.ones((5, 6, 3)), kernels.sobel_x(), channel_axis=1.0), TypeError, "channel_axis must be an int"),
        (lambda: filter2d(np.ones((4, 4)), np.ones(3)), ValueError, r"kernel must be 2-D, got shape \(3,\)"),
        (lambda: filter2d(np.ones((0, 4)), np.ones((1, 1))), ValueError, "image must not be empty"),
        (lambda: filter2d(np.ones((2, 2)), np.ones((3, 3)), mode="valid"), ValueError, "kernel to fit"),
        (lambda: filter2d(np.ones((4, 4)), np.ones((3, 3)), mode="middle"), ValueError, "mode must be one of"),
        (lambda: filter2d(np.ones((4, 4)), np.ones((3, 3)), boundary="mirror"), ValueError, "boundary must be one of"),
        (lambda: filter2d(np.ones((4, 4), np.complex64), np.ones((3, 3))), TypeError, "image has dtype complex64"),
        (lambda: filter2d(np.ones((4, 4)), np.ones((3, 3)), threads=0), ValueError, "threads must be >= 1"),
        (lambda: edge_magnitude("image"), TypeError, "image must be an array"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
