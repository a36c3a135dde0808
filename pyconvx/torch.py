"""PyTorch autograd operations on pyconvx's engine: CPU tensors in, tensors out.

``pyconvx.torch.conv1d/2d/3d`` and ``conv_transpose1d/2d/3d`` take the
arguments of ``torch.nn.functional``'s functions of the same names, in the
same order and with the same meaning, and are ``torch.autograd.Function``s:
the forward pass runs :func:`pyconvx.conv` (or
:func:`pyconvx.conv_transpose`), the backward pass pyconvx's gradients
(:func:`pyconvx.conv_backward`; for a transposed convolution its adjoint
relations), computing only the gradients autograd asks for.
:class:`Conv2d` is a ``torch.nn.Conv2d`` whose forward pass runs
:func:`conv2d`: same constructor, parameters and initialisation, so a
``torch.nn.Conv2d``'s ``state_dict`` loads into it.

Tensors are shared with NumPy, not copied: a CPU tensor of float32 or
float64 is read through ``tensor.detach().numpy()`` (any strides, so a
``torch.channels_last`` tensor is read in place and the result has that
memory format too, as with torch), and the result is ``torch.from_numpy``
of pyconvx's array.  Other devices and dtypes are a TypeError.  The
computation uses ``torch.get_num_threads()`` threads; its results are
bitwise identical for every count.  The backward pass is not itself
differentiable (no double backward).

This is the one module of pyconvx that imports torch; torch is not a
dependency of pyconvx: install a build of PyTorch for your machine first
(https://pytorch.org).
"""

try:
    import torch
    from torch.autograd.function import once_differentiable
except ImportError as exc:  # say how to get it, not just that it is missing
    raise ImportError(
        "pyconvx.torch needs PyTorch: install a build for your machine (a CPU build is "
        "enough), see https://pytorch.org"
    ) from exc

import numpy as np

from ._docstrings import DOCS, docfiller
from ._normalize import as_int_tuple
from .backward import conv_backward, transposed_gradients
from .conv import conv_impl
from .transpose import conv_transpose_impl

__all__ = ["Conv2d", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]

#: The tensor dtypes pyconvx computes in.
DTYPES = (torch.float32, torch.float64)

#: torch.nn.ConvNd's padding modes and pyconvx's names for them.
PADDING_MODES = {"zeros": "zeros", "reflect": "reflect", "replicate": "replicate",
                 "circular": "circular"}

#: The memory format of a batched tensor whose channels are its last axis.
CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


DOCS["torch_conv_arguments"] = """\
bias : torch.Tensor, optional
    ``(C_out,)``.
stride, dilation : int or tuple of int, optional
    As for torch (>= 1).
padding : int, tuple of int or {"valid", "same"}, optional
    Zeros on both sides of each dim (as for torch: "same" only with stride
    1, the odd element of its padding on the high side).
groups : int, optional
    Channel groups; must divide C_in and C_out."""
DOCS["torch_transpose_arguments"] = """\
bias : torch.Tensor, optional
    ``(C_out,)``.
stride, padding, output_padding, groups, dilation : int or tuple of int, optional
    As for torch: each output size is ``(in - 1) * stride - 2 * padding +
    dilation * (k - 1) + output_padding + 1``."""
DOCS["torch_raises"] = """\
TypeError
    A tensor not on the CPU, sparse, or of another dtype than float32 or
    float64 (all of one dtype).
ValueError
    Shapes or arguments that do not fit (the message names them)."""


def _as_numpy(tensor, name):
    """The NumPy view of a CPU float32/float64 tensor (no copy)."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.device.type != "cpu":
        raise TypeError(f"pyconvx.torch computes on the CPU: {name} is on {tensor.device}; "
                        f"move it with .cpu() or use torch.nn.functional on that device")
    if tensor.layout != torch.strided:
        raise TypeError(f"{name} must be a dense (strided) tensor, got layout {tensor.layout}")
    if tensor.dtype not in DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {tensor.dtype}")
    return tensor.detach().resolve_neg().numpy()


def _operands(input, weight, bias):
    """NumPy views of the operands, all of one dtype (as torch requires)."""
    arrays = [_as_numpy(input, "input"), _as_numpy(weight, "weight")]
    if bias is not None:
        arrays.append(_as_numpy(bias, "bias"))
    dtypes = {array.dtype for array in arrays}
    if len(dtypes) > 1:
        named = ", ".join(f"{name} is {array.dtype}"
                          for name, array in zip(("input", "weight", "bias"), arrays))
        raise TypeError(f"input, weight and bias must have one dtype, got {named}")
    return arrays[0], arrays[1], (arrays[2] if bias is not None else None)


def _channels_last(tensor):
    """Whether a batched tensor is laid out channels last (and not also
    channels first, as a tensor with a single channel or position can be)."""
    memory_format = CHANNELS_LAST.get(tensor.dim())
    return (memory_format is not None and not tensor.is_contiguous()
            and tensor.is_contiguous(memory_format=memory_format))


def _layout(input, x):
    """The data_format of the call and x in it: a channels-last tensor is
    computed channels last (read in place, written as torch writes it)."""
    if _channels_last(input):
        return "channels_last", np.moveaxis(x, 1, -1)
    return "channels_first", x


def _tensor(array, data_format):
    """The result as a tensor sharing the array's memory, in torch's axis order."""
    result = torch.from_numpy(array)
    if data_format == "channels_last":
        result = result.movedim(-1, 1)
    return result


def _conv_padding(padding, weight, stride, dilation, ndim):
    """torch's padding for conv: ints, or "valid" / "same" (stride 1 only, the
    odd padding on the high side) as (low, high) pairs."""
    if not isinstance(padding, str):
        return padding
    if padding == "valid":
        return 0
    if padding != "same":
        raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                         f"{{'valid', 'same'}}")
    if any(s != 1 for s in as_int_tuple(stride, "stride", ndim, 1)):
        raise ValueError("padding='same' is not supported for strided convolutions")
    kernel = weight.shape[2:]
    totals = [d * (k - 1) for d, k in zip(as_int_tuple(dilation, "dilation", ndim, 1), kernel)]
    return tuple((total // 2, total - total // 2) for total in totals)


def _gradient_tensor(array, data_format):
    """A gradient (None if not asked for) as a tensor in torch's axis order."""
    return None if array is None else _tensor(array, data_format)


def _backward(ctx, grad_output, gradients):
    """The gradients autograd asks for (``ctx.needs_input_grad``), from
    ``gradients(x, w, g, needs, threads)`` (ConvGradients of NumPy arrays in
    the call's data_format), as the nine results of a backward pass."""
    needs = tuple(name for name, needed in zip(("input", "weight", "bias"),
                                               ctx.needs_input_grad[:3]) if needed)
    if not needs:
        return (None,) * 9
    input, weight = ctx.saved_tensors
    x, w, _ = _operands(input, weight, None)
    g = _as_numpy(grad_output, "grad_output")
    if ctx.data_format == "channels_last":
        x, g = np.moveaxis(x, 1, -1), np.moveaxis(g, 1, -1)
    grads = gradients(x, w, g, needs, torch.get_num_threads())
    return (_gradient_tensor(grads.grad_input, ctx.data_format),
            _gradient_tensor(grads.grad_weight, "channels_first"),
            _gradient_tensor(grads.grad_bias, "channels_first")) + (None,) * 6


class _Convolution(torch.autograd.Function):
    """y = conv(x, w) + b on pyconvx; its backward pass on pyconvx's gradients."""

    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                ndim):
        x, w, b = _operands(input, weight, bias)
        ctx.data_format, x = _layout(input, x)
        y = conv_impl(x, w, b, stride, padding, dilation, groups, padding_mode=padding_mode,
                      data_format=ctx.data_format, threads=torch.get_num_threads(), ndim=ndim)
        ctx.save_for_backward(input, weight)
        ctx.arguments = (stride, padding, dilation, groups)
        ctx.padding_mode = padding_mode
        return _tensor(y, ctx.data_format)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        def gradients(x, w, g, needs, threads):
            return conv_backward(x, w, g, *ctx.arguments, padding_mode=ctx.padding_mode,
                                 data_format=ctx.data_format, needs=needs, threads=threads)
        return _backward(ctx, grad_output, gradients)


class _TransposedConvolution(torch.autograd.Function):
    """y = conv_transpose(x, w) + b on pyconvx; its backward pass through the
    adjoint relations (``backward.transposed_gradients``)."""

    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, output_padding, groups, dilation,
                ndim):
        x, w, b = _operands(input, weight, bias)
        ctx.data_format, x = _layout(input, x)
        y = conv_transpose_impl(x, w, b, stride, padding, output_padding, groups, dilation,
                                threads=torch.get_num_threads(), ndim=ndim,
                                data_format=ctx.data_format)
        ctx.save_for_backward(input, weight)
        ctx.arguments = (stride, padding, output_padding, groups, dilation)
        ctx.ndim = ndim
        return _tensor(y, ctx.data_format)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        def gradients(x, w, g, needs, threads):
            return transposed_gradients(x, w, g, *ctx.arguments, needs=needs, threads=threads,
                                        data_format=ctx.data_format, ndim=ctx.ndim)
        return _backward(ctx, grad_output, gradients)


def _convolution(input, weight, bias, stride, padding, dilation, groups, ndim,
                 padding_mode="zeros"):
    _as_numpy(weight, "weight")   # the checks of a tensor before its shape is read
    padding = _conv_padding(padding, weight, stride, dilation, ndim)
    return _Convolution.apply(input, weight, bias, stride, padding, dilation, groups,
                              padding_mode, ndim)


@docfiller
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution of CPU tensors on pyconvx, like ``torch.nn.functional.conv1d``.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C_in, L)`` or unbatched ``(C_in, L)``; float32 or float64, on
        the CPU, any strides.
    weight : torch.Tensor
        ``(C_out, C_in / groups, k)``, the dtype of input.
    %(torch_conv_arguments)s

    Returns
    -------
    torch.Tensor
        ``(N, C_out, L_out)``; differentiable with respect to input, weight
        and bias.

    Raises
    ------
    %(torch_raises)s

    Examples
    --------
    >>> import torch, pyconvx.torch
    >>> x = torch.arange(5.0).reshape(1, 1, 5).requires_grad_()
    >>> y = pyconvx.torch.conv1d(x, torch.tensor([[[1.0, 0.0, -1.0]]]))
    >>> y
    tensor([[[-2., -2., -2.]]], grad_fn=<_ConvolutionBackward>)
    >>> y.sum().backward()
    >>> x.grad
    tensor([[[ 1.,  1.,  0., -1., -1.]]])
    """
    return _convolution(input, weight, bias, stride, padding, dilation, groups, 1)


@docfiller
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution of CPU tensors on pyconvx, like ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; float32 or
        float64, on the CPU, any strides (a ``torch.channels_last`` tensor is
        read in place and gives a channels-last result).
    weight : torch.Tensor
        ``(C_out, C_in / groups, kH, kW)``, the dtype of input.
    %(torch_conv_arguments)s

    Returns
    -------
    torch.Tensor
        ``(N, C_out, H_out, W_out)``; differentiable with respect to input,
        weight and bias.

    Raises
    ------
    %(torch_raises)s

    Examples
    --------
    >>> import torch, torch.nn.functional as F, pyconvx.torch
    >>> x = torch.randn(2, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    >>> w = torch.randn(8, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    >>> y = pyconvx.torch.conv2d(x, w, stride=2, padding=1)
    >>> y.shape
    torch.Size([2, 8, 8, 8])
    >>> torch.allclose(y, F.conv2d(x, w, stride=2, padding=1))
    True
    >>> y.square().sum().backward()
    >>> x.grad.shape, w.grad.shape
    (torch.Size([2, 3, 16, 16]), torch.Size([8, 3, 3, 3]))
    """
    return _convolution(input, weight, bias, stride, padding, dilation, groups, 2)


@docfiller
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution of CPU tensors on pyconvx, like ``torch.nn.functional.conv3d``.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``; float32 or
        float64, on the CPU, any strides.
    weight : torch.Tensor
        ``(C_out, C_in / groups, kD, kH, kW)``, the dtype of input.
    %(torch_conv_arguments)s

    Returns
    -------
    torch.Tensor
        ``(N, C_out, D_out, H_out, W_out)``; differentiable with respect to
        input, weight and bias.

    Raises
    ------
    %(torch_raises)s

    Examples
    --------
    >>> import torch, pyconvx.torch
    >>> x = torch.ones(1, 2, 4, 4, 4)
    >>> pyconvx.torch.conv3d(x, torch.ones(3, 2, 3, 3, 3), padding="same").shape
    torch.Size([1, 3, 4, 4, 4])
    """
    return _convolution(input, weight, bias, stride, padding, dilation, groups, 3)


def _transposed(input, weight, bias, stride, padding, output_padding, groups, dilation, ndim):
    return _TransposedConvolution.apply(input, weight, bias, stride, padding, output_padding,
                                        groups, dilation, ndim)


@docfiller
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-d transposed convolution of CPU tensors on pyconvx, like
    ``torch.nn.functional.conv_transpose1d``.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C_in, L)`` or unbatched ``(C_in, L)``; float32 or float64, on
        the CPU, any strides.
    weight : torch.Tensor
        ``(C_in, C_out / groups, k)`` (torch's layout), the dtype of input.
    %(torch_transpose_arguments)s

    Returns
    -------
    torch.Tensor
        ``(N, C_out, L_out)``; differentiable with respect to input, weight
        and bias.

    Raises
    ------
    %(torch_raises)s

    Examples
    --------
    Upsampling by 2: every input value stamps the kernel, two apart.

    >>> import torch, pyconvx.torch
    >>> x = torch.tensor([[[1.0, 2.0, 3.0]]])
    >>> pyconvx.torch.conv_transpose1d(x, torch.tensor([[[1.0, 1.0]]]), stride=2)
    tensor([[[1., 1., 2., 2., 3., 3.]]])
    """
    return _transposed(input, weight, bias, stride, padding, output_padding, groups, dilation,
                       1)


@docfiller
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-d transposed convolution of CPU tensors on pyconvx, like
    ``torch.nn.functional.conv_transpose2d``.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``; float32 or
        float64, on the CPU, any strides (a ``torch.channels_last`` tensor is
        read in place and gives a channels-last result).
    weight : torch.Tensor
        ``(C_in, C_out / groups, kH, kW)`` (torch's layout), the dtype of
        input.
    %(torch_transpose_arguments)s

    Returns
    -------
    torch.Tensor
        ``(N, C_out, H_out, W_out)``; differentiable with respect to input,
        weight and bias.

    Raises
    ------
    %(torch_raises)s

    Examples
    --------
    The decoder step of a segmentation network doubles the size:

    >>> import torch, torch.nn.functional as F, pyconvx.torch
    >>> x = torch.randn(1, 16, 14, 14, dtype=torch.float64)
    >>> w = torch.randn(16, 8, 4, 4, dtype=torch.float64)
    >>> y = pyconvx.torch.conv_transpose2d(x, w, stride=2, padding=1)
    >>> y.shape
    torch.Size([1, 8, 28, 28])
    >>> torch.allclose(y, F.conv_transpose2d(x, w, stride=2, padding=1))
    True
    """
    return _transposed(input, weight, bias, stride, padding, output_padding, groups, dilation,
                       2)


@docfiller
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-d transposed convolution of CPU tensors on pyconvx, like
    ``torch.nn.functional.conv_transpose3d``.

    Parameters
    ----------
    input : torch.Tensor
        ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``; float32 or
        float64, on the CPU, any strides.
    weight : torch.Tensor
        ``(C_in, C_out / groups, kD, kH, kW)`` (torch's layout), the dtype of
        input.
    %(torch_transpose_arguments)s

    Returns
    -------
    torch.Tensor
        ``(N, C_out, D_out, H_out, W_out)``; differentiable with respect to
        input, weight and bias.

    Raises
    ------
    %(torch_raises)s

    Examples
    --------
    >>> import torch, pyconvx.torch
    >>> x = torch.ones(1, 4, 5, 5, 5)
    >>> pyconvx.torch.conv_transpose3d(x, torch.ones(4, 2, 3, 3, 3), stride=2, padding=1,
    ...                                output_padding=1).shape
    torch.Size([1, 2, 10, 10, 10])
    """
    return _transposed(input, weight, bias, stride, padding, output_padding, groups, dilation,
                       3)


class Conv2d(torch.nn.Conv2d):
    """A ``torch.nn.Conv2d`` whose forward pass runs on pyconvx (:func:`conv2d`).

    The constructor, the parameters (``weight`` ``(out_channels,
    in_channels / groups, *kernel_size)``, ``bias``), their initialisation
    and the ``state_dict`` are torch.nn.Conv2d's own, so the weights of a
    ``torch.nn.Conv2d`` load into it and it can stand in for one in a
    model on the CPU.  A ``padding_mode`` other than "zeros" is computed in
    pyconvx's engine (no padded copy of the input), with the same result as
    torch's.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias
        As for ``torch.nn.Conv2d``.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, optional
        As for ``torch.nn.Conv2d``.
    device, dtype : optional
        As for ``torch.nn.Conv2d``; the forward pass needs CPU float32 or
        float64 parameters and input.

    Examples
    --------
    >>> import torch, pyconvx.torch
    >>> reference = torch.nn.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
    >>> layer = pyconvx.torch.Conv2d(3, 8, 3, padding=1, padding_mode="reflect")
    >>> layer.load_state_dict(reference.state_dict())
    <All keys matched successfully>
    >>> x = torch.randn(2, 3, 16, 16)
    >>> torch.allclose(layer(x), reference(x), atol=1e-5)
    True
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups, bias=bias,
                         padding_mode=padding_mode, device=device, dtype=dtype)
        # torch.nn.Conv2d has checked the mode; each of its modes is one of pyconvx's
        self._pyconvx_padding_mode = PADDING_MODES[padding_mode]

    def _conv_forward(self, input, weight, bias):
        return _convolution(input, weight, bias, self.stride, self.padding, self.dilation,
                            self.groups, 2, padding_mode=self._pyconvx_padding_mode)
