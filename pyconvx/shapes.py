"""Shapes and sizes of a convolution: the output-size formula and its users.

``output_size`` is the single home of the output-size formula.  ``describe_conv``
validates a whole convolution problem from shapes alone and returns its
canonical ``ConvGeometry``; ``conv``, ``output_shape``, the layers, ``plan``
and the scipy-style entry points all go through it, so they accept and refuse
exactly the same things with exactly the same messages.
"""

from dataclasses import dataclass

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

#: The layouts of x and the result: channels before the spatial dims (NCHW,
#: NCDHW, the default) or after them (NHWC, NDHWC).
DATA_FORMATS = ("channels_first", "channels_last")

__all__ = ["ConvGeometry", "TransposeGeometry", "describe_conv", "describe_transpose",
           "output_shape", "output_size", "param_count"]


def output_length(size, kernel, stride, pad_low, pad_high, dilation):
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


def transposed_output_length(size, kernel, stride, pad_low, pad_high, dilation,
                             output_padding):
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


def _refuse_output_padding(output_padding):
    """ValueError unless ``output_padding`` is 0 (it has a meaning only when transposed)."""
    values = output_padding if isinstance(output_padding, (tuple, list)) else (output_padding,)
    if any(as_int(value, "output_padding") != 0 for value in values):
        raise ValueError(f"output_padding is used only with transposed=True, got "
                         f"output_padding={output_padding!r}")


def output_size(size, kernel_size, stride=1, padding=0, dilation=1, *, transposed=False,
                output_padding=0):
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
    (size,) = as_int_tuple(size, "size", 1, 1)
    (kernel,) = as_int_tuple(kernel_size, "kernel_size", 1, 1)
    (step,) = as_int_tuple(stride, "stride", 1, 1)
    (spacing,) = as_int_tuple(dilation, "dilation", 1, 1)
    if not isinstance(transposed, (bool, np.bool_)):
        raise TypeError(f"transposed must be a bool, got {type(transposed).__name__} "
                        f"{transposed!r}")
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        padding = (tuple(padding),)
    if transposed:
        if isinstance(padding, str):
            raise ValueError(f"padding must be an int or a (low, high) pair with "
                             f"transposed=True, got {padding!r}")
        ((low, high),) = normalize_padding(padding, (kernel,), (step,), (spacing,), (size,))
        (extra,) = as_int_tuple(output_padding, "output_padding", 1, 0)
        return transposed_output_length(size, kernel, step, low, high, spacing, extra)
    _refuse_output_padding(output_padding)
    ((low, high),) = normalize_padding(padding, (kernel,), (step,), (spacing,), (size,))
    return output_length(size, kernel, step, low, high, spacing)


@dataclass(frozen=True)
class ConvGeometry:
    """The canonical, validated description of one convolution problem."""

    batched: bool
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    in_spatial: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    padding_mode: str
    padding_value: float
    data_format: str
    out_spatial: tuple

    @property
    def ndim(self):
        """Number of spatial dimensions."""
        return len(self.kernel)

    @property
    def mode_code(self):
        return PADDING_MODES.index(self.padding_mode)

    @property
    def in_per_group(self):
        return self.in_channels // self.groups

    @property
    def out_per_group(self):
        return self.out_channels // self.groups

    @property
    def out_shape(self):
        """Shape of the result (without the batch axis for unbatched input), in
        the problem's ``data_format``."""
        if self.data_format == "channels_last":
            core = self.out_spatial + (self.out_channels,)
        else:
            core = (self.out_channels,) + self.out_spatial
        return ((self.batch,) + core) if self.batched else core

    @property
    def weight_shape(self):
        return (self.out_channels, self.in_per_group) + self.kernel

    @property
    def reduction_length(self):
        """Number of products summed into one output value."""
        return self.in_per_group * prod(self.kernel)

    @property
    def flops(self):
        """2 * multiply-adds: the usual convention for GFLOP/s."""
        return 2 * self.batch * self.out_channels * self.reduction_length * prod(self.out_spatial)


def _shape_tuple(shape, name):
    try:
        return tuple(as_int(size, f"{name} shape entry") for size in shape)
    except TypeError:
        raise TypeError(f"{name} must be a shape (a tuple of ints), got {shape!r}") from None


def describe_conv(
    input_shape,
    weight_shape,
    *,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
    padding_value=0.0,
    data_format="channels_first",
    bias_shape=None,
    ndim=None,
):
    """Validate a convolution problem given by shapes; return its ConvGeometry.

    ``ndim`` fixes the number of spatial dims (conv1d/2d/3d); ``None`` takes it
    from the weight.  ``bias_shape`` is checked when given.  With
    ``data_format="channels_last"`` the input shape is ``(N, *spatial, C_in)``
    (or ``(*spatial, C_in)``); the weight is ``(C_out, C_in/groups, *kernel)``
    in both layouts.
    """
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

    groups = as_int(groups, "groups")
    if groups <= 0:
        raise ValueError(f"groups must be >= 1, got {groups}")
    out_channels, in_per_group, kernel = w_shape[0], w_shape[1], w_shape[2:]
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both C_in={in_channels} and "
            f"C_out={out_channels} (x shape {x_shape}, weight shape {w_shape})"
        )
    if in_per_group * groups != in_channels:
        raise ValueError(
            f"x has C_in={in_channels} channels but weight shape {w_shape} with "
            f"groups={groups} expects {in_per_group * groups} (= weight.shape[1] * groups)"
        )
    if min(kernel) == 0:
        raise ValueError(f"the kernel must not be empty, got weight shape {w_shape}")
    if min(in_spatial) == 0:
        raise ValueError(f"the spatial input must not be empty, got x shape {x_shape}")

    stride = as_int_tuple(stride, "stride", ndim, 1)
    dilation = as_int_tuple(dilation, "dilation", ndim, 1)
    pads = normalize_padding(padding, kernel, stride, dilation, in_spatial)
    padding_mode_code(padding_mode)
    padding_value = as_padding_value(padding_value, padding_mode)
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
        for size, k, s, (low, high), d in zip(in_spatial, kernel, stride, pads, dilation)
    )
    for size, (low, high), k, d in zip(in_spatial, pads, kernel, dilation):
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
                                   in zip(in_spatial, pads, kernel, dilation)),
               "the padded input of one channel group")

    if bias_shape is not None:
        bias_shape = _shape_tuple(bias_shape, "bias")
        if bias_shape != (out_channels,):
            raise ValueError(
                f"bias must have shape (C_out,) = ({out_channels},), got shape {bias_shape}"
            )
    return ConvGeometry(
        batched=batched,
        batch=batch,
        in_channels=in_channels,
        out_channels=out_channels,
        groups=groups,
        in_spatial=in_spatial,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        pads=pads,
        padding_mode=padding_mode,
        padding_value=padding_value,
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
    in_spatial: tuple
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    output_padding: tuple
    out_spatial: tuple
    data_format: str = "channels_first"

    @property
    def ndim(self):
        """Number of spatial dimensions."""
        return len(self.kernel)

    @property
    def out_shape(self):
        """Shape of the result (without the batch axis for unbatched input), in
        the problem's ``data_format``."""
        if self.data_format == "channels_last":
            core = self.out_spatial + (self.out_channels,)
        else:
            core = (self.out_channels,) + self.out_spatial
        return ((self.batch,) + core) if self.batched else core

    @property
    def weight_shape(self):
        return (self.in_channels, self.out_channels // self.groups) + self.kernel

    @property
    def flops(self):
        """2 * multiply-adds: every input value times every tap of its group."""
        return (2 * self.batch * self.in_channels * (self.out_channels // self.groups)
                * prod(self.kernel) * prod(self.in_spatial))


def describe_transpose(input_shape, weight_shape, *, stride=1, padding=0, output_padding=0,
                       dilation=1, groups=1, bias_shape=None, ndim=None,
                       data_format="channels_first"):
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
    groups = as_int(groups, "groups")
    if groups <= 0:
        raise ValueError(f"groups must be >= 1, got {groups}")
    kernel = w_shape[2:]
    if w_shape[0] != in_channels:
        raise ValueError(f"x has C_in={in_channels} channels but the weight of shape "
                         f"{w_shape} (C_in, C_out/groups, *kernel) expects {w_shape[0]}")
    if in_channels % groups:
        raise ValueError(f"groups={groups} must divide C_in={in_channels} (x shape {x_shape},"
                         f" weight shape {w_shape})")
    out_channels = w_shape[1] * groups
    if min(kernel) == 0:
        raise ValueError(f"the kernel must not be empty, got weight shape {w_shape}")
    if min(in_spatial) == 0:
        raise ValueError(f"the spatial input must not be empty, got x shape {x_shape}")
    stride = as_int_tuple(stride, "stride", ndim, 1)
    dilation = as_int_tuple(dilation, "dilation", ndim, 1)
    if isinstance(padding, str):
        raise ValueError(f"padding of a transposed convolution must be an int, one int per "
                         f"dim or (low, high) pairs, got {padding!r}")
    pads = normalize_padding(padding, kernel, stride, dilation, in_spatial)
    output_padding = as_int_tuple(output_padding, "output_padding", ndim, 0)
    out_spatial = tuple(
        transposed_output_length(size, k, s, low, high, d, extra)
        for size, k, s, (low, high), d, extra in zip(in_spatial, kernel, stride, pads,
                                                     dilation, output_padding))
    check_size(prod(x_shape), "x")
    check_size(prod(w_shape), "weight")
    out_elements = batch * out_channels * prod(out_spatial)
    if out_elements >= SIZE_LIMIT:
        raise MemoryError(
            f"the output of shape {((batch, out_channels) + out_spatial)} needs "
            f"{out_elements * 4} bytes even in float32: no memory can hold it")
    if bias_shape is not None:
        bias_shape = _shape_tuple(bias_shape, "bias")
        if bias_shape != (out_channels,):
            raise ValueError(
                f"bias must have shape (C_out,) = ({out_channels},), got shape {bias_shape}")
    return TransposeGeometry(batched=batched, batch=batch, in_channels=in_channels,
                             out_channels=out_channels, groups=groups, in_spatial=in_spatial,
                             kernel=kernel, stride=stride, dilation=dilation, pads=pads,
                             output_padding=output_padding, out_spatial=out_spatial,
                             data_format=data_format)


def output_shape(
    input_shape,
    weight_shape,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
    padding_value=0.0,
    data_format="channels_first",
    *,
    transposed=False,
    output_padding=0,
):
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


def param_count(in_channels, out_channels, kernel_size, bias=True, groups=1):
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
    in_channels = as_int(in_channels, "in_channels")
    out_channels = as_int(out_channels, "out_channels")
    if in_channels < 0 or out_channels < 0:
        raise ValueError(
            f"channel counts must be >= 0, got in_channels={in_channels}, "
            f"out_channels={out_channels}"
        )
    if isinstance(kernel_size, (tuple, list)):
        if len(kernel_size) == 0:
            raise ValueError("kernel_size must not be an empty tuple")
        kernel = as_int_tuple(kernel_size, "kernel_size", len(kernel_size), 1)
    else:
        kernel = as_int_tuple(kernel_size, "kernel_size", 2, 1)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__} {bias!r}")
    groups = as_int(groups, "groups")
    if groups <= 0:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both in_channels={in_channels} and "
            f"out_channels={out_channels}"
        )
    return (in_channels // groups) * out_channels * prod(kernel) + (out_channels if bias else 0)


# Documented bound shared with the core: every size fits int64 with room.
assert SIZE_LIMIT < np.iinfo(np.int64).max
