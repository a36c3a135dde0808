/* AVX-512 microkernels: compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma.
 * 8 x 48 float (8 x 24 double) gemm tiles: 24 zmm accumulators, 3 for B, the
 * weights broadcast from memory. */
#define PCX_ISA avx512
#define PCX_VBYTES 64
#define PCX_F32_GEMM_MR 8
#define PCX_F32_GEMM_NR 48
#define PCX_F32_ROW_NR 192
#define PCX_F32_ROWBLOCK_MB 8
#define PCX_F32_ROWBLOCK_NR 48
#define PCX_F32_DW_MB 4
#define PCX_F64_GEMM_MR 8
#define PCX_F64_GEMM_NR 24
#define PCX_F64_ROW_NR 96
#define PCX_F64_ROWBLOCK_MB 8
#define PCX_F64_ROWBLOCK_NR 24
#define PCX_F64_DW_MB 4
/* 32 zmm registers: 24 chains and the two constants leave room to spare */
#define PCX_PROBE_CHAINS 24
#include "../ukernel_set.h"
