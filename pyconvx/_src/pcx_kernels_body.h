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

/* C[MR x NV*VL] = sum_k A[m * lda + k] * B[off[k] + j] : the register-blocked tile.
 * A's rows are read in place (a weight array's output channels, lda apart).  With
 * load_c the sum continues from C's values (a later block of k), so a k loop split
 * into blocks gives the same bits as one pass. */
#if defined(__GNUC__) && !defined(__clang__)
#define PCX_UNROLL _Pragma("GCC unroll 32")
#else
#define PCX_UNROLL
#endif
/* acc[m][v] += VALUE for every accumulator of an M x NV tile (VALUE may use m). */
#define PCX_ACC_ADD(M, NV, VALUE)                                                   \
    PCX_UNROLL for (int m = 0; m < (M); ++m)                                         \
        PCX_UNROLL for (int v = 0; v < (NV); ++v)                                    \
            acc[m][v] += (VALUE)

#define PCX_DEFINE_TILE(fname, MR, NV)                                              \
    static void fname(int64_t K, const PCX_TEMPLATE_TYPE *restrict A, int64_t lda,  \
                      const PCX_TEMPLATE_TYPE *restrict B,                           \
                      const int64_t *restrict off, PCX_TEMPLATE_TYPE *restrict C,    \
                      int64_t ldc, const PCX_TEMPLATE_TYPE *restrict bias,          \
                      int64_t load_c)                                                \
    {                                                                                \
        VEC acc[MR][NV];                                                             \
        if (load_c) {                                                                \
            PCX_UNROLL for (int m = 0; m < MR; ++m)                                  \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    acc[m][v] = *(const UVEC *)(C + m * ldc + v * PCX_VL);           \
        } else {                                                                     \
            PCX_UNROLL for (int m = 0; m < MR; ++m)                                  \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    acc[m][v] = (VEC){0};                                            \
        }                                                                            \
        for (int64_t k = 0; k < K; ++k) {                                            \
            const PCX_TEMPLATE_TYPE *b = B + off[k];                                 \
            const PCX_TEMPLATE_TYPE *a = A + k;                                      \
            VEC bv[NV];                                                              \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                bv[v] = *(const UVEC *)(b + v * PCX_VL);                             \
            PCX_UNROLL for (int m = 0; m < MR; ++m) {                                \
                const PCX_TEMPLATE_TYPE am = a[m * lda];                             \
                PCX_UNROLL for (int v = 0; v < NV; ++v)                              \
                    acc[m][v] += am * bv[v];                                         \
            }                                                                        \
        }                                                                            \
        if (bias)                                                                    \
            PCX_ACC_ADD(MR, NV, bias[m]);                                         \
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
        if (bias)                                                                    \
            PCX_ACC_ADD(MB, NV, bias[0]);                                         \
        PCX_UNROLL for (int m = 0; m < MB; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                *(UVEC *)(C + m * ldc + v * PCX_VL) = acc[m][v];                     \
    }

PCX_DEFINE_ROWBLOCK(PCX_NAME(rowblock_), PCX_CAT(PCX_ROWBLOCK_MB_, PCX_TU),
                    PCX_CAT(PCX_ROWBLOCK_NV_, PCX_TU))

/* Depthwise planes (see pcx_kernels.h).  The first n lanes of v to dst. */
static inline void PCX_NAME(dw_store_part_)(PCX_TEMPLATE_TYPE *restrict dst, VEC v,
                                            int64_t n)
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
                    PCX_NAME(dw_store_part_)(o + m * ldo + c[v], acc[m][v], part);   \
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
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, mb2), PCX_CAT(PCX_DW_MB_, PCX_TU), 2, KS)     \
    PCX_DEFINE_DW_BLOCK(PCX_CAT(fname, mb1), PCX_CAT(PCX_DW_MB_, PCX_TU), 1, KS)     \
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
        enum { MB = PCX_CAT(PCX_DW_MB_, PCX_TU) };                                   \
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

PCX_DEFINE_DW_PLANE(PCX_NAME(dw_any_), 0)
PCX_DEFINE_DW_PLANE(PCX_NAME(dw_k3_), 3)
PCX_DEFINE_DW_PLANE(PCX_NAME(dw_k5_), 5)
PCX_DEFINE_DW_PLANE(PCX_NAME(dw_k7_), 7)

static void PCX_NAME(dw_)(int64_t KH, int64_t KW, const PCX_TEMPLATE_TYPE *restrict w,
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
        PCX_NAME(dw_k3_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
    else if (consecutive && KW == 5)
        PCX_NAME(dw_k5_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
    else if (consecutive && KW == 7)
        PCX_NAME(dw_k7_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
    else
        PCX_NAME(dw_any_)(KH, KW, w, off, band, rp, rows, cols, out, ldo, bias);
}
#undef PCX_DW_BANDS
#undef PCX_DW_ROWS

#if PCX_TEMPLATE_IS_DOUBLE
typedef int64_t PCX_CAT(ivec_, PCX_T) __attribute__((vector_size(PCX_VBYTES)));
#else
typedef int32_t PCX_CAT(ivec_, PCX_T) __attribute__((vector_size(PCX_VBYTES)));
#endif
#define IVEC PCX_CAT(ivec_, PCX_T)

/* One tile of the input transform, scalar: the tails of the vector loop. */
static inline void PCX_NAME(wino_in_tile_)(const PCX_TEMPLATE_TYPE *r0,
                                           const PCX_TEMPLATE_TYPE *r1,
                                           const PCX_TEMPLATE_TYPE *r2,
                                           const PCX_TEMPLATE_TYPE *r3, int64_t tw,
                                           PCX_TEMPLATE_TYPE *v, int64_t v_stride)
{
    PCX_TEMPLATE_TYPE t[4][4];
    for (int c = 0; c < 4; ++c) {
        const int64_t col = 2 * tw + c;
        t[0][c] = r0[col] - r2[col];
        t[1][c] = r1[col] + r2[col];
        t[2][c] = r2[col] - r1[col];
        t[3][c] = r1[col] - r3[col];
    }
    for (int r = 0; r < 4; ++r) {
        v[(4 * r + 0) * v_stride + tw] = t[r][0] - t[r][2];
        v[(4 * r + 1) * v_stride + tw] = t[r][1] + t[r][2];
        v[(4 * r + 2) * v_stride + tw] = t[r][2] - t[r][1];
        v[(4 * r + 3) * v_stride + tw] = t[r][1] - t[r][3];
    }
}

/* Winograd F(2x2, 3x3) input transform: V = B^T d B per tile, VL tiles at a time.
 * B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]. */
static void PCX_NAME(wino_in_)(const PCX_TEMPLATE_TYPE *restrict band, int64_t pitch,
                               int64_t TH, int64_t TW, PCX_TEMPLATE_TYPE *restrict V,
                               int64_t v_stride)
{
    IVEC even, odd;
    for (int l = 0; l < PCX_VL; ++l) {
        even[l] = 2 * l;
        odd[l] = 2 * l + 1;
    }
    for (int64_t th = 0; th < TH; ++th) {
        const PCX_TEMPLATE_TYPE *rows[4];
        rows[0] = band + 2 * th * pitch;
        rows[1] = rows[0] + pitch;
        rows[2] = rows[1] + pitch;
        rows[3] = rows[2] + pitch;
        PCX_TEMPLATE_TYPE *v = V + th * TW;
        /* VL tiles per step; the last step overlaps the previous one rather than
         * falling back to scalar code (tiles are independent, rewriting is exact) */
        int64_t tw = 0;
        for (; TW >= PCX_VL; tw += PCX_VL) {
            if (tw + PCX_VL > TW)
                tw = TW - PCX_VL;
            /* column c of the VL tiles: elements 2 * tw + c, de-interleaved */
            VEC d[4][4];
            for (int r = 0; r < 4; ++r) {
                const PCX_TEMPLATE_TYPE *p = rows[r] + 2 * tw;
                const VEC a0 = *(const UVEC *)(p), a1 = *(const UVEC *)(p + PCX_VL);
                const VEC b0 = *(const UVEC *)(p + 2), b1 = *(const UVEC *)(p + 2 + PCX_VL);
                d[r][0] = __builtin_shuffle(a0, a1, even);
                d[r][1] = __builtin_shuffle(a0, a1, odd);
                d[r][2] = __builtin_shuffle(b0, b1, even);
                d[r][3] = __builtin_shuffle(b0, b1, odd);
            }
            VEC t[4][4];
            for (int c = 0; c < 4; ++c) {
                t[0][c] = d[0][c] - d[2][c];
                t[1][c] = d[1][c] + d[2][c];
                t[2][c] = d[2][c] - d[1][c];
                t[3][c] = d[1][c] - d[3][c];
            }
            for (int r = 0; r < 4; ++r) {
                *(UVEC *)(v + (4 * r + 0) * v_stride + tw) = t[r][0] - t[r][2];
                *(UVEC *)(v + (4 * r + 1) * v_stride + tw) = t[r][1] + t[r][2];
                *(UVEC *)(v + (4 * r + 2) * v_stride + tw) = t[r][2] - t[r][1];
                *(UVEC *)(v + (4 * r + 3) * v_stride + tw) = t[r][1] - t[r][3];
            }
            if (tw + PCX_VL >= TW) {
                tw = TW;
                break;
            }
        }
        for (; tw < TW; ++tw)
            PCX_NAME(wino_in_tile_)(rows[0], rows[1], rows[2], rows[3], tw, v, v_stride);
    }
}

/* Winograd F(2x2, 3x3) output transform: y = A^T m A (+ bias), VL tiles at a time.
 * A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]. */
static void PCX_NAME(wino_out_)(const PCX_TEMPLATE_TYPE *restrict M, int64_t m_stride,
                                int64_t TH, int64_t TW, PCX_TEMPLATE_TYPE *restrict out,
                                int64_t ldo, int64_t rows, int64_t cols,
                                PCX_TEMPLATE_TYPE bias)
{
    IVEC lo, hi;
    for (int l = 0; l < PCX_VL; ++l) {
        lo[l] = (l % 2 ? PCX_VL : 0) + l / 2;
        hi[l] = (l % 2 ? PCX_VL : 0) + PCX_VL / 2 + l / 2;
    }
    for (int64_t th = 0; th < TH && 2 * th < rows; ++th) {
        const PCX_TEMPLATE_TYPE *m = M + th * TW;
        PCX_TEMPLATE_TYPE *orow[2] = {out + 2 * th * ldo, out + (2 * th + 1) * ldo};
        const int n_rows = 2 * th + 1 < rows ? 2 : 1;
        /* tiles whose two columns are both inside the output take the vector path,
         * VL at a time, the last step overlapping the previous one */
        const int64_t full = 2 * TW <= cols ? TW : TW - 1;
        int64_t tw = 0;
        for (; full >= PCX_VL; tw += PCX_VL) {
            if (tw + PCX_VL > full)
                tw = full - PCX_VL;
            VEC s[2][4];
            for (int c = 0; c < 4; ++c) {
                const VEC m0 = *(const UVEC *)(m + (0 + c) * m_stride + tw);
                const VEC m1 = *(const UVEC *)(m + (4 + c) * m_stride + tw);
                const VEC m2 = *(const UVEC *)(m + (8 + c) * m_stride + tw);
                const VEC m3 = *(const UVEC *)(m + (12 + c) * m_stride + tw);
                s[0][c] = m0 + m1 + m2;
                s[1][c] = m1 - m2 - m3;
            }
            for (int i = 0; i < n_rows; ++i) {
                const VEC y0 = s[i][0] + s[i][1] + s[i][2] + bias;
                const VEC y1 = s[i][1] - s[i][2] - s[i][3] + bias;
                *(UVEC *)(orow[i] + 2 * tw) = __builtin_shuffle(y0, y1, lo);
                *(UVEC *)(orow[i] + 2 * tw + PCX_VL) = __builtin_shuffle(y0, y1, hi);
            }
            if (tw + PCX_VL >= full) {
                tw = full;
                break;
            }
        }
        for (; tw < TW; ++tw) {
            PCX_TEMPLATE_TYPE s[2][4];
            for (int c = 0; c < 4; ++c) {
                const PCX_TEMPLATE_TYPE m0 = m[(0 + c) * m_stride + tw];
                const PCX_TEMPLATE_TYPE m1 = m[(4 + c) * m_stride + tw];
                const PCX_TEMPLATE_TYPE m2 = m[(8 + c) * m_stride + tw];
                const PCX_TEMPLATE_TYPE m3 = m[(12 + c) * m_stride + tw];
                s[0][c] = m0 + m1 + m2;
                s[1][c] = m1 - m2 - m3;
            }
            const int64_t col = 2 * tw;
            for (int i = 0; i < n_rows; ++i) {
                orow[i][col] = s[i][0] + s[i][1] + s[i][2] + bias;
                if (col + 1 < cols)
                    orow[i][col + 1] = s[i][1] - s[i][2] - s[i][3] + bias;
            }
        }
    }
}
/* dst[j] = src[j * step] for j < n: the depthwise band builder's strided runs
 * (stride-2 phase planes de-interleaved two vectors at a time; reads never pass
 * src[(n - 1) * step]). */
static void PCX_NAME(gather_)(const PCX_TEMPLATE_TYPE *restrict src, int64_t step, int64_t n,
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
            PCX_NAME(dw_store_part_)(dst + j, __builtin_shuffle(a, b, even), m);
            return;
        }
#endif
    }
    for (; j < n; ++j)
        dst[j] = src[j * step];
}
#undef IVEC

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

#undef PCX_ACC_ADD
#undef VEC
#undef UVEC
#undef PCX_VL
#undef PCX_NAME
