"""Correlation of an N-d array with a kernel over some of its axes, on the engine.

The one computing layer under :mod:`pyconvx.ndimage` and
:mod:`pyconvx.filters`.  :func:`correlate` takes an array of any rank, a
kernel of the same rank (length 1 on the axes it does not filter), the
``(low, high)`` border each axis gets and a pyconvx padding mode.

A 1-D pass (the kernel filters one axis) runs on the tap-rows engine
(``_engine.taps``): the array is ``(outer, rows, width)``, the axes in front
of the filtered one merged into ``outer`` and the ones after it into the
rows' ``width``; every output row is one microkernel call over the ``K``
input rows it reads, in place, vectorised across the width, four output rows
sharing each input load.  Along the last axis every row of the array is
padded into a small per-thread ring and filtered along its length.  The
borders are index tables (``extend_indices``, any width).  This needs rows
of ``TAP_ROWS_MIN_WIDTH`` values (or ``TAP_ROWS_MIN_ROWS`` rows along the
last axis); the engine sums the taps in the order :func:`pyconvx.conv`
does, so the two paths give the same bits.

Every other problem is one :func:`pyconvx.conv` call on a strided view of
the array: no transpose, no copy of data already in the compute dtype.  How
an N-d array becomes a convolution problem ``(N, C, *spatial)``: axes the
kernel does not filter are merged with their neighbours when the memory
layout allows it; when more than two axes remain, a leading unfiltered one
becomes the batch; every other axis is a spatial axis, the unfiltered ones
with a kernel of length 1 (the engine's 2-d kinds beat a batch of rows).
Narrow unfiltered trailing axes (colour channels) are moved in front first.

Borders wider than the engine's single reflection (``pyconvx._boundary``)
are built explicitly with ``extend_indices``, the periodic extension SciPy
uses, before a border-free convolution.

:func:`correlate_separable` runs a rank-1 kernel (see ``_separable``) as one
1-D pass per filtered axis when that does fewer multiply-adds.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, SupportsInt, cast

import numpy as np
import numpy.typing as npt

from ._boundary import extend_indices, padding_limit
from ._engine import dispatch
from ._engine.plan import cached_plan
from ._engine.taps import correlate_rows
from ._normalize import compute_array
from ._separable import rank_one_factors
from ._typing import Algorithm, PaddingMode
from .conv import conv
from .shapes import describe_conv

__all__ = ["block_of", "correlate", "correlate_passes", "correlate_separable", "kernel_in",
           "origin_pads"]

#: A rank-1 kernel runs as 1-D passes when the full kernel has at least this
#: many times the taps of all the passes together (each pass reads and writes
#: the whole array once more).  Square 2-d kernels of 3, 5 and 7 taps stay
#: whole: the engine's depthwise kind unrolls them, faster than two passes
#: (measured with AVX-512, float32 and float64, 2048 x 2048).
SEPARABLE_ADVANTAGE = 2.5
UNROLLED_SQUARE = ((3, 3), (5, 5), (7, 7))

#: Intermediate results of multi-pass filtering up to this size reuse one of
#: two buffers kept per thread.  A fresh array costs a page fault per page on
#: first touch (4 ms for 16 MiB on a virtual machine, as much as a 25-tap
#: pass); the final result is always a new array.
SCRATCH_LIMIT_BYTES = 64 * 2**20
_SCRATCH = threading.local()

#: Unfiltered trailing axes holding fewer values than this (an image's colour
#: channels) would make the engine's rows that narrow: they become the batch.
NARROW = 16

#: A pass along an axis other than the last runs on the tap-rows engine
#: (``_engine.taps``: the input rows read in place, vectorised across the
#: merged trailing axes) when those axes hold at least this many values;
#: narrower rows go to :func:`pyconvx.conv`.
TAP_ROWS_MIN_WIDTH = 64
#: A pass along the last axis runs there when the array has at least this
#: many rows (the engine shares rows, not a row, among the threads).
TAP_ROWS_MIN_ROWS = 64

#: The shape of the whole array while :func:`correlate` computes one block of
#: it (see :func:`block_of`); None for an ordinary call.
_WHOLE_SHAPE: contextvars.ContextVar[tuple[int, ...] | None] = contextvars.ContextVar(
    "pyconvx_ndimage_whole_shape", default=None)

#: One dim of a correlation as the engine runs it: ``(size, stride, taps,
#: (low, high))``, the stride in elements.
_Dim = tuple[int, int, int, tuple[int, int]]


@contextlib.contextmanager
def block_of(shape: Iterable[SupportsInt]) -> Iterator[None]:
    """Within this context, every :func:`correlate` computes a block of a C-contiguous
    array of ``shape`` with the bits the whole array's call would give those outputs.

    What the layout of a pass depends on is then taken from ``shape``, not from
    the block: whether narrow trailing axes become the batch, and the
    microkernel, which the plan of the whole array's convolution picks (a
    block's own plan may pick another, and microkernels sum in different
    orders).  The block itself must be C-contiguous (as the whole array is),
    so that its axes merge as the whole array's do.  Context-local: each
    thread (each dask task) sets its own.
    """
    token = _WHOLE_SHAPE.set(tuple(int(n) for n in shape))
    try:
        yield
    finally:
        _WHOLE_SHAPE.reset(token)


def origin_pads(size: int, origin: int) -> tuple[int, int]:
    """``(low, high)`` border of an axis for a kernel of ``size`` taps at ``origin``.

    The output keeps the input's length and output ``i`` reads input
    ``i + k - (size // 2 + origin)`` for tap ``k``: scipy.ndimage's anchor.
    """
    low = size // 2 + origin
    return (low, size - 1 - low)


def _extend(array: npt.NDArray[Any], axis: int, pads: tuple[int, int], mode: PaddingMode
            ) -> npt.NDArray[Any]:
    """``array`` with the border of ``axis`` written out (any width)."""
    low, high = pads
    size = array.shape[axis]
    index = extend_indices(np.arange(-low, size + high), size, mode)
    return np.take(array, index, axis=axis)


def kernel_in(kernel: npt.NDArray[Any], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """``kernel`` as a C-contiguous array of ``dtype``, its sum kept when rounded to float32.

    Rounding each float64 weight to float32 can shift the kernel's sum (its
    gain on a flat region) by up to ``taps * 2**-25`` relative, always the
    same way for a given kernel: a bias that every output inherits.  The
    rounding error of the sum is added back to the largest weight (rounded
    again), which leaves the sum within half a float32 step of the float64
    kernel's.  Kernels exact in float32 (integers...) are unchanged.
    """
    rounded: npt.NDArray[Any] = compute_array(kernel, dtype, contiguous=True)
    if dtype != np.float32 or kernel.dtype != np.float64 or rounded.size < 2:
        return rounded
    flat = rounded.reshape(-1)
    residual = float(np.sum(kernel, dtype=np.float64) - np.sum(flat, dtype=np.float64))
    if residual != 0.0 and math.isfinite(residual):
        largest = int(np.argmax(np.abs(flat)))
        adjusted = np.float32(float(flat[largest]) + residual)
        if abs(float(adjusted) - float(flat[largest]) - residual) < abs(residual):
            flat[largest] = adjusted   # rounded is a new array: kernel was float64
    return rounded


def _merged_layout(shape: Sequence[int], strides: Sequence[int], kernel: Sequence[int],
                   pads: Sequence[tuple[int, int]]) -> tuple[list[_Dim], list[list[int]]]:
    """Dims ``(size, stride, taps, pads)`` with neighbouring unfiltered dims merged,
    and the axes of ``shape`` each dim holds."""
    dims: list[_Dim] = []
    groups: list[list[int]] = []
    for axis, dim in enumerate(zip(shape, strides, kernel, pads)):
        plain = dim[2] == 1 and dim[3] == (0, 0)
        if dims and plain and dims[-1][2] == 1 and dims[-1][3] == (0, 0) and (
                dims[-1][1] == dim[0] * dim[1]):
            size, _, _, _ = dims[-1]
            dims[-1] = (size * dim[0], dim[1], 1, (0, 0))
            groups[-1].append(axis)
        else:
            dims.append(dim)
            groups.append([axis])
    return dims, groups


def _whole_microkernel(whole_shape: Sequence[int], groups: Sequence[Sequence[int]],
                       batched: bool, taps: tuple[int, ...], pads: Sequence[tuple[int, int]],
                       mode: PaddingMode, value: float, dtype: np.dtype[Any]) -> Algorithm:
    """The microkernel the whole array's convolution runs (see :func:`block_of`).

    The whole array's problem has the block's dims (``groups`` of axes, the
    first one the batch if ``batched``), its own sizes, ``pads`` per dim (the
    original borders: a border the whole array's axis is too short for is
    written out first, as :func:`correlate` does).
    """
    sizes = [math.prod(whole_shape[axis] for axis in group) for group in groups]
    batch = 1
    if batched:
        batch, sizes, pads = sizes[0], sizes[1:], pads[1:]
    padding = []
    for index, (low, high) in enumerate(pads):
        limit = padding_limit(mode, sizes[index])
        if limit is not None and max(low, high) > limit:
            sizes[index] += low + high
            low = high = 0
        padding.append((low, high))
    geometry = describe_conv((batch, 1, *sizes), (1, 1, *taps), padding=padding,
                             padding_mode=mode, padding_value=value)
    # the plan of a direct convolution names its microkernel, an algorithm conv can force
    return cast(Algorithm, cached_plan(geometry, dtype, threads=1).microkernel)


def _scratch(shape: tuple[int, ...], dtype: np.dtype[Any], slot: int
             ) -> npt.NDArray[Any] | None:
    """A C-contiguous ``shape`` array of ``dtype`` in this thread's buffer ``slot`` (0 or 1).

    None when it would exceed ``SCRATCH_LIMIT_BYTES``.  The buffer outlives
    the call: the next intermediate result of the same thread reuses it.
    """
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > SCRATCH_LIMIT_BYTES:
        return None
    buffers: list[npt.NDArray[np.uint8] | None] | None = getattr(_SCRATCH, "buffers", None)
    if buffers is None:
        buffers = _SCRATCH.buffers = [None, None]
    buffer = buffers[slot]
    if buffer is None or buffer.nbytes < nbytes:
        buffer = buffers[slot] = np.empty(max(nbytes, 1), dtype=np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


def _narrow_tail(kernel: npt.NDArray[Any], pads: Sequence[tuple[int, int]]) -> int:
    """How many trailing axes are unfiltered, when together they are narrow (else 0)."""
    count = 0
    while count < kernel.ndim and kernel.shape[-1 - count] == 1 and pads[-1 - count] == (0, 0):
        count += 1
    return count if 0 < count < kernel.ndim else 0


def _tap_rows_layout(shape: Sequence[int], kernel: Sequence[int],
                     pads: Sequence[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    """``(outer, rows, width, row_axis)`` of the tap-rows engine for this problem, or None.

    The engine takes a 1-D pass along any axis (the axes after it merged into
    the rows' width, the ones before into ``outer``; along the last axis every
    row of the array is one row).  It sums the taps in the order
    :func:`pyconvx.conv` does, so either gives the same bits.  Square 2-d
    kernels stay with conv: its depthwise kind keeps the weights in registers
    (the engine's 3x3, 5x5 and 7x7 were measured no faster).
    """
    filtered = [axis for axis, (taps, pad) in enumerate(zip(kernel, pads))
                if taps > 1 or pad != (0, 0)]
    ndim = len(shape)
    if filtered == [ndim - 1]:
        rows = math.prod(shape[:-1])
        return (1, rows, shape[-1], ndim - 1) if rows >= TAP_ROWS_MIN_ROWS else None
    if len(filtered) == 1:
        axis = filtered[0]
        width = math.prod(shape[axis + 1:])
        if width < TAP_ROWS_MIN_WIDTH:
            return None
        return math.prod(shape[:axis]), shape[axis], width, axis
    return None


def _correlate_tap_rows(source: npt.NDArray[Any], kernel: npt.NDArray[Any],
                        pads: Sequence[tuple[int, int]], mode: PaddingMode, value: float,
                        dtype: np.dtype[Any], threads: int,
                        layout: tuple[int, int, int, int], out_shape: tuple[int, ...],
                        slot: int | None) -> npt.NDArray[Any]:
    """:func:`correlate` on the tap-rows engine (``layout`` from :func:`_tap_rows_layout`)."""
    outer, rows, width, row_axis = layout
    source = np.ascontiguousarray(compute_array(source, dtype))
    weight = kernel_in(kernel, dtype)
    last = source.ndim - 1
    if row_axis == last:   # every row of the array, its columns filtered
        kh, kw, (low, high) = 1, kernel.shape[-1], pads[-1]
        row_index = np.arange(rows, dtype=np.int64)
        col_index = extend_indices(np.arange(-low, width + high), width, mode)
        out_rows, out_width = rows, width + low + high - kw + 1
    else:   # whole rows of the merged trailing axes, read in place
        kh, (low, high) = kernel.shape[row_axis], pads[row_axis]
        row_index = extend_indices(np.arange(-low, rows + high), rows, mode)
        kw, col_index = 1, None
        out_rows, out_width = rows + low + high - kh + 1, width
    fill = value if mode == "constant" else 0.0
    out: npt.NDArray[Any] | None = None
    if slot is not None:
        out = _scratch((outer, out_rows, out_width), dtype, slot)
    if out is None:
        out = np.empty((outer, out_rows, out_width), dtype=dtype)
    correlate_rows(source.reshape(outer, rows, width), weight.reshape(-1), kh, kw, row_index,
                   col_index, fill, out, threads, dispatch.level_code())
    return out.reshape(out_shape)


def correlate(x: npt.NDArray[Any], kernel: npt.NDArray[Any], pads: Sequence[tuple[int, int]],
              mode: PaddingMode, value: float, dtype: np.dtype[Any], threads: int,
              slot: int | None = None, whole_shape: Sequence[int] | None = None
              ) -> npt.NDArray[Any]:
    """Correlate ``x`` with ``kernel`` (same rank) in ``dtype``; return the result.

    ``pads`` gives each axis's ``(low, high)`` border (output length ``n +
    low + high - taps + 1``), ``mode`` a pyconvx padding mode (``value`` for
    ``"constant"``).  ``x`` is real, of any dtype and layout; the result is
    a new array in ``dtype``, or with ``slot`` (0 or 1) an intermediate
    result in this thread's scratch buffer ``slot``, which must not hold
    ``x``.  Unfiltered trailing axes narrower than ``NARROW`` (the colour
    channels of an image) are filtered as a batch in front: the result is
    then a transposed view.  ``whole_shape`` (default: the one :func:`block_of`
    set, if any) is the shape of the whole array ``x`` is a block of.
    """
    out_shape = tuple(n + low + high - k + 1
                      for n, k, (low, high) in zip(x.shape, kernel.shape, pads))
    if x.size == 0 or 0 in out_shape:
        return np.zeros(out_shape, dtype=dtype)
    if whole_shape is None:
        whole_shape = _WHOLE_SHAPE.get()
    if whole_shape is not None and len(whole_shape) != x.ndim:
        raise ValueError(f"a block of {x.ndim} dims cannot be part of an array of shape "
                         f"{whole_shape}")
    tail = _narrow_tail(kernel, pads)
    if tail and math.prod((x.shape if whole_shape is None else whole_shape)[-tail:]) < NARROW:
        order = list(range(x.ndim - tail, x.ndim)) + list(range(x.ndim - tail))
        result = correlate(x.transpose(order), kernel.transpose(order),
                           [pads[axis] for axis in order], mode, value, dtype, threads, slot,
                           None if whole_shape is None else [whole_shape[a] for a in order])
        return result.transpose(np.argsort(order))
    # same bits as conv on these problems: a block may take either path
    layout = _tap_rows_layout(x.shape, kernel.shape, pads)
    if layout is not None:
        return _correlate_tap_rows(x, kernel, pads, mode, value, dtype, threads, layout,
                                   out_shape, slot)
    source = compute_array(x, dtype)
    pads = list(pads)
    borders = list(pads)
    for axis, (size, (low, high)) in enumerate(zip(source.shape, pads)):
        limit = padding_limit(mode, size)
        if limit is not None and max(low, high) > limit:
            source = _extend(source, axis, (low, high), mode)
            pads[axis] = (0, 0)
    weight = kernel_in(kernel, dtype)
    if source.ndim == 0:
        source, weight, pads = source.reshape(1), weight.reshape(1), [(0, 0)]
        whole_shape = None
    steps = [s // source.itemsize for s in source.strides]
    dims, groups = _merged_layout(source.shape, steps, weight.shape, pads)
    batch, batch_step = 1, 0
    batched = len(dims) > 2 and dims[0][2] == 1 and dims[0][3] == (0, 0)
    if batched:
        # the engine's 2-d kinds beat a batch of rows: batch only above 2 dims
        (batch, batch_step, _, _), dims = dims[0], dims[1:]
    itemsize = source.itemsize
    view = np.lib.stride_tricks.as_strided(
        source, shape=(batch, 1) + tuple(d[0] for d in dims),
        strides=(batch_step * itemsize, itemsize) + tuple(d[1] * itemsize for d in dims),
        writeable=False)
    weight = weight.reshape((1, 1) + tuple(d[2] for d in dims))
    if mode == "constant" and value == 0:
        mode = "zeros"
    padding_value = value if mode == "constant" else 0.0
    algorithm: Algorithm = "auto"
    if whole_shape is not None:
        algorithm = _whole_microkernel(whole_shape, groups, batched, weight.shape[2:],
                                       [borders[group[0]] for group in groups], mode,
                                       padding_value, dtype)
    out: npt.NDArray[Any] | None = None
    if slot is not None:
        out = _scratch((batch, 1) + tuple(n + low + high - k + 1 for n, _, k, (low, high) in dims),
                       dtype, slot)
    result = conv(view, weight, padding=[d[3] for d in dims], padding_mode=mode,
                  padding_value=padding_value, threads=threads, out=out, algorithm=algorithm)
    return result.reshape(out_shape)


def correlate_passes(x: npt.NDArray[Any],
                     passes: Sequence[tuple[npt.NDArray[Any], Sequence[tuple[int, int]], str,
                                            float]],
                     dtype: np.dtype[Any], threads: int) -> npt.NDArray[Any]:
    """Run ``passes`` one after the other on ``x``, all in ``dtype``; return the last result.

    ``passes`` holds ``(kernel, pads, mode, value)`` for :func:`correlate`.
    Intermediate results go to this thread's two scratch buffers in turn
    (see ``SCRATCH_LIMIT_BYTES``); the last result is a new array.  Each
    ``mode`` is a pyconvx padding mode (``pyconvx.ndimage`` translates its
    border names before they come here).
    """
    result = x
    for number, (kernel, pads, mode, value) in enumerate(passes):
        slot = number % 2 if number < len(passes) - 1 else None
        result = correlate(result, kernel, pads, cast(PaddingMode, mode), value, dtype, threads,
                           slot)
    return result


def one_conv_microkernel(whole_shape: Sequence[int], kernel: npt.NDArray[Any],
                         pads: Sequence[tuple[int, int]], mode: PaddingMode, value: float,
                         dtype: np.dtype[Any]) -> Algorithm | None:
    """The microkernel of :func:`correlate_separable` on a C-contiguous array of
    ``whole_shape``, when that call is one :func:`pyconvx.conv` of the array as
    it is (one dim per axis, no pass, no border written out first); else None.

    That is so when every axis is filtered (more than one tap each, so that
    no axis is merged, batched, moved to the front or left to the tap-rows
    engine), the kernel is not split into 1-D passes, and every border is
    within what ``mode`` can pad.  Every output of such a call is then the
    sum of its own window in the microkernel's order: a block of the array
    computed by ``conv`` with that microkernel, its borders the block's own
    halo where the array goes on, gives the same bits (see
    :func:`pyconvx.dask.correlate`).
    """
    if kernel.ndim < 2 or kernel.ndim != len(whole_shape) or kernel.dtype.kind == "c":
        return None
    if any(taps < 2 for taps in kernel.shape):
        return None
    for size, (low, high) in zip(whole_shape, pads):
        limit = padding_limit(mode, size)
        if limit is not None and max(low, high) > limit:
            return None
    if _split_into_passes(kernel, dtype) is not None:
        return None
    groups = [[axis] for axis in range(kernel.ndim)]
    if mode == "constant" and value == 0:
        mode = "zeros"
    return _whole_microkernel(whole_shape, groups, False, kernel.shape, pads, mode,
                              value if mode == "constant" else 0.0, dtype)


def _split_into_passes(kernel: npt.NDArray[Any], dtype: np.dtype[Any]
                       ) -> list[npt.NDArray[Any]] | None:
    """The 1-D factors :func:`correlate_separable` runs ``kernel`` as, one per
    filtered axis in order; None when it runs the kernel whole."""
    taps = [size for size in kernel.shape if size > 1]
    if len(taps) < 2:
        return None
    if math.prod(taps) < SEPARABLE_ADVANTAGE * sum(taps) or tuple(taps) in UNROLLED_SQUARE:
        return None
    factors: list[npt.NDArray[Any]] | None = rank_one_factors(
        kernel_in(kernel, dtype).reshape(taps))
    return factors


def correlate_separable(x: npt.NDArray[Any], kernel: npt.NDArray[Any],
                        pads: Sequence[tuple[int, int]], mode: PaddingMode, value: float,
                        dtype: np.dtype[Any], threads: int) -> npt.NDArray[Any]:
    """:func:`correlate`, as 1-D passes when ``kernel`` is rank 1 and that is cheaper.

    The passes keep their partial results in ``dtype``.  With a
    ``"constant"`` border, a later pass's border holds ``value`` times the
    sums of the earlier factors: what the full kernel sums over a constant
    region.
    """
    factors = _split_into_passes(kernel, dtype)
    if factors is None:
        return correlate(x, kernel, pads, mode, value, dtype, threads)
    filtered = [axis for axis, taps in enumerate(kernel.shape) if taps > 1]
    passes: list[tuple[npt.NDArray[Any], list[tuple[int, int]], PaddingMode, float]] = []
    border = float(value)
    for axis, factor in zip(filtered, factors):
        shape = [1] * kernel.ndim
        shape[axis] = factor.size
        pass_pads = [(0, 0)] * kernel.ndim
        pass_pads[axis] = pads[axis]
        passes.append((factor.reshape(shape), pass_pads, mode, border))
        border *= float(np.sum(factor, dtype=np.float64))
    return correlate_passes(x, passes, dtype, threads)
