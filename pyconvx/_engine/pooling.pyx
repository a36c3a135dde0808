"""pyconvx's compiled pooling core: nogil max/average pooling over planes.

This module only computes.  ``pyconvx.pooling`` validates every argument, puts
the input in C-contiguous ``(planes, H, W)`` form, allocates the output and
resolves the thread count; here the (N * C) planes are split over OpenMP
threads with a static schedule.  Each output value is computed by one thread
in a fixed order, so results never depend on the thread count.  The drivers
return a status (0 = success) that the caller checks with the GIL held.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, isnan


cdef inline void _max_plane(
    const floating *src,
    floating *dst,
    Py_ssize_t in_h,
    Py_ssize_t in_w,
    Py_ssize_t out_h,
    Py_ssize_t out_w,
    Py_ssize_t kernel_h,
    Py_ssize_t kernel_w,
    Py_ssize_t stride_h,
    Py_ssize_t stride_w,
    Py_ssize_t pad_h,
    Py_ssize_t pad_w,
    Py_ssize_t dilation_h,
    Py_ssize_t dilation_w,
) noexcept nogil:
    cdef Py_ssize_t oh, ow, tap_h, tap_w, row, col
    cdef floating best, value
    for oh in range(out_h):
        for ow in range(out_w):
            # Padded taps are -inf: they are skipped, never win.
            best = -INFINITY
            for tap_h in range(kernel_h):
                row = oh * stride_h - pad_h + tap_h * dilation_h
                if row < 0 or row >= in_h:
                    continue
                for tap_w in range(kernel_w):
                    col = ow * stride_w - pad_w + tap_w * dilation_w
                    if col < 0 or col >= in_w:
                        continue
                    value = src[row * in_w + col]
                    # NaN propagates, as in torch.
                    if value > best or isnan(value):
                        best = value
                        if isnan(value):
                            break
                if isnan(best):
                    break
            dst[oh * out_w + ow] = best


cdef inline void _avg_plane(
    const floating *src,
    floating *dst,
    Py_ssize_t in_h,
    Py_ssize_t in_w,
    Py_ssize_t out_h,
    Py_ssize_t out_w,
    Py_ssize_t kernel_h,
    Py_ssize_t kernel_w,
    Py_ssize_t stride_h,
    Py_ssize_t stride_w,
    Py_ssize_t pad_h,
    Py_ssize_t pad_w,
    bint count_include_pad,
) noexcept nogil:
    cdef Py_ssize_t oh, ow, row, col, row_start, row_end, col_start, col_end
    cdef Py_ssize_t padded_count, divisor
    cdef double total
    for oh in range(out_h):
        row_start = oh * stride_h - pad_h
        row_end = min(row_start + kernel_h, in_h + pad_h)
        for ow in range(out_w):
            col_start = ow * stride_w - pad_w
            col_end = min(col_start + kernel_w, in_w + pad_w)
            # torch's divisor: the window clipped to the padded input (a
            # ceil_mode window may hang past it), or to the input alone.
            padded_count = (row_end - row_start) * (col_end - col_start)
            total = 0.0
            for row in range(max(row_start, 0), min(row_end, in_h)):
                for col in range(max(col_start, 0), min(col_end, in_w)):
                    total = total + src[row * in_w + col]
            if count_include_pad:
                divisor = padded_count
            else:
                divisor = (min(row_end, in_h) - max(row_start, 0)) * (
                    min(col_end, in_w) - max(col_start, 0)
                )
            dst[oh * out_w + ow] = <floating>(total / divisor)


def max_pool2d_planes(
    const floating[:, :, ::1] x,
    floating[:, :, ::1] out,
    Py_ssize_t kernel_h,
    Py_ssize_t kernel_w,
    Py_ssize_t stride_h,
    Py_ssize_t stride_w,
    Py_ssize_t pad_h,
    Py_ssize_t pad_w,
    Py_ssize_t dilation_h,
    Py_ssize_t dilation_w,
    int threads,
):
    """Max pooling of every (H, W) plane of ``x`` into ``out``; returns 0."""
    cdef Py_ssize_t planes = x.shape[0]
    cdef Py_ssize_t in_h = x.shape[1], in_w = x.shape[2]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t plane
    if planes == 0 or in_h * in_w == 0 or out_h * out_w == 0:
        return 0
    with nogil:
        for plane in prange(planes, schedule="static", num_threads=threads):
            _max_plane(
                &x[plane, 0, 0], &out[plane, 0, 0], in_h, in_w, out_h, out_w,
                kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                dilation_h, dilation_w,
            )
    return 0


def avg_pool2d_planes(
    const floating[:, :, ::1] x,
    floating[:, :, ::1] out,
    Py_ssize_t kernel_h,
    Py_ssize_t kernel_w,
    Py_ssize_t stride_h,
    Py_ssize_t stride_w,
    Py_ssize_t pad_h,
    Py_ssize_t pad_w,
    bint count_include_pad,
    int threads,
):
    """Average pooling of every (H, W) plane of ``x`` into ``out``; returns 0."""
    cdef Py_ssize_t planes = x.shape[0]
    cdef Py_ssize_t in_h = x.shape[1], in_w = x.shape[2]
    cdef Py_ssize_t out_h = out.shape[1], out_w = out.shape[2]
    cdef Py_ssize_t plane
    if planes == 0 or in_h * in_w == 0 or out_h * out_w == 0:
        return 0
    with nogil:
        for plane in prange(planes, schedule="static", num_threads=threads):
            _avg_plane(
                &x[plane, 0, 0], &out[plane, 0, 0], in_h, in_w, out_h, out_w,
                kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                count_include_pad,
            )
    return 0
