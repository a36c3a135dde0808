/* Portable microkernels: 16-byte GCC vectors, baseline flags only.
 * SSE2 on x86-64, NEON on AArch64, scalar code elsewhere. */
#define PCX_ISA generic
#define PCX_VBYTES 16
#define PCX_F32_GEMM_MR 4
#define PCX_F32_GEMM_NR 8
#define PCX_F32_ROW_NR 24
#define PCX_F32_ROWBLOCK_MB 4
#define PCX_F32_ROWBLOCK_NR 8
#define PCX_F32_DW_MB 4
#define PCX_F64_GEMM_MR 4
#define PCX_F64_GEMM_NR 4
#define PCX_F64_ROW_NR 12
#define PCX_F64_ROWBLOCK_MB 4
#define PCX_F64_ROWBLOCK_NR 4
#define PCX_F64_DW_MB 4
/* 16 xmm (SSE2) or 32 (NEON) registers: 12 chains and the two constants */
#define PCX_PROBE_CHAINS 12
/* one and two vectors: the widths of the gemm tile's narrow variants; the
 * one-vector variant also comes two panels tall (2 MR rows) */
#define PCX_F32_NARROW_NR1 4
#define PCX_F32_NARROW_NR2 8
#define PCX_F64_NARROW_NR1 2
#define PCX_F64_NARROW_NR2 4
#define PCX_F32_TALL_MR 8
#define PCX_F64_TALL_MR 8
/* the channel tile: 4 positions x 3 vectors (12 accumulators) */
#define PCX_F32_CGEMM_MR 4
#define PCX_F32_CGEMM_NR 12
#define PCX_F64_CGEMM_MR 4
#define PCX_F64_CGEMM_NR 6
#include "../ukernel_set.h"
