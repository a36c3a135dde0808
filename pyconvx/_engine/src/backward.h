/* The dot-product kernel of the weight gradient's "dot" path (few channels
 * per group, e.g. depthwise layers).
 *
 * For taps t < count, rows r < rows and positions i < width:
 *   acc[t][i mod 16] += a[r * a_pitch + i] * b[r * b_pitch + off[t] + i]
 * one grad_output row against the band row of each tap, into 16 running lanes
 * per tap (acc holds count x 16 values; the caller adds the lanes in order at
 * the end).  Up to nine taps (a 3 x 3 kernel's) are kept in registers,
 * so each grad_output vector is loaded once for all of them.  The last
 * partial vector of a row is masked: its lanes past the row keep their sums,
 * whatever was read there (even NaN or Inf); with overread == 0 (a row may
 * end where memory ends) the tail is read from zero-padded copies instead.
 * Every product is added with one fused multiply-add where the instruction
 * set has it, in the tail as elsewhere, so a band read in place and a copied
 * one give the same bits; every order is fixed, independent of the thread
 * count and of the layout of the inputs.  The lane count is the same
 * for every instruction set; each set is compiled with its own target
 * attribute (no host-specific flags) and picked at run time by the level
 * the engine's dispatch chose. */
#ifndef PCX_BACKWARD_H
#define PCX_BACKWARD_H

#include <stdint.h>
#include <string.h>

#define PCX_DOT_LANES 16
#define PCX_DOT_TAPS 9
/* the dispatch of PCX_DEFINE_DOT below has a case for each count up to nine */
_Static_assert(PCX_DOT_TAPS == 9, "one case per tap count in PCX_DEFINE_DOT");

typedef float pcx_dot_vf __attribute__((vector_size(PCX_DOT_LANES * sizeof(float)), aligned(4)));
typedef double pcx_dot_vd __attribute__((vector_size(PCX_DOT_LANES * sizeof(double)), aligned(8)));
typedef int32_t pcx_dot_mf __attribute__((vector_size(PCX_DOT_LANES * sizeof(float))));
typedef int64_t pcx_dot_md __attribute__((vector_size(PCX_DOT_LANES * sizeof(double))));
/* One register's lanes of the 16 (a pass of PCX_DOT_BLOCK): 8 floats or 4
 * doubles in AVX2's 32 bytes, 8 doubles in AVX-512's 64 */
typedef float pcx_dot_vf8 __attribute__((vector_size(32), aligned(4)));
typedef double pcx_dot_vd4 __attribute__((vector_size(32), aligned(8)));
typedef int32_t pcx_dot_mf8 __attribute__((vector_size(32)));
typedef int64_t pcx_dot_md4 __attribute__((vector_size(32)));
typedef double pcx_dot_vd8 __attribute__((vector_size(64), aligned(8)));
typedef int64_t pcx_dot_md8 __attribute__((vector_size(64)));

/* One block of nt <= PCX_DOT_TAPS taps, in passes over the rows, each for HL
 * of the 16 lanes: one register's worth (16 floats with AVX-512, 8 doubles;
 * 8 floats or 4 doubles with AVX2), so that the taps' running sums stay in
 * registers; the portable set runs the 16 lanes in one pass.  The block body
 * is expanded once per tap count (nt a constant there), the band pointers of
 * the taps hoisted out of the position loop.  Every lane of every tap gets the
 * same operations in the same order whatever the count, the passes or the
 * instruction set, so none of them changes a bit. */
#define PCX_DOT_BLOCK(T, V, M, HL, nt)                                                     \
    for (int64_t h = 0; h < PCX_DOT_LANES; h += (HL)) {                                    \
        V s[nt];                                                                           \
        const T *bt[nt];                                                                   \
        const T *ah = a + h;                                                               \
        M mask;                                                                            \
        for (int l = 0; l < (HL); ++l)                                                     \
            mask[l] = h + l < rest ? -1 : 0;                                               \
        PCX_DOT_UNROLL for (int j = 0; j < nt; ++j) {                                      \
            memcpy(&s[j], acc + j * PCX_DOT_LANES + h, sizeof(V));                         \
            bt[j] = b + off[j] + h;                                                        \
        }                                                                                  \
        for (int64_t r = 0; r < rows; ++r) {                                               \
            const T *ar = ah + r * a_pitch;                                                \
            const int64_t rb = r * b_pitch;                                                \
            for (int64_t i = 0; i < full; i += PCX_DOT_LANES) {                            \
                const V av = *(const V *)(ar + i);                                         \
                PCX_DOT_UNROLL for (int j = 0; j < nt; ++j)                                \
                    s[j] += av * *(const V *)(bt[j] + rb + i);                             \
            }                                                                              \
            if (rest && overread) {                                                        \
                /* the lanes of the row get the fused multiply-add of every other          \
                 * lane; the lanes past it keep their sums, whatever was read */           \
                const V av = *(const V *)(ar + full);                                      \
                PCX_DOT_UNROLL for (int j = 0; j < nt; ++j) {                              \
                    const V f = s[j] + av * *(const V *)(bt[j] + rb + full);               \
                    s[j] = (V)(((M)f & mask) | ((M)s[j] & ~mask));                         \
                }                                                                          \
            } else if (rest) {                                                             \
                /* the tail copied into zeroed vectors (no read past the row):             \
                 * a lane of the row gets the fused multiply-add a scalar loop             \
                 * would give it; the lanes past the row keep their sums */                \
                const int64_t n = rest - h < 0 ? 0 : rest - h < (HL) ? rest - h : (HL);    \
                T tail[HL] = {0};                                                          \
                V av, bv;                                                                  \
                memcpy(tail, ar + full, (size_t)n * sizeof(T));                            \
                memcpy(&av, tail, sizeof(V));                                              \
                PCX_DOT_UNROLL for (int j = 0; j < nt; ++j) {                              \
                    memcpy(tail, bt[j] + rb + full, (size_t)n * sizeof(T));                \
                    memcpy(&bv, tail, sizeof(V));                                          \
                    const V f = s[j] + av * bv;                                            \
                    s[j] = (V)(((M)f & mask) | ((M)s[j] & ~mask));                         \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
        PCX_DOT_UNROLL for (int j = 0; j < nt; ++j)                                        \
            memcpy(acc + j * PCX_DOT_LANES + h, &s[j], sizeof(V));                         \
    }

#if defined(__GNUC__) && !defined(__clang__)
#define PCX_DOT_UNROLL _Pragma("GCC unroll 9")
#else
#define PCX_DOT_UNROLL
#endif

#define PCX_DEFINE_DOT(name, T, V, M, HL, ATTR)                                            \
    ATTR static void name(int64_t rows, int64_t width, const T *a, int64_t a_pitch,        \
                          const T *b, int64_t b_pitch, const int64_t *off, int64_t count,  \
                          T *acc, int64_t overread)                                        \
    {                                                                                      \
        const int64_t full = width - width % PCX_DOT_LANES;                                \
        const int64_t rest = width - full;                                                 \
        for (; count > 0; count -= PCX_DOT_TAPS) {                                         \
            switch (count < PCX_DOT_TAPS ? count : PCX_DOT_TAPS) {                         \
            case 1: PCX_DOT_BLOCK(T, V, M, HL, 1); break;                                  \
            case 2: PCX_DOT_BLOCK(T, V, M, HL, 2); break;                                  \
            case 3: PCX_DOT_BLOCK(T, V, M, HL, 3); break;                                  \
            case 4: PCX_DOT_BLOCK(T, V, M, HL, 4); break;                                  \
            case 5: PCX_DOT_BLOCK(T, V, M, HL, 5); break;                                  \
            case 6: PCX_DOT_BLOCK(T, V, M, HL, 6); break;                                  \
            case 7: PCX_DOT_BLOCK(T, V, M, HL, 7); break;                                  \
            case 8: PCX_DOT_BLOCK(T, V, M, HL, 8); break;                                  \
            default: PCX_DOT_BLOCK(T, V, M, HL, 9); break;                                 \
            }                                                                              \
            off += PCX_DOT_TAPS;                                                           \
            acc += PCX_DOT_TAPS * PCX_DOT_LANES;                                           \
        }                                                                                  \
    }

PCX_DEFINE_DOT(pcx_dot_f32_generic, float, pcx_dot_vf, pcx_dot_mf, 16, )
PCX_DEFINE_DOT(pcx_dot_f64_generic, double, pcx_dot_vd, pcx_dot_md, 16, )

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define PCX_DOT_X86 1
PCX_DEFINE_DOT(pcx_dot_f32_avx2, float, pcx_dot_vf8, pcx_dot_mf8, 8,
               __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f64_avx2, double, pcx_dot_vd4, pcx_dot_md4, 4,
               __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f32_avx512, float, pcx_dot_vf, pcx_dot_mf, 16,
               __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))))
PCX_DEFINE_DOT(pcx_dot_f64_avx512, double, pcx_dot_vd8, pcx_dot_md8, 8,
               __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))))
#endif

/* The same sums for taps on a KH x KW grid (a 2-d kernel's, one input
 * channel): tap (i, j) reads the band at off[j] + i * q * b_pitch, q band rows
 * between two rows of taps.  Band row R then serves tap row i against
 * grad_output row R - i * q, so the kernel walks the band's rows once, loads
 * each of its vectors once for the KW taps of a row of taps, and multiplies
 * it by the grad_output rows of the KH tap rows (loads 1 + 9 per vector of a
 * 3 x 3 kernel become 3 + 3).  Tap (i, j) still gets grad_output row r before
 * row r + 1 and, within a row, its positions in order: every lane's sum has
 * the bits of PCX_DOT_BLOCK's.  Needs overread (whole-vector reads past a
 * row's end stay in memory).  PCX_DOT_GRID_AT is one vector position AT of
 * band row R: the KW band vectors, then per tap row the grad_output vector
 * and its KW fused multiply-adds; MASKED (the row's last partial vector)
 * keeps the lanes past the row as they were. */
#define PCX_DOT_GRID_AT(V, M, KH, KW, CHECK, KEEP, AT, MASKED)                             \
    {                                                                                      \
        V bv[KW];                                                                          \
        PCX_DOT_UNROLL for (int j = 0; j < (KW); ++j) {                                    \
            bv[j] = *(const V *)(bt[j] + rb + (AT));                                       \
            KEEP(bv[j]);                                                                   \
        }                                                                                  \
        PCX_DOT_UNROLL for (int ti = 0; ti < (KH); ++ti) {                                 \
            const int64_t r = R - ti * q;                                                  \
            if (CHECK && (r < 0 || r >= rows))                                             \
                continue;                                                                  \
            V av = *(const V *)(ah + r * a_pitch + (AT));                                  \
            KEEP(av);                                                                      \
            PCX_DOT_UNROLL for (int j = 0; j < (KW); ++j) {                                \
                const V f = s[ti][j] + av * bv[j];                                         \
                s[ti][j] = (MASKED) ? (V)(((M)f & mask) | ((M)s[ti][j] & ~mask)) : f;      \
            }                                                                              \
        }                                                                                  \
    }

#define PCX_DOT_GRID_ROW(V, M, KH, KW, CHECK, KEEP)                                        \
    {                                                                                      \
        const int64_t rb = R * b_pitch;                                                    \
        for (int64_t i = 0; i < full; i += PCX_DOT_LANES)                                  \
            PCX_DOT_GRID_AT(V, M, KH, KW, CHECK, KEEP, i, 0)                               \
        if (rest)                                                                          \
            PCX_DOT_GRID_AT(V, M, KH, KW, CHECK, KEEP, full, 1)                            \
    }

#define PCX_DOT_GRID_BLOCK(T, V, M, HL, KH, KW, KEEP)                                      \
    for (int64_t h = 0; h < PCX_DOT_LANES; h += (HL)) {                                    \
        V s[KH][KW];                                                                       \
        const T *bt[KW];                                                                   \
        const T *ah = a + h;                                                               \
        M mask;                                                                            \
        for (int l = 0; l < (HL); ++l)                                                     \
            mask[l] = h + l < rest ? -1 : 0;                                               \
        PCX_DOT_UNROLL for (int ti = 0; ti < (KH); ++ti)                                   \
            PCX_DOT_UNROLL for (int j = 0; j < (KW); ++j)                                  \
                memcpy(&s[ti][j], acc + (ti * (KW) + j) * PCX_DOT_LANES + h, sizeof(V));   \
        PCX_DOT_UNROLL for (int j = 0; j < (KW); ++j)                                      \
            bt[j] = b + off[j] + h;                                                        \
        /* band rows [0, lo): the first tap rows only; [lo, hi): every tap row;            \
         * [hi, band_rows): the last tap rows only */                                      \
        const int64_t band_rows = rows + ((KH) - 1) * q;                                   \
        const int64_t lo = ((KH) - 1) * q < band_rows ? ((KH) - 1) * q : band_rows;        \
        const int64_t hi = rows > lo ? rows : lo;                                          \
        int64_t R = 0;                                                                     \
        for (; R < lo; ++R)                                                                \
            PCX_DOT_GRID_ROW(V, M, KH, KW, 1, KEEP)                                        \
        for (; R < hi; ++R)                                                                \
            PCX_DOT_GRID_ROW(V, M, KH, KW, 0, KEEP)                                        \
        for (; R < band_rows; ++R)                                                         \
            PCX_DOT_GRID_ROW(V, M, KH, KW, 1, KEEP)                                        \
        PCX_DOT_UNROLL for (int ti = 0; ti < (KH); ++ti)                                   \
            PCX_DOT_UNROLL for (int j = 0; j < (KW); ++j)                                  \
                memcpy(acc + (ti * (KW) + j) * PCX_DOT_LANES + h, &s[ti][j], sizeof(V));   \
    }

/* The grid shapes with a kernel of their own (up to nine taps in registers,
 * at least two rows and two columns of taps: a single row or column of taps
 * loads as much either way); PCX_DOT_GRID_SHAPE(kh, kw) is their case label. */
#define PCX_DOT_GRID_SHAPE(kh, kw) ((kh) * 16 + (kw))

#define PCX_DOT_GRID_CASE(T, V, M, HL, KEEP, kh, kw)                                       \
    case PCX_DOT_GRID_SHAPE(kh, kw):                                                       \
        PCX_DOT_GRID_BLOCK(T, V, M, HL, kh, kw, KEEP);                                     \
        return 1;

#define PCX_DEFINE_DOT_GRID(name, T, V, M, HL, KEEP, ATTR)                                 \
    ATTR static int name(int64_t rows, int64_t width, const T *a, int64_t a_pitch,         \
                         const T *b, int64_t b_pitch, const int64_t *off, int64_t kh,      \
                         int64_t kw, int64_t q, T *acc)                                    \
    {                                                                                      \
        const int64_t full = width - width % PCX_DOT_LANES;                                \
        const int64_t rest = width - full;                                                 \
        switch (PCX_DOT_GRID_SHAPE(kh, kw)) {                                              \
        PCX_DOT_GRID_CASE(T, V, M, HL, KEEP, 2, 2)                                         \
        PCX_DOT_GRID_CASE(T, V, M, HL, KEEP, 2, 3)                                         \
        PCX_DOT_GRID_CASE(T, V, M, HL, KEEP, 3, 2)                                         \
        PCX_DOT_GRID_CASE(T, V, M, HL, KEEP, 3, 3)                                         \
        PCX_DOT_GRID_CASE(T, V, M, HL, KEEP, 2, 4)                                         \
        PCX_DOT_GRID_CASE(T, V, M, HL, KEEP, 4, 2)                                         \
        default: return 0;                                                                 \
        }                                                                                  \
    }

/* KEEP(v): v stays in a register from its load on (without it gcc folds the
 * load into each multiply-add that uses v: one load per product again) */
#define PCX_DOT_KEEP_NONE(v) ((void)0)
PCX_DEFINE_DOT_GRID(pcx_dot_grid_f32_generic, float, pcx_dot_vf, pcx_dot_mf, 16,
                    PCX_DOT_KEEP_NONE, )
PCX_DEFINE_DOT_GRID(pcx_dot_grid_f64_generic, double, pcx_dot_vd, pcx_dot_md, 16,
                    PCX_DOT_KEEP_NONE, )

#ifdef PCX_DOT_X86
#define PCX_DOT_KEEP_REG(v) __asm__("" : "+v"(v))
PCX_DEFINE_DOT_GRID(pcx_dot_grid_f32_avx2, float, pcx_dot_vf8, pcx_dot_mf8, 8, PCX_DOT_KEEP_REG,
                    __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT_GRID(pcx_dot_grid_f64_avx2, double, pcx_dot_vd4, pcx_dot_md4, 4, PCX_DOT_KEEP_REG,
                    __attribute__((target("avx2,fma"))))
PCX_DEFINE_DOT_GRID(pcx_dot_grid_f32_avx512, float, pcx_dot_vf, pcx_dot_mf, 16, PCX_DOT_KEEP_REG,
                    __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))))
PCX_DEFINE_DOT_GRID(pcx_dot_grid_f64_avx512, double, pcx_dot_vd8, pcx_dot_md8, 8,
                    PCX_DOT_KEEP_REG,
                    __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))))
#endif

/* The weight gradient's wide tile (AVX-512 only): C[MR x NV*VL] += A * B with
 * A's MR rows lda apart (MR input channels of the band at one tap), B's K rows
 * ldb apart (the packed grad_output, output channels contiguous) and C's rows
 * ldc apart; k runs in order 0..K-1 with one fused multiply-add per product,
 * like the engine's gemm tile, whose 8 x 48 (float32) leaves a third of its
 * columns empty on 64 output channels: 6 x 64 fills them. */
#define PCX_WIDE_MR 6
#define PCX_WIDE_NV 4

#if defined(__GNUC__) && !defined(__clang__)
#define PCX_WIDE_UNROLL _Pragma("GCC unroll 8")
#else
#define PCX_WIDE_UNROLL
#endif

#define PCX_DEFINE_WIDE(name, T, V, ATTR)                                                  \
    ATTR static void name(int64_t K, const T *restrict A, int64_t lda,                     \
                          const T *restrict B, int64_t ldb, T *restrict C, int64_t ldc)    \
    {                                                                                      \
        const int VL = (int)(sizeof(V) / sizeof(T));                                       \
        V acc[PCX_WIDE_MR][PCX_WIDE_NV];                                                   \
        PCX_WIDE_UNROLL for (int m = 0; m < PCX_WIDE_MR; ++m)                              \
            PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                          \
                memcpy(&acc[m][v], C + m * ldc + v * VL, sizeof(V));                       \
        for (int64_t k = 0; k < K; ++k) {                                                  \
            V bv[PCX_WIDE_NV];                                                             \
            PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                          \
                bv[v] = *(const V *)(B + k * ldb + v * VL);                                \
            PCX_WIDE_UNROLL for (int m = 0; m < PCX_WIDE_MR; ++m) {                        \
                const T am = A[m * lda + k];                                               \
                PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                      \
                    acc[m][v] += am * bv[v];                                               \
            }                                                                              \
        }                                                                                  \
        PCX_WIDE_UNROLL for (int m = 0; m < PCX_WIDE_MR; ++m)                              \
            PCX_WIDE_UNROLL for (int v = 0; v < PCX_WIDE_NV; ++v)                          \
                memcpy(C + m * ldc + v * VL, &acc[m][v], sizeof(V));                       \
    }

typedef float pcx_wide_vf __attribute__((vector_size(64), aligned(4)));
typedef double pcx_wide_vd __attribute__((vector_size(64), aligned(8)));

/* Compiled for AVX-512 on x86 (the planner takes it only at that level),
 * portable elsewhere. */
#ifdef PCX_DOT_X86
#define PCX_WIDE_ATTR __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma")))
#else
#define PCX_WIDE_ATTR
#endif
PCX_DEFINE_WIDE(pcx_wide_f32, float, pcx_wide_vf, PCX_WIDE_ATTR)
PCX_DEFINE_WIDE(pcx_wide_f64, double, pcx_wide_vd, PCX_WIDE_ATTR)

/* level: 0 generic, 1 avx2, 2 avx512 (the engine's SimdLevel). */
#ifdef PCX_DOT_X86
#define PCX_DOT_PICK(T, sfx)                                                               \
    if (level >= 2) {                                                                      \
        pcx_dot_##sfx##_avx512(rows, width, a, a_pitch, b, b_pitch, off, count, acc,       \
                               overread);                                                  \
        return;                                                                            \
    }                                                                                      \
    if (level == 1) {                                                                      \
        pcx_dot_##sfx##_avx2(rows, width, a, a_pitch, b, b_pitch, off, count, acc,         \
                             overread);                                                    \
        return;                                                                            \
    }
#else
#define PCX_DOT_PICK(T, sfx)
#endif

#define PCX_DEFINE_DOT_DISPATCH(T, sfx)                                                    \
    static inline void pcx_dot_taps_##sfx(int level, int64_t rows, int64_t width,          \
                                          const T *a, int64_t a_pitch, const T *b,         \
                                          int64_t b_pitch, const int64_t *off,             \
                                          int64_t count, T *acc, int64_t overread)         \
    {                                                                                      \
        (void)level;                                                                       \
        PCX_DOT_PICK(T, sfx)                                                               \
        pcx_dot_##sfx##_generic(rows, width, a, a_pitch, b, b_pitch, off, count, acc,      \
                                overread);                                                 \
    }

/* The grid kernel of the level (see PCX_DEFINE_DOT_GRID); 0 when the shape
 * has none (the caller then runs pcx_dot_taps_*). */
#ifdef PCX_DOT_X86
#define PCX_DOT_GRID_PICK(sfx)                                                             \
    if (level >= 2)                                                                        \
        return pcx_dot_grid_##sfx##_avx512(rows, width, a, a_pitch, b, b_pitch, off, kh,   \
                                           kw, q, acc);                                    \
    if (level == 1)                                                                        \
        return pcx_dot_grid_##sfx##_avx2(rows, width, a, a_pitch, b, b_pitch, off, kh,     \
                                         kw, q, acc);
#else
#define PCX_DOT_GRID_PICK(sfx)
#endif

#define PCX_DEFINE_DOT_GRID_DISPATCH(T, sfx)                                               \
    static inline int pcx_dot_grid_##sfx(int level, int64_t rows, int64_t width,           \
                                         const T *a, int64_t a_pitch, const T *b,          \
                                         int64_t b_pitch, const int64_t *off, int64_t kh,  \
                                         int64_t kw, int64_t q, T *acc)                    \
    {                                                                                      \
        (void)level;                                                                       \
        PCX_DOT_GRID_PICK(sfx)                                                             \
        return pcx_dot_grid_##sfx##_generic(rows, width, a, a_pitch, b, b_pitch, off, kh,  \
                                            kw, q, acc);                                   \
    }

PCX_DEFINE_DOT_GRID_DISPATCH(float, f32)
PCX_DEFINE_DOT_GRID_DISPATCH(double, f64)

PCX_DEFINE_DOT_DISPATCH(float, f32)
PCX_DEFINE_DOT_DISPATCH(double, f64)

#endif
