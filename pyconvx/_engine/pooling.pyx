"""pyconvx's compiled pooling core: max and average pooling, their gradients, max unpooling.

This module only computes.  ``pyconvx.pooling`` validates every argument,
allocates the results and gives, per output row and per output column, the
window's extent clipped to the input (the *tables*: the first input index
inside the input, the number of taps inside it, and torch's padded extent,
the divisor of average pooling with ``count_include_pad``).  A window's walk
therefore never visits padding, whatever the kernel size.

Arrays are ``(N, C, H, W)`` views with any element strides (channels-last data
is read and written through its strides).  The positions of the (N * C)
planes are walked in chunks (``chunks.walk``) over OpenMP threads, with a
check for Ctrl-C between chunks.  A window of more than ``CHUNK_TAPS`` taps
is itself cut into pieces, its running state (sum, or maximum and where it
is) kept between them, so that a chunk stays small whatever the window.
Every output is computed by one thread in a fixed order (its taps in
row-major order, however they are cut), and the operations that add or write
into a plane (the gradients, unpooling) keep each plane on one thread in
row-major order of the positions they walk, so results never depend on the
thread count.
"""

from cython cimport floating
from libc.math cimport INFINITY, isnan
from libc.stdint cimport int64_t

cimport numpy as cnp

import numpy as np

from pyconvx._engine.chunks cimport WALK_INTERRUPTED, WALK_OK, signal_pending, walk

cnp.import_array()

cdef enum Op:
    MAX = 0
    AVG = 1
    MAX_BACKWARD = 2
    AVG_BACKWARD = 3
    UNPOOL = 4

#: Window taps (or positions) one chunk of work aims for: Ctrl-C is checked
#: between chunks, each a few milliseconds of work.  A window of more taps is
#: walked in pieces.
CHUNK_TAPS = 1 << 24


cdef struct WindowState:
    # one plane's window between two of its pieces
    double total            # average pooling: the running sum
    double best_double      # max pooling: the running maximum, in the result dtype
    float best_float
    int64_t best_row        # and where it is (row -1: no tap inside the input)
    int64_t best_col


cdef struct Job:
    int op
    bint is_double
    # the planes: (N, C, H, W) element strides; NULL where an operation has none
    const void *x          # pooling input (max: its gradient's argmax; unpool: the pooled values)
    const void *grad       # gradient of the pooled output
    void *out              # pooled output, input gradient or unpooled output
    int64_t *indices       # max pooling's argmax (written), or unpooling's (read)
    int64_t x_strides[4]
    int64_t grad_strides[4]
    int64_t out_strides[4]
    int64_t index_strides[4]
    int64_t channels
    # the grid of walked positions (pooled outputs; unpool: the pooled input)
    int64_t grid_w
    # the plane a flat index refers to (pooling input; unpool: the output)
    int64_t plane_w
    int64_t plane_size
    int64_t dilation_h
    int64_t dilation_w
    # per output row / column: first input index inside the input, taps inside
    # it, torch's padded extent
    const int64_t *row_first
    const int64_t *row_count
    const int64_t *row_span
    const int64_t *col_first
    const int64_t *col_count
    const int64_t *col_span
    bint count_include_pad
    double divisor          # 0: torch's rule from the tables
    # windows cut into pieces (NULL states: whole windows): the window walked,
    # the taps of one piece, one state per plane of a chunk
    int64_t window_h
    int64_t window_w
    int64_t piece_taps
    WindowState *states
    int64_t state_slots


cdef inline int64_t plane_offset(const int64_t *strides, int64_t plane,
                                 int64_t channels) noexcept nogil:
    return (plane // channels) * strides[0] + (plane % channels) * strides[1]


cdef inline void next_position(int64_t *oh, int64_t *ow, int64_t grid_w) noexcept nogil:
    """The next position of the walk, in row-major order."""
    ow[0] += 1
    if ow[0] == grid_w:
        ow[0] = 0
        oh[0] += 1


cdef inline void max_of_row(const floating *line, int64_t sw, int64_t col0, int64_t dw,
                            int64_t row, int64_t c_begin, int64_t c_end, floating *best,
                            int64_t *best_row, int64_t *best_col) noexcept nogil:
    """Taps [c_begin, c_end) of one window row (``line``: its input row) into the
    running maximum and its place: a larger value or a NaN takes over."""
    cdef int64_t c, col
    cdef floating value
    for c in range(c_begin, c_end):
        col = col0 + c * dw
        value = line[col * sw]
        if value > best[0] or isnan(value):
            best[0] = value
            best_row[0] = row
            best_col[0] = col


cdef inline double sum_of_row(const floating *line, int64_t sw, int64_t c_begin,
                              int64_t c_end, double total) noexcept nogil:
    """``total`` plus taps [c_begin, c_end) of one window row (``line``: its first
    tap), in order, in float64."""
    cdef int64_t c
    for c in range(c_begin, c_end):
        total = total + line[c * sw]
    return total


cdef inline void add_to_row(floating *line, int64_t gw, int64_t c_begin, int64_t c_end,
                            floating share) noexcept nogil:
    """``share`` added to taps [c_begin, c_end) of one window row (``line``: its
    first tap)."""
    cdef int64_t c
    for c in range(c_begin, c_end):
        line[c * gw] += share


cdef inline void start_max(const Job *job, int64_t oh, int64_t ow, floating *best,
                           int64_t *best_row, int64_t *best_col) noexcept nogil:
    """A window's maximum before its first tap: -inf at its first tap, or row -1
    for a window with no tap inside the input."""
    best[0] = -INFINITY
    best_row[0] = job.row_first[oh] if job.row_count[oh] > 0 and job.col_count[ow] > 0 else -1
    best_col[0] = job.col_first[ow]


cdef inline floating window_max(const Job *job, const floating *x, int64_t oh, int64_t ow,
                                int64_t *best_row, int64_t *best_col) noexcept nogil:
    """The window's maximum, and where it is: the first maximum in row-major
    order; a NaN wins (the last one, as in torch); -inf and the first tap when
    every tap is -inf.  An empty window (no tap inside the input) gives -inf
    and row -1."""
    cdef int64_t row0 = job.row_first[oh], rows = job.row_count[oh]
    cdef int64_t col0 = job.col_first[ow], cols = job.col_count[ow]
    cdef int64_t sh = job.x_strides[2], sw = job.x_strides[3]
    cdef int64_t dh = job.dilation_h, dw = job.dilation_w, r, row
    cdef floating best
    start_max(job, oh, ow, &best, best_row, best_col)
    for r in range(rows):
        row = row0 + r * dh
        max_of_row(x + row * sh, sw, col0, dw, row, 0, cols, &best, best_row, best_col)
    return best


cdef inline double window_divisor(const Job *job, int64_t oh, int64_t ow) noexcept nogil:
    """Average pooling's divisor (torch's rule; double: a product of two huge
    extents stays a correctly rounded number)."""
    if job.divisor != 0:
        return job.divisor
    if job.count_include_pad:
        return <double>job.row_span[oh] * <double>job.col_span[ow]
    return <double>job.row_count[oh] * <double>job.col_count[ow]


cdef inline void write_max(const Job *job, floating *out, int64_t *indices, int64_t oh,
                           int64_t ow, floating best, int64_t best_row,
                           int64_t best_col) noexcept nogil:
    """A window's maximum into ``out``, and its flat index (-1: no tap inside
    the input) into ``indices`` unless NULL."""
    out[oh * job.out_strides[2] + ow * job.out_strides[3]] = best
    if indices != NULL:
        indices[oh * job.index_strides[2] + ow * job.index_strides[3]] = (
            best_row * job.plane_w + best_col if best_row >= 0 else -1)


cdef inline void write_average(const Job *job, floating *out, int64_t oh, int64_t ow,
                               double total) noexcept nogil:
    """A window's float64 sum, divided once: one rounding to the result dtype."""
    out[oh * job.out_strides[2] + ow * job.out_strides[3]] = <floating>(
        total / window_divisor(job, oh, ow))


cdef inline void add_max_gradient(const Job *job, const floating *grad, floating *grad_x,
                                  int64_t oh, int64_t ow, int64_t best_row,
                                  int64_t best_col) noexcept nogil:
    """An output's gradient added to its window's maximum (none for a window with
    no tap inside the input)."""
    if best_row >= 0:
        grad_x[best_row * job.out_strides[2] + best_col * job.out_strides[3]] += grad[
            oh * job.grad_strides[2] + ow * job.grad_strides[3]]


cdef inline floating average_share(const Job *job, const floating *grad, int64_t oh,
                                   int64_t ow) noexcept nogil:
    """An output's gradient over its divisor (torch's arithmetic: the quotient
    in the result dtype)."""
    return grad[oh * job.grad_strides[2] + ow * job.grad_strides[3]] / <floating>(
        window_divisor(job, oh, ow))


cdef void max_range(const Job *job, const floating *x, floating *out, int64_t *indices,
                    int64_t first, int64_t stop) noexcept nogil:
    cdef int64_t grid_w = job.grid_w, oh = first // grid_w, ow = first % grid_w, q
    cdef int64_t best_row, best_col
    cdef floating best
    for q in range(first, stop):
        best = window_max(job, x, oh, ow, &best_row, &best_col)
        write_max(job, out, indices, oh, ow, best, best_row, best_col)
        next_position(&oh, &ow, grid_w)


cdef void avg_range(const Job *job, const floating *x, floating *out, int64_t first,
                    int64_t stop) noexcept nogil:
    cdef int64_t grid_w = job.grid_w, oh = first // grid_w, ow = first % grid_w, q, r
    cdef int64_t sh = job.x_strides[2], sw = job.x_strides[3], row0, rows, col0, cols
    cdef double total
    for q in range(first, stop):
        row0 = job.row_first[oh]
        rows = job.row_count[oh]
        col0 = job.col_first[ow]
        cols = job.col_count[ow]
        total = 0.0
        for r in range(rows):
            total = sum_of_row(x + (row0 + r) * sh + col0 * sw, sw, 0, cols, total)
        write_average(job, out, oh, ow, total)
        next_position(&oh, &ow, grid_w)


cdef void max_backward_range(const Job *job, const floating *x, const floating *grad,
                             floating *grad_x, int64_t first, int64_t stop) noexcept nogil:
    """Each output's gradient added to its window's argmax (torch's order:
    outputs in row-major order, in the result dtype)."""
    cdef int64_t grid_w = job.grid_w, oh = first // grid_w, ow = first % grid_w, q
    cdef int64_t best_row, best_col
    for q in range(first, stop):
        window_max(job, x, oh, ow, &best_row, &best_col)
        add_max_gradient(job, grad, grad_x, oh, ow, best_row, best_col)
        next_position(&oh, &ow, grid_w)


cdef void avg_backward_range(const Job *job, const floating *grad, floating *grad_x,
                             int64_t first, int64_t stop) noexcept nogil:
    """Each output's gradient over its divisor, added to every input of its
    window (torch's order and arithmetic)."""
    cdef int64_t grid_w = job.grid_w, oh = first // grid_w, ow = first % grid_w, q, r
    cdef int64_t gh = job.out_strides[2], gw = job.out_strides[3]
    cdef int64_t row0, rows, col0, cols
    cdef floating share
    for q in range(first, stop):
        row0 = job.row_first[oh]
        rows = job.row_count[oh]
        col0 = job.col_first[ow]
        cols = job.col_count[ow]
        share = average_share(job, grad, oh, ow)
        for r in range(rows):
            add_to_row(grad_x + (row0 + r) * gh + col0 * gw, gw, 0, cols, share)
        next_position(&oh, &ow, grid_w)


cdef inline int64_t window_pieces(const Job *job, int64_t oh, int64_t ow) noexcept nogil:
    """How many pieces of ``job.piece_taps`` taps the window at (oh, ow) is cut
    into (one at least: an empty window still has an output)."""
    cdef int64_t taps = job.row_count[oh] * job.col_count[ow]
    return max(1, taps // job.piece_taps + (1 if taps % job.piece_taps else 0))


cdef void window_piece_range(const Job *job, const floating *x, const floating *grad,
                             floating *out, int64_t *indices, WindowState *state,
                             int64_t first, int64_t stop) noexcept nogil:
    """Pieces [first, stop) of the window (job.window_h, job.window_w) of one
    plane: its taps from ``first * piece_taps`` on, in row-major order, as the
    whole window's walk takes them; ``state`` carries the sum or the maximum
    from one piece to the next, and the last piece writes the result."""
    cdef int64_t oh = job.window_h, ow = job.window_w
    cdef int64_t row0 = job.row_first[oh], col0 = job.col_first[ow]
    cdef int64_t cols = job.col_count[ow]
    cdef int64_t dh = job.dilation_h, dw = job.dilation_w
    cdef int64_t sh = job.x_strides[2], sw = job.x_strides[3]
    cdef int64_t gh = job.out_strides[2], gw = job.out_strides[3]
    cdef int64_t tap = first * job.piece_taps, r, c, c_end, row
    cdef int64_t end = min(stop * job.piece_taps, job.row_count[oh] * cols)
    cdef floating best = 0, share = 0
    if first == 0:
        state.total = 0.0
        start_max(job, oh, ow, &best, &state.best_row, &state.best_col)
    else:
        if floating is float:
            best = state.best_float
        else:
            best = state.best_double
    if job.op == AVG_BACKWARD:
        share = average_share(job, grad, oh, ow)
    if tap < end:
        r = tap // cols
        c = tap % cols
    while tap < end:
        c_end = min(cols, c + (end - tap))
        row = row0 + r * dh
        if job.op == AVG:
            state.total = sum_of_row(x + row * sh + col0 * sw, sw, c, c_end, state.total)
        elif job.op == AVG_BACKWARD:
            add_to_row(out + row * gh + col0 * gw, gw, c, c_end, share)
        else:
            max_of_row(x + row * sh, sw, col0, dw, row, c, c_end, &best, &state.best_row,
                       &state.best_col)
        tap += c_end - c
        r += 1
        c = 0
    if stop < window_pieces(job, oh, ow):
        if floating is float:
            state.best_float = best
        else:
            state.best_double = best
    elif job.op == MAX:
        write_max(job, out, indices, oh, ow, best, state.best_row, state.best_col)
    elif job.op == AVG:
        write_average(job, out, oh, ow, state.total)
    elif job.op == MAX_BACKWARD:
        add_max_gradient(job, grad, out, oh, ow, state.best_row, state.best_col)


cdef void unpool_range(const Job *job, const floating *x, const int64_t *indices,
                       floating *out, int64_t first, int64_t stop) noexcept nogil:
    """out[index] = value for the pooled positions in row-major order (a later
    position writing the same index wins); -1 (no input) and any index outside
    the plane write nothing."""
    cdef int64_t grid_w = job.grid_w, oh = first // grid_w, ow = first % grid_w, q, target
    for q in range(first, stop):
        target = indices[oh * job.index_strides[2] + ow * job.index_strides[3]]
        if 0 <= target < job.plane_size:
            out[(target // job.plane_w) * job.out_strides[2]
                + (target % job.plane_w) * job.out_strides[3]] = x[
                    oh * job.x_strides[2] + ow * job.x_strides[3]]
        next_position(&oh, &ow, grid_w)


cdef void run_planes(const Job *job, const floating *x, const floating *grad, floating *out,
                     int64_t plane, int64_t first, int64_t stop) noexcept nogil:
    """Positions [first, stop) of one plane, for this job's operation (or, for
    windows cut into pieces, pieces [first, stop) of the job's window)."""
    cdef int64_t channels = job.channels
    cdef int64_t *indices = job.indices
    if x != NULL:
        x = x + plane_offset(job.x_strides, plane, channels)
    if grad != NULL:
        grad = grad + plane_offset(job.grad_strides, plane, channels)
    out = out + plane_offset(job.out_strides, plane, channels)
    if indices != NULL:
        indices = indices + plane_offset(job.index_strides, plane, channels)
    if job.states != NULL:
        # walk's plane blocks start at multiples of state_slots (its planes per
        # chunk): the planes of one chunk have a slot each
        window_piece_range(job, x, grad, out, indices, job.states + plane % job.state_slots,
                           first, stop)
    elif job.op == MAX:
        max_range(job, x, out, indices, first, stop)
    elif job.op == AVG:
        avg_range(job, x, out, first, stop)
    elif job.op == MAX_BACKWARD:
        max_backward_range(job, x, grad, out, first, stop)
    elif job.op == AVG_BACKWARD:
        avg_backward_range(job, grad, out, first, stop)
    else:
        unpool_range(job, x, indices, out, first, stop)


cdef void run_task(const void *job_pointer, int64_t plane, int64_t first,
                   int64_t stop) noexcept nogil:
    cdef const Job *job = <const Job *>job_pointer
    if job.is_double:
        run_planes(job, <const double *>job.x, <const double *>job.grad, <double *>job.out,
                   plane, first, stop)
    else:
        run_planes(job, <const float *>job.x, <const float *>job.grad, <float *>job.out,
                   plane, first, stop)


cdef int _propagate_pending_exception() except -1:
    """Raise the exception a signal handler left set (returning -1 makes Cython do it)."""
    return -1


def _element_strides(array, name, dtype, shape, writeable=False):
    """The element strides of a 4-d array the engine reads (or writes)."""
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 4:
        raise ValueError(f"{name} must be a 4-d {dtype} array")
    if shape is not None and array.shape != tuple(shape):
        raise ValueError(f"{name} has shape {array.shape}, expected {tuple(shape)}")
    if not array.flags.aligned or any(s % array.itemsize for s in array.strides):
        raise ValueError(f"{name} must be aligned, with whole-element strides")
    if writeable and not array.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    return [s // array.itemsize for s in array.strides]


def _tables(windows, name):
    """A (3, length) C-contiguous int64 table: first, count, span per position."""
    if (not isinstance(windows, np.ndarray) or windows.dtype != np.int64
            or windows.ndim != 2 or windows.shape[0] != 3 or not windows.flags.c_contiguous):
        raise ValueError(f"{name} must be a C-contiguous int64 array of shape (3, length)")
    return windows


def _chunk_shape(planes, span, cost, threads, adds_into_planes):
    """(planes per chunk, positions per chunk, pieces per plane) for ``walk``:
    about CHUNK_TAPS taps per chunk; a plane's positions split into pieces
    only where outputs are independent."""
    per_chunk = max(1, CHUNK_TAPS // cost)
    span_per_chunk = min(span, per_chunk)
    planes_per_chunk = min(planes, max(1, per_chunk // span_per_chunk))
    if adds_into_planes:
        return planes_per_chunk, span_per_chunk, 1
    return planes_per_chunk, span_per_chunk, max(1, min(-(-threads // planes_per_chunk),
                                                        span_per_chunk))


def _piece_shape(planes, threads):
    """(planes per chunk, taps per piece) for windows cut into pieces: each
    thread takes one plane's piece, about CHUNK_TAPS taps per chunk in all."""
    planes_per_chunk = max(1, min(planes, threads))
    return planes_per_chunk, max(1, CHUNK_TAPS // planes_per_chunk)


cdef int _walk_pieces(Job *job, int64_t planes, int64_t span, int64_t planes_per_chunk,
                      int threads) noexcept nogil:
    """Every window in row-major order of the positions, each one ``walk`` over
    its pieces (a plane's pieces in order on one thread at a time); a pending
    Ctrl-C is checked between chunks and between windows."""
    cdef int64_t q
    cdef int status = WALK_OK
    job.window_h = 0
    job.window_w = 0
    for q in range(span):
        if q > 0:
            if signal_pending():
                return WALK_INTERRUPTED
            next_position(&job.window_h, &job.window_w, job.grid_w)
        status = walk(run_task, job, planes, window_pieces(job, job.window_h, job.window_w),
                      planes_per_chunk, 1, 1, threads)
        if status != WALK_OK:
            return status
    return status


cdef _run(Job *job, object dtype, int64_t planes, int64_t grid_h, int64_t grid_w,
          int64_t cost, bint adds_into_planes, int threads):
    """Walk the job's positions in chunks of about CHUNK_TAPS taps; windows of
    more taps (``cost`` counts the output too) are cut into pieces."""
    cdef int64_t span = grid_h * grid_w
    cdef int64_t planes_per_chunk, span_per_chunk, pieces
    cdef int status
    if planes == 0 or span == 0:
        return
    job.is_double = dtype == np.float64
    job.grid_w = grid_w
    job.states = NULL
    if job.op != UNPOOL and cost > CHUNK_TAPS:
        planes_per_chunk, job.piece_taps = _piece_shape(planes, threads)
        states = np.empty(planes_per_chunk * sizeof(WindowState), np.uint8)
        job.states = <WindowState *>cnp.PyArray_DATA(<cnp.ndarray>states)
        job.state_slots = planes_per_chunk
        with nogil:
            status = _walk_pieces(job, planes, span, planes_per_chunk, threads)
        if status == WALK_INTERRUPTED:
            _propagate_pending_exception()
        return
    planes_per_chunk, span_per_chunk, pieces = _chunk_shape(planes, span, cost, threads,
                                                            adds_into_planes)
    with nogil:
        status = walk(run_task, job, planes, span, planes_per_chunk, span_per_chunk, pieces,
                      threads)
    if status == WALK_INTERRUPTED:
        _propagate_pending_exception()


cdef void _fill(Job *job, int op, x, grad, out, indices, rows, cols, double divisor,
                bint count_include_pad, int64_t dilation_h, int64_t dilation_w) except *:
    """Check the arrays (dtype, shapes, strides) and put them in ``job``.

    ``out`` is what the operation writes; ``grad`` is the pooled output's
    gradient; ``rows`` and ``cols`` the (3, H_out) and (3, W_out) tables
    (None for unpooling).  Arrays that do not fit are a ValueError.
    """
    cdef int i
    cdef int64_t grid_h, grid_w
    if not isinstance(out, np.ndarray) or out.dtype not in (np.float32, np.float64):
        raise ValueError("out must be a float32 or float64 array")
    dtype = out.dtype
    out_strides = _element_strides(out, "out", dtype, None, writeable=True)
    batch = out.shape[:2]
    # grid: the walked positions; plane: what a flat index refers to
    if op == UNPOOL:
        x_strides = _element_strides(x, "x", dtype, None)
        grid = x.shape[2:]
    else:
        grid = (_tables(rows, "rows").shape[1], _tables(cols, "cols").shape[1])
    if op == MAX or op == AVG:
        x_strides = _element_strides(x, "x", dtype, None)
        plane = x.shape[2:]
        _element_strides(out, "out", dtype, x.shape[:2] + grid)
    else:
        plane = out.shape[2:]
        if op == MAX_BACKWARD:
            x_strides = _element_strides(x, "x", dtype, out.shape)
    job.op = op
    job.x = NULL
    job.grad = NULL
    job.indices = NULL
    job.out = cnp.PyArray_DATA(<cnp.ndarray>out)
    if x is not None:
        job.x = cnp.PyArray_DATA(<cnp.ndarray>x)
        for i in range(4):
            job.x_strides[i] = x_strides[i]
    if grad is not None:
        grad_strides = _element_strides(grad, "grad", dtype, batch + grid)
        job.grad = cnp.PyArray_DATA(<cnp.ndarray>grad)
        for i in range(4):
            job.grad_strides[i] = grad_strides[i]
    if indices is not None:
        index_strides = _element_strides(indices, "indices", np.dtype(np.int64), batch + grid,
                                         writeable=op == MAX)
        job.indices = <int64_t *>cnp.PyArray_DATA(<cnp.ndarray>indices)
        for i in range(4):
            job.index_strides[i] = index_strides[i]
    for i in range(4):
        job.out_strides[i] = out_strides[i]
    job.channels = batch[1]
    job.plane_w = plane[1]
    job.plane_size = plane[0] * plane[1]
    job.dilation_h = dilation_h
    job.dilation_w = dilation_w
    job.count_include_pad = count_include_pad
    job.divisor = divisor
    if rows is not None:
        grid_h, grid_w = grid
        job.row_first = <const int64_t *>cnp.PyArray_DATA(<cnp.ndarray>rows)
        job.row_count = job.row_first + grid_h
        job.row_span = job.row_count + grid_h
        job.col_first = <const int64_t *>cnp.PyArray_DATA(<cnp.ndarray>cols)
        job.col_count = job.col_first + grid_w
        job.col_span = job.col_count + grid_w


def _window_cost(rows, cols):
    """Most taps one window walks, plus one for the output itself."""
    return int(rows[1].max(initial=0)) * int(cols[1].max(initial=0)) + 1


def max_pool(x, out, indices, rows, cols, int64_t dilation_h, int64_t dilation_w,
             int threads):
    """Max pooling of ``x`` (N, C, H, W) into ``out`` (N, C, H_out, W_out); the flat
    index (row * W + column) of each window's maximum into ``indices`` (int64,
    shaped like ``out``) unless None; -1 for a window with no tap in the input."""
    cdef Job job
    _fill(&job, MAX, x, None, out, indices, rows, cols, 0, False, dilation_h, dilation_w)
    _run(&job, out.dtype, out.shape[0] * out.shape[1], out.shape[2], out.shape[3],
         _window_cost(rows, cols), False, threads)


def avg_pool(x, out, rows, cols, bint count_include_pad, double divisor, int threads):
    """Average pooling of ``x`` into ``out``; ``divisor`` 0 means torch's rule
    (the padded extent with ``count_include_pad``, else the taps in the input)."""
    cdef Job job
    _fill(&job, AVG, x, None, out, None, rows, cols, divisor, count_include_pad, 1, 1)
    _run(&job, out.dtype, out.shape[0] * out.shape[1], out.shape[2], out.shape[3],
         _window_cost(rows, cols), False, threads)


def max_pool_backward(x, grad, grad_x, rows, cols, int64_t dilation_h, int64_t dilation_w,
                      int threads):
    """Add each entry of ``grad`` (N, C, H_out, W_out) to ``grad_x`` (N, C, H, W,
    zeroed by the caller) at its window's maximum in ``x``."""
    cdef Job job
    _fill(&job, MAX_BACKWARD, x, grad, grad_x, None, rows, cols, 0, False, dilation_h,
          dilation_w)
    _run(&job, grad_x.dtype, grad_x.shape[0] * grad_x.shape[1], grad.shape[2], grad.shape[3],
         _window_cost(rows, cols), True, threads)


def avg_pool_backward(grad, grad_x, rows, cols, bint count_include_pad, double divisor,
                      int threads):
    """Add each entry of ``grad`` over its divisor to every input of its window
    in ``grad_x`` (N, C, H, W, zeroed by the caller)."""
    cdef Job job
    _fill(&job, AVG_BACKWARD, None, grad, grad_x, None, rows, cols, divisor,
          count_include_pad, 1, 1)
    _run(&job, grad_x.dtype, grad_x.shape[0] * grad_x.shape[1], grad.shape[2], grad.shape[3],
         _window_cost(rows, cols), True, threads)


def max_unpool(x, indices, out, int threads):
    """``out[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j]`` in row-major order of
    (i, j); ``out`` (N, C, H, W) zeroed by the caller; indices outside
    [0, H * W) write nothing."""
    cdef Job job
    _fill(&job, UNPOOL, x, None, out, indices, None, None, 0, False, 1, 1)
    _run(&job, out.dtype, out.shape[0] * out.shape[1], x.shape[2], x.shape[3], 1, True,
         threads)
