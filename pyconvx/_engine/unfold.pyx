"""im2col and col2im (torch's ``unfold`` and ``fold`` for 2-d) in the compiled engine.

This module only computes: ``pyconvx.unfold`` validates, allocates and gives
canonical sizes.  The (N * C) planes are split over OpenMP threads with a
static schedule; each plane is written by one thread in a fixed order, so the
results never depend on the thread count.
"""

from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memset

from pyconvx._engine.contract cimport real


cdef void im2col_plane(const real *x, int64_t xs_h, int64_t xs_w, int64_t in_h, int64_t in_w,
                       int64_t k_h, int64_t k_w, int64_t s_h, int64_t s_w, int64_t p_h,
                       int64_t p_w, int64_t d_h, int64_t d_w, int64_t out_h, int64_t out_w,
                       real *cols) noexcept nogil:
    """cols[(i * k_w + j), oh * out_w + ow] = x[oh*s_h - p_h + i*d_h, ow*s_w - p_w + j*d_w]."""
    cdef int64_t i, j, oh, ow, ih, iw
    cdef real *dst = cols
    for i in range(k_h):
        for j in range(k_w):
            for oh in range(out_h):
                ih = oh * s_h - p_h + i * d_h
                for ow in range(out_w):
                    iw = ow * s_w - p_w + j * d_w
                    if 0 <= ih < in_h and 0 <= iw < in_w:
                        dst[0] = x[ih * xs_h + iw * xs_w]
                    else:
                        dst[0] = 0
                    dst += 1


cdef void col2im_plane(const real *cols, int64_t in_h, int64_t in_w, int64_t k_h, int64_t k_w,
                       int64_t s_h, int64_t s_w, int64_t p_h, int64_t p_w, int64_t d_h,
                       int64_t d_w, int64_t out_h, int64_t out_w, real *image) noexcept nogil:
    """The adjoint of im2col_plane: sum every column entry back into its pixel.

    One plane is summed by one thread in a fixed order, so the result does
    not depend on the thread count."""
    cdef int64_t i, j, oh, ow, ih, iw
    cdef const real *src = cols
    memset(image, 0, in_h * in_w * sizeof(real))
    for i in range(k_h):
        for j in range(k_w):
            for oh in range(out_h):
                ih = oh * s_h - p_h + i * d_h
                for ow in range(out_w):
                    iw = ow * s_w - p_w + j * d_w
                    if 0 <= ih < in_h and 0 <= iw < in_w:
                        image[ih * in_w + iw] += src[0]
                    src += 1


def _im2col(const real[:, :, :, :] x, real[:, :, ::1] cols, tuple kernel, tuple stride,
            tuple pad_lo, tuple dilation, tuple out_hw, int threads):
    cdef int64_t n_img = x.shape[0], channels = x.shape[1], plane, n, c
    cdef int64_t k_h = kernel[0], k_w = kernel[1], s_h = stride[0], s_w = stride[1]
    cdef int64_t p_h = pad_lo[0], p_w = pad_lo[1], d_h = dilation[0], d_w = dilation[1]
    cdef int64_t out_h = out_hw[0], out_w = out_hw[1], esize = sizeof(real)
    cdef int64_t xs_h = x.strides[2] // esize, xs_w = x.strides[3] // esize
    cdef int64_t block = k_h * k_w
    if n_img * channels == 0:
        return
    with nogil:
        for plane in prange(n_img * channels, schedule="static", num_threads=threads):
            n = plane // channels
            c = plane % channels
            im2col_plane(&x[n, c, 0, 0], xs_h, xs_w, x.shape[2], x.shape[3], k_h, k_w, s_h,
                         s_w, p_h, p_w, d_h, d_w, out_h, out_w, &cols[n, c * block, 0])


def _col2im(const real[:, :, ::1] cols, real[:, :, :, ::1] image, tuple kernel, tuple stride,
            tuple pad_lo, tuple dilation, tuple out_hw, int threads):
    cdef int64_t n_img = image.shape[0], channels = image.shape[1], plane, n, c
    cdef int64_t k_h = kernel[0], k_w = kernel[1], s_h = stride[0], s_w = stride[1]
    cdef int64_t p_h = pad_lo[0], p_w = pad_lo[1], d_h = dilation[0], d_w = dilation[1]
    cdef int64_t out_h = out_hw[0], out_w = out_hw[1]
    cdef int64_t block = k_h * k_w
    if n_img * channels == 0:
        return
    with nogil:
        for plane in prange(n_img * channels, schedule="static", num_threads=threads):
            n = plane // channels
            c = plane % channels
            col2im_plane(&cols[n, c * block, 0], image.shape[2], image.shape[3], k_h, k_w, s_h,
                         s_w, p_h, p_w, d_h, d_w, out_h, out_w, &image[n, c, 0, 0])


def im2col(x, cols, kernel, stride, pad_lo, dilation, out_hw, threads):
    """Fill ``cols`` (N, C*kh*kw, L) from ``x`` (N, C, H, W); float32 or float64."""
    _im2col(x, cols, tuple(kernel), tuple(stride), tuple(pad_lo), tuple(dilation),
            tuple(out_hw), threads)


def col2im(cols, image, kernel, stride, pad_lo, dilation, out_hw, threads):
    """Sum ``cols`` (N, C*kh*kw, L) into ``image`` (N, C, H, W), C-contiguous."""
    _col2im(cols, image, tuple(kernel), tuple(stride), tuple(pad_lo), tuple(dilation),
            tuple(out_hw), threads)
