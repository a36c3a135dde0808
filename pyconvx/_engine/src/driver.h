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


/* Ask for the cache lines of the ``nbytes`` bytes from ``p`` to come into the
 * L2 cache (a hint: a prefetch never faults). */
static inline void pcx_prefetch_run_l2(const void *p, int64_t nbytes)
{
    const char *c = (const char *)p;
    for (int64_t i = 0; i < nbytes; i += 64)
        __builtin_prefetch(c + i, 0, 2);
    __builtin_prefetch(c + nbytes - 1, 0, 2);
}

/* The direct engine's workspace.  Blocks of 2 MiB or more are 2 MiB
 * aligned and, where the kernel offers it, backed by transparent huge pages:
 * the first call of a process then takes a handful of page faults instead of
 * one per 4 KiB (each costs microseconds under a hypervisor).  Free with free(). */
#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#define PCX_HUGE (2u << 20)

static inline void *pcx_workspace_alloc(size_t nbytes)
{
    void *p = NULL;
#if defined(_WIN32)
    return malloc(nbytes);   /* no posix_memalign; free() must release it */
#endif
    if (nbytes < PCX_HUGE)
        return malloc(nbytes);
    nbytes = (nbytes + PCX_HUGE - 1) / PCX_HUGE * PCX_HUGE;
    if (posix_memalign(&p, PCX_HUGE, nbytes) != 0)
        return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, nbytes, MADV_HUGEPAGE);   /* advice only: failure changes nothing */
#endif
    return p;
}

#endif
