/* Portable kernel set: 16-byte generic vectors, baseline flags only.
 * SSE2 on x86-64, NEON on AArch64, scalar code elsewhere. */
#define PCX_ISA generic
#define PCX_SET_NAME "generic"
#define PCX_VBYTES 16
#define PCX_GEMM_MR_F32 4
#define PCX_GEMM_NV_F32 2
#define PCX_ROW_NV_F32 6
#define PCX_GEMM_MR_F64 4
#define PCX_GEMM_NV_F64 2
#define PCX_ROW_NV_F64 6
#define PCX_ROWBLOCK_MB_F32 4
#define PCX_ROWBLOCK_NV_F32 2
#define PCX_ROWBLOCK_MB_F64 4
#define PCX_ROWBLOCK_NV_F64 2
#define PCX_DW_MB_F32 4
#define PCX_DW_MB_F64 4
#include "pcx_kernels_impl.h"
