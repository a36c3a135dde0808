"""Filtering along rows with the tap-rows microkernel: 1-D passes and small 2-d kernels.

An input of shape ``(outer, rows, width)`` (C-contiguous) is correlated with
a ``KH x KW`` kernel over its last two axes; every output row is one call of
the set's ``taps`` microkernel over the ``KH * KW`` input rows it reads:

* a pass along the rows axis (``KW == 1``, no column border) reads the input
  rows in place, vectorised across the columns (``width`` is every axis after
  the filtered one, merged); a row outside the input is the fill row;
* otherwise each input row an output row reads is first written out with its
  column border (``col_index``) into a small ring of padded rows, one per
  kernel row, kept by the thread while it walks down its rows.

``row_index`` and ``col_index`` map padded coordinates to input rows and
columns (-1: the fill value), computed by the caller for any border width.
Each output sums its taps column-major (``k = kw * KH + kh``) from zero with
one fused multiply-add per tap: the bits do not depend on the thread count,
on the units or on where in a row the output falls.
"""

from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t
from libc.string cimport memcpy

cimport numpy as cnp

import numpy as np

from pyconvx._engine.contract cimport detected_level, pcx_ukernel_set, real, ukernel_set

cnp.import_array()

cdef extern from "Python.h":
    # the C call itself: a raised signal handler leaves its exception set
    int check_signals_keep_exception "PyErr_CheckSignals"() noexcept

#: Output rows per work unit (several: a thread's ring of padded rows is
#: reused down a unit) and columns per unit of a pass read in place (the
#: KH input rows of a unit's columns stay in cache from one row to the next).
#: Fixed numbers: the units never depend on the thread count.
#: Work units run between two checks for Ctrl-C.  Padded rows start on a
#: boundary of ROW_ALIGN elements (64 bytes for float32).
cdef enum:
    UNIT_ROWS = 32
    UNIT_COLUMNS = 2048
    UNITS_PER_CHECK = 256
    ROW_ALIGN = 16


cdef struct TapsJob:
    int64_t outer, rows, width, rows_out, width_out, kh, kw
    int64_t lines, unit_rows, segment, n_segments
    int64_t pitch, interior_lo, interior_hi, shift
    const int64_t *row_index
    const int64_t *col_index


cdef inline void run_taps(const pcx_ukernel_set *ks, int64_t K, const real *w,
                          const real **ptrs, int64_t n, real *dst) noexcept nogil:
    if real is float:
        ks.f32.taps(K, w, ptrs, n, dst)
    else:
        ks.f64.taps(K, w, ptrs, n, dst)


cdef inline void run_taps4(const pcx_ukernel_set *ks, int64_t KH, int64_t KW, const real *w,
                           const real **ptrs, int64_t n, real *dst, int64_t ldd) noexcept nogil:
    if real is float:
        ks.f32.taps4(KH, KW, w, ptrs, n, dst, ldd)
    else:
        ks.f64.taps4(KH, KW, w, ptrs, n, dst, ldd)


cdef void pad_row(const TapsJob *job, const real *src, real fill, real *dst) noexcept nogil:
    """``dst[q]`` = the input column ``col_index[q]`` of ``src`` (the fill for -1)."""
    cdef int64_t q, c, padded = job.width_out + job.kw - 1
    if src == NULL:
        for q in range(padded):
            dst[q] = fill
        return
    for q in range(job.interior_lo):
        c = job.col_index[q]
        dst[q] = fill if c < 0 else src[c]
    if job.interior_hi > job.interior_lo:
        memcpy(dst + job.interior_lo, src + job.interior_lo + job.shift,
               (job.interior_hi - job.interior_lo) * sizeof(real))
    for q in range(job.interior_hi, padded):
        c = job.col_index[q]
        dst[q] = fill if c < 0 else src[c]


cdef void taps_unit(const TapsJob *job, const pcx_ukernel_set *ks, int64_t u, const real *x,
                    const real *w, real fill, const real *fill_row, real *out, real *ring,
                    const real **ptrs) noexcept nogil:
    """Output rows ``[first, last)`` of unit ``u`` (and its columns, read in place)."""
    cdef int64_t chunk = u // job.n_segments, s = u % job.n_segments
    cdef int64_t first = chunk * job.unit_rows, last = first + job.unit_rows
    cdef int64_t line, o, i, t, r, a, b, rows, j0 = 0, n = job.width_out
    cdef int64_t built_image = -1, built_hi = -1, taps = job.kh * job.kw
    cdef const real *src
    if last > job.lines:
        last = job.lines
    if job.col_index == NULL:
        j0 = s * job.segment
        if n - j0 > job.segment:
            n = job.segment
        else:
            n = n - j0
    line = first
    while line < last:
        o = line // job.rows_out
        i = line % job.rows_out
        # four output rows of one image share their input rows' loads (a
        # kernel of one row has none to share: measured slower)
        rows = 4 if job.kh > 1 and line + 4 <= last and i + 4 <= job.rows_out else 1
        if job.col_index == NULL:
            for a in range(job.kh + rows - 1):
                r = job.row_index[i + a]
                ptrs[a] = (fill_row if r < 0 else x + (o * job.rows + r) * job.width) + j0
        else:
            t = i
            if built_image == o and i < built_hi <= i + job.kh + 3:
                t = built_hi   # rows i .. built_hi - 1 are in the ring already
            while t < i + job.kh + rows - 1:
                r = job.row_index[t]
                if r < 0:
                    pad_row(job, NULL, fill, ring + (t % (job.kh + 3)) * job.pitch)
                else:
                    pad_row(job, x + (o * job.rows + r) * job.width, fill,
                            ring + (t % (job.kh + 3)) * job.pitch)
                t += 1
            built_image, built_hi = o, t
            if rows == 4:
                for a in range(job.kh + 3):
                    ptrs[a] = ring + ((i + a) % (job.kh + 3)) * job.pitch
            else:
                for b in range(job.kw):
                    for a in range(job.kh):
                        ptrs[b * job.kh + a] = ring + ((i + a) % (job.kh + 3)) * job.pitch + b
        if rows == 4:
            run_taps4(ks, job.kh, job.kw, w, ptrs, n, out + line * job.width_out + j0,
                      job.width_out)
        elif job.col_index == NULL:
            run_taps(ks, job.kh, w, ptrs, n, out + line * job.width_out + j0)
        else:
            run_taps(ks, taps, w, ptrs, n, out + line * job.width_out)
        line += rows


cdef int run_job(const TapsJob *job, const pcx_ukernel_set *ks, const real *x, const real *w,
                 real fill, const real *fill_row, real *out, real *rings, int64_t ring_elems,
                 const real **ptrs, int threads) noexcept nogil:
    """Every unit of ``job``; 1 when Ctrl-C stopped it (the exception is set)."""
    cdef int64_t n_units = (job.lines + job.unit_rows - 1) // job.unit_rows * job.n_segments
    cdef int64_t start = 0, stop, u, taps = job.kh * job.kw
    cdef int tid
    while start < n_units:
        stop = start + UNITS_PER_CHECK
        if stop > n_units:
            stop = n_units
        for u in prange(start, stop, schedule="dynamic", num_threads=threads):
            tid = threadid()
            taps_unit(job, ks, u, x, w, fill, fill_row, out, rings + tid * ring_elems,
                      ptrs + tid * (taps + 3))
        start = stop
        if start < n_units:
            with gil:
                if check_signals_keep_exception() != 0:
                    return 1
    return 0


def _int64_table(values, name, length, low, high):
    table = np.ascontiguousarray(values, dtype=np.int64)
    if table.ndim != 1 or table.shape[0] != length:
        raise ValueError(f"{name} must hold {length} indices, got shape {table.shape}")
    if length and (table.min() < low or table.max() >= high):
        raise ValueError(f"{name} holds indices outside [{low}, {high})")
    return table


def _copied_run(table):
    """``(shift, lo, hi)``: the longest run of padded columns ``q`` in ``[lo, hi)`` that
    read input column ``q + shift`` (copied at once); ``(0, 0, 0)`` for none."""
    valid = table >= 0
    if not valid.any():
        return 0, 0, 0
    last = table.shape[0] - 1
    follows = np.concatenate(([False], (table[1:] == table[:last] + 1) & valid[:last]))
    starts = np.flatnonzero(valid & ~follows)
    ends = np.append(starts[1:], table.shape[0])
    # a run ends where the next column does not follow on
    lengths = np.array([int(np.argmin(np.append(follows[s + 1:e], False))) + 1
                        for s, e in zip(starts, ends)])
    best = int(np.argmax(lengths))
    lo = int(starts[best])
    return int(table[lo]) - lo, lo, lo + int(lengths[best])


def correlate_rows(cnp.ndarray x, cnp.ndarray weights, int kh, int kw, row_index, col_index,
                   double fill, cnp.ndarray out, int threads, int level):
    """Correlate ``x`` ``(outer, rows, width)`` with a ``kh x kw`` kernel; fill ``out``.

    ``weights`` holds the kernel's ``kh * kw`` taps column-major (tap
    ``(a, b)`` at ``b * kh + a``); ``out`` is ``(outer, rows_out, width_out)``.
    Output ``(o, i, j)`` is ``sum w[a, b] * x[o, row_index[i + a],
    col_index[j + b]]`` with -1 entries reading ``fill``; ``col_index`` None
    means ``kw == 1`` and the columns are the input's own.  Both arrays
    C-contiguous, of one float dtype; ``level`` is the microkernel set.
    Returns ``out``.
    """
    cdef const pcx_ukernel_set *ks = ukernel_set(level)
    cdef TapsJob job
    cdef int64_t ring_elems
    cdef int status
    if ks == NULL or level > detected_level():
        raise ValueError(f"SIMD level {level} is not compiled in or not supported by this CPU")
    dtype = x.dtype
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"x must be float32 or float64, got {dtype}")
    if x.ndim != 3 or out.ndim != 3 or weights.ndim != 1:
        raise ValueError("x and out must be 3-d and weights 1-d")
    if out.dtype != dtype or weights.dtype != dtype:
        raise ValueError("x, weights and out must have one dtype")
    if not (x.flags.c_contiguous and out.flags.c_contiguous and weights.flags.c_contiguous
            and x.flags.aligned and out.flags.aligned and out.flags.writeable):
        raise ValueError("x, weights and out must be C-contiguous and aligned, out writeable")
    if kh < 1 or kw < 1 or weights.shape[0] != kh * kw:
        raise ValueError(f"weights must hold kh * kw = {kh} * {kw} taps, got "
                         f"{weights.shape[0]}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    job.outer, job.rows, job.width = x.shape[0], x.shape[1], x.shape[2]
    job.rows_out, job.width_out = out.shape[1], out.shape[2]
    job.kh, job.kw = kh, kw
    if out.shape[0] != job.outer:
        raise ValueError(f"out must have {job.outer} images, got {out.shape[0]}")
    rows_table = _int64_table(row_index, "row_index", job.rows_out + kh - 1, -1, job.rows)
    job.row_index = <const int64_t *>cnp.PyArray_DATA(rows_table)
    if col_index is None:
        if kw != 1 or job.width_out != job.width:
            raise ValueError("col_index may be None only for kw == 1 and width_out == width")
        cols_table = None
        job.col_index = NULL
        job.segment = UNIT_COLUMNS
        job.n_segments = max(1, (job.width_out + UNIT_COLUMNS - 1) // UNIT_COLUMNS)
        job.pitch = 0
        ring_elems = 0
    else:
        cols_table = _int64_table(col_index, "col_index", job.width_out + kw - 1, -1,
                                  job.width)
        job.col_index = <const int64_t *>cnp.PyArray_DATA(cols_table)
        job.segment = job.width_out
        job.n_segments = 1
        job.pitch = (job.width_out + kw - 1 + ROW_ALIGN - 1) // ROW_ALIGN * ROW_ALIGN
        ring_elems = (kh + 3) * job.pitch
        job.shift, job.interior_lo, job.interior_hi = _copied_run(cols_table)
    job.lines = job.outer * job.rows_out
    job.unit_rows = UNIT_ROWS
    if job.lines == 0 or job.width_out == 0:
        return out
    fill_row = np.full(max(job.width, 1), fill, dtype=dtype)
    rings = np.empty(max(threads * ring_elems + ROW_ALIGN, 1), dtype=dtype)
    pointers = np.empty(threads * (kh * kw + 3), dtype=np.uintp)
    cdef char *x_data = <char *>cnp.PyArray_DATA(x)
    cdef char *w_data = <char *>cnp.PyArray_DATA(weights)
    cdef char *fill_data = <char *>cnp.PyArray_DATA(fill_row)
    cdef char *out_data = <char *>cnp.PyArray_DATA(out)
    cdef char *ring_data = <char *>cnp.PyArray_DATA(rings)
    cdef void *pointer_data = cnp.PyArray_DATA(pointers)
    if dtype == np.float32:
        with nogil:
            status = run_job[float](&job, ks, <const float *>x_data, <const float *>w_data,
                                    <float>fill, <const float *>fill_data, <float *>out_data,
                                    <float *>ring_data, ring_elems,
                                    <const float **>pointer_data, threads)
    else:
        with nogil:
            status = run_job[double](&job, ks, <const double *>x_data, <const double *>w_data,
                                     fill, <const double *>fill_data, <double *>out_data,
                                     <double *>ring_data, ring_elems,
                                     <const double **>pointer_data, threads)
    if status:
        raise KeyboardInterrupt
    return out
