/* The dot-product kernel of the weight gradient's "dot" path (few channels
 * per group, e.g. depthwise layers).
 *
 * For taps t < count, rows r < rows and positions i < width:
 *   acc[t][i mod 16] += a[r * a_pitch + i] * b[r * b_pitch + off[t] + i]
 * one grad_output row against the band row of each tap, into 16 running lanes
 * per tap (acc holds count x 16 values; the caller adds the lanes in order at
 * the end).  Up to eight taps are kept in registers, so each grad_output
 * vector is loaded once for all of them.  The last partial vector of a row
 * is masked: its lanes past the row add exactly zero, whatever was read
 * there (even NaN or Inf); with overread == 0 (the band row may end where
 * memory ends) the tail is summed one position at a time instead, into the
 * same lanes.  The products are formed with one fused multiply-add where
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
#define PCX_DOT_TAPS 8

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
