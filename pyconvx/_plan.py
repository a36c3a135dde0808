"""The plan: which algorithm runs a convolution, how it is tiled, what it costs.

One place decides.  ``make_plan`` takes a validated ``ConvGeometry`` and
returns a ``Plan``: the algorithm and the reason for it, the microkernel, the
workspace in bytes, the FLOPs, and the int64 tables the compiled engine reads.
The decision depends on the problem's shape and dtype, never on the thread
count, so results are bitwise identical for every thread count (threads only
change how the same work units are spread).
"""

from dataclasses import dataclass, field

import numpy as np

from . import _core, _dispatch
from ._normalize import as_array, check_memory, prod, resolve_threads, result_dtype
from .shapes import ConvGeometry, describe_conv

__all__ = ["ALGORITHMS", "Plan", "cached_plan", "make_plan", "plan"]

#: Values accepted by ``algorithm=``: "auto" lets the plan choose; "direct" is
#: direct summation with the plan's choice of microkernel (never Winograd); "gemm",
#: "row", "rowblock" and "depthwise" force one microkernel of the direct engine
#: ("rowblock" and "depthwise" refuse problems outside their reach, with a
#: ValueError); "winograd" forces F(2x2,3x3); "fft" is numpy.fft.
ALGORITHMS = ("auto", "direct", "gemm", "row", "rowblock", "depthwise", "winograd", "fft")

#: Input bytes (padded planes) one depthwise work unit aims for: several whole
#: channel planes per unit keep the per-unit bookkeeping small.
DEPTHWISE_UNIT_BYTES = 64 * 1024

#: Fewest depthwise work units a problem is split into when it has the
#: channels (or rows) for it, whatever the thread count.
DEPTHWISE_MIN_UNITS = 32

#: Winograd's V and M buffers and band per thread aim for this (about the L2
#: cache), by element size: float64 boxes of the same byte size hold half the
#: tiles, too few to amortise the band's halo (measured: 1.5 MiB is best for
#: float32, 2.5 MiB for float64).
WINOGRAD_TARGET_BYTES = {4: 1536 * 1024, 8: 2560 * 1024}

#: Per-thread band buffer the tiler aims for (fits the L2 cache).
BAND_TARGET_BYTES = 512 * 1024

#: The GEMM tiles' reduction runs in blocks whose band rows (kc x NR values)
#: fit this part of the L1 data cache, so every panel of a block reuses them.
KC_TARGET_BYTES = 24 * 1024

#: Band channel planes start on multiples of this many elements (64 bytes or
#: more), so every channel's rows sit at the same cache-line offset.
PLANE_ALIGN = 16

#: Ceiling of the scratch memory of one call, whatever the batch size.  On top
#: of it the direct engine keeps the weights it repacks (Winograd's transforms,
#: the taps of one-channel kernels, a short last panel of the gemm kernel).
WORKSPACE_LIMIT_BYTES = 64 * 2**20

#: FLOPs between two checks for Ctrl-C.
CHUNK_FLOPS = 2e9

KIND_NAMES = ("gemm", "row")


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
        channel planes, output rows written in place; "auto" picks it for
        every such problem except kernels other than 3x3, 5x5 and 7x7 at
        stride 1 on rows wide enough for ``rowblock``).  Winograd runs its
        GEMMs on ``"gemm"``.  None for ``"fft"``.
    tile : tuple of int or None
        The microkernel's register tile, ``(rows, columns)``: output
        channels (or output rows) by output positions.  None for ``"fft"``.
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

    Examples
    --------
    >>> import pyconvx
    >>> p = pyconvx.plan((1, 1, 2048, 2048), (1, 1, 7, 7), padding="same")
    >>> p.algorithm, p.microkernel
    ('direct', 'depthwise')
    >>> p.workspace_bytes < 64 * 2**20
    True
    """

    algorithm: str
    reason: str
    microkernel: "str | None"
    tile: "tuple | None"
    simd: "str | None"
    box: "tuple | None"
    dtype: str
    threads: int
    workspace_bytes: int
    flops: int
    work_units: int
    geometry: ConvGeometry
    tables: dict = field(repr=False, compare=False, default_factory=dict)

    def __str__(self):
        g = self.geometry
        return "\n".join([
            f"pyconvx plan: {self.algorithm} ({self.reason})",
            f"  problem   : x {(g.batch, g.in_channels) + g.in_spatial} * weight {g.weight_shape}"
            f" -> {g.out_shape}, groups={g.groups}, stride={g.stride}, dilation={g.dilation},"
            f" pads={g.pads}, padding_mode={g.padding_mode!r}",
            f"  kernel    : {self._describe_microkernel()}",
            f"  dtype     : {self.dtype}, threads: {self.threads}, work units: {self.work_units}",
            f"  workspace : {self.workspace_bytes} bytes",
            f"  FLOPs     : {self.flops} ({self.flops / 1e9:.3g} GFLOP)",
        ])

    def _describe_microkernel(self):
        if self.microkernel is None:
            return "numpy.fft (pocketfft)"
        rows, cols = self.tile
        return f"{self.microkernel} {rows}x{cols} ({self.simd}), output box {self.box}"


def _residues(kernel, stride, dilation):
    """Per dim, the sorted phase residues (t * dilation) % stride the taps use."""
    return [sorted({(t * d) % s for t in range(k)}) for k, s, d in zip(kernel, stride, dilation)]


def _band_layout(box, kernel, stride, dilation, residues):
    """Band plane extents and pitches for an output box."""
    ext = [b + ((k - 1) * d) // s for b, k, s, d in zip(box, kernel, stride, dilation)]
    pitch = [1] * len(ext)
    for i in range(len(ext) - 2, -1, -1):
        pitch[i] = pitch[i + 1] * ext[i + 1]
    plane = -(-prod(ext) // PLANE_ALIGN) * PLANE_ALIGN
    return ext, pitch, plane


def _tap_offsets(geometry, residues, ext, pitch, plane, reverse_taps=False):
    """Offset of every reduction index k = (ci, tap) into the band buffer; with
    ``reverse_taps``, tap t of every channel reads where tap taps-1-t would."""
    n_phase = prod(len(r) for r in residues)
    tap_offsets = np.zeros((1,), dtype=np.int64)
    phase_index = np.zeros((1,), dtype=np.int64)
    for k, s, d, res, p in zip(geometry.kernel, geometry.stride, geometry.dilation, residues,
                               pitch):
        reach = np.arange(k, dtype=np.int64) * d
        lookup = {r: i for i, r in enumerate(res)}
        ri = np.array([lookup[int(v)] for v in reach % s], dtype=np.int64)
        tap_offsets = (tap_offsets[:, None] + (reach // s)[None, :] * p).ravel()
        phase_index = (phase_index[:, None] * len(res) + ri[None, :]).ravel()
    per_tap = phase_index * plane + tap_offsets
    if reverse_taps:
        per_tap = per_tap[::-1]
    channels = np.arange(geometry.in_per_group, dtype=np.int64) * (n_phase * plane)
    return (channels[:, None] + per_tap[None, :]).ravel(), n_phase


def _rowblock_refusal(geometry, info, name):
    """Why the rowblock kernel cannot take this problem, or None if it can."""
    if geometry.ndim != 2:
        return f"it is 2-d only (this problem has {geometry.ndim} spatial dims)"
    if geometry.in_per_group != 1 or geometry.out_per_group != 1:
        return ("it needs one input and one output channel per group (this problem has "
                f"{geometry.in_per_group} and {geometry.out_per_group})")
    if geometry.stride[0] != 1 or geometry.dilation[0] != 1:
        return (f"it needs stride and dilation 1 along the rows (got stride "
                f"{geometry.stride[0]}, dilation {geometry.dilation[0]})")
    return None


def _depthwise_refusal(geometry):
    """Why the depthwise kernel cannot take this problem, or None if it can."""
    if geometry.ndim != 2:
        return f"it is 2-d only (this problem has {geometry.ndim} spatial dims)"
    if geometry.in_per_group != 1 or geometry.out_per_group != 1:
        return ("it needs one input and one output channel per group (this problem has "
                f"{geometry.in_per_group} and {geometry.out_per_group})")
    return None


def _winograd_refusal(geometry):
    """Why Winograd F(2x2, 3x3) cannot take this problem, or None if it can."""
    if geometry.ndim != 2 or geometry.kernel != (3, 3):
        return f"it needs a 2-d 3x3 kernel (got kernel {geometry.kernel})"
    if geometry.stride != (1, 1) or geometry.dilation != (1, 1):
        return (f"it needs stride 1 and dilation 1 (got stride {geometry.stride}, "
                f"dilation {geometry.dilation})")
    return None


def _winograd_box(geometry, mr, nr, esize):
    """Winograd's output box: whole 2x2 tiles, full width, as many tile rows as
    let the band, V (all input channels) and M (all output panels) fit
    WINOGRAD_TARGET_BYTES; among those row counts, the one whose tiles fill
    whole NR-wide GEMM tiles best (ties: more rows)."""
    cin_g, n_panels = geometry.in_per_group, -(-geometry.out_per_group // mr)
    width = 2 * -(-geometry.out_spatial[1] // 2)

    def nbytes(rows):
        tiles = rows * (width // 2)
        return (cin_g * (2 * rows + 2) * (width + 2)
                + 16 * (cin_g + n_panels * mr) * (-(-tiles // nr) * nr)) * esize

    rows_max = -(-geometry.out_spatial[0] // 2)
    while rows_max > 1 and nbytes(rows_max) > WINOGRAD_TARGET_BYTES[esize]:
        rows_max -= 1
    best_rows = min(range(max(1, rows_max // 2), rows_max + 1),
                    key=lambda rows: (round(_winograd_waste(rows * (width // 2), nr), 3), -rows))
    return [2 * best_rows, width]


def _winograd_waste(tiles, nr):
    """Share of the GEMMs' NR-wide columns that are padding for this many tiles."""
    return (-(-tiles // nr) * nr - tiles) / (-(-tiles // nr) * nr)


#: 'auto' takes Winograd only when at most this share of its GEMM columns is
#: padding (few tiles per box, as with many channels on small images, lose).
WINOGRAD_MAX_WASTE = 0.25


def _kernel_shape(level, dtype, geometry, forced=None):
    """(kind code, name, MR, NR, set name) of the microkernel for this problem.

    * depthwise: 2-d, one input and one output channel per group, any stride and
      dilation: units of several whole channel planes (or boxes of large
      ones), output rows written in place, MB rows x two vectors per pass
      (3x3, 5x5, 7x7 at stride 1 unrolled, each input load shared by the rows);
    * rowblock: the same problems with other kernels on rows wide enough for
      two tiles: MB output rows share every input load;
    * row: few output channels per group: one-row tiles over wide pixel runs;
    * gemm: MR output channels x NR pixels.
    """
    info = _core.kernel_set_info(level)
    name = dtype.name
    gemm_mr = info["gemm_mr"][name]
    rowblock = (2, "rowblock", info["rowblock_mb"][name], info["rowblock_nr"][name],
                info["name"])
    row = (1, "row", 1, info["row_nr"][name], info["name"])
    gemm = (0, "gemm", gemm_mr, info["gemm_nr"][name], info["name"])
    winograd = (3, "gemm", gemm_mr, info["gemm_nr"][name], info["name"])
    depthwise = (4, "depthwise", 1, info["dw_vl"][name], info["name"])
    if forced == "depthwise":
        refusal = _depthwise_refusal(geometry)
        if refusal:
            raise ValueError(f"algorithm='depthwise' cannot take this problem: {refusal}")
        return depthwise
    if forced == "winograd":
        refusal = _winograd_refusal(geometry)
        if refusal:
            raise ValueError(f"algorithm='winograd' cannot take this problem: {refusal}")
        return winograd
    if forced == "rowblock":
        refusal = _rowblock_refusal(geometry, info, name)
        if refusal:
            raise ValueError(f"algorithm='rowblock' cannot take this problem: {refusal}")
        return rowblock
    if forced in ("row", "gemm"):
        return row if forced == "row" else gemm
    if _depthwise_refusal(geometry) is None:
        # Measured (AVX-512, AVX2, generic): the depthwise kernel's unrolled 3x3,
        # 5x5 and 7x7 stride-1 path beats rowblock even on one wide channel;
        # rowblock stays ahead for other kernels on wide rows.
        unrolled = (geometry.kernel[0] == geometry.kernel[1] in (3, 5, 7)
                    and geometry.stride == (1, 1) and geometry.dilation == (1, 1))
        if (not unrolled and _rowblock_refusal(geometry, info, name) is None
                and geometry.kernel[0] > 1
                and geometry.out_spatial[1] >= 2 * info["rowblock_nr"][name]):
            return rowblock
        return depthwise
    if geometry.out_per_group * 2 <= gemm_mr:
        return row
    # 2.25x fewer multiplies; the GEMMs need enough channels on both sides
    if (forced != "direct" and _winograd_refusal(geometry) is None
            and geometry.in_per_group >= 16 and geometry.out_per_group >= 16):
        box = _winograd_box(geometry, gemm_mr, info["gemm_nr"][name], dtype.itemsize)
        tiles = (box[0] // 2) * (box[1] // 2)
        if _winograd_waste(tiles, info["gemm_nr"][name]) <= WINOGRAD_MAX_WASTE:
            return winograd
    return gemm


def _depthwise_rows(level, dtype):
    """Rows per pass of the depthwise kernel of ``level`` for ``dtype``."""
    return _core.kernel_set_info(level)["dw_mb"][np.dtype(dtype).name]


def _direct_tables(geometry, dtype, threads, level, x_strides, flip, forced=None):
    esize = dtype.itemsize
    kind, kind_name, mr, nr, set_name = _kernel_shape(level, dtype, geometry, forced)
    residues = _residues(geometry.kernel, geometry.stride, geometry.dilation)
    n_phase = prod(len(r) for r in residues)
    cin_g = geometry.in_per_group
    ndim = geometry.ndim

    n_panels = -(-geometry.out_per_group // mr)
    # A pointwise layer (1x1, stride 1, no padding) over rows contiguous in x
    # needs no band: the kernels read x in place (only a box's last, partial
    # tile is copied, so that no read passes the end of x).
    inplace = (kind in (0, 1) and all(k == 1 for k in geometry.kernel)
               and all(s == 1 for s in geometry.stride)
               and all(lo == 0 and hi == 0 for lo, hi in geometry.pads)
               and all(x_strides[2 + i] == prod(geometry.in_spatial[i + 1:])
                       for i in range(ndim)))
    splittable = ndim - 1 if inplace else ndim   # in place, boxes keep whole rows

    def layout(box):
        if kind == 2:  # rowblock reads whole groups of MB rows: round the rows up
            box = [-(-box[0] // mr) * mr] + list(box[1:])
        return _band_layout(box, geometry.kernel, geometry.stride, geometry.dilation, residues)

    def band_bytes(box):
        return cin_g * n_phase * layout(box)[2] * esize

    if kind == 3:
        box = _winograd_box(geometry, mr, nr, esize)
    else:
        # Shrink the output box, outermost dims first, until its band fits the cache.
        box = list(geometry.out_spatial)
        while (not inplace and band_bytes(box) > BAND_TARGET_BYTES
               and any(b > 1 for b in box)):
            i = next(i for i, b in enumerate(box) if b > 1)
            if kind == 4 and box[0] < 16 and box[1] > 1:
                i = 1  # keep bands of whole row blocks: split wide rows instead
            box[i] = -(-box[i] // 2)
    taps = prod(geometry.kernel)
    flops = geometry.flops

    def unit_count(box):
        return geometry.batch * geometry.groups * prod(
            -(-o // b) for o, b in zip(geometry.out_spatial, box))

    # Enough units for every thread: first split the output channels into
    # blocks (each block re-reads the same band), then, while the work is
    # large enough to be worth sharing, split the box (never below two tiles).
    wanted = 4 * threads
    m_blocks = max(1, min(n_panels, -(-wanted // max(unit_count(box), 1))))
    panels_per_block = max(1, -(-n_panels // m_blocks))
    m_blocks = max(1, -(-n_panels // panels_per_block))

    def tiles(box):
        ext, pitch, _ = layout(box)
        return (sum((b - 1) * p for b, p in zip(box, pitch)) + 1) / nr

    while (kind not in (3, 4) and unit_count(box) * m_blocks < wanted
           and any(b > 1 for b in box[:splittable])
           and flops / max(unit_count(box) * m_blocks, 1) > 4e6):
        i = next(i for i, b in enumerate(box[:splittable]) if b > 1)
        trial = list(box)
        trial[i] = -(-box[i] // 2)
        if tiles(trial) < 2:
            break
        box = trial
    if kind == 2 and box[0] < geometry.out_spatial[0]:
        box[0] = -(-box[0] // mr) * mr  # whole row groups per box
    dw = {}
    if kind == 4:
        # Units of several channel planes (boxes of one channel for large planes),
        # about DEPTHWISE_UNIT_BYTES of band each, balanced; never fewer than
        # DEPTHWISE_MIN_UNITS when the channels or rows allow.  Independent of the
        # thread count (each output's arithmetic does not depend on the units anyway).
        per_channel = max(band_bytes(box), 1)
        cpu = max(1, min(geometry.groups, DEPTHWISE_UNIT_BYTES // per_channel))

        def dw_units(cpu, box):
            return geometry.batch * -(-geometry.groups // cpu) * prod(
                -(-o // b) for o, b in zip(geometry.out_spatial, box))

        while cpu > 1 and dw_units(cpu, box) < DEPTHWISE_MIN_UNITS:
            cpu = -(-cpu // 2)
        while (dw_units(cpu, box) < DEPTHWISE_MIN_UNITS and box[0] > 8
               and flops / max(dw_units(cpu, box), 1) > 1e6):
            box[0] = -(-box[0] // 2)
        dw_blocks = -(-geometry.groups // cpu)
        cpu = -(-geometry.groups // dw_blocks)
        dw = {"dw_cpu": cpu, "dw_blocks": dw_blocks,
              "dw_fast": int(geometry.mode_code == 0 and geometry.stride == (1, 1)
                             and x_strides[-1] == 1)}
        n_units = dw_units(cpu, box)
    else:
        base_units = unit_count(box)
        n_units = base_units * m_blocks

    ext, pitch, plane = layout(box)
    # gemm/row read the weights in place: true convolution (flip) walks the taps
    # of every channel backwards instead of reversing the weights
    off, _ = _tap_offsets(geometry, residues, ext, pitch, plane,
                          reverse_taps=flip and kind in (0, 1))
    if kind == 2:
        off = off[:geometry.kernel[1]]  # column offsets; row r adds r * pitch[0]
    wino = {}
    if kind == 3:
        wino_th, wino_tw = box[0] // 2, box[1] // 2
        wino_tp = -(-(wino_th * wino_tw) // nr) * nr
        off = np.arange(cin_g, dtype=np.int64) * wino_tp  # channel rows of V
        # the 16 transform planes of V and of M sit one cache line off a multiple of
        # 4 KiB apart, so the transforms' 16 streams do not contend for one L1 set
        wino = {"wino_th": wino_th, "wino_tw": wino_tw, "wino_tp": wino_tp,
                "wino_vx": cin_g * wino_tp + PLANE_ALIGN,
                "wino_mx": panels_per_block * mr * wino_tp + PLANE_ALIGN}
    qmax = sum((b - 1) * p for b, p in zip(box, pitch)) + 1
    band_elems = cin_g * n_phase * plane + nr + 16
    off_tail = np.zeros(0, dtype=np.int64)
    if inplace:   # rows of x itself; the band buffer holds only a partial tile's copy
        off = np.arange(cin_g, dtype=np.int64) * x_strides[1]
        off_tail = np.arange(cin_g, dtype=np.int64) * nr
        band_elems = cin_g * nr + nr + 16
    table_elems = sum(len(r) * e for r, e in zip(residues, ext))
    res_flat = [r for rs in residues for r in rs]
    res_start = np.cumsum([0] + [len(r) for r in residues[:-1]])
    out_strides = [1] * (ndim + 1)
    for i in range(ndim - 1, -1, -1):
        out_strides[i] = out_strides[i + 1] * (geometry.out_spatial[i + 1] if i + 1 < ndim else 1)
    out_strides[ndim] = prod(geometry.out_spatial)

    # The per-thread scratch layout, in bytes, each part aligned to 64: the
    # band's cache key, the band, a scratch tile, the index tables (origin,
    # blen and two tile multi-indices, the band builder's counters and runs,
    # and the per-dim index maps), and for Winograd its V and M buffers.  The
    # core allocates and addresses exactly this.
    def rounded(nbytes):
        return -(-nbytes // 64) * 64

    if kind == 0:
        kc = max(8, KC_TARGET_BYTES // (nr * esize))
        blocks = max(1, -(-geometry.reduction_length // kc))
        kc = max(1, -(-geometry.reduction_length // blocks))  # blocks of even length
    else:
        kc = max(1, geometry.reduction_length)
    tile_panels = panels_per_block if kind in (0, 1) else 1  # gemm_tiles keeps one per panel
    layout = {
        "band_bytes": rounded(band_elems * esize),
        "tile_bytes": rounded(tile_panels * mr * nr * esize),
        "table_bytes": rounded(8 * (table_elems + 8 * ndim + 16 + 3 * len(residues[-1]))),
        "wino_v_bytes": rounded(16 * wino["wino_vx"] * esize) if kind == 3 else 0,
        "wino_m_bytes": (rounded(16 * wino["wino_mx"] * esize)
                         if kind == 3 else 0),
    }
    scratch = 64 + sum(layout.values())
    if kind == 3:
        packed_elems = 16 * geometry.groups * n_panels * cin_g * mr
    elif kind in (2, 4):   # rowblock, depthwise: the taps of every group
        packed_elems = geometry.groups * geometry.reduction_length
    else:  # gemm/row read the weights in place; a short last panel is copied, padded
        short = geometry.out_per_group % mr != 0
        packed_elems = geometry.groups * mr * geometry.reduction_length if short else 0
    packed = packed_elems * esize
    # More threads than units, or than the scratch bound allows, would only
    # idle or spill: results do not depend on the thread count, so cap it.
    threads = max(1, min(threads, n_units, WORKSPACE_LIMIT_BYTES // scratch))
    workspace = packed + threads * scratch + 128
    chunk = max(threads, int(n_units * CHUNK_FLOPS / max(flops, 1)))
    box_count = prod(-(-o // b) for o, b in zip(geometry.out_spatial, box))
    # every unit is one (image, group, box, channel block), or for the depthwise
    # kernel one (image, block of groups, box): the core relies on it
    if kind == 4:
        assert n_units == geometry.batch * dw["dw_blocks"] * box_count
    else:
        assert n_units == geometry.batch * geometry.groups * box_count * m_blocks
    tables = {
        "ndim": ndim, "batch": geometry.batch, "groups": geometry.groups, "cin_g": cin_g,
        "cout_g": geometry.out_per_group, "mode": geometry.mode_code,
        "in_size": geometry.in_spatial, "stride": geometry.stride,
        "pad_lo": [lo for lo, _ in geometry.pads],
        "padded_size": [s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial, geometry.pads)],
        "out_size": geometry.out_spatial, "x_strides": x_strides, "box": box,
        "n_boxes": [-(-o // b) for o, b in zip(geometry.out_spatial, box)],
        "ext": ext, "pitch": pitch, "n_res": [len(r) for r in residues],
        "res_start": res_start, "res": res_flat, "n_phase": n_phase, "plane_size": plane,
        "box_count": box_count,
        "qmax": qmax, "off": off, "off_tail": off_tail, "inplace": inplace,
        "K": geometry.reduction_length, "kc": kc, "taps": taps,
        "flip": bool(flip), "kind": kind, "mr": mr, "nr": nr, "n_panels": n_panels,
        "panels_per_block": panels_per_block, "m_blocks": m_blocks, "n_units": n_units,
        "band_elems": band_elems, "out_strides": out_strides, "packed_elems": packed_elems,
        "scratch_bytes": scratch, **layout,
        "chunk": chunk, "rb_kh": geometry.kernel[0], "rb_kw": geometry.kernel[-1],
        **wino, **dw,
    }
    name = "gemm" if kind == 3 else kind_name
    tile = (_depthwise_rows(level, dtype) if kind == 4 else mr, nr)
    tables["threads"] = threads
    return (tables, (name, tile, set_name, tuple(box)), workspace, n_units, threads * scratch,
            packed)


def make_plan(geometry, dtype, *, threads, algorithm="auto", flip=False, x_strides=None,
              level=None):
    """Choose and lay out the computation of a validated problem."""
    if not isinstance(algorithm, str):
        raise TypeError(f"algorithm must be one of {', '.join(map(repr, ALGORITHMS))}; "
                        f"got {type(algorithm).__name__} {algorithm!r}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(map(repr, ALGORITHMS))}; "
                         f"got {algorithm!r}")
    dtype = np.dtype(dtype)
    level = _dispatch.level_code() if level is None else level
    if x_strides is None:  # C-contiguous (N, C, *spatial)
        shape = (geometry.batch, geometry.in_channels) + geometry.in_spatial
        x_strides = [prod(shape[i + 1:]) for i in range(len(shape))]
    if algorithm == "fft":
        from ._fft import fft_workspace_bytes
        return Plan("fft", "requested with algorithm='fft'", None, None, None, None,
                    dtype.name, threads, fft_workspace_bytes(geometry, dtype), geometry.flops,
                    geometry.batch, geometry)
    tables, microkernel, workspace, units, scratch, packed = _direct_tables(
        geometry, dtype, threads, level, x_strides, flip,
        forced=None if algorithm == "auto" else algorithm)
    if algorithm != "auto":
        reason = f"requested with algorithm={algorithm!r}"
    elif tables["kind"] == 3:
        reason = ("3x3, stride 1: Winograd F(2x2,3x3) does 2.25x fewer multiplies; its "
                  "transforms use only +-1 and 1/2, so the rounding stays that of direct "
                  "summation to a small factor")
    elif tables["kind"] == 4:
        reason = ("one channel per group on a 2-d image: units of whole channel planes, "
                  "output rows computed in place (no scratch tile, no scatter)")
    elif tables["kind"] == 2:
        reason = ("one channel per group on a 2-d image: row-blocked tiles reuse every input "
                  "load for several output rows")
    elif tables["kind"] == 1:
        reason = ("few output channels per group: one-row tiles over wide pixel runs "
                  "(depthwise / one-channel filtering)")
    else:
        reason = "register-blocked direct convolution, no im2col copy"
    if scratch > WORKSPACE_LIMIT_BYTES:
        raise MemoryError(
            f"the direct engine needs {scratch} bytes of scratch for this problem, above "
            f"the {WORKSPACE_LIMIT_BYTES}-byte limit (one output's input window across all "
            f"{geometry.in_per_group} channels of a group is too large)"
        )
    check_memory(workspace, "the direct engine's workspace (packed weights and scratch)")
    name, tile, simd, box = microkernel
    return Plan("winograd" if tables["kind"] == 3 else "direct", reason, name, tile, simd, box,
                dtype.name, tables["threads"], workspace, geometry.flops, units, geometry, tables)


#: Plans of recent calls of conv (see cached_plan): at most this many.
PLAN_CACHE_SIZE = 128
_plan_cache: dict = {}


def cached_plan(geometry, dtype, *, threads, algorithm="auto", flip=False, x_strides=None):
    """``make_plan`` for the compiled engine's own use, remembered per problem.

    A plan is a pure function of these arguments and the kernel level (planning
    costs about 70 us, as much as a small convolution).  The returned Plan and
    its tables are shared: read them, never modify them (``pyconvx.plan`` returns
    a fresh one).
    """
    level = _dispatch.level_code()
    key = (geometry, np.dtype(dtype).str, threads, algorithm, bool(flip),
           None if x_strides is None else tuple(int(s) for s in x_strides), level)
    try:
        found = _plan_cache.get(key)
    except TypeError:  # an unhashable argument: make_plan reports it
        found = key = None
    if found is None:
        found = make_plan(geometry, dtype, threads=threads, algorithm=algorithm, flip=flip,
                          x_strides=x_strides, level=level)
        if key is not None:
            if len(_plan_cache) >= PLAN_CACHE_SIZE:
                _plan_cache.clear()
            _plan_cache[key] = found
    return found


def plan(x, weight, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
         padding_mode="zeros", threads=None, algorithm="auto", dtype=None):
    """How :func:`pyconvx.conv` would compute this convolution, without running it.

    Parameters
    ----------
    x, weight : array_like or tuple of int
        The input and weight arrays, or just their shapes.
    stride, padding, dilation, groups, flip, padding_mode, threads, algorithm
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
    >>> p.algorithm, p.flops
    ('winograd', 1849688064)
    """
    shapes = []
    dtypes = []
    for value, name in ((x, "x"), (weight, "weight")):
        if isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
            shapes.append(value)
        else:
            array = as_array(value, name)
            shapes.append(array.shape)
            dtypes.append((array.dtype, name))
    geometry = describe_conv(shapes[0], shapes[1], stride=stride, padding=padding,
                             dilation=dilation, groups=groups, padding_mode=padding_mode)
    if dtype is not None:
        dtypes.append((np.dtype(dtype), "dtype"))
    compute_dtype = result_dtype(*dtypes) if dtypes else np.dtype(np.float32)
    return make_plan(geometry, compute_dtype, threads=resolve_threads(threads),
                     algorithm=algorithm, flip=flip)
