/* dst[j] = src[j * step] for j < n: the depthwise band builder's strided runs
 * (stride-2 phase planes de-interleaved two vectors at a time; reads never pass
 * src[(n - 1) * step]). */
static void PCX_UKERNEL(gather, strided)(const PCX_TEMPLATE_TYPE *restrict src, int64_t step, int64_t n,
                              PCX_TEMPLATE_TYPE *restrict dst)
{
    int64_t j = 0;
    if (step == 1) {
        memcpy(dst, src, n * sizeof(PCX_TEMPLATE_TYPE));
        return;
    }
    if (step == 2) {
        IVEC even;
        for (int l = 0; l < PCX_VL; ++l)
            even[l] = 2 * l;
        for (; j + PCX_VL < n; j += PCX_VL) {
            const VEC a = *(const UVEC *)(src + 2 * j);
            const VEC b = *(const UVEC *)(src + 2 * j + PCX_VL);
            *(UVEC *)(dst + j) = __builtin_shuffle(a, b, even);
        }
#if defined(__AVX512F__) && PCX_VBYTES == 64
        /* the last (up to VL) outputs: masked loads of exactly the 2m - 1 inputs */
        if (j < n) {
            const int64_t m = n - j, need = 2 * m - 1;
            const unsigned ma = need >= PCX_VL ? (1u << PCX_VL) - 1u : (1u << need) - 1u;
            const unsigned mb = need > PCX_VL ? (1u << (need - PCX_VL)) - 1u : 0u;
#if PCX_TEMPLATE_IS_DOUBLE
            const VEC a = (VEC)_mm512_maskz_loadu_pd((__mmask8)ma, src + 2 * j);
            const VEC b = (VEC)_mm512_maskz_loadu_pd((__mmask8)mb, src + 2 * j + PCX_VL);
#else
            const VEC a = (VEC)_mm512_maskz_loadu_ps((__mmask16)ma, src + 2 * j);
            const VEC b = (VEC)_mm512_maskz_loadu_ps((__mmask16)mb, src + 2 * j + PCX_VL);
#endif
            PCX_HELPER(store_part_)(dst + j, __builtin_shuffle(a, b, even), m);
            return;
        }
#endif
    }
    for (; j < n; ++j)
        dst[j] = src[j * step];
}

