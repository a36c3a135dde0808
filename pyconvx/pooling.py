"""2-D max and average pooling, their gradients and max unpooling, with PyTorch's semantics.

``max_pool2d``, ``avg_pool2d`` and ``max_unpool2d`` accept the arguments of
``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` / ``max_unpool2d`` and give
the same shapes, values and indices; ``max_pool2d_backward`` and
``avg_pool2d_backward`` are the gradients torch's autograd computes for them.
Input is batched ``(N, C, H, W)`` or unbatched ``(C, H, W)``, or channels last
(``(N, H, W, C)``, ``(H, W, C)``) with ``data_format="channels_last"``.

This module validates, allocates and lays out every window: per output row and
per output column, the window's extent clipped to the input (``_axis_windows``),
so the compiled ``pyconvx._engine.pooling`` never walks padding, and the work
of a call is bounded by the input and the output whatever the kernel size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt

from ._engine import pooling as _pooling_engine
from ._normalize import (
    as_array,
    as_int,
    as_int_tuple,
    check_choice,
    check_memory,
    check_size,
    compute_array,
    prod,
    resolve_threads,
    result_dtype,
)
from ._typing import DataFormat, FloatArray, FloatT, IntArg, IntTuple, docfiller
from .shapes import DATA_FORMATS

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool2d",
    "pool_output_size",
]

_Element = TypeVar("_Element", bound=np.generic)

#: max_pool2d's indices: flat positions in each (H, W) input plane.
Int64Array = npt.NDArray[np.int64]

#: What an implementation behind dtype-following overloads returns.
_FloatingArray = npt.NDArray[np.floating[Any]]

#: Window taps below which one more thread does not pay for itself.
_WORK_PER_THREAD = 1 << 16

#: ``divisor_override`` is an int64 in torch; the same range here.
_DIVISOR_LIMIT = 2**63


def pool_output_size(size: IntArg, kernel_size: IntArg, stride: IntArg, padding: IntArg,
                     dilation: IntArg = 1, ceil_mode: bool = False) -> int:
    """Output length of a pooling window along one dimension (torch's rule).

    ``floor_or_ceil((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``,
    less one in ``ceil_mode`` when the last window would start at or past
    ``size + padding`` (entirely in the right padding).

    Parameters
    ----------
    size, kernel_size, stride, padding, dilation : int
        Input length (>= 1), window size (>= 1), step (>= 1), padding per side
        (>= 0) and tap spacing (>= 1).
    ceil_mode : bool, optional
        Round up instead of down.

    Returns
    -------
    int
        May be < 1; the pooling functions turn that into a ValueError.

    Raises
    ------
    TypeError
        For a non-int size or a non-bool ``ceil_mode``.
    ValueError
        For a size out of its range.

    Examples
    --------
    >>> from pyconvx.pooling import pool_output_size
    >>> pool_output_size(5, 2, 2, 0)
    2
    >>> pool_output_size(5, 2, 2, 0, ceil_mode=True)
    3
    >>> pool_output_size(6, 3, 2, 1, ceil_mode=True)
    4
    """
    (length,) = as_int_tuple(size, "size", 1, 1)
    (kernel,) = as_int_tuple(kernel_size, "kernel_size", 1, 1)
    (step,) = as_int_tuple(stride, "stride", 1, 1)
    (pad,) = as_int_tuple(padding, "padding", 1, 0)
    (spacing,) = as_int_tuple(dilation, "dilation", 1, 1)
    return _pool_length(length, kernel, step, pad, spacing, _as_bool(ceil_mode, "ceil_mode"))


def _pool_length(size: int, kernel: int, stride: int, padding: int, dilation: int,
                 ceil_mode: bool) -> int:
    """pool_output_size for canonical ints: the one home of torch's rule."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        length = -(-span // stride) + 1
        if (length - 1) * stride >= size + padding:
            length -= 1
    else:
        length = span // stride + 1
    return length


def _axis_windows(size: int, out: int, kernel: int, stride: int, pad: int, dilation: int
                  ) -> npt.NDArray[np.int64]:
    """The windows along one axis, clipped to the input: a (3, out) int64 table.

    Row 0: the first input index of each window inside the input; row 1: how
    many of its taps are inside (0 when none is: possible only with dilation
    and padding); row 2: torch's padded extent ``min(start + kernel, size +
    pad) - start`` (the divisor of average pooling with count_include_pad).
    Every value fits int64: ``_describe_pool`` bounds the sizes first.
    """
    start = np.arange(out, dtype=np.int64) * stride - pad
    first_tap = np.where(start < 0, (dilation - 1 - start) // dilation, 0)
    stop_tap = np.minimum(kernel, (size - start + dilation - 1) // dilation)
    table = np.empty((3, out), dtype=np.int64)
    table[0] = start + first_tap * dilation
    table[1] = np.maximum(stop_tap - first_tap, 0)
    table[2] = np.minimum(start + kernel, size + pad) - start
    return table


def _as_bool(value: object, name: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


def _pool_pair(value: IntTuple, name: str, minimum: int) -> tuple[int, int]:
    """torch's spellings of a 2-d pooling size: an int, or a tuple of one or two."""
    if isinstance(value, (tuple, list, np.ndarray)) and np.ndim(value) == 1:
        if len(value) not in (1, 2):
            raise ValueError(f"{name} must be an int or a tuple of 1 or 2 ints, got "
                             f"{len(value)} entries: {value!r}")
        if len(value) == 1:
            (value,) = value
    pair: tuple[int, int] = as_int_tuple(value, name, 2, minimum)
    return pair


def _pool_stride(stride: IntTuple | None, kernel: tuple[int, int]) -> tuple[int, int]:
    """``stride``: None or an empty tuple mean the kernel size (torch's rule)."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        return kernel
    return _pool_pair(stride, "stride", 1)


def _as_divisor(value: IntArg | None) -> float:
    if value is None:
        return 0.0
    divisor = as_int(value, "divisor_override")
    if divisor == 0:
        raise ValueError("divisor_override must not be 0, got 0")
    if abs(divisor) >= _DIVISOR_LIMIT:
        raise ValueError(f"divisor_override must fit in 64 bits (|d| < 2**63), got {divisor}")
    return float(divisor)


def _as_shape(shape: object, name: str) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list, np.ndarray)):
        raise TypeError(f"{name} must be a tuple of ints, got {type(shape).__name__} {shape!r}")
    sizes = tuple(as_int(size, f"{name} entry") for size in shape)
    if any(size < 0 for size in sizes):
        raise ValueError(f"{name} must not hold negative sizes, got {sizes}")
    return sizes


@dataclass(frozen=True)
class _PoolGeometry:
    """A validated 2-d pooling problem, from the input's shape."""

    batched: bool
    channels_last: bool
    batch: int
    channels: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pads: tuple[int, int]
    dilation: tuple[int, int]

    def shape(self, spatial: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of an array of this problem with these spatial sizes."""
        core = (spatial + (self.channels,)) if self.channels_last else (
            (self.channels,) + spatial)
        return ((self.batch,) + core) if self.batched else core

    @property
    def in_shape(self) -> tuple[int, ...]:
        return self.shape(self.in_spatial)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.shape(self.out_spatial)

    @property
    def planes(self) -> int:
        return self.batch * self.channels

    def nchw(self, array: npt.NDArray[_Element]) -> npt.NDArray[_Element]:
        """The (N, C, H, W) view of an array in this problem's layout."""
        if not self.batched:
            array = array[np.newaxis]
        return np.moveaxis(array, -1, 1) if self.channels_last else array

    def tables(self) -> tuple[npt.NDArray[np.int64], ...]:
        """The (3, H_out) and (3, W_out) window tables (see ``_axis_windows``)."""
        return tuple(_axis_windows(*args) for args in zip(
            self.in_spatial, self.out_spatial, self.kernel, self.stride, self.pads,
            self.dilation))

    def window_taps(self) -> int:
        """Most taps of one window inside the input."""
        taps: int = prod(min(k, -(-size // d)) for size, k, d in zip(self.in_spatial, self.kernel,
                                                                    self.dilation))
        return taps


def _layout(shape: Sequence[int], data_format: DataFormat
            ) -> tuple[bool, bool, tuple[int, ...], int]:
    """(channels_last, batched, spatial sizes, channels) of a 2-d pooling array."""
    channels_last = check_choice(data_format, "data_format", DATA_FORMATS) == "channels_last"
    if len(shape) not in (3, 4):
        layouts = "(N, H, W, C) or unbatched (H, W, C)" if channels_last else (
            "(N, C, H, W) or unbatched (C, H, W)")
        raise ValueError(f"x must have shape {layouts}, got shape {tuple(shape)}")
    spatial = tuple(shape[-3:-1] if channels_last else shape[-2:])
    return channels_last, len(shape) == 4, spatial, shape[-1] if channels_last else shape[-3]


def _window(kernel_size: IntTuple, stride: IntTuple | None, padding: IntTuple
            ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """The canonical kernel, stride and padding pairs (torch's spellings)."""
    kernel = _pool_pair(kernel_size, "kernel_size", 1)
    return kernel, _pool_stride(stride, kernel), _pool_pair(padding, "padding", 0)


def _describe_pool(shape: Sequence[int], kernel_size: IntTuple, stride: IntTuple | None,
                   padding: IntTuple, dilation: IntTuple, ceil_mode: bool,
                   data_format: DataFormat, name: str) -> _PoolGeometry:
    """Validate a pooling problem given by the input's shape; return its geometry."""
    channels_last, batched, spatial, channels = _layout(shape, data_format)
    kernel, step, pads = _window(kernel_size, stride, padding)
    spacing = _pool_pair(dilation, "dilation", 1)
    ceil_mode = _as_bool(ceil_mode, "ceil_mode")
    for pad, size in zip(pads, kernel):
        if pad > size // 2:
            raise ValueError(
                f"padding must be at most half of kernel_size, got padding={padding!r} "
                f"for kernel_size={kernel_size!r}"
            )
    if min(spatial) == 0:
        raise ValueError(f"the spatial input must not be empty, got x shape {tuple(shape)}")
    out_spatial = tuple(
        _pool_length(size, k, s, p, d, ceil_mode)
        for size, k, s, p, d in zip(spatial, kernel, step, pads, spacing)
    )
    if min(out_spatial) < 1:
        raise ValueError(
            f"{name}: the output would be empty: input size {spatial}, "
            f"kernel_size={kernel}, stride={step}, padding={pads}, dilation={spacing} "
            f"give output size {out_spatial}"
        )
    # the window tables and the engine index with int64: every start, end and
    # tap of a window must fit with room
    for size, k, s, p, d in zip(spatial, kernel, step, pads, spacing):
        check_size(size + 2 * p + s + d * (k - 1) + 1, "the padded input plus one window")
    batch = shape[0] if batched else 1
    check_size(prod(shape), "x")
    check_size(batch * channels * prod(out_spatial), "the output")
    return _PoolGeometry(batched, channels_last, batch, channels, spatial, out_spatial, kernel,
                         step, pads, spacing)


def _thread_count(threads: int | None, geometry: _PoolGeometry, per_output: int,
                  adds_into_planes: bool) -> int:
    """At most one thread per _WORK_PER_THREAD taps (results do not depend on
    it); an operation adding into planes uses one thread per plane at most."""
    count: int = resolve_threads(threads)
    work = geometry.planes * prod(geometry.out_spatial) * per_output
    count = min(count, work // _WORK_PER_THREAD + 1)
    if adds_into_planes:
        count = min(count, geometry.planes)
    return max(1, count)


def _pooling_input(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple | None,
                   padding: IntTuple, dilation: IntTuple, ceil_mode: bool,
                   data_format: DataFormat, name: str
                   ) -> tuple[npt.NDArray[Any], _PoolGeometry]:
    array: npt.NDArray[Any] = as_array(x, "x")
    geometry = _describe_pool(array.shape, kernel_size, stride, padding, dilation, ceil_mode,
                              data_format, name)
    return array, geometry


@overload
def max_pool2d(x: npt.NDArray[FloatT], kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, dilation: IntTuple = 1, ceil_mode: bool = False,
               return_indices: Literal[False] = False, *,
               data_format: DataFormat = "channels_first",
               threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def max_pool2d(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, dilation: IntTuple = 1, ceil_mode: bool = False,
               return_indices: Literal[False] = False, *,
               data_format: DataFormat = "channels_first",
               threads: int | None = None) -> FloatArray: ...


@overload
def max_pool2d(x: npt.NDArray[FloatT], kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, dilation: IntTuple = 1, ceil_mode: bool = False,
               *, return_indices: Literal[True], data_format: DataFormat = "channels_first",
               threads: int | None = None) -> tuple[npt.NDArray[FloatT], Int64Array]: ...


@overload
def max_pool2d(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, dilation: IntTuple = 1, ceil_mode: bool = False,
               *, return_indices: Literal[True], data_format: DataFormat = "channels_first",
               threads: int | None = None) -> tuple[FloatArray, Int64Array]: ...


@overload
def max_pool2d(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, dilation: IntTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *,
               data_format: DataFormat = "channels_first",
               threads: int | None = None) -> FloatArray | tuple[FloatArray, Int64Array]: ...


@docfiller
def max_pool2d(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, dilation: IntTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False, *,
               data_format: DataFormat = "channels_first",
               threads: int | None = None
               ) -> _FloatingArray | tuple[_FloatingArray, Int64Array]:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    %(pool_x)s
    %(pool_window)s
    padding : int or tuple of 1 or 2 ints, optional
        Implicit ``-inf`` padding on both sides, at most ``kernel_size // 2``.
    dilation : int or tuple of 1 or 2 ints, optional
        Spacing between window taps.
    %(pool_ceil_mode)s
    return_indices : bool, optional
        Also return where each maximum is, as torch does.
    %(pool_data_format)s
    %(pool_threads)s

    Returns
    -------
    out : numpy.ndarray
        ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)`` (channels last with
        ``data_format="channels_last"``).
    indices : numpy.ndarray of int64
        With ``return_indices``: shaped like ``out``, the flat index
        ``row * W + column`` of each window's maximum in its input plane
        (the first maximum in the window's row-major order; where the window
        holds a NaN, the last NaN, as in torch).  A window with no tap inside
        the input (possible only with dilation and padding) gives ``-inf`` and
        index -1.

    Raises
    ------
    %(pool_raises)s

    Notes
    -----
    %(pool_max_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> pyconvx.max_pool2d(x, 2)
    array([[[ 5.,  7.],
            [13., 15.]]])
    >>> out, indices = pyconvx.max_pool2d(x, 2, return_indices=True)
    >>> indices
    array([[[ 5,  7],
            [13, 15]]])
    >>> pyconvx.max_pool2d(np.arange(25.0).reshape(1, 5, 5), 2, ceil_mode=True).shape
    (1, 3, 3)
    """
    with_indices = _as_bool(return_indices, "return_indices")
    array, geometry = _pooling_input(x, kernel_size, stride, padding, dilation, ceil_mode,
                                     data_format, "max_pool2d")
    dtype = result_dtype((array.dtype, "x"))
    out_elements = geometry.planes * prod(geometry.out_spatial)
    check_memory(out_elements * (dtype.itemsize + (8 if with_indices else 0)),
                 "the max_pool2d output")
    count = _thread_count(threads, geometry, geometry.window_taps(), False)
    source = geometry.nchw(compute_array(array, dtype))
    out: FloatArray = np.empty(geometry.out_shape, dtype=dtype)
    indices = np.empty(geometry.out_shape, dtype=np.int64) if with_indices else None
    rows, cols = geometry.tables()
    _pooling_engine.max_pool(source, geometry.nchw(out),
                             None if indices is None else geometry.nchw(indices), rows, cols,
                             geometry.dilation[0], geometry.dilation[1], count)
    return (out, indices) if indices is not None else out


@overload
def avg_pool2d(x: npt.NDArray[FloatT], kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: IntArg | None = None, *,
               data_format: DataFormat = "channels_first",
               threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def avg_pool2d(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: IntArg | None = None, *,
               data_format: DataFormat = "channels_first",
               threads: int | None = None) -> FloatArray: ...


@docfiller
def avg_pool2d(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple | None = None,
               padding: IntTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: IntArg | None = None, *,
               data_format: DataFormat = "channels_first",
               threads: int | None = None) -> npt.NDArray[np.floating[Any]]:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    %(pool_x)s
    %(pool_window)s
    padding : int or tuple of 1 or 2 ints, optional
        Implicit zero padding on both sides, at most ``kernel_size // 2``.
    %(pool_ceil_mode)s
    %(pool_divisor)s
    %(pool_data_format)s
    %(pool_threads)s

    Returns
    -------
    numpy.ndarray
        ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)`` (channels last with
        ``data_format="channels_last"``).  Each window's sum is formed in
        float64 and divided once, so float32 results are within one rounding
        of the exact mean.

    Raises
    ------
    %(pool_raises)s

    Notes
    -----
    %(pool_avg_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> pyconvx.avg_pool2d(x, 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    >>> pyconvx.avg_pool2d(np.ones((1, 2, 2)), 3, stride=1, padding=1)[0, 0, 0]
    np.float64(0.4444444444444444)
    >>> pyconvx.avg_pool2d(x, 2, divisor_override=1)[0, 0, 0]
    np.float64(10.0)
    """
    include_pad = _as_bool(count_include_pad, "count_include_pad")
    divisor = _as_divisor(divisor_override)
    array, geometry = _pooling_input(x, kernel_size, stride, padding, 1, ceil_mode,
                                     data_format, "avg_pool2d")
    dtype = result_dtype((array.dtype, "x"))
    check_memory(geometry.planes * prod(geometry.out_spatial) * dtype.itemsize,
                 "the avg_pool2d output")
    count = _thread_count(threads, geometry, geometry.window_taps(), False)
    source = geometry.nchw(compute_array(array, dtype))
    out: FloatArray = np.empty(geometry.out_shape, dtype=dtype)
    rows, cols = geometry.tables()
    _pooling_engine.avg_pool(source, geometry.nchw(out), rows, cols, include_pad, divisor, count)
    return out


def _check_gradient(grad: npt.NDArray[Any], geometry: _PoolGeometry, name: str) -> None:
    if grad.shape != geometry.out_shape:
        raise ValueError(
            f"grad_output must have shape {geometry.out_shape} (the {name} output for an "
            f"input of shape {geometry.in_shape}), got shape {grad.shape}")


@overload
def max_pool2d_backward(grad_output: npt.NDArray[FloatT], x: npt.NDArray[FloatT],
                        kernel_size: IntTuple, stride: IntTuple | None = None,
                        padding: IntTuple = 0, dilation: IntTuple = 1, ceil_mode: bool = False,
                        *, data_format: DataFormat = "channels_first",
                        threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def max_pool2d_backward(grad_output: npt.ArrayLike, x: npt.ArrayLike, kernel_size: IntTuple,
                        stride: IntTuple | None = None, padding: IntTuple = 0,
                        dilation: IntTuple = 1, ceil_mode: bool = False, *,
                        data_format: DataFormat = "channels_first",
                        threads: int | None = None) -> FloatArray: ...


@docfiller
def max_pool2d_backward(grad_output: npt.ArrayLike, x: npt.ArrayLike, kernel_size: IntTuple,
                        stride: IntTuple | None = None, padding: IntTuple = 0,
                        dilation: IntTuple = 1, ceil_mode: bool = False, *,
                        data_format: DataFormat = "channels_first",
                        threads: int | None = None) -> npt.NDArray[np.floating[Any]]:
    """The gradient of :func:`max_pool2d` with respect to its input.

    Each entry of ``grad_output`` goes to the input element its window's
    maximum came from (the index ``max_pool2d(..., return_indices=True)``
    gives); an element that is the maximum of several windows gets the sum.
    This is the gradient torch's autograd computes for
    ``torch.nn.functional.max_pool2d``, with its arithmetic: the sums are
    formed in the result dtype, the windows in row-major order, so the result
    is the same for every thread count (and equal to torch's, bit for bit).

    Parameters
    ----------
    grad_output : array_like
        The gradient of the pooled output: shaped like ``max_pool2d(x, ...)``.
    x : array_like
        The input of the forward pooling.
    kernel_size, stride, padding, dilation, ceil_mode, data_format
        As for :func:`max_pool2d`.
    %(pool_threads)s

    Returns
    -------
    numpy.ndarray
        Shaped like ``x``; float32 if ``grad_output`` and ``x`` are float32,
        else float64.  Zero where no window's maximum is.

    Raises
    ------
    %(pool_raises)s

    Notes
    -----
    NaN and Inf: an entry of ``grad_output`` reaches exactly the input element
    its window's maximum came from.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> x = np.array([[[1., 3.], [2., 0.]]])
    >>> pyconvx.max_pool2d_backward(np.array([[[10.]]]), x, 2)
    array([[[ 0., 10.],
            [ 0.,  0.]]])
    >>> peak = np.array([[[0., 0., 0.], [0., 9., 0.], [0., 0., 0.]]])   # every window's maximum
    >>> pyconvx.max_pool2d_backward(np.ones((1, 2, 2)), peak, 2, stride=1)
    array([[[0., 0., 0.],
            [0., 4., 0.],
            [0., 0., 0.]]])
    """
    grad: npt.NDArray[Any] = as_array(grad_output, "grad_output")
    array, geometry = _pooling_input(x, kernel_size, stride, padding, dilation, ceil_mode,
                                     data_format, "max_pool2d")
    _check_gradient(grad, geometry, "max_pool2d")
    dtype = result_dtype((grad.dtype, "grad_output"), (array.dtype, "x"))
    check_memory(prod(geometry.in_shape) * dtype.itemsize, "the max_pool2d_backward result")
    count = _thread_count(threads, geometry, geometry.window_taps(), True)
    source = geometry.nchw(compute_array(array, dtype))
    gradient = geometry.nchw(compute_array(grad, dtype))
    grad_x: FloatArray = np.zeros(geometry.in_shape, dtype=dtype)
    rows, cols = geometry.tables()
    _pooling_engine.max_pool_backward(source, gradient, geometry.nchw(grad_x), rows, cols,
                                      geometry.dilation[0], geometry.dilation[1], count)
    return grad_x


@overload
def avg_pool2d_backward(grad_output: npt.NDArray[FloatT], input_shape: Sequence[IntArg],
                        kernel_size: IntTuple, stride: IntTuple | None = None,
                        padding: IntTuple = 0, ceil_mode: bool = False,
                        count_include_pad: bool = True, divisor_override: IntArg | None = None,
                        *, data_format: DataFormat = "channels_first",
                        threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def avg_pool2d_backward(grad_output: npt.ArrayLike, input_shape: Sequence[IntArg],
                        kernel_size: IntTuple, stride: IntTuple | None = None,
                        padding: IntTuple = 0, ceil_mode: bool = False,
                        count_include_pad: bool = True, divisor_override: IntArg | None = None,
                        *, data_format: DataFormat = "channels_first",
                        threads: int | None = None) -> FloatArray: ...


@docfiller
def avg_pool2d_backward(grad_output: npt.ArrayLike, input_shape: Sequence[IntArg],
                        kernel_size: IntTuple, stride: IntTuple | None = None,
                        padding: IntTuple = 0, ceil_mode: bool = False,
                        count_include_pad: bool = True, divisor_override: IntArg | None = None,
                        *, data_format: DataFormat = "channels_first",
                        threads: int | None = None) -> npt.NDArray[np.floating[Any]]:
    """The gradient of :func:`avg_pool2d` with respect to its input.

    Each entry of ``grad_output``, divided by its window's divisor, is added
    to every input element of its window.  This is the gradient torch's
    autograd computes for ``torch.nn.functional.avg_pool2d``, with its
    arithmetic: the quotient and the sums in the result dtype, the windows in
    row-major order, so the result is the same for every thread count (and
    equal to torch's, bit for bit).

    Parameters
    ----------
    grad_output : array_like
        The gradient of the pooled output: shaped like ``avg_pool2d(x, ...)``.
    input_shape : tuple of int
        The shape of the forward pooling's input ``x`` (in ``data_format``).
    kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, data_format
        As for :func:`avg_pool2d`.
    %(pool_threads)s

    Returns
    -------
    numpy.ndarray
        Of shape ``input_shape``; float32 if ``grad_output`` is float32, else
        float64.

    Raises
    ------
    %(pool_raises)s

    Notes
    -----
    NaN and Inf: an entry of ``grad_output`` reaches exactly the input
    elements of its window (and Inf stays Inf where no Inf - Inf occurs).

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> pyconvx.avg_pool2d_backward(np.array([[[4., 8.]]]), (1, 2, 4), 2)
    array([[[1., 1., 2., 2.],
            [1., 1., 2., 2.]]])
    """
    include_pad = _as_bool(count_include_pad, "count_include_pad")
    divisor = _as_divisor(divisor_override)
    grad: npt.NDArray[Any] = as_array(grad_output, "grad_output")
    shape = _as_shape(input_shape, "input_shape")
    geometry = _describe_pool(shape, kernel_size, stride, padding, 1, ceil_mode, data_format,
                              "avg_pool2d")
    _check_gradient(grad, geometry, "avg_pool2d")
    dtype = result_dtype((grad.dtype, "grad_output"))
    check_memory(prod(shape) * dtype.itemsize, "the avg_pool2d_backward result")
    count = _thread_count(threads, geometry, geometry.window_taps(), True)
    gradient = geometry.nchw(compute_array(grad, dtype))
    grad_x: FloatArray = np.zeros(shape, dtype=dtype)
    rows, cols = geometry.tables()
    _pooling_engine.avg_pool_backward(gradient, geometry.nchw(grad_x), rows, cols, include_pad,
                                      divisor, count)
    return grad_x


def _unpool_spatial(geometry: _PoolGeometry, output_size: Sequence[IntArg] | None,
                    pooled_shape: tuple[int, ...]) -> tuple[int, ...]:
    """torch's output size of max_unpool2d: ``(in - 1) * stride - 2 * padding +
    kernel`` per dim, or ``output_size`` within ``stride`` of it."""
    default = tuple((size - 1) * s - 2 * p + k for size, s, p, k in zip(
        geometry.in_spatial, geometry.stride, geometry.pads, geometry.kernel))
    if output_size is None:
        spatial = default
    else:
        sizes = _as_shape(output_size, "output_size")
        if len(sizes) == len(pooled_shape):
            spatial = sizes[-3:-1] if geometry.channels_last else sizes[-2:]
        elif len(sizes) == 2:
            spatial = sizes
        else:
            raise ValueError(f"output_size must be (H_out, W_out) or the output's full shape "
                             f"({len(pooled_shape)} entries), got {output_size!r}")
        for size, wanted, s in zip(default, spatial, geometry.stride):
            if not size - s < wanted < size + s:
                raise ValueError(
                    f"output_size {tuple(spatial)} must be within stride {geometry.stride} of "
                    f"the default size {default} (exclusive), as torch requires")
    if min(spatial) < 1:
        raise ValueError(f"max_unpool2d: the output would be empty: size {tuple(spatial)}")
    return tuple(spatial)


def _as_indices(indices: npt.ArrayLike, shape: tuple[int, ...], plane_size: int
                ) -> npt.NDArray[np.int64]:
    """``indices`` as int64, every entry -1 or in [0, plane_size)."""
    array: npt.NDArray[Any] = as_array(indices, "indices")
    if array.dtype.kind not in "iu":
        raise TypeError(f"indices must hold integers (max_pool2d's int64 indices), got dtype "
                        f"{array.dtype}")
    if array.shape != shape:
        raise ValueError(f"indices must have the shape of x {shape}, got shape {array.shape}")
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < -1 or high >= plane_size:
            bad = low if low < -1 else high
            where = np.unravel_index(int(array.argmin() if low < -1 else array.argmax()),
                                     shape)
            raise ValueError(
                f"indices must be flat indices into the output plane, 0 <= i < {plane_size} "
                f"(or -1: no input element), got {bad} at {tuple(int(i) for i in where)}")
    positions: npt.NDArray[np.int64] = compute_array(array, np.int64)
    return positions


@overload
def max_unpool2d(x: npt.NDArray[FloatT], indices: npt.ArrayLike, kernel_size: IntTuple,
                 stride: IntTuple | None = None, padding: IntTuple = 0,
                 output_size: Sequence[IntArg] | None = None, *,
                 data_format: DataFormat = "channels_first",
                 threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def max_unpool2d(x: npt.ArrayLike, indices: npt.ArrayLike, kernel_size: IntTuple,
                 stride: IntTuple | None = None, padding: IntTuple = 0,
                 output_size: Sequence[IntArg] | None = None, *,
                 data_format: DataFormat = "channels_first",
                 threads: int | None = None) -> FloatArray: ...


@docfiller
def max_unpool2d(x: npt.ArrayLike, indices: npt.ArrayLike, kernel_size: IntTuple,
                 stride: IntTuple | None = None, padding: IntTuple = 0,
                 output_size: Sequence[IntArg] | None = None, *,
                 data_format: DataFormat = "channels_first",
                 threads: int | None = None) -> npt.NDArray[np.floating[Any]]:
    """The partial inverse of :func:`max_pool2d`, as ``torch.nn.functional.max_unpool2d``.

    Every value of ``x`` goes to the position its index names in a zero
    output plane; the rest stays zero.

    Parameters
    ----------
    x : array_like
        Pooled values: ``(N, C, H, W)`` or unbatched ``(C, H, W)``
        (channels last with ``data_format="channels_last"``).
    indices : array_like of int
        Shaped like ``x``: the flat index ``row * W_out + column`` into the
        output plane of each value (what ``max_pool2d(...,
        return_indices=True)`` returns).  -1 (a window with no input element)
        writes nothing; where two entries name one position, the later one in
        row-major order wins (as torch's CPU kernel does).
    kernel_size, stride, padding
        Those of the pooling; they give the default output size
        ``(H - 1) * stride - 2 * padding + kernel_size`` per dim.
    output_size : tuple of int, optional
        ``(H_out, W_out)`` (or the output's full shape), within ``stride`` of
        the default size, for an input whose pooling rounded its size down.
    %(pool_data_format)s
    %(pool_threads)s

    Returns
    -------
    numpy.ndarray
        ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)`` (channels last with
        ``data_format="channels_last"``); x's dtype rule.

    Raises
    ------
    TypeError
        For non-int sizes, non-integer indices or an unsupported dtype.
    ValueError
        For a wrong rank, indices not shaped like x or outside the output
        plane, an output size out of range or an empty output.
    MemoryError
        When the output cannot fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> x = np.array([[[1., 5.], [7., 3.]]])
    >>> pooled, where = pyconvx.max_pool2d(x, 2, return_indices=True)
    >>> pyconvx.max_unpool2d(pooled, where, 2)
    array([[[0., 0.],
            [7., 0.]]])
    """
    array: npt.NDArray[Any] = as_array(x, "x")
    geometry = _describe_unpool(array.shape, kernel_size, stride, padding, data_format)
    spatial = _unpool_spatial(geometry, output_size, array.shape)
    plane_size: int = check_size(prod(spatial), "the output plane")
    positions = _as_indices(indices, array.shape, plane_size)
    dtype = result_dtype((array.dtype, "x"))
    out_shape = geometry.shape(spatial)
    check_size(prod(out_shape), "the output")
    check_memory(prod(out_shape) * dtype.itemsize, "the max_unpool2d output")
    count: int = max(1, min(resolve_threads(threads), geometry.planes,
                       geometry.planes * prod(geometry.in_spatial) // _WORK_PER_THREAD + 1))
    out: FloatArray = np.zeros(out_shape, dtype=dtype)
    _pooling_engine.max_unpool(geometry.nchw(compute_array(array, dtype)),
                               geometry.nchw(positions), geometry.nchw(out), count)
    return out


def _describe_unpool(shape: tuple[int, ...], kernel_size: IntTuple, stride: IntTuple | None,
                     padding: IntTuple, data_format: DataFormat) -> _PoolGeometry:
    """The geometry of max_unpool2d's input (the pooled array): its window
    arguments in torch's spellings, any padding (torch checks none)."""
    channels_last, batched, spatial, channels = _layout(shape, data_format)
    kernel, step, pads = _window(kernel_size, stride, padding)
    check_size(prod(shape), "x")
    return _PoolGeometry(batched, channels_last, shape[0] if batched else 1, channels, spatial,
                         spatial, kernel, step, pads, (1, 1))
