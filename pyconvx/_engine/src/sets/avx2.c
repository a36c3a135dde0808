/* AVX2 + FMA microkernels: compiled with -mavx2 -mfma.
 * 4 x 24 float (6 x 8 double) gemm tiles: 12 ymm accumulators of the 16, the B
 * vectors and one broadcast weight beside them.  Measured on the layers of
 * ResNet-50, VGG-16 and wav2vec 2.0 (one thread, Zen 4): float 4 x 24 against
 * 6 x 16 is 7-12% faster on large images (3x3 64->64 at 56x56, 256->256 at
 * 56x56, 512->512 at 28x28) and 2-5% slower on 7x7 ones; double 6 x 8 against
 * 4 x 12 is up to 1.25x faster on 1x1 and small-image layers, 5% slower on
 * 64->64 at 56x56. */
#define PCX_ISA avx2
#define PCX_VBYTES 32
#define PCX_F32_GEMM_MR 4
#define PCX_F32_GEMM_NR 24
#define PCX_F32_ROW_NR 64
#define PCX_F32_ROWBLOCK_MB 4
#define PCX_F32_ROWBLOCK_NR 24
#define PCX_F32_DW_MB 4
#define PCX_F64_GEMM_MR 6
#define PCX_F64_GEMM_NR 8
#define PCX_F64_ROW_NR 32
#define PCX_F64_ROWBLOCK_MB 4
#define PCX_F64_ROWBLOCK_NR 12
#define PCX_F64_DW_MB 4
/* 16 ymm registers: 12 chains and the two constants (16 chains would spill) */
#define PCX_PROBE_CHAINS 12
/* one and two vectors: the widths of the gemm tile's narrow variants; the
 * one-vector variant also comes two panels tall (2 MR rows) */
#define PCX_F32_NARROW_NR1 8
#define PCX_F32_NARROW_NR2 16
#define PCX_F64_NARROW_NR1 4
#define PCX_F64_NARROW_NR2 8
#define PCX_F32_TALL_MR 8
#define PCX_F64_TALL_MR 12
/* the channel tile: 4 positions x 3 vectors, 12 ymm accumulators, 3 for the
 * weights, 1 for the broadcast */
#define PCX_F32_CGEMM_MR 4
#define PCX_F32_CGEMM_NR 24
#define PCX_F64_CGEMM_MR 4
#define PCX_F64_CGEMM_NR 12
#include "../ukernel_set.h"
