/* The microkernel-set template, included once per instruction set.
 *
 * The includer (sets/<isa>.c) defines:
 *   PCX_ISA             the set's name, appended to every symbol
 *   PCX_VBYTES          vector width in bytes (64, 32 or 16)
 *   PCX_<T>_GEMM_MR, PCX_<T>_GEMM_NR        the gemm tile, per dtype T (F32, F64)
 *   PCX_<T>_NARROW_NR1, PCX_<T>_NARROW_NR2  one and two vectors (its narrow variants)
 *   PCX_<T>_TALL_MR                         2 MR (the one-vector variant over two panels)
 *   PCX_<T>_ROW_NR                          the row tile (one output row)
 *   PCX_<T>_CGEMM_MR, PCX_<T>_CGEMM_NR      the channel tile (positions x channels)
 *   PCX_<T>_ROWBLOCK_MB, PCX_<T>_ROWBLOCK_NR
 *   PCX_<T>_DW_MB                           depthwise rows per pass
 *   PCX_PROBE_CHAINS                        FMA chains of the peak probe
 * (NR values are in elements and multiples of the vector length) and compiles
 * the file with that set's target flags.  GCC/Clang vector extensions keep one
 * source for every width; with FMA enabled by the flags, acc + a * b is
 * contracted to a fused multiply-add (-ffp-contract=fast).
 */
#include <stdint.h>
#include <string.h>
#include "ukernels.h"
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#define PCX_CAT2(a, b) a##b
#define PCX_CAT(a, b) PCX_CAT2(a, b)
#define PCX_STR2(a) #a
#define PCX_STR(a) PCX_STR2(a)
#define PCX_F32_ELEM float
#define PCX_F64_ELEM double

/* The symbol of microkernel `op` with tile `tile` of dtype T: pcx_T_op_tile__ISA,
 * e.g. pcx_f32_gemm_8x32__avx512. */
#define PCX_SYMBOL(T, op, tile)                                                     \
    PCX_CAT(PCX_CAT(pcx_, T), PCX_CAT(_##op##_, PCX_CAT(tile, PCX_CAT(__, PCX_ISA))))
#define PCX_TILE(rows, cols) PCX_CAT(rows, PCX_CAT(x, cols))

#define PCX_TEMPLATE_TYPE float
#define PCX_TEMPLATE_IS_DOUBLE 0
#define PCX_T f32
#define PCX_TU F32
#include "body/all.h"
#undef PCX_TEMPLATE_TYPE
#undef PCX_TEMPLATE_IS_DOUBLE
#undef PCX_T
#undef PCX_TU

#define PCX_TEMPLATE_TYPE double
#define PCX_TEMPLATE_IS_DOUBLE 1
#define PCX_T f64
#define PCX_TU F64
#include "body/all.h"
#undef PCX_TEMPLATE_TYPE
#undef PCX_TEMPLATE_IS_DOUBLE
#undef PCX_T
#undef PCX_TU

#define PCX_CGEMM_SYMBOL(T, TU, m) PCX_SYMBOL(T, cgemm, PCX_TILE(m, PCX_##TU##_CGEMM_NR))

/* The set, every field by name. */
#define PCX_UKERNELS(T, TU)                                                          \
    {                                                                                \
        .gemm = {.mr = PCX_##TU##_GEMM_MR, .nr = PCX_##TU##_GEMM_NR,                 \
                 .run = PCX_SYMBOL(T, gemm, PCX_TILE(PCX_##TU##_GEMM_MR, PCX_##TU##_GEMM_NR))}, \
        .gemm_narrow = {.mr = PCX_##TU##_GEMM_MR, .vl = PCX_##TU##_NARROW_NR1,         \
                        .run = {PCX_SYMBOL(T, gemm_narrow,                            \
                                           PCX_TILE(PCX_##TU##_GEMM_MR, PCX_##TU##_NARROW_NR1)), \
                                PCX_SYMBOL(T, gemm_narrow,                            \
                                           PCX_TILE(PCX_##TU##_GEMM_MR, PCX_##TU##_NARROW_NR2))}, \
                        .tall = PCX_SYMBOL(T, gemm_narrow,                            \
                                           PCX_TILE(PCX_##TU##_TALL_MR, PCX_##TU##_NARROW_NR1))}, \
        .cgemm = {.mr = PCX_##TU##_CGEMM_MR, .nr = PCX_##TU##_CGEMM_NR,              \
                  .run = {PCX_CGEMM_SYMBOL(T, TU, 1), PCX_CGEMM_SYMBOL(T, TU, 2),       \
                          PCX_CGEMM_SYMBOL(T, TU, 3), PCX_CGEMM_SYMBOL(T, TU, 4),       \
                          PCX_CGEMM_SYMBOL(T, TU, 5), PCX_CGEMM_SYMBOL(T, TU, 6),       \
                          PCX_CGEMM_SYMBOL(T, TU, 7), PCX_CGEMM_SYMBOL(T, TU, 8)}},     \
        .row = {.mr = 1, .nr = PCX_##TU##_ROW_NR,                                    \
                .run = PCX_SYMBOL(T, row, PCX_TILE(1, PCX_##TU##_ROW_NR))},           \
        .rowblock = {.mb = PCX_##TU##_ROWBLOCK_MB, .nr = PCX_##TU##_ROWBLOCK_NR,     \
                     .run = PCX_SYMBOL(T, rowblock,                                  \
                                       PCX_TILE(PCX_##TU##_ROWBLOCK_MB, PCX_##TU##_ROWBLOCK_NR))}, \
        .depthwise = {.mb = PCX_##TU##_DW_MB,                                        \
                      .vl = PCX_VBYTES / (int)sizeof(PCX_##TU##_ELEM),          \
                      .nb = 8,   /* the lanes kernel's outputs per pass */         \
                      .run = PCX_SYMBOL(T, dwconv, PCX_CAT(PCX_##TU##_DW_MB, rows)),  \
                      .lanes = PCX_SYMBOL(T, dwconv_lanes, 8outputs)},                \
        .winograd_input = PCX_SYMBOL(T, winograd_input, 2x2_3x3),                    \
        .winograd_output = PCX_SYMBOL(T, winograd_output, 2x2_3x3),                  \
        .gather = PCX_SYMBOL(T, gather, strided),                                    \
        .transpose = PCX_SYMBOL(T, transpose, blocked),                              \
        .fma_probe = {.flops_per_iteration =                                         \
                          2 * PCX_PROBE_CHAINS * (PCX_VBYTES / (int)sizeof(PCX_##TU##_ELEM)), \
                      .run = PCX_SYMBOL(T, fma_probe, PCX_CAT(PCX_PROBE_CHAINS, chains))}, \
        .taps = PCX_SYMBOL(T, taps, PCX_CAT(PCX_TAPS_NV, v)),                        \
        .taps4 = PCX_SYMBOL(T, taps, PCX_CAT(4x, PCX_TAPS4_NV)),                     \
    }

_Static_assert(PCX_F32_CGEMM_MR <= PCX_CGEMM_VARIANTS && PCX_F64_CGEMM_MR <= PCX_CGEMM_VARIANTS,
               "the channel tile comes in PCX_CGEMM_VARIANTS row counts");
_Static_assert(PCX_F32_TALL_MR == 2 * PCX_F32_GEMM_MR && PCX_F64_TALL_MR == 2 * PCX_F64_GEMM_MR,
               "the tall variant spans two panels of the gemm tile");

const pcx_ukernel_set PCX_CAT(pcx_ukernel_set__, PCX_ISA) = {
    .name = PCX_STR(PCX_ISA),
    .f32 = PCX_UKERNELS(f32, F32),
    .f64 = PCX_UKERNELS(f64, F64),
};
