"""conv_grad_input, conv_grad_weight, conv_backward: the gradients of conv.

This layer validates (the forward problem through ``shapes.describe_conv``,
grad_output against its output shape), applies the dtype rule, allocates the
results and hands canonical views to the engine:

* the input gradient is the transposed convolution of grad_output
  (``transpose.run_transposed``: stride-1 phase convolutions of the forward
  engine), cropped by the padding; with a padding mode that copies input
  elements into the border (reflect, replicate, circular, symmetric) the
  gradient of the padded input is computed in blocks of images and its
  border folded back onto the elements it copied (``backward.fold_padded``);
* the weight gradient runs on ``_engine.backward.weight_grad`` (band of the
  forward plan, gemm or dot microkernel, fixed-order reduction);
* the bias gradient is ``_engine.backward.bias_grad``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, overload

import numpy as np
import numpy.typing as npt

from ._boundary import extend_indices
from ._docstrings import docfiller
from ._engine import backward as engine
from ._engine.plan_backward import (
    BIAS_SUM,
    BackwardPlan,
    WeightGradPlan,
    make_transpose_plan,
    make_weight_grad_plan,
    padded_chunk,
)
from ._normalize import (
    as_array,
    check_memory,
    compute_array,
    prod,
    resolve_threads,
    result_dtype,
)
from ._typing import (
    DataFormat,
    Float32Array,
    Float64Array,
    FloatArray,
    FloatT,
    GradientName,
    IntArg,
    IntTuple,
    PaddingArg,
    PaddingMode,
    RealNumber,
    TransposedPaddingArg,
)
from .conv import _element_strides, conv_impl
from .shapes import ConvGeometry, describe_conv, describe_transpose
from .transpose import (
    AnyTransposePlan,
    PhaseTaps,
    batched_channels_first,
    forward_weight,
    run_transposed,
    transpose_into,
    transposed_plan,
)

__all__ = ["ConvGradients", "conv_backward", "conv_grad_input", "conv_grad_weight",
           "plan_backward", "plan_transpose"]

#: What ``conv_backward(needs=...)`` can compute.
NEEDS: tuple[GradientName, ...] = ("input", "weight", "bias")

#: An array in the compute dtype (float32 or float64).
_Array = npt.NDArray[np.floating[Any]]

if TYPE_CHECKING:
    class ConvGradients(NamedTuple, Generic[FloatT]):
        """The result of :func:`conv_backward` for the type checker: the arrays
        have the dtype of the forward pass."""

        grad_input: npt.NDArray[FloatT] | None
        grad_weight: npt.NDArray[FloatT] | None
        grad_bias: npt.NDArray[FloatT] | None
else:
    #: The result of :func:`conv_backward`.
    ConvGradients = namedtuple("ConvGradients", ["grad_input", "grad_weight", "grad_bias"])
ConvGradients.__doc__ = """The gradients of a convolution (None for what was not asked).

Attributes
----------
grad_input : ndarray or None
    With respect to x: x's shape.
grad_weight : ndarray or None
    With respect to the weight: the weight's shape.
grad_bias : ndarray or None
    With respect to a bias: ``(C_out,)``.
"""


def _gradient_dtype(*arrays_and_names: tuple[npt.DTypeLike, str]) -> np.dtype[Any]:
    """The dtype rule of ``conv``, with one more rule for gradients: float32 and
    float64 arrays together are a TypeError (a gradient is computed in the dtype
    of its forward pass, never silently in another)."""
    floats: dict[np.dtype[Any], str] = {}
    for dtype_like, name in arrays_and_names:
        dtype = np.dtype(dtype_like)
        if dtype.kind == "f":
            floats.setdefault(dtype.newbyteorder("=") if not dtype.isnative else dtype, name)
    if len(floats) > 1:
        described = ", ".join(f"{name} is {dtype}" for dtype, name in floats.items())
        raise TypeError(f"the arrays of a gradient must share one floating dtype, got "
                        f"{described}: cast them to the dtype of the forward pass")
    gradient_dtype: np.dtype[Any] = result_dtype(*arrays_and_names)
    return gradient_dtype


def _describe(input_shape: Sequence[IntArg], weight_shape: Sequence[IntArg],
              grad_output: npt.NDArray[Any], stride: IntTuple, padding: PaddingArg,
              dilation: IntTuple, groups: IntArg, padding_mode: PaddingMode,
              padding_value: RealNumber, data_format: DataFormat) -> ConvGeometry:
    """The forward problem, and grad_output checked against its output shape."""
    geometry = describe_conv(input_shape, weight_shape, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, padding_mode=padding_mode,
                             padding_value=padding_value, data_format=data_format)
    if grad_output.shape != geometry.out_shape:
        raise ValueError(
            f"grad_output must have the shape of the forward output, {geometry.out_shape} "
            f"(x shape {tuple(input_shape)}, weight shape {tuple(weight_shape)}), got shape "
            f"{grad_output.shape}")
    return geometry


def _check_flip(flip: object) -> None:
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")


def _input_shape(input_shape: Sequence[IntArg]) -> Sequence[IntArg]:
    if isinstance(input_shape, np.ndarray):
        raise TypeError("input_shape must be a shape (a tuple of ints), got an array: "
                        "pass x.shape")
    return input_shape


def _grad_input(geometry: ConvGeometry, weight: _Array, g: _Array, dtype: np.dtype[Any],
                flip: bool, threads: int) -> _Array:
    """The input gradient (x's shape), from canonical weight and grad_output."""
    result: _Array = np.empty(_input_shape_of(geometry), dtype=dtype)
    target = batched_channels_first(result, geometry)
    if target.size == 0:
        return result
    if geometry.out_channels == 0:
        target[...] = 0
        return result
    w = forward_weight(weight, geometry.groups, flip)
    if geometry.padding_mode in ("zeros", "constant"):
        # the border holds no input element: its gradient is dropped (a crop)
        transpose_into(g, w, None, target, geometry.kernel, geometry.stride, geometry.dilation,
                       [lo for lo, _ in geometry.pads], geometry.groups, threads)
        return result
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial, geometry.pads))
    maps = [extend_indices(np.arange(size) - lo, n, geometry.padding_mode)
            for size, (lo, _), n in zip(padded, geometry.pads, geometry.in_spatial)]
    chunk = padded_chunk(geometry, dtype)
    block = np.empty((chunk, geometry.in_channels) + padded, dtype=dtype)
    plan: AnyTransposePlan | None = None
    taps: PhaseTaps = {}
    for start in range(0, geometry.batch, chunk):
        stop = min(start + chunk, geometry.batch)
        part = block[:stop - start]
        if plan is None or stop - start != chunk:
            plan = transposed_plan(g[start:stop], part, geometry.kernel, geometry.stride,
                                   geometry.dilation, [0] * geometry.ndim, geometry.groups,
                                   threads)
        run_transposed(g[start:stop], w, None, part, plan, taps)
        engine.fold_padded(part, target[start:stop], maps, threads)
    return result


def _input_shape_of(geometry: ConvGeometry) -> tuple[int, ...]:
    if geometry.data_format == "channels_last":
        core = geometry.in_spatial + (geometry.in_channels,)
    else:
        core = (geometry.in_channels,) + geometry.in_spatial
    return ((geometry.batch,) + core) if geometry.batched else core


def _grad_weight(geometry: ConvGeometry, x: _Array, g: _Array, dtype: np.dtype[Any],
                 flip: bool, threads: int) -> _Array:
    """The weight gradient (the weight's shape), from canonical x and grad_output."""
    result: _Array = np.empty(geometry.weight_shape, dtype=dtype)
    if result.size == 0:
        return result
    if geometry.batch == 0:
        result[...] = 0
        return result
    plan = make_weight_grad_plan(geometry, dtype, threads=threads,
                                 x_strides=_element_strides(x))
    check_memory(plan.workspace_bytes, "the weight gradient's workspace")
    if plan.contiguous_x and not x.flags.c_contiguous:
        check_memory(x.nbytes, "a C-contiguous channels-first copy of x")
        x = np.ascontiguousarray(x)
        plan = make_weight_grad_plan(geometry, dtype, threads=threads,
                                     x_strides=_element_strides(x))
    engine.weight_grad(x, g, result, plan.band.records[0], plan, bool(flip))
    return result


def channel_sums(grad_output: npt.ArrayLike, batched: bool, *,
                 threads: int | None = None) -> _Array:
    """The bias gradient of a channels-first grad_output (``batched``: with a
    leading batch axis): its sum per channel over the batch and the
    positions, in a fixed order."""
    g: _Array = np.asarray(grad_output)
    g = compute_array(g, _gradient_dtype((g.dtype, "grad_output")))
    if not batched:
        g = g[np.newaxis]
    result = np.empty((g.shape[1],), dtype=g.dtype)
    if result.size and g.size:
        engine.bias_grad(g, result, resolve_threads(threads))
    else:
        result[...] = 0
    return result


def transposed_gradients(x: npt.ArrayLike, weight: npt.ArrayLike, grad_output: npt.ArrayLike,
                         stride: IntTuple, padding: TransposedPaddingArg,
                         output_padding: IntTuple, groups: IntArg, dilation: IntTuple, *,
                         needs: Collection[GradientName], threads: int | None,
                         data_format: DataFormat, ndim: int | None) -> ConvGradients[Any]:
    """The gradients of ``y = conv_transpose(x, weight, bias, ...)`` (ConvGradients).

    A transposed convolution is the adjoint of the convolution with the same
    weight: ``dL/dx`` is that convolution of grad_output, ``dL/dweight`` its
    weight gradient with the roles of x and grad_output exchanged, and
    ``dL/dbias`` the sum of grad_output per channel.
    """
    x_array: npt.NDArray[Any] = as_array(x, "x")
    w_array: npt.NDArray[Any] = as_array(weight, "weight")
    g_array: npt.NDArray[Any] = as_array(grad_output, "grad_output")
    geometry = describe_transpose(x_array.shape, w_array.shape, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation,
                                  groups=groups, ndim=ndim, data_format=data_format)
    if g_array.shape != geometry.out_shape:
        raise ValueError(f"grad_output must have the shape of the transposed convolution's "
                         f"output, {geometry.out_shape}, got shape {g_array.shape}")
    last = data_format == "channels_last"
    # the spatial axes: after the batch and channel axes, or before the channel axis
    lead = x_array.ndim - geometry.ndim - (1 if last else 0)
    # the adjoint convolution maps the output back to the input's size, plus
    # output_padding // stride positions at the high end (when the dilation
    # allows an output_padding of a stride or more): zeros there
    extra = [op // s for op, s in zip(geometry.output_padding, geometry.stride)]
    grad_input: npt.NDArray[Any] | None = None
    grad_weight: npt.NDArray[Any] | None = None
    grad_bias: npt.NDArray[Any] | None = None
    if "input" in needs:
        grad_input = conv_impl(g_array, w_array, None, geometry.stride, geometry.pads,
                               geometry.dilation, groups, threads=threads, ndim=ndim,
                               data_format=data_format)
        if any(extra):
            grad_input = np.ascontiguousarray(grad_input[
                (slice(None),) * lead + tuple(slice(0, n) for n in geometry.in_spatial)])
    if "weight" in needs:
        if any(extra):
            x_array = np.pad(x_array, [(0, 0)] * lead + [(0, e) for e in extra]
                             + ([(0, 0)] if last else []))
        grad_weight = conv_backward(g_array, w_array, x_array, geometry.stride, geometry.pads,
                                    geometry.dilation, groups, needs=("weight",),
                                    threads=threads, data_format=data_format).grad_weight
    if "bias" in needs:
        grad_bias = channel_sums(np.moveaxis(g_array, -1, lead) if last else g_array,
                                 geometry.batched, threads=threads)
    return ConvGradients(grad_input, grad_weight, grad_bias)


def _grad_bias(geometry: ConvGeometry, g: _Array, dtype: np.dtype[Any], threads: int) -> _Array:
    result: _Array = np.empty((geometry.out_channels,), dtype=dtype)
    if result.size:
        if g.shape[0] == 0:
            result[...] = 0
        else:
            engine.bias_grad(g, result, threads)
    return result


@overload
def conv_grad_input(input_shape: Sequence[IntArg], weight: Float32Array, grad_output: Float32Array,
                    stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                    groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                    padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                    threads: int | None = None) -> Float32Array: ...


@overload
def conv_grad_input(input_shape: Sequence[IntArg], weight: Float64Array, grad_output: npt.ArrayLike,
                    stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                    groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                    padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                    threads: int | None = None) -> Float64Array: ...


@overload
def conv_grad_input(input_shape: Sequence[IntArg], weight: npt.ArrayLike, grad_output: Float64Array,
                    stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                    groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                    padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                    threads: int | None = None) -> Float64Array: ...


@overload
def conv_grad_input(input_shape: Sequence[IntArg], weight: npt.ArrayLike,
                    grad_output: npt.ArrayLike,
                    stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                    groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                    padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                    threads: int | None = None) -> FloatArray: ...


@docfiller
def conv_grad_input(input_shape: Sequence[IntArg], weight: npt.ArrayLike,
                    grad_output: npt.ArrayLike,
                    stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                    groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                    padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                    threads: int | None = None) -> FloatArray:
    """Gradient of :func:`pyconvx.conv` with respect to its input x.

    For ``y = conv(x, weight, ...)`` and a loss with ``grad_output = dL/dy``,
    returns ``dL/dx``: the transposed convolution of grad_output with the
    weight (:func:`pyconvx.conv_transpose`), cropped by the padding, and with a
    padding mode that copies input elements into the border (reflect,
    replicate, circular, symmetric) each border element's gradient added to
    the element it copied (a constant border has none).

    Parameters
    ----------
    input_shape : tuple of int
        The shape of x (several input sizes give one output size when the
        stride is above one, so it cannot be inferred).
    weight : array_like
        ``(C_out, C_in / groups, *kernel)``: the forward call's weight.
    %(grad_output)s
    %(grad_parameters)s

    Returns
    -------
    ndarray
        ``dL/dx``, of shape ``input_shape``.

    Raises
    ------
    %(grad_raises)s

    Examples
    --------
    The gradient of the sum of a "same" 3x3 box filter: each input element
    counts once per window that holds it.

    >>> import numpy as np, pyconvx
    >>> g = pyconvx.conv_grad_input((1, 1, 4, 4), np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4)),
    ...                             padding=1)
    >>> g[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]])

    With ``padding_mode="replicate"`` the border's copies of the edge send
    their gradient to the edge: every element now counts nine times.

    >>> pyconvx.conv_grad_input((1, 1, 4, 4), np.ones((1, 1, 3, 3)), np.ones((1, 1, 4, 4)),
    ...                         padding=1, padding_mode="replicate")[0, 0]
    array([[9., 9., 9., 9.],
           [9., 9., 9., 9.],
           [9., 9., 9., 9.],
           [9., 9., 9., 9.]])
    """
    w_array: npt.NDArray[Any] = as_array(weight, "weight")
    g_array: npt.NDArray[Any] = as_array(grad_output, "grad_output")
    _check_flip(flip)
    geometry = _describe(_input_shape(input_shape), w_array.shape, g_array, stride, padding,
                         dilation, groups, padding_mode, padding_value, data_format)
    dtype = _gradient_dtype((w_array.dtype, "weight"), (g_array.dtype, "grad_output"))
    thread_count: int = resolve_threads(threads)
    check_memory(prod(_input_shape_of(geometry)) * dtype.itemsize, "the input gradient")
    g: _Array = batched_channels_first(compute_array(g_array, dtype), geometry)
    return _grad_input(geometry, compute_array(w_array, dtype), g, dtype, flip, thread_count)


@overload
def conv_grad_weight(x: Float32Array, weight_shape: Sequence[IntArg], grad_output: Float32Array,
                     stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                     groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                     padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                     threads: int | None = None) -> Float32Array: ...


@overload
def conv_grad_weight(x: Float64Array, weight_shape: Sequence[IntArg], grad_output: npt.ArrayLike,
                     stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                     groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                     padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                     threads: int | None = None) -> Float64Array: ...


@overload
def conv_grad_weight(x: npt.ArrayLike, weight_shape: Sequence[IntArg], grad_output: Float64Array,
                     stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                     groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                     padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                     threads: int | None = None) -> Float64Array: ...


@overload
def conv_grad_weight(x: npt.ArrayLike, weight_shape: Sequence[IntArg], grad_output: npt.ArrayLike,
                     stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                     groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                     padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                     threads: int | None = None) -> FloatArray: ...


@docfiller
def conv_grad_weight(x: npt.ArrayLike, weight_shape: Sequence[IntArg], grad_output: npt.ArrayLike,
                     stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                     groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                     padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                     threads: int | None = None) -> FloatArray:
    """Gradient of :func:`pyconvx.conv` with respect to its weight.

    For ``y = conv(x, weight, ...)`` and ``grad_output = dL/dy``, returns
    ``dL/dweight[co, ci, m] = sum over images n and output positions o of
    grad_output[n, co, o] * x_padded[n, ci, o * stride + m * dilation]``,
    ``x_padded`` being x with the border ``padding_mode`` gives it.

    Parameters
    ----------
    x : array_like
        The forward call's input (any layout).
    weight_shape : tuple of int
        ``(C_out, C_in / groups, *kernel)``.
    %(grad_output)s
    %(grad_parameters)s

    Returns
    -------
    ndarray
        ``dL/dweight``, of shape ``weight_shape``.

    Raises
    ------
    %(grad_raises)s

    Notes
    -----
    The sum over the batch and the positions runs in one fixed order: the
    (image, output box) items are split into ranges fixed by the problem,
    each range summed in order into its own partial gradient, the partials
    added in range order; so the result is bitwise identical for every
    thread count and input layout.  :func:`pyconvx.plan_backward` shows the
    microkernel, the ranges and the workspace.

    Examples
    --------
    The weight gradient of a 1-d filter is the correlation of the input with
    grad_output:

    >>> import numpy as np, pyconvx
    >>> x = np.array([[[1., 2., 3., 4., 5.]]])
    >>> pyconvx.conv_grad_weight(x, (1, 1, 3), np.array([[[1., 0., -1.]]]))
    array([[[-2., -2., -2.]]])
    """
    x_array: npt.NDArray[Any] = as_array(x, "x")
    g_array: npt.NDArray[Any] = as_array(grad_output, "grad_output")
    _check_flip(flip)
    geometry = _describe(x_array.shape, weight_shape, g_array, stride, padding, dilation,
                         groups, padding_mode, padding_value, data_format)
    dtype = _gradient_dtype((x_array.dtype, "x"), (g_array.dtype, "grad_output"))
    thread_count: int = resolve_threads(threads)
    xb: _Array = batched_channels_first(compute_array(x_array, dtype), geometry)
    g: _Array = batched_channels_first(compute_array(g_array, dtype), geometry)
    return _grad_weight(geometry, xb, g, dtype, flip, thread_count)


@overload
def conv_backward(x: Float32Array, weight: Float32Array, grad_output: Float32Array,
                  stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                  groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                  padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                  needs: GradientName | Iterable[GradientName] = NEEDS,
                  threads: int | None = None) -> ConvGradients[np.float32]: ...


@overload
def conv_backward(x: Float64Array, weight: npt.ArrayLike, grad_output: npt.ArrayLike,
                  stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                  groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                  padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                  needs: GradientName | Iterable[GradientName] = NEEDS,
                  threads: int | None = None) -> ConvGradients[np.float64]: ...


@overload
def conv_backward(x: npt.ArrayLike, weight: npt.ArrayLike, grad_output: Float64Array,
                  stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                  groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                  padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                  needs: GradientName | Iterable[GradientName] = NEEDS,
                  threads: int | None = None) -> ConvGradients[np.float64]: ...


@overload
def conv_backward(x: npt.ArrayLike, weight: npt.ArrayLike, grad_output: npt.ArrayLike,
                  stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                  groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                  padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                  needs: GradientName | Iterable[GradientName] = NEEDS,
                  threads: int | None = None) -> ConvGradients[Any]: ...


@docfiller
def conv_backward(x: npt.ArrayLike, weight: npt.ArrayLike, grad_output: npt.ArrayLike,
                  stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
                  groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
                  padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
                  needs: GradientName | Iterable[GradientName] = NEEDS,
                  threads: int | None = None) -> ConvGradients[Any]:
    """The gradients of :func:`pyconvx.conv` with respect to x, weight and bias.

    One validation for the three: ``conv_grad_input``, ``conv_grad_weight``
    and the bias gradient (grad_output summed over the batch and positions,
    per channel, in a fixed order).

    Parameters
    ----------
    x : array_like
        The forward call's input.
    weight : array_like
        The forward call's weight ``(C_out, C_in / groups, *kernel)``.
    %(grad_output)s
    %(grad_parameters)s
    needs : iterable of {"input", "weight", "bias"}, optional
        Which gradients to compute (default all three).

    Returns
    -------
    ConvGradients
        Named tuple ``(grad_input, grad_weight, grad_bias)``, None for what
        ``needs`` did not ask.

    Raises
    ------
    %(grad_raises)s

    Examples
    --------
    One gradient-descent step on a 1-d filter:

    >>> import numpy as np, pyconvx
    >>> x = np.array([[[1., 2., 3., 4., 5.]]])
    >>> w = np.zeros((1, 1, 3))
    >>> target = pyconvx.conv(x, np.array([[[1., 0., -1.]]]))
    >>> grads = pyconvx.conv_backward(x, w, pyconvx.conv(x, w) - target)
    >>> grads.grad_weight
    array([[[12., 18., 24.]]])
    >>> grads.grad_bias
    array([6.])
    >>> pyconvx.conv_backward(x, w, target, needs=("bias",))
    ConvGradients(grad_input=None, grad_weight=None, grad_bias=array([-6.]))
    """
    x_array: npt.NDArray[Any] = as_array(x, "x")
    w_array: npt.NDArray[Any] = as_array(weight, "weight")
    g_array: npt.NDArray[Any] = as_array(grad_output, "grad_output")
    _check_flip(flip)
    if isinstance(needs, str):
        needs = (needs,)
    try:
        wanted: tuple[GradientName, ...] = tuple(needs)
    except TypeError:
        raise TypeError(f"needs must be a tuple of {', '.join(map(repr, NEEDS))}; got "
                        f"{type(needs).__name__} {needs!r}") from None
    for item in wanted:
        if item not in NEEDS:
            raise ValueError(f"needs must hold only {', '.join(map(repr, NEEDS))}; got "
                             f"{item!r} in needs={needs!r}")
    geometry = _describe(x_array.shape, w_array.shape, g_array, stride, padding, dilation,
                         groups, padding_mode, padding_value, data_format)
    dtype = _gradient_dtype((x_array.dtype, "x"), (w_array.dtype, "weight"),
                            (g_array.dtype, "grad_output"))
    thread_count: int = resolve_threads(threads)
    g: _Array = batched_channels_first(compute_array(g_array, dtype), geometry)
    grad_input: _Array | None = None
    grad_weight: _Array | None = None
    grad_bias: _Array | None = None
    if "input" in wanted:
        check_memory(prod(x_array.shape) * dtype.itemsize, "the input gradient")
        grad_input = _grad_input(geometry, compute_array(w_array, dtype), g, dtype, flip,
                                 thread_count)
    if "weight" in wanted:
        xb: _Array = batched_channels_first(compute_array(x_array, dtype), geometry)
        grad_weight = _grad_weight(geometry, xb, g, dtype, flip, thread_count)
    if "bias" in wanted:
        grad_bias = _grad_bias(geometry, g, dtype, thread_count)
    return ConvGradients(grad_input, grad_weight, grad_bias)


def _shapes_and_dtype(x: npt.ArrayLike, weight: npt.ArrayLike, dtype: npt.DTypeLike | None,
                      rule: Callable[..., np.dtype[Any]]
                      ) -> tuple[Sequence[IntArg], Sequence[IntArg], np.dtype[Any]]:
    """The shapes of x and weight (arrays, or shapes as tuples of ints) and the
    compute dtype ``rule`` gives their arrays and ``dtype`` (float32 if none)."""
    dtypes: list[tuple[np.dtype[Any], str]] = []
    shapes: list[Sequence[IntArg]] = []
    for value, name in ((x, "x"), (weight, "weight")):
        if isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
            shapes.append(value)
        else:
            array = as_array(value, name)
            dtypes.append((array.dtype, name))
            shapes.append(array.shape)
    if dtype is not None:
        dtypes.append((np.dtype(dtype), "dtype"))
    return shapes[0], shapes[1], rule(*dtypes) if dtypes else np.dtype(np.float32)


def _contiguous_strides(shape: Sequence[int]) -> list[int]:
    return [prod(shape[i + 1:]) for i in range(len(shape))]


def _transpose_phases(batch: int, grad_channels: int, out_channels: int, groups: int,
                      grad_spatial: Sequence[int], out_spatial: Sequence[int],
                      kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                      crop: Sequence[int], dtype: np.dtype[Any],
                      threads: int) -> AnyTransposePlan:
    """The TransposePlan of contiguous arrays of these shapes."""
    return make_transpose_plan(
        batch=batch, in_channels=grad_channels, out_channels=out_channels, groups=groups,
        in_spatial=grad_spatial, out_spatial=out_spatial, kernel=kernel, stride=stride,
        dilation=dilation, crop=crop, dtype=dtype, threads=threads,
        x_strides=_contiguous_strides((batch, grad_channels) + tuple(grad_spatial)),
        out_strides=_contiguous_strides((batch, out_channels) + tuple(out_spatial)))


def plan_backward(x: npt.ArrayLike, weight: npt.ArrayLike, stride: IntTuple = 1,
                  padding: PaddingArg = 0, dilation: IntTuple = 1, groups: IntArg = 1, *,
                  padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
                  data_format: DataFormat = "channels_first",
                  needs: GradientName | Iterable[GradientName] = NEEDS,
                  threads: int | None = None, dtype: npt.DTypeLike | None = None) -> BackwardPlan:
    """How :func:`conv_backward` would compute the gradients, without running it.

    Parameters
    ----------
    x, weight : array_like or tuple of int
        The forward call's input and weight, or just their shapes.
    stride, padding, dilation, groups, padding_mode, padding_value, data_format
        Those of the forward call.
    needs : iterable of {"input", "weight", "bias"}, optional
        Which gradients to describe.
    threads : int, optional
        As for :func:`pyconvx.conv`.
    dtype : dtype, optional
        Compute dtype when only shapes are given (default float32).

    Returns
    -------
    BackwardPlan
        Per gradient: the algorithm, microkernel and workspace (its ``str``
        is a report).

    Examples
    --------
    >>> import pyconvx
    >>> p = pyconvx.plan_backward((8, 64, 56, 56), (64, 64, 3, 3), padding=1)
    >>> p.grad_weight.path in ("gemm", "wide"), len(p.grad_input.phases)
    (True, 1)
    >>> p.workspace_bytes < 64 * 2**20
    True
    >>> pyconvx.plan_backward((8, 256, 28, 28), (256, 1, 3, 3), padding=1,
    ...                       groups=256).grad_weight.path
    'dot'
    """
    x_shape, w_shape, compute = _shapes_and_dtype(x, weight, dtype, _gradient_dtype)
    wanted = (needs,) if isinstance(needs, str) else tuple(needs)
    for item in wanted:
        if item not in NEEDS:
            raise ValueError(f"needs must hold only {', '.join(map(repr, NEEDS))}; got "
                             f"{item!r} in needs={needs!r}")
    geometry = describe_conv(x_shape, w_shape, stride=stride, padding=padding,
                             dilation=dilation, groups=groups, padding_mode=padding_mode,
                             padding_value=padding_value, data_format=data_format)
    thread_count: int = resolve_threads(threads)
    x_full = (geometry.batch, geometry.in_channels) + geometry.in_spatial
    y_full = (geometry.batch, geometry.out_channels) + geometry.out_spatial
    problem = (f"gradients of conv x {x_full} * weight {geometry.weight_shape} -> {y_full},"
               f" stride={geometry.stride}, dilation={geometry.dilation}, pads={geometry.pads},"
               f" groups={geometry.groups}, padding_mode={geometry.padding_mode!r}, "
               f"dtype {compute.name}")
    grad_input: AnyTransposePlan | None = None
    fold: str | None = None
    grad_weight: WeightGradPlan | None = None
    workspace = 0
    if "input" in wanted and geometry.batch and geometry.out_channels:
        copies = geometry.padding_mode not in ("zeros", "constant")
        chunk = padded_chunk(geometry, compute) if copies else geometry.batch
        padded = tuple(s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial, geometry.pads))
        grad_input = _transpose_phases(
            chunk, geometry.out_channels, geometry.in_channels, geometry.groups,
            geometry.out_spatial, padded if copies else geometry.in_spatial, geometry.kernel,
            geometry.stride, geometry.dilation,
            [0] * geometry.ndim if copies else [lo for lo, _ in geometry.pads], compute,
            thread_count)
        workspace = grad_input.workspace_bytes
        if copies:
            block: int = chunk * geometry.in_channels * prod(padded) * compute.itemsize
            fold = (f"the padded input's gradient in blocks of {chunk} image(s) "
                    f"({block} bytes), its border folded onto the elements "
                    f"{geometry.padding_mode!r} copied")
            workspace += block
    if "weight" in wanted and geometry.batch:
        grad_weight = make_weight_grad_plan(
            geometry, compute, threads=thread_count,
            x_strides=_contiguous_strides((geometry.batch, geometry.in_channels)
                                          + geometry.in_spatial))
        workspace = max(workspace, grad_weight.workspace_bytes)
    return BackwardPlan(problem, grad_input, fold, grad_weight,
                        BIAS_SUM if "bias" in wanted else None, workspace)


def plan_transpose(x: npt.ArrayLike, weight: npt.ArrayLike, stride: IntTuple = 1,
                   padding: TransposedPaddingArg = 0, output_padding: IntTuple = 0,
                   groups: IntArg = 1, dilation: IntTuple = 1, *, threads: int | None = None,
                   dtype: npt.DTypeLike | None = None,
                   data_format: DataFormat = "channels_first") -> BackwardPlan:
    """How :func:`pyconvx.conv_transpose` would compute, without running it.

    Parameters
    ----------
    x, weight : array_like or tuple of int
        The input and the weight ``(C_in, C_out / groups, *kernel)``, or
        their shapes.
    stride, padding, output_padding, groups, dilation, threads, data_format
        As for :func:`pyconvx.conv_transpose`.
    dtype : dtype, optional
        Compute dtype when only shapes are given (default float32).

    Returns
    -------
    BackwardPlan
        With ``grad_input`` the transposed convolution's phases (planned for
        C-contiguous channels-first arrays of the problem's sizes).

    Examples
    --------
    A 4x4 kernel at stride 2: four phases of 2x2 taps each, each a
    convolution that writes its outputs in place; with fewer than 8 output
    channels per group, or a stride of 4 or more along the last dim, they are
    stacked as the output channels of one convolution instead.

    >>> import pyconvx
    >>> p = pyconvx.plan_transpose((8, 128, 28, 28), (128, 64, 4, 4), stride=2, padding=1)
    >>> [phase.plan.geometry.kernel for phase in p.grad_input.phases]
    [(2, 2), (2, 2), (2, 2), (2, 2)]
    >>> p = pyconvx.plan_transpose((8, 64, 112, 112), (64, 3, 4, 4), stride=2, padding=1)
    >>> len(p.grad_input.phases), p.grad_input.plan.geometry.kernel
    (4, (2, 2))
    >>> p = pyconvx.plan_transpose((1, 8, 10, 10), (8, 4, 3, 3), stride=2)
    >>> [phase.plan.geometry.kernel for phase in p.grad_input.phases]
    [(2, 2), (2, 1), (1, 2), (1, 1)]
    """
    x_shape, w_shape, compute = _shapes_and_dtype(x, weight, dtype, result_dtype)
    geometry = describe_transpose(x_shape, w_shape, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation,
                                  groups=groups, data_format=data_format)
    thread_count: int = resolve_threads(threads)
    phases = _transpose_phases(
        geometry.batch, geometry.in_channels, geometry.out_channels, geometry.groups,
        geometry.in_spatial, geometry.out_spatial, geometry.kernel, geometry.stride,
        geometry.dilation, [lo for lo, _ in geometry.pads], compute, thread_count)
    x_full = (geometry.batch, geometry.in_channels) + geometry.in_spatial
    y_full = (geometry.batch, geometry.out_channels) + geometry.out_spatial
    problem = (f"conv_transpose x {x_full} * weight {geometry.weight_shape} -> {y_full},"
               f" stride={geometry.stride}, dilation={geometry.dilation}, pads={geometry.pads},"
               f" output_padding={geometry.output_padding}, groups={geometry.groups}, "
               f"dtype {compute.name}")
    return BackwardPlan(problem, phases, None, None, None, phases.workspace_bytes)
