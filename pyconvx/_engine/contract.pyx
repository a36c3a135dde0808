"""The plan record of the direct engine, built and checked in one place.

``DirectPlan(fields)`` is the only way a plan reaches the engine.  It takes
every value the planner computed (the exact set of names in ``FIELDS``: a
missing or unexpected name is an error, never a silent default), copies them
into the C struct the nogil code reads, keeps the int64 tables those pointers
refer to alive, and checks the invariants the engine relies on: the tile is
the tile of the microkernel set it names, the work units cover the output
exactly, the tables have their lengths, and the per-thread scratch parts are
aligned, in order and inside the block.  After construction it is read-only.
"""

cimport cython
from libc.stdint cimport int64_t

import numpy as np

#: Scalar fields of a plan (ints, or bools where noted in contract.pxd).
SCALAR_FIELDS = (
    "ndim", "batch", "groups", "cin_g", "cout_g", "mode", "padding_value", "kernel_h", "kernel_w", "taps",
    "flip", "n_phase", "plane_size", "box_count", "band_elems", "qmax", "inplace",
    "band_channels_last", "level", "kind", "K", "kc", "mr", "nr", "n_panels", "panels_per_block", "m_blocks", "n_units",
    "chunk", "threads", "dynamic", "packed_elems", "wino_th", "wino_tw", "wino_tp", "wino_vx",
    "wino_mx", "dw_cpu", "dw_blocks", "dw_fast", "dw_lanes",
    "out_unit_stride", "x_offset", "w_offset",
    "x_channels_per_group", "lda", "accumulate",
)
#: int64 table fields (one entry per spatial dim unless stated in contract.pxd).
TABLE_FIELDS = (
    "in_size", "stride", "pad_lo", "padded_size", "out_size", "x_strides", "out_strides",
    "box", "n_boxes", "ext", "pitch", "n_res", "res_start", "res", "off", "off_tail",
)
#: Fields of the per-thread scratch layout (see ScratchLayout in contract.pxd).
SCRATCH_BYTE_FIELDS = ("band", "tile", "index", "winograd_v", "winograd_m", "stage",
                       "bytes_per_thread")
SCRATCH_INDEX_FIELDS = ("origin", "blen", "o", "o0", "counter", "res_idx", "tab_base",
                        "run_lo", "run_hi", "run_src", "table", "index_elems")
#: Every field a plan is built from.
FIELDS = frozenset(SCALAR_FIELDS + TABLE_FIELDS + ("dtype", "scratch"))

#: Alignment of every part of the scratch, in bytes.
SCRATCH_ALIGN = 64


cdef const pcx_ukernel_set *ukernel_set(int level) noexcept nogil:
    """The microkernel set of ``level``, or NULL when it is not compiled in."""
    return pcx_ukernel_set_for(level)


cdef int detected_level() noexcept nogil:
    """Highest level compiled in and supported by this CPU and OS."""
    return pcx_cpu_level()


def ukernel_set_tiles(int level):
    """Register tiles of the microkernel set of ``level``, or None if not compiled in.

    A dict ``{dtype name: {microkernel: (rows, columns)}}`` plus ``"name"``.
    """
    cdef const pcx_ukernel_set *ks = pcx_ukernel_set_for(level)
    if ks == NULL:
        return None
    return {
        "name": ks.name.decode("ascii"),
        "float32": {
            "gemm": (ks.f32.gemm.mr, ks.f32.gemm.nr),
            "gemm_narrow1": (ks.f32.gemm_narrow.mr, ks.f32.gemm_narrow.vl),
            "gemm_narrow2": (ks.f32.gemm_narrow.mr, 2 * ks.f32.gemm_narrow.vl),
            "gemm_tall": (2 * ks.f32.gemm_narrow.mr, ks.f32.gemm_narrow.vl),
            "row": (ks.f32.row.mr, ks.f32.row.nr),
            "cgemm": (ks.f32.cgemm.mr, ks.f32.cgemm.nr),
            "rowblock": (ks.f32.rowblock.mb, ks.f32.rowblock.nr),
            "depthwise": (ks.f32.depthwise.mb, ks.f32.depthwise.vl),
            "depthwise_lanes": (ks.f32.depthwise.nb, ks.f32.depthwise.vl),
        },
        "float64": {
            "gemm": (ks.f64.gemm.mr, ks.f64.gemm.nr),
            "gemm_narrow1": (ks.f64.gemm_narrow.mr, ks.f64.gemm_narrow.vl),
            "gemm_narrow2": (ks.f64.gemm_narrow.mr, 2 * ks.f64.gemm_narrow.vl),
            "gemm_tall": (2 * ks.f64.gemm_narrow.mr, ks.f64.gemm_narrow.vl),
            "row": (ks.f64.row.mr, ks.f64.row.nr),
            "cgemm": (ks.f64.cgemm.mr, ks.f64.cgemm.nr),
            "rowblock": (ks.f64.rowblock.mb, ks.f64.rowblock.nr),
            "depthwise": (ks.f64.depthwise.mb, ks.f64.depthwise.vl),
            "depthwise_lanes": (ks.f64.depthwise.nb, ks.f64.depthwise.vl),
        },
    }


@cython.auto_pickle(False)   # it holds pointers: a plan is rebuilt, never unpickled
cdef class DirectPlan:
    """A frozen, checked plan for the direct engine (build with a dict of FIELDS)."""

    def __init__(self, dict fields):
        missing = FIELDS - fields.keys()
        unexpected = fields.keys() - FIELDS
        if missing or unexpected:
            raise ValueError(f"inconsistent plan: missing fields {sorted(missing)}, "
                             f"unexpected fields {sorted(unexpected)}")
        self.fields = dict(fields)
        self.dtype = np.dtype(fields["dtype"])
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"inconsistent plan: dtype {self.dtype}")
        tables = {name: np.ascontiguousarray(fields[name], dtype=np.int64).ravel()
                  for name in TABLE_FIELDS}
        self._arrays = tables
        _set_scalars(&self.geo, fields)
        _set_tables(&self.geo, tables)
        _set_scratch(&self.geo.scratch, fields["scratch"])
        self.ukernels = pcx_ukernel_set_for(self.geo.level)
        if self.ukernels == NULL:
            raise ValueError(f"inconsistent plan: SIMD level {self.geo.level} is not compiled in")
        _check(&self.geo, self.ukernels, self.dtype, tables)

    def __repr__(self):
        g = self.geo
        return (f"DirectPlan({Kind(g.kind).name}, {SimdLevel(g.level).name}, "
                f"{self.dtype}, tile {g.mr}x{g.nr}, units {g.n_units}, "
                f"scratch {g.scratch.bytes_per_thread} B/thread)")


cdef _set_scalars(DirectGeometry *g, dict f):
    g.ndim = f["ndim"]
    g.batch = f["batch"]
    g.groups = f["groups"]
    g.cin_g = f["cin_g"]
    g.cout_g = f["cout_g"]
    g.mode = PaddingMode(f["mode"])
    g.padding_value = f["padding_value"]
    if g.mode != CONSTANT and g.padding_value != 0:
        raise ValueError("inconsistent plan: a padding value with a mode other than CONSTANT")
    g.kernel_h = f["kernel_h"]
    g.kernel_w = f["kernel_w"]
    g.taps = f["taps"]
    g.flip = f["flip"]
    g.n_phase = f["n_phase"]
    g.plane_size = f["plane_size"]
    g.box_count = f["box_count"]
    g.band_elems = f["band_elems"]
    g.qmax = f["qmax"]
    g.inplace = f["inplace"]
    g.band_channels_last = f["band_channels_last"]
    g.level = SimdLevel(f["level"])
    g.kind = Kind(f["kind"])
    g.K = f["K"]
    g.kc = f["kc"]
    g.mr = f["mr"]
    g.nr = f["nr"]
    g.n_panels = f["n_panels"]
    g.panels_per_block = f["panels_per_block"]
    g.m_blocks = f["m_blocks"]
    g.n_units = f["n_units"]
    g.chunk = f["chunk"]
    g.threads = f["threads"]
    g.packed_elems = f["packed_elems"]
    g.wino_th = f["wino_th"]
    g.wino_tw = f["wino_tw"]
    g.wino_tp = f["wino_tp"]
    g.wino_vx = f["wino_vx"]
    g.wino_mx = f["wino_mx"]
    g.dw_cpu = f["dw_cpu"]
    g.dw_blocks = f["dw_blocks"]
    g.dw_fast = f["dw_fast"]
    g.dw_lanes = f["dw_lanes"]
    g.dynamic = f["dynamic"]
    g.out_unit_stride = f["out_unit_stride"]
    g.x_offset = f["x_offset"]
    g.w_offset = f["w_offset"]
    g.x_channels_per_group = f["x_channels_per_group"]
    g.lda = f["lda"]
    g.accumulate = f["accumulate"]

cdef _set_tables(DirectGeometry *g, dict t):
    g.in_size = _data(t["in_size"])
    g.stride = _data(t["stride"])
    g.pad_lo = _data(t["pad_lo"])
    g.padded_size = _data(t["padded_size"])
    g.out_size = _data(t["out_size"])
    g.x_strides = _data(t["x_strides"])
    g.out_strides = _data(t["out_strides"])
    g.box = _data(t["box"])
    g.n_boxes = _data(t["n_boxes"])
    g.ext = _data(t["ext"])
    g.pitch = _data(t["pitch"])
    g.n_res = _data(t["n_res"])
    g.res_start = _data(t["res_start"])
    g.res = _data(t["res"])
    g.off = _data(t["off"])
    g.off_tail = _data(t["off_tail"])

cdef _set_scratch(ScratchLayout *L, dict s):
    expected = set(SCRATCH_BYTE_FIELDS + SCRATCH_INDEX_FIELDS)
    if s.keys() != expected:
        raise ValueError(f"inconsistent plan: scratch layout fields {sorted(s)}, "
                         f"expected {sorted(expected)}")
    L.band = s["band"]
    L.tile = s["tile"]
    L.index = s["index"]
    L.winograd_v = s["winograd_v"]
    L.winograd_m = s["winograd_m"]
    L.stage = s["stage"]
    L.bytes_per_thread = s["bytes_per_thread"]
    L.origin = s["origin"]
    L.blen = s["blen"]
    L.o = s["o"]
    L.o0 = s["o0"]
    L.counter = s["counter"]
    L.res_idx = s["res_idx"]
    L.tab_base = s["tab_base"]
    L.run_lo = s["run_lo"]
    L.run_hi = s["run_hi"]
    L.run_src = s["run_src"]
    L.table = s["table"]
    L.index_elems = s["index_elems"]

cdef _check(const DirectGeometry *g, const pcx_ukernel_set *ks, dtype, dict t):
    cdef int64_t D = g.ndim
    lengths = {"in_size": D, "stride": D, "pad_lo": D, "padded_size": D, "out_size": D,
               "x_strides": D + 2, "out_strides": D + 2, "box": D, "n_boxes": D,
               "ext": D, "pitch": D, "n_res": D, "res_start": D,
               "res": int(t["n_res"].sum()),
               "off_tail": g.cin_g if g.inplace else 0}
    for name, length in lengths.items():
        if t[name].shape[0] != length:
            raise ValueError(f"inconsistent plan: {name} has {t[name].shape[0]} entries, "
                             f"expected {length}")
    off_length = {GEMM: g.cin_g if g.inplace else g.K, ROW: g.cin_g if g.inplace else g.K,
                  CGEMM: g.cin_g if g.inplace else g.K,
                  ROWBLOCK: g.kernel_w, WINOGRAD: g.cin_g, DEPTHWISE: g.K}[g.kind]
    if t["off"].shape[0] != off_length:
        raise ValueError(f"inconsistent plan: off has {t['off'].shape[0]} entries, "
                         f"expected {off_length}")
    tile = _ukernel_tile(ks, dtype, g.kind)
    if (g.mr, g.nr) != tile:
        raise ValueError(f"inconsistent plan: tile {(g.mr, g.nr)} is not the "
                         f"{Kind(g.kind).name} tile {tile} of the "
                         f"{ks.name.decode('ascii')} microkernels")
    if g.kind == DEPTHWISE:
        if D != 2 or g.cin_g != 1 or g.cout_g != 1 or g.dw_cpu * g.dw_blocks < g.groups:
            raise ValueError("inconsistent plan: the depthwise kernel needs 2-d, one "
                             "channel per group, and channel blocks covering every group")
        units = g.batch * g.dw_blocks * g.box_count
        if g.dw_lanes:
            _check_lanes(g, t)
    elif g.dw_lanes:
        raise ValueError("inconsistent plan: only the depthwise kind runs on lanes")
    else:
        units = g.batch * g.groups * g.box_count * g.m_blocks
    boxes = 1
    for i in range(D):
        boxes *= t["n_boxes"][i]
        if t["n_boxes"][i] * t["box"][i] < t["out_size"][i]:
            raise ValueError("inconsistent plan: the boxes do not cover the output")
    if g.kind == WINOGRAD and (D != 2 or t["box"][0] != 2 * g.wino_th
                               or t["box"][1] != 2 * g.wino_tw
                               or g.wino_tp < g.wino_th * g.wino_tw or g.wino_tp % g.nr):
        raise ValueError("inconsistent plan: Winograd's tiles do not match its 2-d box")
    if g.n_units != units or boxes != g.box_count:
        raise ValueError("inconsistent plan: work units do not cover the output exactly")
    if g.threads < 1 or g.chunk < 1:
        raise ValueError("inconsistent plan: threads and chunk must be >= 1")
    if g.out_unit_stride != (t["out_strides"][D + 1] == 1):
        raise ValueError("inconsistent plan: out_unit_stride does not match out_strides")
    blocked = (g.accumulate or g.lda != g.K or g.x_channels_per_group != g.cin_g
               or g.x_offset != 0 or g.w_offset != 0)
    if blocked and g.kind not in (GEMM, ROW):
        raise ValueError("inconsistent plan: only the gemm and row tiles run reduction blocks")
    if g.band_channels_last and (g.kind != CGEMM or D != 2 or g.n_phase != 1 or g.inplace
                                 or g.mode not in (ZEROS, CONSTANT)
                                 or t["stride"][0] != 1 or t["stride"][1] != 1
                                 or t["x_strides"][1] != 1
                                 or g.band_elems < t["ext"][0] * t["ext"][1] * g.cin_g):
        raise ValueError("inconsistent plan: a channels-last band needs the channel tile, "
                         "2-d, stride 1, a zero or constant border, channels-last x and "
                         "room for every padded position's channels")
    _check_pitch(g, t)
    if g.lda < g.K or g.x_channels_per_group < g.cin_g:
        raise ValueError("inconsistent plan: a reduction block larger than its weights or x")
    cdef const ScratchLayout *L = &g.scratch
    parts = [SCRATCH_ALIGN, L.band, L.tile, L.index, L.winograd_v, L.winograd_m, L.stage,
             L.bytes_per_thread]
    if parts != sorted(parts) or any(p % SCRATCH_ALIGN for p in parts):
        raise ValueError(f"inconsistent plan: scratch parts {parts} are not aligned "
                         f"and in order")
    if L.band + g.band_elems * dtype.itemsize > L.tile:
        raise ValueError("inconsistent plan: the band overlaps the scratch tiles")
    if L.table > L.index_elems or L.index + 8 * L.index_elems > L.winograd_v:
        raise ValueError("inconsistent plan: the index area overlaps Winograd's planes")

cdef _check_pitch(const DirectGeometry *g, dict t):
    """The band's pitches: row-major over ``ext``, except the rows of a band
    whose rows share border columns (a gemm band copied a row at a time,
    2-d, one phase, whole output rows at stride 1 along them, a zero or
    constant border on both sides at least as wide as what they share)."""
    cdef int64_t D = g.ndim, i
    ext, pitch = t["ext"], t["pitch"]
    if pitch[D - 1] != 1 or any(pitch[i] != pitch[i + 1] * ext[i + 1] for i in range(D - 2)):
        raise ValueError(f"inconsistent plan: band pitches {[int(v) for v in pitch]} for "
                         f"extents {[int(v) for v in ext]}")
    if D < 2 or pitch[D - 2] == ext[D - 1]:
        return
    shared = ext[1] - pitch[0]
    pad_hi = t["padded_size"][1] - t["in_size"][1] - t["pad_lo"][1]
    if (D != 2 or g.kind != GEMM or g.n_phase != 1 or g.inplace or g.band_channels_last
            or g.mode not in (ZEROS, CONSTANT) or t["stride"][1] != 1
            or t["x_strides"][3] != 1 or t["n_boxes"][1] != 1
            or not 0 < shared <= min(t["pad_lo"][1], pad_hi)
            or pitch[0] < t["box"][1]):
        raise ValueError(f"inconsistent plan: band rows {pitch[0]} apart for {ext[1]} "
                         f"columns: only the gemm tile's 2-d band of whole output rows "
                         f"may share border columns, as many as its zero or constant "
                         f"border has on both sides")


cdef _check_lanes(const DirectGeometry *g, dict t):
    """The lanes layout of a depthwise plan: one box, VL channels per unit, a
    zero or constant border, a band (then the output rows, the lanes' weights
    and bias) that every tap's read stays inside."""
    cdef int64_t vl = g.nr
    positions = int(t["padded_size"][0]) * int(t["padded_size"][1])
    outputs = int(t["out_size"][0]) * int(t["out_size"][1])
    if (g.mode not in (ZEROS, CONSTANT) or g.dw_cpu != vl or g.box_count != 1
            or g.band_elems < (positions + outputs + g.K + 1) * vl
            or any(t["pad_lo"] < 0) or any(t["padded_size"] < t["in_size"] + t["pad_lo"])):
        raise ValueError("inconsistent plan: the depthwise lanes need a zero or constant "
                         "border, VL channels per unit, one box and a band of every "
                         "padded position")
    last = ((int(t["out_size"][0]) - 1) * int(t["stride"][0]) * int(t["padded_size"][1])
            + (int(t["out_size"][1]) - 1) * int(t["stride"][1])) * vl
    if g.K > 0 and (t["off"].min() < 0 or t["off"].max() + last + vl > positions * vl):
        raise ValueError("inconsistent plan: a depthwise lane tap reads outside the band")


cdef tuple _ukernel_tile(const pcx_ukernel_set *ks, dtype, int64_t kind):
    """(rows, columns) of the tile of ``kind`` in the microkernel set ``ks``."""
    if dtype == np.float32:
        return {GEMM: (ks.f32.gemm.mr, ks.f32.gemm.nr),
                WINOGRAD: (ks.f32.gemm.mr, ks.f32.gemm.nr),
                CGEMM: (ks.f32.cgemm.mr, ks.f32.cgemm.nr),
                ROW: (ks.f32.row.mr, ks.f32.row.nr),
                ROWBLOCK: (ks.f32.rowblock.mb, ks.f32.rowblock.nr),
                DEPTHWISE: (1, ks.f32.depthwise.vl)}[kind]
    return {GEMM: (ks.f64.gemm.mr, ks.f64.gemm.nr),
            WINOGRAD: (ks.f64.gemm.mr, ks.f64.gemm.nr),
            CGEMM: (ks.f64.cgemm.mr, ks.f64.cgemm.nr),
            ROW: (ks.f64.row.mr, ks.f64.row.nr),
            ROWBLOCK: (ks.f64.rowblock.mb, ks.f64.rowblock.nr),
            DEPTHWISE: (1, ks.f64.depthwise.vl)}[kind]


cdef const int64_t *_data(object table):
    """Pointer to a contiguous int64 table's data (NULL when it is empty)."""
    cdef const int64_t[::1] view = table
    if view.shape[0] == 0:
        return NULL
    return &view[0]
