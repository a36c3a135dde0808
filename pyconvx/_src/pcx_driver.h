/* Small helpers of the Cython driver that must stay scalar.
 *
 * The driver updates a tile's multi-index with scalar stores and reads it
 * back at once; auto-vectorised, this 2-3 term dot product loads the index as
 * one vector and stalls on store forwarding (measured: a quarter of the
 * depthwise run time).  Kept out of the vectoriser's reach on purpose. */
#ifndef PCX_DRIVER_H
#define PCX_DRIVER_H

#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
static inline int64_t pcx_offset(const int64_t *origin, const int64_t *index,
                                 const int64_t *strides, int64_t ndim)
{
    int64_t total = 0;
#if defined(__clang__)
#pragma clang loop vectorize(disable)
#endif
    for (int64_t i = 0; i < ndim; ++i)
        total += (origin[i] + index[i]) * strides[i];
    return total;
}

#endif
