/* Winograd F(2x2, 3x3) input and output transforms (see ukernels.h). */

/* One tile of the input transform, scalar: the tails of the vector loop. */
static inline void PCX_HELPER(winograd_input_tile_)(const PCX_TEMPLATE_TYPE *r0,
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
static void PCX_UKERNEL(winograd_input, 2x2_3x3)(const PCX_TEMPLATE_TYPE *restrict band, int64_t pitch,
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
            PCX_HELPER(winograd_input_tile_)(rows[0], rows[1], rows[2], rows[3], tw, v, v_stride);
    }
}

/* Winograd F(2x2, 3x3) output transform: y = A^T m A (+ bias), VL tiles at a time.
 * A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]. */
static void PCX_UKERNEL(winograd_output, 2x2_3x3)(const PCX_TEMPLATE_TYPE *restrict M, int64_t m_stride,
                                int64_t TH, int64_t TW, PCX_TEMPLATE_TYPE *restrict out,
                                int64_t ldo, int64_t rows, int64_t cols,
                                PCX_TEMPLATE_TYPE bias)
{
    IVEC lo, hi;
    for (int l = 0; l < PCX_VL; ++l) {
        lo[l] = (l % 2 ? PCX_VL : 0) + l / 2;
        hi[l] = (l % 2 ? PCX_VL : 0) + PCX_VL / 2 + l / 2;
    }
    /* the tiles of each row that hold outputs: a box at the right edge of the
     * output may hold fewer than its TW */
    const int64_t used = (cols + 1) / 2 < TW ? (cols + 1) / 2 : TW;
    for (int64_t th = 0; th < TH && 2 * th < rows; ++th) {
        const PCX_TEMPLATE_TYPE *m = M + th * TW;
        PCX_TEMPLATE_TYPE *orow[2] = {out + 2 * th * ldo, out + (2 * th + 1) * ldo};
        const int n_rows = 2 * th + 1 < rows ? 2 : 1;
        /* tiles whose two columns are both inside the output take the vector path,
         * VL at a time, the last step overlapping the previous one */
        const int64_t full = 2 * used <= cols ? used : used - 1;
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
        for (; tw < used; ++tw) {
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
