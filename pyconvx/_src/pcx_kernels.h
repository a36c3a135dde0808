/* pyconvx microkernels: the public C interface of the per-ISA kernel sets.
 *
 * Every kernel set (generic C vectors, AVX2+FMA, AVX-512) is the same source,
 * pcx_kernels_impl.h, compiled once per instruction set with that set's
 * target flags.  pcx_dispatch.c picks a set at run time from the CPU's
 * features, so one binary runs on any x86-64 (and the generic set anywhere).
 *
 * A microkernel computes one register tile of C = A * B where
 *   A is MR rows of K weights, lda apart (a weight array's output channels read
 *     in place, k = input channel * taps + tap contiguous; or a packed panel),
 *   B is addressed indirectly: row k of B is the NR contiguous values starting
 *     at B + off[k] (off[] is the convolution's tap-offset table), and
 *   C is MR rows of NR values with row stride ldc, written as sum + bias[m]
 *     (bias may be NULL); with load_c nonzero the sum starts from C's current
 *     values instead of zero, so the k loop can be split into cache-sized
 *     blocks (each but the last called without bias) with the same result.
 * The k loop runs in order 0..K-1 with one fused multiply-add per product, so
 * each output's summation order is fixed whatever the tiling or thread count.
 */
#ifndef PCX_KERNELS_H
#define PCX_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*pcx_ukr_f32)(int64_t K, const float *A, int64_t lda, const float *B,
                            const int64_t *off, float *C, int64_t ldc, const float *bias,
                            int64_t load_c);
typedef void (*pcx_ukr_f64)(int64_t K, const double *A, int64_t lda, const double *B,
                            const int64_t *off, double *C, int64_t ldc, const double *bias,
                            int64_t load_c);

/* Row-blocked one-channel filtering: C[m][j] for MB output rows m and NR
 * columns j of a 2-d filter with KH x KW taps w (row-major), stride 1 along
 * the rows.  Input row r of the window starts at B + r * row_pitch; tap column
 * kw adds col_off[kw].  Each loaded input vector feeds every output row it
 * belongs to, so the kernel does one load per MB multiply-adds. */
typedef void (*pcx_rowblock_f32)(int64_t KH, int64_t KW, const float *w, const float *B,
                                 int64_t row_pitch, const int64_t *col_off, float *C,
                                 int64_t ldc, const float *bias);
typedef void (*pcx_rowblock_f64)(int64_t KH, int64_t KW, const double *w, const double *B,
                                 int64_t row_pitch, const int64_t *col_off, double *C,
                                 int64_t ldc, const double *bias);

/* Winograd F(2x2, 3x3) transforms (Lavin & Gray), vectorised across tiles.
 * wino_in: for tiles t = th * TW + tw (th < TH, tw < TW), the 4x4 input patch at
 *   band rows 2th..2th+3, columns 2tw..2tw+3 (row pitch `pitch`) becomes
 *   V[xi * v_stride + t] = (B^T d B)[xi], xi = 4 * row + column.
 * wino_out: the 2x2 outputs of tile t, A^T m A with m[xi] = M[xi * m_stride + t],
 *   plus `bias`, go to out[(2th + i) * ldo + 2tw + j] for 2th + i < rows and
 *   2tw + j < cols. */
typedef void (*pcx_wino_in_f32)(const float *band, int64_t pitch, int64_t TH, int64_t TW,
                                float *V, int64_t v_stride);
typedef void (*pcx_wino_in_f64)(const double *band, int64_t pitch, int64_t TH, int64_t TW,
                                double *V, int64_t v_stride);
typedef void (*pcx_wino_out_f32)(const float *M, int64_t m_stride, int64_t TH, int64_t TW,
                                 float *out, int64_t ldo, int64_t rows, int64_t cols,
                                 float bias);
typedef void (*pcx_wino_out_f64)(const double *M, int64_t m_stride, int64_t TH, int64_t TW,
                                 double *out, int64_t ldo, int64_t rows, int64_t cols,
                                 double bias);

/* Depthwise planes (one input and one output channel per group, 2-d): every
 * output (oh, ow) of a rows x cols box is
 *   out[oh * ldo + ow] = sum_k w[k] * band[off[k] + oh * row_pitch + ow] (+ bias[0]),
 * k = kh * KW + kw, summed column-major (k' = kw * KH + kh in order), one fused
 * multiply-add per product.  3x3, 5x5 and 7x7 kernels on consecutive band rows
 * and columns take an unrolled path that keeps a kernel column's weights in
 * registers and loads each input vector once for all its output rows (same
 * order, same bits).  MB output rows x two vectors per pass, written straight
 * into the output: a width that is not a multiple of the vector length ends
 * with an overlapping vector, the rows with an overlapping band (recomputing a
 * few outputs bit for bit), a width below one vector with a partial store;
 * nothing is written outside the box.  Reads may run up to one vector past the
 * band's last row (the band has that slack). */
typedef void (*pcx_dw_f32)(int64_t KH, int64_t KW, const float *w, const int64_t *off,
                           const float *band, int64_t row_pitch, int64_t rows, int64_t cols,
                           float *out, int64_t ldo, const float *bias);
typedef void (*pcx_dw_f64)(int64_t KH, int64_t KW, const double *w, const int64_t *off,
                           const double *band, int64_t row_pitch, int64_t rows, int64_t cols,
                           double *out, int64_t ldo, const double *bias);

/* dst[j] = src[j * step] for j < n (the depthwise band builder's strided runs). */
typedef void (*pcx_gather_f32)(const float *src, int64_t step, int64_t n, float *dst);
typedef void (*pcx_gather_f64)(const double *src, int64_t step, int64_t n, double *dst);

/* One kernel set: a wide-M tile ("gemm", for many output channels), a
 * single-row tile ("row", for depthwise and one-channel filtering) and the
 * row-blocked one-channel filter ("rowblock"). */
typedef struct {
    const char *name;
    int gemm_mr_f32, gemm_nr_f32, row_nr_f32;
    int gemm_mr_f64, gemm_nr_f64, row_nr_f64;
    pcx_ukr_f32 gemm_f32, row_f32;
    pcx_ukr_f64 gemm_f64, row_f64;
    int rowblock_mb_f32, rowblock_nr_f32, rowblock_mb_f64, rowblock_nr_f64;
    pcx_rowblock_f32 rowblock_f32;
    pcx_rowblock_f64 rowblock_f64;
    pcx_wino_in_f32 wino_in_f32;
    pcx_wino_in_f64 wino_in_f64;
    pcx_wino_out_f32 wino_out_f32;
    pcx_wino_out_f64 wino_out_f64;
    /* register-only FMA loop used to measure the machine's peak */
    double (*fma_probe_f32)(int64_t iterations);
    double (*fma_probe_f64)(int64_t iterations);
    int64_t probe_flops_per_iteration_f32, probe_flops_per_iteration_f64;
    /* depthwise planes: MB rows per pass, VL elements per vector */
    int dw_mb_f32, dw_vl_f32, dw_mb_f64, dw_vl_f64;
    pcx_dw_f32 dw_f32;
    pcx_dw_f64 dw_f64;
    pcx_gather_f32 gather_f32;
    pcx_gather_f64 gather_f64;
} pcx_kernel_set;

enum { PCX_LEVEL_GENERIC = 0, PCX_LEVEL_AVX2 = 1, PCX_LEVEL_AVX512 = 2, PCX_N_LEVELS = 3 };

/* The set for a level, or NULL when it was not compiled in. */
const pcx_kernel_set *pcx_kernel_set_for(int level);
/* Highest level both compiled in and supported by this CPU and OS. */
int pcx_cpu_level(void);

#ifdef __cplusplus
}
#endif
#endif
