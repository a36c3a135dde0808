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
