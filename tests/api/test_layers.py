"""Conv1d / Conv2d / Conv3d layers: shapes, Kaiming-uniform init, the seed argument, call, repr."""

import math

import numpy as np
import pytest

import pyconvx

from _reference import PADDING_MODES, assert_bitwise_equal, assert_matches_reference, mode_kwargs

LAYERS = {1: pyconvx.Conv1d, 2: pyconvx.Conv2d, 3: pyconvx.Conv3d}


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_shapes_and_defaults(ndim):
    layer = LAYERS[ndim](3, 8, 3, seed=0)
    assert layer.weight.shape == (8, 3) + (3,) * ndim
    assert layer.weight.dtype == np.float32
    assert layer.bias.shape == (8,) and layer.bias.dtype == np.float32
    assert layer.param_count == layer.weight.size + layer.bias.size == pyconvx.param_count(3, 8, (3,) * ndim)


def test_seed_examples():
    assert pyconvx.Conv2d(3, 64, 3, seed=0).param_count == 1792
    assert pyconvx.Conv2d(64, 128, 3, seed=0).param_count == 73856
    layer = pyconvx.Conv2d(3, 32, 5, stride=2, padding=2, seed=0)
    assert layer.param_count == 2432
    assert layer.output_shape((1, 3, 128, 128)) == (1, 32, 64, 64)
    assert layer.output_shape((3, 128, 128)) == (32, 64, 64)
    assert pyconvx.Conv2d(3, 16, 3, padding=1, seed=0).output_shape((8, 3, 32, 32)) == (8, 16, 32, 32)


def test_tuple_kernel_and_groups():
    layer = pyconvx.Conv2d(4, 8, (3, 5), groups=2, seed=1)
    assert layer.weight.shape == (8, 2, 3, 5)
    assert layer.param_count == pyconvx.param_count(4, 8, (3, 5), groups=2)
    depthwise = pyconvx.Conv2d(6, 6, 3, groups=6, seed=1)
    assert depthwise.weight.shape == (6, 1, 3, 3)


def test_no_bias():
    layer = pyconvx.Conv2d(3, 4, 3, bias=False, seed=0)
    assert layer.bias is None
    assert layer.param_count == 3 * 4 * 9
    x = np.ones((1, 3, 5, 5), np.float32)
    assert_bitwise_equal(layer(x), pyconvx.conv(x, layer.weight))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype(dtype):
    layer = pyconvx.Conv2d(3, 4, 3, dtype=dtype, seed=0)
    assert layer.weight.dtype == dtype and layer.bias.dtype == dtype
    x = np.ones((2, 3, 6, 6), dtype)
    assert layer(x).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.complex64])
def test_bad_dtype(dtype):
    with pytest.raises(TypeError, match="float32 or float64"):
        pyconvx.Conv2d(3, 4, 3, dtype=dtype)


@pytest.mark.parametrize("ndim,c_in,c_out,kernel,groups", [
    (2, 64, 128, 3, 1), (1, 16, 32, 7, 1), (3, 8, 8, 3, 1), (2, 32, 64, 3, 8), (2, 256, 256, 1, 1),
])
def test_kaiming_uniform_bounds_and_moments(ndim, c_in, c_out, kernel, groups):
    layer = LAYERS[ndim](c_in, c_out, kernel, groups=groups, seed=123, dtype=np.float64)
    fan_in = c_in // groups * kernel ** ndim
    bound = 1 / math.sqrt(fan_in)
    w = layer.weight
    assert np.all(np.abs(w) <= bound)
    n = w.size
    # U(-b, b): mean 0, variance b^2/3; allow 6 standard errors
    assert abs(w.mean()) < 6 * bound / math.sqrt(3 * n)
    var = w.var()
    assert abs(var - bound ** 2 / 3) < 6 * bound ** 2 * math.sqrt(4 / 45 / n)
    assert w.max() > bound * (1 - 20 / n) and w.min() < -bound * (1 - 20 / n)
    assert np.all(np.abs(layer.bias) <= bound)
    assert np.unique(layer.bias).size == c_out  # actually random


def test_seed_reproducible():
    a = pyconvx.Conv2d(3, 8, 3, seed=42)
    b = pyconvx.Conv2d(3, 8, 3, seed=42)
    c = pyconvx.Conv2d(3, 8, 3, seed=43)
    assert_bitwise_equal(a.weight, b.weight)
    assert_bitwise_equal(a.bias, b.bias)
    assert not np.array_equal(a.weight, c.weight)
    d = pyconvx.Conv2d(3, 8, 3)
    e = pyconvx.Conv2d(3, 8, 3)
    assert not np.array_equal(d.weight, e.weight)


def test_seed_accepts_generator_like_numpy():
    a = pyconvx.Conv2d(3, 8, 3, seed=np.int64(5))
    b = pyconvx.Conv2d(3, 8, 3, seed=5)
    assert_bitwise_equal(a.weight, b.weight)


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_call_equals_conv(mode, rng):
    layer = pyconvx.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2,
                           **mode_kwargs(mode), seed=7)
    x = rng.standard_normal((3, 4, 9, 10)).astype(np.float32)
    expected = pyconvx.conv(x, layer.weight, layer.bias, stride=(2, 1), padding=1, dilation=(1, 2),
                            groups=2, **mode_kwargs(mode))
    got = layer(x)
    assert_bitwise_equal(got, expected)
    assert got.shape == layer.output_shape(x.shape)
    assert_matches_reference(got, x, layer.weight, layer.bias, stride=(2, 1), padding=1,
                             dilation=(1, 2), groups=2, **mode_kwargs(mode))
    assert_bitwise_equal(layer(x[1]), expected[1])  # unbatched


def test_conv1d_conv3d_call(rng):
    l1 = pyconvx.Conv1d(2, 3, 5, padding="same", seed=0, dtype=np.float64)
    x1 = rng.standard_normal((2, 2, 17))
    assert_matches_reference(l1(x1), x1, l1.weight, l1.bias, padding="same")
    l3 = pyconvx.Conv3d(2, 3, (2, 3, 2), stride=2, seed=0, dtype=np.float64)
    x3 = rng.standard_normal((1, 2, 6, 7, 5))
    assert_matches_reference(l3(x3), x3, l3.weight, l3.bias, stride=2)


def test_wrong_input_rank_and_channels():
    layer = pyconvx.Conv2d(3, 4, 3, seed=0)
    with pytest.raises(ValueError, match=r"x has C_in=2 channels"):
        layer(np.ones((1, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"with 2 spatial dims, got shape \(1, 1, 1, 3, 5\)"):
        layer(np.ones((1, 1, 1, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"with 2 spatial dims, got shape \(3, 5\)"):
        layer(np.ones((3, 5), np.float32))


@pytest.mark.parametrize("args,kwargs,exc,match", [
    ((3, 4, 0), {}, ValueError, r"kernel_size must be >= 1"),
    ((3, 4, (3, 3, 3)), {}, ValueError, r"kernel_size must be an int or a tuple of 2 ints"),
    ((3.0, 4, 3), {}, TypeError, r"in_channels must be an int, got float 3.0"),
    ((3, 4, 3), dict(groups=2), ValueError, r"groups=2 must divide both"),
    ((3, 4, 3), dict(stride=0), ValueError, r"stride must be >= 1, got 0"),
    ((3, 4, 3), dict(padding=-1), ValueError, r"padding must be >= 0"),
    ((3, 4, 3), dict(padding="sme"), ValueError, r"'valid', 'same', 'full'"),
    ((3, 4, 3), dict(padding_mode="zero"), ValueError, r"padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', 'symmetric', 'constant'; got 'zero'"),
    ((3, 4, 3), dict(bias=1), TypeError, r"bias must be a bool"),
    ((-3, 4, 3), {}, ValueError, r"in_channels"),
    ((3, 4, 3), dict(dilation=1.5), TypeError, r"dilation must be an int, got float 1.5"),
])
def test_constructor_validation(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        pyconvx.Conv2d(*args, **kwargs)


def test_repr_readable():
    text = repr(pyconvx.Conv2d(3, 64, 3, stride=2, padding=1, seed=0))
    assert text.startswith("Conv2d(")
    assert "3" in text and "64" in text and "stride" in text and "padding" in text
    assert len(text) < 300 and "array(" not in text
    text = repr(pyconvx.Conv1d(1, 2, 5, bias=False, seed=0))
    assert text.startswith("Conv1d(") and "bias=False" in text


def test_matches_torch_layer(rng):
    torch = pytest.importorskip("torch")
    layer = pyconvx.Conv2d(3, 5, 3, stride=2, padding=1, padding_mode="reflect", seed=3, dtype=np.float64)
    tl = torch.nn.Conv2d(3, 5, 3, stride=2, padding=1, padding_mode="reflect").double()
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(layer.weight))
        tl.bias.copy_(torch.from_numpy(layer.bias))
    assert sum(p.numel() for p in tl.parameters()) == layer.param_count
    x = rng.standard_normal((2, 3, 11, 12))
    expected = tl(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)
