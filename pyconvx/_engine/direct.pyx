"""The direct engine's executor: runs a frozen ``DirectPlan`` over its work units.

This module only computes.  The planner (``pyconvx._engine.plan``) has laid
everything out in the plan record; ``run`` checks that the arrays it is given
are the ones the plan describes, allocates the workspace (repacked weights and
one scratch block per thread), releases the GIL and splits the *output* work
units over OpenMP threads: a static schedule (runs of consecutive units, which
share their input bands), except for units that share no band (depthwise, and
pointwise layers reading x itself), handed to threads as they come free; each
output is computed by one unit whatever the thread, so its summation order
never depends on the thread count.  The calling thread checks for Ctrl-C
every few of its units; the others stop before their next one once it has
seen one.

For one work unit (an image, a channel group, an output box and a block of
output channels) the unit's input band is built (``stage.build_band``: the
padded, phase-split input region, so every tap reads NR contiguous values for
NR consecutive output positions).  Output positions are numbered in the band's
pitch space (a few "garbage" border columns per row are computed and thrown
away; fewer where consecutive rows share a zero or constant border), and
row ``k`` of the implicit im2col matrix is just ``band + off[k]``.  A
microkernel computes an MR x NR register tile over the whole reduction; the
tile is written in place when its outputs are contiguous, else scattered.
Pointwise layers read ``x`` itself instead of a band.  The depthwise kind (2-d,
one channel per group) works on units of several channel planes and writes
whole output rows in place, reading x itself where a box needs no border
rows; Winograd transforms the band's 4x4 tiles, runs 16
GEMMs on the gemm tile and transforms the products back.
"""

from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free
from libc.string cimport memcpy, memset

cimport numpy as cnp

import numpy as np

from pyconvx._engine.contract cimport (CGEMM, DEPTHWISE, GEMM, ROW, ROWBLOCK, WINOGRAD,
                                       DirectGeometry, DirectPlan, Kind, pcx_ukernel_set, real)
from pyconvx._engine.chunks cimport poll_signals, stop_raised
from pyconvx._engine.stage cimport (build_band, build_tables, depthwise_band, lanes_band,
                                    pack_weights, transpose_lanes)

cnp.import_array()

cdef extern from "driver.h" nogil:
    int64_t pcx_offset(const int64_t *origin, const int64_t *index, const int64_t *strides,
                       int64_t ndim)
    void *pcx_workspace_alloc(size_t nbytes)
    void pcx_prefetch_run_l2(const void *p, int64_t nbytes)

# Alignment of the workspace's parts, in bytes.
cdef enum:
    ALIGN = 64


cdef inline char *align_up(char *ptr) noexcept nogil:
    return <char *>((<uintptr_t>ptr + ALIGN - 1) & ~(<uintptr_t>(ALIGN - 1)))


cdef inline int64_t span(const DirectGeometry *geo, int64_t i) noexcept nogil:
    """Pitch-space positions along band dim ``i`` before the next index of dim
    i - 1: ``ext[i]``, or fewer for rows that share border columns (the
    pitches say how many)."""
    if i == 0:
        return geo.ext[0]
    return geo.pitch[i - 1] // geo.pitch[i]


cdef inline void advance(const DirectGeometry *geo, int64_t *o, int64_t steps) noexcept nogil:
    """Move the band multi-index ``o`` forward by ``steps`` pitch-space positions."""
    cdef int64_t i = geo.ndim - 1, n = span(geo, i)
    o[i] += steps
    while i > 0 and o[i] >= n:
        o[i] -= n
        o[i - 1] += 1
        if o[i] < n:
            i -= 1
            n = span(geo, i)


cdef inline int64_t segment(const DirectGeometry *geo, int64_t q, int64_t q_end,
                            const int64_t *o, const int64_t *origin, const int64_t *blen,
                            int64_t *length, int64_t *dst) noexcept nogil:
    """The band-row segment at pitch position ``q`` (multi-index ``o``): its length
    up to the row's end or ``q_end`` goes to ``length``, the output offset of its
    first position (spatial strides of ``out``) to ``dst``; returns how many of
    its leading positions are valid outputs (0 for a garbage row or column)."""
    cdef int64_t last = geo.ndim - 1, i, valid
    length[0] = span(geo, last) - o[last]
    if length[0] > q_end - q:
        length[0] = q_end - q
    for i in range(last):
        if o[i] >= blen[i]:
            return 0
    valid = blen[last] - o[last]
    if valid <= 0:
        return 0
    dst[0] = pcx_offset(origin, o, geo.out_strides + 2, geo.ndim)
    return valid if valid < length[0] else length[0]


cdef int64_t tile_target(const DirectGeometry *geo, int64_t q0, const int64_t *o0,
                         const int64_t *origin, const int64_t *blen, int64_t *o) noexcept nogil:
    """Output offset of the tile at ``q0`` (band multi-index ``o0``) if its NR
    positions are all valid and contiguous in the output (the kernel may then
    store there directly), else -1.  Needs unit-stride output rows."""
    cdef int64_t q = q0, q_end = q0 + geo.nr, i, length, dst, first = -1, expect = 0
    if q_end > geo.qmax:
        return -1
    for i in range(geo.ndim):
        o[i] = o0[i]
    while q < q_end:
        if segment(geo, q, q_end, o, origin, blen, &length, &dst) != length:
            return -1
        if first < 0:
            first = dst
        elif dst != expect:
            return -1
        expect = dst + length
        q += length
        advance(geo, o, length)
    return first


cdef inline void copy_out(real *dst, int64_t step, const real *src, int64_t count) noexcept nogil:
    """dst[t * step] = src[t] for t < count (step: the output's last spatial stride)."""
    cdef int64_t t
    # short runs are the common case here: a loop beats a memcpy call
    if step == 1:
        for t in range(count):
            dst[t] = src[t]
    else:
        for t in range(count):
            dst[t * step] = src[t]


cdef inline void copy_in(real *dst, const real *src, int64_t step, int64_t count) noexcept nogil:
    """dst[t] = src[t * step] for t < count (the inverse of copy_out)."""
    cdef int64_t t
    for t in range(count):
        dst[t] = src[t * step]


cdef void scatter_tile(const DirectGeometry *geo, real *tile, int64_t rows, int64_t q0,
                       const int64_t *o0, real *out_rows, const int64_t *origin,
                       const int64_t *blen, int64_t *o, bint gather) noexcept nogil:
    """Copy the valid positions of an MR x NR tile into the output (``out_rows``:
    the tile's first output channel), or with ``gather`` the other way: load the
    output's current values into the tile (zeros elsewhere), for a plan that adds
    to what earlier reduction blocks wrote."""
    cdef int64_t q = q0, q_end = q0 + geo.nr, i, m, count, length, dst
    cdef int64_t step = geo.out_strides[geo.ndim + 1], channel = geo.out_strides[1]
    if gather:
        memset(tile, 0, rows * geo.nr * sizeof(real))
    if q_end > geo.qmax:
        q_end = geo.qmax
    for i in range(geo.ndim):
        o[i] = o0[i]
    while q < q_end:
        count = segment(geo, q, q_end, o, origin, blen, &length, &dst)
        for m in range(rows if count > 0 else 0):
            if gather:
                copy_in(tile + m * geo.nr + (q - q0), out_rows + m * channel + dst, step, count)
            else:
                copy_out(out_rows + m * channel + dst, step, tile + m * geo.nr + (q - q0), count)
        q += length
        advance(geo, o, length)


cdef inline void run_tile(const pcx_ukernel_set *ks, Kind kind, int64_t K, const real *A,
                          int64_t lda, const real *B, const int64_t *off, real *C, int64_t ldc,
                          const real *bias, int64_t load_c=0) noexcept nogil:
    """One gemm (MR x NR) or row (1 x NR) tile of this plan's dtype."""
    if real is float:
        if kind == ROW:
            ks.f32.row.run(K, A, lda, B, off, C, ldc, bias, load_c)
        else:
            ks.f32.gemm.run(K, A, lda, B, off, C, ldc, bias, load_c)
    else:
        if kind == ROW:
            ks.f64.row.run(K, A, lda, B, off, C, ldc, bias, load_c)
        else:
            ks.f64.gemm.run(K, A, lda, B, off, C, ldc, bias, load_c)


cdef enum:
    # The tall variant (two panels, 2 MR weight rows lda apart) runs only up to
    # this many rows: a power-of-two lda puts every row in one set of an 8-way
    # L1 cache (measured on AVX-512, 16 rows: 1x1 1024->256 at 14x14 9-11%
    # slower; on AVX2, 8 rows: 1x1 layers at 7x7 5-6% faster).
    TALL_MAX_ROWS = 8


cdef inline void run_narrow(const pcx_ukernel_set *ks, int64_t nv, int64_t K, const real *A,
                            int64_t lda, const real *B, const int64_t *off, real *C,
                            int64_t ldc, const real *bias, int64_t load_c) noexcept nogil:
    """The gemm tile's variant ``nv`` vectors wide (the same bits per column);
    ``nv`` 0: the one-vector variant over two panels (2 MR rows)."""
    if real is float:
        if nv == 0:
            ks.f32.gemm_narrow.tall(K, A, lda, B, off, C, ldc, bias, load_c)
        else:
            ks.f32.gemm_narrow.run[nv - 1](K, A, lda, B, off, C, ldc, bias, load_c)
    else:
        if nv == 0:
            ks.f64.gemm_narrow.tall(K, A, lda, B, off, C, ldc, bias, load_c)
        else:
            ks.f64.gemm_narrow.run[nv - 1](K, A, lda, B, off, C, ldc, bias, load_c)


cdef void store_plane(const DirectGeometry *geo, const real *stage, int64_t rows,
                      int64_t cols, real *dst) noexcept nogil:
    """Copy a rows x cols box written contiguously in ``stage`` to ``dst`` with the
    output's row and column strides (outputs whose rows are not unit-stride)."""
    cdef int64_t r
    for r in range(rows):
        copy_out(dst + r * geo.out_strides[2], geo.out_strides[3], stage + r * cols, cols)


cdef inline int64_t block_start(const DirectGeometry *geo, int64_t mb) noexcept nogil:
    """First panel of block ``mb`` of output channels: the ``m_blocks`` blocks
    split the panels as evenly as they go (at most ``panels_per_block`` each)."""
    return mb * geo.n_panels // geo.m_blocks


cdef void winograd_unit(const DirectGeometry *geo, const pcx_ukernel_set *ks, int64_t g,
                        int64_t n, int64_t mb, const int64_t *origin, const int64_t *blen,
                        const real *packed, const real *band, bint fresh, real *V, real *M,
                        real *stage, const real *bias, real *out) noexcept nogil:
    """Winograd F(2x2, 3x3) over one box: transform the band's tiles (once per
    band), 16 GEMMs of the panels of this block, output transform with bias."""
    cdef int64_t th = geo.wino_th, tw = geo.wino_tw, tp = geo.wino_tp, T = th * tw
    cdef int64_t vx = geo.wino_vx, mx = geo.wino_mx   # transform-plane strides of V, M
    cdef int64_t K = geo.cin_g, ci, xi, i, q0, row, co, rows_in_block
    cdef int64_t cols = blen[1], ldo = geo.out_strides[2]
    cdef int64_t p0 = block_start(geo, mb)
    cdef int64_t p_end = block_start(geo, mb + 1)
    cdef real b
    cdef real *out_plane
    cdef real *target
    if p_end > geo.n_panels:
        p_end = geo.n_panels
    if fresh:
        for ci in range(K):
            if real is float:
                ks.f32.winograd_input(band + ci * geo.plane_size, geo.ext[1], th, tw,
                                      V + ci * tp, vx)
            else:
                ks.f64.winograd_input(band + ci * geo.plane_size, geo.ext[1], th, tw,
                                      V + ci * tp, vx)
            for xi in range(16):   # the GEMMs read whole NR tiles: zero the tail
                memset(V + xi * vx + ci * tp + T, 0, (tp - T) * sizeof(real))
    # per transform point, tile by tile: a tile's K x NR rows of V stay in L1
    # while every panel of the block uses them
    for xi in range(16):
        q0 = 0
        while q0 < T:
            for i in range(p0, p_end):
                run_tile(ks, GEMM, K,
                         packed + ((xi * geo.groups + g) * geo.n_panels + i) * K * geo.mr, K,
                         V + xi * vx + q0, geo.off,
                         M + xi * mx + (i - p0) * geo.mr * tp + q0, tp, NULL)
            q0 += geo.nr
    rows_in_block = geo.cout_g - p0 * geo.mr
    if rows_in_block > (p_end - p0) * geo.mr:
        rows_in_block = (p_end - p0) * geo.mr
    for row in range(rows_in_block):
        co = g * geo.cout_g + p0 * geo.mr + row
        b = bias[(g * geo.n_panels + p0) * geo.mr + row] if bias != NULL else 0
        out_plane = (out + n * geo.out_strides[0] + co * geo.out_strides[1]
                     + origin[0] * ldo + origin[1] * geo.out_strides[3])
        target = out_plane if geo.out_unit_stride else stage
        if real is float:
            ks.f32.winograd_output(M + row * tp, mx, th, tw, target,
                                   ldo if geo.out_unit_stride else cols, blen[0], cols, b)
        else:
            ks.f64.winograd_output(M + row * tp, mx, th, tw, target,
                                   ldo if geo.out_unit_stride else cols, blen[0], cols, b)
        if not geo.out_unit_stride:
            store_plane(geo, stage, blen[0], cols, out_plane)


cdef inline void box_origin(const DirectGeometry *geo, int64_t box_lin, int64_t *origin,
                            int64_t *blen) noexcept nogil:
    """First output index and extent, per dim, of output box number ``box_lin``."""
    cdef int64_t i = geo.ndim - 1, rem = box_lin
    while i >= 0:
        origin[i] = (rem % geo.n_boxes[i]) * geo.box[i]
        rem = rem // geo.n_boxes[i]
        blen[i] = geo.out_size[i] - origin[i]
        if blen[i] > geo.box[i]:
            blen[i] = geo.box[i]
        i -= 1


cdef void run_unit(const DirectGeometry *geo, const pcx_ukernel_set *ks, int64_t u,
                   const real *x, const real *w, const real *packed, const real *bias,
                   real *out, char *scratch) noexcept nogil:
    """Compute one work unit: (image, group, output box, block of channel panels)."""
    cdef int64_t D = geo.ndim
    cdef int64_t *key = <int64_t *>scratch
    cdef real *band = <real *>(scratch + geo.scratch.band)
    cdef real *tile = <real *>(scratch + geo.scratch.tile)
    cdef int64_t *index = <int64_t *>(scratch + geo.scratch.index)
    cdef int64_t *origin = index + geo.scratch.origin
    cdef int64_t *blen = index + geo.scratch.blen
    cdef int64_t *o = index + geo.scratch.o
    cdef int64_t *o0 = index + geo.scratch.o0
    cdef int64_t mb = u % geo.m_blocks
    cdef int64_t rest = u // geo.m_blocks
    cdef int64_t box_lin = rest % geo.box_count
    cdef int64_t ng = rest // geo.box_count
    cdef int64_t g = ng % geo.groups
    cdef int64_t n = ng // geo.groups
    cdef int64_t i, p, p_end
    cdef bint fresh
    cdef const real *src
    cdef int64_t cl_pitch[2]
    if geo.kind == DEPTHWISE:
        depthwise_unit(geo, ks, u, x, packed, bias, out, scratch)
        return
    box_origin(geo, box_lin, origin, blen)
    p = block_start(geo, mb)
    p_end = block_start(geo, mb + 1)
    if geo.inplace:   # x itself is the band; the buffer takes partial tiles
        src = x + n * geo.x_strides[0] + g * geo.x_channels_per_group * geo.x_strides[1]
        for i in range(D):
            src += origin[i] * geo.x_strides[2 + i]
        if geo.kind == CGEMM:
            cgemm_tiles(geo, ks, p, p_end, g, n, origin, blen, packed, src, geo.x_strides + 2,
                        tile, bias, out)
        else:
            gemm_tiles(geo, ks, p, p_end, g, n, origin, blen, w, packed, src, band, tile, o0,
                       o, bias, out)
        return
    fresh = key[0] != rest
    if fresh:
        build_band(geo, ks, x, n, g, band, index)
        key[0] = rest
    if geo.kind == WINOGRAD:
        winograd_unit(geo, ks, g, n, mb, origin, blen, packed, band, fresh,
                      <real *>(scratch + geo.scratch.winograd_v),
                      <real *>(scratch + geo.scratch.winograd_m),
                      <real *>(scratch + geo.scratch.stage), bias, out)
        return
    if geo.kind == ROWBLOCK:
        rowblock_unit(geo, ks, g, n, origin, blen, packed, band, tile, bias, out)
        return
    if geo.kind == CGEMM:
        if geo.band_channels_last:   # positions cin_g apart (2-d)
            cl_pitch[0] = geo.pitch[0] * geo.cin_g
            cl_pitch[1] = geo.pitch[1] * geo.cin_g
            cgemm_tiles(geo, ks, p, p_end, g, n, origin, blen, packed, band, cl_pitch, tile,
                        bias, out)
        else:
            cgemm_tiles(geo, ks, p, p_end, g, n, origin, blen, packed, band, geo.pitch, tile,
                        bias, out)
        return
    gemm_tiles(geo, ks, p, p_end, g, n, origin, blen, w, packed, band, NULL, tile, o0, o,
               bias, out)


# Taps of the largest kernel whose input the depthwise kind reads in place
# (the tap offsets into x are kept on the stack): 8 x 8.
cdef enum:
    DW_INPLACE_TAPS = 64


cdef inline int64_t inplace_edge(const DirectGeometry *geo, int64_t vl, const int64_t *origin,
                                 const int64_t *blen) noexcept nogil:
    """Width of the edge column strips of this depthwise box when the microkernel
    can read the rest of its input in place, else 0 (the box takes the band).

    In place: stride 1, unit-stride rows in x and out, boxes of whole rows
    whose input rows all lie inside x (no row of the border), column borders
    of at most ``vl`` (one vector) each side and rows of three vectors at
    least.  The first and last ``vl`` output columns read the border: they
    are computed from the band's edge columns; the columns between them read
    only input columns inside x."""
    cdef int64_t ih0 = origin[0] - geo.pad_lo[0]
    cdef int64_t pad_hi = geo.padded_size[1] - geo.in_size[1] - geo.pad_lo[1]
    if (geo.stride[0] != 1 or geo.stride[1] != 1 or geo.K > DW_INPLACE_TAPS
            or geo.x_strides[3] != 1 or not geo.out_unit_stride or geo.n_boxes[1] != 1
            or geo.out_size[1] < 3 * vl or geo.pad_lo[1] > vl or pad_hi > vl
            or ih0 < 0 or ih0 + blen[0] + geo.ext[0] - geo.box[0] > geo.in_size[0]):
        return 0
    return vl


cdef inline void run_depthwise(const pcx_ukernel_set *ks, const DirectGeometry *geo,
                               const real *w, const int64_t *off, const real *src,
                               int64_t pitch, int64_t rows, int64_t cols, real *out,
                               int64_t ldo, const real *bias) noexcept nogil:
    """The depthwise microkernel of this plan's dtype over a rows x cols box."""
    if real is float:
        ks.f32.depthwise.run(geo.kernel_h, geo.kernel_w, w, off, src, pitch, rows, cols, out,
                             ldo, bias)
    else:
        ks.f64.depthwise.run(geo.kernel_h, geo.kernel_w, w, off, src, pitch, rows, cols, out,
                             ldo, bias)


cdef void depthwise_lanes_unit(const DirectGeometry *geo, const pcx_ukernel_set *ks,
                               int64_t u, const real *x, const real *packed, const real *bias,
                               real *out, char *scratch) noexcept nogil:
    """One depthwise unit on lanes: an image, VL channels side by side, the whole plane.

    The padded input of the unit's channels goes to the band (``lanes_band``);
    the lanes kernel sums every output's taps in the order of the planes kernel
    (``off`` is column-major), so each output has the bits it has on the planes
    path; the output rows are transposed back (lanes past the last channel are
    never stored)."""
    cdef int64_t vl = geo.nr
    cdef int64_t cb = u % geo.dw_blocks, n = u // geo.dw_blocks
    cdef int64_t c0 = cb * vl, nc = geo.groups - cb * vl
    cdef int64_t pw = geo.padded_size[1]
    cdef int64_t out_h = geo.out_size[0], out_w = geo.out_size[1]
    cdef int64_t os_c = geo.out_strides[1], os_h = geo.out_strides[2]
    cdef int64_t os_w = geo.out_strides[3]
    cdef real *band = <real *>(scratch + geo.scratch.band)
    cdef real *rows_out = band + geo.padded_size[0] * pw * vl
    cdef real *wl = rows_out + out_h * out_w * vl
    cdef real *bl = wl + geo.K * vl
    cdef const real *xc = x + n * geo.x_strides[0] + c0 * geo.x_strides[1]
    cdef real *oc = out + n * geo.out_strides[0] + c0 * os_c
    cdef real *dst
    cdef int64_t kh, kw, l, r, j
    if nc > vl:
        nc = vl
    (<int64_t *>scratch)[0] = -1   # the band cache of run_unit does not survive this unit
    # the taps column-major (the planes kernel's order), a lane per channel
    for kw in range(geo.kernel_w):
        for kh in range(geo.kernel_h):
            dst = wl + (kw * geo.kernel_h + kh) * vl
            for l in range(vl):
                dst[l] = packed[(c0 + l) * geo.K + kh * geo.kernel_w + kw] if l < nc else 0
    for l in range(vl):
        bl[l] = bias[c0 + l] if bias != NULL and l < nc else 0
    lanes_band(geo, ks, xc, nc, band)
    if real is float:
        ks.f32.depthwise.lanes(geo.K, wl, geo.off, band, geo.stride[0] * pw * vl,
                               geo.stride[1] * vl, out_h, out_w, rows_out,
                               bl if bias != NULL else NULL)
    else:
        ks.f64.depthwise.lanes(geo.K, wl, geo.off, band, geo.stride[0] * pw * vl,
                               geo.stride[1] * vl, out_h, out_w, rows_out,
                               bl if bias != NULL else NULL)
    if os_w == 1 and os_h == out_w:
        transpose_lanes(ks, rows_out, vl, out_h * out_w, nc, oc, os_c)
    elif os_w == 1:
        for r in range(out_h):
            transpose_lanes(ks, rows_out + r * out_w * vl, vl, out_w, nc, oc + r * os_h, os_c)
    elif os_c == 1:
        for r in range(out_h):
            for j in range(out_w):
                memcpy(oc + r * os_h + j * os_w, rows_out + (r * out_w + j) * vl,
                       nc * sizeof(real))
    else:
        for r in range(out_h):
            for j in range(out_w):
                for l in range(nc):
                    oc[l * os_c + r * os_h + j * os_w] = rows_out[(r * out_w + j) * vl + l]


cdef void depthwise_unit(const DirectGeometry *geo, const pcx_ukernel_set *ks, int64_t u,
                         const real *x, const real *packed, const real *bias, real *out,
                         char *scratch) noexcept nogil:
    """One depthwise unit: an image, a block of ``dw_cpu`` channels, an output box.

    Per channel, the padded (phase-split) input of the box goes to the band,
    then the depthwise kernel writes the box's output rows in place (through
    the stage when the output's rows are not unit-stride).  With zero padding
    and stride 1 the band's zero border is the same for every channel of the
    unit: it is cleared once and only the input rows are copied.

    A box whose input rows lie inside x (see ``inplace_edge``) is read in
    place instead: only the band's edge columns are built, for the first and
    last output vector; the columns between read x with tap offsets for x's
    row stride.  The microkernel sums every output in the same order whatever
    its block: the same bits either way."""
    cdef int64_t *key = <int64_t *>scratch
    cdef real *band = <real *>(scratch + geo.scratch.band)
    cdef real *stage = <real *>(scratch + geo.scratch.stage)
    cdef int64_t *index = <int64_t *>(scratch + geo.scratch.index)
    cdef int64_t *origin = index + geo.scratch.origin
    cdef int64_t *blen = index + geo.scratch.blen
    cdef int64_t box_lin = u % geo.box_count
    cdef int64_t rest = u // geo.box_count
    cdef int64_t cb = rest % geo.dw_blocks
    cdef int64_t n = rest // geo.dw_blocks
    cdef int64_t g0 = cb * geo.dw_cpu, g1 = g0 + geo.dw_cpu, g, r, k
    cdef int64_t ldo = geo.out_strides[2], pitch = geo.pitch[0]
    cdef int64_t ih0 = 0, iw0 = 0, r_lo = 0, r_hi = 0, c_lo = 0, c_hi = 0, count = 0
    cdef int64_t xs_h = geo.x_strides[2], edge, inner, out_w = geo.out_size[1]
    cdef int64_t off_x[DW_INPLACE_TAPS]
    cdef const real *x_chan
    cdef const real *src
    cdef const real *b
    cdef real *dst
    cdef real *target
    if geo.dw_lanes:
        depthwise_lanes_unit(geo, ks, u, x, packed, bias, out, scratch)
        return
    if g1 > geo.groups:
        g1 = geo.groups
    box_origin(geo, box_lin, origin, blen)
    key[0] = -1   # the band cache of run_unit does not survive this unit
    edge = inplace_edge(geo, ks.f32.depthwise.vl if real is float else ks.f64.depthwise.vl,
                        origin, blen)
    if edge > 0:
        build_tables(geo, index)
        # band position kh * pitch + kw (one phase plane) is x position kh * xs_h + kw
        for k in range(geo.K):
            off_x[k] = (geo.off[k] // pitch) * xs_h + geo.off[k] % pitch
        ih0 = origin[0] - geo.pad_lo[0]
        inner = out_w - 2 * edge
        for g in range(g0, g1):
            x_chan = x + n * geo.x_strides[0] + g * geo.x_strides[1]
            dst = out + n * geo.out_strides[0] + g * geo.out_strides[1] + origin[0] * ldo
            b = (bias + g) if bias != NULL else NULL
            depthwise_band(geo, ks, x_chan, band, index, 0, edge + geo.ext[1] - out_w)
            depthwise_band(geo, ks, x_chan, band, index, out_w - edge, geo.ext[1])
            run_depthwise(ks, geo, packed + g * geo.K, geo.off, band, pitch, blen[0], edge,
                          dst, ldo, b)
            run_depthwise(ks, geo, packed + g * geo.K, off_x,
                          x_chan + ih0 * xs_h + edge - geo.pad_lo[1], xs_h, blen[0], inner,
                          dst + edge, ldo, b)
            run_depthwise(ks, geo, packed + g * geo.K, geo.off, band + out_w - edge, pitch,
                          blen[0], edge, dst + out_w - edge, ldo, b)
        return
    if geo.dw_fast:
        ih0 = origin[0] - geo.pad_lo[0]
        iw0 = origin[1] - geo.pad_lo[1]
        r_lo = max(0, -ih0)
        r_hi = min(geo.ext[0], geo.in_size[0] - ih0)
        c_lo = max(0, -iw0)
        c_hi = min(geo.ext[1], geo.in_size[1] - iw0)
        count = c_hi - c_lo
        memset(band, 0, geo.band_elems * sizeof(real))
    else:
        build_tables(geo, index)
        # the slack after the planes, read by the last vectors' spare lanes
        memset(band + geo.n_phase * geo.plane_size, 0,
               (geo.band_elems - geo.n_phase * geo.plane_size) * sizeof(real))
    for g in range(g0, g1):
        x_chan = x + n * geo.x_strides[0] + g * geo.x_strides[1]
        if geo.dw_fast:
            if count > 0:
                src = x_chan + (ih0 + r_lo) * xs_h + iw0 + c_lo
                dst = band + r_lo * pitch + c_lo
                for r in range(r_lo, r_hi):
                    memcpy(dst, src, count * sizeof(real))
                    src += xs_h
                    dst += pitch
        else:
            depthwise_band(geo, ks, x_chan, band, index, 0, geo.ext[1])
        dst = (out + n * geo.out_strides[0] + g * geo.out_strides[1] + origin[0] * ldo
               + origin[1] * geo.out_strides[3])
        target = dst if geo.out_unit_stride else stage
        run_depthwise(ks, geo, packed + g * geo.K, geo.off, band, pitch, blen[0], blen[1],
                      target, ldo if geo.out_unit_stride else blen[1],
                      (bias + g) if bias != NULL else NULL)
        if not geo.out_unit_stride:
            store_plane(geo, stage, blen[0], blen[1], dst)


cdef void rowblock_unit(const DirectGeometry *geo, const pcx_ukernel_set *ks, int64_t g,
                        int64_t n, const int64_t *origin, const int64_t *blen,
                        const real *packed, const real *band, real *tile, const real *bias,
                        real *out) noexcept nogil:
    """A 2-d one-channel box in tiles of MB output rows x NR columns."""
    cdef int64_t mb = geo.mr, nr = geo.nr, oh, c0, rows, cols, m
    cdef int64_t ldc = geo.out_strides[2], step = geo.out_strides[3]
    cdef real *plane = out + n * geo.out_strides[0] + g * geo.out_strides[1]
    cdef real *dst
    cdef const real *w = packed + g * geo.K
    cdef const real *b = (bias + g * geo.n_panels * geo.mr) if bias != NULL else NULL
    oh = 0
    while oh < blen[0]:
        rows = blen[0] - oh
        if rows > mb:
            rows = mb
        c0 = 0
        while c0 < blen[1]:
            cols = blen[1] - c0
            if cols > nr:
                cols = nr
            dst = plane + (origin[0] + oh) * ldc + (origin[1] + c0) * step
            if rows == mb and cols == nr and geo.out_unit_stride:
                run_rowblock(ks, geo, w, band + oh * geo.pitch[0] + c0, dst, ldc, b)
            else:
                run_rowblock(ks, geo, w, band + oh * geo.pitch[0] + c0, tile, nr, b)
                for m in range(rows):
                    copy_out(dst + m * ldc, step, tile + m * nr, cols)
            c0 += nr
        oh += mb


cdef inline void run_rowblock(const pcx_ukernel_set *ks, const DirectGeometry *geo,
                              const real *w, const real *B, real *C, int64_t ldc,
                              const real *bias) noexcept nogil:
    if real is float:
        ks.f32.rowblock.run(geo.kernel_h, geo.kernel_w, w, B, geo.pitch[0], geo.off, C, ldc,
                            bias)
    else:
        ks.f64.rowblock.run(geo.kernel_h, geo.kernel_w, w, B, geo.pitch[0], geo.off, C, ldc,
                            bias)


cdef inline int64_t tile_direct(const DirectGeometry *geo, int64_t q0, const int64_t *o0,
                                int64_t *o, const int64_t *origin,
                                const int64_t *blen) noexcept nogil:
    """Output offset where the NR-wide tile at pitch position ``q0`` can be written
    in place (its outputs are valid and contiguous), or -1 (use a scratch tile)."""
    cdef int64_t last = geo.ndim - 1, i, direct = -1
    if not geo.out_unit_stride:
        return -1
    # common case first: the tile lies inside one valid output row
    if o0[last] + geo.nr <= blen[last] and q0 + geo.nr <= geo.qmax:
        direct = pcx_offset(origin, o0, geo.out_strides + 2, geo.ndim)
        for i in range(last):
            if o0[i] >= blen[i]:
                return -1
    elif o0[last] + geo.nr > span(geo, last):
        # spans rows: direct only if the output is contiguous across them
        direct = tile_target(geo, q0, o0, origin, blen, o)
    return direct


cdef void gemm_tiles(const DirectGeometry *geo, const pcx_ukernel_set *ks, int64_t p,
                     int64_t p_end, int64_t g, int64_t n, const int64_t *origin,
                     const int64_t *blen, const real *w, const real *packed,
                     const real *band, real *tail, real *tiles, int64_t *o0, int64_t *o,
                     const real *bias, real *out) noexcept nogil:
    """Panels p..p_end-1 of a box, MR x NR tile by tile along the band.

    The reduction runs in blocks of ``kc``: one block of every panel's tile
    while the block's band rows stay in the L1 cache, then the next, each
    continuing the previous block's sums (the same bits as one pass).  A tile
    whose outputs are contiguous is summed in place; the others in
    ``tiles`` (MR x NR per panel) and scattered at the end.  A plan that
    ``accumulate``s continues from what ``out`` holds (an earlier reduction
    block's sums).  In place (``tail`` not NULL) ``band`` is x itself, and a
    tile reaching past the box reads a zero-padded copy in ``tail`` instead.
    In place, a tile's rows of x lie in as many planes as the reduction is
    long, too many streams for the hardware prefetchers to follow: each of
    the tile's calls asks for its share of the next tile's rows, which then
    come from the L2 cache (measured on an AVX-512 Xeon, two threads, float32
    pointwise layers: 6-20% less time at 56x56, 17-27% for 32->16 at
    112x112, 0-10% at 28x28 and 14x14; float64 up to 10%).
    """
    cdef int64_t i, t, q0, q_end, k0, klen, direct, rows, width, nv, pf_rows, pf_next, calls
    cdef int64_t mr = geo.mr, nr = geo.nr, K = geo.K, lda = geo.lda
    cdef int64_t vl = ks.f32.gemm_narrow.vl if real is float else ks.f64.gemm_narrow.vl
    cdef int64_t channel = geo.out_strides[1]
    cdef real *target
    cdef const real *a
    cdef const real *b
    cdef const int64_t *off
    cdef real *out_rows
    cdef real *first_row = out + n * geo.out_strides[0] + g * geo.cout_g * channel
    cdef int64_t ldc
    cdef const real *bias_rows
    for t in range(geo.ndim):
        o0[t] = 0
    # In place, x's rows end where this box ends: a partial last box (fewer
    # rows than a full one) must stop there, or its tiles would read past x.
    q_end = geo.qmax
    if tail != NULL:
        q_end = 1
        for t in range(geo.ndim):
            q_end += (blen[t] - 1) * geo.pitch[t]
    q0 = 0
    while q0 < q_end:
        direct = tile_direct(geo, q0, o0, o, origin, blen)
        b = band + q0
        off = geo.off
        if tail != NULL and q0 + nr > q_end:
            for i in range(K):
                memcpy(tail + i * nr, band + geo.off[i] + q0, (q_end - q0) * sizeof(real))
                memset(tail + i * nr + q_end - q0, 0, (q0 + nr - q_end) * sizeof(real))
            b = tail
            off = geo.off_tail
        # a last tile of few positions runs on a narrower variant (scratch tiles only)
        nv = 0
        if geo.kind == GEMM and direct < 0:
            width = (q_end if q_end < q0 + nr else q0 + nr) - q0
            nv = (width + vl - 1) // vl
            if nv * vl >= nr or nv > 2:
                nv = 0
        if geo.accumulate:   # the scratch tiles start from the output's current sums
            for i in range(p, p_end):
                rows = geo.cout_g - i * mr
                if direct < 0 or rows < mr:
                    scatter_tile(geo, tiles + (i - p) * mr * nr, min(rows, mr), q0, o0,
                                 first_row + i * mr * channel, origin, blen, o, True)
        pf_rows = 0
        pf_next = 0
        if tail != NULL and q0 + 2 * nr <= q_end:
            calls = (p_end - p) * ((K + geo.kc - 1) // geo.kc)
            pf_rows = (K + calls - 1) // calls
        k0 = 0
        while True:   # at least once: with K == 0 the tile is the bias alone
            klen = K - k0
            if klen > geo.kc:
                klen = geo.kc
            i = p
            while i < p_end:
                rows = geo.cout_g - i * mr
                bias_rows = NULL
                if bias != NULL and k0 + klen == K:
                    bias_rows = bias + (g * geo.n_panels + i) * mr
                if nv == 1 and 2 * mr <= TALL_MAX_ROWS and i + 1 < p_end and rows >= 2 * mr:
                    # a one-vector tile of two whole panels at once (their weight
                    # rows and scratch tiles follow on): twice the running sums
                    run_narrow(ks, 0, klen, w + (g * geo.cout_g + i * mr) * lda + k0, lda, b,
                               off + k0, tiles + (i - p) * mr * nr, nr, bias_rows,
                               k0 > 0 or geo.accumulate)
                    i += 2
                    continue
                out_rows = first_row + i * mr * channel
                if direct >= 0 and rows >= mr:
                    target = out_rows + direct
                    ldc = channel
                else:
                    target = tiles + (i - p) * mr * nr
                    ldc = nr
                if rows >= mr:   # the weights in place
                    a = w + (g * geo.cout_g + i * mr) * lda + k0
                else:            # the zero-padded copy of a short last panel
                    a = packed + g * mr * K + k0
                if pf_rows:
                    # in place, the next tile's rows of x (one run of NR values per
                    # row of the reduction, each in a plane of its own) are spread
                    # over this tile's calls, so that they come from the L2 cache
                    for t in range(pf_next, min(pf_next + pf_rows, K)):
                        pcx_prefetch_run_l2(band + geo.off[t] + q0 + nr, nr * sizeof(real))
                    pf_next += pf_rows
                if nv:
                    run_narrow(ks, nv, klen, a, lda if rows >= mr else K, b, off + k0, target,
                               ldc, bias_rows, k0 > 0 or geo.accumulate)
                else:
                    run_tile(ks, geo.kind, klen, a, lda if rows >= mr else K, b, off + k0,
                             target, ldc, bias_rows, k0 > 0 or geo.accumulate)
                i += 1
            k0 += klen
            if k0 >= K:
                break
        for i in range(p, p_end):
            rows = geo.cout_g - i * mr
            if direct < 0 or rows < mr:
                scatter_tile(geo, tiles + (i - p) * mr * nr, min(rows, mr), q0, o0,
                             first_row + i * mr * channel, origin, blen, o, False)
        q0 += nr
        advance(geo, o0, nr)


cdef inline void run_channel_tile(const pcx_ukernel_set *ks, int64_t rows, int64_t K,
                                  const real *A, int64_t lda, const real *B,
                                  const int64_t *off, real *C, int64_t ldc, const real *bias,
                                  int64_t load_c) noexcept nogil:
    """The channel tile of ``rows`` positions (1..8) in this plan's dtype."""
    if real is float:
        ks.f32.cgemm.run[rows - 1](K, A, lda, B, off, C, ldc, bias, load_c)
    else:
        ks.f64.cgemm.run[rows - 1](K, A, lda, B, off, C, ldc, bias, load_c)


cdef void cgemm_tiles(const DirectGeometry *geo, const pcx_ukernel_set *ks, int64_t p,
                      int64_t p_end, int64_t g, int64_t n, const int64_t *origin,
                      const int64_t *blen, const real *packed, const real *src,
                      const int64_t *src_strides, real *tiles, const real *bias,
                      real *out) noexcept nogil:
    """Panels p..p_end-1 of a box on the channel tile (MR positions x NR channels).

    ``src`` is the box's band (``src_strides``: its pitch) or, in place, x at the
    box's first position (x's spatial strides).  Every output row of the box
    (a run along the last dim) is cut into as few tiles of at most MR
    positions as it takes, of sizes that differ by one at most: no position is
    computed that is not an output.  The reduction runs in blocks of ``kc``:
    a block's rows of packed weights (kc x NR) stay in the L1 cache while
    every tile of the box uses them, each block continuing the previous one's
    sums in ``tiles`` (a position's NR channels per panel, the box's positions
    one after the other); then the box goes to the output, transposed when
    its rows are unit-stride (channels-first), copied per position else."""
    cdef int64_t D = geo.ndim, last = geo.ndim - 1, mr = geo.mr, nr = geo.nr, K = geo.K
    cdef int64_t ldc = geo.panels_per_block * nr, step = src_strides[last]
    cdef int64_t width = blen[last], n_tiles = (width + mr - 1) // mr
    cdef int64_t rows_count = 1, r, rem, i, t, c0, count, k0, klen, pos0, q0, ch, nch
    cdef int64_t channel = geo.out_strides[1], os_last = geo.out_strides[D + 1]
    cdef real *first = out + n * geo.out_strides[0] + g * geo.cout_g * channel
    cdef real *dst
    cdef const real *bias_panel
    for t in range(last):
        rows_count *= blen[t]
    k0 = 0
    while True:   # at least once: with K == 0 the tiles are the bias alone
        klen = K - k0
        if klen > geo.kc:
            klen = geo.kc
        for i in range(p, p_end):
            bias_panel = NULL
            if bias != NULL and k0 + klen == K:
                bias_panel = bias + (g * geo.n_panels + i) * nr
            for r in range(rows_count):
                rem = r
                q0 = 0
                for t in range(last - 1, -1, -1):
                    q0 += (rem % blen[t]) * src_strides[t]
                    rem //= blen[t]
                pos0 = r * width
                c0 = 0
                for t in range(n_tiles):
                    # the first width % n_tiles tiles take one position more
                    count = width // n_tiles + (1 if t < width % n_tiles else 0)
                    run_channel_tile(ks, count, klen, src + q0 + c0 * step, step,
                                     packed + ((g * geo.n_panels + i) * K + k0) * nr,
                                     geo.off + k0, tiles + (pos0 + c0) * ldc + (i - p) * nr,
                                     ldc, bias_panel, k0 > 0)
                    c0 += count
        k0 += klen
        if k0 >= K:
            break
    # the box to the output: channels p * NR .. of this block, the valid ones
    nch = geo.cout_g - p * nr
    if nch > (p_end - p) * nr:
        nch = (p_end - p) * nr
    for r in range(rows_count):
        rem = r
        dst = first + p * nr * channel + origin[last] * os_last
        for t in range(last - 1, -1, -1):
            dst += (origin[t] + rem % blen[t]) * geo.out_strides[2 + t]
            rem //= blen[t]
        if os_last == 1:
            transpose_lanes(ks, tiles + r * width * ldc, ldc, width, nch, dst, channel)
        elif channel == 1:
            for c0 in range(width):
                memcpy(dst + c0 * os_last, tiles + (r * width + c0) * ldc, nch * sizeof(real))
        else:
            for c0 in range(width):
                for ch in range(nch):
                    dst[c0 * os_last + ch * channel] = tiles[(r * width + c0) * ldc + ch]


cdef int execute(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *x,
                 const real *w, const real *bias, real *out,
                 bint check_signals) noexcept nogil:
    """Run every work unit of the plan; return a status (``EXECUTE_*``).

    ``x`` and ``w`` point at the arrays' first elements (the plan adds its own
    offsets); ``bias`` is ``(C_out,)`` or NULL.  Allocates the workspace (repacked
    weights, the bias padded to whole panels, one scratch block per thread),
    packs the weights, then runs the units, the calling thread checking for
    Ctrl-C every ``chunk`` of its units (about CHUNK_FLOPS) when
    ``check_signals`` (it takes the GIL for that moment only).  Callable
    without the GIL from any thread.
    """
    cdef int64_t packed_elems = geo.packed_elems, per_thread = geo.scratch.bytes_per_thread
    # the channels of one panel of weights: MR rows of the gemm tile, NR of the channel tile
    cdef int64_t width = geo.nr if geo.kind == CGEMM else geo.mr
    cdef int64_t bias_elems = geo.groups * geo.n_panels * width if bias != NULL else 0
    cdef int threads = geo.threads
    cdef size_t nbytes = ((packed_elems + bias_elems) * sizeof(real) + 2 * ALIGN
                          + threads * per_thread + ALIGN)
    cdef char *block = <char *>pcx_workspace_alloc(nbytes)
    cdef real *packed
    cdef real *padded_bias = NULL
    cdef char *scratch
    cdef int64_t u, t, g, c
    cdef int interrupted = 0
    if block == NULL:
        return EXECUTE_NO_MEMORY
    x = x + geo.x_offset   # a reduction block's first input channel / kernel row
    w = w + geo.w_offset
    packed = <real *>align_up(block)
    if bias != NULL:
        # zero-padded to whole panels: the tiles read MR bias values per panel
        padded_bias = <real *>align_up(<char *>(packed + packed_elems))
        for g in range(geo.groups):
            for c in range(geo.n_panels * width):
                padded_bias[g * geo.n_panels * width + c] = (
                    bias[g * geo.cout_g + c] if c < geo.cout_g else 0)
        scratch = align_up(<char *>(padded_bias + bias_elems))
    else:
        scratch = align_up(<char *>(packed + packed_elems))
    if packed_elems > 0:   # gemm/row mostly read the weights in place
        for u in prange(geo.groups * geo.n_panels, schedule="static", num_threads=threads):
            pack_weights(geo, ks, w, packed, u)
    for t in range(threads):   # no thread's band is cached yet, no unit run
        (<int64_t *>(scratch + t * per_thread))[0] = -1
        (<int64_t *>(scratch + t * per_thread))[1] = 0
    # One parallel loop over every unit, no barrier but its end: the calling
    # thread checks for Ctrl-C every ``chunk`` of its units, and a raised
    # signal stops every thread before its next unit.
    if geo.dynamic:
        # units of their own band each (see the plan): handed out as threads
        # come free, so a thread the system deschedules leaves them to others
        for u in prange(geo.n_units, schedule="dynamic", num_threads=threads):
            run_polled(geo, ks, u, x, w, packed, padded_bias, out,
                       scratch + threadid() * per_thread, threadid(), check_signals,
                       &interrupted)
    else:
        # static: each thread a run of consecutive units, which share bands
        # (the blocks of output channels of one box read the same band)
        for u in prange(geo.n_units, schedule="static", num_threads=threads):
            run_polled(geo, ks, u, x, w, packed, padded_bias, out,
                       scratch + threadid() * per_thread, threadid(), check_signals,
                       &interrupted)
    free(block)
    return EXECUTE_INTERRUPTED if interrupted else EXECUTE_OK


cdef inline void run_polled(const DirectGeometry *geo, const pcx_ukernel_set *ks, int64_t u,
                            const real *x, const real *w, const real *packed,
                            const real *bias, real *out, char *scratch, int thread,
                            bint check_signals, int *interrupted) noexcept nogil:
    """``run_unit`` unless a signal stopped the run; then, with ``check_signals``,
    the calling thread's check for Ctrl-C (every ``chunk`` of its units; the
    count is kept after the thread's band key)."""
    if stop_raised(interrupted):
        return
    run_unit(geo, ks, u, x, w, packed, bias, out, scratch)
    if check_signals:
        poll_signals(thread, <int64_t *>scratch + 1, geo.chunk, interrupted)


def run(cnp.ndarray x, cnp.ndarray weight, bias, cnp.ndarray out, tuple records):
    """Run the plan's records on these arrays, in order; return ``out``.

    ``x``: the batched input in the plan's dtype, element strides as the plan
    says; ``weight``: C-contiguous ``(C_out, C_in/groups, *kernel)``;
    ``bias``: contiguous ``(C_out,)`` or None (added by the last record);
    ``out``: ``(N, C_out, *out_spatial)`` with the plan's element strides.
    Arrays that do not match the plan are a ValueError (nothing is computed);
    Ctrl-C during the run raises KeyboardInterrupt (``out`` is then partly
    written).
    """
    cdef DirectPlan plan
    cdef int status = EXECUTE_OK
    cdef const void *x_data = cnp.PyArray_DATA(x)
    cdef const void *w_data = cnp.PyArray_DATA(weight)
    cdef const void *b_data = NULL
    cdef void *out_data = cnp.PyArray_DATA(out)
    cdef bint is_double
    for number, plan in enumerate(records):
        _check_arrays(plan, x, weight, bias, out)
        is_double = plan.dtype == np.float64
        b_data = NULL
        if bias is not None and number == len(records) - 1:
            b_data = cnp.PyArray_DATA(<cnp.ndarray>bias)
        with nogil:
            if is_double:
                status = execute[double](&plan.geo, plan.ukernels, <const double *>x_data,
                                         <const double *>w_data, <const double *>b_data,
                                         <double *>out_data, True)
            else:
                status = execute[float](&plan.geo, plan.ukernels, <const float *>x_data,
                                        <const float *>w_data, <const float *>b_data,
                                        <float *>out_data, True)
        if status == EXECUTE_INTERRUPTED:
            _propagate_pending_exception()
        if status == EXECUTE_NO_MEMORY:
            raise MemoryError("the direct engine's workspace could not be allocated")
    return out


def _check_arrays(DirectPlan plan, x, weight, bias, out):
    """ValueError unless the arrays are the ones ``plan`` describes."""
    cdef const DirectGeometry *geo = &plan.geo
    cdef int64_t D = geo.ndim
    dtype = plan.dtype
    for name, array in (("x", x), ("weight", weight), ("out", out)):
        if array.dtype != dtype:
            raise ValueError(f"{name} has dtype {array.dtype}, the plan computes in {dtype}")
    x_strides = tuple(s // x.itemsize for s in x.strides)
    if (x.ndim != D + 2 or x.shape[0] != geo.batch
            or x.shape[1] != geo.groups * geo.x_channels_per_group
            or any(x.shape[2 + i] != geo.in_size[i] for i in range(D))
            or x_strides != tuple(geo.x_strides[i] for i in range(D + 2))
            or not x.flags.aligned):
        raise ValueError("x does not match the plan (shape, strides or alignment)")
    if (not weight.flags.c_contiguous or weight.ndim != D + 2
            or weight.shape[0] != geo.groups * geo.cout_g
            or weight.size != geo.groups * geo.cout_g * geo.lda):
        raise ValueError("weight does not match the plan")
    out_strides = tuple(s // out.itemsize for s in out.strides)
    if (out.ndim != D + 2 or out.shape[0] != geo.batch
            or out.shape[1] != geo.groups * geo.cout_g
            or any(out.shape[2 + i] != geo.out_size[i] for i in range(D))
            or out_strides != tuple(geo.out_strides[i] for i in range(D + 2))
            or not out.flags.aligned or not out.flags.writeable):
        raise ValueError("out does not match the plan (shape, strides or alignment)")
    if bias is not None and (not isinstance(bias, np.ndarray) or bias.dtype != dtype
                             or bias.shape != (geo.groups * geo.cout_g,)
                             or not bias.flags.c_contiguous):
        raise ValueError("bias does not match the plan")


cdef int _propagate_pending_exception() except -1:
    """Raise the exception a signal handler left set (returning -1 makes Cython do it)."""
    return -1
