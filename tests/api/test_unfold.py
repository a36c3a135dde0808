"""im2col / col2im: torch.nn.functional.unfold / fold semantics (2-d)."""

import numpy as np
import pytest

import pyconvx
from pyconvx._engine import unfold as unfold_engine

from _reference import (
    assert_bitwise_equal,
    col2im_reference,
    conv_reference,
    im2col_reference,
)

CASES = [
    # (x shape, kernel_size, stride, padding, dilation)
    ((2, 3, 6, 7), 3, 1, 0, 1),
    ((2, 3, 6, 7), (2, 3), (2, 1), 1, (1, 2)),
    ((1, 2, 5, 5), 2, 2, (1, 0), 1),
    ((3, 1, 9, 4), (3, 1), 1, (2, 0), (2, 1)),
    ((1, 4, 8, 8), 1, 3, 0, 1),
    ((2, 2, 4, 5), (4, 5), 1, 0, 1),
    ((2, 3, 7, 6), 3, 2, 2, 2),
    ((3, 5, 6), (2, 2), 1, 1, 1),  # unbatched
    ((1, 8, 6), 3, 1, 1, 1),  # unbatched, one channel
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES)
def test_im2col_matches_reference(case, dtype, rng):
    shape, kernel, stride, padding, dilation = case
    x = rng.standard_normal(shape).astype(dtype)
    got = pyconvx.im2col(x, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = im2col_reference(x, kernel, stride, padding, dilation)
    assert got.dtype == dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected.astype(dtype))  # a pure copy: exact


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES)
def test_col2im_matches_reference(case, dtype, rng):
    shape, kernel, stride, padding, dilation = case
    cols_shape = im2col_reference(np.zeros(shape), kernel, stride, padding, dilation).shape
    cols = rng.integers(-8, 9, cols_shape).astype(dtype)  # integer data: sums are exact
    got = pyconvx.col2im(cols, shape[-2:], kernel, stride=stride, padding=padding, dilation=dilation)
    expected = col2im_reference(cols, shape[-2:], kernel, stride, padding, dilation)
    assert got.dtype == dtype and got.shape == expected.shape == shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("case", CASES)
def test_adjoint(case, rng):
    """<im2col(x), c> == <x, col2im(c)>: col2im is the transpose of im2col."""
    shape, kernel, stride, padding, dilation = case
    x = rng.standard_normal(shape)
    cols = pyconvx.im2col(x, kernel, stride=stride, padding=padding, dilation=dilation)
    c = rng.standard_normal(cols.shape)
    back = pyconvx.col2im(c, shape[-2:], kernel, stride=stride, padding=padding, dilation=dilation)
    np.testing.assert_allclose(np.vdot(cols, c), np.vdot(x, back), rtol=1e-10)


@pytest.mark.parametrize("case", CASES)
def test_im2col_gemm_is_conv(case, rng):
    shape, kernel, stride, padding, dilation = case
    x = rng.standard_normal(shape)
    c_in = shape[-3]
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    w = rng.standard_normal((4, c_in, kh, kw))
    cols = pyconvx.im2col(x, kernel, stride=stride, padding=padding, dilation=dilation)
    pads = (padding, padding) if isinstance(padding, int) else padding
    expected = conv_reference(x, w, stride=stride, padding=pads, dilation=dilation)
    product = np.matmul(w.reshape(4, -1), cols)
    np.testing.assert_allclose(product.reshape(expected.shape), expected, rtol=1e-12, atol=1e-12)
    got = pyconvx.conv(x, w, stride=stride, padding=pads, dilation=dilation)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_against_torch(case, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    shape, kernel, stride, padding, dilation = case
    x = rng.standard_normal(shape)
    got = pyconvx.im2col(x, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = F.unfold(torch.from_numpy(x if len(shape) == 4 else x[None]), kernel,
                        dilation=dilation, padding=padding, stride=stride).numpy()
    np.testing.assert_array_equal(got, expected if len(shape) == 4 else expected[0])
    c = rng.standard_normal(got.shape)
    back = pyconvx.col2im(c, shape[-2:], kernel, stride=stride, padding=padding, dilation=dilation)
    t_back = F.fold(torch.from_numpy(c if len(shape) == 4 else c[None]), shape[-2:], kernel,
                    dilation=dilation, padding=padding, stride=stride).numpy()
    np.testing.assert_allclose(back, t_back if len(shape) == 4 else t_back[0], rtol=1e-13, atol=1e-13)


def test_dtype_rule(rng):
    x = rng.integers(0, 5, (1, 2, 4, 4))
    cols = pyconvx.im2col(x, 2)
    assert cols.dtype == np.float64
    np.testing.assert_array_equal(cols, im2col_reference(x, 2))
    with pytest.raises(TypeError, match="float32 or float64"):
        pyconvx.im2col(np.ones((1, 2, 4, 4), np.float16), 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        pyconvx.col2im(np.ones((1, 8, 9), np.complex64), (4, 4), 2)


@pytest.mark.parametrize("layout", ["fortran", "negative", "strided", "readonly", "broadcast"])
def test_layouts(layout, rng):
    x = rng.standard_normal((2, 3, 7, 6))
    if layout == "fortran":
        y = np.asfortranarray(x)
    elif layout == "negative":
        y = np.ascontiguousarray(x[..., ::-1])[..., ::-1]
    elif layout == "strided":
        y = np.zeros((2, 3, 14, 12))[:, :, ::2, ::2]
        y[...] = x
    elif layout == "readonly":
        y = x.copy()
        y.flags.writeable = False
    else:
        x = np.broadcast_to(x[:1], x.shape)
        y = x
    before = np.array(y, copy=True)
    got = pyconvx.im2col(y, (2, 3), stride=(1, 2), padding=1)
    assert_bitwise_equal(got, pyconvx.im2col(np.ascontiguousarray(x), (2, 3), stride=(1, 2), padding=1))
    assert_bitwise_equal(np.asarray(y), before)
    cols = np.asfortranarray(got)
    assert_bitwise_equal(pyconvx.col2im(cols, (7, 6), (2, 3), stride=(1, 2), padding=1),
                         pyconvx.col2im(np.ascontiguousarray(got), (7, 6), (2, 3), stride=(1, 2), padding=1))


def test_empty_batch():
    cols = pyconvx.im2col(np.zeros((0, 3, 5, 5)), 3)
    assert cols.shape == (0, 27, 9)
    back = pyconvx.col2im(np.zeros((0, 27, 9)), (5, 5), 3)
    assert back.shape == (0, 3, 5, 5)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: pyconvx.im2col(np.ones((1, 1, 2, 5)), 3), ValueError, r"dilated kernel"),
    (lambda: pyconvx.im2col(np.ones((5, 5)), 3), ValueError, r"shape"),
    (lambda: pyconvx.im2col(np.ones((1, 1, 1, 5, 5)), 3), ValueError, r"shape"),
    (lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), 0), ValueError, r"kernel_size must be >= 1"),
    (lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), 3.0), TypeError, r"kernel_size must be an int"),
    (lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), 3, stride=0), ValueError, r"stride must be >= 1"),
    (lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), 3, padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), (3, 3, 3)), ValueError, r"kernel_size must be an int or a tuple of 2 ints"),
    (lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), 3, dilation=True), TypeError, r"dilation must be an int, got bool"),
    (lambda: pyconvx.col2im(np.ones((1, 9, 8)), (5, 5), 3), ValueError, r"9|L|cols"),
    (lambda: pyconvx.col2im(np.ones((1, 10, 9)), (5, 5), 3), ValueError, r"10|cols"),
    (lambda: pyconvx.col2im(np.ones((1, 9, 9)), (5, 5, 5), 3), ValueError, r"output_size"),
    (lambda: pyconvx.col2im(np.ones((1, 9, 9)), (5, 0), 3), ValueError, r"output_size|spatial|empty|>= 1"),
    (lambda: pyconvx.col2im(np.ones((9,)), (5, 5), 3), ValueError, r"shape"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_inputs_unmodified(rng):
    x = rng.standard_normal((2, 2, 5, 5))
    saved = x.copy()
    cols = pyconvx.im2col(x, 3, padding=1)
    assert_bitwise_equal(x, saved)
    saved_cols = cols.copy()
    pyconvx.col2im(cols, (5, 5), 3, padding=1)
    assert_bitwise_equal(cols, saved_cols)


# ----------------------------------------------------------------------------- threads, chunks
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation", [
    ((3, 4, 23, 19), 3, 1, 1, 1),
    ((1, 1, 57, 61), (5, 4), (2, 1), (2, 1), (1, 2)),
])
def test_every_thread_count_and_chunking_same_bits(shape, kernel, stride, padding, dilation,
                                                   dtype, rng, monkeypatch):
    """Bitwise identical for every thread count and when the rows are cut into
    many small chunks (the walk checks for Ctrl-C between them)."""
    x = rng.standard_normal(shape).astype(dtype)
    window = dict(stride=stride, padding=padding, dilation=dilation)
    cols = pyconvx.im2col(x, kernel, threads=1, **window)
    weights = rng.standard_normal(cols.shape).astype(dtype)
    image = pyconvx.col2im(weights, shape[-2:], kernel, threads=1, **window)
    for chunk, thread_counts in ((None, (1, 2, 3, 5)), (40, (1,)), (400, (3,))):
        if chunk is not None:
            monkeypatch.setattr(unfold_engine, "CHUNK_VALUES", chunk)
        for threads in thread_counts:
            assert_bitwise_equal(pyconvx.im2col(x, kernel, threads=threads, **window), cols)
            assert_bitwise_equal(pyconvx.col2im(weights, shape[-2:], kernel, threads=threads,
                                                **window), image)


# ----------------------------------------------------------------------------- NaN, Inf, sizes
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_values_reach_exactly_their_places(value, rng):
    """im2col copies a NaN or Inf into exactly the columns whose window holds it;
    col2im sums it into exactly the pixel it came from (inf stays inf)."""
    x = rng.standard_normal((1, 2, 6, 7))
    x[0, 1, 2, 5] = value
    cols = pyconvx.im2col(x, 3, padding=1)
    marker = im2col_reference(np.where(np.isfinite(x), 0.0, 1.0), 3, padding=1)
    assert_bitwise_equal(~np.isfinite(cols), marker == 1)
    finite_cols = rng.standard_normal(cols.shape)
    finite_cols[0, 9 + 4, 2 * 7 + 5] = value   # channel 1, centre tap, window (2, 5)
    image = pyconvx.col2im(finite_cols, (6, 7), 3, padding=1)
    expected = np.zeros((1, 2, 6, 7), dtype=bool)
    expected[0, 1, 2, 5] = True
    assert_bitwise_equal(~np.isfinite(image), expected)
    if not np.isnan(value):
        assert image[0, 1, 2, 5] == value


@pytest.mark.parametrize("call", [
    lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), 3, padding="same", dilation=2**61),
    lambda: pyconvx.col2im(np.ones((1, 9, 25)), (5, 5), 3, padding="same", dilation=2**61),
    lambda: pyconvx.im2col(np.ones((1, 1, 5, 5)), 3, padding=2**61, dilation=1),
])
def test_sizes_beyond_int64_are_a_value_error(call):
    with pytest.raises(ValueError, match="more than 64-bit arithmetic can index"):
        call()


def test_huge_thread_counts_are_capped(rng):
    x = rng.standard_normal((1, 2, 6, 6))
    expected = pyconvx.im2col(x, 3)
    for threads in (2**31 - 1, 2**31, 2**63, 2**200):
        assert_bitwise_equal(pyconvx.im2col(x, 3, threads=threads), expected)
        assert_bitwise_equal(pyconvx.col2im(expected, (6, 6), 3, threads=threads),
                             pyconvx.col2im(expected, (6, 6), 3))
