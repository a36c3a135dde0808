/* AVX2 + FMA microkernels: compiled with -mavx2 -mfma.
 * 4 x 24 float (4 x 12 double) gemm tiles: 12 ymm accumulators of the 16. */
#define PCX_ISA avx2
#define PCX_VBYTES 32
#define PCX_F32_GEMM_MR 4
#define PCX_F32_GEMM_NR 24
#define PCX_F32_ROW_NR 64
#define PCX_F32_ROWBLOCK_MB 4
#define PCX_F32_ROWBLOCK_NR 24
#define PCX_F32_DW_MB 4
#define PCX_F64_GEMM_MR 4
#define PCX_F64_GEMM_NR 12
#define PCX_F64_ROW_NR 32
#define PCX_F64_ROWBLOCK_MB 4
#define PCX_F64_ROWBLOCK_NR 12
#define PCX_F64_DW_MB 4
/* 16 ymm registers: 12 chains and the two constants (16 chains would spill) */
#define PCX_PROBE_CHAINS 12
#include "../ukernel_set.h"
