/* Every microkernel of every set compiled into this program, in C, against scalar sums.
 *
 * The C twin of tests/engine/test_microkernels.py for targets where Python does not
 * run (an AArch64 build under qemu-user, see .ci/arm64/run).  Inputs are small
 * integers, so every product and partial sum is exact in float and double: each
 * microkernel must equal the scalar sum bit for bit whatever its summation order.
 * One more pass with random floats checks that the gemm tile sums its k loop in
 * order with one fused multiply-add per product (the bits of fma() in a loop).
 * Buffers are surrounded by sentinels, so a write outside a tile or box shows.
 * Exit status 0 and "N passed, 0 failed" when every check holds.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ukernels.h"

static int passed, failed;
static uint64_t rng_state = 88172645463325252ull;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* a small integer in [-4, 4] */
static int small(void) { return (int)(next_random() % 9) - 4; }
/* a float in [-1, 1) */
static double unit(void) { return (double)(next_random() >> 11) / 9007199254740992.0 * 2 - 1; }

static void report(int ok, const char *set, const char *what, const char *dtype, long a, long b)
{
    if (ok) {
        ++passed;
    } else {
        ++failed;
        printf("FAILED %s %s %s (%ld, %ld)\n", set, what, dtype, a, b);
    }
}

#define SENTINEL 99

/* Whether a set's "acc + a * b" is one fused multiply-add: always in the sets built
 * with FMA flags; in the portable set where the target's baseline has FMA (AArch64,
 * not x86-64).  This file is compiled with -ffp-contract=off, so its own sums are
 * never fused behind its back. */
#if defined(__FP_FAST_FMAF) && defined(__FP_FAST_FMA)
#define BASELINE_FMA 1
#else
#define BASELINE_FMA 0
#endif

/* The checks of one element type: T the C type, U the set's field (f32, f64),
 * FMA the scalar fused multiply-add of T. */
#define DEFINE_CHECKS(T, U, FMA)                                                          \
    static T *U##_buffer(size_t n, int integers)                                          \
    {                                                                                     \
        T *p = malloc((n + 64) * sizeof(T));                                              \
        for (size_t i = 0; i < n + 64; ++i)                                               \
            p[i] = integers ? (T)small() : (T)unit();                                     \
        return p;                                                                         \
    }                                                                                     \
                                                                                          \
    static void U##_check_tile(const char *set, const char *name,                         \
                               const pcx_##U##_tile_ukernel *k, long K)                   \
    {                                                                                     \
        int mr = k->mr, nr = k->nr, ldc = nr + 5, ok = 1;                                 \
        T *A = U##_buffer((size_t)mr * K + 1, 1), *B = U##_buffer(3 * K + nr + 12, 1);    \
        T *bias = U##_buffer(mr, 1), *C = malloc((size_t)mr * ldc * sizeof(T));           \
        int64_t *off = malloc((K + 1) * sizeof(int64_t));                                 \
        for (long i = 0; i < K; ++i)                                                      \
            off[i] = (int64_t)(next_random() % (3 * K + 12));                             \
        for (int pass = 0; pass < 2; ++pass) {                                            \
            const T *b = pass ? NULL : bias;                                              \
            for (long i = 0; i < (long)mr * ldc; ++i)                                     \
                C[i] = SENTINEL;                                                          \
            k->run(K, A, K, B, off, C, ldc, b, 0);                                        \
            for (int m = 0; m < mr; ++m)                                                  \
                for (int j = 0; j < ldc; ++j) {                                           \
                    double want = SENTINEL;                                               \
                    if (j < nr) {                                                         \
                        want = b ? b[m] : 0;                                              \
                        for (long i = 0; i < K; ++i)                                      \
                            want += (double)A[m * K + i] * B[off[i] + j];                 \
                    }                                                                     \
                    ok &= C[m * ldc + j] == (T)want;                                      \
                }                                                                         \
        }                                                                                 \
        report(ok, set, name, #T, K, mr);                                                 \
        /* random floats: the k loop in order, one fused multiply-add per product,      \
           split into two blocks with load_c (the bits of one pass) */                    \
        free(A);                                                                          \
        free(B);                                                                          \
        A = U##_buffer((size_t)mr * K + 1, 0);                                            \
        B = U##_buffer(K + nr, 0);                                                        \
        for (long i = 0; i < K; ++i)                                                      \
            off[i] = i;                                                                   \
        long half = K / 2;                                                                \
        k->run(half, A, K, B, off, C, ldc, NULL, 0);                                      \
        k->run(K - half, A + half, K, B, off + half, C, ldc, bias, 1);                    \
        ok = 1;                                                                           \
        int fused = BASELINE_FMA || strcmp(set, "generic") != 0;                          \
        for (int m = 0; m < mr; ++m)                                                      \
            for (int j = 0; j < nr; ++j) {                                                \
                T acc = 0;                                                                \
                for (long i = 0; i < K; ++i) {                                            \
                    T product = A[m * K + i] * B[i + j];                                  \
                    acc = fused ? FMA(A[m * K + i], B[i + j], acc) : acc + product;       \
                }                                                                         \
                ok &= C[m * ldc + j] == acc + bias[m];                                    \
            }                                                                             \
        report(ok, set, name, #T " fma order", K, mr);                                    \
        free(A);                                                                          \
        free(B);                                                                          \
        free(bias);                                                                       \
        free(C);                                                                          \
        free(off);                                                                        \
    }                                                                                     \
                                                                                          \
    /* the channel tile, rows positions: C[m][j] = sum_k A[off[k] + m * lda] * B[k][j],  \
       exact on small integers, then the fused order on random floats in two blocks */    \
    static void U##_check_cgemm(const char *set, const pcx_##U##_cgemm_ukernel *k, int rows, \
                                long K)                                                   \
    {                                                                                     \
        int nr = k->nr, ldc = nr + 3, lda = 2, ok = 1;                                    \
        T *A = U##_buffer(2 * K + 8 * lda + 4, 1), *B = U##_buffer((size_t)K * nr + 1, 1); \
        T *bias = U##_buffer(nr, 1), *C = malloc((size_t)(rows + 1) * ldc * sizeof(T));   \
        int64_t *off = malloc((K + 1) * sizeof(int64_t));                                 \
        for (long i = 0; i < K; ++i)                                                      \
            off[i] = (int64_t)(next_random() % (2 * K + 4));                              \
        for (long i = 0; i < (long)(rows + 1) * ldc; ++i)                                 \
            C[i] = SENTINEL;                                                              \
        k->run[rows - 1](K, A, lda, B, off, C, ldc, bias, 0);                             \
        for (int m = 0; m <= rows; ++m)                                                   \
            for (int j = 0; j < ldc; ++j) {                                               \
                double want = SENTINEL;                                                   \
                if (m < rows && j < nr) {                                                 \
                    want = bias[j];                                                       \
                    for (long i = 0; i < K; ++i)                                          \
                        want += (double)A[off[i] + m * lda] * B[i * nr + j];              \
                }                                                                         \
                ok &= C[m * ldc + j] == (T)want;                                          \
            }                                                                             \
        report(ok, set, "cgemm", #T, K, rows);                                            \
        free(A);                                                                          \
        free(B);                                                                          \
        A = U##_buffer(K + 8, 0);                                                         \
        B = U##_buffer((size_t)K * nr + 1, 0);                                            \
        for (long i = 0; i < K; ++i)                                                      \
            off[i] = i;                                                                   \
        long half = K / 2;                                                                \
        k->run[rows - 1](half, A, 1, B, off, C, ldc, NULL, 0);                            \
        k->run[rows - 1](K - half, A, 1, B + half * nr, off + half, C, ldc, bias, 1);     \
        ok = 1;                                                                           \
        int fused = BASELINE_FMA || strcmp(set, "generic") != 0;                          \
        for (int m = 0; m < rows; ++m)                                                    \
            for (int j = 0; j < nr; ++j) {                                                \
                T acc = 0;                                                                \
                for (long i = 0; i < K; ++i) {                                            \
                    T product = A[i + m] * B[i * nr + j];                                 \
                    acc = fused ? FMA(A[i + m], B[i * nr + j], acc) : acc + product;      \
                }                                                                         \
                ok &= C[m * ldc + j] == acc + bias[j];                                    \
            }                                                                             \
        report(ok, set, "cgemm", #T " fma order", K, rows);                               \
        free(A);                                                                          \
        free(B);                                                                          \
        free(bias);                                                                       \
        free(C);                                                                          \
        free(off);                                                                        \
    }                                                                                     \
                                                                                          \
    static void U##_check_rowblock(const char *set, const pcx_##U##_rowblock_ukernel *k,  \
                                   int KH, int KW)                                        \
    {                                                                                     \
        int mb = k->mb, nr = k->nr, pitch = nr + KW + 3, ldc = nr + 2, ok = 1;            \
        T *B = U##_buffer((size_t)(mb + KH) * pitch + nr, 1), *w = U##_buffer(KH * KW, 1); \
        T *bias = U##_buffer(1, 1), *C = malloc((size_t)mb * ldc * sizeof(T));            \
        int64_t col_off[16];                                                              \
        for (int i = 0; i < KW; ++i)                                                      \
            col_off[i] = i;                                                               \
        for (int i = 0; i < mb * ldc; ++i)                                                \
            C[i] = SENTINEL;                                                              \
        k->run(KH, KW, w, B, pitch, col_off, C, ldc, bias);                               \
        for (int m = 0; m < mb; ++m)                                                      \
            for (int j = 0; j < ldc; ++j) {                                               \
                double want = SENTINEL;                                                   \
                if (j < nr) {                                                             \
                    want = bias[0];                                                       \
                    for (int kh = 0; kh < KH; ++kh)                                       \
                        for (int kw = 0; kw < KW; ++kw)                                   \
                            want += (double)w[kh * KW + kw] * B[(m + kh) * pitch + kw + j]; \
                }                                                                         \
                ok &= C[m * ldc + j] == (T)want;                                          \
            }                                                                             \
        report(ok, set, "rowblock", #T, KH, KW);                                          \
        free(B);                                                                          \
        free(w);                                                                          \
        free(bias);                                                                       \
        free(C);                                                                          \
    }                                                                                     \
                                                                                          \
    static void U##_check_depthwise(const char *set, const pcx_##U##_dwconv_ukernel *k,   \
                                    int KH, int KW, int rows, int cols)                   \
    {                                                                                     \
        int pitch = cols + KW + 2, ldo = cols + 3, ok = 1;                                \
        T *band = U##_buffer((size_t)(rows + KH) * pitch + 2 * k->vl + cols, 1);          \
        T *w = U##_buffer(KH * KW, 1), *bias = U##_buffer(1, 1);                          \
        T *out = malloc((size_t)(rows + 1) * ldo * sizeof(T));                            \
        int64_t off[64];                                                                  \
        for (int kh = 0; kh < KH; ++kh)                                                   \
            for (int kw = 0; kw < KW; ++kw)                                               \
                off[kh * KW + kw] = (int64_t)kh * pitch + kw;                             \
        for (int i = 0; i < (rows + 1) * ldo; ++i)                                        \
            out[i] = SENTINEL;                                                            \
        k->run(KH, KW, w, off, band, pitch, rows, cols, out, ldo, bias);                  \
        for (int oh = 0; oh <= rows; ++oh)                                                \
            for (int ow = 0; ow < ldo; ++ow) {                                            \
                double want = SENTINEL;                                                   \
                if (oh < rows && ow < cols) {                                             \
                    want = bias[0];                                                       \
                    for (int t = 0; t < KH * KW; ++t)                                     \
                        want += (double)w[t] * band[off[t] + oh * pitch + ow];            \
                }                                                                         \
                ok &= out[oh * ldo + ow] == (T)want;                                      \
            }                                                                             \
        report(ok, set, "depthwise", #T, KH * 100 + KW, rows * 1000 + cols);              \
        free(band);                                                                       \
        free(w);                                                                          \
        free(bias);                                                                       \
        free(out);                                                                        \
    }                                                                                     \
                                                                                          \
    static void U##_check_depthwise_lanes(const char *set, const pcx_##U##_dwconv_ukernel *k, \
                                          int K, int rows, int cols, int step)            \
    {                                                                                     \
        const int vl = k->vl, pitch = cols * step + 4;                                   \
        int ok = 1;                                                                       \
        T *band = U##_buffer((size_t)(rows + 3) * pitch * vl, 1);                         \
        T *w = U##_buffer((size_t)K * vl, 1), *bias = U##_buffer(vl, 1);                  \
        T *out = malloc((size_t)rows * cols * vl * sizeof(T));                            \
        int64_t off[16];                                                                  \
        for (int t = 0; t < K; ++t)                                                       \
            off[t] = (int64_t)((t % 3) * pitch + t / 3) * vl;                             \
        k->lanes(K, w, off, band, (int64_t)pitch * vl, (int64_t)step * vl, rows, cols,    \
                 out, bias);                                                              \
        for (int oh = 0; oh < rows; ++oh)                                                 \
            for (int ow = 0; ow < cols; ++ow)                                             \
                for (int l = 0; l < vl; ++l) {                                            \
                    double want = bias[l];                                                \
                    for (int t = 0; t < K; ++t)                                           \
                        want += (double)w[t * vl + l]                                     \
                                * band[off[t] + ((int64_t)oh * pitch + ow * step) * vl + l]; \
                    ok &= out[((int64_t)oh * cols + ow) * vl + l] == (T)want;             \
                }                                                                         \
        report(ok, set, "depthwise_lanes", #T, K * 10 + step, rows * 1000 + cols);        \
        free(band);                                                                       \
        free(w);                                                                          \
        free(bias);                                                                       \
        free(out);                                                                        \
    }                                                                                     \
                                                                                          \
    static void U##_check_winograd(const char *set, const pcx_##U##_ukernels *ks, int TH, \
                                   int TW)                                                \
    {                                                                                     \
        static const double BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0},       \
                                        {0, 1, 0, -1}};                                   \
        static const double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};                    \
        int pitch = 2 * TW + 5, tiles = TH * TW, stride = tiles + 4, ok = 1;              \
        int rows = 2 * TH - 1, cols = 2 * TW - 1, ldo = cols + 3;                         \
        T *band = U##_buffer((size_t)(2 * TH + 2) * pitch, 1);                            \
        T *V = malloc(16 * (size_t)stride * sizeof(T)), *M = U##_buffer(16 * stride, 1);  \
        T *out = malloc((size_t)(rows + 1) * ldo * sizeof(T));                            \
        for (int i = 0; i < 16 * stride; ++i)                                             \
            V[i] = SENTINEL;                                                              \
        ks->winograd_input(band, pitch, TH, TW, V, stride);                               \
        for (int t = 0; t < stride; ++t)                                                  \
            for (int r = 0; r < 4; ++r)                                                   \
                for (int c = 0; c < 4; ++c) {                                             \
                    double want = SENTINEL;                                               \
                    if (t < tiles) {                                                      \
                        const T *d = band + 2 * (t / TW) * pitch + 2 * (t % TW);          \
                        want = 0;                                                         \
                        for (int i = 0; i < 4; ++i)                                       \
                            for (int j = 0; j < 4; ++j)                                   \
                                want += BT[r][i] * d[i * pitch + j] * BT[c][j];           \
                    }                                                                     \
                    ok &= V[(r * 4 + c) * stride + t] == (T)want;                         \
                }                                                                         \
        report(ok, set, "winograd_input", #T, TH, TW);                                    \
        ok = 1;                                                                           \
        for (int i = 0; i < (rows + 1) * ldo; ++i)                                        \
            out[i] = SENTINEL;                                                            \
        ks->winograd_output(M, stride, TH, TW, out, ldo, rows, cols, (T)3);               \
        for (int y = 0; y <= rows; ++y)                                                   \
            for (int x = 0; x < ldo; ++x) {                                               \
                double want = SENTINEL;                                                   \
                if (y < rows && x < cols) {                                               \
                    int t = (y / 2) * TW + x / 2;                                         \
                    want = 3;                                                             \
                    for (int i = 0; i < 4; ++i)                                           \
                        for (int j = 0; j < 4; ++j)                                       \
                            want += AT[y % 2][i] * M[(i * 4 + j) * stride + t] * AT[x % 2][j]; \
                }                                                                         \
                ok &= out[y * ldo + x] == (T)want;                                        \
            }                                                                             \
        report(ok, set, "winograd_output", #T, TH, TW);                                   \
        free(band);                                                                       \
        free(V);                                                                          \
        free(M);                                                                          \
        free(out);                                                                        \
    }                                                                                     \
                                                                                          \
    static void U##_check_gather(const char *set, const pcx_##U##_ukernels *ks, int step, \
                                 int n)                                                   \
    {                                                                                     \
        T *src = U##_buffer((size_t)(n - 1) * step + 1, 0), *dst = malloc((n + 3) * sizeof(T)); \
        int ok = 1;                                                                       \
        for (int i = 0; i < n + 3; ++i)                                                   \
            dst[i] = SENTINEL;                                                            \
        ks->gather(src, step, n, dst);                                                    \
        for (int i = 0; i < n + 3; ++i)                                                   \
            ok &= dst[i] == (i < n ? src[i * step] : SENTINEL);                           \
        report(ok, set, "gather", #T, step, n);                                           \
        free(src);                                                                        \
        free(dst);                                                                        \
    }                                                                                     \
                                                                                          \
    static void U##_check_transpose(const char *set, const pcx_##U##_ukernels *ks,       \
                                    int rows, int cols, int col_step)                     \
    {                                                                                     \
        const int src_row = cols * col_step + 1, dst_row = rows + 3;                      \
        T *src = U##_buffer((size_t)rows * src_row, 0);                                   \
        T *dst = malloc((size_t)(cols + 1) * dst_row * sizeof(T));                        \
        int ok = 1;                                                                       \
        for (int i = 0; i < (cols + 1) * dst_row; ++i)                                    \
            dst[i] = SENTINEL;                                                            \
        ks->transpose(src, src_row, col_step, rows, cols, dst, dst_row);                  \
        for (int j = 0; j < cols + 1; ++j)                                                \
            for (int i = 0; i < dst_row; ++i)                                             \
                ok &= dst[j * dst_row + i] ==                                             \
                      (i < rows && j < cols ? src[i * src_row + j * col_step] : SENTINEL); \
        report(ok, set, "transpose", #T, rows, cols);                                     \
        free(src);                                                                        \
        free(dst);                                                                        \
    }                                                                                     \
                                                                                          \
    static void U##_check_set(const char *set, const pcx_##U##_ukernels *ks)              \
    {                                                                                     \
        static const long Ks[] = {0, 1, 2, 7, 64, 129};                                   \
        static const int kernels[][2] = {{1, 1}, {3, 3}, {5, 2}, {2, 7}, {9, 9}};         \
        static const int dw_kernels[][2] = {{3, 3}, {5, 5}, {7, 7}, {3, 5}, {1, 4}, {2, 2}}; \
        static const int boxes[][2] = {{1, 1}, {3, 5}, {4, 16}, {5, 17}, {9, 33}, {13, 70}}; \
        static const int tiles[][2] = {{1, 1}, {2, 3}, {3, 16}, {2, 17}, {4, 33}};        \
        for (int i = 0; i < 6; ++i) {                                                     \
            U##_check_tile(set, "gemm", &ks->gemm, Ks[i]);                                \
            U##_check_tile(set, "row", &ks->row, Ks[i]);                                  \
            for (int v = 1; v <= 2; ++v) {                                                \
                const pcx_##U##_tile_ukernel narrow = {ks->gemm_narrow.mr,                \
                                                       v * ks->gemm_narrow.vl,            \
                                                       ks->gemm_narrow.run[v - 1]};       \
                U##_check_tile(set, "gemm_narrow", &narrow, Ks[i]);                       \
            }                                                                             \
            const pcx_##U##_tile_ukernel tall = {2 * ks->gemm_narrow.mr,                  \
                                                 ks->gemm_narrow.vl, ks->gemm_narrow.tall}; \
            U##_check_tile(set, "gemm_tall", &tall, Ks[i]);                               \
            for (int rows = 1; rows <= 8; ++rows)                                         \
                U##_check_cgemm(set, &ks->cgemm, rows, Ks[i]);                            \
        }                                                                                 \
        for (int i = 0; i < 5; ++i)                                                       \
            U##_check_rowblock(set, &ks->rowblock, kernels[i][0], kernels[i][1]);         \
        for (int i = 0; i < 6; ++i)                                                       \
            for (int j = 0; j < 6; ++j)                                                   \
                U##_check_depthwise(set, &ks->depthwise, dw_kernels[i][0], dw_kernels[i][1], \
                                    boxes[j][0], boxes[j][1]);                            \
        for (int K = 1; K <= 9; K += 4)                                                   \
            for (int cols = 1; cols <= 19; cols += 3)                                     \
                for (int step = 1; step <= 2; ++step)                                     \
                    U##_check_depthwise_lanes(set, &ks->depthwise, K, 3, cols, step);     \
        for (int i = 0; i < 5; ++i)                                                       \
            U##_check_winograd(set, ks, tiles[i][0], tiles[i][1]);                        \
        for (int step = 1; step <= 3; ++step)                                             \
            for (int n = 1; n <= 65; n += 8)                                              \
                U##_check_gather(set, ks, step, n);                                       \
        for (int rows = 1; rows <= 40; rows += 13)                                        \
            for (int cols = 1; cols <= 49; cols += 8)                                     \
                for (int col_step = 1; col_step <= 2; ++col_step)                         \
                    U##_check_transpose(set, ks, rows, cols, col_step);                   \
        double probe = ks->fma_probe.run(1000);                                           \
        report(isfinite(probe) && ks->fma_probe.flops_per_iteration > 0, set, "fma_probe", \
               #T, 1000, 0);                                                              \
    }

DEFINE_CHECKS(float, f32, fmaf)
DEFINE_CHECKS(double, f64, fma)

int main(void)
{
    int cpu = pcx_cpu_level();
    for (int level = 0; level < PCX_N_LEVELS; ++level) {
        const pcx_ukernel_set *set = pcx_ukernel_set_for(level);
        if (set == NULL || level > cpu)
            continue;
        printf("set %s: gemm %dx%d (float), %dx%d (double)\n", set->name, set->f32.gemm.mr,
               set->f32.gemm.nr, set->f64.gemm.mr, set->f64.gemm.nr);
        f32_check_set(set->name, &set->f32);
        f64_check_set(set->name, &set->f64);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
