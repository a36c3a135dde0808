/* The microkernel template, included once per instruction set.
 *
 * The includer defines:
 *   PCX_ISA             the set's name, appended to every symbol
 *   PCX_VBYTES          vector width in bytes (64, 32 or 16)
 *   PCX_GEMM_MR_F32, PCX_GEMM_NV_F32, PCX_ROW_NV_F32   tile shapes (NV = vectors)
 *   PCX_GEMM_MR_F64, PCX_GEMM_NV_F64, PCX_ROW_NV_F64
 * and compiles the file with that set's target flags.  GCC/Clang vector
 * extensions keep one source for every width; with FMA enabled by the flags,
 * acc + a * b is contracted to a fused multiply-add (-ffp-contract=fast).
 */
#include <stdint.h>
#include <string.h>
#include "pcx_kernels.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define PCX_CAT2(a, b) a##b
#define PCX_CAT(a, b) PCX_CAT2(a, b)
#define PCX_SUFFIX(name) PCX_CAT(name, PCX_ISA)

#define PCX_TEMPLATE_TYPE float
#define PCX_TEMPLATE_IS_DOUBLE 0
#define PCX_T f32
#define PCX_TU F32
#include "pcx_kernels_body.h"
#undef PCX_TEMPLATE_TYPE
#undef PCX_TEMPLATE_IS_DOUBLE
#undef PCX_T
#undef PCX_TU

#define PCX_TEMPLATE_TYPE double
#define PCX_TEMPLATE_IS_DOUBLE 1
#define PCX_T f64
#define PCX_TU F64
#include "pcx_kernels_body.h"
#undef PCX_TEMPLATE_TYPE
#undef PCX_TEMPLATE_IS_DOUBLE
#undef PCX_T
#undef PCX_TU

const pcx_kernel_set PCX_SUFFIX(pcx_set_) = {
    PCX_SET_NAME,
    PCX_GEMM_MR_F32, PCX_GEMM_NV_F32 * (PCX_VBYTES / 4), PCX_ROW_NV_F32 * (PCX_VBYTES / 4),
    PCX_GEMM_MR_F64, PCX_GEMM_NV_F64 * (PCX_VBYTES / 8), PCX_ROW_NV_F64 * (PCX_VBYTES / 8),
    PCX_SUFFIX(gemm_f32_), PCX_SUFFIX(row_f32_),
    PCX_SUFFIX(gemm_f64_), PCX_SUFFIX(row_f64_),
    PCX_ROWBLOCK_MB_F32, PCX_ROWBLOCK_NV_F32 * (PCX_VBYTES / 4),
    PCX_ROWBLOCK_MB_F64, PCX_ROWBLOCK_NV_F64 * (PCX_VBYTES / 8),
    PCX_SUFFIX(rowblock_f32_), PCX_SUFFIX(rowblock_f64_),
    PCX_SUFFIX(wino_in_f32_), PCX_SUFFIX(wino_in_f64_),
    PCX_SUFFIX(wino_out_f32_), PCX_SUFFIX(wino_out_f64_),
    PCX_SUFFIX(probe_f32_), PCX_SUFFIX(probe_f64_),
    16 * 2 * (PCX_VBYTES / 4), 16 * 2 * (PCX_VBYTES / 8),
    PCX_DW_MB_F32, PCX_VBYTES / 4, PCX_DW_MB_F64, PCX_VBYTES / 8,
    PCX_SUFFIX(dw_f32_), PCX_SUFFIX(dw_f64_),
    PCX_SUFFIX(gather_f32_), PCX_SUFFIX(gather_f64_),
};
