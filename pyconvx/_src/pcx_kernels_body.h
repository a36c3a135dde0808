/* Body of the microkernels for one element type (PCX_TEMPLATE_TYPE, tag PCX_T).
 * Included twice by pcx_kernels_impl.h; see there. */
#define PCX_NAME(base) PCX_SUFFIX(PCX_CAT(base, PCX_CAT(PCX_T, _)))

#define PCX_VL (PCX_VBYTES / (int)sizeof(PCX_TEMPLATE_TYPE))
typedef PCX_TEMPLATE_TYPE PCX_CAT(vec_, PCX_T) __attribute__((vector_size(PCX_VBYTES)));
/* the same vector type, but loadable from any element-aligned address */
typedef PCX_TEMPLATE_TYPE PCX_CAT(uvec_, PCX_T)
    __attribute__((vector_size(PCX_VBYTES), aligned(sizeof(PCX_TEMPLATE_TYPE)), may_alias));
#define VEC PCX_CAT(vec_, PCX_T)
#define UVEC PCX_CAT(uvec_, PCX_T)

/* C[MR x NV*VL] = sum_k A[k][m] * B[off[k] + j] : the register-blocked tile. */
#if defined(__GNUC__) && !defined(__clang__)
#define PCX_UNROLL _Pragma("GCC unroll 32")
#else
#define PCX_UNROLL
#endif
#define PCX_DEFINE_TILE(fname, MR, NV)                                              \
    static void fname(int64_t K, const PCX_TEMPLATE_TYPE *restrict A,                \
                      const PCX_TEMPLATE_TYPE *restrict B,                           \
                      const int64_t *restrict off, PCX_TEMPLATE_TYPE *restrict C,    \
                      int64_t ldc, const PCX_TEMPLATE_TYPE *restrict bias)          \
    {                                                                                \
        VEC acc[MR][NV];                                                             \
        PCX_UNROLL for (int m = 0; m < MR; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                acc[m][v] = (VEC){0};                                                \
        for (int64_t k = 0; k < K; ++k) {                                            \
            const PCX_TEMPLATE_TYPE *b = B + off[k];                                 \
            const PCX_TEMPLATE_TYPE *a = A + k * MR;                                 \
            VEC bv[NV];                                                              \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                bv[v] = *(const UVEC *)(b + v * PCX_VL);                             \
            PCX_UNROLL for (int m = 0; m < MR; ++m)                                  \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    acc[m][v] += a[m] * bv[v];                                       \
        }                                                                            \
        if (bias) {                                                                  \
            PCX_UNROLL for (int m = 0; m < MR; ++m)                                  \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    acc[m][v] += bias[m];                                            \
        }                                                                            \
        PCX_UNROLL for (int m = 0; m < MR; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                *(UVEC *)(C + m * ldc + v * PCX_VL) = acc[m][v];                     \
    }

PCX_DEFINE_TILE(PCX_NAME(gemm_), PCX_CAT(PCX_GEMM_MR_, PCX_TU), PCX_CAT(PCX_GEMM_NV_, PCX_TU))
PCX_DEFINE_TILE(PCX_NAME(row_), 1, PCX_CAT(PCX_ROW_NV_, PCX_TU))

/* MB output rows x NV vectors of a one-channel 2-d filter (see pcx_kernels.h). */
#define PCX_DEFINE_ROWBLOCK(fname, MB, NV)                                          \
    static void fname(int64_t KH, int64_t KW, const PCX_TEMPLATE_TYPE *restrict w,   \
                      const PCX_TEMPLATE_TYPE *restrict B, int64_t row_pitch,        \
                      const int64_t *restrict col_off, PCX_TEMPLATE_TYPE *restrict C, \
                      int64_t ldc, const PCX_TEMPLATE_TYPE *restrict bias)          \
    {                                                                                \
        VEC acc[MB][NV];                                                             \
        PCX_UNROLL for (int m = 0; m < MB; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                acc[m][v] = (VEC){0};                                                \
        for (int64_t r = 0; r < MB + KH - 1; ++r) {                                  \
            const PCX_TEMPLATE_TYPE *row = B + r * row_pitch;                        \
            /* output row m uses input row r through kernel row r - m */             \
            for (int64_t kw = 0; kw < KW; ++kw) {                                    \
                const PCX_TEMPLATE_TYPE *b = row + col_off[kw];                      \
                const PCX_TEMPLATE_TYPE *wr = w + r * KW + kw;                       \
                VEC bv[NV];                                                          \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    bv[v] = *(const UVEC *)(b + v * PCX_VL);                         \
                PCX_UNROLL for (int m = 0; m < MB; ++m) {                            \
                    if (r - m >= 0 && r - m < KH) {                                  \
                        const PCX_TEMPLATE_TYPE wm = wr[-m * KW];                    \
                        PCX_UNROLL for (int v = 0; v < NV; ++v)                      \
                            acc[m][v] += wm * bv[v];                                 \
                    }                                                                \
                }                                                                    \
            }                                                                        \
        }                                                                            \
        if (bias) {                                                                  \
            PCX_UNROLL for (int m = 0; m < MB; ++m)                                  \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    acc[m][v] += bias[0];                                            \
        }                                                                            \
        PCX_UNROLL for (int m = 0; m < MB; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                *(UVEC *)(C + m * ldc + v * PCX_VL) = acc[m][v];                     \
    }

PCX_DEFINE_ROWBLOCK(PCX_NAME(rowblock_), PCX_CAT(PCX_ROWBLOCK_MB_, PCX_TU),
                    PCX_CAT(PCX_ROWBLOCK_NV_, PCX_TU))

/* 16 independent FMA chains in registers: the machine's peak, measured. */
static double PCX_NAME(probe_)(int64_t iterations)
{
    VEC acc[16];
    const VEC scale = (VEC){0} + (PCX_TEMPLATE_TYPE)0.999999;
    const VEC shift = (VEC){0} + (PCX_TEMPLATE_TYPE)1e-7;
    for (int i = 0; i < 16; ++i)
        acc[i] = (VEC){0} + (PCX_TEMPLATE_TYPE)(1 + i);
    for (int64_t it = 0; it < iterations; ++it) {
        for (int i = 0; i < 16; ++i)
            acc[i] = acc[i] * scale + shift;
    }
    double total = 0;
    for (int i = 0; i < 16; ++i)
        for (int l = 0; l < PCX_VL; ++l)
            total += acc[i][l];
    return total;
}

#undef VEC
#undef UVEC
#undef PCX_VL
#undef PCX_NAME
