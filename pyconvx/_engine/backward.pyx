"""The backward engine: weight gradients, and the folds of the input gradient.

This module only computes, from plans made in ``plan_backward``:

* ``weight_grad``: the gradient of a convolution with respect to its weight.
  Work units are (group, chunk of (image, box) items); each builds the band
  of its items with the forward engine's band builder (``stage``: its
  tables once per box, then the copy; every padding mode), packs the box's
  grad_output (the dot path reads contiguous rows in place) and sums the
  products row by row into its own partial gradient, with the engine's gemm
  microkernel (``gemm`` path) or a 16-lane dot product (``dot`` path); the
  partials are then added in chunk order.  Every weight's sum runs in one
  fixed order: bitwise identical for every thread count and input layout.  The units
  advance in steps of items (step k of every unit before step k + 1; on the
  dot path a step is one item, so a thread running consecutive units, a
  block of channels, reads the planes of one image after the other in
  memory order), and between runs of steps a pending Ctrl-C stops the work:
  the signal handler's exception (KeyboardInterrupt) is raised, nothing is
  written.
* ``fold_padded``: the gradient of the padded input folded onto the input
  (reflect, replicate, circular, symmetric: each border element's gradient
  goes to the element it copied; a constant border's is dropped).
* ``bias_grad``: the sum of grad_output over the batch and positions, per
  channel, in a fixed order.
* ``phase_kernels``: the contiguous sub-kernels of the phases of a
  transposed convolution (or of an input gradient), gathered from the
  transposed, possibly rotated weight in one pass.

The GIL is released; OpenMP hands out blocks of consecutive work units
dynamically, each block's steps run in order on one thread (every step
writes its own unit's partial, so the bits do not depend on which thread
runs it).
"""

from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

cimport numpy as cnp

import numpy as np

from pyconvx._engine.chunks cimport signal_pending
from pyconvx._engine.contract cimport (DirectGeometry, DirectPlan, PaddingMode,
                                       pcx_ukernel_set, real)
from pyconvx._engine.stage cimport build_tables, copy_band

cnp.import_array()

cdef extern from "backward.h" nogil:
    enum:
        PCX_DOT_LANES
    void pcx_dot_taps_f32(int level, int64_t rows, int64_t width, const float *a,
                          int64_t a_pitch, const float *b, int64_t b_pitch, const int64_t *off,
                          int64_t count, float *acc, int64_t overread)
    void pcx_dot_taps_f64(int level, int64_t rows, int64_t width, const double *a,
                          int64_t a_pitch, const double *b, int64_t b_pitch, const int64_t *off,
                          int64_t count, double *acc, int64_t overread)
    int pcx_dot_grid_f32(int level, int64_t rows, int64_t width, const float *a,
                         int64_t a_pitch, const float *b, int64_t b_pitch, const int64_t *off,
                         int64_t kh, int64_t kw, int64_t q, float *acc)
    int pcx_dot_grid_f64(int level, int64_t rows, int64_t width, const double *a,
                         int64_t a_pitch, const double *b, int64_t b_pitch, const int64_t *off,
                         int64_t kh, int64_t kw, int64_t q, double *acc)
    enum:
        PCX_WIDE_MR
        PCX_WIDE_NV
    void pcx_wide_f32(int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float *C, int64_t ldc)
    void pcx_wide_f64(int64_t K, const double *A, int64_t lda, const double *B, int64_t ldb,
                      double *C, int64_t ldc)

cdef enum:
    ALIGN = 64
    MAX_DIMS = 8

cdef enum:
    # what weight_grad_run returns
    GRAD_OK = 0
    GRAD_NO_MEMORY = 1      # the workspace could not be allocated
    GRAD_INTERRUPTED = 2    # a signal handler raised (the exception is set)


cdef inline char *align_up(char *ptr) noexcept nogil:
    return <char *>((<uintptr_t>ptr + ALIGN - 1) & ~(<uintptr_t>(ALIGN - 1)))


ctypedef struct WeightGrad:
    # the weight gradient's own parameters (the band's are in the DirectGeometry)
    int64_t gemm              # 1: gemm path (engine or wide tile), 0: dot path
    int64_t wide              # the gemm path on the wide tile (pcx_wide_*)
    int64_t chunks            # item ranges per group
    int64_t items             # batch * boxes
    int64_t step_items        # items a unit sums per step
    int64_t steps_per_check   # steps run between two checks for Ctrl-C
    int64_t block_units       # consecutive units one thread runs together
    int64_t band_rows         # 2-d, stride 1, zero border: only x's rows are copied
    int64_t cin_pad, cout_pad, acc_elems
    int64_t mr, nr, kc
    int64_t box_positions     # packed grad_output values per channel
    int64_t row_pitch         # dot path: packed row pitch (the box width, rounded up)
    int64_t grid_rows         # dot path: taps on a grid_rows x grid_cols grid, grid_step
    int64_t grid_cols         # band rows apart (0: not a grid; see pcx_dot_grid_*)
    int64_t grid_step
    int64_t scratch_bytes     # per thread
    int64_t threads
    int level
    const int64_t *g_strides  # [2 + ndim] element strides of grad_output
    int64_t g_direct          # dot path: grad_output rows contiguous, strides >= 0
    int64_t g_span            # elements from grad_output's first to past its last
    const pcx_ukernel_set *ks


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


cdef inline void row_index(const DirectGeometry *geo, int64_t row, const int64_t *blen,
                           int64_t *o) noexcept nogil:
    """Multi-index (outer dims; the last is 0) of row number ``row`` of a box."""
    cdef int64_t i = geo.ndim - 2
    o[geo.ndim - 1] = 0
    while i >= 0:
        o[i] = row % blen[i]
        row = row // blen[i]
        i -= 1


cdef inline bint grad_rows_follow(const DirectGeometry *geo, const WeightGrad *wg,
                                  const int64_t *blen) noexcept nogil:
    """Whether the box's rows lie end to end in grad_output, one position step
    apart throughout (a box of whole rows of a contiguous grad_output)."""
    cdef int64_t i
    for i in range(geo.ndim - 1):
        if blen[i] > 1 and wg.g_strides[2 + i] != wg.g_strides[3 + i] * blen[i + 1]:
            return False
    return True


cdef void pack_grad(const DirectGeometry *geo, const WeightGrad *wg, const real *gout,
                    int64_t n, int64_t g, const int64_t *origin, const int64_t *blen,
                    int64_t *o, real *packed) noexcept nogil:
    """The box's grad_output, compact over its positions (C order): positions by
    padded channels (gemm path, transposed by the microkernel set) or channels
    by positions (dot path)."""
    cdef int64_t D = geo.ndim, last = geo.ndim - 1, rows = 1, row, co, j, i, pos0
    cdef int64_t width = blen[last], step = wg.g_strides[1 + D], cstep = wg.g_strides[1]
    cdef const real *src
    cdef const real *base
    cdef real *dst
    for i in range(last):
        rows *= blen[i]
    if wg.gemm and rows > 1 and grad_rows_follow(geo, wg, blen):
        width *= rows
        rows = 1
    base = gout + n * wg.g_strides[0] + g * geo.cout_g * wg.g_strides[1]
    for row in range(rows):
        row_index(geo, row, blen, o)
        src = base
        for i in range(D):
            src += (origin[i] + o[i]) * wg.g_strides[2 + i]
        pos0 = row * width
        if wg.gemm:
            if real is float:
                wg.ks.f32.transpose(src, cstep, step, geo.cout_g, width,
                                    packed + pos0 * wg.cout_pad, wg.cout_pad)
            else:
                wg.ks.f64.transpose(src, cstep, step, geo.cout_g, width,
                                    packed + pos0 * wg.cout_pad, wg.cout_pad)
            continue
        for co in range(geo.cout_g):
            dst = packed + co * wg.box_positions + row * wg.row_pitch
            if step == 1:
                memcpy(dst, src, width * sizeof(real))
            else:
                for j in range(width):
                    dst[j] = src[j * step]
            src += cstep


cdef inline void run_gemm(const WeightGrad *wg, int64_t K, const real *A, int64_t lda,
                          const real *B, const int64_t *off, real *C,
                          int64_t ldc) noexcept nogil:
    """C += A * B on the plan's tile (B's rows ``off[k]`` = k * ldc apart)."""
    if wg.wide:
        if real is float:
            pcx_wide_f32(K, A, lda, B, ldc, C, ldc)
        else:
            pcx_wide_f64(K, A, lda, B, ldc, C, ldc)
    elif real is float:
        wg.ks.f32.gemm.run(K, A, lda, B, off, C, ldc, NULL, 1)
    else:
        wg.ks.f64.gemm.run(K, A, lda, B, off, C, ldc, NULL, 1)


cdef void dot_rows(const DirectGeometry *geo, const WeightGrad *wg, const real *band,
                   const int64_t *blen, const real *packed, const real *gbox,
                   real *acc) noexcept nogil:
    """The dot path: per (output channel, input channel), the box's rows against
    the band rows of every tap, plane of rows by plane of rows (rows of one
    plane are one band pitch apart); taps on a grid (the plan's ``grid_*``
    fields) walk the band's rows once instead, with the same bits.  The rows of grad_output
    are read from ``packed``, or from grad_output itself at ``gbox`` (the box's
    first position of the group's first channel) when that is not NULL."""
    cdef int64_t D = geo.ndim, planes = 1, plane, i, rem, qbase, gbase, co, ci
    cdef int64_t rows = blen[D - 2] if D > 1 else 1
    cdef int64_t b_pitch = geo.pitch[D - 2] if D > 1 else 0
    cdef int64_t width = blen[D - 1], taps = geo.taps
    cdef int64_t overread = 0 if geo.inplace else 1
    cdef int64_t a_pitch = wg.row_pitch
    cdef const real *a
    cdef int done
    if gbox != NULL:
        a_pitch = wg.g_strides[D] if D > 1 else 0
    for i in range(D - 2):
        planes *= blen[i]
    for plane in range(planes):
        rem = plane
        qbase = 0
        gbase = 0
        i = D - 3
        while i >= 0:
            qbase += (rem % blen[i]) * geo.pitch[i]
            gbase += (rem % blen[i]) * wg.g_strides[2 + i]
            rem = rem // blen[i]
            i -= 1
        for co in range(geo.cout_g):
            if gbox != NULL:
                a = gbox + co * wg.g_strides[1] + gbase
            else:
                a = packed + co * wg.box_positions + plane * rows * wg.row_pitch
            for ci in range(geo.cin_g):
                if wg.grid_rows:
                    if real is float:
                        done = pcx_dot_grid_f32(
                            wg.level, rows, width, a, a_pitch, band + qbase, b_pitch,
                            geo.off + ci * taps, wg.grid_rows, wg.grid_cols, wg.grid_step,
                            acc + (co * geo.cin_g + ci) * taps * PCX_DOT_LANES)
                    else:
                        done = pcx_dot_grid_f64(
                            wg.level, rows, width, a, a_pitch, band + qbase, b_pitch,
                            geo.off + ci * taps, wg.grid_rows, wg.grid_cols, wg.grid_step,
                            acc + (co * geo.cin_g + ci) * taps * PCX_DOT_LANES)
                    if done:
                        continue
                if real is float:
                    pcx_dot_taps_f32(wg.level, rows, width, a, a_pitch, band + qbase,
                                     b_pitch, geo.off + ci * taps, taps,
                                     acc + (co * geo.cin_g + ci) * taps * PCX_DOT_LANES,
                                     overread)
                else:
                    pcx_dot_taps_f64(wg.level, rows, width, a, a_pitch, band + qbase,
                                     b_pitch, geo.off + ci * taps, taps,
                                     acc + (co * geo.cin_g + ci) * taps * PCX_DOT_LANES,
                                     overread)


cdef const real *direct_rows(const DirectGeometry *geo, const WeightGrad *wg,
                             const real *gout, int64_t n, int64_t g, const int64_t *origin,
                             const int64_t *blen) noexcept nogil:
    """The dot path reads the box's grad_output in place (its rows contiguous):
    the box's first position of the group's first channel, or NULL when the
    microkernel's whole-vector reads past the box's last row would leave
    grad_output's memory (the box is then packed)."""
    cdef int64_t D = geo.ndim, i, last_row
    cdef int64_t width = blen[D - 1]
    cdef const real *gbox
    if not wg.g_direct:
        return NULL
    gbox = gout + n * wg.g_strides[0] + g * geo.cout_g * wg.g_strides[1]
    for i in range(D):
        gbox += origin[i] * wg.g_strides[2 + i]
    last_row = (geo.cout_g - 1) * wg.g_strides[1]
    for i in range(D - 1):
        last_row += (blen[i] - 1) * wg.g_strides[2 + i]
    if (gbox - gout) + last_row + (width + PCX_DOT_LANES - 1) // PCX_DOT_LANES * PCX_DOT_LANES \
            > wg.g_span:
        return NULL
    return gbox


cdef inline bint rows_follow(const DirectGeometry *geo, const int64_t *blen) noexcept nogil:
    """Whether row r of the box starts r * width into the band (as it does in
    the packed grad_output): every outer dim's pitch is the box's extent
    inside it (dims of one row excepted)."""
    cdef int64_t i = geo.ndim - 2, inner = blen[geo.ndim - 1]
    while i >= 0:
        if blen[i] > 1 and geo.pitch[i] != inner:
            return False
        inner *= blen[i]
        i -= 1
    return True


cdef enum:
    # a row's packed grad_output larger than this (bytes) is run column panel
    # by column panel (the L1 data cache of common cores: 32 KiB)
    PANEL_L1_BYTES = 32768


cdef inline void panel_tile(const DirectGeometry *geo, const WeightGrad *wg, const real *band,
                            int64_t q, int64_t klen, int64_t cip, int64_t t, int64_t cp,
                            const real *packed, real *apanel, const int64_t *boff,
                            real *acc) noexcept nogil:
    """One register tile of the gradient (input channel panel ``cip`` at tap
    ``t``, output channel panel ``cp``) continued over ``klen`` positions from
    band position ``q`` (``packed``: the packed grad_output at the first)."""
    cdef int64_t m, taps = geo.taps, cin_g = geo.cin_g
    cdef int64_t rows_in_panel = cin_g - cip * wg.mr
    cdef int64_t lda = (geo.off[taps] - geo.off[0]) if cin_g > 1 else 0
    cdef const real *a = band + geo.off[cip * wg.mr * taps + t] + q
    if rows_in_panel < wg.mr:   # a short panel: its rows, then zeros
        for m in range(wg.mr):
            if m < rows_in_panel:
                memcpy(apanel + m * wg.kc, a + m * lda, klen * sizeof(real))
            else:
                memset(apanel + m * wg.kc, 0, klen * sizeof(real))
        a = apanel
        lda = wg.kc
    run_gemm(wg, klen, a, lda, packed + cp * wg.nr, boff,
             acc + (t * wg.cin_pad + cip * wg.mr) * wg.cout_pad + cp * wg.nr, wg.cout_pad)


cdef void item_rows(const DirectGeometry *geo, const WeightGrad *wg, const real *band,
                    const int64_t *blen, int64_t *o, const real *packed, real *apanel,
                    const int64_t *boff, real *acc) noexcept nogil:
    """Add one item's products to the unit's partial gradient, row by row."""
    cdef int64_t D = geo.ndim, last = geo.ndim - 1, rows = 1, row, i, k0, klen
    cdef int64_t cp, cip, t, qrow, pos0
    cdef int64_t width = blen[last], taps = geo.taps
    if not wg.gemm:
        dot_rows(geo, wg, band, blen, packed, NULL, acc)
        return
    for i in range(last):
        rows *= blen[i]
    if rows > 1 and rows_follow(geo, blen):
        # the box's rows lie end to end in the band as in the packed panel:
        # one reduction run over all of them adds the same products in the
        # same order, with fewer loads and stores of the gradient's tiles
        width = rows * width
        rows = 1
    for row in range(rows):
        row_index(geo, row, blen, o)
        qrow = 0
        for i in range(D):
            qrow += o[i] * geo.pitch[i]
        pos0 = row * width
        k0 = 0
        while k0 < width:
            klen = width - k0
            if klen > wg.kc:
                klen = wg.kc
            if klen * wg.cout_pad * sizeof(real) > PANEL_L1_BYTES:
                # a column panel of the packed grad_output (klen x nr) stays in
                # the L1 cache while every input channel panel and tap runs over it
                for cp in range(wg.cout_pad // wg.nr):
                    for cip in range(wg.cin_pad // wg.mr):
                        for t in range(taps):
                            panel_tile(geo, wg, band, qrow + k0, klen, cip, t, cp,
                                       packed + (pos0 + k0) * wg.cout_pad, apanel, boff, acc)
            else:
                # the row's whole packed grad_output stays in the L1 cache
                for cip in range(wg.cin_pad // wg.mr):
                    for t in range(taps):
                        for cp in range(wg.cout_pad // wg.nr):
                            panel_tile(geo, wg, band, qrow + k0, klen, cip, t, cp,
                                       packed + (pos0 + k0) * wg.cout_pad, apanel, boff, acc)
            k0 += klen


cdef inline int64_t packed_elems(const DirectGeometry *geo, const WeightGrad *wg) noexcept nogil:
    """Values of the packed grad_output of one box."""
    return wg.box_positions * wg.cout_pad if wg.gemm else wg.box_positions * geo.cout_g


cdef inline void grad_scratch(const DirectGeometry *geo, const WeightGrad *wg, char *scratch,
                              real **packed, real **apanel, int64_t **boff) noexcept nogil:
    """The parts of a thread's scratch after the band plan's: the packed
    grad_output, MR rows of a short channel panel, the row-offset table of the
    packed panel (each 64-byte aligned)."""
    packed[0] = <real *>align_up(scratch + geo.scratch.bytes_per_thread)
    apanel[0] = <real *>align_up(<char *>(packed[0] + packed_elems(geo, wg)))
    boff[0] = <int64_t *>align_up(<char *>(apanel[0] + wg.mr * wg.kc))


cdef void prepare_scratch(const DirectGeometry *geo, const WeightGrad *wg, real *packed,
                          int64_t *boff) noexcept nogil:
    """Zero a thread's packed grad_output (its padded channels stay zero: the
    packing writes only real channels, and the microkernels read no position
    the packing of the box did not write, or mask it) and fill its row-offset
    table."""
    cdef int64_t i
    memset(packed, 0, packed_elems(geo, wg) * sizeof(real))
    for i in range(wg.kc):
        boff[i] = i * wg.cout_pad


cdef void rows_band(const DirectGeometry *geo, const real *x, int64_t n, int64_t g,
                    const int64_t *origin, real *band) noexcept nogil:
    """The band of a 2-d box with a zero border at stride 1 (a ``band_rows``
    plan): only the rows of x are copied; the border, cleared when the
    thread's box changed, stays zero (every item of a box writes the same
    positions)."""
    cdef int64_t ih0 = origin[0] - geo.pad_lo[0], iw0 = origin[1] - geo.pad_lo[1]
    cdef int64_t r_lo = -ih0 if ih0 < 0 else 0, c_lo = -iw0 if iw0 < 0 else 0
    cdef int64_t r_hi = geo.in_size[0] - ih0, c_hi = geo.in_size[1] - iw0
    cdef int64_t xs_h = geo.x_strides[2], pitch = geo.pitch[0], count, ci, r, j
    cdef const real *src
    cdef real *dst
    if r_hi > geo.ext[0]:
        r_hi = geo.ext[0]
    if c_hi > geo.ext[1]:
        c_hi = geo.ext[1]
    count = c_hi - c_lo
    if count <= 0:
        return
    for ci in range(geo.cin_g):
        src = (x + n * geo.x_strides[0] + (g * geo.x_channels_per_group + ci) * geo.x_strides[1]
               + (ih0 + r_lo) * xs_h + iw0 + c_lo)
        dst = band + ci * geo.plane_size + r_lo * pitch + c_lo
        for r in range(r_lo, r_hi):
            for j in range(count):
                dst[j] = src[j]
            src += xs_h
            dst += pitch


cdef void weight_grad_step(const DirectGeometry *geo, const WeightGrad *wg, int64_t step,
                           const real *x, const real *gout, real *partials,
                           char *scratch) noexcept nogil:
    """Step ``step`` of the run: its work unit (group, chunk) sums its next
    ``step_items`` items into its partial gradient (the first step zeroes it)."""
    cdef int64_t units = geo.groups * wg.chunks
    cdef int64_t u = step % units, round_number = step // units
    cdef int64_t g = u // wg.chunks, r = u % wg.chunks
    cdef int64_t first = r * wg.items // wg.chunks, stop = (r + 1) * wg.items // wg.chunks
    cdef int64_t item, n, b, i
    cdef int64_t *tables_box = <int64_t *>scratch   # the box the thread's tables are of
    cdef real *band = <real *>(scratch + geo.scratch.band)
    cdef int64_t *index = <int64_t *>(scratch + geo.scratch.index)
    cdef int64_t *origin = index + geo.scratch.origin
    cdef int64_t *blen = index + geo.scratch.blen
    cdef int64_t *o = index + geo.scratch.o
    cdef real *packed
    cdef real *apanel
    cdef int64_t *boff
    cdef real *acc = partials + u * wg.acc_elems
    cdef const real *src
    cdef const real *gbox
    grad_scratch(geo, wg, scratch, &packed, &apanel, &boff)
    if round_number == 0:
        memset(acc, 0, wg.acc_elems * sizeof(real))
    first += round_number * wg.step_items
    if stop > first + wg.step_items:
        stop = first + wg.step_items
    for item in range(first, stop):
        n = item // geo.box_count
        b = item % geo.box_count
        box_origin(geo, b, origin, blen)
        if geo.inplace:   # pointwise: the rows of x are the band
            src = x + n * geo.x_strides[0] + g * geo.x_channels_per_group * geo.x_strides[1]
            for i in range(geo.ndim):
                src += origin[i] * geo.x_strides[2 + i]
        else:
            if b != tables_box[0]:   # the band's tables (or border) depend on the box alone
                if wg.band_rows:
                    memset(band, 0, geo.band_elems * sizeof(real))
                else:
                    build_tables(geo, index)
                tables_box[0] = b
            if wg.band_rows:
                rows_band(geo, x, n, g, origin, band)
            else:
                copy_band(geo, wg.ks, x, n, g, band, index)
            src = band
        if not wg.gemm:
            gbox = direct_rows(geo, wg, gout, n, g, origin, blen)
            if gbox != NULL:
                dot_rows(geo, wg, src, blen, packed, gbox, acc)
                continue
        pack_grad(geo, wg, gout, n, g, origin, blen, o, packed)
        item_rows(geo, wg, src, blen, o, packed, apanel, boff, acc)


cdef enum:
    # output channels the gemm path's reduction handles together: its reads of
    # a partial gradient (channels contiguous) then fill whole cache lines
    REDUCE_BLOCK = 16


cdef enum:
    # partial gradients of at most this many values in all are reduced on one thread
    REDUCE_SERIAL_ELEMS = 1 << 16


cdef void reduce_block(const DirectGeometry *geo, const WeightGrad *wg, const real *part,
                       int64_t co0, int64_t co1, real *gw, bint flip) noexcept nogil:
    """The gemm path's reduction of output channels co0 <= co < co1 of one
    group (``part``: its first chunk's partial, ``gw``: its first weight):
    chunk by chunk, a block of channels at a time."""
    cdef real sums[REDUCE_BLOCK]
    cdef int64_t taps = geo.taps, cin_g = geo.cin_g, n = co1 - co0, ci, t, tt, r, j
    cdef const real *src
    for ci in range(cin_g):
        for t in range(taps):
            src = part + (t * wg.cin_pad + ci) * wg.cout_pad + co0
            for j in range(n):
                sums[j] = src[j]
            for r in range(1, wg.chunks):
                src += wg.acc_elems
                for j in range(n):
                    sums[j] = sums[j] + src[j]
            tt = (taps - 1 - t) if flip else t
            for j in range(n):
                gw[((co0 + j) * cin_g + ci) * taps + tt] = sums[j]


cdef void reduce_partials(const DirectGeometry *geo, const WeightGrad *wg,
                          const real *partials, real *gw, bint flip,
                          int64_t threads) noexcept nogil:
    """gw[g*cout_g + co, ci, t] = the partials of group g summed in chunk order
    (taps reversed for true convolution)."""
    cdef int64_t taps = geo.taps, cin_g = geo.cin_g
    cdef int64_t blocks_per_group = (geo.cout_g + REDUCE_BLOCK - 1) // REDUCE_BLOCK
    cdef int64_t total = geo.groups * geo.cout_g, block
    cdef int64_t row, g, co, co0, co1, ci, t, r, src, tt, lane
    cdef real s, chunk_sum
    cdef const real *part
    if wg.gemm:
        for block in prange(geo.groups * blocks_per_group, schedule="static",
                            num_threads=threads):
            g = block // blocks_per_group
            co0 = (block % blocks_per_group) * REDUCE_BLOCK
            co1 = co0 + REDUCE_BLOCK
            if co1 > geo.cout_g:
                co1 = geo.cout_g
            reduce_block(geo, wg, partials + g * wg.chunks * wg.acc_elems, co0, co1,
                         gw + g * geo.cout_g * cin_g * taps, flip)
        return
    for row in prange(total, schedule="static", num_threads=threads):
        g = row // geo.cout_g
        co = row % geo.cout_g
        for ci in range(cin_g):
            for t in range(taps):
                s = 0
                for r in range(wg.chunks):
                    part = partials + (g * wg.chunks + r) * wg.acc_elems
                    # the dot path's lanes, in order
                    src = ((co * cin_g + ci) * taps + t) * PCX_DOT_LANES
                    chunk_sum = part[src]
                    for lane in range(1, PCX_DOT_LANES):
                        chunk_sum = chunk_sum + part[src + lane]
                    s = chunk_sum if r == 0 else s + chunk_sum
                tt = (taps - 1 - t) if flip else t
                gw[(row * cin_g + ci) * taps + tt] = s


cdef void run_block(const DirectGeometry *geo, const WeightGrad *wg, int64_t block,
                    int64_t start, int64_t stop, const real *x, const real *gout,
                    real *partials, char *scratch) noexcept nogil:
    """The steps ``start`` to ``stop - 1`` of the units of block ``block`` (units
    ``block * block_units`` on), in step order: step k of each of them, then
    step k + 1.  On the dot path a step is one item, so the block reads image
    by image the consecutive channels of its units: x's and grad_output's
    planes in memory order."""
    cdef int64_t units = geo.groups * wg.chunks
    cdef int64_t first = block * wg.block_units, last = first + wg.block_units
    cdef int64_t base = (start // units) * units, step, begin, end
    if last > units:
        last = units
    while base < stop:
        begin = base + first if base + first > start else start
        end = base + last if base + last < stop else stop
        for step in range(begin, end):
            weight_grad_step(geo, wg, step, x, gout, partials, scratch)
        base += units


cdef int weight_grad_run(const DirectGeometry *geo, const WeightGrad *wg, const real *x,
                         const real *gout, real *gw, bint flip) noexcept nogil:
    """Every step of every unit, then the reduction; return a status (``GRAD_*``).

    The steps run in runs of ``steps_per_check`` (in the order step k of
    every unit, then step k + 1 of every unit); a run's steps go to the
    threads by blocks of ``block_units`` consecutive units, each block's
    steps on one thread in order, so no two steps of one unit ever run at
    once.  Between two runs a pending Ctrl-C stops the work (``gw`` is then
    not written).
    """
    cdef int64_t units = geo.groups * wg.chunks, t, start, stop, b
    cdef int64_t blocks = (units + wg.block_units - 1) // wg.block_units
    cdef int64_t unit_items = (wg.items + wg.chunks - 1) // wg.chunks
    cdef int64_t rounds = (unit_items + wg.step_items - 1) // wg.step_items
    cdef int64_t steps
    cdef size_t nbytes = (units * wg.acc_elems * sizeof(real) + ALIGN
                          + wg.threads * wg.scratch_bytes + ALIGN)
    cdef char *block = <char *>malloc(nbytes)
    cdef real *partials
    cdef char *scratch
    cdef real *packed
    cdef real *apanel
    cdef int64_t *boff
    cdef int status = GRAD_OK
    if block == NULL:
        return GRAD_NO_MEMORY
    if rounds < 1:   # no items: the first round still zeroes the partials
        rounds = 1
    steps = rounds * units
    partials = <real *>align_up(block)
    scratch = align_up(<char *>(partials + units * wg.acc_elems))
    for t in range(wg.threads):
        grad_scratch(geo, wg, scratch + t * wg.scratch_bytes, &packed, &apanel, &boff)
        prepare_scratch(geo, wg, packed, boff)
        (<int64_t *>(scratch + t * wg.scratch_bytes))[0] = -1   # no tables built yet
    start = 0
    while start < steps:
        stop = start + wg.steps_per_check
        if stop > steps:
            stop = steps
        # dynamic: a thread the host leaves waiting takes fewer blocks (each step
        # writes its own unit's partial, so the bits do not depend on who runs it)
        for b in prange(blocks, schedule="dynamic", chunksize=1, num_threads=wg.threads):
            run_block(geo, wg, b, start, stop, x + geo.x_offset, gout, partials,
                      scratch + threadid() * wg.scratch_bytes)
        start = stop
        if start < steps and signal_pending():
            status = GRAD_INTERRUPTED
            break
    if status == GRAD_OK:
        # a small reduction runs on this thread: waking the others costs more
        # than it saves, all the more on a busy host
        reduce_partials(geo, wg, partials, gw, flip,
                        1 if units * wg.acc_elems <= REDUCE_SERIAL_ELEMS else wg.threads)
    free(block)
    return status


def weight_grad(x, grad_output, gw, DirectPlan band,
                plan, bint flip):
    """Write the weight gradient of plan ``plan`` (a WeightGradPlan) into ``gw``.

    ``x``: the batched input, with the element strides of the band plan;
    ``grad_output``: ``(N, C_out, *out_spatial)``, any element strides;
    ``gw``: C-contiguous ``(C_out, C_in/groups, *kernel)``, all in the plan's dtype.
    Ctrl-C during the run raises the signal handler's exception
    (KeyboardInterrupt), ``gw`` then not written.
    """
    cdef WeightGrad wg
    cdef const DirectGeometry *geo = &band.geo
    cdef int status
    dtype = band.dtype
    for name, array in (("x", x), ("grad_output", grad_output), ("gw", gw)):
        if array.dtype != dtype:
            raise ValueError(f"{name} has dtype {array.dtype}, the plan computes in {dtype}")
    x_strides = tuple(s // x.itemsize for s in x.strides)
    if x_strides != tuple(geo.x_strides[i] for i in range(geo.ndim + 2)) or (
            x.shape[0] != geo.batch):
        raise ValueError("x does not match the plan (shape or strides)")
    if (grad_output.ndim != geo.ndim + 2 or grad_output.shape[0] != geo.batch
            or grad_output.shape[1] != geo.groups * geo.cout_g
            or any(grad_output.shape[2 + i] != geo.out_size[i] for i in range(geo.ndim))):
        raise ValueError("grad_output does not match the plan")
    if (not gw.flags.c_contiguous or gw.shape[0] != geo.groups * geo.cout_g
            or gw.size != geo.groups * geo.cout_g * geo.K):
        raise ValueError("gw does not match the plan")
    g_strides = np.array([s // grad_output.itemsize for s in grad_output.strides],
                         dtype=np.int64)
    cdef const int64_t[::1] g_view = g_strides
    wg.gemm = 1 if plan.path in ("gemm", "wide") else 0
    wg.wide = 1 if plan.path == "wide" else 0
    wg.chunks = plan.chunks
    wg.items = geo.batch * geo.box_count
    wg.step_items = plan.fields["step_items"]
    wg.steps_per_check = plan.fields["steps_per_check"]
    wg.block_units = plan.fields["block_units"]
    wg.band_rows = plan.fields["band_rows"]
    if wg.band_rows and not (geo.ndim == 2 and geo.n_phase == 1 and geo.stride[0] == 1
                             and geo.stride[1] == 1 and geo.x_strides[3] == 1
                             and geo.mode == PaddingMode.ZEROS and not geo.inplace):
        raise ValueError("inconsistent plan: a band of x's rows over a zero border needs "
                         "a 2-d stride-1 band of unit-stride rows with zero padding")
    if wg.step_items < 1 or wg.steps_per_check < 1 or wg.block_units < 1:
        raise ValueError("the plan's steps do not fit its work units")
    wg.cin_pad = plan.cin_pad
    wg.cout_pad = plan.cout_pad
    wg.acc_elems = plan.acc_elems
    wg.mr = plan.fields["mr"]
    wg.nr = plan.fields["nr"]
    wg.kc = plan.fields["kc"]
    wg.box_positions = plan.fields["box_positions"]
    wg.row_pitch = plan.fields["row_pitch"]
    wg.grid_rows = plan.fields["grid_rows"]
    wg.grid_cols = plan.fields["grid_cols"]
    wg.grid_step = plan.fields["grid_step"]
    if wg.grid_rows:
        _check_grid(geo, wg.grid_rows, wg.grid_cols, wg.grid_step, wg.gemm)
    wg.scratch_bytes = plan.scratch_bytes
    wg.threads = plan.threads
    wg.level = plan.fields["level"]
    wg.g_strides = &g_view[0]
    wg.g_direct = 1 if (grad_output.ndim > 2 and g_strides[grad_output.ndim - 1] == 1
                        and all(v >= 0 for v in g_strides)) else 0
    wg.g_span = 1 + sum((size - 1) * v for size, v in zip(grad_output.shape, g_strides))
    wg.ks = band.ukernels
    cdef const void *x_data = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef const void *g_data = cnp.PyArray_DATA(<cnp.ndarray>grad_output)
    cdef void *w_data = cnp.PyArray_DATA(<cnp.ndarray>gw)
    cdef bint is_double = dtype == np.float64
    with nogil:
        if is_double:
            status = weight_grad_run[double](geo, &wg, <const double *>x_data,
                                             <const double *>g_data, <double *>w_data, flip)
        else:
            status = weight_grad_run[float](geo, &wg, <const float *>x_data,
                                            <const float *>g_data, <float *>w_data, flip)
    if status == GRAD_INTERRUPTED:
        _propagate_pending_exception()
    if status == GRAD_NO_MEMORY:
        raise MemoryError("the weight gradient's workspace could not be allocated")
    return gw


cdef _check_grid(const DirectGeometry *geo, int64_t rows, int64_t cols, int64_t step,
                 int64_t gemm):
    """Refuse a plan whose grid of taps is not the band's: tap (i, j) of every
    input channel must sit ``i * step`` band rows below tap (0, j), on the dot
    path over a band with room past its rows (not read in place)."""
    cdef int64_t taps = geo.taps, pitch = geo.pitch[geo.ndim - 2] if geo.ndim > 1 else 0
    cdef int64_t ci, i, j
    if gemm or geo.inplace or geo.ndim < 2 or rows * cols != taps or step < 1:
        raise ValueError(f"inconsistent plan: a {rows} x {cols} grid of taps "
                         f"{step} band rows apart on a band of {taps} taps")
    for ci in range(geo.cin_g):
        for i in range(rows):
            for j in range(cols):
                if (geo.off[ci * taps + i * cols + j]
                        != geo.off[ci * taps + j] + i * step * pitch):
                    raise ValueError(f"inconsistent plan: tap ({i}, {j}) is not {i * step} "
                                     f"band rows below tap (0, {j})")


cdef int _propagate_pending_exception() except -1:
    """Raise the exception a signal handler left set (returning -1 makes Cython do it)."""
    return -1


cdef void fold_plane(const real *src, real *dst, const int64_t *shape, const int64_t *dst_strides,
                     const int64_t *maps, const int64_t *map_start, int64_t ndim,
                     int64_t *counter) noexcept nogil:
    """dst[map(p)] += src[p] for every position p of one padded plane, in C order
    (map -1: dropped)."""
    cdef int64_t last = ndim - 1, i, j, base, total_rows = 1, row, rem, target
    cdef const int64_t *inner = maps + map_start[last]
    cdef int64_t step = dst_strides[last], width = shape[last]
    for i in range(last):
        total_rows *= shape[i]
    for row in range(total_rows):
        rem = row
        base = 0
        i = last - 1
        while i >= 0:
            counter[i] = rem % shape[i]
            rem = rem // shape[i]
            target = maps[map_start[i] + counter[i]]
            if target < 0:
                base = -1
                break
            base += target * dst_strides[i]
            i -= 1
        if base < 0:
            continue
        for j in range(width):
            target = inner[j]
            if target >= 0:
                dst[base + target * step] += src[row * width + j]


def fold_padded(padded, dst, maps, int64_t threads):
    """Fold the gradient of the padded input onto the input.

    ``padded``: C-contiguous ``(N, C, *padded_spatial)``; ``dst``: ``(N, C,
    *spatial)``, any element strides, overwritten; ``maps``: per spatial dim,
    the int64 input index each padded coordinate copies (-1: none).
    """
    cdef int64_t ndim = padded.ndim - 2, planes = padded.shape[0] * padded.shape[1]
    cdef int64_t plane_size = 1, p, n, c, i
    if ndim < 1 or ndim > MAX_DIMS or dst.ndim != ndim + 2 or dst.dtype != padded.dtype:
        raise ValueError("fold_padded: dst does not match padded")
    if not padded.flags.c_contiguous:
        raise ValueError("fold_padded: padded must be C-contiguous")
    shape = np.array(padded.shape[2:], dtype=np.int64)
    strides = np.array([s // dst.itemsize for s in dst.strides], dtype=np.int64)
    all_maps = np.concatenate([np.asarray(m, dtype=np.int64) for m in maps])
    starts = np.cumsum([0] + [len(m) for m in maps[:len(maps) - 1]]).astype(np.int64)
    cdef const int64_t[::1] shape_v = shape
    cdef const int64_t[::1] strides_v = strides
    cdef const int64_t[::1] maps_v = all_maps
    cdef const int64_t[::1] starts_v = starts
    counters = np.zeros((planes, MAX_DIMS), dtype=np.int64)
    cdef int64_t[:, ::1] counter_v = counters
    for i in range(ndim):
        plane_size *= shape[i]
    dst[...] = 0
    cdef char *src_data = <char *>cnp.PyArray_DATA(<cnp.ndarray>padded)
    cdef char *dst_data = <char *>cnp.PyArray_DATA(<cnp.ndarray>dst)
    cdef int64_t n_channels = padded.shape[1]
    cdef int64_t dn = strides[0], dc = strides[1]
    cdef bint is_double = padded.dtype == np.float64
    with nogil:
        for p in prange(planes, schedule="static", num_threads=threads):
            n = p // n_channels
            c = p % n_channels
            if is_double:
                fold_plane[double](<const double *>src_data + p * plane_size,
                                   <double *>dst_data + n * dn + c * dc, &shape_v[0],
                                   &strides_v[2], &maps_v[0], &starts_v[0], ndim,
                                   &counter_v[p, 0])
            else:
                fold_plane[float](<const float *>src_data + p * plane_size,
                                  <float *>dst_data + n * dn + c * dc, &shape_v[0],
                                  &strides_v[2], &maps_v[0], &starts_v[0], ndim,
                                  &counter_v[p, 0])
    return dst


cdef void channel_sum(const real *g, int64_t batch, int64_t ndim, const int64_t *shape,
                      const int64_t *strides, real *out) noexcept nogil:
    """out[0] = the sum of one channel over the batch and the positions: 16 lanes
    (a running position count mod 16), added in order at the end."""
    cdef real lanes[16]
    cdef int64_t n, row, rem, i, j, base, rows = 1, lane = 0, last = ndim - 1
    cdef int64_t width = shape[last], step = strides[1 + ndim]
    cdef real s
    for i in range(16):
        lanes[i] = 0
    for i in range(last):
        rows *= shape[i]
    for n in range(batch):
        for row in range(rows):
            rem = row
            base = n * strides[0]
            i = last - 1
            while i >= 0:
                base += (rem % shape[i]) * strides[2 + i]
                rem = rem // shape[i]
                i -= 1
            for j in range(width):
                lanes[lane] += g[base + j * step]
                lane = (lane + 1) & 15
    s = lanes[0]
    for i in range(1, 16):
        s = s + lanes[i]
    out[0] = s


def wide_tile(itemsize):
    """The wide tile (rows, columns) for elements of ``itemsize`` bytes."""
    return (PCX_WIDE_MR, PCX_WIDE_NV * 64 // itemsize)


def bias_grad(grad_output, out, int64_t threads):
    """out[c] = sum of ``grad_output[:, c]`` (``(N, C, *spatial)``, any strides), in a
    fixed order (the same for every layout and thread count)."""
    cdef int64_t ndim = grad_output.ndim - 2, channels = grad_output.shape[1], c
    cdef int64_t batch = grad_output.shape[0]
    shape = np.array(grad_output.shape[2:], dtype=np.int64)
    strides = np.array([s // grad_output.itemsize for s in grad_output.strides], dtype=np.int64)
    cdef const int64_t[::1] shape_v = shape
    cdef const int64_t[::1] strides_v = strides
    cdef int64_t cs = strides[1]
    cdef char *g_data = <char *>cnp.PyArray_DATA(<cnp.ndarray>grad_output)
    cdef char *o_data = <char *>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef bint is_double = grad_output.dtype == np.float64
    if out.dtype != grad_output.dtype or out.shape != (channels,) or not out.flags.c_contiguous:
        raise ValueError("bias_grad: out does not match grad_output")
    with nogil:
        for c in prange(channels, schedule="static", num_threads=threads):
            if is_double:
                channel_sum[double](<const double *>g_data + c * cs, batch, ndim, &shape_v[0],
                                    &strides_v[0], <double *>o_data + c)
            else:
                channel_sum[float](<const float *>g_data + c * cs, batch, ndim, &shape_v[0],
                                   &strides_v[0], <float *>o_data + c)
    return out


cdef enum:
    # output and input channels of one block of the sub-kernels' gather
    GATHER_CO_BLOCK = 8
    GATHER_CI_BLOCK = 32


cdef inline void gather_block(const char *base, const int64_t *off, const int64_t *ntaps,
                              int64_t nphases, char *buf, int64_t slot, int64_t block,
                              int64_t itemsize) noexcept nogil:
    """The taps of every phase of one (co, ci) pair (at ``base``) into slot
    ``slot`` of the block buffer: phase p's run of ``block`` slots comes first
    (taps of the phases before it, times ``block``)."""
    cdef int64_t p, t, k = 0
    cdef char *d
    for p in range(nphases):
        d = buf + (k * block + slot * ntaps[p]) * itemsize
        if itemsize == 4:
            for t in range(ntaps[p]):
                (<float *>d)[t] = (<const float *>(base + off[k + t]))[0]
        else:
            for t in range(ntaps[p]):
                (<double *>d)[t] = (<const double *>(base + off[k + t]))[0]
        k = k + ntaps[p]


cdef int gather_kernels(const char *src, int64_t s_co, int64_t s_ci, int64_t cout,
                        int64_t cin, const int64_t *off, const int64_t *ntaps,
                        int64_t nphases, char **dst, int64_t itemsize,
                        int64_t threads) noexcept nogil:
    """dst[p][(co * cin + ci) * ntaps[p] + t] = the element at src + co * s_co +
    ci * s_ci + off[first tap of p + t] (byte strides and offsets), every
    phase p from one read of each (co, ci) pair.  A transposed weight's rows
    are far apart, so the pairs go by blocks of channels through a buffer
    that stays in the L1 cache: read along the shorter source stride, written
    as one run per (phase, output channel).  Returns 1 if the buffers could
    not be allocated (nothing is then written), else 0."""
    cdef int64_t co_blocks = (cout + GATHER_CO_BLOCK - 1) // GATHER_CO_BLOCK
    cdef int64_t b, co0, co1, ci0, ci1, co, ci, p, k, n, total = 0
    cdef bint co_inner = (s_co if s_co >= 0 else -s_co) < (s_ci if s_ci >= 0 else -s_ci)
    cdef int64_t block = GATHER_CO_BLOCK * GATHER_CI_BLOCK
    cdef int64_t buf_bytes
    cdef char *bufs
    cdef char *buf
    for p in range(nphases):
        total += ntaps[p]
    buf_bytes = block * total * itemsize
    bufs = <char *>malloc(threads * buf_bytes)
    if bufs == NULL:
        return 1
    for b in prange(co_blocks, schedule="static", num_threads=threads):
        buf = bufs + threadid() * buf_bytes
        co0 = b * GATHER_CO_BLOCK
        co1 = co0 + GATHER_CO_BLOCK
        if co1 > cout:
            co1 = cout
        ci0 = 0
        while ci0 < cin:
            ci1 = ci0 + GATHER_CI_BLOCK
            if ci1 > cin:
                ci1 = cin
            n = ci1 - ci0
            if co_inner:
                for ci in range(ci0, ci1):
                    for co in range(co0, co1):
                        gather_block(src + co * s_co + ci * s_ci, off, ntaps, nphases,
                                     buf, (co - co0) * n + ci - ci0, block, itemsize)
            else:
                for co in range(co0, co1):
                    for ci in range(ci0, ci1):
                        gather_block(src + co * s_co + ci * s_ci, off, ntaps, nphases,
                                     buf, (co - co0) * n + ci - ci0, block, itemsize)
            k = 0
            for p in range(nphases):
                for co in range(co0, co1):
                    memcpy(dst[p] + (co * cin + ci0) * ntaps[p] * itemsize,
                           buf + (k * block + (co - co0) * n * ntaps[p]) * itemsize,
                           n * ntaps[p] * itemsize)
                k = k + ntaps[p]
            ci0 = ci1
    free(bufs)
    return 0


def phase_kernels(weight, tuple indices, int64_t threads):
    """The contiguous sub-kernel ``weight[:, :, *index]`` of each index in
    ``indices`` (a tuple of slices per spatial dim), from one pass over
    ``weight`` (``(C_out, C_in/groups, *kernel)``, float32 or float64, any
    strides, e.g. a transposed and rotated view).  A list of arrays."""
    cdef cnp.ndarray w = weight
    cdef int64_t D = w.ndim - 2, cout = w.shape[0], cin = w.shape[1]
    cdef int64_t itemsize = w.itemsize, nphases = len(indices), i
    if w.dtype not in (np.float32, np.float64) or D < 1 or not w.flags.aligned:
        raise ValueError("weight must be an aligned float32 or float64 array of >= 3 dims")
    outs = []
    offsets = []
    counts = np.empty(max(nphases, 1), dtype=np.int64)
    pointers = np.empty(max(nphases, 1), dtype=np.uintp)
    grids = []
    for index in indices:
        if len(index) != D:
            raise ValueError(f"index {index!r} does not have one slice per spatial dim")
        ranges = [range(*s.indices(w.shape[2 + j])) for j, s in enumerate(index)]
        grid = np.zeros([len(r) for r in ranges], dtype=np.int64)
        for j, r in enumerate(ranges):
            shape = [1] * D
            shape[j] = len(r)
            grid = grid + (np.asarray(r, dtype=np.int64) * w.strides[2 + j]).reshape(shape)
        grids.append(grid)
    # one allocation for all of them (each fresh block of a large size costs
    # its page faults again)
    block = np.empty(cout * cin * sum(grid.size for grid in grids), dtype=w.dtype)
    start = 0
    for i, grid in enumerate(grids):
        out = block[start:start + cout * cin * grid.size].reshape((cout, cin) + grid.shape)
        start += cout * cin * grid.size
        outs.append(out)
        offsets.append(grid.ravel())
        counts[i] = grid.size
        pointers[i] = <uintptr_t>cnp.PyArray_DATA(<cnp.ndarray>out)
    if nphases == 0 or cout * cin == 0:
        return outs
    cdef cnp.ndarray off = np.ascontiguousarray(np.concatenate(offsets), dtype=np.int64)
    cdef const int64_t *off_p = <const int64_t *>cnp.PyArray_DATA(off)
    cdef const int64_t *counts_p = <const int64_t *>cnp.PyArray_DATA(<cnp.ndarray>counts)
    cdef char **dst_p = <char **>cnp.PyArray_DATA(<cnp.ndarray>pointers)
    cdef const char *src = <const char *>cnp.PyArray_DATA(w)
    cdef int64_t s_co = w.strides[0], s_ci = w.strides[1]
    cdef int failed
    with nogil:
        failed = gather_kernels(src, s_co, s_ci, cout, cin, off_p, counts_p, nphases, dst_p,
                                itemsize, threads)
    if failed:
        nbytes = threads * GATHER_CO_BLOCK * GATHER_CI_BLOCK * int(counts.sum()) * itemsize
        raise MemoryError(f"the sub-kernels' gather could not allocate its {nbytes}-byte "
                          f"buffers")
    return outs
