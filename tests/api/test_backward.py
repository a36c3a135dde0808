"""conv_grad_input, conv_grad_weight, conv_backward and the layers' backward.

Checked against the independent NumPy reference (tests/_gradient_reference.py),
PyTorch's autograd through F.pad and F.convNd when installed, the adjoint
identity and central finite differences; bitwise identity over thread counts
and input layouts; the errors of bad input.
"""

import numpy as np
import pytest
from _gradient_reference import conv_grads_reference
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconvx

from _reference import assert_bitwise_equal

MODES = ("zeros", "reflect", "replicate", "circular", "symmetric", "constant")


@st.composite
def problems(draw, modes=MODES):
    ndim = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 3]))
    cin_g = draw(st.integers(1, 3))
    cout_g = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    size_max = 9 if ndim < 3 else 6
    spatial = tuple(draw(st.integers(d * (k - 1) + 1, d * (k - 1) + size_max))
                    for k, d in zip(kernel, dilation))
    mode = draw(st.sampled_from(modes))
    limit = [s - 1 if mode == "reflect" else (s if mode in ("circular", "symmetric") else 3)
             for s in spatial]
    pads = tuple((draw(st.integers(0, min(2, lim))), draw(st.integers(0, min(2, lim))))
                 for lim in limit)
    batch = draw(st.integers(0, 2))
    batched = batch != 0 or draw(st.booleans())
    x_shape = ((batch,) if batched else ()) + (groups * cin_g,) + spatial
    if not batched:
        x_shape = (groups * cin_g,) + spatial
    kwargs = dict(stride=stride, padding=pads, dilation=dilation, groups=groups,
                  flip=draw(st.booleans()), padding_mode=mode)
    if mode == "constant":
        kwargs["padding_value"] = -1.25
    return x_shape, (groups * cout_g, cin_g) + kernel, kwargs, draw(st.integers(0, 2**31))


def _arrays(x_shape, w_shape, kwargs, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    out_shape = pyconvx.output_shape(x_shape, w_shape, **{k: v for k, v in kwargs.items()
                                                           if k != "flip"})
    g = rng.standard_normal(out_shape).astype(dtype)
    return x, w, g


def _close(got, expected, rtol):
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=rtol * scale)


@settings(max_examples=120, deadline=None)
@given(problems())
def test_matches_numpy_reference_float64(problem):
    x_shape, w_shape, kwargs, seed = problem
    x, w, g = _arrays(x_shape, w_shape, kwargs, seed)
    got = pyconvx.conv_backward(x, w, g, **kwargs)
    expected = conv_grads_reference(x, w, g, **kwargs)
    for value, reference in zip(got, expected):
        assert value.dtype == np.float64
        _close(value, reference, 1e-12)
    assert_bitwise_equal(pyconvx.conv_grad_input(x.shape, w, g, **kwargs), got.grad_input)
    assert_bitwise_equal(pyconvx.conv_grad_weight(x, w.shape, g, **kwargs), got.grad_weight)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_float32_within_the_error_bound(problem):
    x_shape, w_shape, kwargs, seed = problem
    x, w, g = _arrays(x_shape, w_shape, kwargs, seed, np.float32)
    got = pyconvx.conv_backward(x, w, g, **kwargs)
    expected = conv_grads_reference(x, w, g, **kwargs)
    # each gradient is a sum of products of float32 values: bounded by
    # (terms) * eps * sum |products|, at most the size of the reduction
    terms = max(x.size, g.size, 1)
    absolute = conv_grads_reference(np.abs(x), np.abs(w), np.abs(g),
                                    **{**kwargs, "padding_value": abs(kwargs.get(
                                        "padding_value", 0.0))})
    for value, reference, bound in zip(got, expected, absolute):
        assert value.dtype == np.float32
        assert np.all(np.abs(value - reference) <= terms * 2**-23 * bound + 1e-30)


@settings(max_examples=60, deadline=None)
@given(problems(modes=("zeros", "reflect", "replicate", "circular")))
def test_matches_torch_autograd(problem):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    x_shape, w_shape, kwargs, seed = problem
    x, w, g = _arrays(x_shape, w_shape, kwargs, seed)
    ndim = len(w_shape) - 2
    if x.shape[0] == 0 and len(x_shape) == ndim + 2:
        return   # torch's padding modes refuse an empty batch
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    weight = torch.flip(wt, dims=list(range(2, 2 + ndim))) if kwargs["flip"] else wt
    flat = [side for pair in reversed(kwargs["padding"]) for side in pair]
    batched_x = xt if len(x_shape) == ndim + 2 else xt[None]
    mode = kwargs["padding_mode"]
    padded = functional.pad(batched_x, flat, mode="constant" if mode == "zeros" else mode)
    conv = (functional.conv1d, functional.conv2d, functional.conv3d)[ndim - 1]
    y = conv(padded, weight, stride=kwargs["stride"], dilation=kwargs["dilation"],
             groups=kwargs["groups"])
    gt = torch.tensor(g if len(x_shape) == ndim + 2 else g[None])
    gx, gw = torch.autograd.grad(y, (xt, wt), gt)
    got = pyconvx.conv_backward(x, w, g, **kwargs)
    _close(got.grad_input, gx.numpy(), 1e-12)
    _close(got.grad_weight, gw.numpy(), 1e-12)
    _close(got.grad_bias, gt.sum(dim=[0] + list(range(2, 2 + ndim))).numpy(), 1e-12)


@settings(max_examples=40, deadline=None)
@given(problems())
def test_adjoint_identity(problem):
    x_shape, w_shape, kwargs, seed = problem
    x, w, g = _arrays(x_shape, w_shape, kwargs, seed)
    # the convolution's linear part: a constant border's value adds an offset only
    lhs = np.vdot(pyconvx.conv(x, w, **{**kwargs, "padding_value": 0.0}), g)
    rhs = np.vdot(x, pyconvx.conv_grad_input(x.shape, w, g, **kwargs))
    assert np.isclose(lhs, rhs, rtol=1e-10, atol=1e-10 * (1 + np.abs(x).sum()))


@pytest.mark.parametrize("mode", MODES)
def test_central_finite_differences(mode):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 6, 5))
    w = rng.standard_normal((6, 2, 3, 2))
    kwargs = dict(stride=(2, 1), padding=((1, 2), (1, 1)), dilation=(1, 2), groups=2,
                  padding_mode=mode, padding_value=0.5 if mode == "constant" else 0.0)
    g = rng.standard_normal(pyconvx.output_shape(x.shape, w.shape, **kwargs))

    def loss(x_, w_):
        return np.vdot(pyconvx.conv(x_, w_, **kwargs), g)

    grads = pyconvx.conv_backward(x, w, g, **kwargs)
    h = 1e-6
    for index in [(0, 0, 0, 0), (1, 3, 5, 4), (0, 2, 3, 0), (1, 1, 0, 2)]:
        step = np.zeros_like(x)
        step[index] = h
        numeric = (loss(x + step, w) - loss(x - step, w)) / (2 * h)
        assert np.isclose(grads.grad_input[index], numeric, rtol=1e-6, atol=1e-7)
    for index in [(0, 0, 0, 0), (5, 1, 2, 1), (3, 0, 1, 0)]:
        step = np.zeros_like(w)
        step[index] = h
        numeric = (loss(x, w + step) - loss(x, w - step)) / (2 * h)
        assert np.isclose(grads.grad_weight[index], numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    dict(x=(3, 16, 20, 18), w=(24, 16, 3, 3), padding=1),
    dict(x=(2, 12, 15, 17), w=(12, 1, 3, 3), padding=1, groups=12),
    dict(x=(3, 32, 9, 11), w=(32, 32, 1, 1)),
    # large enough that the forward planner would split its boxes by the
    # thread count, and (pointwise) read a contiguous x in place
    dict(x=(2, 48, 9, 700), w=(96, 48, 1, 1)),
    dict(x=(3, 64, 17, 19), w=(64, 64, 3, 3), padding=1),
    dict(x=(2, 6, 40), w=(4, 3, 5), stride=2, groups=2, padding_mode="reflect", padding=2),
    dict(x=(2, 4, 6, 7, 5), w=(8, 4, 3, 2, 3), stride=(1, 2, 1), padding=1,
         padding_mode="circular"),
    # pointwise depthwise (the dot path): rows ending in a partial vector, read in
    # place from a C-contiguous x and from a copied band otherwise; rows of one
    dict(x=(3, 8, 7, 21), w=(8, 1, 1, 1), groups=8),
    dict(x=(2, 6, 5, 1), w=(6, 1, 1, 1), groups=6),
])
def test_bitwise_identical_for_threads_and_layouts(dtype, case):
    case = dict(case)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(case.pop("x")).astype(dtype)
    w = rng.standard_normal(case.pop("w")).astype(dtype)
    g = rng.standard_normal(pyconvx.output_shape(x.shape, w.shape, **case)).astype(dtype)
    first = pyconvx.conv_backward(x, w, g, threads=1, **case)
    for threads in (2, 3, 5):
        again = pyconvx.conv_backward(x, w, g, threads=threads, **case)
        for a, b in zip(again, first):
            assert_bitwise_equal(a, b)
    # non-contiguous and negative-stride views of the same values
    big_x = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), dtype=dtype)
    big_x[..., ::2] = x
    reversed_g = np.ascontiguousarray(g[:, :, ::-1])[:, :, ::-1]
    fortran_w = np.asfortranarray(w)
    views = pyconvx.conv_backward(big_x[..., ::2], fortran_w, reversed_g, threads=2, **case)
    for a, b in zip(views, first):
        assert_bitwise_equal(a, b)
    for a, b in zip(pyconvx.conv_backward(np.asfortranarray(x), w, g, **case), first):
        assert_bitwise_equal(a, b)


def test_channels_last_matches_channels_first():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 5, 9, 10)).astype(np.float32)
    w = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
    g = rng.standard_normal((2, 6, 9, 10)).astype(np.float32)
    first = pyconvx.conv_backward(x, w, g, padding=1, padding_mode="reflect")
    last = pyconvx.conv_backward(np.moveaxis(x, 1, -1), w, np.moveaxis(g, 1, -1), padding=1,
                                 padding_mode="reflect", data_format="channels_last")
    assert_bitwise_equal(np.moveaxis(last.grad_input, -1, 1), first.grad_input)
    assert_bitwise_equal(last.grad_weight, first.grad_weight)
    assert_bitwise_equal(last.grad_bias, first.grad_bias)


def test_channels_last_pointwise_matches_channels_first():
    # a pointwise layer reads a channels-first x in place: channels-last x
    # must give the same sums all the same
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 48, 9, 700)).astype(np.float32)
    w = rng.standard_normal((96, 48, 1, 1)).astype(np.float32)
    g = rng.standard_normal((2, 96, 9, 700)).astype(np.float32)
    first = pyconvx.conv_grad_weight(x, w.shape, g)
    last = pyconvx.conv_grad_weight(np.moveaxis(x, 1, -1), w.shape, np.moveaxis(g, 1, -1),
                                    data_format="channels_last", threads=3)
    assert_bitwise_equal(last, first)


def test_padding_strings_and_empty_batch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 8))
    w = rng.standard_normal((4, 3, 2, 3))
    for padding in ("same", "full", "valid"):
        kwargs = dict(padding=padding, stride=2)
        g = rng.standard_normal(pyconvx.output_shape(x.shape, w.shape, **kwargs))
        got = pyconvx.conv_backward(x, w, g, **kwargs)
        for value, reference in zip(got, conv_grads_reference(x, w, g, **kwargs)):
            _close(value, reference, 1e-12)
    empty = pyconvx.conv_backward(x[:0], w, np.zeros((0, 4, 6, 6)))
    assert empty.grad_input.shape == (0, 3, 7, 8)
    assert np.all(empty.grad_weight == 0) and np.all(empty.grad_bias == 0)


def test_needs_selects_the_gradients():
    x, w = np.ones((1, 2, 5)), np.ones((3, 2, 2))
    g = np.ones((1, 3, 4))
    only = pyconvx.conv_backward(x, w, g, needs=("weight",))
    assert only.grad_input is None and only.grad_bias is None
    assert only.grad_weight.tolist() == [[[4.0, 4.0]] * 2] * 3
    assert pyconvx.conv_backward(x, w, g, needs="bias").grad_bias.tolist() == [4.0] * 3


def test_errors_name_the_argument():
    x, w, g = np.ones((2, 3, 8)), np.ones((4, 3, 3)), np.ones((2, 4, 6))
    with pytest.raises(ValueError, match=r"grad_output must have the shape.*\(2, 4, 6\).*"
                                         r"\(2, 4, 5\)"):
        pyconvx.conv_backward(x, w, np.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="grad_output must have the shape"):
        pyconvx.conv_grad_input((2, 3, 9), w, g, stride=2)
    with pytest.raises(TypeError, match="x is float64, grad_output is float32"):
        pyconvx.conv_grad_weight(x, w.shape, g.astype(np.float32))
    with pytest.raises(TypeError, match="weight is float32, grad_output is float64"):
        pyconvx.conv_grad_input(x.shape, w.astype(np.float32), g)
    with pytest.raises(TypeError, match="input_shape must be a shape"):
        pyconvx.conv_grad_input(x, w, g)
    with pytest.raises(ValueError, match="needs must hold only"):
        pyconvx.conv_backward(x, w, g, needs=("inputs",))
    with pytest.raises(TypeError, match="flip must be a bool"):
        pyconvx.conv_backward(x, w, g, flip=1)
    with pytest.raises(TypeError, match="grad_output has dtype complex128"):
        pyconvx.conv_backward(x, w, g.astype(complex))
    with pytest.raises(ValueError, match="padding_mode='reflect' needs padding"):
        pyconvx.conv_grad_input((2, 3, 2), w, np.ones((2, 4, 4)), padding=2,
                                padding_mode="reflect")


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_layers_learn(ndim):
    layer = getattr(pyconvx, f"Conv{ndim}d")(4, 6, 3, stride=2, padding=1, groups=2,
                                             padding_mode="replicate", dtype=np.float64,
                                             seed=1)
    rng = np.random.default_rng(ndim)
    x = rng.standard_normal((2, 4) + (7,) * ndim)
    y = layer(x)
    g = rng.standard_normal(y.shape)
    grad_x = layer.backward(g)
    expected = conv_grads_reference(x, layer.weight, g, stride=2, padding=1, groups=2,
                                    padding_mode="replicate")
    _close(grad_x, expected[0], 1e-12)
    _close(layer.grad_weight, expected[1], 1e-12)
    _close(layer.grad_bias, expected[2], 1e-12)
    layer.backward(g)   # gradients add up until zero_grad
    _close(layer.grad_weight, 2 * expected[1], 1e-12)
    layer.zero_grad()
    assert layer.grad_weight is None and layer.grad_bias is None


def test_layer_backward_needs_a_forward_call():
    with pytest.raises(RuntimeError, match="call the layer on a batch first"):
        pyconvx.Conv2d(1, 1, 3).backward(np.ones((1, 1, 3, 3), dtype=np.float32))


def test_plan_backward_describes_every_part():
    p = pyconvx.plan_backward((8, 64, 56, 56), (64, 64, 3, 3), padding=1,
                              padding_mode="reflect", dtype=np.float64)
    text = str(p)
    assert "gemm" in text and "phase" in text and "folded" in text and "16 lanes" in text
    assert p.workspace_bytes <= 64 * 2**20
    depthwise = pyconvx.plan_backward((8, 256, 28, 28), (256, 1, 3, 3), padding=1,
                                      groups=256)
    assert depthwise.grad_weight.path == "dot"
    assert p.grad_weight.path in ("gemm", "wide")
    huge_batch = pyconvx.plan_backward((4096, 64, 56, 56), (64, 64, 3, 3), padding=1,
                                       padding_mode="reflect")
    assert huge_batch.workspace_bytes <= 64 * 2**20
