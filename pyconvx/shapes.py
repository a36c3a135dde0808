"""Shapes and sizes of a convolution: the output-size formula and its users.

``output_size`` is the single home of the output-size formula.  ``describe_conv``
validates a whole convolution problem from shapes alone and returns its
canonical ``ConvGeometry``; ``conv``, ``output_shape``, the layers, ``plan``
and the scipy-style entry points all go through it, so they accept and refuse
exactly the same things with exactly the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._boundary import PADDING_MODES, padding_limit
from ._normalize import (
    SIZE_LIMIT,
    as_int,
    as_int_tuple,
    as_padding_value,
    check_choice,
    check_size,
    normalize_padding,
    padding_mode_code,
    prod,
)
from ._typing import (
    DataFormat,
    IntArg,
    IntTuple,
    PaddingArg,
    PaddingMode,
    RealNumber,
)

#: The layouts of x and the result: channels before the spatial dims (NCHW,
#: NCDHW, the default) or after them (NHWC, NDHWC).
DATA_FORMATS: tuple[DataFormat, ...] = ("channels_first", "channels_last")

__all__ = ["ConvGeometry", "TransposeGeometry", "describe_conv", "describe_transpose",
           "output_shape", "output_size", "param_count"]


def output_length(size: int, kernel: int, stride: int, pad_low: int, pad_high: int,
                  dilation: int) -> int:
    """floor((size + pads - dilation*(kernel-1) - 1) / stride) + 1, for canonical ints.

    The one home of the output-size formula (``output_size`` validates its
    arguments and calls this); a dilated kernel larger than the padded input
    is a ValueError.
    """
    padded = size + pad_low + pad_high
    reach = dilation * (kernel - 1) + 1
    if reach > padded:
        raise ValueError(
            f"the dilated kernel ({reach} = dilation {dilation} * (kernel {kernel} - 1) + 1)"
            f" is larger than the padded input ({padded} = {size} + {pad_low} + {pad_high})"
        )
    return (padded - reach) // stride + 1


def transposed_output_length(size: int, kernel: int, stride: int, pad_low: int, pad_high: int,
                             dilation: int, output_padding: int) -> int:
    """(size-1)*stride - pads + dilation*(kernel-1) + output_padding + 1, canonical ints.

    The one home of the transposed convolution's output-size formula (the
    inverse of ``output_length``: a convolution with these parameters maps an
    input of the returned length back to ``size``).  ``output_padding`` must
    be smaller than the stride or the dilation, and the result at least 1;
    otherwise a ValueError.
    """
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding must be smaller than either stride or dilation, got "
            f"output_padding={output_padding} with stride={stride} and dilation={dilation}")
    length = ((size - 1) * stride - pad_low - pad_high + dilation * (kernel - 1)
              + output_padding + 1)
    if length < 1:
        raise ValueError(
            f"the transposed convolution's output would have length {length} (= ({size} - 1)"
            f" * stride {stride} - padding {pad_low} - {pad_high} + dilation {dilation} *"
            f" (kernel {kernel} - 1) + output_padding {output_padding} + 1): the padding is "
            f"too large")
    return length


def _refuse_output_padding(output_padding: IntTuple) -> None:
    """ValueError unless ``output_padding`` is 0 (it has a meaning only when transposed)."""
    values = output_padding if isinstance(output_padding, (tuple, list)) else (output_padding,)
    if any(as_int(value, "output_padding") != 0 for value in values):
        raise ValueError(f"output_padding is used only with transposed=True, got "
                         f"output_padding={output_padding!r}")


def output_size(size: IntArg, kernel_size: IntArg, stride: IntArg = 1, padding: PaddingArg = 0,
                dilation: IntArg = 1, *, transposed: bool = False,
                output_padding: IntArg = 0) -> int:
    """Output length of a convolution along one dimension.

    ``floor((size + p_low + p_high - dilation * (kernel_size - 1) - 1) / stride) + 1``,
    or with ``transposed=True`` that of the transposed convolution,
    ``(size - 1) * stride - p_low - p_high + dilation * (kernel_size - 1) +
    output_padding + 1``.

    Parameters
    ----------
    size : int
        Input length (>= 1).
    kernel_size : int
        Kernel length (>= 1).
    stride : int, optional
        Step between windows (>= 1).
    padding : int or (int, int), optional
        Padding added on both sides, or a ``(low, high)`` pair.
    dilation : int, optional
        Spacing between kernel taps (>= 1).
    transposed : bool, optional
        The output length of :func:`pyconvx.conv_transpose` instead (padding
        must then be an int or a pair).
    output_padding : int, optional
        With ``transposed=True``: extra length on the high side, smaller than
        the stride or the dilation.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If an argument is not an int (bools and floats are refused).
    ValueError
        If a value is out of range or the dilated kernel does not fit.

    Examples
    --------
    >>> import pyconvx
    >>> pyconvx.output_size(224, 3, stride=2, padding=1)
    112
    >>> pyconvx.output_size(64, 5, stride=2, padding=2)
    32
    >>> pyconvx.output_size(10, 4)
    7
    >>> pyconvx.output_size(28, 4, stride=2, padding=1, transposed=True)
    56
    >>> pyconvx.output_size(112, 3, stride=2, padding=1, transposed=True, output_padding=1)
    224
    """
    length: int
    kernel: int
    step: int
    spacing: int
    low: int
    high: int
    (length,) = as_int_tuple(size, "size", 1, 1)
    (kernel,) = as_int_tuple(kernel_size, "kernel_size", 1, 1)
    (step,) = as_int_tuple(stride, "stride", 1, 1)
    (spacing,) = as_int_tuple(dilation, "dilation", 1, 1)
    if not isinstance(transposed, (bool, np.bool_)):
        raise TypeError(f"transposed must be a bool, got {type(transposed).__name__} "
                        f"{transposed!r}")
    # a (low, high) pair is the padding of the one dim
    padding_spec: object = padding
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        padding_spec = (tuple(padding),)
    if transposed:
        if isinstance(padding_spec, str):
            raise ValueError(f"padding must be an int or a (low, high) pair with "
                             f"transposed=True, got {padding_spec!r}")
        ((low, high),) = normalize_padding(padding_spec, (kernel,), (step,), (spacing,),
                                           (length,))
        extra: int
        (extra,) = as_int_tuple(output_padding, "output_padding", 1, 0)
        return transposed_output_length(length, kernel, step, low, high, spacing, extra)
    _refuse_output_padding(output_padding)
    ((low, high),) = normalize_padding(padding_spec, (kernel,), (step,), (spacing,), (length,))
    return output_length(length, kernel, step, low, high, spacing)


def array_shape(batch: int, batched: bool, channels: int, spatial: tuple[int, ...],
                data_format: str) -> tuple[int, ...]:
    """The shape of an array of ``channels`` planes of ``spatial`` size, channels
    first or last, with the batch axis unless the problem is unbatched."""
    if data_format == "channels_last":
        core = spatial + (channels,)
    else:
        core = (channels,) + spatial
    return ((batch,) + core) if batched else core


@dataclass(frozen=True)
class ConvGeometry:
    """The canonical, validated description of one convolution problem."""

    batched: bool
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    in_spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    padding_mode: PaddingMode
    padding_value: float
    data_format: DataFormat
    out_spatial: tuple[int, ...]

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.kernel)

    @property
    def mode_code(self) -> int:
        return PADDING_MODES.index(self.padding_mode)

    @property
    def in_per_group(self) -> int:
        return self.in_channels // self.groups

    @property
    def out_per_group(self) -> int:
        return self.out_channels // self.groups

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of the result (without the batch axis for unbatched input), in
        the problem's ``data_format``."""
        return array_shape(self.batch, self.batched, self.out_channels, self.out_spatial,
                           self.data_format)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_per_group) + self.kernel

    @property
    def reduction_length(self) -> int:
        """Number of products summed into one output value."""
        taps: int = prod(self.kernel)
        return self.in_per_group * taps

    @property
    def flops(self) -> int:
        """2 * multiply-adds: the usual convention for GFLOP/s."""
        positions: int = prod(self.out_spatial)
        return 2 * self.batch * self.out_channels * self.reduction_length * positions


def _shape_tuple(shape: Sequence[IntArg], name: str) -> tuple[int, ...]:
    try:
        return tuple(as_int(size, f"{name} shape entry") for size in shape)
    except TypeError:
        raise TypeError(f"{name} must be a shape (a tuple of ints), got {shape!r}") from None


#: Problems ``describe_conv`` remembers (the most recent ones, at most this
#: many): validating one costs about 15 us, as much as a small convolution.
GEOMETRY_CACHE_SIZE = 256
_geometry_cache: dict[tuple[Any, ...], ConvGeometry] = {}


def _exact_key(value: Any) -> Any:
    """A hashable key that tells apart every value the validation tells apart
    (``1``, ``1.0``, ``True`` and ``np.int64(1)``; ``0.0`` and ``-0.0``), or
    None for a value without one (an array, an unknown object)."""
    kind = type(value)
    if kind is int or kind is str or value is None:   # the common cases first
        return (kind, value)
    if kind is tuple or kind is list:
        if all(type(item) is int for item in value):
            return (kind, tuple(value))
        items = tuple(_exact_key(item) for item in value)
        return None if any(item is None for item in items) else (kind, items)
    if isinstance(value, (float, np.floating)):
        return (kind, float(value).hex())
    if isinstance(value, (bool, int, str, np.integer, np.bool_)):
        return (kind, value)
    return None


def describe_conv(
    input_shape: Sequence[IntArg],
    weight_shape: Sequence[IntArg],
    *,
    stride: IntTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntTuple = 1,
    groups: IntArg = 1,
    padding_mode: PaddingMode = "zeros",
    padding_value: RealNumber = 0.0,
    data_format: DataFormat = "channels_first",
    bias_shape: Sequence[IntArg] | None = None,
    ndim: int | None = None,
) -> ConvGeometry:
    """Validate a convolution problem given by shapes; return its ConvGeometry.

    ``ndim`` fixes the number of spatial dims (conv1d/2d/3d); ``None`` takes it
    from the weight.  ``bias_shape`` is checked when given.  With
    ``data_format="channels_last"`` the input shape is ``(N, *spatial, C_in)``
    (or ``(*spatial, C_in)``); the weight is ``(C_out, C_in/groups, *kernel)``
    in both layouts.  A problem seen recently is not validated again: the
    same arguments (same values of the same types) give the same geometry.
    """
    arguments = (input_shape, weight_shape, stride, padding, dilation, groups, padding_mode,
                 padding_value, data_format, bias_shape, ndim)
    key = _exact_key(arguments)
    found = _geometry_cache.get(key) if key is not None else None
    if found is None:
        found = _describe_conv(*arguments)
        if key is not None:
            if len(_geometry_cache) >= GEOMETRY_CACHE_SIZE:
                _geometry_cache.clear()
            _geometry_cache[key] = found
    return found


def _describe_conv(input_shape: Sequence[IntArg], weight_shape: Sequence[IntArg],
                   stride: IntTuple, padding: PaddingArg, dilation: IntTuple, groups: IntArg,
                   padding_mode: PaddingMode, padding_value: RealNumber,
                   data_format: DataFormat, bias_shape: Sequence[IntArg] | None,
                   ndim: int | None) -> ConvGeometry:
    """``describe_conv`` without its memory."""
    check_choice(data_format, "data_format", DATA_FORMATS)
    x_shape = _shape_tuple(input_shape, "input")
    w_shape = _shape_tuple(weight_shape, "weight")
    if ndim is None:
        if len(w_shape) < 3:
            raise ValueError(
                "weight must have shape (C_out, C_in/groups, *kernel) with at least one "
                f"spatial dim, got shape {w_shape}"
            )
        ndim = len(w_shape) - 2
    elif len(w_shape) != ndim + 2:
        raise ValueError(
            f"weight must have {ndim + 2} dims (C_out, C_in/groups, *kernel) for a "
            f"{ndim}-d convolution, got shape {w_shape}"
        )
    last = data_format == "channels_last"
    if len(x_shape) == ndim + 2:
        batched = True
        batch = x_shape[0]
        in_channels, in_spatial = (x_shape[-1], x_shape[1:-1]) if last else (
            x_shape[1], x_shape[2:])
    elif len(x_shape) == ndim + 1:
        batched = False
        batch = 1
        in_channels, in_spatial = (x_shape[-1], x_shape[:-1]) if last else (
            x_shape[0], x_shape[1:])
    else:
        layouts = ("(N, *spatial, C_in) or (*spatial, C_in)" if last
                   else "(N, C_in, *spatial) or (C_in, *spatial)")
        raise ValueError(
            f"x must have shape {layouts} with {ndim} spatial dims, got shape {x_shape}"
        )
    if any(size < 0 for size in x_shape + w_shape):
        raise ValueError(f"shapes must not be negative, got x {x_shape}, weight {w_shape}")

    group_count: int = as_int(groups, "groups")
    if group_count <= 0:
        raise ValueError(f"groups must be >= 1, got {group_count}")
    out_channels, in_per_group, kernel = w_shape[0], w_shape[1], w_shape[2:]
    if in_channels % group_count or out_channels % group_count:
        raise ValueError(
            f"groups={group_count} must divide both C_in={in_channels} and "
            f"C_out={out_channels} (x shape {x_shape}, weight shape {w_shape})"
        )
    if in_per_group * group_count != in_channels:
        raise ValueError(
            f"x has C_in={in_channels} channels but weight shape {w_shape} with "
            f"groups={group_count} expects {in_per_group * group_count} "
            f"(= weight.shape[1] * groups)"
        )
    if min(kernel) == 0:
        raise ValueError(f"the kernel must not be empty, got weight shape {w_shape}")
    if min(in_spatial) == 0:
        raise ValueError(f"the spatial input must not be empty, got x shape {x_shape}")

    steps: tuple[int, ...] = as_int_tuple(stride, "stride", ndim, 1)
    spacings: tuple[int, ...] = as_int_tuple(dilation, "dilation", ndim, 1)
    pads: tuple[tuple[int, int], ...] = normalize_padding(padding, kernel, steps, spacings,
                                                          in_spatial)
    padding_mode_code(padding_mode)
    fill_value: float = as_padding_value(padding_value, padding_mode)
    for size, (low, high) in zip(in_spatial, pads):
        limit = padding_limit(padding_mode, size)
        if limit is not None and max(low, high) > limit:
            relation = "< the input size" if padding_mode == "reflect" else "<= the input size"
            raise ValueError(
                f"padding_mode={padding_mode!r} needs padding {relation} on every side, "
                f"got padding {pads} for spatial input {in_spatial}"
            )
    out_spatial = tuple(
        output_length(size, k, s, low, high, d)
        for size, k, s, (low, high), d in zip(in_spatial, kernel, steps, pads, spacings)
    )
    for size, (low, high), k, d in zip(in_spatial, pads, kernel, spacings):
        check_size(size + low + high + d * k, "the padded input")
    check_size(prod(x_shape), "x")
    check_size(prod(w_shape), "weight")
    out_elements = batch * out_channels * prod(out_spatial)
    if out_elements >= SIZE_LIMIT:
        raise MemoryError(
            f"the output of shape {((batch, out_channels) + out_spatial)} needs "
            f"{out_elements * 4} bytes even in float32: no memory can hold it"
        )
    check_size(in_per_group * prod(kernel), "the reduction (C_in/groups * kernel)")
    # The planner and the engine lay out and index the padded input of one
    # channel group (split into phase planes) with 64-bit arithmetic: a padding
    # or dilation so large that one group's padded input cannot be indexed is
    # refused here, whatever the (small) output.
    check_size(in_per_group * prod(size + low + high + d * k for size, (low, high), k, d
                                   in zip(in_spatial, pads, kernel, spacings)),
               "the padded input of one channel group")

    if bias_shape is not None:
        bias_dims = _shape_tuple(bias_shape, "bias")
        if bias_dims != (out_channels,):
            raise ValueError(
                f"bias must have shape (C_out,) = ({out_channels},), got shape {bias_dims}"
            )
    return ConvGeometry(
        batched=batched,
        batch=batch,
        in_channels=in_channels,
        out_channels=out_channels,
        groups=group_count,
        in_spatial=in_spatial,
        kernel=kernel,
        stride=steps,
        dilation=spacings,
        pads=pads,
        padding_mode=padding_mode,
        padding_value=fill_value,
        data_format=data_format,
        out_spatial=out_spatial,
    )


@dataclass(frozen=True)
class TransposeGeometry:
    """The canonical, validated description of one transposed convolution."""

    batched: bool
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    in_spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    output_padding: tuple[int, ...]
    out_spatial: tuple[int, ...]
    data_format: DataFormat = "channels_first"

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.kernel)

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of the result (without the batch axis for unbatched input), in
        the problem's ``data_format``."""
        return array_shape(self.batch, self.batched, self.out_channels, self.out_spatial,
                           self.data_format)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels // self.groups) + self.kernel

    @property
    def flops(self) -> int:
        """2 * multiply-adds: every input value times every tap of its group."""
        taps: int = prod(self.kernel)
        positions: int = prod(self.in_spatial)
        return (2 * self.batch * self.in_channels * (self.out_channels // self.groups)
                * taps * positions)


def describe_transpose(input_shape: Sequence[IntArg], weight_shape: Sequence[IntArg], *,
                       stride: IntTuple = 1, padding: PaddingArg = 0,
                       output_padding: IntTuple = 0, dilation: IntTuple = 1,
                       groups: IntArg = 1, bias_shape: Sequence[IntArg] | None = None,
                       ndim: int | None = None,
                       data_format: DataFormat = "channels_first") -> TransposeGeometry:
    """Validate a transposed convolution given by shapes; return its TransposeGeometry.

    The weight is ``(C_in, C_out / groups, *kernel)`` (PyTorch's layout);
    ``padding`` is an int, one int per dim or one ``(low, high)`` pair per dim
    (the strings of ``conv`` have no transposed meaning and are refused).
    With ``data_format="channels_last"`` the input shape is
    ``(N, *spatial, C_in)`` (or ``(*spatial, C_in)``), the weight the same.
    """
    check_choice(data_format, "data_format", DATA_FORMATS)
    x_shape = _shape_tuple(input_shape, "input")
    w_shape = _shape_tuple(weight_shape, "weight")
    if ndim is None:
        if len(w_shape) < 3:
            raise ValueError(
                "weight must have shape (C_in, C_out/groups, *kernel) with at least one "
                f"spatial dim, got shape {w_shape}")
        ndim = len(w_shape) - 2
    elif len(w_shape) != ndim + 2:
        raise ValueError(
            f"weight must have {ndim + 2} dims (C_in, C_out/groups, *kernel) for a "
            f"{ndim}-d transposed convolution, got shape {w_shape}")
    last = data_format == "channels_last"
    if len(x_shape) == ndim + 2:
        batched, batch = True, x_shape[0]
        in_channels, in_spatial = (x_shape[-1], x_shape[1:-1]) if last else (
            x_shape[1], x_shape[2:])
    elif len(x_shape) == ndim + 1:
        batched, batch = False, 1
        in_channels, in_spatial = (x_shape[-1], x_shape[:-1]) if last else (
            x_shape[0], x_shape[1:])
    else:
        layout = "(N, *spatial, C_in) or (*spatial, C_in)" if last else (
            "(N, C_in, *spatial) or (C_in, *spatial)")
        raise ValueError(f"x must have shape {layout} with {ndim} spatial dims, got shape "
                         f"{x_shape}")
    if any(size < 0 for size in x_shape + w_shape):
        raise ValueError(f"shapes must not be negative, got x {x_shape}, weight {w_shape}")
    group_count: int = as_int(groups, "groups")
    if group_count <= 0:
        raise ValueError(f"groups must be >= 1, got {group_count}")
    kernel = w_shape[2:]
    if w_shape[0] != in_channels:
        raise ValueError(f"x has C_in={in_channels} channels but the weight of shape "
                         f"{w_shape} (C_in, C_out/groups, *kernel) expects {w_shape[0]}")
    if in_channels % group_count:
        raise ValueError(f"groups={group_count} must divide C_in={in_channels} (x shape {x_shape},"
                         f" weight shape {w_shape})")
    out_channels = w_shape[1] * group_count
    if min(kernel) == 0:
        raise ValueError(f"the kernel must not be empty, got weight shape {w_shape}")
    if min(in_spatial) == 0:
        raise ValueError(f"the spatial input must not be empty, got x shape {x_shape}")
    steps: tuple[int, ...] = as_int_tuple(stride, "stride", ndim, 1)
    spacings: tuple[int, ...] = as_int_tuple(dilation, "dilation", ndim, 1)
    if isinstance(padding, str):
        raise ValueError(f"padding of a transposed convolution must be an int, one int per "
                         f"dim or (low, high) pairs, got {padding!r}")
    pads: tuple[tuple[int, int], ...] = normalize_padding(padding, kernel, steps, spacings,
                                                          in_spatial)
    extras: tuple[int, ...] = as_int_tuple(output_padding, "output_padding", ndim, 0)
    out_spatial = tuple(
        transposed_output_length(size, k, s, low, high, d, extra)
        for size, k, s, (low, high), d, extra in zip(in_spatial, kernel, steps, pads,
                                                     spacings, extras))
    check_size(prod(x_shape), "x")
    check_size(prod(w_shape), "weight")
    out_elements = batch * out_channels * prod(out_spatial)
    if out_elements >= SIZE_LIMIT:
        raise MemoryError(
            f"the output of shape {((batch, out_channels) + out_spatial)} needs "
            f"{out_elements * 4} bytes even in float32: no memory can hold it")
    if bias_shape is not None:
        bias_dims = _shape_tuple(bias_shape, "bias")
        if bias_dims != (out_channels,):
            raise ValueError(
                f"bias must have shape (C_out,) = ({out_channels},), got shape {bias_dims}")
    return TransposeGeometry(batched=batched, batch=batch, in_channels=in_channels,
                             out_channels=out_channels, groups=group_count,
                             in_spatial=in_spatial, kernel=kernel, stride=steps,
                             dilation=spacings, pads=pads, output_padding=extras,
                             out_spatial=out_spatial,
                             data_format=data_format)


def output_shape(
    input_shape: Sequence[IntArg],
    weight_shape: Sequence[IntArg],
    stride: IntTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntTuple = 1,
    groups: IntArg = 1,
    padding_mode: PaddingMode = "zeros",
    padding_value: RealNumber = 0.0,
    data_format: DataFormat = "channels_first",
    *,
    transposed: bool = False,
    output_padding: IntTuple = 0,
) -> tuple[int, ...]:
    """Shape of the result of ``conv`` for these shapes, with no array needed.

    Validation is exactly that of :func:`pyconvx.conv` (same errors); with
    ``transposed=True`` that of :func:`pyconvx.conv_transpose`.

    Parameters
    ----------
    input_shape : tuple of int
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``.
    weight_shape : tuple of int
        ``(C_out, C_in / groups, *kernel)``.
    stride, padding, dilation, groups, padding_mode, padding_value, data_format
        As for :func:`pyconvx.conv`.
    transposed : bool, optional
        The shape of :func:`pyconvx.conv_transpose` instead: ``weight_shape``
        is then ``(C_in, C_out / groups, *kernel)``; padding_mode must be
        "zeros".
    output_padding : int or tuple of int, optional
        With ``transposed=True``: extra length on the high side of each dim.

    Returns
    -------
    tuple of int
        ``(N, C_out, *out_spatial)``, or ``(C_out, *out_spatial)`` when unbatched
        (channels last with ``data_format="channels_last"``).

    Raises
    ------
    TypeError, ValueError
        As :func:`pyconvx.conv` would for the same arguments.

    Examples
    --------
    >>> import pyconvx
    >>> pyconvx.output_shape((8, 3, 128, 128), (32, 3, 5, 5), stride=2, padding=2)
    (8, 32, 64, 64)
    >>> pyconvx.output_shape((3, 32, 32), (16, 3, 3, 3), padding="same", stride=2)
    (16, 16, 16)
    >>> pyconvx.output_shape((8, 128, 28, 28), (128, 64, 4, 4), stride=2, padding=1,
    ...                      transposed=True)
    (8, 64, 56, 56)
    """
    if not isinstance(transposed, (bool, np.bool_)):
        raise TypeError(f"transposed must be a bool, got {type(transposed).__name__} "
                        f"{transposed!r}")
    if transposed:
        check_choice(padding_mode, "padding_mode", ("zeros",))
        as_padding_value(padding_value, padding_mode)
        return describe_transpose(input_shape, weight_shape, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation,
                                  groups=groups, data_format=data_format).out_shape
    _refuse_output_padding(output_padding)
    geometry = describe_conv(
        input_shape,
        weight_shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=padding_mode,
        padding_value=padding_value,
        data_format=data_format,
    )
    return geometry.out_shape


def param_count(in_channels: IntArg, out_channels: IntArg, kernel_size: IntTuple,
                bias: bool = True, groups: IntArg = 1) -> int:
    """Number of learnable parameters of a convolution layer.

    ``(in_channels / groups) * out_channels * prod(kernel_size) + (out_channels if bias)``

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts (>= 0), both divisible by ``groups``.
    kernel_size : int or tuple of int
        An int means a square 2-d kernel; a tuple gives one size per spatial dim.
    bias : bool, optional
        Whether the layer has one bias per output channel.
    groups : int, optional
        Number of channel groups (>= 1).

    Returns
    -------
    int

    Examples
    --------
    >>> import pyconvx
    >>> pyconvx.param_count(3, 64, 3)
    1792
    >>> pyconvx.param_count(64, 128, 3)
    73856
    >>> pyconvx.param_count(3, 32, 5)
    2432
    """
    c_in: int = as_int(in_channels, "in_channels")
    c_out: int = as_int(out_channels, "out_channels")
    if c_in < 0 or c_out < 0:
        raise ValueError(
            f"channel counts must be >= 0, got in_channels={c_in}, "
            f"out_channels={c_out}"
        )
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) == 0:
            raise ValueError("kernel_size must not be an empty tuple")
        kernel: tuple[int, ...] = as_int_tuple(kernel_size, "kernel_size", len(kernel_size), 1)
    else:
        kernel = as_int_tuple(kernel_size, "kernel_size", 2, 1)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__} {bias!r}")
    group_count: int = as_int(groups, "groups")
    if group_count <= 0:
        raise ValueError(f"groups must be >= 1, got {group_count}")
    if c_in % group_count or c_out % group_count:
        raise ValueError(
            f"groups={group_count} must divide both in_channels={c_in} and "
            f"out_channels={c_out}"
        )
    taps: int = prod(kernel)
    return (c_in // group_count) * c_out * taps + (c_out if bias else 0)


# Documented bound shared with the core: every size fits int64 with room.
assert SIZE_LIMIT < np.iinfo(np.int64).max
