"""im2col and col2im: the im2col of the convolution tutorial, with torch's unfold / fold semantics.

``im2col`` lays every kernel window of a 2-d image out as one column, so that
a convolution becomes one matrix product; ``col2im`` is its adjoint (sums
overlapping window entries back).  Both run in the compiled core.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ._engine import unfold as _unfold_engine
from ._normalize import (
    as_array,
    as_int_tuple,
    check_memory,
    check_size,
    compute_array,
    normalize_padding,
    prod,
    resolve_threads,
    result_dtype,
)
from ._typing import (
    FloatArray,
    FloatT,
    IntTuple,
    PaddingArg,
    docfiller,
)
from .shapes import output_length

__all__ = ["col2im", "im2col"]


#: Values (copied or added) below which one more thread does not pay for itself.
_WORK_PER_THREAD = 1 << 16


def _thread_count(threads: int | None, values: int) -> int:
    """At most one thread per _WORK_PER_THREAD values (results do not depend on it)."""
    count: int = max(1, min(resolve_threads(threads), values // _WORK_PER_THREAD + 1))
    return count


_Pairs = tuple[int, int]


def _window_params(kernel_size: IntTuple, stride: IntTuple, padding: PaddingArg,
                   dilation: IntTuple, spatial: Sequence[int]
                   ) -> tuple[_Pairs, _Pairs, _Pairs, tuple[_Pairs, _Pairs], _Pairs]:
    kernel = as_int_tuple(kernel_size, "kernel_size", 2, 1)
    steps = as_int_tuple(stride, "stride", 2, 1)
    spacing = as_int_tuple(dilation, "dilation", 2, 1)
    pads = normalize_padding(padding, kernel, steps, spacing, spatial)
    # the engine indexes every tap of every window with int64
    for size, k, s, (lo, hi), d in zip(spatial, kernel, steps, pads, spacing):
        check_size(size + lo + hi + d * (k - 1) + s + 1, "the padded input plus one window")
    blocks = tuple(output_length(size, k, s, lo, hi, d)
                   for size, k, s, (lo, hi), d in zip(spatial, kernel, steps, pads, spacing))
    return kernel, steps, spacing, pads, blocks


@overload
def im2col(x: npt.NDArray[FloatT], kernel_size: IntTuple, stride: IntTuple = 1,
           padding: PaddingArg = 0, dilation: IntTuple = 1, *,
           threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def im2col(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple = 1,
           padding: PaddingArg = 0, dilation: IntTuple = 1, *,
           threads: int | None = None) -> FloatArray: ...


@docfiller
def im2col(x: npt.ArrayLike, kernel_size: IntTuple, stride: IntTuple = 1,
           padding: PaddingArg = 0, dilation: IntTuple = 1, *,
           threads: int | None = None) -> npt.NDArray[np.floating[Any]]:
    """Extract sliding windows of a 2-d image as columns (torch's ``unfold``).

    Parameters
    ----------
    x : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
    kernel_size : int or (int, int)
        Window size.
    stride, dilation : int or (int, int), optional
        As for :func:`pyconvx.conv`.
    padding : int, tuple or str, optional
        Zero padding, in any form :func:`pyconvx.conv` accepts.
    %(pool_threads)s

    Returns
    -------
    ndarray
        ``(N, C * kh * kw, L)`` (or ``(C * kh * kw, L)``) where L is the number
        of windows; row ``c * kh * kw + i * kw + j`` holds tap ``(i, j)`` of
        channel ``c``.  float32 stays float32, everything else is float64.

    Raises
    ------
    TypeError, ValueError
        As :func:`pyconvx.conv` for the same parameters.
    MemoryError
        When the columns cannot fit in memory.
    KeyboardInterrupt
        On Ctrl-C, checked between chunks of a few milliseconds of work.

    Notes
    -----
    A pure copy: a NaN or Inf reaches exactly the columns whose window holds
    its pixel (padding is zero).

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> x = np.arange(9.0).reshape(1, 3, 3)
    >>> pyconvx.im2col(x, 2)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    image: npt.NDArray[Any] = as_array(x, "x")
    if image.ndim not in (3, 4):
        raise ValueError(f"x must have shape (N, C, H, W) or (C, H, W), got shape {image.shape}")
    batched = image.ndim == 4
    dtype = result_dtype((image.dtype, "x"))
    x4 = compute_array(image if batched else image[np.newaxis], dtype)
    if min(x4.shape[2:]) == 0:
        raise ValueError(f"the spatial input must not be empty, got x shape {image.shape}")
    kernel, steps, spacing, pads, blocks = _window_params(kernel_size, stride, padding,
                                                          dilation, x4.shape[2:])
    shape = (x4.shape[0], x4.shape[1] * prod(kernel), prod(blocks))
    check_memory(prod(shape) * dtype.itemsize, f"the columns of shape {shape}")
    count = _thread_count(threads, prod(shape))
    cols: FloatArray = np.empty(shape, dtype=dtype)
    _unfold_engine.im2col(x4, cols, kernel, steps, [lo for lo, _ in pads], spacing, blocks,
                          count)
    return cols if batched else cols[0]


@overload
def col2im(cols: npt.NDArray[FloatT], output_size: IntTuple, kernel_size: IntTuple,
           stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1, *,
           threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def col2im(cols: npt.ArrayLike, output_size: IntTuple, kernel_size: IntTuple,
           stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1, *,
           threads: int | None = None) -> FloatArray: ...


@docfiller
def col2im(cols: npt.ArrayLike, output_size: IntTuple, kernel_size: IntTuple,
           stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1, *,
           threads: int | None = None) -> npt.NDArray[np.floating[Any]]:
    """Sum columns back into a 2-d image (torch's ``fold``), the adjoint of im2col.

    Parameters
    ----------
    cols : array_like
        ``(N, C * kh * kw, L)`` or unbatched ``(C * kh * kw, L)``.
    output_size : int or (int, int)
        ``(H, W)`` of the image.
    kernel_size, stride, padding, dilation
        As for :func:`im2col`; L must equal the number of windows they give.
    %(pool_threads)s

    Returns
    -------
    ndarray
        ``(N, C, H, W)`` or ``(C, H, W)``: each pixel is the sum of the column
        entries that came from it, added in the order of the columns (the
        same bits for every thread count).

    Raises
    ------
    TypeError, ValueError
        For bad types, or shapes that do not match the window count.
    MemoryError
        When the image cannot fit in memory.
    KeyboardInterrupt
        On Ctrl-C, checked between chunks of a few milliseconds of work.

    Notes
    -----
    A NaN or Inf in ``cols`` reaches exactly the pixel it is summed into (Inf
    stays Inf unless the opposite infinity is summed into the same pixel).

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> x = np.arange(9.0).reshape(1, 3, 3)
    >>> pyconvx.col2im(pyconvx.im2col(x, 2), 3, 2)  # centre pixel was in 4 windows
    array([[[ 0.,  2.,  2.],
            [ 6., 16., 10.],
            [ 6., 14.,  8.]]])
    """
    columns: npt.NDArray[Any] = as_array(cols, "cols")
    if columns.ndim not in (2, 3):
        raise ValueError(f"cols must have shape (N, C*kh*kw, L) or (C*kh*kw, L), "
                         f"got shape {columns.shape}")
    batched = columns.ndim == 3
    dtype = result_dtype((columns.dtype, "cols"))
    spatial = as_int_tuple(output_size, "output_size", 2, 1)
    kernel, steps, spacing, pads, blocks = _window_params(kernel_size, stride, padding,
                                                          dilation, spatial)
    cols3 = compute_array(columns if batched else columns[np.newaxis], dtype, contiguous=True)
    block = prod(kernel)
    if cols3.shape[1] % block:
        raise ValueError(f"cols.shape[-2] = {cols3.shape[1]} must be a multiple of "
                         f"kh * kw = {block} for kernel_size {kernel}")
    if cols3.shape[2] != prod(blocks):
        raise ValueError(f"cols.shape[-1] = {cols3.shape[2]} must equal the number of windows "
                         f"{prod(blocks)} ({blocks[0]} x {blocks[1]}) for output_size "
                         f"{spatial}, kernel_size {kernel}, stride {steps}, padding {pads}, "
                         f"dilation {spacing}")
    shape = (cols3.shape[0], cols3.shape[1] // block) + spatial
    check_memory(prod(shape) * dtype.itemsize, f"the image of shape {shape}")
    count = _thread_count(threads, cols3.size)
    image: FloatArray = np.zeros(shape, dtype=dtype)
    _unfold_engine.col2im(cols3, image, kernel, steps, [lo for lo, _ in pads], spacing, blocks,
                          count)
    return image if batched else image[0]
