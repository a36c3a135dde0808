/* Run-time choice of a microkernel set: compiled in (PCX_HAVE_*) and supported
 * by the CPU and the OS (GCC's cpu-feature checks include the XSAVE state).
 * On AArch64 the portable set is the NEON set: its 16-byte vectors compile to
 * NEON (fmla v.4s / v.2d by element), which every AArch64 CPU has, so there is
 * nothing to detect.  Other architectures run the portable set as their
 * compiler vectorises it (pcx_portable_isa names what it became). */
#include "ukernels.h"

extern const pcx_ukernel_set pcx_ukernel_set__generic;
#ifdef PCX_HAVE_AVX2
extern const pcx_ukernel_set pcx_ukernel_set__avx2;
#endif
#ifdef PCX_HAVE_AVX512
extern const pcx_ukernel_set pcx_ukernel_set__avx512;
#endif

const pcx_ukernel_set *pcx_ukernel_set_for(int level)
{
    switch (level) {
    case PCX_LEVEL_GENERIC:
        return &pcx_ukernel_set__generic;
#ifdef PCX_HAVE_AVX2
    case PCX_LEVEL_AVX2:
        return &pcx_ukernel_set__avx2;
#endif
#ifdef PCX_HAVE_AVX512
    case PCX_LEVEL_AVX512:
        return &pcx_ukernel_set__avx512;
#endif
    default:
        return 0;
    }
}

int pcx_cpu_level(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
#ifdef PCX_HAVE_AVX512
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("fma"))
        return PCX_LEVEL_AVX512;
#endif
#ifdef PCX_HAVE_AVX2
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return PCX_LEVEL_AVX2;
#endif
#elif defined(__aarch64__)
    return PCX_LEVEL_GENERIC;   /* NEON: the AArch64 baseline */
#endif
    return PCX_LEVEL_GENERIC;
}
