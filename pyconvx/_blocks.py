"""How a convolution splits into independent blocks along one spatial axis.

Pure integer arithmetic (no dask, no array data): ``pyconvx.dask`` asks
``split_axis`` how to cut each spatial axis of a chunked input, and each
block of the result is then computed by ordinary ``pyconvx.conv`` (or
``pyconvx.ndimage``) calls on its input chunk and the edges of its
neighbours, in bands (``bands``, ``conv_window``, ``filter_window``).

Along an axis of ``size`` input samples, with kernel reach ``ext = dilation *
(kernel - 1) + 1``, stride ``s`` and padding ``(lo, hi)``, output ``o`` reads
the padded input window ``[o*s - lo, o*s - lo + ext)``.  Output ``o`` is given
to the input chunk holding its *anchor* ``o*s - lo + a``, with ``a = lo``
clamped to ``[0, ext - s]``: every chunk boundary sits on an anchor (the chunk
starts are aligned to the stride), so a block's windows start exactly ``a``
samples before its chunk and end at most ``ext - s - a`` samples after it.
Those two numbers are the halo (the overlap depth) of the axis: together the
``ext - s`` samples two neighbouring windows share, split like the padding.

The first and the last block of an axis are the only ones whose windows
reach past the ends of the input, and they start (end) at the true edge, so
``conv`` pads them itself, with the call's own padding mode: the border
values are exactly those of the whole array, as long as the block holds the
samples the mode reads (``reflect``: one more than the padding,
``symmetric``: as many).  Chunk boundaries that would break a rule (a chunk
shorter than the halo it lends, an edge block too short for its mirror, an
output block of zero width) are dropped: their chunks merge with a
neighbour.  ``circular`` padding reads the far end of the axis, so a
chunked circular axis is padded with that periodic data before it is split
(``periodic_extension``) and then needs no padding of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["AxisSplit", "bands", "conv_window", "edge_need", "filter_window", "split_axis"]


@dataclass(frozen=True)
class AxisSplit:
    """One spatial axis of a convolution cut into blocks.

    Attributes
    ----------
    input_chunks : tuple of int
        The input chunk sizes (the given ones, merged where a rule needs it).
    depth : tuple of int
        The halo ``(left, right)``: samples a block borrows from each neighbour.
    output_chunks : tuple of int
        Outputs per block.
    windows : tuple of tuple of int
        Per block, ``(stop, pad_low, pad_high)``: the block's input is the
        first ``stop`` samples of its overlapped chunk, padded by
        ``(pad_low, pad_high)`` (nonzero only at the ends of the axis).
    """

    input_chunks: tuple[int, ...]
    depth: tuple[int, int]
    output_chunks: tuple[int, ...]
    windows: tuple[tuple[int, int, int], ...]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def split_axis(size: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int],
               padding_mode: str, chunks: Sequence[int], out_size: int,
               out_align: int = 1) -> AxisSplit:
    """Cut one axis: the input chunks to use, the halo, and every block's window.

    ``chunks`` are the input's chunk sizes along the axis; ``out_size`` the
    whole output's length; ``out_align`` a multiple every output block starts
    at (2 for Winograd, whose 2x2 output tiles must fall where the whole
    array's do).  ``padding_mode`` ``"circular"`` with padding and more than
    one chunk is the caller's to extend first (``periodic_extension``).
    """
    lo, hi = pads
    ext = dilation * (kernel - 1) + 1
    left = min(max(lo, 0), max(ext - stride, 0))
    right = max(ext - stride - left, 0)
    # samples the engine's one reflection needs beyond the padding, per mode
    mirror = {"reflect": 1, "symmetric": 0}.get(padding_mode)
    if padding_mode == "circular" and (lo or hi) and len(chunks) > 1:
        raise ValueError("a chunked circular axis must be extended with its periodic data "
                         "first (periodic_extension)")

    def anchor(o: int) -> int:   # input position of output o's anchor: a chunk boundary
        return o * stride - lo + left

    def first_block_fits(boundary: int) -> bool:   # the first block's input [0, u1) and its padding
        u1 = boundary - left - stride + ext
        need = 1 if mirror is None or lo == 0 else max(1, lo + mirror)
        return u1 >= need

    def last_block_fits(boundary: int) -> bool:    # the last block's input [boundary - left, size)
        length = size - (boundary - left)
        need = 1 if mirror is None or hi == 0 else max(1, hi + mirror)
        return length >= need

    candidates: list[int] = []
    start = 0
    for length in chunks[:-1]:
        start += length
        o = _ceil_div(start + lo - left, stride)
        o = _ceil_div(o, out_align) * out_align
        if 0 < o < out_size and 0 < anchor(o) < size and (
                not candidates or anchor(o) > candidates[-1]):
            candidates.append(anchor(o))
    # every chunk lends its neighbours their halo: none may be shorter (dask's rule)
    halo = max(left, right)
    kept: list[int] = []
    for boundary in candidates:
        if boundary - (kept[-1] if kept else 0) < halo:
            continue
        if not kept and not first_block_fits(boundary):
            continue
        kept.append(boundary)
    while kept and (size - kept[-1] < halo or not last_block_fits(kept[-1])):
        kept.pop()

    edges = [0, *kept, size]
    input_chunks = tuple(b - a for a, b in zip(edges, edges[1:]))
    out_edges = [0] + [(g + lo - left) // stride for g in kept] + [out_size]
    output_chunks = tuple(b - a for a, b in zip(out_edges, out_edges[1:]))
    windows: list[tuple[int, int, int]] = []
    last = len(kept)
    for j in range(last + 1):
        block_start = 0 if j == 0 else edges[j] - left
        if j == last:
            stop = size - block_start
        else:   # up to the end of the window of the block's last output
            stop = (out_edges[j + 1] - 1) * stride - lo + ext - block_start
        windows.append((stop, lo if j == 0 else 0, hi if j == last else 0))
    return AxisSplit(input_chunks, (left, right) if last else (0, 0), output_chunks,
                     tuple(windows))


def edge_need(mode: str, pad: int, size: int) -> int:
    """Input samples a border of ``pad`` in ``mode`` reads at an end of an axis of ``size``.

    A run of outputs that reaches past the end of the axis must hold that
    many samples from the end, so that the engine pads it as it pads the
    whole axis: ``reflect`` mirrors ``pad`` samples past the edge sample,
    ``symmetric`` ``pad`` samples, ``circular`` reads the far end (the whole
    axis), the other modes need one sample.
    """
    if pad == 0:
        return 0
    return {"reflect": pad + 1, "symmetric": pad, "circular": size}.get(mode, 1)


def conv_window(out_start: int, out_stop: int, stride: int, ext: int, low: int, size: int,
                need: tuple[int, int] = (1, 1), held: tuple[int, int] | None = None
                ) -> tuple[int, int, int, int, int]:
    """The input a run of outputs of a convolution reads along one axis.

    Outputs ``[out_start, out_stop)`` of an axis of ``size`` input samples
    padded by ``low`` in front (kernel reach ``ext``, ``stride``).  Returns
    ``(start, stop, pad_low, pad_high, skip)``: a convolution of the inputs
    ``[start, stop)`` padded by ``(pad_low, pad_high)`` gives the wanted
    outputs from its output ``skip`` on.  At an end of the axis the run holds
    ``need`` (``edge_need`` of each end) samples, within ``held`` (the
    ``(start, stop)`` of the inputs at hand; default the whole axis): beyond
    the last sample, by starting whole outputs earlier.
    """
    held_start, held_stop = (0, size) if held is None else held
    first = out_start * stride - low
    last = (out_stop - 1) * stride - low + ext
    skip = 0
    if last > size:
        wanted = max(size - need[1], held_start)
        if first > wanted:
            skip = -(-(first - wanted) // stride)
            first -= skip * stride
    pad_low, pad_high = max(-first, 0), max(last - size, 0)
    start, stop = max(first, 0), min(last, size)
    if pad_low:
        stop = max(stop, min(need[0], held_stop))
    return start, stop, pad_low, pad_high, skip


def filter_window(out_start: int, out_stop: int, low: int, high: int, held: tuple[int, int],
                  size: int, need: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """The input a run of outputs of a same-size filter reads along one axis.

    Output ``i`` reads inputs ``[i - low, i + high]``; the block holds the
    inputs ``held = (start, stop)`` (global coordinates, past the ends of
    the axis when its data is periodic).  Returns ``(start, stop)``: a filter
    run on those inputs pads where they end, and its outputs ``[out_start -
    start, out_stop - start)`` are the ones wanted.  A run at an end of the
    axis holds ``need`` (``edge_need``) samples from it.
    """
    held_start, held_stop = held
    start, stop = max(out_start - low, held_start), min(out_stop + high, held_stop)
    if start == 0 and need[0]:
        stop = max(stop, min(need[0], held_stop))
    if stop == size and need[1]:
        start = min(start, max(size - need[1], held_start))
    return start, stop


def bands(length: int, reach: int, align: int = 1) -> list[tuple[int, int]]:
    """Cut ``length`` outputs into runs (bands) computed one after the other.

    A band re-reads ``reach`` inputs besides its own, so bands are at least
    ``8 * reach`` long (at most an eighth of re-read work), and about an
    eighth of ``length``: a block's working memory beyond its input and
    output is then about an eighth of a block.  Every band but the last
    has a multiple of ``align`` outputs.
    """
    step = max(-(-length // 8), 8 * reach, 1)
    step = -(-step // align) * align
    return [(start, min(start + step, length)) for start in range(0, length, step)]
