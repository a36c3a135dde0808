# Chunked walks over planes for the engine's plane-by-plane modules (pooling,
# unfold), with a check for Ctrl-C between chunks (signal_pending, which the
# weight-gradient engine uses too), and the direct engine's check for Ctrl-C
# from inside its parallel loop (poll_signals).  Everything here is inline:
# it compiles into the modules that cimport it.

from cython.parallel cimport prange
from libc.stdint cimport int64_t

cdef extern from "Python.h":
    # the C call itself: a raised signal handler leaves its exception set for
    # the caller to propagate (Cython's own declaration would swallow it here)
    int check_signals_keep_exception "PyErr_CheckSignals"() noexcept

cdef enum:
    # what walk returns
    WALK_OK = 0
    WALK_INTERRUPTED = 1    # a signal handler raised (the exception is set)

# One task: positions [first, stop) of plane ``plane`` of the job ``job``.
ctypedef void (*range_task)(const void *job, int64_t plane, int64_t first,
                            int64_t stop) noexcept nogil


cdef inline bint signal_pending() noexcept nogil:
    """Whether a signal handler raised (Ctrl-C): the exception stays set."""
    with gil:
        return check_signals_keep_exception() != 0


cdef extern from *:
    """
    /* A stop flag the calling thread raises and every thread of the team reads
       before its next work unit (volatile: read from memory each time). */
    static inline int pcx_stop_raised(const volatile int *flag) { return *flag; }
    static inline void pcx_raise_stop(volatile int *flag) { *flag = 1; }
    """
    int stop_raised "pcx_stop_raised"(const int *flag) noexcept nogil
    void raise_stop "pcx_raise_stop"(int *flag) noexcept nogil


cdef inline void poll_signals(int thread, int64_t *ran, int64_t every,
                              int *stop) noexcept nogil:
    """After a work unit inside a parallel loop: on the calling thread (thread 0
    of the team, the one Python signal handlers run on), every ``every`` units
    (``ran`` counts them), check for Ctrl-C and raise ``stop`` if a handler
    raised.  No barrier: the other threads never wait for the check."""
    if thread != 0:
        return
    ran[0] += 1
    if ran[0] >= every:
        ran[0] = 0
        if signal_pending():
            raise_stop(stop)


cdef inline int walk(range_task task, const void *job, int64_t planes, int64_t span,
                     int64_t planes_per_chunk, int64_t span_per_chunk, int64_t pieces,
                     int threads) noexcept nogil:
    """Run ``task`` over positions [0, span) of every plane; return a status.

    The work goes in chunks of ``planes_per_chunk`` planes by ``span_per_chunk``
    positions: plane blocks in order, and in each block the position ranges in
    order, so the chunks of one plane run one after the other.  Inside a chunk
    each plane's range is cut into ``pieces`` parts and the (plane, part) pairs
    are split over the threads with a static schedule; with ``pieces == 1`` a
    plane's positions run on one thread in increasing order (what a task that
    adds into a plane needs for results that do not depend on the thread
    count).  Between chunks, a pending Ctrl-C stops the walk (the GIL is taken
    for that moment only).
    """
    cdef int64_t p0 = 0, p1, q0, q1, width, unit, plane, part, first, stop
    while p0 < planes:
        p1 = p0 + planes_per_chunk
        if p1 > planes:
            p1 = planes
        q0 = 0
        while q0 < span:
            q1 = q0 + span_per_chunk
            if q1 > span:
                q1 = span
            width = q1 - q0
            for unit in prange((p1 - p0) * pieces, schedule="static", num_threads=threads):
                plane = p0 + unit // pieces
                part = unit % pieces
                # part * width would overflow for huge widths: split the
                # remainder over the first parts instead
                first = q0 + (width // pieces) * part + min(part, width % pieces)
                stop = first + width // pieces + (1 if part < width % pieces else 0)
                if first < stop:
                    task(job, plane, first, stop)
            q0 = q1
            if (q0 < span or p1 < planes) and signal_pending():
                return WALK_INTERRUPTED
        p0 = p1
    return WALK_OK
