"""pyconvx.filters: filter2d and edge_magnitude."""

import numpy as np
import pytest

from pyconvx import kernels
from pyconvx.filters import edge_magnitude, filter2d

scipy_signal = pytest.importorskip("scipy.signal")


@pytest.mark.parametrize("mode", ["same", "valid", "full"])
@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("name", ["sobel_x", "emboss", "gaussian"])
def test_filter2d_matches_scipy_per_channel(mode, boundary, name):
    rng = np.random.default_rng(7)
    kernel = kernels.get(name)
    gray = rng.integers(0, 256, (9, 11)).astype(np.uint8)
    colour = rng.integers(0, 256, (9, 11, 3)).astype(np.uint8)
    expected = scipy_signal.correlate2d(gray.astype(float), kernel, mode, boundary)
    np.testing.assert_allclose(filter2d(gray, kernel, mode, boundary), expected, atol=1e-9)
    result = filter2d(colour, kernel, mode, boundary)
    assert result.shape == expected.shape + (3,)
    assert result.dtype == np.float64
    for channel in range(3):
        np.testing.assert_allclose(
            result[..., channel],
            scipy_signal.correlate2d(colour[..., channel].astype(float), kernel, mode, boundary),
            atol=1e-9,
        )


def test_even_kernel_same_centring_matches_scipy():
    rng = np.random.default_rng(1)
    image = rng.standard_normal((6, 7))
    kernel = rng.standard_normal((2, 4))
    np.testing.assert_allclose(
        filter2d(image, kernel), scipy_signal.correlate2d(image, kernel, "same"), atol=1e-12
    )


def test_dtype_rule():
    image32 = np.ones((5, 5), np.float32)
    assert filter2d(image32, np.ones((3, 3), np.float32)).dtype == np.float32
    assert filter2d(image32, kernels.box_blur()).dtype == np.float64
    assert edge_magnitude(image32).dtype == np.float32
    assert edge_magnitude(np.ones((5, 5), np.uint8)).dtype == np.float64


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
    for boundary in ("fill", "wrap", "symm"):
        gx = filter2d(image, kernels.sobel_x(), boundary=boundary)
        gy = filter2d(image, kernels.sobel_y(), boundary=boundary)
        np.testing.assert_allclose(edge_magnitude(image, boundary=boundary), np.sqrt(gx**2 + gy**2), atol=1e-12)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: filter2d(np.ones(5), kernels.sobel_x()), ValueError, r"image must be 2-D .* got shape \(5,\)"),
        (lambda: filter2d(np.ones((2, 2, 2, 2)), kernels.sobel_x()), ValueError, "image must be 2-D"),
        (lambda: filter2d(np.ones((4, 4)), np.ones(3)), ValueError, r"kernel must be 2-D, got shape \(3,\)"),
        (lambda: filter2d(np.ones((0, 4)), np.ones((1, 1))), ValueError, "image must not be empty"),
        (lambda: filter2d(np.ones((2, 2)), np.ones((3, 3)), mode="valid"), ValueError, "kernel to fit"),
        (lambda: filter2d(np.ones((4, 4)), np.ones((3, 3)), mode="middle"), ValueError, "mode must be one of"),
        (lambda: filter2d(np.ones((4, 4)), np.ones((3, 3)), boundary="reflect"), ValueError, "boundary must be one of"),
        (lambda: filter2d(np.ones((4, 4), np.complex64), np.ones((3, 3))), TypeError, "image has dtype complex64"),
        (lambda: edge_magnitude("image"), TypeError, "image must be an array"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
