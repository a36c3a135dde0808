"""im2col and col2im (torch's ``unfold`` and ``fold`` for 2-d) in the compiled engine.

This module only computes: ``pyconvx.unfold`` validates, allocates and gives
canonical sizes.  A plane's columns are ``kh * kw * H_out`` rows of ``W_out``
values, one per (tap, output row); each row's in-range part is found once
(no per-element bounds test).  The rows of the (N * C) planes are walked in
chunks (``chunks.walk``) over OpenMP threads, with a check for Ctrl-C between
chunks.  im2col's rows are independent; col2im adds into the image, so each
plane stays on one thread, in the order of its rows, and the results never
depend on the thread count.
"""

from libc.stdint cimport int64_t

cimport numpy as cnp

import numpy as np

from pyconvx._engine.chunks cimport WALK_INTERRUPTED, walk
from pyconvx._engine.contract cimport real

cnp.import_array()

#: Values (copied or added) one chunk of work aims for: Ctrl-C is checked
#: between chunks, each a few milliseconds of work.
CHUNK_VALUES = 1 << 24


cdef struct Job:
    bint is_double
    bint to_columns          # im2col (True) or col2im
    const void *src
    void *dst
    int64_t image_strides[4]  # the image (N, C, H, W): x of im2col, the result of col2im
    int64_t column_strides[3]  # the columns (N, C * kh * kw, L)
    int64_t channels, in_h, in_w
    int64_t kernel_w, taps, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w
    int64_t out_h, out_w


cdef inline void row_range(const Job *job, int64_t offset, int64_t *low,
                           int64_t *high) noexcept nogil:
    """The output columns ow whose input column ow * stride_w + offset is in the image."""
    cdef int64_t s = job.stride_w
    low[0] = 0 if offset >= 0 else (s - 1 - offset) // s
    high[0] = 0 if job.in_w - offset <= 0 else (job.in_w - offset + s - 1) // s
    if high[0] > job.out_w:
        high[0] = job.out_w
    if low[0] > high[0]:
        low[0] = high[0]


cdef void rows_of_plane(const Job *job, const real *image_in, real *image_out,
                        const real *columns_in, real *columns_out, int64_t first,
                        int64_t stop) noexcept nogil:
    """Rows [first, stop) of one plane: row ``r`` is tap ``r // H_out`` (its
    (i, j) row-major) at output row ``r % H_out``."""
    cdef int64_t r, t, oh, i, j, ih, offset, low, high, ow
    cdef int64_t sh = job.image_strides[2], sw = job.image_strides[3]
    cdef int64_t row_stride = job.column_strides[1], step = job.column_strides[2]
    cdef int64_t out_w = job.out_w
    cdef const real *source
    cdef real *target
    for r in range(first, stop):
        t = r // job.out_h
        oh = r % job.out_h
        i = t // job.kernel_w
        j = t % job.kernel_w
        ih = oh * job.stride_h - job.pad_h + i * job.dilation_h
        offset = j * job.dilation_w - job.pad_w
        if 0 <= ih < job.in_h:
            row_range(job, offset, &low, &high)
        else:
            low = high = 0
        if job.to_columns:
            target = columns_out + t * row_stride + oh * out_w * step
            for ow in range(low):
                target[ow * step] = 0
            if low < high:
                source = image_in + ih * sh + offset * sw
                for ow in range(low, high):
                    target[ow * step] = source[ow * job.stride_w * sw]
            for ow in range(high, out_w):
                target[ow * step] = 0
        elif low < high:
            source = columns_in + t * row_stride + oh * out_w * step
            target = image_out + ih * sh + offset * sw
            for ow in range(low, high):
                target[ow * job.stride_w * sw] += source[ow * step]


cdef inline int64_t plane_offset(const int64_t *strides, int64_t plane, int64_t channels,
                                 int64_t channel_step) noexcept nogil:
    return (plane // channels) * strides[0] + (plane % channels) * channel_step


cdef void run_task(const void *job_pointer, int64_t plane, int64_t first,
                   int64_t stop) noexcept nogil:
    cdef const Job *job = <const Job *>job_pointer
    cdef int64_t image = plane_offset(job.image_strides, plane, job.channels,
                                      job.image_strides[1])
    cdef int64_t columns = plane_offset(job.column_strides, plane, job.channels,
                                        job.taps * job.column_strides[1])
    if job.is_double and job.to_columns:
        rows_of_plane[double](job, <const double *>job.src + image, NULL, NULL,
                              <double *>job.dst + columns, first, stop)
    elif job.is_double:
        rows_of_plane[double](job, NULL, <double *>job.dst + image,
                              <const double *>job.src + columns, NULL, first, stop)
    elif job.to_columns:
        rows_of_plane[float](job, <const float *>job.src + image, NULL, NULL,
                             <float *>job.dst + columns, first, stop)
    else:
        rows_of_plane[float](job, NULL, <float *>job.dst + image,
                             <const float *>job.src + columns, NULL, first, stop)


cdef int _propagate_pending_exception() except -1:
    """Raise the exception a signal handler left set (returning -1 makes Cython do it)."""
    return -1


def _element_strides(array, name, dtype, ndim):
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d {dtype} array")
    if not array.flags.aligned or any(s % array.itemsize for s in array.strides):
        raise ValueError(f"{name} must be aligned, with whole-element strides")
    return [s // array.itemsize for s in array.strides]


def _run(bint to_columns, image, cols, kernel, stride, pad_lo,
         dilation, out_hw, int threads):
    cdef Job job
    cdef int status
    cdef int64_t planes, span, planes_per_chunk, span_per_chunk, pieces
    dtype = getattr(cols, "dtype", None)
    if dtype not in (np.float32, np.float64):
        raise ValueError("cols must be a float32 or float64 array")
    image_strides = _element_strides(image, "the image", dtype, 4)
    column_strides = _element_strides(cols, "cols", dtype, 3)
    taps = kernel[0] * kernel[1]
    if (cols.shape[0] != image.shape[0] or cols.shape[1] != image.shape[1] * taps
            or cols.shape[2] != out_hw[0] * out_hw[1]):
        raise ValueError(f"cols of shape {cols.shape} do not match an image of shape "
                         f"{image.shape}, kernel {tuple(kernel)}, {tuple(out_hw)} windows")
    written = cols if to_columns else image
    if not written.flags.writeable:
        raise ValueError("the result array must be writeable")
    job.is_double = dtype == np.float64
    job.to_columns = to_columns
    job.src = cnp.PyArray_DATA(<cnp.ndarray>(image if to_columns else cols))
    job.dst = cnp.PyArray_DATA(<cnp.ndarray>written)
    for i in range(4):
        job.image_strides[i] = image_strides[i]
    for i in range(3):
        job.column_strides[i] = column_strides[i]
    job.channels = image.shape[1]
    job.in_h, job.in_w = image.shape[2], image.shape[3]
    job.kernel_w = kernel[1]
    job.taps = taps
    job.stride_h, job.stride_w = stride
    job.pad_h, job.pad_w = pad_lo
    job.dilation_h, job.dilation_w = dilation
    job.out_h, job.out_w = out_hw
    planes = image.shape[0] * image.shape[1]
    span = taps * out_hw[0]
    if planes == 0 or span == 0 or out_hw[1] == 0:
        return
    # about CHUNK_VALUES values per chunk; col2im keeps each plane on one thread
    rows_per_chunk = max(1, CHUNK_VALUES // (out_hw[1] + 1))
    span_per_chunk = min(span, rows_per_chunk)
    planes_per_chunk = min(planes, max(1, rows_per_chunk // span_per_chunk))
    pieces = max(1, min(-(-threads // planes_per_chunk), span_per_chunk)) if to_columns else 1
    with nogil:
        status = walk(run_task, &job, planes, span, planes_per_chunk, span_per_chunk, pieces,
                      threads)
    if status == WALK_INTERRUPTED:
        _propagate_pending_exception()


def im2col(x, cols, kernel, stride, pad_lo, dilation, out_hw, threads):
    """Fill ``cols`` (N, C*kh*kw, L) from ``x`` (N, C, H, W, any element strides);
    float32 or float64."""
    _run(True, x, cols, tuple(kernel), tuple(stride), tuple(pad_lo), tuple(dilation),
         tuple(out_hw), threads)


def col2im(cols, image, kernel, stride, pad_lo, dilation, out_hw, threads):
    """Add ``cols`` (N, C*kh*kw, L) into ``image`` (N, C, H, W, zeroed by the
    caller, any element strides)."""
    _run(False, image, cols, tuple(kernel), tuple(stride), tuple(pad_lo), tuple(dilation),
         tuple(out_hw), threads)
