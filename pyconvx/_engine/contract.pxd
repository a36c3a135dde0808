# The typed contract between the planner and the compiled engine.
#
# Everything the engine's nogil code reads about a problem is here: the enums
# (visible from Python and Cython alike), the C interface of the microkernel
# sets, and the frozen plan record.  ``pyconvx._engine.plan`` builds one
# ``DirectPlan`` per problem (``contract.pyx`` checks it once, when built);
# ``direct.pyx`` and ``stage.pyx`` only read it.

from libc.stdint cimport int64_t

ctypedef fused real:
    float
    double


cpdef enum Kind:
    # which microkernel runs the plan (and how work units are cut)
    GEMM = 0        # MR output channels x NR positions, the reduction in place
    ROW = 1         # one output channel x NR positions
    ROWBLOCK = 2    # MB output rows of a one-channel 2-d filter
    WINOGRAD = 3    # F(2x2, 3x3) transforms around the GEMM tile
    DEPTHWISE = 4   # 2-d, one channel per group: whole planes, rows in place
    CGEMM = 5       # MR positions x NR output channels, the weights packed


cpdef enum PaddingMode:
    # what the padded border holds, in the order of pyconvx._boundary.PADDING_MODES
    ZEROS = 0
    REFLECT = 1
    REPLICATE = 2
    CIRCULAR = 3
    SYMMETRIC = 4
    CONSTANT = 5


cpdef enum SimdLevel:
    # the microkernel sets, in the order of src/ukernels.h's PCX_LEVEL_*
    GENERIC = 0
    AVX2 = 1
    AVX512 = 2


cdef extern from "ukernels.h" nogil:
    ctypedef void (*pcx_f32_tile_fn)(int64_t K, const float *A, int64_t lda, const float *B,
                                     const int64_t *off, float *C, int64_t ldc,
                                     const float *bias, int64_t load_c) noexcept nogil
    ctypedef void (*pcx_f64_tile_fn)(int64_t K, const double *A, int64_t lda, const double *B,
                                     const int64_t *off, double *C, int64_t ldc,
                                     const double *bias, int64_t load_c) noexcept nogil
    ctypedef void (*pcx_f32_rowblock_fn)(int64_t KH, int64_t KW, const float *w,
                                         const float *B, int64_t row_pitch,
                                         const int64_t *col_off, float *C, int64_t ldc,
                                         const float *bias) noexcept nogil
    ctypedef void (*pcx_f64_rowblock_fn)(int64_t KH, int64_t KW, const double *w,
                                         const double *B, int64_t row_pitch,
                                         const int64_t *col_off, double *C, int64_t ldc,
                                         const double *bias) noexcept nogil
    ctypedef void (*pcx_f32_dwconv_fn)(int64_t KH, int64_t KW, const float *w,
                                       const int64_t *off, const float *band,
                                       int64_t row_pitch, int64_t rows, int64_t cols,
                                       float *out, int64_t ldo,
                                       const float *bias) noexcept nogil
    ctypedef void (*pcx_f64_dwconv_fn)(int64_t KH, int64_t KW, const double *w,
                                       const int64_t *off, const double *band,
                                       int64_t row_pitch, int64_t rows, int64_t cols,
                                       double *out, int64_t ldo,
                                       const double *bias) noexcept nogil
    ctypedef void (*pcx_f32_dwlanes_fn)(int64_t K, const float *w, const int64_t *off,
                                        const float *band, int64_t row_step,
                                        int64_t col_step, int64_t rows, int64_t cols,
                                        float *out, const float *bias) noexcept nogil
    ctypedef void (*pcx_f64_dwlanes_fn)(int64_t K, const double *w, const int64_t *off,
                                        const double *band, int64_t row_step,
                                        int64_t col_step, int64_t rows, int64_t cols,
                                        double *out, const double *bias) noexcept nogil
    ctypedef void (*pcx_f32_winograd_input_fn)(const float *band, int64_t pitch, int64_t TH,
                                               int64_t TW, float *V,
                                               int64_t v_stride) noexcept nogil
    ctypedef void (*pcx_f64_winograd_input_fn)(const double *band, int64_t pitch, int64_t TH,
                                               int64_t TW, double *V,
                                               int64_t v_stride) noexcept nogil
    ctypedef void (*pcx_f32_winograd_output_fn)(const float *M, int64_t m_stride, int64_t TH,
                                                int64_t TW, float *out, int64_t ldo,
                                                int64_t rows, int64_t cols,
                                                float bias) noexcept nogil
    ctypedef void (*pcx_f64_winograd_output_fn)(const double *M, int64_t m_stride,
                                                int64_t TH, int64_t TW, double *out,
                                                int64_t ldo, int64_t rows, int64_t cols,
                                                double bias) noexcept nogil
    ctypedef void (*pcx_f32_gather_fn)(const float *src, int64_t step, int64_t n,
                                       float *dst) noexcept nogil
    ctypedef void (*pcx_f64_gather_fn)(const double *src, int64_t step, int64_t n,
                                       double *dst) noexcept nogil
    ctypedef void (*pcx_f32_transpose_fn)(const float *src, int64_t src_row, int64_t src_col,
                                          int64_t rows, int64_t cols, float *dst,
                                          int64_t dst_row) noexcept nogil
    ctypedef void (*pcx_f64_transpose_fn)(const double *src, int64_t src_row,
                                          int64_t src_col, int64_t rows, int64_t cols,
                                          double *dst, int64_t dst_row) noexcept nogil
    ctypedef double (*pcx_fma_probe_fn)(int64_t iterations) noexcept nogil
    ctypedef void (*pcx_f32_taps_fn)(int64_t K, const float *w, const float *const *src,
                                     int64_t n, float *dst) noexcept nogil
    ctypedef void (*pcx_f64_taps_fn)(int64_t K, const double *w, const double *const *src,
                                     int64_t n, double *dst) noexcept nogil
    ctypedef void (*pcx_f32_taps4_fn)(int64_t KH, int64_t KW, const float *w,
                                      const float *const *src, int64_t n, float *dst,
                                      int64_t ldd) noexcept nogil
    ctypedef void (*pcx_f64_taps4_fn)(int64_t KH, int64_t KW, const double *w,
                                      const double *const *src, int64_t n, double *dst,
                                      int64_t ldd) noexcept nogil

    ctypedef struct pcx_f32_tile_ukernel:
        int mr, nr
        pcx_f32_tile_fn run
    ctypedef struct pcx_f64_tile_ukernel:
        int mr, nr
        pcx_f64_tile_fn run
    ctypedef struct pcx_f32_narrow_ukernel:
        int mr, vl
        pcx_f32_tile_fn run[2]
        pcx_f32_tile_fn tall
    ctypedef struct pcx_f64_narrow_ukernel:
        int mr, vl
        pcx_f64_tile_fn run[2]
        pcx_f64_tile_fn tall
    ctypedef struct pcx_f32_cgemm_ukernel:
        int mr, nr
        pcx_f32_tile_fn run[8]
    ctypedef struct pcx_f64_cgemm_ukernel:
        int mr, nr
        pcx_f64_tile_fn run[8]
    ctypedef struct pcx_f32_rowblock_ukernel:
        int mb, nr
        pcx_f32_rowblock_fn run
    ctypedef struct pcx_f64_rowblock_ukernel:
        int mb, nr
        pcx_f64_rowblock_fn run
    ctypedef struct pcx_f32_dwconv_ukernel:
        int mb, vl, nb
        pcx_f32_dwconv_fn run
        pcx_f32_dwlanes_fn lanes
    ctypedef struct pcx_f64_dwconv_ukernel:
        int mb, vl, nb
        pcx_f64_dwconv_fn run
        pcx_f64_dwlanes_fn lanes
    ctypedef struct pcx_fma_probe:
        int64_t flops_per_iteration
        pcx_fma_probe_fn run
    ctypedef struct pcx_f32_ukernels:
        pcx_f32_tile_ukernel gemm, row
        pcx_f32_narrow_ukernel gemm_narrow
        pcx_f32_cgemm_ukernel cgemm
        pcx_f32_rowblock_ukernel rowblock
        pcx_f32_dwconv_ukernel depthwise
        pcx_f32_winograd_input_fn winograd_input
        pcx_f32_winograd_output_fn winograd_output
        pcx_f32_gather_fn gather
        pcx_f32_transpose_fn transpose
        pcx_fma_probe fma_probe
        pcx_f32_taps_fn taps
        pcx_f32_taps4_fn taps4
    ctypedef struct pcx_f64_ukernels:
        pcx_f64_tile_ukernel gemm, row
        pcx_f64_narrow_ukernel gemm_narrow
        pcx_f64_cgemm_ukernel cgemm
        pcx_f64_rowblock_ukernel rowblock
        pcx_f64_dwconv_ukernel depthwise
        pcx_f64_winograd_input_fn winograd_input
        pcx_f64_winograd_output_fn winograd_output
        pcx_f64_gather_fn gather
        pcx_f64_transpose_fn transpose
        pcx_fma_probe fma_probe
        pcx_f64_taps_fn taps
        pcx_f64_taps4_fn taps4
    ctypedef struct pcx_ukernel_set:
        const char *name
        pcx_f32_ukernels f32
        pcx_f64_ukernels f64

    const pcx_ukernel_set *pcx_ukernel_set_for(int level)
    int pcx_cpu_level()


# The microkernel sets are linked into this module only; the other engine
# modules reach them through these two functions.
cdef const pcx_ukernel_set *ukernel_set(int level) noexcept nogil
cdef int detected_level() noexcept nogil


ctypedef struct ScratchLayout:
    # One thread's scratch block, byte offsets from its start (each 64-byte
    # aligned): the band's cache key at 0 (and, after it, the count of units
    # run since the last check for Ctrl-C), the band, the scratch tiles, the
    # index area, Winograd's V and M planes, the stage (an output box written
    # contiguously before it is copied to an output whose rows are not
    # unit-stride); ``bytes_per_thread`` in all.
    int64_t band, tile, index, winograd_v, winograd_m, stage, bytes_per_thread
    # int64 element offsets inside the index area: the box origin and extent,
    # two tile multi-indices, the band builder's odometer, residue and table
    # bases, the innermost dim's in-range runs, and the per-dim index maps.
    int64_t origin, blen, o, o0, counter, res_idx, tab_base, run_lo, run_hi, run_src, table
    int64_t index_elems             # int64 entries of the index area in all


ctypedef struct DirectGeometry:
    # the problem
    int64_t ndim, batch, groups, cin_g, cout_g
    PaddingMode mode
    double padding_value          # what a CONSTANT (or ZEROS: 0) border holds
    const int64_t *in_size        # [ndim]
    const int64_t *stride         # [ndim]
    const int64_t *pad_lo         # [ndim]
    const int64_t *padded_size    # [ndim] in_size + pad_lo + pad_hi
    const int64_t *out_size       # [ndim]
    const int64_t *x_strides      # [2 + ndim] element strides of x (n, c, spatial)
    const int64_t *out_strides    # [2 + ndim] element strides of out (n, c, spatial)
    bint out_unit_stride          # the output's last spatial stride is 1 (rows in place)
    # a reduction block (a plan split because one output's window is too large):
    # x and the weights are read from these element offsets, x's groups are
    # x_channels_per_group channels apart, weight rows lda apart, and the sums
    # continue from what out holds (accumulate) instead of starting at zero
    int64_t x_offset, w_offset, x_channels_per_group, lda
    bint accumulate
    int64_t kernel_h, kernel_w    # rowblock and depthwise: kernel rows and columns
    int64_t taps                  # kernel taps per channel
    bint flip                     # true convolution: the taps reversed
    # the band: an output box's padded, phase-split input region
    const int64_t *box            # [ndim] output box extent
    const int64_t *n_boxes        # [ndim] boxes per dim
    const int64_t *ext            # [ndim] band plane extent
    const int64_t *pitch          # [ndim] band plane pitch
    const int64_t *n_res          # [ndim] phase residues used per dim
    const int64_t *res_start      # [ndim] start of dim i's residues in res
    const int64_t *res            # residues, all dims
    int64_t n_phase, plane_size, box_count, band_elems
    int64_t qmax                  # 1 + last pitch-space position of a full box
    const int64_t *off            # [K] tap offsets into the band (or into x, in place)
    bint inplace                  # pointwise: the kernels read x itself, no band
    # cgemm on a channels-last x (2-d, stride 1, zero or constant border): the
    # band holds each padded position's cin_g channels together, copied in
    # runs of x's rows; off[k] = tap position * cin_g + channel
    bint band_channels_last
    const int64_t *off_tail       # [K] in place: offsets into the copy of a partial tile
    # the microkernel and its tiling
    SimdLevel level
    Kind kind
    int64_t K, kc                 # reduction length; its block length (L1 reuse)
    int64_t mr, nr, n_panels, panels_per_block, m_blocks
    int64_t n_units, threads
    int64_t chunk                 # units the calling thread runs between checks for Ctrl-C
    bint dynamic                  # units handed to threads as they come free (no shared band)
    int64_t packed_elems          # weights the kind repacks (elements)
    # winograd: tile rows and columns per box, tile pitch, plane strides of V and M
    int64_t wino_th, wino_tw, wino_tp, wino_vx, wino_mx
    # depthwise: channels per unit, channel blocks, the zero-padding fast band copy;
    # dw_lanes: the lanes layout (a unit: one image, VL channels, the whole
    # plane; the band holds VL lanes per padded position, off the taps' offsets
    # into it in column-major order, already times VL)
    int64_t dw_cpu, dw_blocks
    bint dw_fast, dw_lanes
    ScratchLayout scratch


cdef class DirectPlan:
    # The frozen plan of one problem for the direct engine (and Winograd).
    cdef DirectGeometry geo
    cdef const pcx_ukernel_set *ukernels
    cdef readonly object dtype      # numpy dtype the plan computes in
    cdef readonly dict fields       # the values it was built from, for inspection
    cdef object _arrays             # owners of the int64 tables geo points into
