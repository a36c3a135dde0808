/* pyconvx microkernels: the C interface of the per-ISA microkernel sets.
 *
 * Every set (portable GCC vectors, AVX2+FMA, AVX-512) is the same template,
 * ukernel_set.h over the bodies in body/, compiled once per instruction set
 * with that set's target flags (sets/<isa>.c).  dispatch.c picks a set at run
 * time from the CPU's features, so one binary runs on any x86-64 (and the
 * portable set anywhere).  Symbols are named like XNNPACK's:
 * pcx_<dtype>_<operation>_<tile>__<isa>, e.g. pcx_f32_gemm_8x32__avx512.
 *
 * Tiles ("gemm", "row").  One register tile of C = A * B where
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
 * "gemm" is MR x NR (many output channels); "row" is 1 x NR (few channels).
 *
 * The channel tile ("cgemm") takes the same arguments with the operands' roles
 * swapped: mr output positions x NR output channels,
 *   C[m * ldc + j] = sum_k A[off[k] + m * lda] * B[k * NR + j]  (+ bias[j]),
 * A the input (a band, or x itself; positions lda apart), B the weights packed
 * NR output channels per row k, bias NR values or NULL; load_c as above.  It
 * comes in a variant per row count mr = 1..8 (run[mr - 1]).
 */
#ifndef PCX_UKERNELS_H
#define PCX_UKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*pcx_f32_tile_fn)(int64_t K, const float *A, int64_t lda, const float *B,
                                const int64_t *off, float *C, int64_t ldc, const float *bias,
                                int64_t load_c);
typedef void (*pcx_f64_tile_fn)(int64_t K, const double *A, int64_t lda, const double *B,
                                const int64_t *off, double *C, int64_t ldc, const double *bias,
                                int64_t load_c);

/* Row-blocked one-channel filtering: C[m][j] for MB output rows m and NR
 * columns j of a 2-d filter with KH x KW taps w (row-major), stride 1 along
 * the rows.  Input row r of the window starts at B + r * row_pitch; tap column
 * kw adds col_off[kw].  Each loaded input vector feeds every output row it
 * belongs to, so the kernel does one load per MB multiply-adds. */
typedef void (*pcx_f32_rowblock_fn)(int64_t KH, int64_t KW, const float *w, const float *B,
                                    int64_t row_pitch, const int64_t *col_off, float *C,
                                    int64_t ldc, const float *bias);
typedef void (*pcx_f64_rowblock_fn)(int64_t KH, int64_t KW, const double *w, const double *B,
                                    int64_t row_pitch, const int64_t *col_off, double *C,
                                    int64_t ldc, const double *bias);

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
typedef void (*pcx_f32_dwconv_fn)(int64_t KH, int64_t KW, const float *w, const int64_t *off,
                                  const float *band, int64_t row_pitch, int64_t rows,
                                  int64_t cols, float *out, int64_t ldo, const float *bias);
typedef void (*pcx_f64_dwconv_fn)(int64_t KH, int64_t KW, const double *w, const int64_t *off,
                                  const double *band, int64_t row_pitch, int64_t rows,
                                  int64_t cols, double *out, int64_t ldo, const double *bias);

/* Depthwise lanes (one channel per group, 2-d, VL channels side by side): band
 * and out hold VL lanes per position, lane l being channel l of a block, and
 *   out[(oh * cols + ow) * VL + l] = sum_k w[k * VL + l]
 *       * band[off[k] + oh * row_step + ow * col_step + l] (+ bias[l])
 * for oh < rows, ow < cols, the K taps summed in the order given, from zero,
 * one fused multiply-add each, the bias added last (with the taps in
 * column-major order: the bits of the planes kernel above).  Reads no element
 * past the last position's VL lanes; writes rows * cols * VL elements. */
typedef void (*pcx_f32_dwlanes_fn)(int64_t K, const float *w, const int64_t *off,
                                   const float *band, int64_t row_step, int64_t col_step,
                                   int64_t rows, int64_t cols, float *out, const float *bias);
typedef void (*pcx_f64_dwlanes_fn)(int64_t K, const double *w, const int64_t *off,
                                   const double *band, int64_t row_step, int64_t col_step,
                                   int64_t rows, int64_t cols, double *out,
                                   const double *bias);

/* Winograd F(2x2, 3x3) transforms (Lavin & Gray), vectorised across tiles.
 * input: for tiles t = th * TW + tw (th < TH, tw < TW), the 4x4 input patch at
 *   band rows 2th..2th+3, columns 2tw..2tw+3 (row pitch `pitch`) becomes
 *   V[xi * v_stride + t] = (B^T d B)[xi], xi = 4 * row + column.
 * output: the 2x2 outputs of tile t, A^T m A with m[xi] = M[xi * m_stride + t],
 *   plus `bias`, go to out[(2th + i) * ldo + 2tw + j] for 2th + i < rows and
 *   2tw + j < cols. */
typedef void (*pcx_f32_winograd_input_fn)(const float *band, int64_t pitch, int64_t TH,
                                          int64_t TW, float *V, int64_t v_stride);
typedef void (*pcx_f64_winograd_input_fn)(const double *band, int64_t pitch, int64_t TH,
                                          int64_t TW, double *V, int64_t v_stride);
typedef void (*pcx_f32_winograd_output_fn)(const float *M, int64_t m_stride, int64_t TH,
                                           int64_t TW, float *out, int64_t ldo, int64_t rows,
                                           int64_t cols, float bias);
typedef void (*pcx_f64_winograd_output_fn)(const double *M, int64_t m_stride, int64_t TH,
                                           int64_t TW, double *out, int64_t ldo, int64_t rows,
                                           int64_t cols, double bias);

/* dst[j] = src[j * step] for j < n (the depthwise band builder's strided runs);
 * reads never pass src[(n - 1) * step]. */
typedef void (*pcx_f32_gather_fn)(const float *src, int64_t step, int64_t n, float *dst);
typedef void (*pcx_f64_gather_fn)(const double *src, int64_t step, int64_t n, double *dst);

/* dst[j * dst_row + i] = src[i * src_row + j * src_col] for i < rows, j < cols
 * (the weight gradient's packing of grad_output); touches no other element. */
typedef void (*pcx_f32_transpose_fn)(const float *src, int64_t src_row, int64_t src_col,
                                     int64_t rows, int64_t cols, float *dst, int64_t dst_row);
typedef void (*pcx_f64_transpose_fn)(const double *src, int64_t src_row, int64_t src_col,
                                     int64_t rows, int64_t cols, double *dst, int64_t dst_row);

/* Tap rows: dst[j] = sum_k w[k] * src[k][j] for j < n, the K taps summed in
 * order 0..K-1 from zero with one fused multiply-add each (src[k] is the
 * input row tap k reads, already shifted to the first output's column).
 * Reads never pass src[k][n - 1], writes never pass dst[n - 1].  One pass of
 * a separable filter, or a small 2-d kernel, along rows of any length. */
typedef void (*pcx_f32_taps_fn)(int64_t K, const float *w, const float *const *src, int64_t n,
                                float *dst);
typedef void (*pcx_f64_taps_fn)(int64_t K, const double *w, const double *const *src,
                                int64_t n, double *dst);
/* Four output rows of a KH x KW kernel at once: dst[m * ldd + j] = sum over
 * taps (a, b) of w[b * KH + a] * src[a + m][j + b] for m < 4 (src holds KH + 3
 * rows, each with n + KW - 1 readable values), summed column-major from zero,
 * one fused multiply-add per tap; each input vector is loaded once for the
 * outputs it feeds.  With KW == 1: the bits of four taps() calls. */
typedef void (*pcx_f32_taps4_fn)(int64_t KH, int64_t KW, const float *w, const float *const *src,
                                 int64_t n, float *dst, int64_t ldd);
typedef void (*pcx_f64_taps4_fn)(int64_t KH, int64_t KW, const double *w,
                                 const double *const *src, int64_t n, double *dst, int64_t ldd);

/* A register-only loop of independent fused multiply-add chains, as many as
 * the set's registers hold without spilling: timed from outside, it gives the
 * machine's FMA peak.  Returns a value that depends on every chain. */
typedef double (*pcx_fma_probe_fn)(int64_t iterations);

/* A tile microkernel and its register tile (MR x NR elements). */
typedef struct { int mr, nr; pcx_f32_tile_fn run; } pcx_f32_tile_ukernel;
typedef struct { int mr, nr; pcx_f64_tile_fn run; } pcx_f64_tile_ukernel;
/* The gemm tile's narrow variants: run[v - 1] is MR x v*VL (v = 1, 2); tall is
 * 2 MR x VL (two panels at once, their rows lda apart as the panels' are). */
typedef struct { int mr, vl; pcx_f32_tile_fn run[2]; pcx_f32_tile_fn tall; } pcx_f32_narrow_ukernel;
typedef struct { int mr, vl; pcx_f64_tile_fn run[2]; pcx_f64_tile_fn tall; } pcx_f64_narrow_ukernel;
/* The channel tile: run[m - 1] is m positions x NR channels (m = 1..8); mr is
 * the most positions the set's registers hold without spilling. */
enum { PCX_CGEMM_VARIANTS = 8 };
typedef struct { int mr, nr; pcx_f32_tile_fn run[PCX_CGEMM_VARIANTS]; } pcx_f32_cgemm_ukernel;
typedef struct { int mr, nr; pcx_f64_tile_fn run[PCX_CGEMM_VARIANTS]; } pcx_f64_cgemm_ukernel;
/* The row-blocked filter: MB output rows x NR columns. */
typedef struct { int mb, nr; pcx_f32_rowblock_fn run; } pcx_f32_rowblock_ukernel;
typedef struct { int mb, nr; pcx_f64_rowblock_fn run; } pcx_f64_rowblock_ukernel;
/* The depthwise planes: MB rows per pass, VL elements per vector; and lanes,
 * NB outputs of VL channels per pass. */
typedef struct { int mb, vl, nb; pcx_f32_dwconv_fn run; pcx_f32_dwlanes_fn lanes; }
    pcx_f32_dwconv_ukernel;
typedef struct { int mb, vl, nb; pcx_f64_dwconv_fn run; pcx_f64_dwlanes_fn lanes; }
    pcx_f64_dwconv_ukernel;
/* The probe: FLOPs one iteration does (2 * chains * lanes). */
typedef struct { int64_t flops_per_iteration; pcx_fma_probe_fn run; } pcx_fma_probe;

/* Every microkernel of one element type. */
typedef struct {
    pcx_f32_tile_ukernel gemm, row;
    pcx_f32_narrow_ukernel gemm_narrow;
    pcx_f32_cgemm_ukernel cgemm;
    pcx_f32_rowblock_ukernel rowblock;
    pcx_f32_dwconv_ukernel depthwise;
    pcx_f32_winograd_input_fn winograd_input;
    pcx_f32_winograd_output_fn winograd_output;
    pcx_f32_gather_fn gather;
    pcx_f32_transpose_fn transpose;
    pcx_fma_probe fma_probe;
    pcx_f32_taps_fn taps;
    pcx_f32_taps4_fn taps4;
} pcx_f32_ukernels;
typedef struct {
    pcx_f64_tile_ukernel gemm, row;
    pcx_f64_narrow_ukernel gemm_narrow;
    pcx_f64_cgemm_ukernel cgemm;
    pcx_f64_rowblock_ukernel rowblock;
    pcx_f64_dwconv_ukernel depthwise;
    pcx_f64_winograd_input_fn winograd_input;
    pcx_f64_winograd_output_fn winograd_output;
    pcx_f64_gather_fn gather;
    pcx_f64_transpose_fn transpose;
    pcx_fma_probe fma_probe;
    pcx_f64_taps_fn taps;
    pcx_f64_taps4_fn taps4;
} pcx_f64_ukernels;

/* One instruction set's microkernels. */
typedef struct {
    const char *name;
    pcx_f32_ukernels f32;
    pcx_f64_ukernels f64;
} pcx_ukernel_set;

enum { PCX_LEVEL_GENERIC = 0, PCX_LEVEL_AVX2 = 1, PCX_LEVEL_AVX512 = 2, PCX_N_LEVELS = 3 };

/* The vector instructions the portable set compiles to on this build's target:
 * 16-byte GCC vectors lowered to the baseline of the architecture (every
 * AArch64 CPU has NEON, every x86-64 CPU SSE2).  Header-only, so that any
 * module compiled with the baseline flags can say it. */
static inline const char *pcx_portable_isa(void)
{
#if defined(__aarch64__) && defined(__ARM_NEON)
    return "neon";
#elif defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
    return "sse2";
#elif defined(__ARM_NEON) || defined(__ALTIVEC__) || defined(__riscv_vector)
    return "native 128-bit vectors";
#else
    return "scalar";
#endif
}

/* The set for a level, or NULL when it was not compiled in. */
const pcx_ukernel_set *pcx_ukernel_set_for(int level);
/* Highest level both compiled in and supported by this CPU and OS. */
int pcx_cpu_level(void);

#ifdef __cplusplus
}
#endif
#endif
