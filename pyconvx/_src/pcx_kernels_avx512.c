/* AVX-512 kernel set: compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma.
 * 8 x 48 float (8 x 24 double) tiles: 24 zmm accumulators, 3 for B, the
 * weights broadcast from memory. */
#define PCX_ISA avx512
#define PCX_SET_NAME "avx512"
#define PCX_VBYTES 64
#define PCX_GEMM_MR_F32 8
#define PCX_GEMM_NV_F32 3
#define PCX_ROW_NV_F32 12
#define PCX_GEMM_MR_F64 8
#define PCX_GEMM_NV_F64 3
#define PCX_ROW_NV_F64 12
#define PCX_ROWBLOCK_MB_F32 8
#define PCX_ROWBLOCK_NV_F32 3
#define PCX_ROWBLOCK_MB_F64 8
#define PCX_ROWBLOCK_NV_F64 3
#define PCX_DW_MB_F32 4
#define PCX_DW_MB_F64 4
#include "pcx_kernels_impl.h"
