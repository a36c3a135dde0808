/* Types and helpers shared by the bodies of one element type (undone by end.h). */

/* The set's configuration value `name` for this dtype: PCX_F32_<name> or PCX_F64_<name>. */
#define PCX_CFG(name) PCX_CAT(PCX_CAT(PCX_, PCX_TU), PCX_CAT(_, name))
/* The symbol of this dtype's microkernel `op` with tile `tile` (see ukernel_set.h). */
#define PCX_UKERNEL(op, tile) PCX_SYMBOL(PCX_T, op, tile)
/* A private helper of this dtype and set: base_T__ISA. */
#define PCX_HELPER(base) PCX_CAT(PCX_CAT(base, PCX_T), PCX_CAT(__, PCX_ISA))

#define PCX_VL (PCX_VBYTES / (int)sizeof(PCX_TEMPLATE_TYPE))
typedef PCX_TEMPLATE_TYPE PCX_CAT(vec_, PCX_T) __attribute__((vector_size(PCX_VBYTES)));
/* the same vector type, but loadable from any element-aligned address */
typedef PCX_TEMPLATE_TYPE PCX_CAT(uvec_, PCX_T)
    __attribute__((vector_size(PCX_VBYTES), aligned(sizeof(PCX_TEMPLATE_TYPE)), may_alias));
#define VEC PCX_CAT(vec_, PCX_T)
#define UVEC PCX_CAT(uvec_, PCX_T)
/* integer lanes as wide as the element: shuffle masks */
#if PCX_TEMPLATE_IS_DOUBLE
typedef int64_t PCX_CAT(ivec_, PCX_T) __attribute__((vector_size(PCX_VBYTES)));
#else
typedef int32_t PCX_CAT(ivec_, PCX_T) __attribute__((vector_size(PCX_VBYTES)));
#endif
#define IVEC PCX_CAT(ivec_, PCX_T)

#ifndef PCX_UNROLL
#if defined(__GNUC__) && !defined(__clang__)
#define PCX_UNROLL _Pragma("GCC unroll 32")
#else
#define PCX_UNROLL
#endif
#endif

/* acc[m][v] += VALUE for every accumulator of an M x NV tile (VALUE may use m). */
#define PCX_ACC_ADD(M, NV, VALUE)                                                   \
    PCX_UNROLL for (int m = 0; m < (M); ++m)                                         \
        PCX_UNROLL for (int v = 0; v < (NV); ++v)                                    \
            acc[m][v] += (VALUE)

/* The first n elements of src in the first n lanes, zeros in the others (n < VL);
 * reads no other element. */
static inline VEC PCX_HELPER(load_part_)(const PCX_TEMPLATE_TYPE *restrict src, int64_t n)
{
#if defined(__AVX512F__) && PCX_VBYTES == 64
#if PCX_TEMPLATE_IS_DOUBLE
    return (VEC)_mm512_maskz_loadu_pd((__mmask8)((1u << n) - 1u), src);
#else
    return (VEC)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), src);
#endif
#elif defined(__AVX2__) && PCX_VBYTES == 32
    /* vmaskmov: the lanes whose mask is clear are neither read nor faulted on */
#if PCX_TEMPLATE_IS_DOUBLE
    const __m256i mask = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_set_epi64x(3, 2, 1, 0));
    return (VEC)_mm256_maskload_pd(src, mask);
#else
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                                            _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0));
    return (VEC)_mm256_maskload_ps(src, mask);
#endif
#else
    VEC v = (VEC){0};
    for (int64_t l = 0; l < n; ++l)
        v[l] = src[l];
    return v;
#endif
}

/* The first n lanes of v to dst (n < VL). */
static inline void PCX_HELPER(store_part_)(PCX_TEMPLATE_TYPE *restrict dst, VEC v, int64_t n)
{
#if defined(__AVX512F__) && PCX_VBYTES == 64
#if PCX_TEMPLATE_IS_DOUBLE
    _mm512_mask_storeu_pd(dst, (__mmask8)((1u << n) - 1u), (__m512d)v);
#else
    _mm512_mask_storeu_ps(dst, (__mmask16)((1u << n) - 1u), (__m512)v);
#endif
#else
    for (int64_t l = 0; l < n; ++l)
        dst[l] = v[l];
#endif
}
