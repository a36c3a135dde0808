/* The row-blocked one-channel filter: MB output rows x NV vectors (see ukernels.h). */
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
        if (bias)                                                                    \
            PCX_ACC_ADD(MB, NV, bias[0]);                                         \
        PCX_UNROLL for (int m = 0; m < MB; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                *(UVEC *)(C + m * ldc + v * PCX_VL) = acc[m][v];                     \
    }

PCX_DEFINE_ROWBLOCK(PCX_UKERNEL(rowblock, PCX_TILE(PCX_CFG(ROWBLOCK_MB), PCX_CFG(ROWBLOCK_NR))),
                    PCX_CFG(ROWBLOCK_MB), (PCX_CFG(ROWBLOCK_NR) / PCX_VL))
#undef PCX_DEFINE_ROWBLOCK
