"""pyconvx.signal against scipy.signal (and numpy) on generated cases.

The same inputs go through SciPy and pyconvx; results, shapes and dtypes must
agree (exactly for integer inputs, to rounding for floats), and impossible
'valid' shapes must fail in both.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyconvx.signal import convolve, convolve2d, correlate, correlate2d

scipy_signal = pytest.importorskip("scipy.signal")

SETTINGS = settings(max_examples=60, deadline=None, database=None, print_blob=False, suppress_health_check=[HealthCheck.too_slow])
DTYPES = [np.int64, np.int32, np.int8, np.float32, np.float64]


def _array(draw, shape, dtype):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    values = rng.integers(-6, 7, size=shape)
    if np.dtype(dtype).kind == "f":
        values = values + rng.random(shape).round(3)
    return values.astype(dtype)


@st.composite
def nd_pairs(draw, max_ndim=3):
    ndim = draw(st.integers(1, max_ndim))
    shape1 = tuple(draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    shape2 = tuple(draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    dtype1 = draw(st.sampled_from(DTYPES))
    dtype2 = draw(st.sampled_from(DTYPES))
    if np.dtype(dtype1).kind != np.dtype(dtype2).kind == "i" or dtype1 == np.int8:
        # keep integer results inside the integer dtype (SciPy wraps on overflow)
        dtype2 = dtype1 if np.dtype(dtype1).kind == "i" and dtype1 != np.int8 else dtype2
    return _array(draw, shape1, dtype1), _array(draw, shape2, dtype2)


def _outcome(function, *args):
    try:
        return function(*args)
    except ValueError:
        return "ValueError"


def _assert_same(ours, theirs, inputs=()):
    if isinstance(theirs, str) or isinstance(ours, str):
        assert ours == theirs
        return
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    if theirs.dtype.kind in "iub":
        np.testing.assert_array_equal(ours, theirs)
    else:
        # SciPy computes float32 inputs in float32 (its FFT too)
        single = theirs.dtype == np.float32 or any(a.dtype == np.float32 for a in inputs)
        tol = 2e-4 if single else 1e-9
        scale = max(1.0, float(np.abs(theirs).max(initial=0)))
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * scale)


@SETTINGS
@given(nd_pairs(), st.sampled_from(["full", "same", "valid"]), st.sampled_from(["direct", "fft", "auto"]))
def test_correlate_convolve_match_scipy(pair, mode, method):
    in1, in2 = pair
    if in1.dtype == np.int8 or in2.dtype == np.int8:
        in1, in2 = in1.astype(np.int16), in2.astype(np.int16)
    for ours, theirs in ((correlate, scipy_signal.correlate), (convolve, scipy_signal.convolve)):
        _assert_same(
            _outcome(ours, in1, in2, mode, method), _outcome(theirs, in1, in2, mode, method), (in1, in2)
        )


@SETTINGS
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.sampled_from(["full", "same", "valid"]),
    st.sampled_from([np.float64, np.int64]),
    st.integers(0, 2**32 - 1),
)
def test_1d_matches_numpy_when_in1_is_longer(n1, n2, mode, dtype, seed):
    n1, n2 = max(n1, n2), min(n1, n2)
    rng = np.random.default_rng(seed)
    a = rng.integers(-9, 10, n1).astype(dtype)
    v = rng.integers(-9, 10, n2).astype(dtype)
    for method in ("direct", "fft", "auto"):
        ours = correlate(a, v, mode, method)
        np.testing.assert_allclose(ours, np.correlate(a, v, mode), atol=1e-9)
        assert ours.dtype == np.correlate(a, v, mode).dtype
        np.testing.assert_allclose(convolve(a, v, mode, method), np.convolve(a, v, mode), atol=1e-9)


@st.composite
def pairs_2d(draw):
    shape1 = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    shape2 = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    dtype = draw(st.sampled_from([np.int64, np.float64, np.float32]))
    return _array(draw, shape1, dtype), _array(draw, shape2, draw(st.sampled_from([dtype, np.float64])))


@SETTINGS
@given(
    pairs_2d(),
    st.sampled_from(["full", "same", "valid"]),
    st.sampled_from(["fill", "wrap", "symm"]),
    st.sampled_from([0, 0, 2.5, -3]),
)
def test_correlate2d_convolve2d_match_scipy(pair, mode, boundary, fillvalue):
    in1, in2 = pair
    for ours, theirs in (
        (correlate2d, scipy_signal.correlate2d),
        (convolve2d, scipy_signal.convolve2d),
    ):
        _assert_same(
            _outcome(ours, in1, in2, mode, boundary, fillvalue),
            _outcome(theirs, in1, in2, mode, boundary, fillvalue),
            (in1, in2),
        )


@pytest.mark.parametrize("boundary", ["fill", "wrap", "symm"])
@pytest.mark.parametrize("mode", ["full", "same"])
def test_kernel_much_larger_than_input(boundary, mode):
    # padding beyond the input size: 'wrap' and 'symm' extend periodically
    in1 = np.arange(6.0).reshape(2, 3)
    in2 = np.arange(63.0).reshape(7, 9) - 30
    for ours, theirs in ((correlate2d, scipy_signal.correlate2d), (convolve2d, scipy_signal.convolve2d)):
        np.testing.assert_allclose(ours(in1, in2, mode, boundary, 1.5), theirs(in1, in2, mode, boundary, 1.5))


def test_fillvalue_is_exact_and_cast_like_scipy():
    # nonzero fill pads explicitly, so each output is the very sum SciPy forms
    image = np.arange(12.0).reshape(3, 4)
    kernel = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    ours = correlate2d(image, kernel, "full", "fill", fillvalue=7.125)
    np.testing.assert_array_equal(ours, scipy_signal.correlate2d(image, kernel, "full", "fill", 7.125))
    padded = np.pad(image, ((1, 1), (2, 2)), constant_values=7.125)
    np.testing.assert_allclose(ours, correlate2d(padded, kernel, "valid"))
    # integer inputs: the fill value is cast to the integer dtype first (1.7 -> 1)
    ones = np.ones((2, 2), dtype=np.int64)
    result = correlate2d(ones, ones, "full", "fill", fillvalue=1.7)
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, np.full((3, 3), 4))


def test_symm_is_not_reflect():
    # scipy 'symm' repeats the edge sample: [a b c] -> b a | a b c | c b
    row = np.array([[1.0, 2.0, 4.0]])
    result = correlate2d(row, np.array([[1.0, 0.0, 0.0]]), "same", "symm")
    np.testing.assert_array_equal(result, [[1.0, 1.0, 2.0]])
    wrapped = correlate2d(row, np.array([[1.0, 0.0, 0.0]]), "same", "wrap")
    np.testing.assert_array_equal(wrapped, [[4.0, 1.0, 2.0]])


def test_seed_examples():
    np.testing.assert_array_equal(correlate([1, 2, 3, 4, 5], [1, 0, -1], "valid"), [-2, -2, -2])
    image = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=float)
    kernel = np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]], dtype=float)
    np.testing.assert_array_equal(correlate2d(image, kernel, mode="valid"), [[-1.0, 1.0], [1.0, 1.0]])


def test_dtypes():
    assert correlate(np.ones(4, np.float32), np.ones(2, np.float32)).dtype == np.float32
    assert correlate(np.ones(4, np.float32), np.ones(2)).dtype == np.float64
    assert correlate(np.ones(4, np.int16), np.ones(2, np.int16)).dtype == np.int16
    assert convolve(np.ones(4, np.uint8), np.ones(2, np.uint8)).dtype == np.uint8
    assert convolve2d(np.ones((3, 3), np.int32), np.ones((2, 2), np.int32)).dtype == np.int32
    assert correlate(np.array(2), np.array(3)) == 6


def test_large_integers_round_exactly():
    a = np.array([10**6, -(10**6), 3 * 10**6, 7], dtype=np.int64)
    v = np.array([999_999, 1, -3], dtype=np.int64)
    for method in ("direct", "fft"):
        np.testing.assert_array_equal(correlate(a, v, method=method), scipy_signal.correlate(a, v, method="direct"))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: correlate(np.ones((3, 4)), np.ones((4, 3)), "valid"), ValueError, "at least as large"),
        (lambda: convolve2d(np.ones((3, 4)), np.ones((4, 3)), "valid"), ValueError, "at least as large"),
        (lambda: correlate(np.ones(3), np.ones((1, 2))), ValueError, "same dimensionality"),
        (lambda: correlate(np.ones(3), np.ones(2), mode="middle"), ValueError, "mode must be one of"),
        (lambda: correlate(np.ones(3), np.ones(2), mode=1), TypeError, "mode must be one of"),
        (lambda: convolve(np.ones(3), np.ones(2), method="slow"), ValueError, "method must be one of"),
        (lambda: correlate2d(np.ones(3), np.ones(2)), ValueError, "must both be 2-D arrays"),
        (lambda: correlate2d(np.ones((2, 2)), np.ones((1, 1)), boundary="mirror"), ValueError, "boundary must be one of"),
        (lambda: correlate2d(np.ones((2, 2)), np.ones((1, 1)), fillvalue=[1, 2]), ValueError, "fillvalue must be a scalar"),
        (lambda: correlate2d(np.ones((2, 2)), np.ones((1, 1)), fillvalue=1j), TypeError, "fillvalue must be a real number"),
        (lambda: correlate(np.ones(3, np.complex128), np.ones(2)), TypeError, "in1 has dtype complex128"),
        (lambda: convolve(np.ones(3), np.ones(2, np.float16)), TypeError, "in2 has dtype float16"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_inputs_not_modified_and_layouts():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((9, 8))
    kernel = rng.standard_normal((3, 4))
    view = base[::2, ::-1]
    kernel_f = np.asfortranarray(kernel)
    kernel_f.flags.writeable = False
    before = view.copy()
    for boundary in ("fill", "wrap", "symm"):
        expected = scipy_signal.correlate2d(view.copy(), kernel.copy(), "same", boundary)
        np.testing.assert_allclose(correlate2d(view, kernel_f, "same", boundary), expected)
    np.testing.assert_array_equal(view, before)
