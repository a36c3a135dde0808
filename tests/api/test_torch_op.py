"""pyconvx.torch: the autograd operations and the Conv2d module against torch itself.

gradcheck (finite differences) in float64 for every function over strides,
paddings, dilations and groups; forward results and gradients against
torch.nn.functional in float32 and float64; only the gradients autograd asks
for are computed; tensors are read without a copy; channels-last tensors;
bitwise identity over thread counts; the errors; the module's drop-in use.
"""

import doctest
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import pyconvx.torch as ptorch  # noqa: E402  (after the optional peer is known to exist)

from _reference import assert_bitwise_equal  # noqa: E402

#: (function name, input shape, weight shape, keyword arguments)
CONV_CASES = [
    ("conv1d", (2, 4, 11), (6, 2, 3), dict(stride=2, padding=1, groups=2)),
    ("conv1d", (3, 7), (4, 3, 2), dict(dilation=3, padding="same")),           # unbatched
    ("conv2d", (2, 3, 7, 8), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
    ("conv2d", (1, 4, 6, 7), (4, 1, 3, 3), dict(padding=2, dilation=2, groups=4)),  # depthwise
    ("conv2d", (2, 2, 5, 5), (3, 2, 2, 2), dict(padding="valid")),
    ("conv3d", (1, 2, 4, 5, 4), (4, 1, 2, 3, 2), dict(stride=(1, 2, 1), padding=1, groups=2)),
]

#: (function name, input shape, weight shape, keyword arguments)
TRANSPOSE_CASES = [
    ("conv_transpose1d", (2, 4, 6), (4, 3, 4), dict(stride=3, padding=1, output_padding=2)),
    ("conv_transpose1d", (4, 5), (4, 1, 3), dict(dilation=2, groups=2)),          # unbatched
    ("conv_transpose2d", (2, 4, 4, 5), (4, 2, 3, 3),
     dict(stride=2, padding=1, output_padding=1, groups=2)),
    ("conv_transpose2d", (1, 3, 3, 4), (3, 2, 2, 3),
     dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1))),
    ("conv_transpose2d", (1, 2, 4, 4), (2, 3, 3, 3), dict(stride=2, dilation=3,
                                                           output_padding=2)),
    ("conv_transpose3d", (1, 2, 3, 3, 2), (2, 2, 2, 3, 2),
     dict(stride=(2, 1, 2), padding=(0, 1, 0), output_padding=(1, 0, 1))),
]

ALL_CASES = CONV_CASES + TRANSPOSE_CASES


def _operands(case, dtype, *, bias=True, seed=0):
    name, x_shape, w_shape, _ = case
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(x_shape, dtype=dtype, generator=generator)
    w = torch.randn(w_shape, dtype=dtype, generator=generator)
    out_channels = w_shape[1] * case[3].get("groups", 1) if "transpose" in name else w_shape[0]
    b = torch.randn(out_channels, dtype=dtype, generator=generator) if bias else None
    return x, w, b


def _ids(cases):
    return [f"{case[0]}-{i}" for i, case in enumerate(cases)]


@pytest.mark.parametrize("case", ALL_CASES, ids=_ids(ALL_CASES))
def test_gradcheck_float64(case):
    name, _, _, kwargs = case
    x, w, b = _operands(case, torch.float64)
    for tensor in (x, w, b):
        tensor.requires_grad_()
    function = getattr(ptorch, name)
    assert torch.autograd.gradcheck(lambda x, w, b: function(x, w, b, **kwargs), (x, w, b))


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
@pytest.mark.parametrize("case", ALL_CASES, ids=_ids(ALL_CASES))
def test_forward_and_gradients_match_torch(case, dtype, tolerance):
    name, _, _, kwargs = case
    x, w, b = _operands(case, dtype, seed=1)
    results = []
    for function in (getattr(ptorch, name), getattr(F, name)):
        xs, ws, bs = (t.clone().requires_grad_() for t in (x, w, b))
        y = function(xs, ws, bs, **kwargs)
        g = torch.randn(y.shape, dtype=dtype, generator=torch.Generator().manual_seed(2))
        y.backward(g)
        results.append((y.detach(), xs.grad, ws.grad, bs.grad))
    for mine, theirs in zip(*results):
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
        scale = 1 + theirs.abs().max().item()
        assert (mine - theirs).abs().max().item() <= tolerance * scale


def test_without_bias_and_a_loss_through_expanded_gradients():
    x = torch.randn(2, 3, 9, 9, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    ptorch.conv2d(x, w, padding=1).sum().backward()     # grad_output: an expanded tensor
    x2, w2 = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    F.conv2d(x2, w2, padding=1).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(w.grad, w2.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d"])
def test_only_the_gradients_asked_for_are_computed(name, monkeypatch):
    import pyconvx.torch as module

    wrapped = "conv_backward" if name == "conv2d" else "transposed_gradients"
    original = getattr(module, wrapped)
    asked = []

    def recording(*args, needs, **kwargs):
        asked.append(tuple(needs))
        return original(*args, needs=needs, **kwargs)

    monkeypatch.setattr(module, wrapped, recording)
    w_shape = (4, 3, 3, 3)
    for requires, expected in [((True, False, False), ("input",)),
                               ((False, True, False), ("weight",)),
                               ((False, False, True), ("bias",)),
                               ((True, True, True), ("input", "weight", "bias"))]:
        x = torch.randn(2, 4 if name == "conv_transpose2d" else 3, 6, 6, dtype=torch.float64)
        w = torch.randn(w_shape, dtype=torch.float64)
        b = torch.randn(3 if name == "conv_transpose2d" else 4, dtype=torch.float64)
        for tensor, flag in zip((x, w, b), requires):
            tensor.requires_grad_(flag)
        getattr(ptorch, name)(x, w, b, padding=1).sum().backward()
        assert asked.pop() == expected
        assert (x.grad is not None, w.grad is not None, b.grad is not None) == requires
    assert not asked


def test_tensors_are_read_and_returned_without_a_copy(monkeypatch):
    import pyconvx.torch as module

    seen = {}
    original = module.conv_impl

    def recording(x, w, b, *args, **kwargs):
        seen.update(x=x, w=w)
        return original(x, w, b, *args, **kwargs)

    monkeypatch.setattr(module, "conv_impl", recording)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    y = ptorch.conv2d(x, w)
    assert np.shares_memory(seen["x"], x.detach().numpy())
    assert np.shares_memory(seen["w"], w.detach().numpy())
    # the result is the tensor view of pyconvx's array
    assert y.is_contiguous() and y.dtype == torch.float32 and y.requires_grad


def test_channels_last_tensors_are_computed_in_place_and_stay_channels_last():
    x = torch.randn(2, 6, 9, 7, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    wt = torch.randn(6, 2, 3, 3, dtype=torch.float64)
    x_last = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    x_first = x.clone().requires_grad_()
    for function, weight, kwargs in [(ptorch.conv2d, w, dict(padding=1, groups=2)),
                                     (ptorch.conv_transpose2d, wt,
                                      dict(stride=2, padding=1, output_padding=1, groups=2))]:
        x_last.grad = x_first.grad = None
        y_last = function(x_last, weight, **kwargs)
        y_first = function(x_first, weight, **kwargs)
        assert y_last.is_contiguous(memory_format=torch.channels_last)
        assert_bitwise_equal(y_last.detach().contiguous().numpy(), y_first.detach().numpy())
        reference = getattr(F, function.__name__)(x_last, weight, **kwargs)
        assert reference.is_contiguous(memory_format=torch.channels_last)   # as torch does
        g = torch.randn(y_first.shape, dtype=torch.float64)
        y_last.backward(g)
        y_first.backward(g)
        assert_bitwise_equal(x_last.grad.contiguous().numpy(), x_first.grad.numpy())


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d"])
def test_bitwise_identical_for_every_torch_thread_count(name):
    case = next(c for c in ALL_CASES if c[0] == name)
    x, w, b = _operands(case, torch.float32, seed=3)
    before = torch.get_num_threads()
    runs = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            xs, ws, bs = (t.clone().requires_grad_() for t in (x, w, b))
            y = getattr(ptorch, name)(xs, ws, bs, **case[3])
            y.backward(torch.ones_like(y))
            runs.append([t.numpy() for t in (y.detach(), xs.grad, ws.grad, bs.grad)])
    finally:
        torch.set_num_threads(before)
    for run in runs[1:]:
        for a, b in zip(run, runs[0]):
            assert_bitwise_equal(a, b)


def test_errors_name_the_tensor_and_the_problem():
    x = torch.randn(1, 2, 5, 5)
    w = torch.randn(3, 2, 3, 3)
    with pytest.raises(TypeError, match=r"pyconvx.torch computes on the CPU: input is on meta"):
        ptorch.conv2d(x.to("meta"), w)
    with pytest.raises(TypeError, match=r"weight must be float32 or float64, got torch.float16"):
        ptorch.conv2d(x, w.half())
    with pytest.raises(TypeError, match=r"input must be float32 or float64, got torch.int64"):
        ptorch.conv_transpose2d(x.long(), torch.randn(2, 3, 3, 3))
    with pytest.raises(TypeError, match=r"input, weight and bias must have one dtype, got "
                                        r"input is float32, weight is float64"):
        ptorch.conv2d(x, w.double())
    with pytest.raises(TypeError, match=r"bias must be float32 or float64, got torch.bfloat16"):
        ptorch.conv1d(x[0], w[:, :, 0], torch.zeros(3, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match=r"must be a dense \(strided\) tensor"):
        ptorch.conv2d(x.to_sparse(), w)
    with pytest.raises(TypeError, match=r"input must be a torch.Tensor, got ndarray"):
        ptorch.conv2d(x.numpy(), w)
    with pytest.raises(ValueError, match=r"padding='same' is not supported for strided"):
        ptorch.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"Invalid padding string 'full'"):
        ptorch.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match=r"weight must have 4 dims"):
        ptorch.conv2d(x, w[:, :, 0])
    with pytest.raises(ValueError, match=r"output_padding must be smaller"):
        ptorch.conv_transpose2d(x, torch.randn(2, 3, 3, 3), stride=2, output_padding=2)


def test_no_double_backward():
    x = torch.randn(1, 1, 5, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    (grad_x,) = torch.autograd.grad(ptorch.conv2d(x, w).square().sum(), x,
                                    create_graph=True)
    with pytest.raises(RuntimeError, match="marked with @once_differentiable"):
        grad_x.sum().backward()


@pytest.mark.parametrize("kwargs", [
    dict(padding=1),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=(2, 1), padding_mode="replicate", stride=2),
    dict(padding="same", padding_mode="circular", dilation=2),
    dict(padding=1, groups=3, bias=False),
])
def test_conv2d_module_is_a_drop_in_for_torch(kwargs):
    torch.manual_seed(5)
    reference = torch.nn.Conv2d(6, 9, 3, dtype=torch.float64, **kwargs)
    torch.manual_seed(5)
    layer = ptorch.Conv2d(6, 9, 3, dtype=torch.float64, **kwargs)
    assert isinstance(layer, torch.nn.Conv2d)
    for (name, mine), (_, theirs) in zip(layer.named_parameters(),
                                         reference.named_parameters()):   # torch's init
        assert mine.shape == theirs.shape and torch.equal(mine, theirs), name
    torch.manual_seed(6)
    reference.reset_parameters()
    assert str(layer.load_state_dict(reference.state_dict())) == "<All keys matched successfully>"
    x = torch.randn(2, 6, 11, 10, dtype=torch.float64)
    results = []
    for module in (layer, reference):
        xs = x.clone().requires_grad_()
        y = module(xs)
        y.backward(torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape))
        results.append([y.detach(), xs.grad] + [p.grad for p in module.parameters()])
    for mine, theirs in zip(*results):
        torch.testing.assert_close(mine, theirs, rtol=1e-10, atol=1e-10)


def test_conv2d_module_learns_in_an_optimizer_loop():
    torch.manual_seed(0)
    layer = ptorch.Conv2d(1, 1, 3, padding=1, bias=False, dtype=torch.float64)
    image = torch.rand(1, 1, 32, 32, dtype=torch.float64) - 0.5
    sobel = torch.tensor([[[[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]]],
                         dtype=torch.float64)
    target = F.conv2d(image, sobel, padding=1)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    for _ in range(300):
        optimizer.zero_grad()
        loss = F.mse_loss(layer(image), target)
        loss.backward()
        optimizer.step()
    assert (layer.weight.detach() - sobel).abs().max().item() < 1e-3


def test_docstring_examples_run():
    import pyconvx.torch as module

    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried >= 7 and failures == 0


def test_pyconvx_alone_does_not_import_torch():
    code = "import sys, pyconvx; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "False"
