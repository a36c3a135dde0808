/* The dot-product kernel of the weight gradient's "dot" path (few channels
 * per group, e.g. depthwise layers).
 *
 * acc[t] += sum_{i < n} a[i] * b[off[t] + i] for t < count: one grad_output
 * row against the band row of each tap.  The products go to 16 lanes
 * (i mod 16), each summed in order with one fused multiply-add per product
 * where the instruction set has it, and the lanes are added in order at the
 * end: a fixed order that does not depend on the thread count or the layout
 * of the inputs.  The lane count is the same for every instruction set;
 * each set is compiled with its own target attribute (no host-specific flags)
 * and picked at run time by the level the engine's dispatch chose. */
#ifndef PCX_BACKWARD_H
#define PCX_BACKWARD_H

#include <stdint.h>

#define PCX_DOT_LANES 16

typedef float pcx_dot_vf __attribute__((vector_size(PCX_DOT_LANES * sizeof(float)), aligned(4)));
typedef double pcx_dot_vd __attribute__((vector_size(PCX_DOT_LANES * sizeof(double)), aligned(8)));

#define PCX_DEFINE_DOT(name, T, V, ATTR)                                                   \
    ATTR static void name(int64_t n, const T *restrict a, const T *restrict b,             \
                          const int64_t *restrict off, int64_t count, T *restrict acc)     \
    {                                                                                      \
        const int64_t full = n - n % PCX_DOT_LANES;                                        \
        for (int64_t t = 0; t < count; ++t) {                                              \
            const T *bt = b + off[t];                                                      \
            V lane = {0};                                                                  \
            for (int64_t i = 0; i < full; i += PCX_DOT_LANES)                              \
                lane += *(const V *)(a + i) * *(const V *)(bt + i);                        \
            T lanes[PCX_DOT_LANES];                                                        \
            __builtin_memcpy(lanes, &lane, sizeof(lanes));                                 \
            for (int64_t i = full; i < n; ++i)                                             \
                lanes[i - full] += a[i] * bt[i];                                           \
            T sum = 0;                                                                     \
            for (int l = 0; l < PCX_DOT_LANES; ++l)                                        \
                sum += lanes[l];                                                           \
            acc[t] += sum;                                                                 \
        }                                                                                  \
    }

PCX_DEFINE_DOT(pcx_dot_f32_generic, float, pcx_dot_vf, )
PCX_DEFINE_DOT(pcx_dot_f64_generic, double, pcx_dot_vd, )

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define PCX_DOT_X86 1
PCX_DEFINE_DOT(pcx_dot_f32_avx2, float, pcx_dot_vf, __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f64_avx2, double, pcx_dot_vd, __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f32_avx512, float, pcx_dot_vf,
               __attribute__((target("avx512f,avx512vl,avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f64_avx512, double, pcx_dot_vd,
               __attribute__((target("avx512f,avx512vl,avx2,fma"))))
#endif

/* level: 0 generic, 1 avx2, 2 avx512 (the engine's SimdLevel). */
static inline void pcx_dot_taps_f32(int level, int64_t n, const float *a, const float *b,
                                    const int64_t *off, int64_t count, float *acc)
{
#ifdef PCX_DOT_X86
    if (level >= 2) { pcx_dot_f32_avx512(n, a, b, off, count, acc); return; }
    if (level == 1) { pcx_dot_f32_avx2(n, a, b, off, count, acc); return; }
#endif
    pcx_dot_f32_generic(n, a, b, off, count, acc);
}

static inline void pcx_dot_taps_f64(int level, int64_t n, const double *a, const double *b,
                                    const int64_t *off, int64_t count, double *acc)
{
#ifdef PCX_DOT_X86
    if (level >= 2) { pcx_dot_f64_avx512(n, a, b, off, count, acc); return; }
    if (level == 1) { pcx_dot_f64_avx2(n, a, b, off, count, acc); return; }
#endif
    pcx_dot_f64_generic(n, a, b, off, count, acc);
}

#endif
