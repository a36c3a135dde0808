/* The depthwise planes microkernel (see ukernels.h). */

/* MB output rows x NV vectors at columns c[0..NV-1] of the box (b, o: its row 0).
 * MB * NV independent accumulator chains hide the multiply-add latency.
 * KS > 0: a KS x KS kernel whose taps are consecutive band rows and columns
 * (stride and dilation 1 after the band's phase split), fully unrolled: per
 * kernel column the KS weights sit in registers and each input vector is loaded
 * once for every output row it feeds.  KS = 0: any KH x KW taps at any offsets.
 * Either way every output sums its taps column-major, k' = kw * KH + kh, in
 * order: the same bits on every path. */
#define PCX_DEFINE_DW_BLOCK(fname, MB, NV, KS)                                      \
    static inline __attribute__((always_inline)) void fname(                        \
        int64_t KH, int64_t KW, const PCX_TEMPLATE_TYPE *restrict w,                 \
        const int64_t *restrict off, const PCX_TEMPLATE_TYPE *restrict b, int64_t rp, \
        PCX_TEMPLATE_TYPE *restrict o, int64_t ldo,                                  \
        const PCX_TEMPLATE_TYPE *restrict bias, const int64_t *c, int64_t part)      \
    {                                                                                \
        VEC acc[MB][NV];                                                             \
        PCX_UNROLL for (int m = 0; m < MB; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                acc[m][v] = (VEC){0};                                                \
        if (KS > 0) {                                                                \
            const PCX_TEMPLATE_TYPE *restrict b0 = b + off[0] + c[0];                \
            const PCX_TEMPLATE_TYPE *restrict b1 = b + off[0] + c[NV - 1];           \
            PCX_UNROLL for (int kw = 0; kw < KS; ++kw) {                             \
                PCX_TEMPLATE_TYPE wv[KS > 0 ? KS : 1];                               \
                PCX_UNROLL for (int kh = 0; kh < KS; ++kh)                           \
                    wv[kh] = w[kh * KS + kw];                                        \
                const PCX_TEMPLATE_TYPE *q0 = b0 + kw, *q1 = b1 + kw;                \
                PCX_UNROLL for (int r = 0; r < MB + KS - 1; ++r) {                   \
                    VEC in[NV];                                                      \
                    in[0] = *(const UVEC *)q0;                                       \
                    if (NV > 1)                                                      \
                        in[NV - 1] = *(const UVEC *)q1;                              \
                    q0 += rp;                                                        \
                    q1 += rp;                                                        \
                    PCX_UNROLL for (int m = 0; m < MB; ++m) {                        \
                        if (r - m >= 0 && r - m < KS) {                              \
                            PCX_UNROLL for (int v = 0; v < NV; ++v)                  \
                                acc[m][v] += wv[r - m] * in[v];                      \
                        }                                                            \
                    }                                                                \
                }                                                                    \
            }                                                                        \
        } else {                                                                     \
            for (int64_t kw = 0; kw < KW; ++kw) {                                    \
                for (int64_t kh = 0; kh < KH; ++kh) {                                \
                    const PCX_TEMPLATE_TYPE wk = w[kh * KW + kw];                    \
                    const PCX_TEMPLATE_TYPE *p = b + off[kh * KW + kw];              \
                    PCX_UNROLL for (int m = 0; m < MB; ++m)                          \
                        PCX_UNROLL for (int v = 0; v < NV; ++v)                      \
                            acc[m][v] += wk * *(const UVEC *)(p + m * rp + c[v]);    \
                }                                                                    \
            }                                                                        \
        }                                                                            \
        if (bias)                                                                    \
            PCX_ACC_ADD(MB, NV, bias[0]);                                         \
        if (part == PCX_VL) {                                                        \
            PCX_UNROLL for (int m = 0; m < MB; ++m)                                  \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    *(UVEC *)(o + m * ldo + c[v]) = acc[m][v];                       \
        } else {                                                                     \
            PCX_UNROLL for (int m = 0; m < MB; ++m)                                  \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    PCX_HELPER(store_part_)(o + m * ldo + c[v], acc[m][v], part);   \
        }                                                                            \
    }

/* One band of output rows from row oh: the column vectors two at a time.  Column
 * vector j starts at j * VL, the last one moved back to cols - VL (the overlapped
 * outputs are recomputed bit for bit); below one vector, one partial vector. */
#define PCX_DW_ROWS(B2, B1)                                                         \
    do {                                                                             \
        int64_t j = 0, cc[2];                                                        \
        for (; j + 2 <= ncv; j += 2) {                                               \
            cc[0] = j * PCX_VL;                                                      \
            cc[1] = (j + 1) * PCX_VL > c_last ? c_last : (j + 1) * PCX_VL;           \
            B2(KH, KW, w, off, band + oh * rp, rp, out + oh * ldo, ldo, bias, cc, part); \
        }                                                                            \
        if (j < ncv) {                                                               \
            cc[0] = j * PCX_VL > c_last ? c_last : j * PCX_VL;                       \
            B1(KH, KW, w, off, band + oh * rp, rp, out + oh * ldo, ldo, bias, cc, part); \
        }                                                                            \
    } while (0)

/* Row bands of R rows over [0, rows), the last one moved back to rows - R. */
#define PCX_DW_BANDS(R, B2, B1)                                                     \
    for (int64_t oh = 0;; oh += (R)) {                                               \
        if (oh > rows - (R))                                                         \
            oh = rows - (R);                                                         \
        PCX_DW_ROWS(B2, B1);                                                         \
        if (oh == rows - (R))                                                        \
            break;                                                                   \
    }

/* A whole rows x cols box with the blocks of one KS: bands of MB rows, of 4 when
 * the box has fewer rows than MB, of 1 below 4. */
#define PCX_DEFINE_DW_PLANE(fname, KS)                                              \
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, mb2), PCX_CFG(DW_MB), 2, KS)     \
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, mb1), PCX_CFG(DW_MB), 1, KS)     \
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, 42), 4, 2, KS)                                \
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, 41), 4, 1, KS)                                \
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, 12), 1, 2, KS)                                \
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, 11), 1, 1, KS)                                \
    static void fname(int64_t KH, int64_t KW, const PCX_TEMPLATE_TYPE *restrict w,   \
                      const int64_t *restrict off,                                   \
                      const PCX_TEMPLATE_TYPE *restrict band, int64_t rp,            \
                      int64_t rows, int64_t cols, PCX_TEMPLATE_TYPE *restrict out,   \
                      int64_t ldo, const PCX_TEMPLATE_TYPE *restrict bias)          \
    {                                                                                \
        enum { MB = PCX_CFG(DW_MB) };                                   \
        const int64_t ncv = cols >= PCX_VL ? (cols + PCX_VL - 1) / PCX_VL : 1;       \
        const int64_t c_last = cols >= PCX_VL ? cols - PCX_VL : 0;                   \
        const int64_t part = cols >= PCX_VL ? PCX_VL : cols;                         \
        if (rows >= MB) {                                                            \
            PCX_DW_BANDS(MB, PCX_CAT(fname, mb2), PCX_CAT(fname, mb1))               \
        } else if (rows >= 4) {                                                      \
            PCX_DW_BANDS(4, PCX_CAT(fname, 42), PCX_CAT(fname, 41))                  \
        } else {                                                                     \
            PCX_DW_BANDS(1, PCX_CAT(fname, 12), PCX_CAT(fname, 11))                  \
        }                                                                            \
    }

PCX_DEFINE_DW_PLANE(PCX_HELPER(dwconv_any_), 0)
PCX_DEFINE_DW_PLANE(PCX_HELPER(dwconv_k3_), 3)
PCX_DEFINE_DW_PLANE(PCX_HELPER(dwconv_k5_), 5)
PCX_DEFINE_DW_PLANE(PCX_HELPER(dwconv_k7_), 7)

static void PCX_UKERNEL(dwconv, PCX_CAT(PCX_CFG(DW_MB), rows))(int64_t KH, int64_t KW, const PCX_TEMPLATE_TYPE *restrict w,
                          const int64_t *restrict off, const PCX_TEMPLATE_TYPE *restrict band,
                          int64_t rp, int64_t rows, int64_t cols,
                          PCX_TEMPLATE_TYPE *restrict out, int64_t ldo,
                          const PCX_TEMPLATE_TYPE *restrict bias)
{
    int consecutive = KH == KW;
    if (cols <= 0 || rows <= 0)
        return;
    for (int64_t kh = 0; kh < KH && consecutive; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw)
            consecutive &= off[kh * KW + kw] == off[0] + kh * rp + kw;
    if (consecutive && KW == 3)
        PCX_HELPER(dwconv_k3_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
    else if (consecutive && KW == 5)
        PCX_HELPER(dwconv_k5_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
    else if (consecutive && KW == 7)
        PCX_HELPER(dwconv_k7_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
    else
        PCX_HELPER(dwconv_any_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
}
#undef PCX_DW_BANDS
#undef PCX_DW_ROWS
#undef PCX_DEFINE_DW_BLOCK
#undef PCX_DEFINE_DW_PLANE


/* The depthwise lanes microkernel (see ukernels.h): VL channels side by side in
 * the vector lanes, NB outputs of one row per pass, each tap's weights loaded
 * once for the NB outputs.  The taps are summed in the order of off/w (the
 * caller passes them column-major, as the planes kernel sums them), from zero,
 * one fused multiply-add each, then the bias: the planes kernel's bits. */
#define PCX_DEFINE_DWL_BLOCK(fname, NB)                                             \
    static inline __attribute__((always_inline)) void fname(                        \
        int64_t K, const PCX_TEMPLATE_TYPE *restrict w, const int64_t *restrict off, \
        const PCX_TEMPLATE_TYPE *restrict b, int64_t col_step,                       \
        PCX_TEMPLATE_TYPE *restrict o, const PCX_TEMPLATE_TYPE *restrict bias)       \
    {                                                                                \
        VEC acc[NB];                                                                 \
        PCX_UNROLL for (int j = 0; j < NB; ++j)                                      \
            acc[j] = (VEC){0};                                                       \
        for (int64_t k = 0; k < K; ++k) {                                            \
            const VEC wk = *(const UVEC *)(w + k * PCX_VL);                          \
            const PCX_TEMPLATE_TYPE *restrict p = b + off[k];                        \
            PCX_UNROLL for (int j = 0; j < NB; ++j)                                  \
                acc[j] += wk * *(const UVEC *)(p + j * col_step);                    \
        }                                                                            \
        if (bias) {                                                                  \
            const VEC bv = *(const UVEC *)bias;                                      \
            PCX_UNROLL for (int j = 0; j < NB; ++j)                                  \
                acc[j] += bv;                                                        \
        }                                                                            \
        PCX_UNROLL for (int j = 0; j < NB; ++j)                                      \
            *(UVEC *)(o + j * PCX_VL) = acc[j];                                      \
    }

PCX_DEFINE_DWL_BLOCK(PCX_HELPER(dwlanes_8_), 8)
PCX_DEFINE_DWL_BLOCK(PCX_HELPER(dwlanes_4_), 4)
PCX_DEFINE_DWL_BLOCK(PCX_HELPER(dwlanes_1_), 1)

/* Blocks of NB outputs along a row of n, the last one moved back to n - NB (its
 * overlapped outputs recomputed bit for bit). */
#define PCX_DWL_ROW(NB, BLOCK)                                                      \
    for (int64_t j = 0;; j += (NB)) {                                                \
        if (j > n - (NB))                                                            \
            j = n - (NB);                                                            \
        BLOCK(K, w, off, brow + j * col_step, col_step, orow + j * PCX_VL, bias);    \
        if (j == n - (NB))                                                           \
            break;                                                                   \
    }

static void PCX_UKERNEL(dwconv_lanes, 8outputs)(int64_t K, const PCX_TEMPLATE_TYPE *restrict w,
                                               const int64_t *restrict off,
                                               const PCX_TEMPLATE_TYPE *restrict band,
                                               int64_t row_step, int64_t col_step,
                                               int64_t rows, int64_t cols,
                                               PCX_TEMPLATE_TYPE *restrict out,
                                               const PCX_TEMPLATE_TYPE *restrict bias)
{
    const int64_t n = cols;
    if (rows <= 0 || cols <= 0)
        return;
    for (int64_t oh = 0; oh < rows; ++oh) {
        const PCX_TEMPLATE_TYPE *brow = band + oh * row_step;
        PCX_TEMPLATE_TYPE *orow = out + oh * cols * PCX_VL;
        if (n >= 8) {
            PCX_DWL_ROW(8, PCX_HELPER(dwlanes_8_))
        } else if (n >= 4) {
            PCX_DWL_ROW(4, PCX_HELPER(dwlanes_4_))
        } else {
            PCX_DWL_ROW(1, PCX_HELPER(dwlanes_1_))
        }
    }
}
#undef PCX_DWL_ROW
#undef PCX_DEFINE_DWL_BLOCK
