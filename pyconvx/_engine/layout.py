"""Memory layouts of the direct engine: the input band and the per-thread scratch.

The single home of this arithmetic: the planner calls these functions and
stores their results in the plan record; the compiled engine only adds the
record's offsets to its pointers.

The band
--------
For one output box, the input region the box reads is copied into a band
buffer, padded by the padding mode and, for strides above one, split into
*phase planes* (one per combination of residues ``(tap * dilation) % stride``
the taps use), so that every kernel tap reads NR contiguous values for NR
consecutive output positions.  A plane is ``ext`` values per dim, row-major
with ``pitch``; planes start on multiples of ``PLANE_ALIGN`` elements.

The gemm tile computes every position of pitch space, the border columns of
each row too (their sums are thrown away).  Where a 2-d band's rows begin and
end in border columns that hold one fill value (a zero or constant border
around whole rows, stride 1 along them), consecutive rows may *share* them:
row ``r + 1`` starts ``shared`` columns before row ``r`` ends, so its leading
border columns are row ``r``'s trailing ones, and every row costs ``shared``
fewer wasted columns (``shared_border_columns`` decides how many).  Every tap
still reads the values it reads in the unshared layout.

The scratch
-----------
Each thread owns one block: the band's cache key, the band, the scratch tiles,
the index area (box origin and extent, tile multi-indices, the band builder's
odometer and runs, the per-dim index maps), for Winograd its transformed input
(V) and product (M) planes, and a stage where the depthwise and Winograd paths
write an output box before copying it to an output whose rows are not
unit-stride (channels-last).  Every part starts on a 64-byte boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ..shapes import ConvGeometry

__all__ = [
    "PLANE_ALIGN",
    "SCRATCH_ALIGN",
    "band_layout",
    "batch_folded",
    "batch_folded_view",
    "phase_residues",
    "scratch_layout",
    "shared_border_columns",
    "tap_offsets",
]

#: Band channel planes start on multiples of this many elements (64 bytes or
#: more), so every channel's rows sit at the same cache-line offset.
PLANE_ALIGN = 16

#: Alignment of every part of a thread's scratch block, in bytes.
SCRATCH_ALIGN = 64


def phase_residues(kernel: Sequence[int], stride: Sequence[int],
                   dilation: Sequence[int]) -> list[list[int]]:
    """Per dim, the sorted phase residues ``(t * dilation) % stride`` the taps use.

    The taps' residues are the multiples of gcd(dilation, stride) in the order
    they come, periodic with stride / gcd taps: at most ``stride`` of them to
    look at, however long the kernel.
    """
    residues = []
    for k, s, d in zip(kernel, stride, dilation):
        period = s // math.gcd(d, s)
        residues.append(sorted({(t * d) % s for t in range(min(k, period))}))
    return residues


def band_layout(box: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                dilation: Sequence[int], shared: int = 0) -> tuple[list[int], list[int], int]:
    """Band plane extents, pitches and aligned plane size for an output box.

    ``shared``: border columns consecutive rows of a 2-d band share (see the
    module's text and ``shared_border_columns``); the rows are then
    ``ext[1] - shared`` apart.
    """
    ext = [b + ((k - 1) * d) // s for b, k, s, d in zip(box, kernel, stride, dilation)]
    if shared and (len(ext) != 2 or not 0 < shared < ext[1]):
        raise ValueError(f"shared border columns need a 2-d band wider than them: "
                         f"shared={shared}, ext={ext}")
    pitch = [1] * len(ext)
    for i in range(len(ext) - 2, -1, -1):
        pitch[i] = pitch[i + 1] * ext[i + 1]
    if shared:
        pitch[0] = ext[1] - shared
    span = sum((e - 1) * p for e, p in zip(ext, pitch)) + 1
    plane = -(-span // PLANE_ALIGN) * PLANE_ALIGN
    return ext, pitch, plane


def shared_border_columns(out_width: int, box_width: int, kernel_width: int,
                          stride: Sequence[int], dilation_width: int,
                          pads: tuple[int, int], fill_border: bool) -> int:
    """Border columns the rows of a 2-d band can share (0: none).

    The band's rows must span the whole output row (``box_width ==
    out_width``) at stride 1 along it, with a border of one fill value
    (``fill_border``: zeros or a constant).  Row r's trailing border (the high
    padding) then overlaps row r + 1's leading border (the low padding) by as
    many columns as both have; never more than the kernel's reach, so that a
    row's outputs stay apart from the next row's.
    """
    if len(stride) != 2 or stride[1] != 1 or box_width != out_width or not fill_border:
        return 0
    lo, hi = pads
    return max(0, min(lo, hi, (kernel_width - 1) * dilation_width))


def tap_offsets(geometry: ConvGeometry, residues: Sequence[Sequence[int]],
                pitch: Sequence[int], plane: int,
                reverse_taps: bool = False) -> tuple[npt.NDArray[np.int64], int]:
    """Offset into the band of every reduction index k = (input channel, tap).

    With ``reverse_taps``, tap t of every channel reads where tap taps-1-t
    would (true convolution with the weights read in place).  Returns the
    offsets and the number of phase planes per channel.
    """
    n_phase = math.prod(len(r) for r in residues)
    offsets = np.zeros((1,), dtype=np.int64)
    phase_index = np.zeros((1,), dtype=np.int64)
    for k, s, d, res, p in zip(geometry.kernel, geometry.stride, geometry.dilation, residues,
                               pitch):
        reach = np.arange(k, dtype=np.int64) * d
        lookup = {r: i for i, r in enumerate(res)}
        residue_index = np.array([lookup[int(v)] for v in reach % s], dtype=np.int64)
        offsets = (offsets[:, None] + (reach // s)[None, :] * p).ravel()
        phase_index = (phase_index[:, None] * len(res) + residue_index[None, :]).ravel()
    per_tap = phase_index * plane + offsets
    if reverse_taps:
        per_tap = per_tap[::-1]
    channels = np.arange(geometry.in_per_group, dtype=np.int64) * (n_phase * plane)
    return (channels[:, None] + per_tap[None, :]).ravel(), n_phase


def _aligned(nbytes: int) -> int:
    return -(-nbytes // SCRATCH_ALIGN) * SCRATCH_ALIGN


def scratch_layout(*, ndim: int, residues: Sequence[Sequence[int]], ext: Sequence[int],
                   band_bytes: int, tile_bytes: int, winograd_v_bytes: int = 0,
                   winograd_m_bytes: int = 0, stage_bytes: int = 0) -> dict[str, int]:
    """The per-thread scratch block: byte offsets of its parts and the index area.

    Returns a dict with the fields of ``ScratchLayout`` (contract.pxd): byte
    offsets ``band``, ``tile``, ``index``, ``winograd_v``, ``winograd_m``,
    ``stage`` and ``bytes_per_thread``; int64 element offsets inside the index
    area.
    """
    n_runs = len(residues[-1])
    index: dict[str, int] = {}
    position = 0
    # box origin and extent, two tile multi-indices, the band odometer, the
    # residue index and table base per dim: ndim entries each
    for name in ("origin", "blen", "o", "o0", "counter", "res_idx", "tab_base"):
        index[name] = position
        position += ndim
    # the innermost dim's in-range runs: one entry per residue
    for name in ("run_lo", "run_hi", "run_src"):
        index[name] = position
        position += n_runs
    index["table"] = position
    position += sum(len(r) * e for r, e in zip(residues, ext))
    band = SCRATCH_ALIGN   # after the band's cache key and the count of units run
    tile = band + _aligned(band_bytes)
    index_start = tile + _aligned(tile_bytes)
    winograd_v = index_start + _aligned(8 * position)
    winograd_m = winograd_v + _aligned(winograd_v_bytes)
    stage = winograd_m + _aligned(winograd_m_bytes)
    total = stage + _aligned(stage_bytes)
    return {"band": band, "tile": tile, "index": index_start, "winograd_v": winograd_v,
            "winograd_m": winograd_m, "stage": stage, "bytes_per_thread": total,
            "index_elems": position, **index}


def batch_folded(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The images of a batched 2-d ``x`` ``(N, C, H, W)`` folded into the rows
    of one image: a C-contiguous ``(1, C, N, H * W)`` copy (a plan's
    ``batch_fold``).

    Examples
    --------
    >>> import numpy as np
    >>> batch_folded(np.arange(8.0).reshape(2, 2, 1, 2))[0]
    array([[[0., 1.],
            [4., 5.]],
    <BLANKLINE>
           [[2., 3.],
            [6., 7.]]])
    """
    n, c, h, w = x.shape
    folded = np.empty((1, c, n, h * w), dtype=x.dtype)
    np.copyto(folded.reshape(c, n, h, w), x.transpose(1, 0, 2, 3))
    return folded


def batch_folded_view(out: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The ``(1, C_out, N, H * W)`` view of a batched 2-d output ``(N, C_out, H,
    W)`` whose planes' rows follow one another (a plan's ``batch_fold``
    writes through it).

    Examples
    --------
    >>> import numpy as np
    >>> out = np.zeros((2, 3, 1, 2))
    >>> batch_folded_view(out)[0, 1, 1] = 7
    >>> out[1, 1, 0]
    array([7., 7.])
    """
    n, c, h, w = out.shape
    s = out.strides
    if s[2] != w * s[3]:
        raise ValueError("batch_folded_view needs rows that follow one another in each plane")
    return np.lib.stride_tricks.as_strided(out, (1, c, n, h * w), (n * s[0], s[1], s[0], s[3]))
