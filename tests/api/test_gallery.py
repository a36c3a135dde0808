"""pyconvx.kernels: the tutorial's gallery values, fresh arrays of either float dtype, names/get."""

import numpy as np
import pytest

from pyconvx import kernels
from pyconvx._separable import rank_one_factors

EXPECTED = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "prewitt_x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt_y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "box_blur": np.full((3, 3), 1 / 9),
    "gaussian": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gallery_values_and_fresh_float64(name):
    first = getattr(kernels, name)()
    assert first.dtype == np.float64
    np.testing.assert_allclose(first, EXPECTED[name], rtol=0, atol=1e-15)
    first[...] = 99.0  # a caller may modify its copy
    np.testing.assert_allclose(getattr(kernels, name)(), EXPECTED[name], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(kernels.get(name), getattr(kernels, name)())


def test_names_and_get():
    assert kernels.names() == list(EXPECTED)
    np.testing.assert_array_equal(kernels.get("Sobel-X"), kernels.sobel_x())
    with pytest.raises(ValueError, match=r"unknown kernel name 'sobelx'.*sobel_x"):
        kernels.get("sobelx")
    with pytest.raises(TypeError, match="name must be a str, got int 3"):
        kernels.get(3)


@pytest.mark.parametrize("size", [1, 3, 4, 5, 7])
def test_blur_kernels_sum_to_one_and_are_symmetric(size):
    for kernel in (kernels.box_blur(size), kernels.gaussian(size), kernels.gaussian(size, sigma=1.3)):
        assert kernel.shape == (size, size)
        assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(kernel, kernel.T)
        np.testing.assert_allclose(kernel, kernel[::-1, ::-1])


def test_gaussian_binomial_and_sigma():
    row = np.array([1, 4, 6, 4, 1]) / 16
    np.testing.assert_allclose(kernels.gaussian(5), np.outer(row, row))
    sampled = kernels.gaussian(3, sigma=1.0)
    expected_row = np.exp(-np.array([1.0, 0.0, 1.0]) / 2)
    expected = np.outer(expected_row, expected_row)
    np.testing.assert_allclose(sampled, expected / expected.sum())
    # A larger sigma spreads the weight away from the centre.
    assert kernels.gaussian(5, sigma=3.0)[2, 2] < kernels.gaussian(5, sigma=0.8)[2, 2]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_kernel_in_float32(name):
    kernel = kernels.get(name, dtype=np.float32)
    assert kernel.dtype == np.float32
    np.testing.assert_allclose(kernel, EXPECTED[name], rtol=1e-7, atol=1e-8)
    assert getattr(kernels, name)(dtype=np.float32).dtype == np.float32


def test_gaussian_sizes_itself_from_sigma_like_ndimage():
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    for sigma, truncate in [(0.5, 4.0), (1.0, 4.0), (2.0, 4.0), (3.3, 4.0), (2.0, 2.5)]:
        kernel = kernels.gaussian(sigma=sigma, truncate=truncate)
        radius = int(truncate * sigma + 0.5)
        assert kernel.shape == (2 * radius + 1,) * 2
        # the impulse response of scipy.ndimage.gaussian_filter is the same kernel
        impulse = np.zeros((2 * radius + 1,) * 2)
        impulse[radius, radius] = 1.0
        expected = scipy_ndimage.gaussian_filter(impulse, sigma, truncate=truncate, mode="constant")
        np.testing.assert_allclose(kernel, expected, rtol=1e-12, atol=1e-17)
    assert kernels.gaussian(sigma=2.0).shape == (17, 17)
    assert kernels.gaussian(5, sigma=2.0).shape == (5, 5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blurs_and_gradients_are_exact_outer_products(dtype):
    for kernel in (kernels.gaussian(dtype=dtype), kernels.gaussian(9, dtype=dtype),
                   kernels.gaussian(sigma=1.7, dtype=dtype), kernels.gaussian(6, sigma=3.0, dtype=dtype),
                   kernels.box_blur(4, dtype=dtype), kernels.sobel_y(dtype=dtype),
                   kernels.prewitt_x(dtype=dtype)):
        factors = rank_one_factors(kernel)
        assert factors is not None and all(f.dtype == dtype for f in factors)
        np.testing.assert_array_equal(np.multiply.outer(*factors), kernel)


def test_kernel_sums_match_their_purpose():
    assert kernels.sharpen().sum() == 1
    assert kernels.emboss().sum() == 1
    assert kernels.laplacian().sum() == 0
    for edge in (kernels.sobel_x, kernels.sobel_y, kernels.prewitt_x, kernels.prewitt_y):
        assert edge().sum() == 0


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: kernels.box_blur(0), ValueError, "size must be >= 1, got 0"),
        (lambda: kernels.box_blur(2.0), TypeError, "size must be an int, got float 2.0"),
        (lambda: kernels.gaussian(True), TypeError, "size must be an int, got bool"),
        (lambda: kernels.gaussian(3, sigma=0), ValueError, "sigma must be finite and > 0, got 0.0"),
        (lambda: kernels.gaussian(3, sigma=float("nan")), ValueError, "sigma must be finite"),
        (lambda: kernels.gaussian(3, sigma="1"), TypeError, "sigma must be a real number or None"),
        (lambda: kernels.box_blur(10**6), ValueError, "size must be <= 4097"),
        (lambda: kernels.gaussian(sigma=3000.0), ValueError, "needs a kernel of size 24001"),
        (lambda: kernels.gaussian(sigma=1.0, truncate=0), ValueError, "truncate must be finite and > 0"),
        (lambda: kernels.gaussian(sigma=1.0, truncate="4"), TypeError, "truncate must be a real number"),
        (lambda: kernels.sobel_x(dtype=np.float16), TypeError, "dtype must be numpy.float32 or numpy.float64"),
        (lambda: kernels.get("identity", dtype=int), TypeError, "dtype must be numpy.float32"),
        (lambda: kernels.box_blur(3, dtype="complex64"), TypeError, "dtype must be numpy.float32"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
