"""Plans of the transposed convolution and of the weight gradient.

One place decides how the two other products of a convolution layer are
computed, from validated shapes; the compiled code only runs the records.

Transposed convolution (and so the input gradient)
--------------------------------------------------
``y[i] = sum over (o, m) with o*s + m*d - lo == i of x[o] * w[m]``, per dim.
Output position ``i`` belongs to phase ``p = (i + lo) mod s``; the taps that
reach phase ``p`` are ``m = m0 + k * (s / gcd(s, d))``, and on phase ``p``
the sum is a stride-1 *true* convolution of ``x`` with that sub-kernel at
dilation ``d / gcd(s, d)``.  So a transposed convolution is ``prod(s)``
ordinary convolutions of the forward engine (the same planner, microkernels
and bounded scratch), each writing every s-th output in place through a
strided view of the result.  Every output is written by exactly one phase
(phases that no tap reaches are zero, or the bias); its sum runs over its
own taps in a fixed order, so results do not depend on the thread count.
The low and high padding of a phase's convolution may be negative (the
engine then reads inside its input).

Weight gradient
---------------
``gw[co, ci, m] = sum_n sum_o g[n, co, o] * x_padded[n, ci, o*s + m*d]``.  The
forward plan of the convolution (``algorithm="gemm"``) lays out the band:
the padded (by ``padding_mode``), phase-split input region of one output box,
where tap ``m`` of channel ``ci`` for output ``o`` is ``band[off[ci, m] + q(o)]``.
For each image and box (the *items*, in order) ``backward.pyx`` builds that
band, packs the box's grad_output, and runs, per valid output row:

* ``gemm`` / ``wide``: a register tile with the roles turned around: its MR
  broadcast rows are MR input channels of the band at one tap (lda = the
  band's channel distance), its NR vector columns NR output channels of the
  packed grad_output (positions by channels), its reduction the row's output
  positions; MR x NR tiles of ``gw`` (as ``taps x C_in x C_out``) are
  continued from one row to the next (many channels per group); rows that
  lie end to end in the band (a pointwise layer's) run as one reduction, in
  blocks of positions whose column panels of the packed grad_output stay in
  the L1 cache.  The tile is
  the engine's gemm microkernel, or on AVX-512 the backward engine's 6 x 64
  (float32) / 6 x 32 (float64) ``wide`` tile when it leaves fewer rows and
  columns empty;
* ``dot``: per (output channel, input channel, tap) a dot product of the
  grad_output row with the band row, in 16 lanes summed at the end (few
  channels per group: depthwise layers); grad_output's rows are read in place
  when they are contiguous, else packed.

The items are split into ``chunks`` ranges fixed by the problem alone; each
(group, chunk) work unit sums its items into its own partial gradient, and
the partials are added in chunk order at the end: every weight's sum over
the batch and the positions runs in one fixed order, bitwise identical for
every thread count and every input layout.

The units advance in *steps* of ``step_items`` items each: step 0 of every
unit, then step 1 of every unit, and so on; ``steps_per_check`` consecutive
steps (never two of one unit) are split over the threads, and Ctrl-C is
checked between them, every WEIGHT_GRAD_CHECK_FLOPS per thread or so.  A
unit's steps run one after the other and continue its partial gradient, so
the steps change nothing in the order of the sums.
"""

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar, Union, cast

import numpy as np
import numpy.typing as npt

from ..shapes import ConvGeometry
from . import dispatch
from .contract import ukernel_set_tiles
from .plan import WORKSPACE_LIMIT_BYTES, Plan, cached_plan, make_plan

__all__ = ["PhaseDim", "TransposePlan", "WeightGradPlan", "make_transpose_plan",
           "make_weight_grad_plan", "padded_chunk", "plan_transpose_phases",
           "plan_weight_grad"]

#: Partial gradients of all work units of a weight gradient stay under this.
PARTIALS_LIMIT_BYTES = 32 * 2**20

#: Work units a weight gradient aims for (independent of the thread count, so
#: the order of its sums is too): enough to feed the threads of a large host.
WEIGHT_GRAD_UNITS = 16

#: Thread count the band of a weight gradient is planned for.  The forward
#: planner shrinks its output boxes as threads grow; the boxes are the items
#: of the weight gradient's sums, so they are planned for one fixed count (the
#: forward planner's four units per thread then match WEIGHT_GRAD_UNITS) and
#: the order of every sum is fixed by the problem alone.
BAND_PLAN_THREADS = WEIGHT_GRAD_UNITS // 4

#: The gemm path needs at least this share of its register tile filled by
#: real channels (rows: input channels, columns: output channels); below it
#: the dot path is faster.
GEMM_MIN_FILL = 0.5

#: Positions per reduction block of the gemm path: at most this many, and
#: few enough that one column panel of the packed grad_output (positions by
#: the tile's columns) fills at most half of a 32 KiB L1 data cache.
WEIGHT_GRAD_KC = 256
KC_PANEL_BYTES = 16 * 2**10


def reduction_block(columns: int, itemsize: int) -> int:
    """Positions per reduction block of the gemm path for a tile of ``columns``
    output channels of ``itemsize``-byte values (see KC_PANEL_BYTES)."""
    return max(16, min(WEIGHT_GRAD_KC, KC_PANEL_BYTES // (columns * itemsize)))

#: The wide tile of the gemm path (backward.h's PCX_WIDE_MR x PCX_WIDE_NV
#: 64-byte vectors; AVX-512 only): rows (input channels) x columns (output
#: channels), by dtype.
WIDE_TILES = {"float32": (6, 64), "float64": (6, 32)}

#: dispatch's code of the AVX-512 microkernel set.
AVX512_LEVEL = dispatch.LEVEL_NAMES.index("avx512")

#: Lanes of the dot path's partial sums (fixed, so the bits do not depend on
#: the SIMD width).
DOT_LANES = 16

#: The grids of taps (rows, columns) the dot path walks band row by band row
#: (backward.h's PCX_DEFINE_DOT_GRID has a kernel for each): each band vector
#: is loaded once for a row of taps instead of once per tap.  Measured on
#: AVX-512 (Zen 5), 1 thread, the weight gradient of a depthwise 3x3 layer,
#: C=256 at 28x28 N=8 (medians of 300 calls): 0.87 ms with a load per tap,
#: 0.70 ms on the grid (its dot products 0.40 -> 0.25 ms).
DOT_GRIDS = frozenset({(2, 2), (2, 3), (3, 2), (3, 3), (2, 4), (4, 2)})

#: Blocks of consecutive work units per thread on the dot path (see
#: ``_steps``): fewer make longer runs of planes in memory order, more let a
#: thread the host leaves waiting take fewer.
WEIGHT_GRAD_BLOCKS_PER_THREAD = 4

#: FLOPs of weight-gradient work per thread between two checks for Ctrl-C:
#: about 20 ms of the gemm path, 100 ms of the dot path.  Each check is a
#: barrier of the threads, which costs milliseconds on an oversubscribed
#: machine (2**28 made a 2-thread call 1.5x slower under load).
WEIGHT_GRAD_CHECK_FLOPS = 2**30


@dataclass(frozen=True)
class PhaseDim:
    """One phase of one dim of a transposed convolution (see the module doc)."""

    first: int      # first output index of the phase
    count: int      # outputs of the phase (every stride-th from ``first``)
    tap_start: int  # first tap that reaches the phase
    tap_step: int   # taps reaching it are tap_start, tap_start + tap_step, ...
    taps: int       # how many (0: no tap reaches the phase)
    pad_lo: int     # padding of the phase's stride-1 convolution (may be negative)
    pad_hi: int
    dilation: int   # dilation of the sub-kernel
    q_first: int = 0  # input-side index q of the first output (i = q*s + p - crop)
    shift: int = 0    # t0: the first tap reads x[q - shift]


def phase_dims(size: int, kernel: int, stride: int, dilation: int, crop: int,
               length: int) -> list[PhaseDim]:
    """The ``stride`` phases of one dim: input ``size``, output ``length``, the
    transposed output starting ``crop`` positions into the full one (``crop``
    is the low padding; any int)."""
    step = stride // math.gcd(stride, dilation)
    sub_dilation = dilation // math.gcd(stride, dilation)
    phases = []
    for p in range(stride):
        first = (p - crop) % stride
        count = max(0, -(-(length - first) // stride))
        starts = [m for m in range(min(step, kernel)) if (m * dilation) % stride == p]
        if not starts or count == 0:
            phases.append(PhaseDim(first, count, 0, step, 0, 0, 0, sub_dilation))
            continue
        m0 = starts[0]
        taps = -(-(kernel - m0) // step)
        t0 = (m0 * dilation - p) // stride
        q_first = (first + crop - p) // stride
        pad_lo = (taps - 1) * sub_dilation - q_first + t0
        pad_hi = count - size - pad_lo + (taps - 1) * sub_dilation
        phases.append(PhaseDim(first, count, m0, step, taps, pad_lo, pad_hi, sub_dilation,
                               q_first, t0))
    return phases


@dataclass(frozen=True)
class TransposePhase:
    """One stride-1 convolution of a transposed convolution."""

    out_index: tuple[slice, ...]      # slices of the result's spatial dims this phase writes
    weight_index: Optional[tuple[slice, ...]]   # slices of the kernel's dims: its taps
    #                                             (None: no tap)
    plan: Optional[Plan]              # the forward engine's Plan (None: no tap)


@dataclass(frozen=True)
class TransposePlan:
    """How a transposed convolution (or an input gradient) is computed.

    Attributes
    ----------
    phases : tuple of TransposePhase
        The ``prod(stride)`` stride-1 convolutions, in the order they run.
    workspace_bytes : int
        Largest workspace of one phase (they run one after the other).
    flops : int
        2 * multiply-adds over every phase.
    threads : int
        Threads the call uses.
    """

    phases: tuple[TransposePhase, ...]
    workspace_bytes: int
    flops: int
    threads: int

    def describe(self) -> list[str]:
        """One line per phase: its outputs, taps, algorithm and microkernel."""
        lines = []
        for phase in self.phases:
            where = ", ".join(f"{s.start}::{s.step}" for s in phase.out_index)
            if phase.plan is None:
                lines.append(f"phase [{where}]: no tap reaches it (zeros, or the bias)")
                continue
            p = phase.plan
            kernel = p.geometry.kernel
            lines.append(f"phase [{where}]: stride-1 convolution with a {kernel} sub-kernel,"
                         f" {p.algorithm} {p.microkernel} {p.tile} ({p.simd}), workspace "
                         f"{p.workspace_bytes} bytes")
        return lines


#: Bytes of the stacked phases' result one block of images computes before
#: it is interleaved into the output (see ``StackedTransposePlan``).
STACK_BLOCK_BYTES = 16 * 2**20

#: Phases are stacked when each has fewer output channels per group than
#: this: a phase alone then leaves most rows of the gemm tile (8 output
#: channels on AVX-512) empty, and the stack fills them ...
STACK_BELOW_CHANNELS = 8

#: ... or when the stride along the last dim is at least this: separate phases
#: each write 1/stride of every output row, so every cache line of the output
#: is loaded and written back once per phase, where the stack's interleaving
#: pass moves it once.  Otherwise the separate phases write their outputs in
#: place, with no interleaving copy and no positions computed outside a phase.
#: Measured on AVX-512, 2 threads, stacked / separate time: 4x4 stride-2
#: layers 64->3 at 112x112 N=8 9.4 / 13.9 ms, 64->8 16.0 / 16.2, 128->64 at
#: 28x28 N=8 11.9 / 10.6 (the stack's 29x29 positions per phase), 512->256 at
#: 7x7 N=1 4.5 / 3.2; 1-d 64->32 k16 stride 8 at L=4000 N=4 12.0 / 17.8.
STACK_FROM_STRIDE = 4


@dataclass(frozen=True)
class StackedPhase:
    """Where one phase's outputs go: ``out_index`` of the result, from
    ``z_index`` of the stacked result, phase number ``number`` of the stack."""

    out_index: tuple[slice, ...]
    z_index: tuple[slice, ...]
    weight_index: tuple[slice, ...]
    number: int


@dataclass(frozen=True)
class StackedTransposePlan:
    """A transposed convolution whose phases all use the same number of taps at
    the same shift, with few output channels per group or a large stride
    along the last dim (STACK_BELOW_CHANNELS, STACK_FROM_STRIDE): one
    convolution of the forward engine computes every
    phase at once (the phases' sub-kernels stacked as output channels, so
    each band serves them all), in blocks of images of at most
    STACK_BLOCK_BYTES of stacked result, which is then interleaved into the
    output (each output copied once from its phase).

    Attributes
    ----------
    phases : tuple of StackedPhase
        The phases, in stack order.
    plan, tail_plan : Plan
        The forward plan of a block of ``block`` images, and of the last,
        shorter block (None when the blocks are whole).
    block : int
        Images per block.
    stacked_shape : tuple of int
        The stacked result of one block: ``(block, groups * phases * C_out /
        groups, *positions)``.
    workspace_bytes, flops, threads : int
    """

    phases: tuple[StackedPhase, ...]
    plan: Plan
    tail_plan: Optional[Plan]
    block: int
    stacked_shape: tuple[int, ...]
    workspace_bytes: int
    flops: int
    threads: int

    def describe(self) -> list[str]:
        p = self.plan
        return [f"{len(self.phases)} phases stacked as output channels of one stride-1 "
                f"convolution with a {p.geometry.kernel} sub-kernel ({p.algorithm} "
                f"{p.microkernel} {p.tile}, {p.simd}), in blocks of {self.block} image(s) "
                f"whose stacked result {self.stacked_shape} is interleaved into the output"]


def _stackable(per_dim: Sequence[Sequence[PhaseDim]]) -> Optional[list[list[PhaseDim]]]:
    """Per dim, the phases that have outputs, if they all have the same taps and
    shift (so one convolution can compute them all), else None."""
    used = [[p for p in phases if p.count > 0] for phases in per_dim]
    for phases in used:
        if not phases or any(p.taps == 0 for p in phases):
            return None
        if len({(p.taps, p.shift) for p in phases}) != 1:
            return None
    if math.prod(len(phases) for phases in used) < 2:
        return None
    return used


def _stacked_plan(used: list[list[PhaseDim]], *, batch: int, in_channels: int,
                  out_channels: int, groups: int, in_spatial: Sequence[int],
                  stride: Sequence[int], dtype: np.dtype[Any], threads: int,
                  x_strides: Sequence[int]) -> StackedTransposePlan:
    q_lo = [min(p.q_first for p in phases) for phases in used]
    q_hi = [max(p.q_first + p.count - 1 for p in phases) for phases in used]
    positions = tuple(hi - lo + 1 for lo, hi in zip(q_lo, q_hi))
    first = [phases[0] for phases in used]
    pads: list[tuple[int, int]] = []
    for p, lo, size, n in zip(first, q_lo, in_spatial, positions):
        reach = (p.taps - 1) * p.dilation
        pad_lo = reach - lo + p.shift
        pads.append((pad_lo, n - size - pad_lo + reach))
    count = math.prod(len(phases) for phases in used)
    stacked_channels = count * out_channels
    per_image = stacked_channels * math.prod(positions) * dtype.itemsize
    block = max(1, min(batch, STACK_BLOCK_BYTES // max(per_image, 1)))

    def plan_for(images: int) -> Plan:
        geometry = ConvGeometry(
            batched=True, batch=images, in_channels=in_channels, out_channels=stacked_channels,
            groups=groups, in_spatial=tuple(in_spatial), kernel=tuple(p.taps for p in first),
            stride=(1,) * len(first), dilation=tuple(p.dilation for p in first),
            pads=tuple(pads), padding_mode="zeros", padding_value=0.0,
            data_format="channels_first", out_spatial=positions)
        shape = (images, stacked_channels) + positions
        strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
        made: Plan = cached_plan(geometry, dtype, threads=threads, flip=True,
                                 x_strides=list(x_strides), out_strides=strides)
        return made

    plan = plan_for(block)
    tail = batch % block
    tail_plan = plan_for(tail) if tail else None
    phases: list[StackedPhase] = []
    for number, combination in enumerate(_product(used)):
        out_index = tuple(slice(p.first, p.first + (p.count - 1) * s + 1, s)
                          for p, s in zip(combination, stride))
        z_index = tuple(slice(p.q_first - lo, p.q_first - lo + p.count)
                        for p, lo in zip(combination, q_lo))
        weight_index = tuple(slice(p.tap_start, p.tap_start + (p.taps - 1) * p.tap_step + 1,
                                   p.tap_step) for p in combination)
        phases.append(StackedPhase(out_index, z_index, weight_index, number))
    shape = (block, stacked_channels) + positions
    workspace = plan.workspace_bytes + math.prod(shape) * dtype.itemsize
    return StackedTransposePlan(tuple(phases), plan, tail_plan, block, shape, workspace,
                                plan.geometry.flops // block * batch, threads)


#: Plans of recent calls (see ``_remembered``): at most this many.
PLAN_CACHE_SIZE = 128
_plan_cache: dict[tuple[Any, ...], Any] = {}

#: A plan made by a planning function.
_Made = TypeVar("_Made")


def _remembered(make: Callable[..., _Made], **arguments: Any) -> _Made:
    """``make(**arguments)``, remembered per arguments and SIMD level: a plan is a
    pure function of them, and planning costs as much as a small problem."""
    key = (make.__name__, dispatch.level_code()) + tuple(
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in sorted(arguments.items()))
    found: Optional[_Made] = _plan_cache.get(key)
    if found is None:
        found = make(**arguments)
        if len(_plan_cache) >= PLAN_CACHE_SIZE:
            _plan_cache.clear()
        _plan_cache[key] = found
    return found


def make_transpose_plan(**arguments: Any) -> Union[TransposePlan, StackedTransposePlan]:
    """``plan_transpose_phases(**arguments)``, remembered (see ``_remembered``)."""
    arguments["dtype"] = np.dtype(arguments["dtype"])
    for name in ("in_spatial", "out_spatial", "kernel", "stride", "dilation", "crop",
                 "x_strides", "out_strides"):
        arguments[name] = tuple(int(v) for v in arguments[name])
    return _remembered(plan_transpose_phases, **arguments)


def plan_transpose_phases(*, batch: int, in_channels: int, out_channels: int, groups: int,
                          in_spatial: Sequence[int], out_spatial: Sequence[int],
                          kernel: Sequence[int], stride: Sequence[int],
                          dilation: Sequence[int], crop: Sequence[int], dtype: npt.DTypeLike,
                          threads: int, x_strides: Sequence[int], out_strides: Sequence[int]
                          ) -> Union[TransposePlan, StackedTransposePlan]:
    """Plan ``prod(stride)`` forward convolutions that write the transposed result.

    ``x`` is ``(batch, in_channels, *in_spatial)`` with element strides
    ``x_strides``; the result ``(batch, out_channels, *out_spatial)`` with
    ``out_strides``; ``crop`` per dim is the low padding (where the result
    starts in the full transposed output).  The phases' weights are the
    transposed, flipped taps of each phase (``weight_index`` selects them).
    """
    dtype = np.dtype(dtype)
    per_dim = [phase_dims(size, k, s, d, c, length) for size, k, s, d, c, length
               in zip(in_spatial, kernel, stride, dilation, crop, out_spatial)]
    stack = batch > 0 and (out_channels // groups < STACK_BELOW_CHANNELS
                           or stride[-1] >= STACK_FROM_STRIDE)
    used = _stackable(per_dim) if stack else None
    if used is not None:
        return _stacked_plan(used, batch=batch, in_channels=in_channels,
                             out_channels=out_channels, groups=groups, in_spatial=in_spatial,
                             stride=stride, dtype=dtype, threads=threads, x_strides=x_strides)
    phases: list[TransposePhase] = []
    workspace = 0
    flops = 0
    for combination in _product(per_dim):
        if any(p.count == 0 for p in combination):
            continue
        out_index = tuple(slice(p.first, p.first + (p.count - 1) * s + 1, s)
                          for p, s in zip(combination, stride))
        if any(p.taps == 0 for p in combination):
            phases.append(TransposePhase(out_index, None, None))
            continue
        weight_index = tuple(slice(p.tap_start, p.tap_start + (p.taps - 1) * p.tap_step + 1,
                                   p.tap_step) for p in combination)
        geometry = ConvGeometry(
            batched=True, batch=batch, in_channels=in_channels, out_channels=out_channels,
            groups=groups, in_spatial=tuple(in_spatial),
            kernel=tuple(p.taps for p in combination), stride=(1,) * len(kernel),
            dilation=tuple(p.dilation for p in combination),
            pads=tuple((p.pad_lo, p.pad_hi) for p in combination), padding_mode="zeros",
            padding_value=0.0, data_format="channels_first",
            out_spatial=tuple(p.count for p in combination))
        phase_out_strides = list(out_strides[:2]) + [st * s for st, s in
                                                     zip(out_strides[2:], stride)]
        plan: Plan = cached_plan(geometry, dtype, threads=threads, flip=True,
                                 x_strides=list(x_strides), out_strides=phase_out_strides)
        phases.append(TransposePhase(out_index, weight_index, plan))
        workspace = max(workspace, plan.workspace_bytes)
        flops += geometry.flops
    return TransposePlan(tuple(phases), workspace, flops, threads)


def _product(per_dim: Sequence[Sequence[PhaseDim]]) -> list[tuple[PhaseDim, ...]]:
    """Every combination of one phase per dim, the last dim fastest."""
    combos: list[tuple[PhaseDim, ...]] = [()]
    for phases in per_dim:
        combos = [c + (p,) for c in combos for p in phases]
    return combos


def padded_chunk(geometry: ConvGeometry, dtype: npt.DTypeLike) -> int:
    """Images per block of an input gradient through the padded input (the
    padding modes that fold their border back): blocks of at most 16 MiB,
    at least one image."""
    padded = math.prod(s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial, geometry.pads))
    per_image = geometry.in_channels * padded * np.dtype(dtype).itemsize
    return max(1, min(geometry.batch, (16 * 2**20) // max(per_image, 1)))


@dataclass(frozen=True)
class WeightGradPlan:
    """How a weight gradient is computed (see the module doc).

    Attributes
    ----------
    path : {"gemm", "wide", "dot"}
        The microkernel path: the engine's gemm tile, the backward engine's
        wide tile (6 x 64 float32 / 6 x 32 float64, AVX-512: chosen when it
        leaves fewer empty columns), or the 16-lane dot product.
    tile : tuple of int
        The register tile: (input channels, output channels) for ``gemm``
        and ``wide``; (1, lanes) for ``dot``.
    simd : str
        The instruction set of the microkernels.
    chunks : int
        Ranges of (image, box) items per group, each summed by one work unit.
    work_units : int
        groups * chunks.
    workspace_bytes : int
        Partial gradients plus per-thread scratch (band, packed grad_output).
    band : Plan
        The forward plan whose band layout and boxes the gradient reads.
    flops : int
        2 * multiply-adds.
    threads : int
        Threads the call uses.
    contiguous_x : bool
        The band reads x in place: x must be C-contiguous channels-first
        (a pointwise layer; the caller copies any other x).
    """

    path: str
    tile: tuple[int, int]
    simd: str
    chunks: int
    work_units: int
    workspace_bytes: int
    band: Plan
    flops: int
    threads: int
    cin_pad: int = 0
    cout_pad: int = 0
    acc_elems: int = 0
    scratch_bytes: int = 0
    contiguous_x: bool = False
    fields: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def describe(self) -> str:
        """What runs, in a line."""
        b = self.band
        grid = ""
        if self.fields.get("grid_rows"):
            grid = (f", its {self.fields['grid_rows']}x{self.fields['grid_cols']} taps "
                    f"walking the band row by row")
        return (f"{self.path} microkernel {self.tile} ({self.simd}){grid} over the band of the "
                f"forward plan's {b.box} output boxes, {self.chunks} chunk(s) of (image, box)"
                f" items per group, {self.work_units} work units, workspace "
                f"{self.workspace_bytes} bytes")


def make_weight_grad_plan(geometry: ConvGeometry, dtype: npt.DTypeLike, *, threads: int,
                          x_strides: Sequence[int]) -> WeightGradPlan:
    """``plan_weight_grad``, remembered (see ``_remembered``)."""
    return _remembered(plan_weight_grad, geometry=geometry, dtype=np.dtype(dtype),
                       threads=threads, x_strides=tuple(int(v) for v in x_strides))


def plan_weight_grad(*, geometry: ConvGeometry, dtype: np.dtype[Any], threads: int,
                     x_strides: Sequence[int]) -> WeightGradPlan:
    """Plan the weight gradient of the validated convolution ``geometry``."""
    level = dispatch.level_code()
    cin_g, cout_g = geometry.in_per_group, geometry.out_per_group
    # the level in use is compiled in, so its tiles are there
    tiles = cast(dict[str, Any], ukernel_set_tiles(level))
    candidates: list[tuple[str, tuple[int, ...]]] = [("gemm", tuple(tiles[dtype.name]["gemm"]))]
    if level == AVX512_LEVEL:
        candidates.append(("wide", WIDE_TILES[dtype.name]))

    def fills(tile: tuple[int, ...]) -> tuple[float, float]:
        rows, cols = tile
        return cin_g / (-(-cin_g // rows) * rows), cout_g / (-(-cout_g // cols) * cols)

    # the tile that leaves the fewest empty rows and columns (the engine's on a tie)
    path, (mr, nr) = max(candidates, key=lambda c: fills(c[1])[0] * fills(c[1])[1])
    # A pointwise layer's band reads a C-contiguous channels-first x in place,
    # with boxes of whole rows; other layouts would pack a band of other boxes,
    # and so other items of the sums.  Such a layer plans for that x (the
    # caller copies any other x into it): the boxes, and the order of every sum,
    # are the same for every layout.
    shape = (geometry.batch, geometry.in_channels) + tuple(geometry.in_spatial)
    # (a dimension of one element may have any stride: x's own is kept)
    contiguous = [int(x_strides[i]) if shape[i] == 1 else math.prod(shape[i + 1:])
                  for i in range(len(shape))]
    # (bands whose rows lie their full extent apart: the gradient's kernels walk
    # a box's positions row by row, as the packed grad_output holds them)
    band = make_plan(geometry, dtype, threads=BAND_PLAN_THREADS, algorithm="gemm", flip=False,
                     x_strides=contiguous, shared_borders=False)
    contiguous_x = bool(band.records[0].fields["inplace"])
    if not contiguous_x and list(x_strides) != contiguous:
        band = make_plan(geometry, dtype, threads=BAND_PLAN_THREADS, algorithm="gemm",
                         flip=False, x_strides=list(x_strides), shared_borders=False)
    if len(band.records) != 1:
        raise MemoryError(
            f"the weight gradient needs one band per output box, but one output's window "
            f"needs more than the {WORKSPACE_LIMIT_BYTES}-byte scratch limit "
            f"(input {geometry.in_spatial}, kernel {geometry.kernel}, "
            f"{geometry.in_per_group} channels per group)")
    taps = math.prod(geometry.kernel)
    esize = dtype.itemsize
    gemm = min(fills((mr, nr))) >= GEMM_MIN_FILL
    if not gemm:
        path = "dot"
    record = band.records[0].fields
    box = [int(b) for b in record["box"]]
    if gemm:
        cin_pad, cout_pad = -(-cin_g // mr) * mr, -(-cout_g // nr) * nr
        acc_elems = taps * cin_pad * cout_pad
        tile = (mr, nr)
        row_pitch = box[-1]
        box_positions = math.prod(box)
        packed = box_positions * cout_pad
    else:
        cin_pad, cout_pad = cin_g, cout_g
        acc_elems = cout_g * cin_g * taps * DOT_LANES   # running lanes per weight
        tile = (1, DOT_LANES)
        row_pitch = -(-box[-1] // DOT_LANES) * DOT_LANES
        box_positions = math.prod(box[:-1]) * row_pitch
        packed = box_positions * cout_g
    # after the band plan's scratch: the packed grad_output (positions x padded
    # channels, or channels x rows padded to whole vectors), MR rows of a short
    # channel panel, the row-offset table of the packed panel; 64-byte aligned
    kc = reduction_block(nr, esize)
    extra = (packed + mr * kc) * esize + 8 * kc
    scratch = -(-(record["scratch"]["bytes_per_thread"] + extra + 4 * 64) // 64) * 64
    items = geometry.batch * record["box_count"]
    chunks = max(1, min(items, -(-WEIGHT_GRAD_UNITS // geometry.groups)))
    partial_bytes = acc_elems * esize
    while chunks > 1 and geometry.groups * chunks * partial_bytes > PARTIALS_LIMIT_BYTES:
        chunks -= 1
    units = geometry.groups * chunks
    threads = max(1, min(threads, units, max(1, WORKSPACE_LIMIT_BYTES // scratch)))
    workspace = units * partial_bytes + threads * scratch
    step_items, steps_per_check, block_units = _steps(geometry.flops, items, geometry.groups,
                                                      chunks, threads, not gemm)
    return WeightGradPlan(
        path=path, tile=tile, simd=dispatch.LEVEL_NAMES[level],
        chunks=chunks, work_units=units, workspace_bytes=workspace, band=band,
        flops=geometry.flops, threads=threads, cin_pad=cin_pad, cout_pad=cout_pad,
        acc_elems=acc_elems, scratch_bytes=scratch,
        contiguous_x=contiguous_x,
        fields={"level": level, "mr": mr, "nr": nr, "kc": kc,
                "box_positions": box_positions, "row_pitch": row_pitch,
                "step_items": step_items, "steps_per_check": steps_per_check,
                "block_units": block_units, **_dot_grid(geometry, record, gemm),
                # the band of a 2-d stride-1 box with zero padding: x's rows
                # copied into a border cleared once per box (per thread)
                "band_rows": int(len(geometry.kernel) == 2 and geometry.mode_code == 0
                                 and tuple(geometry.stride) == (1, 1)
                                 and int(band.records[0].fields["x_strides"][-1]) == 1
                                 and not record["inplace"])})


def _dot_grid(geometry: ConvGeometry, record: dict[str, Any], gemm: bool) -> dict[str, int]:
    """The dot path's grid of taps (``grid_rows`` x ``grid_cols``, ``grid_step``
    band rows apart), or zeros: a 2-d kernel (any others of one tap) of a
    DOT_GRIDS shape whose taps of every input channel sit, row of taps by row,
    a fixed number of band rows apart (not so on rows split into phases by a
    stride), over a band copy (a band read in place may end where x does)."""
    none = {"grid_rows": 0, "grid_cols": 0, "grid_step": 0}
    kernel = tuple(geometry.kernel)
    if gemm or record["inplace"] or len(kernel) < 2 or math.prod(kernel[:-2]) != 1:
        return none
    rows, cols = kernel[-2:]
    if (rows, cols) not in DOT_GRIDS:
        return none
    pitch = int(record["pitch"][len(kernel) - 2])
    off = np.asarray(record["off"], dtype=np.int64).reshape(geometry.in_per_group, rows, cols)
    below = off[:, 1, 0] - off[:, 0, 0]
    if pitch <= 0 or below[0] <= 0 or below[0] % pitch:
        return none
    step = int(below[0]) // pitch
    expected = off[:, :1, :] + (np.arange(rows) * step * pitch)[None, :, None]
    if not np.array_equal(off, expected):
        return none
    return {"grid_rows": rows, "grid_cols": cols, "grid_step": step}


def _steps(flops: int, items: int, groups: int, chunks: int, threads: int,
           dot: bool) -> tuple[int, int, int]:
    """(items per step, steps between two checks for Ctrl-C, units per block) of
    a weight gradient of ``flops`` over ``items`` items, in ``chunks`` item
    ranges per group, on ``threads`` threads (at most one per unit): about
    WEIGHT_GRAD_CHECK_FLOPS per thread between checks.

    The dot path steps one item at a time, and its threads take blocks of
    consecutive units (WEIGHT_GRAD_BLOCKS_PER_THREAD a thread): a block then
    reads its channels' planes image after image, in memory order.  The gemm
    path (a unit's items are whole images of every channel) takes its units
    one at a time, in whole rounds (one step of every unit) while a round
    fits, else in steps of one item, as many per check as the threads share
    evenly (at least one each)."""
    units = groups * chunks
    unit_items = max(1, -(-items // chunks))
    item_flops = max(1.0, flops / max(1, groups * items))   # one item of one group
    check_flops = WEIGHT_GRAD_CHECK_FLOPS * threads
    if dot:
        steps = max(1, min(units * unit_items, int(check_flops / item_flops)))
        return 1, steps, max(1, -(-units // (threads * WEIGHT_GRAD_BLOCKS_PER_THREAD)))
    step_items = max(1, min(unit_items, int(check_flops / (units * item_flops))))
    steps = int(check_flops / (step_items * item_flops))
    if steps >= units:
        return step_items, units, 1
    return step_items, max(1, steps // threads) * threads, 1


def with_batch(geometry: ConvGeometry, batch: int) -> ConvGeometry:
    """``geometry`` for a block of ``batch`` of its images."""
    return dataclasses.replace(geometry, batch=batch)


@dataclass(frozen=True)
class BackwardPlan:
    """How the gradients of a convolution (or a transposed convolution) are
    computed: see :func:`pyconvx.plan_backward` and :func:`pyconvx.plan_transpose`.

    Attributes
    ----------
    problem : str
        The problem in words.
    grad_input : TransposePlan or None
        The transposed convolution (the input gradient, or the result of
        ``conv_transpose``): its stride-1 phases on the forward engine.
    fold : str or None
        How the padded input's gradient reaches the input (padding modes
        that copy input elements into the border), or None.
    grad_weight : WeightGradPlan or None
        The weight gradient's path, microkernel, chunks and workspace.
    grad_bias : str or None
        How the bias gradient is summed.
    workspace_bytes : int
        The largest extra memory of any part (they run one after the other).
    """

    problem: str
    grad_input: "TransposePlan | StackedTransposePlan | None"
    fold: "str | None"
    grad_weight: "WeightGradPlan | None"
    grad_bias: "str | None"
    workspace_bytes: int

    def __str__(self) -> str:
        lines = [f"pyconvx backward plan: {self.problem}"]
        if self.grad_input is not None:
            lines.append(f"  transposed convolution ({len(self.grad_input.phases)} phase(s), "
                         f"workspace {self.grad_input.workspace_bytes} bytes):")
            lines += [f"    {line}" for line in self.grad_input.describe()]
        if self.fold is not None:
            lines.append(f"  border    : {self.fold}")
        if self.grad_weight is not None:
            lines.append(f"  weight    : {self.grad_weight.describe()}")
        if self.grad_bias is not None:
            lines.append(f"  bias      : {self.grad_bias}")
        lines.append(f"  workspace : {self.workspace_bytes} bytes at most")
        return "\n".join(lines)


#: How the bias gradient is summed (``backward.pyx``'s ``bias_grad``).
BIAS_SUM = ("per channel over the batch and positions in 16 lanes (a running position "
            "count mod 16), the lanes added in order: fixed for every layout and thread count")
