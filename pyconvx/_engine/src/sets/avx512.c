/* AVX-512 microkernels: compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma.
 * 8 x 32 float (8 x 16 double) gemm tiles: 16 zmm accumulators, 2 for B, the
 * weights broadcast from memory.  Measured against 8 x 48 (24 accumulators) and
 * 12 x 32 on the layers of ResNet-50, VGG-16 and wav2vec 2.0 (one thread, Zen 4):
 * as fast on large images and 1.2-1.5x faster on 7x7 and 14x14 ones, where a
 * 48-wide tile computes a third of its columns in the band's padding. */
#define PCX_ISA avx512
#define PCX_VBYTES 64
#define PCX_F32_GEMM_MR 8
#define PCX_F32_GEMM_NR 32
#define PCX_F32_ROW_NR 192
#define PCX_F32_ROWBLOCK_MB 8
#define PCX_F32_ROWBLOCK_NR 48
#define PCX_F32_DW_MB 4
#define PCX_F64_GEMM_MR 8
#define PCX_F64_GEMM_NR 16
#define PCX_F64_ROW_NR 96
#define PCX_F64_ROWBLOCK_MB 8
#define PCX_F64_ROWBLOCK_NR 24
#define PCX_F64_DW_MB 4
/* 32 zmm registers: 24 chains and the two constants leave room to spare */
#define PCX_PROBE_CHAINS 24
/* one and two vectors: the widths of the gemm tile's narrow variants; the
 * one-vector variant also comes two panels tall (2 MR rows) */
#define PCX_F32_NARROW_NR1 16
#define PCX_F32_NARROW_NR2 32
#define PCX_F64_NARROW_NR1 8
#define PCX_F64_NARROW_NR2 16
#define PCX_F32_TALL_MR 16
#define PCX_F64_TALL_MR 16
/* the channel tile: 7 positions x 4 vectors of output channels, 28 zmm
 * accumulators (an output row of 7, 14, 28 or 56 splits into whole tiles) */
#define PCX_F32_CGEMM_MR 7
#define PCX_F32_CGEMM_NR 64
#define PCX_F64_CGEMM_MR 7
#define PCX_F64_CGEMM_NR 32
#include "../ukernel_set.h"
