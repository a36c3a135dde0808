"""pyconvx's compiled engine: nogil drivers over the SIMD microkernels.

This module only computes.  Everything it receives has been validated and put
in canonical form by the Python layer (``pyconvx._plan`` builds the tables):
contiguous typed buffers, int64 sizes, integer codes instead of strings.  The
drivers release the GIL, split *output* work units over OpenMP threads with a
static schedule (so each output's summation order never depends on the thread
count), and report failure as a status code that the caller turns into an
exception with the GIL held.

The direct engine
-----------------
For one work unit - an image ``n``, a channel group ``g``, an output box and a
block of output channels - the driver copies the input region the box needs
into a per-thread *band* buffer: padded by the padding mode and, for strides
above one, split into phase planes, so that every kernel tap reads NR
*contiguous* values for NR consecutive output positions.  Output positions are
numbered in the band's pitch space (a few "garbage" columns per row are
computed and thrown away), and row ``k`` of the implicit im2col matrix is just
``band + off[k]``.  A microkernel then computes an MR x NR register tile over
the whole reduction, and the tile is scattered into the output with the bias.

The depthwise kind (2-d, one channel per group) differs: a unit is an image, a
block of channels and an output box; per channel the band is built and the
depthwise kernel writes whole output rows in place (no tile, no scatter).
"""

from cpython.exc cimport PyErr_CheckSignals
from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

cimport numpy as cnp

import numpy as np

cnp.import_array()

ctypedef fused real:
    float
    double

cdef extern from "pcx_kernels.h" nogil:
    ctypedef void (*pcx_ukr_f32)(int64_t K, const float *A, int64_t lda, const float *B,
                                 const int64_t *off, float *C, int64_t ldc,
                                 const float *bias, int64_t load_c) noexcept nogil
    ctypedef void (*pcx_ukr_f64)(int64_t K, const double *A, int64_t lda, const double *B,
                                 const int64_t *off, double *C, int64_t ldc,
                                 const double *bias, int64_t load_c) noexcept nogil
    ctypedef void (*pcx_rowblock_f32)(int64_t KH, int64_t KW, const float *w, const float *B,
                                      int64_t row_pitch, const int64_t *col_off, float *C,
                                      int64_t ldc, const float *bias) noexcept nogil
    ctypedef void (*pcx_rowblock_f64)(int64_t KH, int64_t KW, const double *w,
                                      const double *B, int64_t row_pitch,
                                      const int64_t *col_off, double *C, int64_t ldc,
                                      const double *bias) noexcept nogil
    ctypedef void (*pcx_wino_in_f32)(const float *band, int64_t pitch, int64_t TH, int64_t TW,
                                     float *V, int64_t v_stride) noexcept nogil
    ctypedef void (*pcx_wino_in_f64)(const double *band, int64_t pitch, int64_t TH,
                                     int64_t TW, double *V, int64_t v_stride) noexcept nogil
    ctypedef void (*pcx_wino_out_f32)(const float *M, int64_t m_stride, int64_t TH, int64_t TW,
                                      float *out, int64_t ldo, int64_t rows, int64_t cols,
                                      float bias) noexcept nogil
    ctypedef void (*pcx_wino_out_f64)(const double *M, int64_t m_stride, int64_t TH,
                                      int64_t TW, double *out, int64_t ldo, int64_t rows,
                                      int64_t cols, double bias) noexcept nogil
    ctypedef double (*pcx_probe)(int64_t iterations) noexcept nogil
    ctypedef void (*pcx_gather_f32)(const float *src, int64_t step, int64_t n,
                                    float *dst) noexcept nogil
    ctypedef void (*pcx_gather_f64)(const double *src, int64_t step, int64_t n,
                                    double *dst) noexcept nogil
    ctypedef void (*pcx_dw_f32)(int64_t KH, int64_t KW, const float *w, const int64_t *off,
                                const float *band, int64_t row_pitch, int64_t rows,
                                int64_t cols, float *out, int64_t ldo,
                                const float *bias) noexcept nogil
    ctypedef void (*pcx_dw_f64)(int64_t KH, int64_t KW, const double *w, const int64_t *off,
                                const double *band, int64_t row_pitch, int64_t rows,
                                int64_t cols, double *out, int64_t ldo,
                                const double *bias) noexcept nogil
    ctypedef struct pcx_kernel_set:
        const char *name
        int gemm_mr_f32, gemm_nr_f32, row_nr_f32
        int gemm_mr_f64, gemm_nr_f64, row_nr_f64
        pcx_ukr_f32 gemm_f32
        pcx_ukr_f32 row_f32
        pcx_ukr_f64 gemm_f64
        pcx_ukr_f64 row_f64
        int rowblock_mb_f32, rowblock_nr_f32, rowblock_mb_f64, rowblock_nr_f64
        pcx_rowblock_f32 rowblock_f32
        pcx_rowblock_f64 rowblock_f64
        pcx_wino_in_f32 wino_in_f32
        pcx_wino_in_f64 wino_in_f64
        pcx_wino_out_f32 wino_out_f32
        pcx_wino_out_f64 wino_out_f64
        pcx_probe fma_probe_f32
        pcx_probe fma_probe_f64
        int64_t probe_flops_per_iteration_f32, probe_flops_per_iteration_f64
        int dw_mb_f32, dw_vl_f32, dw_mb_f64, dw_vl_f64
        pcx_dw_f32 dw_f32
        pcx_dw_f64 dw_f64
        pcx_gather_f32 gather_f32
        pcx_gather_f64 gather_f64
    const pcx_kernel_set *pcx_kernel_set_for(int level)
    int pcx_cpu_level()
    int PCX_N_LEVELS

cdef extern from "pcx_driver.h" nogil:
    int64_t pcx_offset(const int64_t *origin, const int64_t *index, const int64_t *strides,
                       int64_t ndim)
    void *pcx_workspace_alloc(size_t nbytes)

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define PCX_OPENMP 1
    #else
    #define PCX_OPENMP 0
    #endif
    """
    int PCX_OPENMP

# Kernel kinds (the plan's choice of microkernel shape).
cdef enum:
    KIND_GEMM = 0
    KIND_ROW = 1
    KIND_ROWBLOCK = 2
    KIND_WINOGRAD = 3
    KIND_DEPTHWISE = 4

# Padding-mode codes, in the order of pyconvx._normalize.PADDING_MODES.
cdef enum:
    MODE_ZEROS = 0
    MODE_REFLECT = 1
    MODE_REPLICATE = 2
    MODE_CIRCULAR = 3

# Alignment of every per-thread scratch block, in bytes.
cdef enum:
    ALIGN = 64


# --------------------------------------------------------------------------
# Build and CPU facts
# --------------------------------------------------------------------------

def openmp_enabled():
    """Whether the core was compiled with OpenMP."""
    return bool(PCX_OPENMP)


def cpu_level():
    """Highest kernel level compiled in and supported here (0 generic, 1 avx2, 2 avx512)."""
    return pcx_cpu_level()


def kernel_set_info(int level):
    """Tile shapes of the kernel set of ``level``, or None if not compiled in."""
    cdef const pcx_kernel_set *ks = pcx_kernel_set_for(level)
    if ks == NULL:
        return None
    return {
        "name": ks.name.decode("ascii"),
        "gemm_mr": {"float32": ks.gemm_mr_f32, "float64": ks.gemm_mr_f64},
        "gemm_nr": {"float32": ks.gemm_nr_f32, "float64": ks.gemm_nr_f64},
        "row_nr": {"float32": ks.row_nr_f32, "float64": ks.row_nr_f64},
        "rowblock_mb": {"float32": ks.rowblock_mb_f32, "float64": ks.rowblock_mb_f64},
        "rowblock_nr": {"float32": ks.rowblock_nr_f32, "float64": ks.rowblock_nr_f64},
        "dw_mb": {"float32": ks.dw_mb_f32, "float64": ks.dw_mb_f64},
        "dw_vl": {"float32": ks.dw_vl_f32, "float64": ks.dw_vl_f64},
    }


def fma_probe(int level, bint double_precision, int threads, int64_t iterations):
    """Run the register-only FMA loop on ``threads`` threads; return the FLOPs done.

    Time it from Python to get the machine's peak (see pyconvx._config).
    """
    cdef const pcx_kernel_set *ks = pcx_kernel_set_for(level)
    cdef int t
    cdef double sink = 0
    if ks == NULL:
        raise ValueError(f"kernel level {level} is not compiled in")
    with nogil:
        for t in prange(threads, schedule="static", num_threads=threads):
            if double_precision:
                sink += ks.fma_probe_f64(iterations)
            else:
                sink += ks.fma_probe_f32(iterations)
    per_iteration = (ks.probe_flops_per_iteration_f64 if double_precision
                     else ks.probe_flops_per_iteration_f32)
    return threads * iterations * per_iteration + 0 * sink


# --------------------------------------------------------------------------
# The direct engine
# --------------------------------------------------------------------------

cdef struct Geometry:
    # problem
    int64_t ndim, batch, groups, cin_g, cout_g, mode
    const int64_t *in_size       # [ndim]
    const int64_t *stride        # [ndim]
    const int64_t *pad_lo        # [ndim]
    const int64_t *padded_size   # [ndim] in_size + pad_lo + pad_hi
    const int64_t *out_size      # [ndim]
    const int64_t *x_strides     # [2 + ndim] element strides of x (n, c, spatial)
    # band layout
    const int64_t *box           # [ndim] output box extent
    const int64_t *n_boxes       # [ndim] boxes per dim
    const int64_t *ext           # [ndim] band plane extent
    const int64_t *pitch         # [ndim] band plane pitch
    const int64_t *n_res         # [ndim] phase residues used per dim
    const int64_t *res_start     # [ndim] start of dim i's residues in res
    const int64_t *res           # residues, all dims
    int64_t n_phase, plane_size, box_count
    int64_t qmax                 # 1 + last pitch-space position of a full box
    const int64_t *off           # [K] tap offsets into the band (or into x, in place)
    bint inplace                 # pointwise: the kernels read x itself, no band
    const int64_t *off_tail      # [K] in place: offsets into the copy of a partial tile
    int64_t K, kc                # reduction length; its block length (L1 reuse)
    # tiling
    int64_t kind, mr, nr, n_panels, panels_per_block, m_blocks, n_units
    int64_t rb_kh, rb_kw        # rowblock: kernel rows and columns
    int64_t wino_th, wino_tw, wino_tp   # winograd: tile rows/cols per box, tile pitch
    int64_t wino_vx, wino_mx            # winograd: transform-plane strides of V and M
    int64_t wino_v_bytes, wino_m_bytes
    # depthwise: channels per unit, channel blocks, zero-padding fast band copy
    int64_t dw_cpu, dw_blocks, dw_fast
    # per-thread scratch layout, in bytes
    int64_t band_elems, scratch_bytes, band_bytes, tile_bytes, table_bytes, packed_elems


cdef inline int64_t map_index(int64_t coord, int64_t pad_lo, int64_t size,
                              int64_t padded, int64_t mode) noexcept nogil:
    """Input index feeding padded coordinate ``coord``, or -1 for a zero."""
    cdef int64_t i = coord - pad_lo
    if coord < 0 or coord >= padded:
        return -1          # only garbage (discarded) positions reach here
    if 0 <= i < size:
        return i
    if mode == MODE_ZEROS:
        return -1
    if mode == MODE_REFLECT:
        return -i if i < 0 else 2 * (size - 1) - i
    if mode == MODE_REPLICATE:
        return 0 if i < 0 else size - 1
    # circular: |overshoot| <= size, checked by the Python layer
    return (i % size + size) % size


cdef inline char *align_up(char *ptr) noexcept nogil:
    return <char *>((<uintptr_t>ptr + ALIGN - 1) & ~(<uintptr_t>(ALIGN - 1)))


cdef inline int64_t floor_div(int64_t a, int64_t b) noexcept nogil:
    """Floor division for b > 0 (C division truncates toward zero)."""
    cdef int64_t q = a / b
    if q * b > a:
        q -= 1
    return q


cdef void build_tables(const Geometry *geo, const int64_t *origin, int64_t *table,
                       int64_t *run_lo, int64_t *run_hi, int64_t *run_src) noexcept nogil:
    """Per dim and residue, the input index of every band plane coordinate.

    For dim i and residue index ri, ``table`` holds ``ext[i]`` entries (an
    input index, or -1 for a zero), dims one after the other.  For the
    innermost dim, plane coordinates j in [run_lo, run_hi) map to the evenly
    stepping in-range input indices run_src + (j - run_lo) * stride, which the
    band builder copies without looking at the table.
    """
    cdef int64_t i, ri, j, r, base, lo, hi, pos = 0, last = geo.ndim - 1
    for i in range(geo.ndim):
        for ri in range(geo.n_res[i]):
            r = geo.res[geo.res_start[i] + ri]
            lo = 0
            hi = 0
            if i == last:
                # input index of plane coordinate j is base + j * stride
                base = origin[i] * geo.stride[i] + r - geo.pad_lo[i]
                lo = -floor_div(base, geo.stride[i])          # ceil(-base / stride)
                hi = -floor_div(base - geo.in_size[i], geo.stride[i])
                if lo < 0:
                    lo = 0
                if hi > geo.ext[i]:
                    hi = geo.ext[i]
                if hi < lo:
                    hi = lo
                run_lo[ri] = lo
                run_hi[ri] = hi
                run_src[ri] = base + lo * geo.stride[i]
            # the run is copied without the table: fill only the rest
            for j in range(lo):
                table[pos + j] = map_index((origin[i] + j) * geo.stride[i] + r, geo.pad_lo[i],
                                           geo.in_size[i], geo.padded_size[i], geo.mode)
            for j in range(hi, geo.ext[i]):
                table[pos + j] = map_index((origin[i] + j) * geo.stride[i] + r, geo.pad_lo[i],
                                           geo.in_size[i], geo.padded_size[i], geo.mode)
            pos += geo.ext[i]


cdef void build_band(const Geometry *geo, const real *x, int64_t n, int64_t g,
                     const int64_t *origin, real *band, int64_t *table,
                     int64_t *counter) noexcept nogil:
    """Copy the padded, phase-split input region of one box into ``band``."""
    cdef int64_t *run_lo = counter + geo.ndim
    cdef int64_t *run_hi = run_lo + geo.n_res[geo.ndim - 1]
    cdef int64_t *run_src = run_hi + geo.n_res[geo.ndim - 1]
    build_tables(geo, origin, table, run_lo, run_hi, run_src)
    copy_band(geo, x, n, g, band, table, counter)


cdef void copy_band(const Geometry *geo, const real *x, int64_t n, int64_t g, real *band,
                    const int64_t *table, int64_t *counter) noexcept nogil:
    """The copy of build_band, with the box's tables (and runs, after ``counter``)
    already built: the tables depend on the box only, not on the image or group."""
    cdef int64_t D = geo.ndim, last = geo.ndim - 1
    cdef int64_t *run_lo = counter + D
    cdef int64_t *run_hi = run_lo + geo.n_res[last]
    cdef int64_t *run_src = run_hi + geo.n_res[last]
    cdef int64_t *res_idx = run_src + geo.n_res[last]     # [D] residue index per dim
    cdef int64_t *tab_base = res_idx + D                    # [D] table offset per dim
    cdef int64_t ci, phase, rem, i, j, k, src_off, t, valid, inner_stride, row_len
    cdef int64_t tab_pos
    cdef const real *x_chan
    cdef const real *src
    cdef real *dst = band
    cdef real *plane_end
    inner_stride = geo.x_strides[2 + last]
    row_len = geo.ext[last]
    for ci in range(geo.cin_g):
        x_chan = x + n * geo.x_strides[0] + (g * geo.cin_g + ci) * geo.x_strides[1]
        for phase in range(geo.n_phase):
            # residue index per dim (mixed radix, innermost fastest)
            rem = phase
            i = D - 1
            while i >= 0:
                res_idx[i] = rem % geo.n_res[i]
                rem = rem // geo.n_res[i]
                i -= 1
            tab_pos = 0
            for i in range(D):
                tab_base[i] = tab_pos + res_idx[i] * geo.ext[i]
                tab_pos += geo.n_res[i] * geo.ext[i]
            # odometer over the outer dims
            for i in range(D):
                counter[i] = 0
            while True:
                valid = 1
                src_off = 0
                for i in range(last):
                    t = table[tab_base[i] + counter[i]]
                    if t < 0:
                        valid = 0
                        break
                    src_off += t * geo.x_strides[2 + i]
                if not valid:
                    memset(dst, 0, row_len * sizeof(real))
                else:
                    src = x_chan + src_off
                    k = res_idx[last]
                    for j in range(run_lo[k]):
                        t = table[tab_base[last] + j]
                        dst[j] = src[t * inner_stride] if t >= 0 else 0
                    if run_hi[k] > run_lo[k]:
                        if geo.stride[last] == 1 and inner_stride == 1:
                            memcpy(dst + run_lo[k], src + run_src[k],
                                   (run_hi[k] - run_lo[k]) * sizeof(real))
                        else:
                            t = geo.stride[last] * inner_stride
                            for j in range(run_hi[k] - run_lo[k]):
                                dst[run_lo[k] + j] = src[run_src[k] * inner_stride + j * t]
                    for j in range(run_hi[k], row_len):
                        t = table[tab_base[last] + j]
                        dst[j] = src[t * inner_stride] if t >= 0 else 0
                dst += row_len
                # advance the outer odometer
                i = last - 1
                while i >= 0:
                    counter[i] += 1
                    if counter[i] < geo.ext[i]:
                        break
                    counter[i] = 0
                    i -= 1
                if i < 0:
                    break
            # planes start on aligned offsets: zero the gap up to the next one
            plane_end = band + (ci * geo.n_phase + phase + 1) * geo.plane_size
            memset(dst, 0, (plane_end - dst) * sizeof(real))
            dst = plane_end
    # slack read by the last tiles' garbage lanes: zeros, never denormals
    memset(dst, 0, geo.nr * sizeof(real))


cdef inline void advance(const Geometry *geo, int64_t *o, int64_t steps) noexcept nogil:
    """Move the band multi-index ``o`` forward by ``steps`` pitch-space positions."""
    cdef int64_t i = geo.ndim - 1
    o[i] += steps
    while i > 0 and o[i] >= geo.ext[i]:
        o[i] -= geo.ext[i]
        o[i - 1] += 1
        if o[i] < geo.ext[i]:
            i -= 1


cdef inline int64_t segment(const Geometry *geo, int64_t q, int64_t q_end, const int64_t *o,
                            const int64_t *origin, const int64_t *blen,
                            const int64_t *out_strides, int64_t *length,
                            int64_t *dst) noexcept nogil:
    """The band-row segment at pitch position ``q`` (multi-index ``o``): its length
    up to the row's end or ``q_end`` goes to ``length``, the output offset of its
    first position to ``dst``; returns how many of its leading positions are
    valid outputs (0 for a garbage row or column)."""
    cdef int64_t last = geo.ndim - 1, i, valid
    length[0] = geo.ext[last] - o[last]
    if length[0] > q_end - q:
        length[0] = q_end - q
    for i in range(last):
        if o[i] >= blen[i]:
            return 0
    valid = blen[last] - o[last]
    if valid <= 0:
        return 0
    dst[0] = pcx_offset(origin, o, out_strides, geo.ndim)
    return valid if valid < length[0] else length[0]


cdef int64_t tile_target(const Geometry *geo, int64_t q0, const int64_t *o0,
                         const int64_t *origin, const int64_t *blen,
                         const int64_t *out_strides, int64_t *o) noexcept nogil:
    """Output offset of the tile at ``q0`` (band multi-index ``o0``) if its NR
    positions are all valid and contiguous in the output (the kernel may then
    store there directly), else -1."""
    cdef int64_t q = q0, q_end = q0 + geo.nr, i, length, dst, first = -1, expect = 0
    if q_end > geo.qmax:
        return -1
    for i in range(geo.ndim):
        o[i] = o0[i]
    while q < q_end:
        if segment(geo, q, q_end, o, origin, blen, out_strides, &length, &dst) != length:
            return -1
        if first < 0:
            first = dst
        elif dst != expect:
            return -1
        expect = dst + length
        q += length
        advance(geo, o, length)
    return first


cdef inline void copy_run(real *dst, const real *src, int64_t count) noexcept nogil:
    # short runs are the common case here: a loop beats a memcpy call
    cdef int64_t t
    for t in range(count):
        dst[t] = src[t]


cdef void scatter_tile(const Geometry *geo, const real *tile, int64_t rows, int64_t q0,
                       const int64_t *o0, real *out_rows, int64_t out_row_stride,
                       const int64_t *origin, const int64_t *blen,
                       const int64_t *out_strides, int64_t *o) noexcept nogil:
    """Copy the valid positions of an MR x NR tile into the output."""
    cdef int64_t q = q0, q_end = q0 + geo.nr, i, m, count, length, dst
    if q_end > geo.qmax:
        q_end = geo.qmax
    for i in range(geo.ndim):
        o[i] = o0[i]
    while q < q_end:
        count = segment(geo, q, q_end, o, origin, blen, out_strides, &length, &dst)
        for m in range(rows if count > 0 else 0):
            copy_run(out_rows + m * out_row_stride + dst, tile + m * geo.nr + (q - q0), count)
        q += length
        advance(geo, o, length)


cdef inline void run_ukr(const pcx_kernel_set *ks, int64_t kind, int64_t K, const real *A,
                         int64_t lda, const real *B, const int64_t *off, real *C, int64_t ldc,
                         const real *bias, int64_t load_c=0) noexcept nogil:
    if real is float:
        if kind == KIND_GEMM:
            ks.gemm_f32(K, A, lda, B, off, C, ldc, bias, load_c)
        else:
            ks.row_f32(K, A, lda, B, off, C, ldc, bias, load_c)
    else:
        if kind == KIND_GEMM:
            ks.gemm_f64(K, A, lda, B, off, C, ldc, bias, load_c)
        else:
            ks.row_f64(K, A, lda, B, off, C, ldc, bias, load_c)


cdef void pack_weights(const Geometry *geo, const real *w, int64_t taps, bint flip,
                       real *packed, int64_t gp) noexcept nogil:
    """Panel ``gp`` = (group, panel) of the packed weights, where a kind needs them.

    gemm/row: the microkernels read the weights in place (MR output channels,
    K apart; ``flip`` is in the plan's tap offsets), except a group's last panel
    when it has fewer than MR channels: packed[g] is that panel, zero-padded to
    MR rows of K.
    rowblock, depthwise: one output channel per group, the taps, reversed with ``flip``
    (a 180-degree rotation over every spatial axis: true convolution).
    winograd: see ``pack_winograd_weights``.
    """
    cdef int64_t g = gp // geo.n_panels, p = gp % geo.n_panels
    cdef int64_t m, rows, t, K = geo.K, mr = geo.mr
    if geo.kind == KIND_ROWBLOCK or geo.kind == KIND_DEPTHWISE:
        for t in range(taps):
            packed[g * taps + t] = w[g * taps + (taps - 1 - t if flip else t)]
        return
    if geo.kind == KIND_WINOGRAD:
        pack_winograd_weights(geo, w, flip, packed, g, p)
        return
    rows = geo.cout_g - p * mr
    if rows >= mr:
        return
    memcpy(packed + g * mr * K, w + (g * geo.cout_g + p * mr) * K, rows * K * sizeof(real))
    memset(packed + (g * mr + rows) * K, 0, (mr - rows) * K * sizeof(real))


cdef void pack_winograd_weights(const Geometry *geo, const real *w, bint flip,
                                real *packed, int64_t g, int64_t p) noexcept nogil:
    """U = G g G^T per (co, ci) of panel ``p`` of group ``g``, as MR-row panels per
    transform point xi: packed[xi][g][panel][m][ci].
    G = [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]."""
    cdef int64_t ci, m, co, i, j, xi, src
    cdef real k[3][3]
    cdef real gk[4][3]
    cdef real u
    cdef int64_t K = geo.cin_g, panel_elems = geo.cin_g * geo.mr
    for ci in range(K):
        for m in range(geo.mr):
            co = p * geo.mr + m
            for i in range(3):
                for j in range(3):
                    if co < geo.cout_g:
                        src = (((g * geo.cout_g + co) * geo.cin_g + ci) * 9
                               + (8 - (3 * i + j) if flip else 3 * i + j))
                        k[i][j] = w[src]
                    else:
                        k[i][j] = 0
            for j in range(3):
                gk[0][j] = k[0][j]
                gk[1][j] = (k[0][j] + k[1][j] + k[2][j]) * <real>0.5
                gk[2][j] = (k[0][j] - k[1][j] + k[2][j]) * <real>0.5
                gk[3][j] = k[2][j]
            for i in range(4):
                for j in range(4):
                    if j == 0:
                        u = gk[i][0]
                    elif j == 1:
                        u = (gk[i][0] + gk[i][1] + gk[i][2]) * <real>0.5
                    elif j == 2:
                        u = (gk[i][0] - gk[i][1] + gk[i][2]) * <real>0.5
                    else:
                        u = gk[i][2]
                    xi = 4 * i + j
                    packed[((xi * geo.groups + g) * geo.n_panels + p) * panel_elems
                           + m * K + ci] = u


cdef void winograd_unit(const Geometry *geo, const pcx_kernel_set *ks, int64_t g, int64_t n,
                        int64_t mb, const int64_t *origin, const int64_t *blen,
                        int64_t chan_size, const real *packed, const real *band,
                        bint fresh, real *V, real *M, const real *bias,
                        real *out) noexcept nogil:
    """Winograd F(2x2, 3x3) over one box: transform the band's tiles (once per
    band), 16 GEMMs of the panels of this block, output transform with bias."""
    cdef int64_t th = geo.wino_th, tw = geo.wino_tw, tp = geo.wino_tp, T = th * tw
    cdef int64_t vx = geo.wino_vx, mx = geo.wino_mx   # transform-plane strides of V, M
    cdef int64_t K = geo.cin_g, ci, xi, i, q0, row, co, rows_in_block, out_w = geo.out_size[1]
    cdef int64_t p0 = mb * geo.panels_per_block
    cdef int64_t p_end = p0 + geo.panels_per_block
    cdef int64_t block_rows = geo.panels_per_block * geo.mr
    cdef real b
    cdef real *out_plane
    if p_end > geo.n_panels:
        p_end = geo.n_panels
    if fresh:
        for ci in range(K):
            if real is float:
                ks.wino_in_f32(band + ci * geo.plane_size, geo.ext[1], th, tw, V + ci * tp,
                               vx)
            else:
                ks.wino_in_f64(band + ci * geo.plane_size, geo.ext[1], th, tw, V + ci * tp,
                               vx)
            for xi in range(16):   # the GEMMs read whole NR tiles: zero the tail
                memset(V + xi * vx + ci * tp + T, 0, (tp - T) * sizeof(real))
    # per transform point, tile by tile: a tile's K x NR rows of V stay in L1
    # while every panel of the block uses them
    for xi in range(16):
        q0 = 0
        while q0 < T:
            for i in range(p0, p_end):
                run_ukr(ks, KIND_GEMM, K,
                        packed + ((xi * geo.groups + g) * geo.n_panels + i) * K * geo.mr, K,
                        V + xi * vx + q0, geo.off,
                        M + xi * mx + (i - p0) * geo.mr * tp + q0, tp, NULL)
            q0 += geo.nr
    rows_in_block = geo.cout_g - p0 * geo.mr
    if rows_in_block > block_rows:
        rows_in_block = block_rows
    for row in range(rows_in_block):
        co = g * geo.cout_g + p0 * geo.mr + row
        b = bias[(g * geo.n_panels + p0) * geo.mr + row] if bias != NULL else 0
        out_plane = out + (n * geo.groups * geo.cout_g + co) * chan_size + origin[0] * out_w
        if real is float:
            ks.wino_out_f32(M + row * tp, mx, th, tw, out_plane, out_w, blen[0], out_w, b)
        else:
            ks.wino_out_f64(M + row * tp, mx, th, tw, out_plane, out_w, blen[0], out_w, b)


cdef inline void box_origin(const Geometry *geo, int64_t box_lin, int64_t *origin,
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


cdef void run_unit(const Geometry *geo, const pcx_kernel_set *ks, int64_t u,
                   const real *x, const real *w, const real *packed, const real *bias,
                   real *out, const int64_t *out_strides, char *scratch) noexcept nogil:
    """Compute one work unit: (image, group, output box, block of channel panels)."""
    cdef int64_t D = geo.ndim
    cdef int64_t *key = <int64_t *>scratch
    cdef real *band = <real *>(scratch + ALIGN)
    cdef real *tile = <real *>(scratch + ALIGN + geo.band_bytes)
    cdef int64_t *ints = <int64_t *>(scratch + ALIGN + geo.band_bytes + geo.tile_bytes)
    cdef int64_t *origin = ints
    cdef int64_t *blen = origin + D
    cdef int64_t *o = blen + D
    cdef int64_t *o0 = o + D
    cdef int64_t *counter = o0 + D
    cdef int64_t *table = counter + 4 * D + 3 * geo.n_res[D - 1] + 8
    cdef int64_t mb = u % geo.m_blocks
    cdef int64_t rest = u // geo.m_blocks
    cdef int64_t box_lin = rest % geo.box_count
    cdef int64_t ng = rest // geo.box_count
    cdef int64_t g = ng % geo.groups
    cdef int64_t n = ng // geo.groups
    cdef int64_t i, p, p_end, chan_size
    cdef bint fresh
    cdef real *wino_v
    cdef const real *src
    if geo.kind == KIND_DEPTHWISE:
        depthwise_unit(geo, ks, u, x, packed, bias, out, out_strides, scratch)
        return
    box_origin(geo, box_lin, origin, blen)
    chan_size = out_strides[D]
    if geo.inplace:   # x itself is the band; the buffer takes partial tiles
        src = x + n * geo.x_strides[0] + g * geo.cin_g * geo.x_strides[1]
        for i in range(D):
            src += origin[i] * geo.x_strides[2 + i]
        p = mb * geo.panels_per_block
        p_end = min(p + geo.panels_per_block, geo.n_panels)
        gemm_tiles(geo, ks, p, p_end, g, n, origin, blen, out_strides, chan_size, w, packed,
                   src, band, tile, o0, o, bias, out)
        return
    fresh = key[0] != rest
    if fresh:
        build_band(geo, x, n, g, origin, band, table, counter)
        key[0] = rest
    if geo.kind == KIND_WINOGRAD:
        wino_v = <real *>(scratch + ALIGN + geo.band_bytes + geo.tile_bytes + geo.table_bytes)
        winograd_unit(geo, ks, g, n, mb, origin, blen, chan_size, packed, band, fresh, wino_v,
                      <real *>(<char *>wino_v + geo.wino_v_bytes), bias, out)
        return
    if geo.kind == KIND_ROWBLOCK:
        rowblock_unit(geo, ks, g, n, origin, blen, out_strides, chan_size, packed, band, tile,
                      bias, out)
        return
    p = mb * geo.panels_per_block
    p_end = p + geo.panels_per_block
    if p_end > geo.n_panels:
        p_end = geo.n_panels
    gemm_tiles(geo, ks, p, p_end, g, n, origin, blen, out_strides, chan_size, w, packed,
               band, NULL, tile, o0, o, bias, out)


cdef void depthwise_band(const Geometry *geo, const pcx_kernel_set *ks, const real *x_chan,
                         real *band, const int64_t *table, const int64_t *run_lo,
                         const int64_t *run_hi, const int64_t *run_src) noexcept nogil:
    """copy_band for one channel of a 2-d problem (tables built by build_tables),
    its strided runs gathered by the kernel set's vector code."""
    cdef int64_t ri0, ri1, i, j, t, lo, hi, e0 = geo.ext[0], e1 = geo.ext[1]
    cdef int64_t xs_h = geo.x_strides[2], xs_w = geo.x_strides[3]
    cdef int64_t step = geo.stride[1] * xs_w
    cdef const int64_t *rows
    cdef const int64_t *cols
    cdef const real *src
    cdef real *dst = band
    cdef real *plane_start
    for ri0 in range(geo.n_res[0]):
        rows = table + ri0 * e0
        for ri1 in range(geo.n_res[1]):
            cols = table + geo.n_res[0] * e0 + ri1 * e1
            lo = run_lo[ri1]
            hi = run_hi[ri1]
            # phase planes start plane_size apart (aligned): zero the gap before this one
            plane_start = band + (ri0 * geo.n_res[1] + ri1) * geo.plane_size
            memset(dst, 0, (plane_start - dst) * sizeof(real))
            dst = plane_start
            for i in range(e0):
                t = rows[i]
                if t < 0:
                    memset(dst, 0, e1 * sizeof(real))
                else:
                    src = x_chan + t * xs_h
                    for j in range(lo):
                        dst[j] = src[cols[j] * xs_w] if cols[j] >= 0 else 0
                    if hi > lo:
                        if real is float:
                            ks.gather_f32(src + run_src[ri1] * xs_w, step, hi - lo, dst + lo)
                        else:
                            ks.gather_f64(src + run_src[ri1] * xs_w, step, hi - lo, dst + lo)
                    for j in range(hi, e1):
                        dst[j] = src[cols[j] * xs_w] if cols[j] >= 0 else 0
                dst += e1


cdef void depthwise_unit(const Geometry *geo, const pcx_kernel_set *ks, int64_t u,
                         const real *x, const real *packed, const real *bias, real *out,
                         const int64_t *out_strides, char *scratch) noexcept nogil:
    """One depthwise unit: an image, a block of ``dw_cpu`` channels, an output box.

    Per channel, the padded (phase-split) input of the box goes to the band,
    then the depthwise kernel writes the box's output rows in place.  With zero
    padding and stride 1 the band's zero border is the same for every channel
    of the unit: it is cleared once and only the input rows are copied."""
    cdef int64_t *key = <int64_t *>scratch
    cdef real *band = <real *>(scratch + ALIGN)
    cdef int64_t *ints = <int64_t *>(scratch + ALIGN + geo.band_bytes + geo.tile_bytes)
    cdef int64_t *origin = ints
    cdef int64_t *blen = origin + 2
    cdef int64_t *counter = blen + 6
    cdef int64_t *table = counter + 4 * 2 + 3 * geo.n_res[1] + 8
    cdef int64_t box_lin = u % geo.box_count
    cdef int64_t rest = u // geo.box_count
    cdef int64_t cb = rest % geo.dw_blocks
    cdef int64_t n = rest // geo.dw_blocks
    cdef int64_t g0 = cb * geo.dw_cpu, g1 = g0 + geo.dw_cpu, g, i, rem, r
    cdef int64_t ldo = out_strides[0], chan_size = out_strides[2], pitch = geo.pitch[0]
    cdef int64_t ih0 = 0, iw0 = 0, r_lo = 0, r_hi = 0, c_lo = 0, c_hi = 0, count = 0
    cdef int64_t xs_h = geo.x_strides[2]
    cdef const real *x_chan
    cdef const real *src
    cdef real *dst
    if g1 > geo.groups:
        g1 = geo.groups
    box_origin(geo, box_lin, origin, blen)
    key[0] = -1   # the band cache of run_unit does not survive this unit
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
        build_tables(geo, origin, table, counter + 2, counter + 2 + geo.n_res[1],
                     counter + 2 + 2 * geo.n_res[1])
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
            depthwise_band(geo, ks, x_chan, band, table, counter + 2,
                           counter + 2 + geo.n_res[1], counter + 2 + 2 * geo.n_res[1])
        dst = out + (n * geo.groups + g) * chan_size + origin[0] * ldo + origin[1]
        if real is float:
            ks.dw_f32(geo.rb_kh, geo.rb_kw, packed + g * geo.K, geo.off, band, pitch,
                      blen[0], blen[1], dst, ldo, (bias + g) if bias != NULL else NULL)
        else:
            ks.dw_f64(geo.rb_kh, geo.rb_kw, packed + g * geo.K, geo.off, band, pitch,
                      blen[0], blen[1], dst, ldo, (bias + g) if bias != NULL else NULL)


cdef void rowblock_unit(const Geometry *geo, const pcx_kernel_set *ks, int64_t g, int64_t n,
                        const int64_t *origin, const int64_t *blen,
                        const int64_t *out_strides, int64_t chan_size, const real *packed,
                        const real *band, real *tile, const real *bias,
                        real *out) noexcept nogil:
    """A 2-d one-channel box in tiles of MB output rows x NR columns."""
    cdef int64_t mb = geo.mr, nr = geo.nr, oh, c0, rows, cols, m, ldc = out_strides[0]
    cdef real *plane = out + (n * geo.groups + g) * chan_size
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
            dst = plane + (origin[0] + oh) * ldc + origin[1] + c0
            if rows == mb and cols == nr:
                run_rowblock(ks, geo, w, band + oh * geo.pitch[0] + c0, dst, ldc, b)
            else:
                run_rowblock(ks, geo, w, band + oh * geo.pitch[0] + c0, tile, nr, b)
                for m in range(rows):
                    copy_run(dst + m * ldc, tile + m * nr, cols)
            c0 += nr
        oh += mb


cdef inline void run_rowblock(const pcx_kernel_set *ks, const Geometry *geo, const real *w,
                              const real *B, real *C, int64_t ldc,
                              const real *bias) noexcept nogil:
    if real is float:
        ks.rowblock_f32(geo.rb_kh, geo.rb_kw, w, B, geo.pitch[0], geo.off, C, ldc, bias)
    else:
        ks.rowblock_f64(geo.rb_kh, geo.rb_kw, w, B, geo.pitch[0], geo.off, C, ldc, bias)


cdef inline int64_t tile_direct(const Geometry *geo, int64_t q0, const int64_t *o0,
                                int64_t *o, const int64_t *origin, const int64_t *blen,
                                const int64_t *out_strides) noexcept nogil:
    """Output offset where the NR-wide tile at pitch position ``q0`` can be written
    in place (its outputs are valid and contiguous), or -1 (use a scratch tile)."""
    cdef int64_t last = geo.ndim - 1, i, direct = -1
    # common case first: the tile lies inside one valid output row
    if o0[last] + geo.nr <= blen[last] and q0 + geo.nr <= geo.qmax:
        direct = pcx_offset(origin, o0, out_strides, geo.ndim)
        for i in range(last):
            if o0[i] >= blen[i]:
                return -1
    elif o0[last] + geo.nr > geo.ext[last]:
        # spans rows: direct only if the output is contiguous across them
        direct = tile_target(geo, q0, o0, origin, blen, out_strides, o)
    return direct


cdef void gemm_tiles(const Geometry *geo, const pcx_kernel_set *ks, int64_t p, int64_t p_end,
                     int64_t g, int64_t n, const int64_t *origin, const int64_t *blen,
                     const int64_t *out_strides, int64_t chan_size, const real *w,
                     const real *packed, const real *band, real *tail, real *tiles,
                     int64_t *o0, int64_t *o, const real *bias, real *out) noexcept nogil:
    """Panels p..p_end-1 of a box, MR x NR tile by tile along the band.

    The reduction runs in blocks of ``kc``: one block of every panel's tile
    while the block's band rows stay in the L1 cache, then the next, each
    continuing the previous block's sums (the same bits as one pass).  A tile
    whose outputs are contiguous is summed in place; the others in
    ``tiles`` (MR x NR per panel) and scattered at the end.  In place
    (``tail`` not NULL) ``band`` is x itself, and a tile reaching past the box
    reads a zero-padded copy in ``tail`` instead.
    """
    cdef int64_t i, t, q0, q_end, k0, klen, direct, rows
    cdef int64_t mr = geo.mr, nr = geo.nr, K = geo.K
    cdef real *target
    cdef const real *a
    cdef const real *b
    cdef const int64_t *off
    cdef real *out_rows
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
        direct = tile_direct(geo, q0, o0, o, origin, blen, out_strides)
        b = band + q0
        off = geo.off
        if tail != NULL and q0 + nr > q_end:
            for i in range(K):
                memcpy(tail + i * nr, band + geo.off[i] + q0, (q_end - q0) * sizeof(real))
                memset(tail + i * nr + q_end - q0, 0, (q0 + nr - q_end) * sizeof(real))
            b = tail
            off = geo.off_tail
        k0 = 0
        while True:   # at least once: with K == 0 the tile is the bias alone
            klen = K - k0
            if klen > geo.kc:
                klen = geo.kc
            for i in range(p, p_end):
                rows = geo.cout_g - i * mr
                out_rows = out + (n * geo.groups * geo.cout_g + g * geo.cout_g
                                  + i * mr) * chan_size
                if direct >= 0 and rows >= mr:
                    target = out_rows + direct
                    ldc = chan_size
                else:
                    target = tiles + (i - p) * mr * nr
                    ldc = nr
                bias_rows = NULL
                if bias != NULL and k0 + klen == K:
                    bias_rows = bias + (g * geo.n_panels + i) * mr
                if rows >= mr:   # the weights in place
                    a = w + (g * geo.cout_g + i * mr) * K + k0
                else:            # the zero-padded copy of a short last panel
                    a = packed + g * mr * K + k0
                run_ukr(ks, geo.kind, klen, a, K, b, off + k0, target, ldc, bias_rows, k0 > 0)
            k0 += klen
            if k0 >= K:
                break
        for i in range(p, p_end):
            rows = geo.cout_g - i * mr
            if direct < 0 or rows < mr:
                if rows > mr:
                    rows = mr
                scatter_tile(geo, tiles + (i - p) * mr * nr, rows, q0, o0,
                             out + (n * geo.groups * geo.cout_g + g * geo.cout_g
                                    + i * mr) * chan_size,
                             chan_size, origin, blen, out_strides, o)
        q0 += nr
        advance(geo, o0, nr)


cdef int run_direct(const Geometry *geo, const pcx_kernel_set *ks, const real *x,
                    const real *w, int64_t taps, bint flip, const real *bias, real *out,
                    const int64_t *out_strides, int threads, int64_t chunk) except -1:
    """Pack the weights a kind needs packed, then run every unit in signal-checked
    chunks."""
    cdef int64_t packed_elems = geo.packed_elems
    cdef char *block = <char *>pcx_workspace_alloc(packed_elems * sizeof(real) + ALIGN
                                      + threads * geo.scratch_bytes + ALIGN)
    cdef real *packed
    cdef char *scratch
    cdef int64_t start, stop, u, t
    if block == NULL:
        raise MemoryError(
            f"the direct engine's workspace of "
            f"{packed_elems * sizeof(real) + threads * geo.scratch_bytes + 2 * ALIGN} "
            f"bytes could not be allocated")
    try:
        packed = <real *>align_up(block)
        scratch = align_up(<char *>(packed + packed_elems))
        with nogil:
            if packed_elems > 0:   # gemm/row mostly read the weights in place
                for u in prange(geo.groups * geo.n_panels, schedule="static",
                                num_threads=threads):
                    pack_weights(geo, w, taps, flip, packed, u)
            for t in range(threads):
                (<int64_t *>(scratch + t * geo.scratch_bytes))[0] = -1
        start = 0
        while start < geo.n_units:
            stop = start + chunk
            if stop > geo.n_units:
                stop = geo.n_units
            with nogil:
                for u in prange(start, stop, schedule="static", num_threads=threads):
                    run_unit(geo, ks, u, x, w, packed, bias, out, out_strides,
                             scratch + threadid() * geo.scratch_bytes)
            if PyErr_CheckSignals() != 0:
                return -1
            start = stop
    finally:
        free(block)
    return 0


def conv_direct(cnp.ndarray x, cnp.ndarray weight, bias, cnp.ndarray out, dict plan,
                int level, int threads):
    """Run the direct engine.

    ``x``: input of the result dtype, any element strides (given in
    ``plan['x_strides']``); ``weight``: C-contiguous ``(C_out, C_in/groups,
    *kernel)``; ``bias``: contiguous ``(C_out,)`` or None; ``out``:
    C-contiguous result array.  ``plan``: the int64 tables built by
    pyconvx._plan.  Returns ``out``.
    """
    cdef Geometry geo
    cdef const pcx_kernel_set *ks = pcx_kernel_set_for(level)
    if ks == NULL:
        raise ValueError(f"kernel level {level} is not compiled in")
    # keep the int64 tables alive for the duration of the call
    tables = {name: np.ascontiguousarray(plan[name], dtype=np.int64) for name in (
        "in_size", "stride", "pad_lo", "padded_size", "out_size", "x_strides", "box",
        "n_boxes", "ext", "pitch", "n_res", "res_start", "res", "off", "off_tail",
        "out_strides")}
    cdef int64_t[::1] in_size = tables["in_size"], stride = tables["stride"]
    cdef int64_t[::1] pad_lo = tables["pad_lo"], padded_size = tables["padded_size"]
    cdef int64_t[::1] out_size = tables["out_size"], x_strides = tables["x_strides"]
    cdef int64_t[::1] box = tables["box"], n_boxes = tables["n_boxes"], ext = tables["ext"]
    cdef int64_t[::1] pitch = tables["pitch"], n_res = tables["n_res"]
    cdef int64_t[::1] res_start = tables["res_start"], res = tables["res"], off = tables["off"]
    cdef int64_t[::1] out_strides = tables["out_strides"], off_tail = tables["off_tail"]
    if plan["n_units"] != (plan["batch"] * plan["groups"] * plan["box_count"]
                           * plan["m_blocks"] if plan["kind"] != KIND_DEPTHWISE
                           else plan["batch"] * plan["dw_blocks"] * plan["box_count"]) \
            or out.shape[0] != plan["batch"]:
        raise ValueError("inconsistent plan: work units do not cover the output exactly")
    geo.ndim = plan["ndim"]
    geo.batch = plan["batch"]
    geo.groups = plan["groups"]
    geo.cin_g = plan["cin_g"]
    geo.cout_g = plan["cout_g"]
    geo.mode = plan["mode"]
    geo.in_size = &in_size[0]
    geo.stride = &stride[0]
    geo.pad_lo = &pad_lo[0]
    geo.padded_size = &padded_size[0]
    geo.out_size = &out_size[0]
    geo.x_strides = &x_strides[0]
    geo.box = &box[0]
    geo.n_boxes = &n_boxes[0]
    geo.ext = &ext[0]
    geo.pitch = &pitch[0]
    geo.n_res = &n_res[0]
    geo.res_start = &res_start[0]
    geo.res = &res[0]
    geo.n_phase = plan["n_phase"]
    geo.plane_size = plan["plane_size"]
    geo.box_count = plan["box_count"]
    geo.qmax = plan["qmax"]
    geo.off = &off[0] if off.shape[0] else NULL
    geo.off_tail = &off_tail[0] if off_tail.shape[0] else NULL
    geo.inplace = plan["inplace"]
    geo.K = plan["K"]
    geo.kc = plan["kc"]
    geo.kind = plan["kind"]
    geo.mr = plan["mr"]
    geo.nr = plan["nr"]
    geo.n_panels = plan["n_panels"]
    geo.panels_per_block = plan["panels_per_block"]
    geo.m_blocks = plan["m_blocks"]
    geo.n_units = plan["n_units"]
    geo.rb_kh = plan["rb_kh"]
    geo.rb_kw = plan["rb_kw"]
    geo.wino_th = plan.get("wino_th", 0)
    geo.wino_tw = plan.get("wino_tw", 0)
    geo.wino_tp = plan.get("wino_tp", 0)
    geo.wino_vx = plan.get("wino_vx", 0)
    geo.wino_mx = plan.get("wino_mx", 0)
    geo.dw_cpu = plan.get("dw_cpu", 1)
    geo.dw_blocks = plan.get("dw_blocks", 1)
    geo.dw_fast = plan.get("dw_fast", 0)
    if geo.kind == KIND_DEPTHWISE and (geo.ndim != 2 or geo.cin_g != 1 or geo.cout_g != 1
                                       or geo.dw_cpu * geo.dw_blocks < geo.groups):
        raise ValueError("inconsistent plan: the depthwise kernel needs 2-d, one channel "
                         "per group, and channel blocks covering every group")
    # the per-thread scratch layout is the plan's (pyconvx._plan._direct_tables)
    geo.band_elems = plan["band_elems"]
    geo.band_bytes = plan["band_bytes"]
    geo.tile_bytes = plan["tile_bytes"]
    geo.table_bytes = plan["table_bytes"]
    geo.wino_v_bytes = plan["wino_v_bytes"]
    geo.wino_m_bytes = plan["wino_m_bytes"]
    geo.scratch_bytes = plan["scratch_bytes"]
    geo.packed_elems = plan["packed_elems"]
    if geo.scratch_bytes != (ALIGN + geo.band_bytes + geo.tile_bytes + geo.table_bytes
                             + geo.wino_v_bytes + geo.wino_m_bytes):
        raise ValueError("inconsistent plan: the scratch layout does not add up")
    chunk = plan["chunk"]
    if bias is not None:
        # zero-padded to whole panels: the kernel reads MR bias values per panel
        padded_bias = np.zeros((geo.groups, geo.n_panels * geo.mr), dtype=x.dtype)
        padded_bias[:, :geo.cout_g] = np.asarray(bias).reshape(geo.groups, geo.cout_g)
        bias = padded_bias
    if x.dtype == np.float32:
        _run_direct_f32(&geo, ks, x, weight, bias, out, &out_strides[0], plan, threads, chunk)
    else:
        _run_direct_f64(&geo, ks, x, weight, bias, out, &out_strides[0], plan, threads, chunk)
    return out


cdef _run_direct_f32(Geometry *geo, const pcx_kernel_set *ks, cnp.ndarray x,
                     cnp.ndarray weight, bias, cnp.ndarray out, const int64_t *out_strides,
                     dict plan, int threads, int64_t chunk):
    cdef const float *bias_ptr = NULL
    if bias is not None:
        bias_ptr = <const float *>cnp.PyArray_DATA(bias)
    run_direct[float](geo, ks, <const float *>cnp.PyArray_DATA(x),
               <const float *>cnp.PyArray_DATA(weight),
               plan["taps"], plan["flip"], bias_ptr, <float *>cnp.PyArray_DATA(out),
               out_strides, threads, chunk)


cdef _run_direct_f64(Geometry *geo, const pcx_kernel_set *ks, cnp.ndarray x,
                     cnp.ndarray weight, bias, cnp.ndarray out, const int64_t *out_strides,
                     dict plan, int threads, int64_t chunk):
    cdef const double *bias_ptr = NULL
    if bias is not None:
        bias_ptr = <const double *>cnp.PyArray_DATA(bias)
    run_direct[double](geo, ks, <const double *>cnp.PyArray_DATA(x),
               <const double *>cnp.PyArray_DATA(weight), plan["taps"], plan["flip"], bias_ptr,
               <double *>cnp.PyArray_DATA(out), out_strides, threads, chunk)


# --------------------------------------------------------------------------
# im2col / col2im (torch.nn.functional.unfold / fold for 2-d)
# --------------------------------------------------------------------------

cdef void im2col_plane(const real *x, int64_t xs_h, int64_t xs_w, int64_t in_h, int64_t in_w,
                       int64_t k_h, int64_t k_w, int64_t s_h, int64_t s_w, int64_t p_h,
                       int64_t p_w, int64_t d_h, int64_t d_w, int64_t out_h, int64_t out_w,
                       real *cols) noexcept nogil:
    """cols[(i * k_w + j), oh * out_w + ow] = x[oh*s_h - p_h + i*d_h, ow*s_w - p_w + j*d_w]."""
    cdef int64_t i, j, oh, ow, ih, iw
    cdef real *dst = cols
    for i in range(k_h):
        for j in range(k_w):
            for oh in range(out_h):
                ih = oh * s_h - p_h + i * d_h
                for ow in range(out_w):
                    iw = ow * s_w - p_w + j * d_w
                    if 0 <= ih < in_h and 0 <= iw < in_w:
                        dst[0] = x[ih * xs_h + iw * xs_w]
                    else:
                        dst[0] = 0
                    dst += 1


cdef void col2im_plane(const real *cols, int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w,
                       int64_t s_h, int64_t s_w, int64_t p_h, int64_t p_w, int64_t d_h,
                       int64_t d_w, int64_t out_h, int64_t out_w, real *image) noexcept nogil:
    """The adjoint of im2col_plane: sum every column entry back into its pixel.

    One plane is summed by one thread in a fixed order, so the result does
    not depend on the thread count."""
    cdef int64_t i, j, oh, ow, ih, iw
    cdef const real *src = cols
    memset(image, 0, in_h * in_w * sizeof(real))
    for i in range(k_h):
        for j in range(k_w):
            for oh in range(out_h):
                ih = oh * s_h - p_h + i * d_h
                for ow in range(out_w):
                    iw = ow * s_w - p_w + j * d_w
                    if 0 <= ih < in_h and 0 <= iw < in_w:
                        image[ih * in_w + iw] += src[0]
                    src += 1


def _im2col(const real[:, :, :, :] x, real[:, :, ::1] cols, tuple kernel, tuple stride,
            tuple pad_lo, tuple dilation, tuple out_hw, int threads):
    cdef int64_t n_img = x.shape[0], channels = x.shape[1], plane, n, c
    cdef int64_t k_h = kernel[0], k_w = kernel[1], s_h = stride[0], s_w = stride[1]
    cdef int64_t p_h = pad_lo[0], p_w = pad_lo[1], d_h = dilation[0], d_w = dilation[1]
    cdef int64_t out_h = out_hw[0], out_w = out_hw[1], esize = sizeof(real)
    cdef int64_t xs_h = x.strides[2] // esize, xs_w = x.strides[3] // esize
    cdef int64_t block = k_h * k_w
    if n_img * channels == 0:
        return
    with nogil:
        for plane in prange(n_img * channels, schedule="static", num_threads=threads):
            n = plane // channels
            c = plane % channels
            im2col_plane(&x[n, c, 0, 0], xs_h, xs_w, x.shape[2], x.shape[3], k_h, k_w, s_h,
                         s_w, p_h, p_w, d_h, d_w, out_h, out_w, &cols[n, c * block, 0])


def _col2im(const real[:, :, ::1] cols, real[:, :, :, ::1] image, tuple kernel, tuple stride,
            tuple pad_lo, tuple dilation, tuple out_hw, int threads):
    cdef int64_t n_img = image.shape[0], channels = image.shape[1], plane, n, c
    cdef int64_t k_h = kernel[0], k_w = kernel[1], s_h = stride[0], s_w = stride[1]
    cdef int64_t p_h = pad_lo[0], p_w = pad_lo[1], d_h = dilation[0], d_w = dilation[1]
    cdef int64_t out_h = out_hw[0], out_w = out_hw[1]
    cdef int64_t block = k_h * k_w
    if n_img * channels == 0:
        return
    with nogil:
        for plane in prange(n_img * channels, schedule="static", num_threads=threads):
            n = plane // channels
            c = plane % channels
            col2im_plane(&cols[n, c * block, 0], image.shape[2], image.shape[3], k_h, k_w, s_h,
                         s_w, p_h, p_w, d_h, d_w, out_h, out_w, &image[n, c, 0, 0])


def im2col_kernel(x, cols, kernel, stride, pad_lo, dilation, out_hw, threads):
    """Fill ``cols`` (N, C*kh*kw, L) from ``x`` (N, C, H, W); float32 or float64."""
    _im2col(x, cols, tuple(kernel), tuple(stride), tuple(pad_lo), tuple(dilation),
            tuple(out_hw), threads)


def col2im_kernel(cols, image, kernel, stride, pad_lo, dilation, out_hw, threads):
    """Sum ``cols`` (N, C*kh*kw, L) into ``image`` (N, C, H, W), C-contiguous."""
    _col2im(cols, image, tuple(kernel), tuple(stride), tuple(pad_lo), tuple(dilation),
            tuple(out_hw), threads)
