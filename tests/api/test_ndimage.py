"""pyconvx.ndimage against scipy.ndimage, the oracle.

float64 results agree with SciPy's to 1e-12 of ``sum|w| * max|x|``; float32
results (pyconvx computes float32 in float32) agree with SciPy's float64
answer within the float32 rounding bound; integer outputs agree exactly
(SciPy's truncating cast).  Swept: odd and even kernels, every legal
origin, every border name, subsets of axes, kernels longer than the axis,
length-1 axes, 1-d to 3-d inputs, integer and complex data.  SciPy's own
test suite runs against pyconvx.ndimage in test_ndimage_scipy_suite.py.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyconvx
from pyconvx import _ndimage_core, kernels
from pyconvx import ndimage as pn
from pyconvx._ndimage_support import NdimageTypeError, NdimageValueError
from pyconvx._separable import rank_one_factors

sn = pytest.importorskip("scipy.ndimage")

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror", "grid-constant",
         "grid-wrap"]
U32 = 2.0**-24
RNG = np.random.default_rng(20240611)


def _data(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 100, shape).astype(dtype)
    return (rng.standard_normal(shape) * 10).astype(dtype)


def assert_close64(ours, theirs, scale):
    """float64: within 1e-12 of the scale ``sum|w| * max|x|``."""
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12 * scale + 1e-300)


def assert_close32(ours, exact, taps, scale):
    """float32 against the float64 answer: ``(taps + 2) * 2**-24 * scale``."""
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.astype(np.float64), exact, rtol=0,
                               atol=(taps + 2) * U32 * scale + 1e-30)


def _scale(weights, x):
    return float(np.abs(weights).sum() * max(np.abs(x).max(), 1e-300))


def _origins(size):
    return range(-(size // 2), (size - 1) // 2 + 1)


# ----------------------------------------------------------------------------- correlate1d


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 8, 13])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["correlate1d", "convolve1d"])
def test_1d_every_origin_mode_and_axis(size, mode, func):
    x = _data((5, 6, 7))
    weights = RNG.standard_normal(size)
    for axis, origin in itertools.product(range(-3, 3), _origins(size)):
        expected = getattr(sn, func)(x, weights, axis, mode=mode, cval=1.5, origin=origin)
        ours = getattr(pn, func)(x, weights, axis, mode=mode, cval=1.5, origin=origin)
        assert_close64(ours, expected, _scale(weights, x) + 1.5 * np.abs(weights).sum())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_1d_kernel_longer_than_the_axis(mode, length):
    x = _data((length, 4))
    for size in (length + 1, 2 * length + 3, 4 * length + 6):
        weights = RNG.standard_normal(size)
        for origin in (-(size // 2), 0, (size - 1) // 2):
            for func in ("correlate1d", "convolve1d"):
                expected = getattr(sn, func)(x, weights, 0, mode=mode, cval=-2.0, origin=origin)
                ours = getattr(pn, func)(x, weights, 0, mode=mode, cval=-2.0, origin=origin)
                assert_close64(ours, expected, _scale(weights, x) + 2 * np.abs(weights).sum())


@pytest.mark.parametrize("size", [2, 3, 6])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap", "constant", "nearest"])
def test_1d_float32_within_the_float32_bound(size, mode):
    x = _data((6, 40), np.float32)
    weights = RNG.standard_normal(size)
    for axis in (0, 1):
        ours = pn.correlate1d(x, weights, axis, mode=mode, cval=0.5)
        exact = sn.correlate1d(x.astype(np.float64), weights, axis, mode=mode, cval=0.5)
        assert_close32(ours, exact, size, _scale(weights, x) + 0.5 * np.abs(weights).sum())


# ----------------------------------------------------------------------------- correlate


@pytest.mark.parametrize("kshape", [(1, 1), (2, 2), (3, 2), (1, 4), (4, 1), (3, 5), (6, 4)])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("func", ["correlate", "convolve"])
def test_2d_every_origin(kshape, mode, func):
    x = _data((7, 6))
    weights = RNG.standard_normal(kshape)
    for origin in itertools.product(*(_origins(k) for k in kshape)):
        expected = getattr(sn, func)(x, weights, mode=mode, cval=0.75, origin=origin)
        ours = getattr(pn, func)(x, weights, mode=mode, cval=0.75, origin=origin)
        assert_close64(ours, expected, _scale(weights, x) + np.abs(weights).sum())


@pytest.mark.parametrize("mode", MODES)
def test_3d_volume_and_axes_subsets(mode):
    x = _data((4, 5, 6))
    for axes in [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (2, 0), (-1, -3), None]:
        rank = 3 if axes is None else len(axes)
        weights = RNG.standard_normal((3, 2, 4)[:rank])
        origin = [1, -1, 0][:rank]
        for func in ("correlate", "convolve"):
            try:
                expected = getattr(sn, func)(x, weights, mode=mode, origin=origin, axes=axes)
            except ValueError:
                # origins follow the order of axes, the kernel's axes their sorted
                # order (SciPy's rule): (2, 0) puts origin 1 on a 2-tap axis
                with pytest.raises(ValueError, match="Invalid origin"):
                    getattr(pn, func)(x, weights, mode=mode, origin=origin, axes=axes)
                continue
            ours = getattr(pn, func)(x, weights, mode=mode, origin=origin, axes=axes)
            assert_close64(ours, expected, _scale(weights, x))


@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 3, 4, 3, 5), (2, 2, 2, 2, 2, 3)])
def test_four_to_six_dimensions(shape):
    x = _data(shape, seed=len(shape))
    weights = RNG.standard_normal((3,) * len(shape))
    assert_close64(pn.correlate(x, weights, mode="wrap"), sn.correlate(x, weights, mode="wrap"),
                   _scale(weights, x))
    assert_close64(pn.gaussian_filter(x, 1.2, mode="mirror"), sn.gaussian_filter(x, 1.2, mode="mirror"),
                   np.abs(x).max())
    for axis in range(len(shape)):
        assert_close64(pn.sobel(x, axis), sn.sobel(x, axis), 4**len(shape) * np.abs(x).max())


@pytest.mark.parametrize("mode", MODES)
def test_nd_kernel_longer_than_the_image_and_length_one_axes(mode):
    for shape in [(1, 5), (5, 1), (1, 1), (2, 3), (1, 3, 1)]:
        x = _data(shape)
        weights = RNG.standard_normal((5, 7, 3)[:len(shape)])
        for func in ("correlate", "convolve"):
            expected = getattr(sn, func)(x, weights, mode=mode, cval=3.0)
            ours = getattr(pn, func)(x, weights, mode=mode, cval=3.0)
            assert_close64(ours, expected, _scale(weights, x) + 3 * np.abs(weights).sum())


@pytest.mark.parametrize("shape, kshape", [((40, 50), (5, 5)), ((9, 10, 11), (3, 4, 3))])
@pytest.mark.parametrize("mode", ["reflect", "constant", "mirror", "nearest", "wrap"])
def test_float32_stays_float32_within_the_bound(shape, kshape, mode):
    x = _data(shape, np.float32)
    weights = RNG.standard_normal(kshape)
    ours = pn.correlate(x, weights, mode=mode, cval=1.0)
    exact = sn.correlate(x.astype(np.float64), weights, mode=mode, cval=1.0)
    assert_close32(ours, exact, weights.size, _scale(weights, x) + np.abs(weights).sum())


@given(st.data())
def test_random_problems_match_scipy(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    kshape = tuple(data.draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    origin = [data.draw(st.integers(-(k // 2), (k - 1) // 2)) for k in kshape]
    mode = data.draw(st.sampled_from(MODES))
    func = data.draw(st.sampled_from(["correlate", "convolve"]))
    x = _data(shape, seed=data.draw(st.integers(0, 1000)))
    weights = _data(kshape, seed=data.draw(st.integers(0, 1000)))
    expected = getattr(sn, func)(x, weights, mode=mode, cval=0.5, origin=origin)
    ours = getattr(pn, func)(x, weights, mode=mode, cval=0.5, origin=origin)
    assert_close64(ours, expected, _scale(weights, x) + np.abs(weights).sum())


# ----------------------------------------------------------------------------- integer data


INTEGERS = ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


@pytest.mark.parametrize("dtype", INTEGERS + ["bool"])
def test_integer_inputs_and_outputs_exactly_as_scipy(dtype):
    # negative values only in signed types: a huge uint64 gives sums beyond 64 bits,
    # whose C conversion differs between SciPy's own code paths
    x = _data((6, 7), np.int64)
    x = (x - 30 if np.dtype(dtype).kind == "i" else x).astype(dtype)
    weights = np.array([[1, -2, 0], [3, 1, -1]])
    for func, args in [("correlate", (weights,)), ("convolve", (weights,)),
                       ("correlate1d", ([1, -3, 2],)), ("uniform_filter", (3,)),
                       ("uniform_filter1d", (4,)), ("sobel", ()), ("prewitt", (0,)),
                       ("laplace", ())]:
        expected = getattr(sn, func)(x, *args)
        ours = getattr(pn, func)(x, *args)
        assert ours.dtype == expected.dtype
        np.testing.assert_array_equal(ours, expected, err_msg=func)


@pytest.mark.parametrize("dtype", INTEGERS)
def test_integer_gaussian_truncates_like_scipy(dtype):
    x = _data((20, 30), dtype)
    for sigma in (0.7, 1.0, 2.5):
        expected = sn.gaussian_filter(x, sigma)
        ours = pn.gaussian_filter(x, sigma)
        assert ours.dtype == np.dtype(dtype)
        # the float64 sums round differently from SciPy's (a symmetric kernel is
        # folded there): a value on an integer boundary may truncate one lower
        difference = np.abs(ours.astype(np.int64) - expected.astype(np.int64))
        assert difference.max() <= 1
        assert (difference != 0).mean() < 0.01


@pytest.mark.parametrize("out_dtype", INTEGERS + [np.bool_, "float32", "float64"])
def test_float_results_cast_into_every_output_dtype(out_dtype):
    """SciPy's C cast: truncation, wrap-around, and x86-64's answers out of range."""
    x = _data((5, 8)) * 30
    x[0, :] = [np.nan, np.inf, -np.inf, 1e10, -1e10, 3e19, -3e19, 2.0**63]
    weights = np.array([0.25, -1.5, 0.75])
    with np.errstate(invalid="ignore"):
        expected = sn.correlate1d(x, weights, output=out_dtype, mode="nearest")
    ours = pn.correlate1d(x, weights, output=out_dtype, mode="nearest")
    assert ours.dtype == np.dtype(out_dtype)
    if np.dtype(out_dtype).kind == "f":
        np.testing.assert_allclose(ours, expected, rtol=1e-7, atol=1e-5)
    else:
        np.testing.assert_array_equal(ours, expected)


def test_cval_is_used_as_a_float_with_integer_data():
    x = np.array([1, 2, 3], dtype=np.uint8)
    np.testing.assert_array_equal(pn.correlate1d(x, [1, 1, 1], mode="constant", cval=-0.5),
                                  sn.correlate1d(x, [1, 1, 1], mode="constant", cval=-0.5))


# ----------------------------------------------------------------------------- filters


@pytest.mark.parametrize("mode", MODES + [["reflect", "wrap", "constant"]])
def test_gaussian_filter_options(mode):
    x = _data((9, 10, 11))
    for kwargs in [dict(sigma=1.3), dict(sigma=[0.5, 0, 2.0]), dict(sigma=2, order=[0, 1, 2]),
                   dict(sigma=1, order=3, truncate=2.5), dict(sigma=[1, 2, 3], radius=[1, 0, 4]),
                   dict(sigma=3.0)]:
        expected = sn.gaussian_filter(x, mode=mode, cval=2.0, **kwargs)
        ours = pn.gaussian_filter(x, mode=mode, cval=2.0, **kwargs)
        assert_close64(ours, expected, 4 * np.abs(x).max() + 2.0)
    for axes in [(0,), (2, 0), (-1,)]:
        modes = mode if isinstance(mode, str) else mode[:len(axes)]
        expected = sn.gaussian_filter(x, 1.5, mode=modes, axes=axes)
        ours = pn.gaussian_filter(x, 1.5, mode=modes, axes=axes)
        assert_close64(ours, expected, np.abs(x).max())


@pytest.mark.parametrize("order", [0, 1, 2, 3])
def test_gaussian_filter1d_weights_are_scipys(order):
    x = np.zeros(41)
    x[20] = 1.0   # the impulse response is the (reversed) kernel
    expected = sn.gaussian_filter1d(x, 2.0, order=order, truncate=4.0)
    np.testing.assert_allclose(pn.gaussian_filter1d(x, 2.0, order=order), expected,
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("mode", MODES + [["nearest", "mirror"]])
def test_uniform_filter(mode):
    x = _data((12, 9))
    for size, origin in [(3, 0), (2, -1), (4, [1, -2]), ([5, 1], [2, 0]), (31, 0), (1, 0)]:
        expected = sn.uniform_filter(x, size, mode=mode, cval=1.0, origin=origin)
        ours = pn.uniform_filter(x, size, mode=mode, cval=1.0, origin=origin)
        assert_close64(ours, expected, np.abs(x).max() + 1)
    expected = sn.uniform_filter1d(x, 6, axis=0, mode=mode if isinstance(mode, str) else "wrap")
    ours = pn.uniform_filter1d(x, 6, axis=0, mode=mode if isinstance(mode, str) else "wrap")
    assert_close64(ours, expected, np.abs(x).max())


@pytest.mark.parametrize("func", ["sobel", "prewitt"])
def test_sobel_and_prewitt_every_axis(func):
    x = _data((6, 7, 8))
    for axis, mode in itertools.product(range(-3, 3), MODES + [["wrap", "constant", "mirror"]]):
        expected = getattr(sn, func)(x, axis, mode=mode, cval=1.0)
        ours = getattr(pn, func)(x, axis, mode=mode, cval=1.0)
        assert_close64(ours, expected, 16 * np.abs(x).max() + 16)


@pytest.mark.parametrize("func, args", [("laplace", ()), ("gaussian_laplace", (1.2,)),
                                        ("gaussian_gradient_magnitude", (0.9,))])
def test_derivative_sums(func, args):
    x = _data((7, 8, 9))
    for kwargs in [{}, dict(mode="wrap"), dict(mode=["nearest", "reflect", "constant"], cval=1),
                   dict(axes=(0, 2)), dict(axes=(1,), mode=["mirror"]), dict(axes=())]:
        expected = getattr(sn, func)(x, *args, **kwargs)
        ours = getattr(pn, func)(x, *args, **kwargs)
        assert_close64(ours, expected, 8 * np.abs(x).max() + 8)


def test_gaussian_derivatives_pass_truncate_and_radius():
    x = _data((15, 16))
    for func in ("gaussian_laplace", "gaussian_gradient_magnitude"):
        for kwargs in [dict(truncate=2.0), dict(radius=3), dict(radius=[2, 5])]:
            expected = getattr(sn, func)(x, 1.5, **kwargs)
            ours = getattr(pn, func)(x, 1.5, **kwargs)
            assert_close64(ours, expected, 4 * np.abs(x).max())


@pytest.mark.parametrize("func, args", [
    ("gaussian_filter", (2.0,)), ("gaussian_filter1d", (1.5,)), ("uniform_filter", (5,)),
    ("uniform_filter1d", (4,)), ("sobel", ()), ("prewitt", ()), ("laplace", ()),
    ("gaussian_laplace", (1.0,)), ("gaussian_gradient_magnitude", (1.0,)),
    ("correlate", (np.ones((3, 3)) / 9,)), ("convolve1d", ([1.0, 2.0, -1.0],))])
def test_float32_data_stay_float32(func, args):
    x = _data((30, 31), np.float32)
    ours = getattr(pn, func)(x, *args)
    assert ours.dtype == np.float32
    theirs = getattr(sn, func)(x.astype(np.float64), *args)
    # every pass adds at most (taps + 2) roundings of its scale; 4 passes at most
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=200 * U32 * 16 * np.abs(x).max())


def test_output_array_dtype_and_in_place():
    x = _data((10, 12))
    out = np.empty((10, 12), dtype=np.float32)
    result = pn.gaussian_filter(x, 1.0, output=out)
    assert result is out
    np.testing.assert_allclose(out, sn.gaussian_filter(x, 1.0, output=np.float32), rtol=0,
                               atol=8 * U32 * np.abs(x).max())
    y = x.copy()
    assert pn.correlate(y, np.ones((3, 3)), output=y) is y
    np.testing.assert_allclose(y, sn.correlate(x, np.ones((3, 3))), rtol=1e-13)
    assert pn.sobel(x, output=np.int16).dtype == np.int16
    strided = np.zeros((10, 24))[:, ::2]
    pn.uniform_filter(x, 3, output=strided)
    np.testing.assert_allclose(strided, sn.uniform_filter(x, 3), rtol=1e-13)


def test_any_memory_layout():
    base = _data((12, 14, 3))
    for x in (base[::2, ::-1, 1], base.transpose(2, 0, 1), base[..., 0].T,
              base.astype(base.dtype.newbyteorder(">"))):
        weights = RNG.standard_normal((3,) * x.ndim)
        assert_close64(pn.correlate(x, weights), sn.correlate(x, weights), _scale(weights, x))
        assert_close64(pn.gaussian_filter(x, 1.0), sn.gaussian_filter(x, 1.0), np.abs(x).max())


def test_complex_data_and_kernels():
    x = _data((6, 7)) + 1j * _data((6, 7), seed=3)
    weights = RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))
    for func in ("correlate", "convolve"):
        for data, kernel in [(x, weights), (x, weights.real), (x.real, weights)]:
            expected = getattr(sn, func)(data, kernel, mode="constant", cval=1.0)
            ours = getattr(pn, func)(data, kernel, mode="constant", cval=1.0)
            assert ours.dtype == expected.dtype
            np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12 * 40 * 10)
    x64 = x.astype(np.complex64)
    assert pn.gaussian_filter(x64, 1.0).dtype == np.complex64
    np.testing.assert_allclose(pn.gaussian_filter(x64, 1.0), sn.gaussian_filter(x, 1.0),
                               rtol=0, atol=1e-5 * 40)


def test_zero_dim_and_empty_inputs():
    assert pn.correlate(np.float64(3.0), np.array(2.0)) == 6.0
    assert pn.gaussian_filter(np.float64(3.0), 1.0) == 3.0
    for func, args in [("correlate", (np.ones((3, 3)),)), ("gaussian_filter", (1.0,)),
                       ("uniform_filter", (3,)), ("sobel", ()), ("laplace", ())]:
        empty = np.zeros((0, 4))
        assert getattr(pn, func)(empty, *args).shape == (0, 4)


def test_results_do_not_depend_on_the_thread_count():
    x = _data((257, 301), np.float32)
    for func, args in [("gaussian_filter", (2.5,)), ("correlate", (RNG.standard_normal((5, 5)),)),
                       ("uniform_filter", (9,)), ("sobel", (0,))]:
        one = getattr(pn, func)(x, *args, threads=1)
        two = getattr(pn, func)(x, *args, threads=2)
        np.testing.assert_array_equal(one, two)


# ----------------------------------------------------------------------------- separable


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rank_one_kernels_are_found(dtype):
    for kernel in (kernels.sobel_x(dtype=dtype), kernels.prewitt_y(dtype=dtype),
                   kernels.box_blur(5, dtype=dtype), kernels.gaussian(7, dtype=dtype),
                   kernels.gaussian(sigma=2.0, dtype=dtype),
                   kernels.gaussian(sigma=0.7, dtype=dtype), np.ones((3, 4, 5), dtype)):
        factors = rank_one_factors(kernel)
        assert factors is not None
        product = factors[0]
        for factor in factors[1:]:
            product = np.multiply.outer(product, factor)
        np.testing.assert_array_equal(product, kernel)
    for kernel in (kernels.laplacian(dtype=dtype), kernels.sharpen(dtype=dtype),
                   kernels.emboss(dtype=dtype), RNG.standard_normal((4, 4)).astype(dtype),
                   np.zeros((3, 3), dtype), np.full((3, 3), np.nan, dtype)):
        assert rank_one_factors(kernel) is None


def _exact(x, weights, mode):
    """The correlation in long double (a reference more accurate than float64)."""
    pads = [(k // 2, k - 1 - k // 2) for k in weights.shape]
    extended = np.pad(x.astype(np.longdouble), pads, mode=mode)
    view = np.lib.stride_tricks.sliding_window_view(extended, weights.shape)
    return np.einsum("ijkl,kl->ij", view, weights.astype(np.longdouble))


def _record_passes(monkeypatch):
    """The shapes of the kernels the engine is run with, as they come."""
    passes = []
    real_correlate = _ndimage_core.correlate
    monkeypatch.setattr(_ndimage_core, "correlate",
                        lambda *args: passes.append(args[1].shape) or real_correlate(*args))
    return passes


def _force_separable(monkeypatch):
    """Every rank-1 kernel as passes, whatever they cost; returns the kernels run."""
    monkeypatch.setattr(_ndimage_core, "SEPARABLE_ADVANTAGE", 0)
    monkeypatch.setattr(_ndimage_core, "UNROLLED_SQUARE", ())
    return _record_passes(monkeypatch)


def test_separable_only_when_cheaper(monkeypatch):
    passes = _record_passes(monkeypatch)
    x = _data((20, 20))
    pn.correlate(x, kernels.sobel_x())   # 3x3: the engine's unrolled 2-d kernel
    assert passes == [(3, 3)]
    passes.clear()
    pn.correlate(x, kernels.box_blur(9))   # 81 taps against 9 + 9
    assert passes == [(9, 1), (1, 9)]
    passes.clear()
    pn.correlate(x, np.ones((3, 4)))   # 12 taps against 3 + 4: whole
    assert passes == [(3, 4)]


@pytest.mark.parametrize("dtype, unit", [(np.float32, 2.0**-24), (np.float64, 2.0**-53)])
@pytest.mark.parametrize("kernel_name", ["sobel_x", "box_blur", "gaussian", "gaussian_sigma"])
def test_separable_passes_stay_within_their_bound(dtype, unit, kernel_name, monkeypatch):
    """The documented bound: (sum K_a + d - 1) u * sum|w| * max|x| for the passes."""
    kernel = {"sobel_x": kernels.sobel_x, "box_blur": lambda dtype: kernels.box_blur(7, dtype=dtype),
              "gaussian": lambda dtype: kernels.gaussian(9, dtype=dtype),
              "gaussian_sigma": lambda dtype: kernels.gaussian(sigma=3.0, dtype=dtype)}[kernel_name]
    weights = kernel(dtype=dtype)
    x = _data((64, 70), dtype)
    passes = _force_separable(monkeypatch)
    ours = pn.correlate(x, weights)
    assert len(passes) == 2 and all(sorted(shape)[0] == 1 for shape in passes)
    exact = _exact(x, weights, "symmetric")
    bound = (sum(weights.shape) + 1) * unit * float(np.abs(weights).sum()) * np.abs(x).max()
    assert float(np.max(np.abs(ours.astype(np.longdouble) - exact))) <= bound


def test_separable_constant_border_sums_cval_through_the_passes(monkeypatch):
    passes = _force_separable(monkeypatch)
    x = _data((18, 19))
    for weights in (kernels.sobel_x(), kernels.gaussian(5), kernels.box_blur(3)):
        for origin in [(0, 0), (1, -1)]:
            expected = sn.correlate(x, weights, mode="constant", cval=7.5, origin=origin)
            ours = pn.correlate(x, weights, mode="constant", cval=7.5, origin=origin)
            assert_close64(ours, expected, _scale(weights, x) + 7.5 * np.abs(weights).sum())
    assert len(passes) == 12


def test_one_dimensional_passes_read_strided_views(monkeypatch):
    """A pass along any axis hands the engine a view of the data, not a copy."""
    x = _data((6, 7, 8), np.float32)
    seen = []
    real_conv = _ndimage_core.conv
    monkeypatch.setattr(_ndimage_core, "conv",
                        lambda view, *args, **kwargs: seen.append(view) or real_conv(view, *args, **kwargs))
    for axis in range(3):
        pn.correlate1d(x, [1.0, 2.0, 1.0], axis)
    assert len(seen) == 3
    assert all(np.shares_memory(view, x) for view in seen)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call, match", [
    (lambda: pn.gaussian_filter(np.ones((3, 3)), [1, 2, 3]), "sequence argument must have length equal to input rank"),
    (lambda: pn.uniform_filter(np.ones((3, 3)), 3, mode=["reflect"]), "sequence argument must have length"),
    (lambda: pn.correlate(np.ones((3, 3)), np.ones(3)), r"weights.ndim \(1\) must match len\(axes\) \(2\)"),
    (lambda: pn.correlate(np.ones((3, 3, 3)), np.ones((3, 3, 3)), axes=(0, 1)), r"weights.ndim \(3\) must match len\(axes\) \(2\)"),
    (lambda: pn.correlate(np.ones((3, 3)), np.ones((2, 2)), mode=["reflect", "wrap"]), "A sequence of modes is not supported"),
    (lambda: pn.correlate1d(np.ones(3), []), "no filter weights given"),
    (lambda: pn.correlate1d(np.ones(3), [1, 2], mode="mirrored"), "boundary mode not supported"),
    (lambda: pn.correlate(np.ones(3), [1, 2, 3], output=np.ones(4)), "output shape not correct"),
    (lambda: pn.uniform_filter1d(np.ones(3), 0), "incorrect filter size"),
])
def test_scipy_runtime_errors_are_value_errors_too(call, match):
    with pytest.raises(NdimageValueError, match=match) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("call, error, match", [
    (lambda: pn.gaussian_filter(np.ones(3, np.float16), 1.0), NdimageTypeError, "array type not supported"),
    (lambda: pn.correlate(np.ones(3), [1.0], output=np.float16), NdimageTypeError, "array type not supported"),
    (lambda: pn.correlate1d(np.ones(5), [1, 1, 2, 0], origin=2), ValueError, "Invalid origin"),
    (lambda: pn.convolve(np.ones((3, 5)), np.ones((2, 2)), origin=[0, -2]), ValueError, "Invalid origin"),
    (lambda: pn.correlate1d(np.ones(5), [1, 1], origin=0.5), TypeError, "origin must be an int"),
    (lambda: pn.gaussian_filter(np.ones(3), 1.0, axes=(0, 0)), ValueError, "axes must be unique"),
    (lambda: pn.gaussian_filter(np.ones(3), 1.0, axes=(1,)), ValueError, "out of range"),
    (lambda: pn.gaussian_filter1d(np.ones(3), 1.0, radius=1.5), ValueError, "Radius must be a nonnegative integer"),
    (lambda: pn.gaussian_filter1d(np.ones(3), 1.0, order=-1), ValueError, "order must be non-negative"),
    (lambda: pn.gaussian_filter1d(np.ones(3), 0.0), ValueError, "sigma must be finite and > 0"),
    (lambda: pn.correlate(np.ones(3), [1.0 + 1j], mode="constant", cval=1 + 1j), ValueError, "complex-valued cval"),
    (lambda: pn.sobel(np.ones(3), axis=1), np.exceptions.AxisError, "out of bounds"),
    (lambda: pn.uniform_filter(np.ones(4), 2.5), TypeError, "size must be an integer"),
    (lambda: pn.correlate(np.ones(3), [1.0], threads=0), ValueError, "threads must be >= 1"),
])
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pyconvx_exports_the_module():
    assert pyconvx.ndimage is pn
    for name in pn.__all__:
        assert callable(getattr(pn, name))
        assert getattr(pn, name).__doc__


# ----------------------------------------------------------------------------- border names

#: The documented vocabulary table: pyconvx padding_mode -> (numpy.pad, scipy.ndimage,
#: OpenCV border type name, torch padding mode or None).
VOCABULARY = {
    "zeros": ("constant", "constant", "BORDER_CONSTANT", None),
    "reflect": ("reflect", "mirror", "BORDER_REFLECT_101", "reflect"),
    "symmetric": ("symmetric", "reflect", "BORDER_REFLECT", None),
    "replicate": ("edge", "nearest", "BORDER_REPLICATE", "replicate"),
    "circular": ("wrap", "wrap", "BORDER_WRAP", "circular"),
}
ROW = np.array([1.0, 2.0, 3.0, 4.0, 5.0])


def _pyconvx_padded(mode, pad=3):
    return pyconvx.conv(ROW[None], np.ones((1, 1, 1)), padding=pad, padding_mode=mode)[0]


@pytest.mark.parametrize("mode", sorted(VOCABULARY))
def test_border_vocabulary_numpy_and_scipy_ndimage(mode):
    numpy_mode, ndimage_mode, _, _ = VOCABULARY[mode]
    padded = _pyconvx_padded(mode)
    np.testing.assert_array_equal(padded, np.pad(ROW, 3, mode=numpy_mode))
    for shift in range(-3, 4):   # a shifted delta reads the extension at that offset
        delta = np.zeros(7)
        delta[3 + shift] = 1.0
        np.testing.assert_array_equal(sn.correlate1d(ROW, delta, mode=ndimage_mode),
                                      padded[3 + shift:3 + shift + ROW.size])


@pytest.mark.parametrize("mode", sorted(VOCABULARY))
def test_border_vocabulary_opencv(mode):
    cv2 = pytest.importorskip("cv2")
    border = getattr(cv2, VOCABULARY[mode][2])
    expected = cv2.copyMakeBorder(ROW[None].astype(np.float32), 0, 0, 3, 3, border, value=0)[0]
    np.testing.assert_array_equal(_pyconvx_padded(mode), expected)


@pytest.mark.parametrize("mode", [m for m, names in VOCABULARY.items() if names[3]])
def test_border_vocabulary_torch(mode):
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.pad(torch.from_numpy(ROW[None, None]), (3, 3),
                                       mode=VOCABULARY[mode][3])[0, 0].numpy()
    np.testing.assert_array_equal(_pyconvx_padded(mode), expected)
