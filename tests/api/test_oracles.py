"""pyconvx (and the test reference) against SciPy and PyTorch, when installed."""

import numpy as np
import pytest

import pyconvx

from _problems import conv_or_refusal
from _reference import conv_reference, error_bound


def _close(got, expected, x, w, b=None, **kwargs):
    # oracle's own float64 rounding plus ours: 2 x the reference bound
    bound = 2 * error_bound(x, w, b, dtype=got.dtype, normwise="fft" in kwargs.pop("algorithm", ""),
                            **kwargs)
    err = np.abs(got.astype(np.float64) - expected)
    assert (err <= bound).all(), f"max err {err.max():.3g}, bound there {bound.flat[err.argmax()]:.3g}"


# ----------------------------------------------------------------------------- scipy
scipy_signal = pytest.importorskip("scipy.signal")


@pytest.mark.parametrize("x_shape,k_shape", [
    ((50,), (7,)), ((1000,), (64,)), ((17, 23), (3, 5)), ((40, 41), (15, 15)), ((9, 10, 11), (3, 2, 4)),
])
def test_scipy_correlate_and_convolve_valid(x_shape, k_shape, algorithm, rng):
    x = rng.standard_normal(x_shape)
    k = rng.standard_normal(k_shape)
    corr = conv_or_refusal(algorithm, x[None, None], k[None, None])
    if corr is None:
        return
    corr = corr[0, 0]
    conv = pyconvx.conv(x[None, None], k[None, None], flip=True, algorithm=algorithm)[0, 0]
    _close(corr, scipy_signal.correlate(x, k, mode="valid", method="direct"), x[None, None],
           k[None, None], algorithm=algorithm)
    _close(conv, scipy_signal.convolve(x, k, mode="valid", method="direct"), x[None, None],
           k[None, None], flip=True, algorithm=algorithm)


@pytest.mark.parametrize("mode", ["full", "same"])
def test_scipy_full_and_same_odd_kernel(mode, rng):
    x = rng.standard_normal((21, 18))
    k = rng.standard_normal((5, 3))
    got = pyconvx.conv(x[None, None], k[None, None], padding=mode, flip=True)[0, 0]
    # scipy "same" centres like an odd kernel: same as the TF rule for odd kernels
    _close(got, scipy_signal.convolve(x, k, mode=mode, method="direct"), x[None, None],
           k[None, None], padding=mode, flip=True)


def test_scipy_correlate2d_boundaries(rng):
    x = rng.standard_normal((12, 13))
    k = rng.standard_normal((3, 3))
    wrap = pyconvx.conv(x[None, None], k[None, None], padding=1, padding_mode="circular")[0, 0]
    _close(wrap, scipy_signal.correlate2d(x, k, mode="same", boundary="wrap"), x[None, None],
           k[None, None], padding=1, padding_mode="circular")


def test_scipy_ndimage_modes(rng):
    ndimage = pytest.importorskip("scipy.ndimage")
    x = rng.standard_normal((14, 15))
    k = rng.standard_normal((3, 5))
    # ndimage.correlate centres the kernel at its middle; 'mirror' = torch 'reflect',
    # 'nearest' = 'replicate', 'wrap' = 'circular', 'constant' = 'zeros'
    for nd_mode, mode in (("mirror", "reflect"), ("nearest", "replicate"), ("wrap", "circular"),
                          ("constant", "zeros")):
        got = pyconvx.conv(x[None, None], k[None, None], padding=(1, 2), padding_mode=mode)[0, 0]
        expected = ndimage.correlate(x, k, mode=nd_mode, cval=0.0)
        _close(got, expected, x[None, None], k[None, None], padding=(1, 2), padding_mode=mode)


# ----------------------------------------------------------------------------- torch
torch = pytest.importorskip("torch")
F = torch.nn.functional
TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def torch_conv(x, w, b, stride, pads, dilation, groups, mode):
    ndim = w.ndim - 2
    func = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[ndim]
    flat = []
    for low, high in reversed(pads):  # F.pad wants the last dim first
        flat += [low, high]
    xt = torch.from_numpy(np.ascontiguousarray(x))
    if any(flat):
        xt = F.pad(xt, flat, mode=TORCH_MODE[mode])
    bt = None if b is None else torch.from_numpy(b)
    return func(xt, torch.from_numpy(w), bt, stride=stride, dilation=dilation, groups=groups).numpy()


TORCH_CASES = [
    ((2, 3, 17), (4, 3, 5), 2, ((2, 1),), 1, 1),
    ((2, 4, 20), (8, 1, 3), 1, ((1, 1),), 3, 4),
    ((2, 3, 11, 12), (6, 3, 3, 3), 1, ((1, 1), (1, 1)), 1, 1),
    ((1, 4, 13, 10), (6, 2, 3, 2), (2, 1), ((2, 0), (1, 1)), (1, 2), 2),
    ((2, 6, 9, 9), (12, 1, 3, 3), 2, ((1, 1), (1, 1)), 1, 6),
    ((1, 8, 7, 8), (5, 8, 1, 1), 1, ((0, 0), (0, 0)), 1, 1),
    ((1, 2, 6, 7, 5), (3, 2, 3, 3, 2), (1, 2, 1), ((1, 1), (0, 2), (1, 0)), 1, 1),
    ((2, 4, 5, 6, 7), (4, 2, 2, 3, 3), 1, ((1, 1), (1, 1), (2, 2)), 2, 2),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("case", TORCH_CASES, ids=[f"{len(c[1]) - 2}d-{i}" for i, c in enumerate(TORCH_CASES)])
def test_torch_functional(case, mode, dtype, rng):
    x_shape, w_shape, stride, pads, dilation, groups = case
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    expected = torch_conv(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                          stride, pads, dilation, groups, mode)
    got = pyconvx.conv(x, w, b, stride=stride, padding=pads, dilation=dilation, groups=groups,
                       padding_mode=mode)
    assert got.dtype == dtype
    _close(got, expected, x, w, b, stride=stride, padding=pads, dilation=dilation, groups=groups,
           padding_mode=mode)
    # and the reference itself agrees with torch (guards the reference)
    np.testing.assert_allclose(conv_reference(x, w, b, stride=stride, padding=pads, dilation=dilation,
                                              groups=groups, padding_mode=mode),
                               expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("k,dilation", [(3, 1), (4, 1), (2, 3), (5, 2), (1, 1)])
def test_torch_same_padding(k, dilation, rng):
    """torch's padding='same' (stride 1) also puts the odd extra on the high side."""
    x = rng.standard_normal((2, 3, 10, 9))
    w = rng.standard_normal((4, 3, k, k + 1))
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same", dilation=dilation).numpy()
    got = pyconvx.conv(x, w, padding="same", dilation=dilation)
    _close(got, expected, x, w, padding="same", dilation=dilation)


@pytest.mark.parametrize("layer_mode", ["zeros", "reflect", "replicate", "circular"])
def test_torch_module_padding_mode(layer_mode, rng):
    conv = torch.nn.Conv2d(3, 4, 3, padding=2, padding_mode=layer_mode, dilation=2).double()
    x = rng.standard_normal((2, 3, 8, 9))
    with torch.no_grad():
        expected = conv(torch.from_numpy(x)).numpy()
    w = conv.weight.detach().numpy()
    b = conv.bias.detach().numpy()
    got = pyconvx.conv(x, w, b, padding=2, dilation=2, padding_mode=layer_mode)
    _close(got, expected, x, w, b, padding=2, dilation=2, padding_mode=layer_mode)


def test_torch_large_tiles(rng):
    x = rng.standard_normal((3, 64, 29, 31)).astype(np.float32)
    w = rng.standard_normal((96, 64, 3, 3)).astype(np.float32)
    b = rng.standard_normal(96).astype(np.float32)
    expected = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                        torch.from_numpy(b).double(), padding=1, stride=(1, 2)).numpy()
    got = pyconvx.conv(x, w, b, padding=1, stride=(1, 2))
    _close(got, expected, x, w, b, padding=1, stride=(1, 2))
