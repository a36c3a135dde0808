/* The dot-product kernel of the weight gradient's "dot" path (few channels
 * per group, e.g. depthwise layers).
 *
 * For taps t < count, rows r < rows and positions i < width:
 *   acc[t][i mod 16] += a[r * a_pitch + i] * b[r * b_pitch + off[t] + i]
 * one grad_output row against the band row of each tap, into 16 running lanes
 * per tap (acc holds count x 16 values; the caller adds the lanes in order at
 * the end).  Up to nine taps (a 3 x 3 kernel's) are kept in registers,
 * so each grad_output vector is loaded once for all of them.  The last
 * partial vector of a row is masked: its lanes past the row add exactly
 * zero, whatever was read there (even NaN or Inf); with overread == 0 (a
 * row may end where memory ends) the tail is summed one position at a time
 * instead, into the same lanes.  The products are formed with one fused multiply-add where
 * the instruction set has it; every order is fixed, independent of the
 * thread count and of the layout of the inputs.  The lane count is the same
 * for every instruction set; each set is compiled with its own target
 * attribute (no host-specific flags) and picked at run time by the level
 * the engine's dispatch chose. */
#ifndef PCX_BACKWARD_H
#define PCX_BACKWARD_H

#include <stdint.h>
#include <string.h>

#define PCX_DOT_LANES 16
#define PCX_DOT_TAPS 9

typedef float pcx_dot_vf __attribute__((vector_size(PCX_DOT_LANES * sizeof(float)), aligned(4)));
typedef double pcx_dot_vd __attribute__((vector_size(PCX_DOT_LANES * sizeof(double)), aligned(8)));
typedef int32_t pcx_dot_mf __attribute__((vector_size(PCX_DOT_LANES * sizeof(float))));
typedef int64_t pcx_dot_md __attribute__((vector_size(PCX_DOT_LANES * sizeof(double))));

#define PCX_DEFINE_DOT(name, T, V, M, ATTR)                                                \
    ATTR static void name(int64_t rows, int64_t width, const T *a, int64_t a_pitch,        \
                          const T *b, int64_t b_pitch, const int64_t *off, int64_t count,  \
                          T *acc, int64_t overread)                                        \
    {                                                                                      \
        const int64_t full = width - width % PCX_DOT_LANES;                                \
        const int64_t rest = width - full;                                                 \
        M mask;                                                                            \
        for (int l = 0; l < PCX_DOT_LANES; ++l)                                            \
            mask[l] = l < rest ? -1 : 0;                                                   \
        for (int64_t t0 = 0; t0 < count; t0 += PCX_DOT_TAPS) {                             \
            const int64_t nt = count - t0 < PCX_DOT_TAPS ? count - t0 : PCX_DOT_TAPS;      \
            V s[PCX_DOT_TAPS];                                                             \
            for (int64_t j = 0; j < nt; ++j)                                               \
                memcpy(&s[j], acc + (t0 + j) * PCX_DOT_LANES, sizeof(V));                  \
            for (int64_t r = 0; r < rows; ++r) {                                           \
                const T *ar = a + r * a_pitch;                                             \
                const T *br = b + r * b_pitch;                                             \
                for (int64_t i = 0; i < full; i += PCX_DOT_LANES) {                        \
                    const V av = *(const V *)(ar + i);                                     \
                    for (int64_t j = 0; j < nt; ++j)                                       \
                        s[j] += av * *(const V *)(br + off[t0 + j] + i);                   \
                }                                                                          \
                if (rest && overread) {                                                    \
                    const V av = *(const V *)(ar + full);                                  \
                    for (int64_t j = 0; j < nt; ++j) {                                     \
                        const V p = av * *(const V *)(br + off[t0 + j] + full);            \
                        s[j] += (V)((M)p & mask);                                          \
                    }                                                                      \
                } else if (rest) {                                                         \
                    for (int64_t j = 0; j < nt; ++j)                                       \
                        for (int64_t i = full; i < width; ++i)                             \
                            s[j][i - full] += ar[i] * br[off[t0 + j] + i];                 \
                }                                                                          \
            }                                                                              \
            for (int64_t j = 0; j < nt; ++j)                                               \
                memcpy(acc + (t0 + j) * PCX_DOT_LANES, &s[j], sizeof(V));                  \
        }                                                                                  \
    }

PCX_DEFINE_DOT(pcx_dot_f32_generic, float, pcx_dot_vf, pcx_dot_mf, )
PCX_DEFINE_DOT(pcx_dot_f64_generic, double, pcx_dot_vd, pcx_dot_md, )

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define PCX_DOT_X86 1
PCX_DEFINE_DOT(pcx_dot_f32_avx2, float, pcx_dot_vf, pcx_dot_mf,
               __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f64_avx2, double, pcx_dot_vd, pcx_dot_md,
               __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f32_avx512, float, pcx_dot_vf, pcx_dot_mf,
               __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f64_avx512, double, pcx_dot_vd, pcx_dot_md,
               __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))))
#endif

/* The weight gradient's wide tile (AVX-512 only): C[MR x NV*VL] += A * B with
 * A's MR rows lda apart (MR input channels of the band at one tap), B's K rows
 * ldb apart (the packed grad_output, output channels contiguous) and C's rows
 * ldc apart; k runs in order 0..K-1 with one fused multiply-add per product,
 * like the engine's gemm tile, whose 8 x 48 (float32) leaves a third of its
 * columns empty on 64 output channels: 6 x 64 fills them. */
#define PCX_WIDE_MR 6
#define PCX_WIDE_NV 4

#if defined(__GNUC__) && !defined(__clang__)
#define PCX_WIDE_UNROLL _Pragma("GCC unroll 8")
#else
#define PCX_WIDE_UNROLL
#endif

#define PCX_DEFINE_WIDE(name, T, V, ATTR)                                                  \
    ATTR static void name(int64_t K, const T *restrict A, int64_t lda,                     \
                          const T *restrict B, int64_t ldb, T *restrict C, int64_t ldc)    \
    {                                                                                      \
        const int VL = (int)(sizeof(V) / sizeof(T));                                       \
        V acc[PCX_WIDE_MR][PCX_WIDE_NV];                                                   \
        PCX_WIDE_UNROLL for (int m = 0; m < PCX_WIDE_MR; ++m)                              \
            PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                          \
                memcpy(&acc[m][v], C + m * ldc + v * VL, sizeof(V));                       \
        for (int64_t k = 0; k < K; ++k) {                                                  \
            V bv[PCX_WIDE_NV];                                                             \
            PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                          \
                bv[v] = *(const V *)(B + k * ldb + v * VL);                                \
            PCX_WIDE_UNROLL for (int m = 0; m < PCX_WIDE_MR; ++m) {                        \
                const T am = A[m * lda + k];                                               \
                PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                      \
                    acc[m][v] += am * bv[v];                                               \
            }                                                                              \
        }                                                                                  \
        PCX_WIDE_UNROLL for (int m = 0; m < PCX_WIDE_MR; ++m)                              \
            PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                          \
                memcpy(C + m * ldc + v * VL, &acc[m][v], sizeof(V));                       \
    }

typedef float pcx_wide_vf __attribute__((vector_size(64), aligned(4)));
typedef double pcx_wide_vd __attribute__((vector_size(64), aligned(8)));

/* Compiled for AVX-512 on x86 (the planner takes it only at that level),
 * portable elsewhere. */
#ifdef PCX_DOT_X86
#define PCX_WIDE_ATTR __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#else
#define PCX_WIDE_ATTR
#endif
PCX_DEFINE_WIDE(pcx_wide_f32, float, pcx_wide_vf, PCX_WIDE_ATTR)
PCX_DEFINE_WIDE(pcx_wide_f64, double, pcx_wide_vd, PCX_WIDE_ATTR)

/* level: 0 generic, 1 avx2, 2 avx512 (the engine's SimdLevel). */
#ifdef PCX_DOT_X86
#define PCX_DOT_PICK(T, sfx)                                                                \
    if (level >= 2) {                                                                      \
        pcx_dot_##sfx##_avx512(rows, width, a, a_pitch, b, b_pitch, off, count, acc,       \
                               overread);                                                  \
        return;                                                                            \
    }                                                                                      \
    if (level == 1) {                                                                      \
        pcx_dot_##sfx##_avx2(rows, width, a, a_pitch, b, b_pitch, off, count, acc,         \
                             overread);                                                    \
        return;                                                                            \
    }
#else
#define PCX_DOT_PICK(T, sfx)
#endif

#define PCX_DEFINE_DOT_DISPATCH(T, sfx)                                                    \
    static inline void pcx_dot_taps_##sfx(int level, int64_t rows, int64_t width,          \
                                          const T *a, int64_t a_pitch, const T *b,         \
                                          int64_t b_pitch, const int64_t *off,             \
                                          int64_t count, T *acc, int64_t overread)         \
    {                                                                                      \
        (void)level;                                                                       \
        PCX_DOT_PICK(T, sfx)                                                               \
        pcx_dot_##sfx##_generic(rows, width, a, a_pitch, b, b_pitch, off, count, acc,      \
                                overread);                                                 \
    }

PCX_DEFINE_DOT_DISPATCH(float, f32)
PCX_DEFINE_DOT_DISPATCH(double, f64)

#endif
