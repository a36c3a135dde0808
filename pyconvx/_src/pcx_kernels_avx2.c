/* AVX2 + FMA kernel set: compiled with -mavx2 -mfma.
 * 4 x 24 float (4 x 12 double) tiles: 12 ymm accumulators of the 16. */
#define PCX_ISA avx2
#define PCX_SET_NAME "avx2"
#define PCX_VBYTES 32
#define PCX_GEMM_MR_F32 4
#define PCX_GEMM_NV_F32 3
#define PCX_ROW_NV_F32 8
#define PCX_GEMM_MR_F64 4
#define PCX_GEMM_NV_F64 3
#define PCX_ROW_NV_F64 8
#define PCX_ROWBLOCK_MB_F32 4
#define PCX_ROWBLOCK_NV_F32 3
#define PCX_ROWBLOCK_MB_F64 4
#define PCX_ROWBLOCK_NV_F64 3
#define PCX_DW_MB_F32 4
#define PCX_DW_MB_F64 4
#include "pcx_kernels_impl.h"
