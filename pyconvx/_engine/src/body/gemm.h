/* The tile microkernels "gemm" (MR x NR), "row" (1 x NR) and "cgemm" (positions x
 * channels); see ukernels.h.
 *
 * C[MR x NV*VL] = sum_k A[m * lda + k] * B[off[k] + j] : the register-blocked tile.
 * A's rows are read in place (a weight array's output channels, lda apart).  With
 * load_c the sum continues from C's values (a later block of k), so a k loop split
 * into blocks gives the same bits as one pass.  The k loop is unrolled twice
 * (measured: 1-3% faster on AVX2 and AVX-512, the loop's bookkeeping halved);
 * the order of the sums is the same.  Before the k loop the tile asks for the
 * cache lines the next tile along C's rows will store to (prefetch for write):
 * with a short reduction (a one-channel input, a 1-d kernel of ten taps) the
 * stores, not the FMAs, bound the tile, and the lines then arrive while this
 * tile computes (measured: 1->512 channels, 10 taps, stride 5, 16000 samples,
 * 0.52 -> 0.37 ms on an AVX-512 Xeon; no change on long reductions).  A
 * prefetch past C's end is harmless: it never faults. */
/* A tile's sums: from C's values (load_c) or from zero; then back to C. */
#define PCX_TILE_START(MR, NV)                                                      \
    do {                                                                             \
        if (load_c) {                                                                \
            PCX_UNROLL for (int m = 0; m < (MR); ++m)                                \
                PCX_UNROLL for (int v = 0; v < (NV); ++v)                            \
                    acc[m][v] = *(const UVEC *)(C + m * ldc + v * PCX_VL);           \
        } else {                                                                     \
            PCX_UNROLL for (int m = 0; m < (MR); ++m)                                \
                PCX_UNROLL for (int v = 0; v < (NV); ++v)                            \
                    acc[m][v] = (VEC){0};                                            \
        }                                                                            \
    } while (0)
#define PCX_TILE_STORE(MR, NV)                                                      \
    PCX_UNROLL for (int m = 0; m < (MR); ++m)                                        \
        PCX_UNROLL for (int v = 0; v < (NV); ++v)                                    \
            *(UVEC *)(C + m * ldc + v * PCX_VL) = acc[m][v]

#define PCX_DEFINE_TILE(fname, MR, NV)                                              \
    static void fname(int64_t K, const PCX_TEMPLATE_TYPE *restrict A, int64_t lda,  \
                      const PCX_TEMPLATE_TYPE *restrict B,                           \
                      const int64_t *restrict off, PCX_TEMPLATE_TYPE *restrict C,    \
                      int64_t ldc, const PCX_TEMPLATE_TYPE *restrict bias,          \
                      int64_t load_c)                                                \
    {                                                                                \
        VEC acc[MR][NV];                                                             \
        PCX_TILE_START(MR, NV);                                                      \
        PCX_UNROLL for (int m = 0; m < MR; ++m)                                      \
            PCX_UNROLL for (int v = 0; v < NV; ++v)                                  \
                __builtin_prefetch(C + m * ldc + (NV + v) * PCX_VL, 1, 3);           \
        _Pragma("GCC unroll 2")                                                      \
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
        PCX_TILE_STORE(MR, NV);                                                      \
    }

PCX_DEFINE_TILE(PCX_UKERNEL(gemm, PCX_TILE(PCX_CFG(GEMM_MR), PCX_CFG(GEMM_NR))),
                PCX_CFG(GEMM_MR), (PCX_CFG(GEMM_NR) / PCX_VL))
PCX_DEFINE_TILE(PCX_UKERNEL(row, PCX_TILE(1, PCX_CFG(ROW_NR))), 1, (PCX_CFG(ROW_NR) / PCX_VL))
/* The gemm tile's narrow variants, one and two vectors wide, for the last tile
 * of a run of positions that leaves most of a full tile empty (49 positions on
 * 24-wide tiles: 24 + 24 + 1).  Column for column the same sums as the gemm
 * tile, so which one computes an output never changes its bits. */
PCX_DEFINE_TILE(PCX_UKERNEL(gemm_narrow, PCX_TILE(PCX_CFG(GEMM_MR), PCX_CFG(NARROW_NR1))),
                PCX_CFG(GEMM_MR), 1)
PCX_DEFINE_TILE(PCX_UKERNEL(gemm_narrow, PCX_TILE(PCX_CFG(GEMM_MR), PCX_CFG(NARROW_NR2))),
                PCX_CFG(GEMM_MR), 2)
/* ... and the one-vector variant over two panels at once (2 MR rows): twice the
 * independent sums, where MR alone leaves the FMA units waiting (AVX2's 4 rows). */
PCX_DEFINE_TILE(PCX_UKERNEL(gemm_narrow, PCX_TILE(PCX_CFG(TALL_MR), PCX_CFG(NARROW_NR1))),
                PCX_CFG(TALL_MR), 1)
#undef PCX_DEFINE_TILE

/* The channel tile "cgemm": mr output positions x NV vectors of output channels,
 *   C[m * ldc + j] = sum_k A[off[k] + m * lda] * B[k * NR + j]  (+ bias[j]),
 * for m < mr, j < NR = NV * VL: the products of the gemm tile with the roles of
 * its operands swapped.  Each input value (A: the band, or x itself; position m
 * lda apart) is broadcast and multiplies NV vectors of packed weights (B: row k
 * holds NR output channels, contiguous).  The vectors run along the output
 * channels, so a tile holds any mr consecutive positions of an output row and
 * computes no position in vain (the gemm tile, along the positions, computes
 * the band's garbage columns and rounds each run up to whole vectors).  Every
 * output is summed from zero in the order k = 0..K-1 with one fused
 * multiply-add per product, then the bias: the bits of the gemm tile. */
#define PCX_DEFINE_CTILE(fname, MR, NV)                                             \
    static void fname(int64_t K, const PCX_TEMPLATE_TYPE *restrict A, int64_t lda,  \
                      const PCX_TEMPLATE_TYPE *restrict B,                           \
                      const int64_t *restrict off, PCX_TEMPLATE_TYPE *restrict C,    \
                      int64_t ldc, const PCX_TEMPLATE_TYPE *restrict bias,          \
                      int64_t load_c)                                                \
    {                                                                                \
        VEC acc[MR][NV];                                                             \
        PCX_TILE_START(MR, NV);                                                      \
        _Pragma("GCC unroll 2")                                                      \
        for (int64_t k = 0; k < K; ++k) {                                            \
            const PCX_TEMPLATE_TYPE *a = A + off[k];                                 \
            const PCX_TEMPLATE_TYPE *b = B + k * (NV * PCX_VL);                      \
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
            PCX_ACC_ADD(MR, NV, *(const UVEC *)(bias + v * PCX_VL));                 \
        PCX_TILE_STORE(MR, NV);                                                      \
    }

/* One variant per row count 1..PCX_CGEMM_VARIANTS (the last tile of an output row
 * takes what is left); the set's CGEMM_MR is the largest the planner uses. */
#define PCX_CGEMM_NV (PCX_CFG(CGEMM_NR) / PCX_VL)
#define PCX_CGEMM_FN(m) PCX_UKERNEL(cgemm, PCX_TILE(m, PCX_CFG(CGEMM_NR)))
PCX_DEFINE_CTILE(PCX_CGEMM_FN(1), 1, PCX_CGEMM_NV)
PCX_DEFINE_CTILE(PCX_CGEMM_FN(2), 2, PCX_CGEMM_NV)
PCX_DEFINE_CTILE(PCX_CGEMM_FN(3), 3, PCX_CGEMM_NV)
PCX_DEFINE_CTILE(PCX_CGEMM_FN(4), 4, PCX_CGEMM_NV)
PCX_DEFINE_CTILE(PCX_CGEMM_FN(5), 5, PCX_CGEMM_NV)
PCX_DEFINE_CTILE(PCX_CGEMM_FN(6), 6, PCX_CGEMM_NV)
PCX_DEFINE_CTILE(PCX_CGEMM_FN(7), 7, PCX_CGEMM_NV)
PCX_DEFINE_CTILE(PCX_CGEMM_FN(8), 8, PCX_CGEMM_NV)
#undef PCX_CGEMM_NV
#undef PCX_CGEMM_FN
#undef PCX_TILE_START
#undef PCX_TILE_STORE
#undef PCX_DEFINE_CTILE
