/* dst[j * dst_row + i] = src[i * src_row + j * src_col] for i < rows, j < cols:
 * the weight gradient's packing of grad_output (channels by positions in, positions
 * by channels out).  With unit column steps it moves VL x VL blocks through
 * registers (log2 VL rounds of two-vector shuffles, each swapping one bit of the
 * row index with the same bit of the column index); a block cut by the edges is
 * loaded with partial (masked on AVX-512) loads, its missing rows and columns
 * zero.  Reads and writes only the elements named above. */
static inline __attribute__((always_inline)) void PCX_HELPER(transpose_block_)(VEC *restrict r)
{
    /* a counted loop (log2 VL rounds), which the compiler unrolls fully: every
     * index below is then a constant and the block stays in registers */
    enum { ROUNDS = (PCX_VL >= 2) + (PCX_VL >= 4) + (PCX_VL >= 8) + (PCX_VL >= 16) };
    PCX_UNROLL for (int round = 0; round < ROUNDS; ++round) {
        const int b = 1 << round;
        IVEC lo, hi;
        PCX_UNROLL for (int j = 0; j < PCX_VL; ++j) {
            lo[j] = (j & b) ? PCX_VL + j - b : j;
            hi[j] = (j & b) ? PCX_VL + j : j + b;
        }
        PCX_UNROLL for (int i = 0; i < PCX_VL; ++i) {
            if (i & b)
                continue;
            const VEC a = r[i], c = r[i | b];
            r[i] = __builtin_shuffle(a, c, lo);
            r[i | b] = __builtin_shuffle(a, c, hi);
        }
    }
}

static void PCX_UKERNEL(transpose, blocked)(const PCX_TEMPLATE_TYPE *restrict src, int64_t src_row,
                                 int64_t src_col, int64_t rows, int64_t cols,
                                 PCX_TEMPLATE_TYPE *restrict dst, int64_t dst_row)
{
    if (src_col != 1) {
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
                dst[j * dst_row + i] = src[i * src_row + j * src_col];
        return;
    }
    for (int64_t i0 = 0; i0 < rows; i0 += PCX_VL) {
        const int64_t ni = rows - i0 < PCX_VL ? rows - i0 : PCX_VL;
        for (int64_t j0 = 0; j0 < cols; j0 += PCX_VL) {
            const int64_t nj = cols - j0 < PCX_VL ? cols - j0 : PCX_VL;
            const PCX_TEMPLATE_TYPE *s = src + i0 * src_row + j0;
            PCX_TEMPLATE_TYPE *d = dst + j0 * dst_row + i0;
            VEC r[PCX_VL];
            if (ni == PCX_VL && nj == PCX_VL) {
                PCX_UNROLL for (int i = 0; i < PCX_VL; ++i) {
                    r[i] = *(const UVEC *)(s + i * src_row);
                    __builtin_prefetch(s + i * src_row + 4 * PCX_VL);
                }
                PCX_HELPER(transpose_block_)(r);
                PCX_UNROLL for (int j = 0; j < PCX_VL; ++j)
                    *(UVEC *)(d + j * dst_row) = r[j];
                continue;
            }
            PCX_UNROLL for (int i = 0; i < PCX_VL; ++i) {
                if (i >= ni)
                    r[i] = (VEC){0};
                else if (nj == PCX_VL)
                    r[i] = *(const UVEC *)(s + i * src_row);
                else
                    r[i] = PCX_HELPER(load_part_)(s + i * src_row, nj);
                if (i < ni)
                    __builtin_prefetch(s + i * src_row + 4 * PCX_VL);
            }
            PCX_HELPER(transpose_block_)(r);
            PCX_UNROLL for (int j = 0; j < PCX_VL; ++j) {   /* constant indices into r */
                if (j >= nj)
                    break;
                if (ni == PCX_VL)
                    *(UVEC *)(d + j * dst_row) = r[j];
                else
                    PCX_HELPER(store_part_)(d + j * dst_row, r[j], ni);
            }
        }
    }
}
