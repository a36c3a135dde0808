"""conv_transpose(1d/2d/3d), the transposed size formula and ConvTranspose layers.

Checked against the independent NumPy reference, PyTorch when installed, and
the adjoint identity; bitwise identity over thread counts and layouts; errors.
"""

import numpy as np
import pytest
from _gradient_reference import conv_grads_reference, conv_transpose_reference
from hypothesis import given, settings
from hypothesis import strategies as st

import pyconvx

from _reference import assert_bitwise_equal


@st.composite
def problems(draw):
    ndim = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 3]))
    cin_g, cout_g = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    spatial = tuple(draw(st.integers(1, 7 if ndim < 3 else 4)) for _ in range(ndim))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                           for s, d in zip(stride, dilation))
    pads = []
    for n, k, s, d, op in zip(spatial, kernel, stride, dilation, output_padding):
        full = (n - 1) * s + d * (k - 1) + op + 1
        low = draw(st.integers(0, min(3, full - 1)))
        high = draw(st.integers(0, min(3, full - 1 - low)))
        pads.append((low, high))
    batch = draw(st.integers(0, 2))
    x_shape = ((batch,) if batch or draw(st.booleans()) else ()) + (groups * cin_g,) + spatial
    kwargs = dict(stride=stride, padding=tuple(pads), output_padding=output_padding,
                  groups=groups, dilation=dilation, flip=draw(st.booleans()))
    return x_shape, (groups * cin_g, cout_g) + kernel, kwargs, draw(st.integers(0, 2**31))


@settings(max_examples=150, deadline=None)
@given(problems())
def test_matches_numpy_reference(problem):
    x_shape, w_shape, kwargs, seed = problem
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    bias = rng.standard_normal(w_shape[1] * kwargs["groups"])
    got = pyconvx.conv_transpose(x, w, bias, **kwargs)
    expected = conv_transpose_reference(x, w, bias, **kwargs)
    assert got.shape == expected.shape == pyconvx.output_shape(
        x_shape, w_shape, transposed=True,
        **{k: v for k, v in kwargs.items() if k != "flip"})
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=1e-12 * max(1.0, np.abs(expected).max(initial=0)))
    got32 = pyconvx.conv_transpose(x.astype(np.float32), w.astype(np.float32), **kwargs)
    assert got32.dtype == np.float32
    scale = conv_transpose_reference(np.abs(x), np.abs(w), **kwargs)
    taps = int(np.prod(w_shape[2:])) * w_shape[0] + 1
    assert np.all(np.abs(got32 - (expected - bias.reshape((-1,) + (1,) * (len(w_shape) - 2))))
                  <= taps * 2**-23 * scale + 1e-6)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_matches_torch(problem):
    torch = pytest.importorskip("torch")
    x_shape, w_shape, kwargs, seed = problem
    # torch takes one symmetric padding per dim
    kwargs = {**kwargs, "padding": tuple(min(lo, hi) for lo, hi in kwargs["padding"])}
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    ndim = len(w_shape) - 2
    weight = torch.tensor(w)
    if kwargs["flip"]:
        weight = torch.flip(weight, dims=list(range(2, 2 + ndim)))
    function = (torch.nn.functional.conv_transpose1d, torch.nn.functional.conv_transpose2d,
                torch.nn.functional.conv_transpose3d)[ndim - 1]
    try:
        expected = function(torch.tensor(x), weight, stride=kwargs["stride"],
                            padding=kwargs["padding"], output_padding=kwargs["output_padding"],
                            groups=kwargs["groups"], dilation=kwargs["dilation"]).numpy()
    except RuntimeError:
        return   # torch refuses some sizes pyconvx takes (an empty batch, say)
    got = pyconvx.conv_transpose(x, w, **kwargs)
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=1e-12 * max(1.0, np.abs(expected).max(initial=0)))


@settings(max_examples=40, deadline=None)
@given(problems())
def test_adjoint_of_conv(problem):
    x_shape, w_shape, kwargs, seed = problem
    rng = np.random.default_rng(seed)
    v, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    y = pyconvx.conv_transpose(v, w, **kwargs)
    u = rng.standard_normal(y.shape)
    conv_kwargs = {k: kwargs[k] for k in ("stride", "padding", "groups", "dilation", "flip")}
    forward = pyconvx.conv(u, w, **conv_kwargs)
    # with output_padding the convolution may see extra outputs: those are not the adjoint's
    forward = forward[(Ellipsis,) + tuple(slice(0, n) for n in x_shape[-(len(w_shape) - 2):])]
    assert np.isclose(np.vdot(y, u), np.vdot(v, forward), rtol=1e-10,
                      atol=1e-10 * (1 + np.abs(u).sum()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bitwise_identical_for_threads_and_layouts(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 24, 13, 11)).astype(dtype)
    w = rng.standard_normal((24, 16, 4, 4)).astype(dtype)
    first = pyconvx.conv_transpose2d(x, w, stride=2, padding=1, threads=1)
    for threads in (2, 3, 4):
        assert_bitwise_equal(pyconvx.conv_transpose2d(x, w, stride=2, padding=1,
                                                      threads=threads), first)
    flipped = np.ascontiguousarray(x[:, :, ::-1])[:, :, ::-1]
    assert_bitwise_equal(pyconvx.conv_transpose2d(flipped, np.asfortranarray(w), stride=2,
                                                  padding=1), first)
    out = np.empty_like(first)
    assert pyconvx.conv_transpose(x, w, stride=2, padding=1, out=out) is out
    assert_bitwise_equal(out, first)


def test_audio_decoder_and_unbatched():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 8, 50)).astype(np.float32)
    w = rng.standard_normal((8, 4, 16)).astype(np.float32)
    y = pyconvx.conv_transpose1d(x, w, stride=8, padding=4)
    assert y.shape == (2, 4, 400)
    np.testing.assert_allclose(y, conv_transpose_reference(x, w, stride=8, padding=4),
                               atol=1e-4)
    assert_bitwise_equal(pyconvx.conv_transpose1d(x[0], w, stride=8, padding=4), y[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case, stacked", [
    # 8+ output channels per group at a small stride: each phase in place
    (dict(x=(3, 12, 7, 6), w=(12, 9, 4, 4), stride=2, padding=1), False),
    (dict(x=(2, 8, 5, 6), w=(8, 8, 3, 2), stride=(3, 2), padding=(1, 0), groups=2), False),
    # few output channels per group, or a last-dim stride of 4 or more: stacked
    (dict(x=(3, 12, 7, 6), w=(12, 5, 4, 4), stride=2, padding=1), True),
    (dict(x=(2, 16, 40), w=(16, 10, 16), stride=8, padding=4), True),
    (dict(x=(2, 6, 5, 9), w=(6, 8, 2, 8), stride=(2, 4)), True),
])
def test_phases_in_place_or_stacked_give_the_reference(case, stacked, dtype):
    """The planner stacks the phases or runs them in place by the channels and
    the stride; both give the reference, with bits that do not depend on the
    thread count, and so does the input gradient that runs the same phases."""
    case = dict(case)
    rng = np.random.default_rng(12)
    x = rng.standard_normal(case.pop("x")).astype(dtype)
    w = rng.standard_normal(case.pop("w")).astype(dtype)
    bias = rng.standard_normal(w.shape[1] * case.get("groups", 1)).astype(dtype)
    plan = pyconvx.plan_transpose(x, w, **case).grad_input
    assert hasattr(plan, "stacked_shape") == stacked
    got = pyconvx.conv_transpose(x, w, bias, threads=1, **case)
    tolerance = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, conv_transpose_reference(x, w, bias, **case),
                               atol=tolerance * np.sqrt(w.shape[0] * np.prod(w.shape[2:])))
    for threads in (2, 3):
        assert_bitwise_equal(pyconvx.conv_transpose(x, w, bias, threads=threads, **case), got)
    # the input gradient of the forward convolution whose adjoint this is
    # (from got's shape to x's, with the same weight): its grad_output is x-shaped
    g = rng.standard_normal(x.shape).astype(dtype)
    grad_input = pyconvx.conv_grad_input(got.shape, w, g, **case)
    np.testing.assert_allclose(
        grad_input, conv_grads_reference(np.zeros(got.shape), w, g, **case)[0],
        atol=tolerance * np.sqrt(w.shape[0] * np.prod(w.shape[2:])))


def test_transposed_sizes():
    assert pyconvx.output_size(28, 4, stride=2, padding=1, transposed=True) == 56
    assert pyconvx.output_size(7, 3, stride=2, padding=(1, 0), transposed=True,
                               output_padding=1) == 15
    assert pyconvx.output_shape((2, 6, 5), (6, 2, 3), stride=3, groups=3, transposed=True,
                                output_padding=2) == (2, 6, 17)
    for size in range(1, 12):   # the transposed size inverts the convolution's
        for stride in (1, 2, 3):
            out = pyconvx.output_size(size, 3, stride=stride, padding=1)
            extra = (size + 2 - 3) % stride
            assert pyconvx.output_size(out, 3, stride=stride, padding=1, transposed=True,
                                       output_padding=extra) == size


def test_errors_name_the_argument():
    x, w = np.ones((1, 4, 5, 5)), np.ones((4, 2, 3, 3))
    with pytest.raises(ValueError, match=r"output_padding must be smaller than either stride "
                                         r"or dilation, got output_padding=2 with stride=2 "
                                         r"and dilation=1"):
        pyconvx.conv_transpose(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="x has C_in=4 channels but the weight"):
        pyconvx.conv_transpose(x, np.ones((3, 2, 3, 3)))
    with pytest.raises(ValueError, match="padding is too large"):
        pyconvx.conv_transpose(x, w, padding=5)
    with pytest.raises(ValueError, match="padding of a transposed convolution"):
        pyconvx.conv_transpose(x, w, padding="same")
    with pytest.raises(ValueError, match="bias must have shape"):
        pyconvx.conv_transpose(x, w, np.ones(3))
    with pytest.raises(ValueError, match="weight must have 3 dims"):
        pyconvx.conv_transpose1d(x, w)
    with pytest.raises(TypeError, match="stride must be an int"):
        pyconvx.conv_transpose(x, w, stride=1.5)
    with pytest.raises(ValueError, match="output_padding is used only with transposed=True"):
        pyconvx.output_size(10, 3, output_padding=1)
    with pytest.raises(ValueError, match="padding_mode must be one of 'zeros'"):
        pyconvx.ConvTranspose2d(2, 2, 3, padding_mode="reflect")


def test_layer_matches_torch_and_learns():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    reference = torch.nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1,
                                         groups=2).double()
    layer = pyconvx.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2,
                                    dtype=np.float64, seed=0)
    assert layer.weight.shape == tuple(reference.weight.shape)
    layer.weight = reference.weight.detach().numpy().copy()
    layer.bias = reference.bias.detach().numpy().copy()
    x = np.random.default_rng(0).standard_normal((2, 6, 5, 4))
    xt = torch.tensor(x, requires_grad=True)
    y = reference(xt)
    g = np.random.default_rng(1).standard_normal(tuple(y.shape))
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(layer(x), y.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.grad_weight, reference.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.grad_bias, reference.bias.grad.numpy(), atol=1e-12)
    bound = 1 / np.sqrt(2 * 9)
    fresh = pyconvx.ConvTranspose2d(6, 4, 3, groups=2, seed=3)
    assert np.abs(fresh.weight).max() <= bound
    assert_bitwise_equal(fresh.weight, pyconvx.ConvTranspose2d(6, 4, 3, groups=2, seed=3).weight)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacked_phases_in_blocks_and_layouts(dtype, monkeypatch):
    from pyconvx._engine import plan_backward
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 6, 9, 7)).astype(dtype)
    w = rng.standard_normal((6, 4, 4, 6)).astype(dtype)
    bias = rng.standard_normal(8).astype(dtype)
    kwargs = dict(stride=(2, 3), padding=((1, 2), (0, 1)), groups=2)
    assert hasattr(pyconvx.plan_transpose(x, w, **kwargs).grad_input, "block")
    whole = pyconvx.conv_transpose(x, w, bias, **kwargs)
    np.testing.assert_allclose(whole, conv_transpose_reference(x, w, bias, **kwargs),
                               atol=1e-4 if dtype == np.float32 else 1e-12)
    # blocks of two images (and a last block of one) give the same bits
    shape = pyconvx.plan_transpose(x, w, **kwargs).grad_input.stacked_shape
    monkeypatch.setattr(plan_backward, "STACK_BLOCK_BYTES",
                        2 * int(np.prod(shape[1:])) * x.itemsize)
    monkeypatch.setattr(plan_backward, "_plan_cache", {})   # plan anew with that limit
    blocked = pyconvx.conv_transpose(x, w, bias, **kwargs)
    assert pyconvx.plan_transpose(x, w, **kwargs).grad_input.block == 2
    assert_bitwise_equal(blocked, whole)
    for threads in (1, 3):
        assert_bitwise_equal(pyconvx.conv_transpose(x, w, bias, threads=threads, **kwargs),
                             whole)


def test_input_gradient_through_stacked_phases_channels_last():
    rng = np.random.default_rng(10)
    kwargs = dict(stride=2, padding=1, groups=2)
    x = rng.standard_normal((3, 8, 12, 8))
    w = rng.standard_normal((6, 4, 4, 4))
    g = rng.standard_normal(pyconvx.output_shape(x.shape, w.shape, **kwargs))
    assert hasattr(pyconvx.plan_backward(x, w, **kwargs).grad_input, "block")
    first = pyconvx.conv_grad_input(x.shape, w, g, **kwargs)
    np.testing.assert_allclose(first, conv_grads_reference(x, w, g, **kwargs)[0], atol=1e-12)
    channels_last = pyconvx.conv_grad_input(np.moveaxis(x, 1, -1).shape, w,
                                            np.moveaxis(g, 1, -1),
                                            data_format="channels_last", **kwargs)
    assert_bitwise_equal(np.moveaxis(channels_last, -1, 1), first)


@pytest.mark.parametrize("kwargs", [
    dict(stride=2, padding=1),                              # stacked phases
    dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1), dilation=(1, 2), groups=2),
])
def test_channels_last_matches_channels_first(kwargs):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 8, 7, 9))
    w = rng.standard_normal((8, 3, 4, 3))
    bias = rng.standard_normal(3 * kwargs.get("groups", 1))
    first = pyconvx.conv_transpose2d(x, w, bias, **kwargs)
    x_last = np.moveaxis(x, 1, -1)
    last = pyconvx.conv_transpose2d(x_last, w, bias, data_format="channels_last", threads=3,
                                    **kwargs)
    assert last.shape == np.moveaxis(first, 1, -1).shape
    assert last.flags.c_contiguous
    assert_bitwise_equal(np.moveaxis(last, -1, 1), first)
    assert pyconvx.output_shape(x_last.shape, w.shape, transposed=True,
                                data_format="channels_last", **kwargs) == last.shape
    unbatched = pyconvx.conv_transpose(x_last[1], w, bias, data_format="channels_last",
                                       **kwargs)
    assert_bitwise_equal(unbatched, last[1])
    assert pyconvx.plan_transpose(x_last, w, data_format="channels_last",
                                  **kwargs).grad_input.phases


def test_channels_last_layer_and_its_gradients():
    rng = np.random.default_rng(12)
    kwargs = dict(stride=2, padding=1, output_padding=1, groups=2)
    first = pyconvx.ConvTranspose2d(6, 4, 3, dtype=np.float64, seed=1, **kwargs)
    last = pyconvx.ConvTranspose2d(6, 4, 3, dtype=np.float64, seed=1,
                                   data_format="channels_last", **kwargs)
    assert "data_format='channels_last'" in repr(last)
    x = rng.standard_normal((2, 6, 5, 4))
    y = first(x)
    y_last = last(np.moveaxis(x, 1, -1))
    assert_bitwise_equal(np.moveaxis(y_last, -1, 1), y)
    assert last.output_shape((2, 5, 4, 6)) == y_last.shape
    g = rng.standard_normal(y.shape)
    grad_x = first.backward(g)
    grad_x_last = last.backward(np.moveaxis(g, 1, -1))
    assert_bitwise_equal(np.moveaxis(grad_x_last, -1, 1), grad_x)
    assert_bitwise_equal(last.grad_weight, first.grad_weight)
    assert_bitwise_equal(last.grad_bias, first.grad_bias)


def test_data_format_is_checked():
    with pytest.raises(ValueError, match="data_format must be one of"):
        pyconvx.conv_transpose(np.ones((1, 2, 3, 3)), np.ones((2, 1, 2, 2)),
                               data_format="NHWC")
    with pytest.raises(ValueError, match=r"x must have shape \(N, \*spatial, C_in\)"):
        pyconvx.conv_transpose(np.ones((2, 3, 3)), np.ones((2, 1, 2, 2, 2)),
                               data_format="channels_last")
