/* The tap-rows microkernel (see ukernels.h): dst[j] = sum_k w[k] * src[k][j], j < n.
 *
 * PCX_TAPS_NV vectors of outputs per block, each an independent chain that
 * starts from zero and adds one fused multiply-add per tap, k = 0..K-1 in
 * order: every output has the same arithmetic whichever block, vector or
 * tail it falls in.  The last n mod VL outputs are computed from a zeroed
 * vector holding exactly the values they read: nothing is read past
 * src[k][n - 1] nor written past dst[n - 1]. */
#ifndef PCX_TAPS_NV
#define PCX_TAPS_NV 8
#endif
static void PCX_UKERNEL(taps, PCX_CAT(PCX_TAPS_NV, v))(int64_t K, const PCX_TEMPLATE_TYPE *restrict w,
                              const PCX_TEMPLATE_TYPE *const *restrict src, int64_t n,
                              PCX_TEMPLATE_TYPE *restrict dst)
{
    int64_t j = 0;
    for (; j + PCX_TAPS_NV * PCX_VL <= n; j += PCX_TAPS_NV * PCX_VL) {
        VEC acc[PCX_TAPS_NV];
        PCX_UNROLL for (int v = 0; v < PCX_TAPS_NV; ++v)
            acc[v] = (VEC){0};
        for (int64_t k = 0; k < K; ++k) {
            const PCX_TEMPLATE_TYPE wk = w[k];
            const PCX_TEMPLATE_TYPE *restrict p = src[k] + j;
            PCX_UNROLL for (int v = 0; v < PCX_TAPS_NV; ++v)
                acc[v] += wk * *(const UVEC *)(p + v * PCX_VL);
        }
        PCX_UNROLL for (int v = 0; v < PCX_TAPS_NV; ++v)
            *(UVEC *)(dst + j + v * PCX_VL) = acc[v];
    }
    for (; j + PCX_VL <= n; j += PCX_VL) {
        VEC acc = (VEC){0};
        for (int64_t k = 0; k < K; ++k)
            acc += w[k] * *(const UVEC *)(src[k] + j);
        *(UVEC *)(dst + j) = acc;
    }
    if (j < n) {
        const int64_t part = n - j;
        VEC acc = (VEC){0};
        for (int64_t k = 0; k < K; ++k) {
            VEC in = (VEC){0};
            memcpy(&in, src[k] + j, (size_t)part * sizeof(PCX_TEMPLATE_TYPE));
            acc += w[k] * in;
        }
        PCX_HELPER(store_part_)(dst + j, acc, part);
    }
}

/* Four output rows at once (see ukernels.h): dst[m * ldd + j] = sum over taps
 * (a, b) of w[b * KH + a] * src[a + m][j + b] for m < 4, src holding KH + 3
 * input rows.  Each input vector is loaded once for the (up to) four outputs
 * it feeds; every output still sums its taps column-major (b outer, a inner)
 * from zero, one fused multiply-add per tap: for KW == 1 the bits of taps()
 * row by row. */
#ifndef PCX_TAPS4_NV
#if PCX_VBYTES == 64
#define PCX_TAPS4_NV 4
#else
#define PCX_TAPS4_NV 2
#endif
#endif
#define PCX_DEFINE_TAPS4_BLOCK(fname, NV)                                           \
    static inline __attribute__((always_inline)) void fname(                        \
        int64_t KH, int64_t KW, const PCX_TEMPLATE_TYPE *restrict w,                 \
        const PCX_TEMPLATE_TYPE *const *restrict src, int64_t j,                     \
        PCX_TEMPLATE_TYPE *restrict dst, int64_t ldd)                               \
    {                                                                                \
        VEC acc[4][NV];                                                              \
        PCX_UNROLL for (int m = 0; m < 4; ++m)                                       \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                acc[m][v] = (VEC){0};                                                \
        for (int64_t b = 0; b < KW; ++b) {                                           \
            const PCX_TEMPLATE_TYPE *restrict wb = w + b * KH;                       \
            for (int64_t r = 0; r < KH + 3; ++r) {                                   \
                VEC in[NV];                                                          \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    in[v] = *(const UVEC *)(src[r] + j + b + v * PCX_VL);            \
                PCX_UNROLL for (int m = 0; m < 4; ++m) {                             \
                    if (r - m >= 0 && r - m < KH) {                                  \
                        const PCX_TEMPLATE_TYPE wk = wb[r - m];                      \
                        PCX_UNROLL for (int v = 0; v < NV; ++v)                      \
                            acc[m][v] += wk * in[v];                                 \
                    }                                                                \
                }                                                                    \
            }                                                                        \
        }                                                                            \
        PCX_UNROLL for (int m = 0; m < 4; ++m)                                       \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                *(UVEC *)(dst + m * ldd + j + v * PCX_VL) = acc[m][v];               \
    }
PCX_DEFINE_TAPS4_BLOCK(PCX_HELPER(taps4_wide_), PCX_TAPS4_NV)
PCX_DEFINE_TAPS4_BLOCK(PCX_HELPER(taps4_one_), 1)

static void PCX_UKERNEL(taps, PCX_CAT(4x, PCX_TAPS4_NV))(int64_t KH, int64_t KW,
                              const PCX_TEMPLATE_TYPE *restrict w,
                              const PCX_TEMPLATE_TYPE *const *restrict src, int64_t n,
                              PCX_TEMPLATE_TYPE *restrict dst, int64_t ldd)
{
    int64_t j = 0;
    for (; j + PCX_TAPS4_NV * PCX_VL <= n; j += PCX_TAPS4_NV * PCX_VL)
        PCX_HELPER(taps4_wide_)(KH, KW, w, src, j, dst, ldd);
    for (; j + PCX_VL <= n; j += PCX_VL)
        PCX_HELPER(taps4_one_)(KH, KW, w, src, j, dst, ldd);
    if (j < n) {   /* the last columns row by row, from zeroed vectors as in taps() */
        const int64_t part = n - j;
        for (int m = 0; m < 4; ++m) {
            VEC acc = (VEC){0};
            for (int64_t b = 0; b < KW; ++b)
                for (int64_t a = 0; a < KH; ++a) {
                    VEC in = (VEC){0};
                    memcpy(&in, src[a + m] + j + b, (size_t)part * sizeof(PCX_TEMPLATE_TYPE));
                    acc += w[b * KH + a] * in;
                }
            PCX_HELPER(store_part_)(dst + m * ldd + j, acc, part);
        }
    }
}
#undef PCX_DEFINE_TAPS4_BLOCK
