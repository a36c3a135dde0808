"""The plan: which algorithm runs a convolution, how it is tiled, what it costs.

One place decides.  ``make_plan`` takes a validated ``ConvGeometry`` and
returns a ``Plan``: the algorithm and the reason for it, the microkernel and
its tile, the workspace in bytes, the FLOPs, and, for the direct engine, the
frozen ``DirectPlan`` record the compiled code reads (built here and nowhere
else).  The decision depends on the problem's shape, dtype and SIMD level,
never on the thread count, so results are bitwise identical for every thread
count (threads only change how the same work units are spread).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from .._boundary import PADDING_MODES
from .._normalize import as_array, check_choice, check_memory, resolve_threads, result_dtype
from .._typing import Algorithm, DataFormat, IntArg, IntTuple, PaddingArg, PaddingMode, RealNumber
from ..shapes import ConvGeometry, describe_conv
from . import dispatch, layout
from .contract import DirectPlan, Kind, ukernel_set_tiles

__all__ = ["ALGORITHMS", "Plan", "cached_plan", "make_plan", "plan"]

#: Values accepted by ``algorithm=``.  "auto" lets the plan choose among the
#: direct-summation microkernels, whose error bound is per output (see
#: ERROR_BOUNDS); "direct" is the same choice, named.  "fast" also lets it take
#: Winograd F(2x2,3x3) where that is faster (a tile-wide error bound: opt in).
#: "gemm", "cgemm", "row", "rowblock" and "depthwise" force one microkernel of the
#: direct engine ("rowblock" and "depthwise" refuse problems outside their reach, with
#: a ValueError); "winograd" forces F(2x2,3x3); "fft" is numpy.fft.
ALGORITHMS = ("auto", "fast", "direct", "gemm", "cgemm", "row", "rowblock", "depthwise",
              "winograd", "fft")

#: The rounding bound each algorithm keeps, as ``Plan.error_bound`` names it.
#: K is the number of products an output sums (C_in/groups * taps) plus one
#: for the bias, eps the dtype's machine epsilon (2**-23, 2**-52).
ERROR_BOUNDS = {
    "elementwise": ("|error| <= K * eps * sum(|w| |x|) over the output's own window "
                    "(plus |bias|): direct summation with one fused multiply-add per "
                    "product; a NaN or Inf reaches exactly the outputs whose window "
                    "holds it"),
    "tile": ("|error| <= c * K * eps * sum(|w| |x|) over the whole 4x4 input tile of the "
             "output's 2x2 Winograd tile (c about 4-16): large values next to the "
             "window cancel small ones; a NaN or Inf spreads to the whole 2x2 tile (Inf can "
             "become NaN)"),
    "global": ("|error| <= c * eps * log2(n) * max|x| * sum|w| over the whole array: the "
               "FFT's rounding; one NaN or Inf turns every output NaN (a RuntimeWarning "
               "says so)"),
}

#: Input bytes (padded planes) one depthwise work unit aims for: several whole
#: channel planes per unit keep the per-unit bookkeeping small.
DEPTHWISE_UNIT_BYTES = 64 * 1024

#: Fewest depthwise work units a problem is split into when it has the
#: channels (or rows) for it, whatever the thread count.
DEPTHWISE_MIN_UNITS = 32

#: Depthwise layers with at least this stride along the rows run on lanes (VL
#: channels side by side; see ``_depthwise_lanes``) ...
DEPTHWISE_LANES_MIN_STRIDE = 2

#: ... when the padded planes of VL channels fit in this many bytes (the band
#: of one unit, kept in the L2 cache).
DEPTHWISE_LANES_BAND_BYTES = 256 * 1024

#: Winograd's V and M buffers and band per thread aim for this (about the L2
#: cache), by element size: float64 boxes of the same byte size hold half the
#: tiles, too few to amortise the band's halo (measured: 1.5 MiB is best for
#: float32, 2.5 MiB for float64).
WINOGRAD_TARGET_BYTES = {4: 1536 * 1024, 8: 2560 * 1024}

#: 'fast' takes Winograd only when at most this share of its GEMM columns is
#: padding (few tiles per box, as with many channels on small images, lose).
WINOGRAD_MAX_WASTE = 0.25

#: ... and when the images of a call hold at least this many 2x2 tiles: the
#: transformed weights (16/9 the size of the weights) are built on every call,
#: and fewer tiles do not pay for them (measured, AVX-512, 256->256 3x3 at
#: 14x14: N=1, 49 tiles, 2.0x the direct time; N=4, 196 tiles, 0.87x).
WINOGRAD_MIN_TILES = 128

#: Per-thread band buffer the tiler aims for (fits the L2 cache).
BAND_TARGET_BYTES = 512 * 1024

#: The gemm kernel's band may take this many times BAND_TARGET_BYTES: its tiles
#: read the band kc rows at a time, and a larger box reads the weights (from
#: the L3 cache, one block of panels per box) and copies the band's halo rows
#: fewer times per output.
GEMM_BAND_SCALE = 2

#: The weights of one block of panels, which every tile of a box reads again,
#: aim for this part of the L2 cache (beside the band): larger weights are split
#: into more blocks of output channels (measured, one thread: 512->512 3x3 at
#: 14x14 and 28x28, N=8, 5-10% faster).  In-place pointwise layers, whose rows
#: of x each block reads again, are split only when all their weights exceed
#: INPLACE_WEIGHT_BLOCK_BYTES.
WEIGHT_BLOCK_TARGET_BYTES = 512 * 1024

#: Above this size the weights of an in-place pointwise layer no longer stay
#: in the L2 cache from one tile to the next, and re-reading them for every
#: tile costs more than re-reading x once per block of output channels
#: (measured on an AVX-512 Xeon, 2 threads, N=8, blocked / whole time:
#: 1024->512 at 14x14 0.89-0.91, 2048->1024 at 14x14 0.89, 1024->1024 at 7x7
#: 0.88, 2048->512 at 7x7 0.98-1.02; at N=1, 0.94-1.00).
INPLACE_WEIGHT_BLOCK_BYTES = 1 * 2**20

#: In-place boxes of rows are split only into boxes whose last tile leaves at
#: most this share of their columns empty.
INPLACE_BOX_MAX_WASTE = 0.05

#: The GEMM tiles' reduction runs in blocks whose band rows (kc x NR values)
#: fit this part of the L1 data cache, so every panel of a block reuses them.
KC_TARGET_BYTES = 24 * 1024

#: The channel tile's reduction runs in blocks whose packed weights (kc rows
#: of NR channels) fit this part of the L1 data cache, so every tile of a box
#: reuses them.
CGEMM_KC_TARGET_BYTES = 32 * 1024

#: The channel tile's sums of one box (its positions x the block's channels)
#: stay below this size, in the L2 cache beside the band.
CGEMM_TILES_TARGET_BYTES = 512 * 1024

#: Ceiling of the scratch memory of one call, whatever the batch size.  On top
#: of it the direct engine keeps the weights it repacks (Winograd's transforms,
#: the taps of one-channel kernels, a short last panel of the gemm kernel).
WORKSPACE_LIMIT_BYTES = 64 * 2**20

#: FLOPs of the calling thread's work units between two of its checks for Ctrl-C.
CHUNK_FLOPS = 2e9

#: A call wakes a thread beyond the first only for at least this much work
#: per thread (see ``threads_worth_waking``), in float32 FLOPs, every byte of
#: x, the weights and the result counting WORK_FLOPS_PER_BYTE.  A sleeping
#: OpenMP thread takes tens of microseconds to wake (hundreds under a busy
#: hypervisor), and the call waits for it even when the calling thread has
#: done all the work.  Measured (AMD Zen 5 under KVM, AVX-512, one image,
#: calls 0.3 ms apart, median time on 1 / 2 threads): MobileNetV2's layers of
#: 5-30 units of work (millions) 0.64-0.95 (its 1x1 192->64 at 14x14 53 vs
#: 82 us), of 37-39 0.84-0.85, of 42-44 1.04-1.25; 1x1 256->256 at 14x14
#: (26) 0.81-1.04, at 20x20 (52) 1.10-1.29; 3x3 64->64 at 20x20 (29) 1.00-1.12.
PARALLEL_MIN_WORK = 20e6
WORK_FLOPS_PER_BYTE = 10


@dataclass(frozen=True)
class Plan:
    """How pyconvx will compute one convolution (see :func:`pyconvx.plan`).

    Attributes
    ----------
    algorithm : str
        ``"direct"`` (register-blocked direct convolution over a padded,
        phase-split input band), ``"winograd"`` (F(2x2,3x3) transforms around
        the same engine's GEMM microkernel) or ``"fft"``.
    reason : str
        Why this algorithm was chosen.
    microkernel : str or None
        The SIMD microkernel that runs the inner loop: ``"gemm"`` (MR output
        channels x NR positions), ``"row"`` (one output channel x NR
        positions), ``"rowblock"`` (MB output rows of one channel), or
        ``"depthwise"`` (2-d, one channel per group: units of several whole
        channel planes, output rows written in place, or, strided along the
        rows and with a vector's worth of channels, units of that many
        channels side by side in the vector lanes; "auto" picks it for
        every such problem except kernels other than 3x3, 5x5 and 7x7 at
        stride 1 on rows wide enough for ``rowblock``).  Winograd runs its
        GEMMs on ``"gemm"``.  None for ``"fft"``.
    tile : tuple of int or None
        The microkernel's register tile, ``(rows, columns)``: output
        channels (or output rows) by output positions; for depthwise on
        lanes, output positions by channels.  None for ``"fft"``.
    simd : str or None
        The instruction set the microkernel was compiled for (``"avx512"``,
        ``"avx2"`` or ``"generic"``).  None for ``"fft"``.
    box : tuple of int or None
        The output box one work unit computes, per spatial dim.  None for
        ``"fft"``.
    dtype : str
        The compute dtype.
    threads : int
        Threads the call uses.
    workspace_bytes : int
        Extra memory beyond input and output (packed weights and scratch).
    flops : int
        2 * multiply-adds of the convolution.
    work_units : int
        Independent work units the threads share.
    geometry : ConvGeometry
        The validated problem.
    error_bound : {"elementwise", "tile", "global"}
        The rounding bound the algorithm keeps (``ERROR_BOUNDS`` states each):
        ``"elementwise"`` for direct summation (every "auto" plan),
        ``"tile"`` for Winograd, ``"global"`` for the FFT.
    records : tuple of DirectPlan
        The frozen records the compiled engine runs, in order: one, or one
        per reduction block when one output's window is too large for a
        single band (empty for ``"fft"``).
    batch_fold : bool
        The images are folded into the rows of one image (a pointwise layer
        on small images, see ``fold_batch``): the records compute on x copied
        to ``(1, C_in, N, H * W)`` and write the output through its
        ``(1, C_out, N, H * W)`` view.

    Examples
    --------
    >>> import pyconvx
    >>> p = pyconvx.plan((1, 1, 2048, 2048), (1, 1, 7, 7), padding="same")
    >>> p.algorithm, p.microkernel
    ('direct', 'depthwise')
    >>> p.workspace_bytes < 64 * 2**20
    True
    """

    algorithm: Literal["direct", "winograd", "fft"]
    reason: str
    microkernel: str | None
    tile: tuple[int, int] | None
    simd: str | None
    box: tuple[int, ...] | None
    dtype: str
    threads: int
    workspace_bytes: int
    flops: int
    work_units: int
    geometry: ConvGeometry
    error_bound: Literal["elementwise", "tile", "global"]
    records: tuple[DirectPlan, ...] = field(repr=False, compare=False, default=())
    batch_fold: bool = field(repr=False, compare=False, default=False)

    def __str__(self) -> str:
        g = self.geometry
        return "\n".join([
            f"pyconvx plan: {self.algorithm} ({self.reason})",
            f"  problem   : x {(g.batch, g.in_channels) + g.in_spatial} * weight {g.weight_shape}"
            f" -> {g.out_shape}, groups={g.groups}, stride={g.stride}, dilation={g.dilation},"
            f" pads={g.pads}, padding_mode={g.padding_mode!r}"
            + (f", padding_value={g.padding_value!r}" if g.padding_mode == "constant" else ""),
            f"  kernel    : {self._describe_microkernel()}",
            f"  dtype     : {self.dtype}, threads: {self.threads}, work units: {self.work_units}",
            f"  workspace : {self.workspace_bytes} bytes",
            f"  rounding  : {self.error_bound} bound",
            f"  FLOPs     : {self.flops} ({self.flops / 1e9:.3g} GFLOP)",
        ])

    def _describe_microkernel(self) -> str:
        if self.microkernel is None or self.tile is None:
            return "numpy.fft (pocketfft)"
        rows, cols = self.tile
        return f"{self.microkernel} {rows}x{cols} ({self.simd}), output box {self.box}"


def _rowblock_refusal(geometry: ConvGeometry) -> str | None:
    """Why the rowblock microkernel cannot take this problem, or None if it can."""
    if geometry.ndim != 2:
        return f"it is 2-d only (this problem has {geometry.ndim} spatial dims)"
    if geometry.in_per_group != 1 or geometry.out_per_group != 1:
        return ("it needs one input and one output channel per group (this problem has "
                f"{geometry.in_per_group} and {geometry.out_per_group})")
    if geometry.stride[0] != 1 or geometry.dilation[0] != 1:
        return (f"it needs stride and dilation 1 along the rows (got stride "
                f"{geometry.stride[0]}, dilation {geometry.dilation[0]})")
    return None


def _depthwise_refusal(geometry: ConvGeometry) -> str | None:
    """Why the depthwise microkernel cannot take this problem, or None if it can."""
    if geometry.ndim != 2:
        return f"it is 2-d only (this problem has {geometry.ndim} spatial dims)"
    if geometry.in_per_group != 1 or geometry.out_per_group != 1:
        return ("it needs one input and one output channel per group (this problem has "
                f"{geometry.in_per_group} and {geometry.out_per_group})")
    return None


def _winograd_refusal(geometry: ConvGeometry) -> str | None:
    """Why Winograd F(2x2, 3x3) cannot take this problem, or None if it can."""
    if geometry.ndim != 2 or geometry.kernel != (3, 3):
        return f"it needs a 2-d 3x3 kernel (got kernel {geometry.kernel})"
    if geometry.stride != (1, 1) or geometry.dilation != (1, 1):
        return (f"it needs stride 1 and dilation 1 (got stride {geometry.stride}, "
                f"dilation {geometry.dilation})")
    return None


#: The most row counts Winograd's box choice compares.
WINOGRAD_ROW_CHOICES = 4096


def _winograd_box(geometry: ConvGeometry, mr: int, nr: int, esize: int) -> list[int]:
    """Winograd's output box: whole 2x2 tiles, as many tile rows as let the band,
    V (all input channels) and M (all output panels) fit WINOGRAD_TARGET_BYTES;
    among those row counts, the one whose tiles fill whole NR-wide GEMM tiles
    best (ties: more rows).  Boxes are full width unless one tile row of the
    whole width is over the target: then one tile row, in columns of whole
    GEMM tiles (at least one), as even as the width allows."""
    # sized as for one channel and one panel at least: a problem without
    # channels still walks its boxes, and their tables follow the box
    cin_g = max(geometry.in_per_group, 1)
    n_panels = max(-(-geometry.out_per_group // mr), 1)
    target = WINOGRAD_TARGET_BYTES[esize]

    def nbytes(rows: int, width: int) -> int:
        tiles = rows * (width // 2)
        return (cin_g * (2 * rows + 2) * (width + 2)
                + 16 * (cin_g + n_panels * mr) * (-(-tiles // nr) * nr)) * esize

    def most_that_fit(high: int, size: Callable[[int], int]) -> int:
        """The largest n in [1, high] with size(n) <= target, else 1 (size grows
        with n): by bisection, for images of billions of rows."""
        if size(high) <= target:
            return high
        fits, too_many = 1, high
        while too_many - fits > 1:
            middle = (fits + too_many) // 2
            if size(middle) <= target:
                fits = middle
            else:
                too_many = middle
        return fits

    row_tiles = -(-geometry.out_spatial[1] // 2)
    if nbytes(1, 2 * row_tiles) > target:
        tiles = max(nr, most_that_fit(row_tiles, lambda t: nbytes(1, 2 * t)) // nr * nr)
        per_box = -(-row_tiles // -(-row_tiles // tiles))   # as even as the boxes allow
        return [2, 2 * min(-(-per_box // nr) * nr, row_tiles)]
    width = 2 * row_tiles
    rows_max = most_that_fit(-(-geometry.out_spatial[0] // 2), lambda rows: nbytes(rows, width))
    # among the upper half of the row counts (at most WINOGRAD_ROW_CHOICES of
    # them: an image of billions of rows without channels fits whole)
    low = max(1, rows_max // 2, rows_max - WINOGRAD_ROW_CHOICES)
    best_rows = min(range(low, rows_max + 1),
                    key=lambda rows: (round(_winograd_waste(rows * (width // 2), nr), 3), -rows))
    return [2 * best_rows, width]


def _winograd_waste(tiles: int, nr: int) -> float:
    """Share of the GEMMs' NR-wide columns that are padding for this many tiles."""
    return (-(-tiles // nr) * nr - tiles) / (-(-tiles // nr) * nr)


#: Why each algorithm that takes only some problems cannot take this one (None if it can).
_REFUSALS: dict[str, Callable[[ConvGeometry], str | None]] = {
    "depthwise": _depthwise_refusal, "winograd": _winograd_refusal,
    "rowblock": _rowblock_refusal}


def check_forced_algorithm(geometry: ConvGeometry, algorithm: str) -> None:
    """ValueError when ``algorithm`` was asked for and cannot take this problem.

    The planner's rule; ``conv`` also applies it to the problems it computes
    without a plan (an empty output, an empty sum).
    """
    refusal = _REFUSALS.get(algorithm)
    why = refusal(geometry) if refusal is not None else None
    if why:
        raise ValueError(f"algorithm={algorithm!r} cannot take this problem: {why}")


def _choose_microkernel(level: int, dtype: np.dtype[Any], geometry: ConvGeometry,
                        forced: str | None = None, scattered: bool = False
                        ) -> tuple[Kind, tuple[int, int]]:
    """The kind of work (a ``Kind``) and its tile ``(rows, cols)`` for this problem.

    * depthwise: 2-d, one input and one output channel per group, any stride and
      dilation: units of several whole channel planes (or boxes of large
      ones), output rows written in place, MB rows x two vectors per pass
      (3x3, 5x5, 7x7 at stride 1 unrolled, each input load shared by the rows);
    * rowblock: the same problems with other kernels on rows wide enough for
      two tiles: MB output rows share every input load;
    * row: few output channels per group: one-row tiles over wide pixel runs;
    * gemm: MR output channels x NR pixels;
    * cgemm: MR pixels x NR output channels, where the gemm tile would compute
      many positions in vain or scatter its outputs (``scattered``: the
      output's rows are not unit-stride; see ``_channel_tile_pays``);
    * winograd: 3x3 stride-1 layers with enough channels, on the gemm tile.
    """
    tiles = cast(dict[str, Any], ukernel_set_tiles(level))[dtype.name]
    gemm_mr, gemm_nr = tiles["gemm"]
    rowblock = (Kind.ROWBLOCK, tiles["rowblock"])
    row = (Kind.ROW, tiles["row"])
    gemm = (Kind.GEMM, tiles["gemm"])
    winograd = (Kind.WINOGRAD, tiles["gemm"])
    depthwise = (Kind.DEPTHWISE, (1, tiles["depthwise"][1]))
    cgemm = (Kind.CGEMM, tiles["cgemm"])
    choices = {"depthwise": depthwise, "winograd": winograd, "rowblock": rowblock,
               "cgemm": cgemm}
    if forced in choices:
        check_forced_algorithm(geometry, forced)
        return choices[forced]
    if forced in ("row", "gemm"):
        return row if forced == "row" else gemm
    if _depthwise_refusal(geometry) is None:
        # Measured (AVX-512, AVX2, generic): the depthwise kernel's unrolled 3x3,
        # 5x5 and 7x7 stride-1 path beats rowblock even on one wide channel;
        # rowblock stays ahead for other kernels on wide rows.
        # The lanes layout (strided rows, see _depthwise_lanes) beats both.
        unrolled = (geometry.kernel[0] == geometry.kernel[1] in (3, 5, 7)
                    and geometry.stride == (1, 1) and geometry.dilation == (1, 1))
        lanes = _depthwise_lanes(geometry, tiles["depthwise"][1], dtype.itemsize)
        if (not unrolled and not lanes and _rowblock_refusal(geometry) is None
                and geometry.kernel[0] > 1
                and geometry.out_spatial[1] >= 2 * tiles["rowblock"][1]):
            return rowblock
        return depthwise
    if geometry.out_per_group * 2 <= gemm_mr:
        return row
    # 2.25x fewer multiplies; the GEMMs need enough channels on both sides.
    # Only on request: its error bound is the 4x4 input tile's, not the window's.
    if (forced == "fast" and _winograd_refusal(geometry) is None
            and geometry.in_per_group >= 16 and geometry.out_per_group >= 16):
        box = _winograd_box(geometry, gemm_mr, gemm_nr, dtype.itemsize)
        tile_count = (box[0] // 2) * (box[1] // 2)
        all_tiles = geometry.batch * math.prod(-(-o // 2) for o in geometry.out_spatial)
        if (_winograd_waste(tile_count, gemm_nr) <= WINOGRAD_MAX_WASTE
                and all_tiles >= WINOGRAD_MIN_TILES):
            return winograd
    if _channel_tile_pays(level, geometry, gemm_nr, tiles["cgemm"], scattered, dtype.itemsize):
        return cgemm
    return gemm


#: The channel tile is chosen where the gemm tile would leave at least this
#: share of its columns empty (the band's border columns, a run of positions
#: rounded up to whole vectors) more than the channel tile's own costs: its
#: packed weights, about CGEMM_PACK_POSITIONS positions' worth of the work
#: (over N x the output's positions); its stores, scattered across the output
#: planes, about CGEMM_STORE_PRODUCTS products' worth (over the reduction
#: length); and output channels rounded up to NR.  Measured on AVX-512 (Zen 5),
#: 2 threads, N=8, cgemm / gemm time: 3x3 512->512 at 7x7 0.94, at 14x14 0.92,
#: at 28x28 0.95; 256->256 at 14x14 0.94, at 28x28 0.97; 128->128 at 28x28
#: 1.01; 1x1 2048->512 at 7x7 0.84, 960->320 0.94, 1024->256 at 14x14 1.01;
#: N=1, 512->512 at 7x7 1.44, at 14x14 1.04.
CGEMM_MIN_GAIN = 0.03
CGEMM_PACK_POSITIONS = 30
CGEMM_STORE_PRODUCTS = 120

#: Where the output's rows are not unit-stride (channels-last), the gemm
#: tile scatters every output while the channel tile writes a position's
#: channels in one run (and transposes nothing): that much more gain, and no
#: store cost.  Measured, channels-last, cgemm / gemm time: AVX-512 (2
#: threads, interleaved), N=8, 3x3 64->64 at 56x56 0.80-0.92, 1x1 64->64
#: 0.43-0.71, 64->256 0.52-0.75, 256->64 0.47-0.93, 7x7 stride 2 3->64 at
#: 224x224 0.68-0.74; N=1, 3x3 64->64 at 56x56 0.33-0.64, 256->256 at 14x14
#: 0.89; AVX2 (one thread, best CPU time) 0.55-1.00 on the same layers.
CGEMM_SCATTER_GAIN = 0.25

#: ... on the microkernel sets where it was measured to pay.  With AVX2 (its
#: 4 x 24 tile, 12 accumulators) it pays on channels-last outputs and on
#: layers of several taps, not on channels-first pointwise ones: one thread,
#: best CPU time, cgemm / gemm: 3x3 512->512 at 7x7, N=8 0.91, 256->256 at
#: 14x14 0.96, 512->512 at 28x28 0.97; 1x1 2048->512 at 7x7 0.96, 960->320
#: 1.07, 1024->256 at 14x14 1.11; channels-last 1x1 64->64 at 56x56 0.55,
#: 3x3 512->512 at 7x7 0.83, 64->64 at 56x56 0.96.
CGEMM_LEVELS = (dispatch.LEVEL_NAMES.index("avx2"), dispatch.LEVEL_NAMES.index("avx512"))
CGEMM_POINTWISE_LEVELS = (dispatch.LEVEL_NAMES.index("avx512"),)


def _shared_border(geometry: ConvGeometry, box: Sequence[int], x_rows_contiguous: bool) -> int:
    """Border columns the rows of a gemm-tile band share (``layout``'s
    ``shared_border_columns``), where the band builder copies whole rows
    (one phase, rows unit-stride in x)."""
    if geometry.ndim != 2 or not x_rows_contiguous or any(
            len(r) != 1 for r in layout.phase_residues(geometry.kernel, geometry.stride,
                                                       geometry.dilation)):
        return 0
    fill = geometry.mode_code in (PADDING_MODES.index("zeros"), PADDING_MODES.index("constant"))
    return layout.shared_border_columns(geometry.out_spatial[1], box[1], geometry.kernel[1],
                                        geometry.stride, geometry.dilation[1],
                                        geometry.pads[1], fill)


def _gemm_waste(geometry: ConvGeometry, nr: int) -> float:
    """Share of the gemm tile's columns that compute no output, for a box of the
    whole output: the band's border columns in pitch space (fewer where its
    rows share them), and the last tile's columns past the end (for a
    pointwise layer, the run of positions rounded up to whole tiles)."""
    out = geometry.out_spatial
    if math.prod(out) == 0:
        return 0.0
    if all(k == 1 for k in geometry.kernel) and all(s == 1 for s in geometry.stride):
        computed = -(-math.prod(out) // nr) * nr
    else:
        _, pitch, _ = layout.band_layout(out, geometry.kernel, geometry.stride,
                                         geometry.dilation, _shared_border(geometry, out, True))
        qmax = sum((o - 1) * p for o, p in zip(out, pitch)) + 1
        computed = -(-qmax // nr) * nr
    return 1 - math.prod(out) / computed


def _channel_tile_pays(level: int, geometry: ConvGeometry, gemm_nr: int,
                       cgemm_tile: tuple[int, int], scattered: bool, esize: int) -> bool:
    """Whether ``auto`` takes the channel tile over the gemm tile (see CGEMM_MIN_GAIN).

    Never when its packed weights would exceed WORKSPACE_LIMIT_BYTES: the gemm
    tile reads the weights in place, and auto does not double a huge layer's
    memory for a few percent."""
    cgemm_nr = cgemm_tile[1]
    cout = geometry.out_per_group
    positions = geometry.batch * math.prod(geometry.out_spatial)
    packed_bytes = (geometry.groups * -(-cout // cgemm_nr) * cgemm_nr
                    * geometry.reduction_length * esize)
    pointwise = all(k == 1 for k in geometry.kernel)
    if (level not in CGEMM_LEVELS or cout < cgemm_nr or positions == 0
            or geometry.reduction_length == 0 or packed_bytes > WORKSPACE_LIMIT_BYTES
            or (pointwise and not scattered and level not in CGEMM_POINTWISE_LEVELS)):
        return False
    channel_waste = 1 - cout / (-(-cout // cgemm_nr) * cgemm_nr)
    cost = channel_waste + CGEMM_PACK_POSITIONS / positions
    if scattered:   # the gemm tile scatters, the channel tile writes runs of channels
        gain = _gemm_waste(geometry, gemm_nr) + CGEMM_SCATTER_GAIN
    else:           # the channel tile transposes its sums into the output planes
        gain = _gemm_waste(geometry, gemm_nr) - CGEMM_STORE_PRODUCTS / geometry.reduction_length
    return gain - cost >= CGEMM_MIN_GAIN


def _output_box(geometry: ConvGeometry, kind: Kind, mr: int, nr: int, esize: int, threads: int,
                residues: Sequence[Sequence[int]], inplace: bool
                ) -> tuple[list[int], int, int, Callable[[Sequence[int]], int]]:
    """The output box of one work unit and the split of the output channels.

    Returns ``(box, m_blocks, panels_per_block)``.  The box shrinks, outermost
    dims first, until its band fits the cache, and, where that band outweighs
    the weights, until every thread has a box of its own; then, for enough
    units per thread, or for blocks of weights that fit WEIGHT_BLOCK_TARGET_BYTES, the
    output channels are split into blocks (each re-reads the same band) and,
    while the work is large enough to be worth sharing, the box is split
    further (never below two tiles).  In place, boxes keep whole rows.  A
    problem of few units gets as many blocks as make whole rounds of the
    threads.  The engine splits the panels evenly over the blocks, at most
    ``panels_per_block`` each.
    """
    ndim = geometry.ndim
    n_panels = -(-geometry.out_per_group // mr)
    n_phase = math.prod(len(r) for r in residues)
    splittable = ndim - 1 if inplace else ndim

    def band_ext(box: Sequence[int]) -> tuple[list[int], list[int], int]:
        if kind == Kind.ROWBLOCK:  # whole groups of MB rows: round the rows up
            box = [-(-box[0] // mr) * mr] + list(box[1:])
        return layout.band_layout(box, geometry.kernel, geometry.stride, geometry.dilation)

    def band_bytes(box: Sequence[int]) -> int:
        # sized as for one channel at least: a problem without input channels
        # still walks its boxes (to add the bias), and the index tables follow them
        return max(geometry.in_per_group, 1) * n_phase * band_ext(box)[2] * esize

    if kind == Kind.WINOGRAD:
        box = _winograd_box(geometry, mr, nr, esize)
    else:
        box = list(geometry.out_spatial)
        band_target = BAND_TARGET_BYTES * (GEMM_BAND_SCALE if kind in (Kind.GEMM, Kind.CGEMM)
                                           else 1)
        while (not inplace and band_bytes(box) > band_target
               and any(b > 1 for b in box)):
            i = next(i for i, b in enumerate(box) if b > 1)
            if kind == Kind.DEPTHWISE and box[0] < 16 and box[1] > 1:
                i = 1  # keep bands of whole row blocks: split wide rows instead
            box[i] = -(-box[i] // 2)

    def unit_count(box: Sequence[int]) -> int:
        return geometry.batch * geometry.groups * math.prod(
            -(-o // b) for o, b in zip(geometry.out_spatial, box))

    def halved(box: list[int]) -> list[int] | None:
        # the box with its outermost splittable dim halved; None where there is
        # none, or where the half would hold fewer than two tiles
        if not any(b > 1 for b in box[:splittable]):
            return None
        i = next(i for i, b in enumerate(box[:splittable]) if b > 1)
        trial = list(box)
        trial[i] = -(-box[i] // 2)
        _, pitch, _ = band_ext(trial)
        tiles = (sum((b - 1) * p for b, p in zip(trial, pitch)) + 1) / nr
        return trial if tiles >= 2 else None

    panel_bytes = mr * geometry.in_per_group * math.prod(geometry.kernel) * esize
    # Threads that share a box each build its band; threads with boxes of their
    # own each read all the weights.  Where the band outweighs the weights
    # (few channels on a large image), every thread gets boxes of its own
    # before the channels are split into blocks.
    if (kind in (Kind.GEMM, Kind.ROW, Kind.CGEMM) and not inplace
            and band_bytes(box) > n_panels * panel_bytes):
        while unit_count(box) < threads and (trial := halved(box)) is not None:
            box = trial

    wanted = 4 * threads
    # In place, every block of output channels reads the box's rows of x again,
    # from beyond the L2 cache once they outgrow it.  Where they also outweigh
    # the weights, the work is shared out in equal boxes of rows instead, as
    # few as make enough units, of whole tiles or nearly (a box's last, partial
    # tile is computed in full).
    if (kind in (Kind.GEMM, Kind.ROW, Kind.CGEMM) and inplace and ndim > 1
            and band_bytes(box) > max(n_panels * panel_bytes, BAND_TARGET_BYTES)):
        rows = geometry.out_spatial[0]
        row = math.prod(geometry.out_spatial[1:])
        for r in range(rows - 1, 0, -1):
            if unit_count(box) >= wanted:
                break
            if rows % r == 0 and 1 - r * row / (-(-r * row // nr) * nr) <= INPLACE_BOX_MAX_WASTE:
                box[0] = r
    m_blocks = max(1, min(n_panels, -(-wanted // max(unit_count(box), 1))))
    panels_per_block = max(1, -(-n_panels // m_blocks))
    m_blocks = max(1, -(-n_panels // panels_per_block))
    if (kind in (Kind.GEMM, Kind.ROW, Kind.CGEMM)
            and (not inplace or n_panels * panel_bytes > INPLACE_WEIGHT_BLOCK_BYTES)
            and panels_per_block * panel_bytes > WEIGHT_BLOCK_TARGET_BYTES):
        panels_per_block = max(1, WEIGHT_BLOCK_TARGET_BYTES // panel_bytes)
        m_blocks = -(-n_panels // panels_per_block)

    while (kind not in (Kind.WINOGRAD, Kind.DEPTHWISE)
           and unit_count(box) * m_blocks < wanted
           and geometry.flops / max(unit_count(box) * m_blocks, 1) > 4e6
           and (trial := halved(box)) is not None):
        box = trial
    if kind == Kind.ROWBLOCK and box[0] < geometry.out_spatial[0]:
        box[0] = -(-box[0] // mr) * mr  # whole row groups per box
    # few units: as many as make whole rounds of the threads (of equal work:
    # the engine splits the panels evenly over the blocks), when the panels allow
    units = unit_count(box)
    if kind != Kind.DEPTHWISE and 0 < units * m_blocks < 8 * threads:
        rounds = -(-(units * m_blocks) // threads)
        balanced = -(-(rounds * threads) // units)
        if (balanced * units) % threads == 0 and balanced <= n_panels:
            m_blocks = balanced
    panels_per_block = -(-n_panels // m_blocks)
    return box, m_blocks, panels_per_block, band_bytes


def _depthwise_units(geometry: ConvGeometry, box: list[int],
                     band_bytes: Callable[[Sequence[int]], int]) -> tuple[int, int, list[int]]:
    """Channels per depthwise unit and the (possibly shorter) box.

    Units of several channel planes (boxes of one channel for large planes),
    about DEPTHWISE_UNIT_BYTES of band each, balanced; never fewer than
    DEPTHWISE_MIN_UNITS when the channels or rows allow.  Independent of the
    thread count (each output's arithmetic does not depend on the units anyway).
    """
    per_channel = max(band_bytes(box), 1)
    cpu = max(1, min(geometry.groups, DEPTHWISE_UNIT_BYTES // per_channel))

    def dw_units(cpu: int, box: Sequence[int]) -> int:
        return geometry.batch * -(-geometry.groups // cpu) * math.prod(
            -(-o // b) for o, b in zip(geometry.out_spatial, box))

    while cpu > 1 and dw_units(cpu, box) < DEPTHWISE_MIN_UNITS:
        cpu = -(-cpu // 2)
    while (dw_units(cpu, box) < DEPTHWISE_MIN_UNITS and box[0] > 8
           and geometry.flops / max(dw_units(cpu, box), 1) > 1e6):
        box[0] = -(-box[0] // 2)
    dw_blocks = -(-geometry.groups // cpu)
    cpu = -(-geometry.groups // dw_blocks)
    return cpu, dw_blocks, box


def _depthwise_lanes(geometry: ConvGeometry, vl: int, esize: int) -> bool:
    """Whether a depthwise problem runs on lanes: VL channels side by side in
    the vector lanes, a unit per image and block of VL channels.

    The planes path puts an output row in the lanes: at stride 2 its phase
    split of every input row costs more than the arithmetic, and small
    outputs leave lanes empty; the lanes path fills every lane whatever the
    width and stride, at the price of transposing the input and output
    planes.  Measured (1 thread, N=8, MobileNetV2's 3x3 layers), lanes /
    planes time: stride 2 at 56x56, 28x28, 14x14 inputs 0.57, 0.53, 0.40 on
    AVX-512 (float64 0.44, 0.53, 0.39), 0.67-0.73, 0.53, 0.42 on AVX2, 0.90,
    0.64, 0.96 on the portable set; stride 1 at 28x28, 14x14, 7x7 1.85, 1.50, 1.00
    (the planes path reads its rows in place there).  It needs a zero or
    constant border (no index tables), at least VL channels, and the padded
    planes of one unit within DEPTHWISE_LANES_BAND_BYTES.
    """
    padded = [s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial, geometry.pads)]
    return (geometry.mode_code in (PADDING_MODES.index("zeros"),
                                   PADDING_MODES.index("constant"))
            and geometry.groups >= vl
            and all(lo >= 0 and hi >= 0 for lo, hi in geometry.pads)
            and math.prod(padded) * vl * esize <= DEPTHWISE_LANES_BAND_BYTES
            and geometry.stride[1] >= DEPTHWISE_LANES_MIN_STRIDE)


def contiguous_strides(geometry: ConvGeometry, channels: int, spatial: Sequence[int]
                       ) -> list[int]:
    """Element strides ``(n, c, *spatial)`` of a C-contiguous batched array of
    ``channels`` and ``spatial`` in the problem's data_format."""
    if geometry.data_format == "channels_last":
        shape = (geometry.batch,) + tuple(spatial) + (channels,)
        strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
        return [strides[0], strides[-1]] + strides[1:-1]
    shape = (geometry.batch, channels) + tuple(spatial)
    return [math.prod(shape[i + 1:]) for i in range(len(shape))]


class _ScratchTooLarge(Exception):
    """One output's window needs more scratch than WORKSPACE_LIMIT_BYTES allows."""

    def __init__(self, per_thread: int) -> None:
        super().__init__(per_thread)
        self.per_thread = per_thread


def _direct_record(geometry: ConvGeometry, dtype: np.dtype[Any], threads: int, level: int,
                   x_strides: Sequence[int], flip: bool, forced: str | None = None,
                   out_strides: Sequence[int] | None = None,
                   block: dict[str, Any] | None = None,
                   shared_borders: bool = True) -> DirectPlan:
    """Lay out the direct engine's computation; return the DirectPlan record.

    ``out_strides``: element strides ``(n, c, *spatial)`` of the output the
    call writes (default C-contiguous).  ``block``: for a reduction block, the
    fields ``x_offset``, ``w_offset``, ``x_channels_per_group``, ``lda`` and
    ``accumulate`` (see ``_reduction_blocks``); ``geometry`` is then the block's.
    ``shared_borders``: a gemm-tile band's rows may share their border columns
    (see ``layout``).
    """
    esize = dtype.itemsize
    # the tap-offset table has an entry per product of a sum: refuse the absurd
    # before building it
    check_memory(8 * geometry.reduction_length, "the tap-offset table of this convolution")
    if out_strides is None:
        out_strides = contiguous_strides(geometry, geometry.out_channels, geometry.out_spatial)
    kind, (mr, nr) = _choose_microkernel(level, dtype, geometry, forced,
                                         scattered=out_strides[-1] != 1)
    residues = layout.phase_residues(geometry.kernel, geometry.stride, geometry.dilation)
    n_phase = math.prod(len(r) for r in residues)
    cin_g = geometry.in_per_group
    ndim = geometry.ndim
    # a panel: the output channels one tile computes (the channel tile's columns)
    panel, tile_width = (nr, mr) if kind == Kind.CGEMM else (mr, nr)
    n_panels = -(-geometry.out_per_group // panel)
    # A pointwise layer (1x1, stride 1, no padding) over rows contiguous in x
    # needs no band: the kernels read x in place (only a box's last, partial
    # tile is copied, so that no read passes the end of x).  Its boxes keep whole
    # rows, with an index entry per column: rows too long for that take the band.
    # (a problem without input channels reads nothing: its boxes are sized as
    # usual, not kept whole for reading x in place)
    inplace = (kind in (Kind.GEMM, Kind.ROW, Kind.CGEMM) and geometry.in_per_group > 0
               and all(k == 1 for k in geometry.kernel)
               and 8 * geometry.out_spatial[-1] <= WORKSPACE_LIMIT_BYTES // 4
               and all(s == 1 for s in geometry.stride)
               and all(lo == 0 and hi == 0 for lo, hi in geometry.pads)
               and all(x_strides[2 + i] == math.prod(geometry.in_spatial[i + 1:])
                       for i in range(ndim)))
    box, m_blocks, panels_per_block, band_bytes = _output_box(
        geometry, kind, panel, tile_width, esize, threads, residues, inplace)
    if kind == Kind.CGEMM:   # the box's sums stay in the L2 cache
        while (math.prod(box) * panels_per_block * panel * esize > CGEMM_TILES_TARGET_BYTES
               and any(b > 1 for b in box[:ndim - 1 if inplace else ndim])):
            i = next(i for i, b in enumerate(box) if b > 1)
            box[i] = -(-box[i] // 2)
    dw_cpu = dw_blocks = 1
    lanes = kind == Kind.DEPTHWISE and _depthwise_lanes(geometry, nr, esize)
    if lanes:   # a unit: one image, VL channels, the whole plane
        box = list(geometry.out_spatial)
        dw_cpu, dw_blocks = nr, -(-geometry.groups // nr)
        m_blocks = panels_per_block = 1
    elif kind == Kind.DEPTHWISE:
        dw_cpu, dw_blocks, box = _depthwise_units(geometry, box, band_bytes)
        m_blocks = panels_per_block = 1
    box_count = math.prod(-(-o // b) for o, b in zip(geometry.out_spatial, box))
    if kind == Kind.DEPTHWISE:
        n_units = geometry.batch * dw_blocks * box_count
    else:
        n_units = geometry.batch * geometry.groups * box_count * m_blocks

    band_box = box
    if kind == Kind.ROWBLOCK:
        band_box = [-(-box[0] // mr) * mr] + list(box[1:])
    # the gemm tile computes the band's border columns too: rows that share
    # theirs waste fewer (the same values read, so the same bits)
    shared = (_shared_border(geometry, box, int(x_strides[-1]) == 1)
              if kind == Kind.GEMM and shared_borders and not inplace and block is None else 0)
    ext, pitch, plane = layout.band_layout(band_box, geometry.kernel, geometry.stride,
                                           geometry.dilation, shared)
    # gemm/row read the weights in place: true convolution (flip) walks the taps
    # of every channel backwards instead of reversing the weights
    off, _ = layout.tap_offsets(geometry, residues, pitch, plane,
                                reverse_taps=flip and kind in (Kind.GEMM, Kind.ROW,
                                                               Kind.CGEMM))
    if kind == Kind.ROWBLOCK:
        off = off[:geometry.kernel[1]]  # column offsets; row r adds r * pitch[0]
    wino_th = wino_tw = wino_tp = wino_vx = wino_mx = 0
    if kind == Kind.WINOGRAD:
        wino_th, wino_tw = box[0] // 2, box[1] // 2
        wino_tp = -(-(wino_th * wino_tw) // nr) * nr
        off = np.arange(cin_g, dtype=np.int64) * wino_tp  # channel rows of V
        # the 16 transform planes of V and of M sit one cache line off a multiple of
        # 4 KiB apart, so the transforms' 16 streams do not contend for one L1 set
        wino_vx = cin_g * wino_tp + layout.PLANE_ALIGN
        wino_mx = panels_per_block * mr * wino_tp + layout.PLANE_ALIGN
    qmax = sum((b - 1) * p for b, p in zip(box, pitch)) + 1
    band_elems = cin_g * n_phase * plane + nr + 16
    if lanes:
        # the padded planes, VL lanes per position, then the output rows, the
        # lanes' taps and bias; the taps' offsets column-major (the sum order)
        padded = [s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial, geometry.pads)]
        off = np.array([(kh * geometry.dilation[0] * padded[1] + kw * geometry.dilation[1]) * nr
                        for kw in range(geometry.kernel[1])
                        for kh in range(geometry.kernel[0])], dtype=np.int64)
        band_elems = (math.prod(padded) + math.prod(geometry.out_spatial)
                      + geometry.reduction_length + 1) * nr
    off_tail = np.zeros(0, dtype=np.int64)
    # the channel tile on a channels-last x: the band keeps x's layout, each
    # padded position's channels together (copied in runs of x's rows instead
    # of gathered channel by channel); the same products in the same order
    band_channels_last = (kind == Kind.CGEMM and not inplace and ndim == 2 and n_phase == 1
                          and all(s == 1 for s in geometry.stride)
                          and geometry.mode_code in (PADDING_MODES.index("zeros"),
                                                     PADDING_MODES.index("constant"))
                          and x_strides[1] == 1
                          and cin_g > 1)
    if band_channels_last:
        channel, tap_position = np.divmod(off, plane)
        off = tap_position * cin_g + channel
        band_elems = math.prod(ext) * cin_g + nr + 16
    if inplace:   # rows of x itself; the band buffer holds only a partial tile's copy
        off = np.arange(cin_g, dtype=np.int64) * x_strides[1]
        off_tail = np.arange(cin_g, dtype=np.int64) * nr
        band_elems = cin_g * nr + nr + 16
    if out_strides is None:
        out_strides = contiguous_strides(geometry, geometry.out_channels, geometry.out_spatial)
    out_unit_stride = out_strides[-1] == 1
    if block is None:
        block = {"x_offset": 0, "w_offset": 0, "x_channels_per_group": cin_g,
                 "lda": geometry.reduction_length, "accumulate": False}

    if kind == Kind.CGEMM:
        kc = max(8, CGEMM_KC_TARGET_BYTES // (nr * esize))
        blocks = max(1, -(-geometry.reduction_length // kc))
        kc = max(1, -(-geometry.reduction_length // blocks))
    elif kind == Kind.GEMM:
        kc = max(8, KC_TARGET_BYTES // (nr * esize))
        blocks = max(1, -(-geometry.reduction_length // kc))
        kc = max(1, -(-geometry.reduction_length // blocks))  # blocks of even length
    else:
        kc = max(1, geometry.reduction_length)
    tile_panels = panels_per_block if kind in (Kind.GEMM, Kind.ROW) else 1
    tile_bytes = tile_panels * mr * nr * esize
    if kind == Kind.CGEMM:   # the sums of the whole box, a position's channels together
        tile_bytes = math.prod(box) * panels_per_block * nr * esize
    # depthwise and Winograd write runs of output rows (a box's columns): through
    # the stage when the output's rows are not unit-stride (channels-last)
    staged = (not out_unit_stride and kind in (Kind.DEPTHWISE, Kind.WINOGRAD)
              and not lanes)
    scratch = layout.scratch_layout(
        ndim=ndim, residues=residues, ext=ext, band_bytes=band_elems * esize,
        tile_bytes=tile_bytes,
        winograd_v_bytes=16 * wino_vx * esize, winograd_m_bytes=16 * wino_mx * esize,
        stage_bytes=math.prod(box) * esize if staged else 0)
    if kind == Kind.WINOGRAD:
        packed_elems = 16 * geometry.groups * n_panels * cin_g * mr
    elif kind in (Kind.ROWBLOCK, Kind.DEPTHWISE):   # the taps of every group
        packed_elems = geometry.groups * geometry.reduction_length
    elif kind == Kind.CGEMM:   # NR output channels per reduction row
        packed_elems = geometry.groups * n_panels * geometry.reduction_length * nr
    else:  # gemm/row read the weights in place; a short last panel is copied, padded
        short = geometry.out_per_group % mr != 0
        packed_elems = geometry.groups * mr * geometry.reduction_length if short else 0
    per_thread = scratch["bytes_per_thread"]
    if per_thread > WORKSPACE_LIMIT_BYTES:
        raise _ScratchTooLarge(per_thread)
    # More threads than units, or than the scratch bound allows, would only
    # idle or spill: results do not depend on the thread count, so cap it.
    threads = max(1, min(threads, n_units, WORKSPACE_LIMIT_BYTES // per_thread))
    return DirectPlan({
        "dtype": dtype, "level": level, "kind": kind, "mr": mr, "nr": nr,
        "ndim": ndim, "batch": geometry.batch, "groups": geometry.groups, "cin_g": cin_g,
        "cout_g": geometry.out_per_group, "mode": geometry.mode_code,
        "padding_value": geometry.padding_value,
        "kernel_h": geometry.kernel[0], "kernel_w": geometry.kernel[-1],
        "taps": math.prod(geometry.kernel), "flip": bool(flip),
        "in_size": geometry.in_spatial, "stride": geometry.stride,
        "pad_lo": [lo for lo, _ in geometry.pads],
        "padded_size": [s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial, geometry.pads)],
        "out_size": geometry.out_spatial, "x_strides": x_strides, "out_strides": out_strides,
        "box": box, "n_boxes": [-(-o // b) for o, b in zip(geometry.out_spatial, box)],
        "ext": ext, "pitch": pitch, "n_res": [len(r) for r in residues],
        "res_start": np.cumsum([0] + [len(r) for r in residues[:-1]]),
        "res": [r for rs in residues for r in rs],
        "n_phase": n_phase, "plane_size": plane, "box_count": box_count,
        "band_elems": band_elems, "qmax": qmax, "off": off, "off_tail": off_tail,
        "inplace": inplace, "band_channels_last": band_channels_last,
        "K": geometry.reduction_length, "kc": kc,
        "n_panels": n_panels, "panels_per_block": panels_per_block, "m_blocks": m_blocks,
        "n_units": n_units, "threads": threads,
        # units the calling thread runs between two checks for Ctrl-C: about
        # CHUNK_FLOPS of its work (the others never wait for the check)
        "chunk": max(1, min(n_units, int(n_units * CHUNK_FLOPS / max(geometry.flops, 1)))),
        # units that share no band (depthwise's own bands, pointwise's reads of x
        # itself) go to threads as they come free: a thread the system
        # deschedules leaves its units to the others; the rest run in static
        # runs of consecutive units, which share their bands
        "dynamic": kind == Kind.DEPTHWISE or inplace,
        "packed_elems": packed_elems,
        "wino_th": wino_th, "wino_tw": wino_tw, "wino_tp": wino_tp, "wino_vx": wino_vx,
        "wino_mx": wino_mx, "dw_cpu": dw_cpu, "dw_blocks": dw_blocks,
        "dw_fast": (kind == Kind.DEPTHWISE and geometry.mode_code == 0
                    and geometry.stride == (1, 1) and x_strides[-1] == 1 and not lanes),
        "dw_lanes": lanes,
        "out_unit_stride": out_unit_stride, **block,
        "scratch": scratch,
    })


#: Per-thread scratch a reduction block aims for, when one output's window is
#: too large for WORKSPACE_LIMIT_BYTES (see ``_reduction_blocks``).
REDUCTION_BLOCK_BYTES = 16 * 2**20


def _window_band_bytes(geometry: ConvGeometry, in_per_group: int, kernel: Sequence[int],
                       esize: int) -> int:
    """Band bytes of a one-output box over ``in_per_group`` channels and ``kernel``."""
    residues = layout.phase_residues(kernel, geometry.stride, geometry.dilation)
    n_phase = math.prod(len(r) for r in residues)
    plane = layout.band_layout((1,) * geometry.ndim, kernel, geometry.stride,
                               geometry.dilation)[2]
    return in_per_group * n_phase * plane * esize


def _reduction_blocks(geometry: ConvGeometry, dtype: np.dtype[Any], flip: bool, budget: int
                      ) -> Iterator[tuple[ConvGeometry, dict[str, Any]]]:
    """Split a reduction too large for one band into blocks; yield each block's
    ``(geometry, fields)`` for ``_direct_record``.

    Blocks of input channels (every tap) while one channel's window fits
    ``budget`` bytes of band, else blocks of the kernel's first-dim taps of one
    channel.  A block is the convolution with that part of the weights: its
    geometry keeps the output and shifts the padding of dim 0 by the taps it
    skips (a negative padding reads inside the input); it reads x and the
    weights at offsets, weight rows the full reduction apart, and continues the
    sums the blocks before it left in the output.  The products are summed in
    the order of one pass (channel by channel, taps row-major), so the result
    has the bits of the unblocked sum.
    """
    esize = dtype.itemsize
    cin_g, taps = geometry.in_per_group, math.prod(geometry.kernel)
    inner = math.prod(geometry.kernel[1:])
    per_channel = _window_band_bytes(geometry, 1, geometry.kernel, esize)
    if per_channel <= budget:
        step = max(1, budget // per_channel)
        ranges = [((c0, min(c0 + step, cin_g)), (0, geometry.kernel[0]))
                  for c0 in range(0, cin_g, step)]
    else:
        rows = geometry.kernel[0]
        while rows > 1 and _window_band_bytes(
                geometry, 1, (rows,) + geometry.kernel[1:], esize) > budget:
            rows = -(-rows // 2)
        row_blocks = [(t0, min(t0 + rows, geometry.kernel[0]))
                      for t0 in range(0, geometry.kernel[0], rows)]
        if flip:   # the weights' rows in order: the rotated kernel's rows backwards
            row_blocks.reverse()
        ranges = [((c, c + 1), rows_range) for c in range(cin_g) for rows_range in row_blocks]
    k0, d0 = geometry.kernel[0], geometry.dilation[0]
    (lo0, hi0), other_pads = geometry.pads[0], geometry.pads[1:]
    for number, ((c0, c1), (t0, t1)) in enumerate(ranges):
        # with flip the weights are read backwards: taps t0..t1 of the rotated
        # kernel are rows k0 - t1 .. k0 - t0 of the weights
        first_row = k0 - t1 if flip else t0
        block_geometry = dataclasses.replace(
            geometry, in_channels=(c1 - c0) * geometry.groups,
            kernel=(t1 - t0,) + geometry.kernel[1:],
            pads=((lo0 - t0 * d0, hi0 - (k0 - t1) * d0),) + other_pads)
        yield block_geometry, {
            "c0": c0, "w_offset": c0 * taps + first_row * inner,
            "x_channels_per_group": cin_g, "lda": cin_g * taps, "accumulate": number > 0}


def _blocked_records(geometry: ConvGeometry, dtype: np.dtype[Any], threads: int, level: int,
                     x_strides: Sequence[int], flip: bool, forced: str,
                     out_strides: Sequence[int] | None) -> tuple[DirectPlan, ...]:
    """The records of the reduction blocks, their band budget halved until each
    block's scratch fits WORKSPACE_LIMIT_BYTES (MemoryError if even one kernel
    row of one channel does not)."""

    def records_for(budget: int) -> tuple[DirectPlan, ...]:
        records: list[DirectPlan] = []
        for block_geometry, block in _reduction_blocks(geometry, dtype, flip, budget):
            block["x_offset"] = block.pop("c0") * x_strides[1]
            records.append(_direct_record(block_geometry, dtype, threads, level, x_strides,
                                          flip, forced, out_strides, block))
        return tuple(records)

    budget = REDUCTION_BLOCK_BYTES
    while budget > 1:
        try:
            return records_for(budget)
        except _ScratchTooLarge:
            budget //= 2
    try:
        return records_for(1)
    except _ScratchTooLarge as too_large:
        raise MemoryError(
            f"the direct engine needs {too_large.per_thread} bytes of scratch for one "
            f"kernel row of one input channel, above the {WORKSPACE_LIMIT_BYTES}-byte "
            f"limit") from None


_REASONS = {
    Kind.WINOGRAD: ("algorithm='fast', 3x3, stride 1: Winograd F(2x2,3x3) does 2.25x fewer "
                    "multiplies (its rounding is bounded over each 4x4 input tile, not "
                    "over each output's window)"),
    Kind.DEPTHWISE: ("one channel per group on a 2-d image: units of whole channel planes, "
                     "output rows computed in place (no scratch tile, no scatter)"),
    Kind.ROWBLOCK: ("one channel per group on a 2-d image: row-blocked tiles reuse every input "
                    "load for several output rows"),
    Kind.ROW: ("few output channels per group: one-row tiles over wide pixel runs "
               "(depthwise / one-channel filtering)"),
    Kind.GEMM: "register-blocked direct convolution, no im2col copy",
    Kind.CGEMM: ("register-blocked direct convolution along the output channels: the "
                 "output rows split into whole tiles, no position computed in vain "
                 "(the weights packed once per call)"),
}
_DEPTHWISE_LANES_REASON = ("one channel per group on a 2-d image, strided along the rows: "
                           "a vector's lanes hold as many channels side by side, the "
                           "planes transposed in and out (no phase split)")

_MICROKERNEL_NAMES = {Kind.GEMM: "gemm", Kind.ROW: "row", Kind.ROWBLOCK: "rowblock",
                      Kind.WINOGRAD: "gemm", Kind.DEPTHWISE: "depthwise", Kind.CGEMM: "cgemm"}


def make_plan(geometry: ConvGeometry, dtype: npt.DTypeLike, *, threads: int,
              algorithm: str = "auto", flip: bool = False,
              x_strides: Sequence[int] | None = None, out_strides: Sequence[int] | None = None,
              level: int | None = None, fold_batch: bool = False,
              shared_borders: bool = True) -> Plan:
    """Choose and lay out the computation of a validated problem.

    ``x_strides`` and ``out_strides`` are the element strides of the batched
    input ``(N, C, *spatial)`` and output ``(N, C_out, *out_spatial)`` the call
    reads and writes (default: C-contiguous); ``level`` the SIMD level
    (default: the calling thread's, see ``dispatch.level_code``);
    ``fold_batch``: the caller can fold the images into the rows of one
    (copy x, see ``batch_folded``), and the plan may ask it to;
    ``shared_borders``: a gemm-tile band's rows may share their border
    columns (see ``layout``; the weight gradient, which walks the band's
    positions row by row, asks for bands without).
    """
    check_choice(algorithm, "algorithm", ALGORITHMS)
    dtype = np.dtype(dtype)
    level = dispatch.level_code() if level is None else level
    if x_strides is None:
        x_strides = contiguous_strides(geometry, geometry.in_channels, geometry.in_spatial)
    folded = (_folded_plan(geometry, dtype, threads, level, flip, out_strides)
              if fold_batch and algorithm in ("auto", "direct", "fast") else None)
    if folded is not None:
        return folded
    if algorithm == "fft":
        from .fft import fft_workspace_bytes
        return Plan("fft", "requested with algorithm='fft'", None, None, None, None,
                    dtype.name, threads, fft_workspace_bytes(geometry, dtype), geometry.flops,
                    geometry.batch, geometry, "global")
    forced = None if algorithm in ("auto", "direct") else algorithm
    try:
        records: tuple[DirectPlan, ...]
        records = (_direct_record(geometry, dtype, threads, level, x_strides, flip, forced,
                                  out_strides, shared_borders=shared_borders),)
        reason = (_REASONS[Kind(records[0].fields["kind"])] if forced in (None, "fast")
                  else f"requested with algorithm={algorithm!r}")
    except _ScratchTooLarge as too_large:
        if forced == "winograd":
            # its reduction is not blocked: every input channel of a box is
            # transformed at once, so channels beyond the limit are beyond its reach
            raise ValueError(
                f"algorithm='winograd' cannot take this problem: its smallest box, one "
                f"GEMM tile of 2x2 tiles with the transforms of all "
                f"{geometry.in_per_group} input and {geometry.out_per_group} output "
                f"channels, needs {too_large.per_thread} bytes of scratch, above the "
                f"{WORKSPACE_LIMIT_BYTES}-byte limit; algorithm='auto' computes it") from None
        if forced not in (None, "fast", "gemm", "row"):
            raise ValueError(
                f"algorithm={algorithm!r} cannot take this problem: one output's window "
                f"needs {too_large.per_thread} bytes of scratch, above the "
                f"{WORKSPACE_LIMIT_BYTES}-byte limit; algorithm='auto' runs it in "
                f"reduction blocks") from None
        tiles = cast(dict[str, Any], ukernel_set_tiles(level))[dtype.name]
        narrow = geometry.out_per_group * 2 <= tiles["gemm"][0]
        forced = forced if forced in ("gemm", "row") else ("row" if narrow else "gemm")
        records = _blocked_records(geometry, dtype, threads, level, x_strides, flip, forced,
                                   out_strides)
        reason = (f"one output's window needs {too_large.per_thread} bytes of scratch, above "
                  f"the {WORKSPACE_LIMIT_BYTES}-byte limit: the reduction runs in "
                  f"{len(records)} blocks, each continuing the sums of the one before")
    first = records[0].fields
    kind = Kind(first["kind"])
    workspace = max(r.fields["packed_elems"] * dtype.itemsize
                    + r.fields["threads"] * r.fields["scratch"]["bytes_per_thread"]
                    for r in records) + 128
    check_memory(workspace, "the direct engine's workspace (packed weights and scratch)")
    tile = (first["mr"], first["nr"])
    if kind == Kind.DEPTHWISE:   # rows per pass x vector lanes, or outputs x channels
        tile = (cast(dict[str, Any], ukernel_set_tiles(level))[dtype.name][
            "depthwise_lanes" if first["dw_lanes"] else "depthwise"][0], first["nr"])
        if first["dw_lanes"] and forced in (None, "fast"):
            reason = _DEPTHWISE_LANES_REASON
    return Plan("winograd" if kind == Kind.WINOGRAD else "direct", reason,
                _MICROKERNEL_NAMES[kind], tile, dispatch.LEVEL_NAMES[level],
                tuple(int(b) for b in first["box"]), dtype.name,
                max(r.fields["threads"] for r in records), workspace, geometry.flops,
                sum(r.fields["n_units"] for r in records), geometry,
                "tile" if kind == Kind.WINOGRAD else "elementwise", records)


#: A pointwise layer (1x1, stride 1, no padding, one group, 2-d) on N >= 2
#: images is folded into the rows of one image when its positions leave at
#: least FOLD_MIN_WASTE of the gemm tile's columns empty (a 7x7 image's 49
#: positions fill 64 columns of 32-wide tiles) ...
FOLD_MIN_WASTE = 0.15

#: ... and it widens the channels at least this much: the fold copies x
#: (channels first, the images' rows one after the other) and leaves fewer
#: work units (one image), which costs about what the fuller tiles save on
#: the other layers.  Measured on AVX-512 (Zen 5), 2 threads, N=8 at 7x7,
#: folded / unfolded time (medians of interleaved calls): 512->2048 0.78,
#: 320->1280 0.88, 160->960 0.95; 2048->512 0.92, 960->320 0.99, 512->512
#: 1.04, 576->160 1.14, 960->160 1.18; 1024->256 at 14x14 (12.5% of the
#: columns empty) 1.00.  With AVX2: 512->2048 0.85, 320->1280 0.91.
FOLD_MIN_WIDENING = 2

#: ... and the copy of x takes at most this many bytes.
FOLD_MAX_BYTES = 16 * 2**20

_FOLD_REASON = ("pointwise, {n} images of {p} positions leave {waste:.0%} of the "
                "{nr}-wide tiles' columns empty: the images folded into the rows of one "
                "(x copied channels first, one row per image; tiles span images)")


def _folded_plan(geometry: ConvGeometry, dtype: np.dtype[Any], threads: int, level: int,
                 flip: bool, out_strides: Sequence[int] | None) -> Plan | None:
    """The plan of ``geometry`` with its images folded into the rows of one
    (see FOLD_MIN_WASTE), or None when the fold does not pay or cannot
    write the output (its rows must be whole images' planes)."""
    g = geometry
    if (g.ndim != 2 or g.kernel != (1, 1) or g.stride != (1, 1) or g.groups != 1
            or any(lo or hi for lo, hi in g.pads) or g.batch < 2 or not g.batched
            or g.data_format != "channels_first"
            or g.out_channels < FOLD_MIN_WIDENING * g.in_channels):
        return None
    height, width = g.in_spatial
    positions = height * width
    if out_strides is None:
        out_strides = contiguous_strides(g, g.out_channels, g.out_spatial)
    if out_strides[3] != 1 or out_strides[2] != width:
        return None
    nr = int(cast(dict[str, Any], ukernel_set_tiles(level))[dtype.name]["gemm"][1])
    waste = 1 - positions / (-(-positions // nr) * nr)
    copy_bytes = g.in_channels * g.batch * positions * dtype.itemsize
    if waste < FOLD_MIN_WASTE or copy_bytes > FOLD_MAX_BYTES:
        return None
    folded = ConvGeometry(
        batched=True, batch=1, in_channels=g.in_channels, out_channels=g.out_channels,
        groups=1, in_spatial=(g.batch, positions), kernel=(1, 1), stride=(1, 1),
        dilation=(1, 1), pads=((0, 0), (0, 0)), padding_mode=g.padding_mode,
        padding_value=g.padding_value, data_format="channels_first",
        out_spatial=(g.batch, positions))
    x_strides = contiguous_strides(folded, g.in_channels, folded.in_spatial)
    view_strides = [g.batch * out_strides[0], out_strides[1], out_strides[0], 1]
    try:
        record = _direct_record(folded, dtype, threads, level, x_strides, flip, None,
                                view_strides)
    except _ScratchTooLarge:
        return None
    f = record.fields
    if Kind(f["kind"]) != Kind.GEMM or not f["inplace"]:
        return None
    workspace = (f["packed_elems"] * dtype.itemsize
                 + f["threads"] * f["scratch"]["bytes_per_thread"] + 128 + copy_bytes)
    check_memory(workspace, "the direct engine's workspace (the folded x and scratch)")
    return Plan("direct", _FOLD_REASON.format(n=g.batch, p=positions, waste=waste, nr=nr),
                _MICROKERNEL_NAMES[Kind.GEMM], (f["mr"], f["nr"]), dispatch.LEVEL_NAMES[level],
                tuple(int(b) for b in f["box"]), dtype.name, f["threads"], workspace,
                g.flops, f["n_units"], g, "elementwise", (record,), batch_fold=True)


#: Plans of recent calls of conv (see cached_plan): at most this many.
PLAN_CACHE_SIZE = 128
_plan_cache: dict[tuple[Any, ...], Plan] = {}


def threads_worth_waking(geometry: ConvGeometry, dtype: npt.DTypeLike, threads: int) -> int:
    """The threads a call of ``threads`` at most uses: one per PARALLEL_MIN_WORK
    of work, at least one (results do not depend on the count).

    Examples
    --------
    >>> from pyconvx.shapes import describe_conv
    >>> small = describe_conv((1, 192, 14, 14), (64, 192, 1, 1))
    >>> large = describe_conv((1, 256, 56, 56), (256, 256, 3, 3), padding=1)
    >>> threads_worth_waking(small, "float32", 2), threads_worth_waking(large, "float32", 2)
    (1, 2)
    """
    esize = np.dtype(dtype).itemsize
    moved = esize * (geometry.batch * (geometry.in_channels * math.prod(geometry.in_spatial)
                                       + geometry.out_channels * math.prod(geometry.out_spatial))
                     + geometry.out_channels * geometry.in_per_group * math.prod(geometry.kernel))
    work = geometry.flops * esize / 4 + WORK_FLOPS_PER_BYTE * moved
    return max(1, min(threads, int(work // PARALLEL_MIN_WORK)))


def cached_plan(geometry: ConvGeometry, dtype: npt.DTypeLike, *, threads: int,
                algorithm: str = "auto", flip: bool = False,
                x_strides: Sequence[int] | None = None,
                out_strides: Sequence[int] | None = None, fold_batch: bool = False) -> Plan:
    """``make_plan`` for the compiled engine's own use, remembered per problem.

    A plan is a pure function of these arguments and the SIMD level (planning
    costs about 70 us, as much as a small convolution).  The returned Plan and
    its record are shared and frozen (``pyconvx.plan`` returns a fresh one).
    ``threads`` is the call's most (see ``threads_worth_waking``).
    """
    level = dispatch.level_code()
    key: tuple[Any, ...] | None
    key = (geometry, np.dtype(dtype).str, threads, algorithm, bool(flip),
           None if x_strides is None else tuple(int(s) for s in x_strides),
           None if out_strides is None else tuple(int(s) for s in out_strides), level,
           bool(fold_batch))
    try:
        found = _plan_cache.get(key)
    except TypeError:  # an unhashable argument: make_plan reports it
        found = key = None
    if found is None:
        found = make_plan(geometry, dtype, threads=threads_worth_waking(geometry, dtype, threads),
                          algorithm=algorithm, flip=flip,
                          x_strides=x_strides, out_strides=out_strides, level=level,
                          fold_batch=fold_batch)
        if key is not None:
            if len(_plan_cache) >= PLAN_CACHE_SIZE:
                _plan_cache.clear()
            _plan_cache[key] = found
    return found


def plan(x: npt.ArrayLike, weight: npt.ArrayLike, stride: IntTuple = 1, padding: PaddingArg = 0,
         dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
         padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
         data_format: DataFormat = "channels_first", threads: int | None = None,
         algorithm: Algorithm = "auto", dtype: npt.DTypeLike | None = None) -> Plan:
    """How :func:`pyconvx.conv` would compute this convolution, without running it.

    Parameters
    ----------
    x, weight : array_like or tuple of int
        The input and weight arrays, or just their shapes.
    stride, padding, dilation, groups, flip, padding_mode, padding_value, data_format,
    threads, algorithm
        As for :func:`pyconvx.conv`.
    dtype : dtype, optional
        Compute dtype when only shapes are given (default float32); with
        arrays the dtype rule of :func:`pyconvx.conv` applies.

    Returns
    -------
    Plan
        The algorithm and why, the microkernel, workspace bytes, FLOPs.

    Examples
    --------
    >>> import pyconvx
    >>> p = pyconvx.plan((8, 64, 56, 56), (64, 64, 3, 3), padding=1)
    >>> p.algorithm, p.microkernel, p.error_bound, p.flops
    ('direct', 'gemm', 'elementwise', 1849688064)
    >>> pyconvx.plan((8, 64, 56, 56), (64, 64, 3, 3), padding=1, algorithm="fast").algorithm
    'winograd'

    """
    shapes: list[tuple[int, ...]] = []
    dtypes: list[tuple[npt.DTypeLike, str]] = []
    for value, name in ((x, "x"), (weight, "weight")):
        if isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
            shapes.append(value)
        else:
            array = as_array(value, name)
            shapes.append(array.shape)
            dtypes.append((array.dtype, name))
    geometry = describe_conv(shapes[0], shapes[1], stride=stride, padding=padding,
                             dilation=dilation, groups=groups, padding_mode=padding_mode,
                             padding_value=padding_value, data_format=data_format)
    if dtype is not None:
        dtypes.append((np.dtype(dtype), "dtype"))
    compute_dtype = result_dtype(*dtypes) if dtypes else np.dtype(np.float32)
    return make_plan(geometry, compute_dtype,
                     threads=threads_worth_waking(geometry, compute_dtype,
                                                  resolve_threads(threads)),
                     algorithm=algorithm, flip=flip, fold_batch=True)
