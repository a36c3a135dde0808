# cython: language_level=3, boundscheck=False, wraparound=False
"""A downstream extension: many independent convolutions in one parallel loop,
through pyconvx's C API, without the GIL.  (The C API test builds it; the
user guide shows it.)"""

import array

from cython cimport floating
from cython.parallel cimport prange

from pyconvx cimport capi


def conv_each(const floating[:, :, :, ::1] images, const floating[:, :, :, ::1] weight,
              floating[:, :, :, ::1] out, Py_ssize_t padding, int num_threads):
    """out[i] = pyconvx.conv(images[i:i+1], weight, padding=padding)[0] for every
    i, one image per iteration of a ``prange`` loop; returns the statuses."""
    cdef Py_ssize_t i, d, count = images.shape[0]
    cdef Py_ssize_t x_shape[4]
    cdef Py_ssize_t w_shape[4]
    cdef Py_ssize_t out_shape[4]
    cdef capi.pcx_conv_params params
    statuses = array.array("i", [0]) * count
    cdef int[::1] status = statuses

    capi.pcx_params_init(&params)
    for d in range(2):
        params.padding[d][0] = padding      # low side
        params.padding[d][1] = padding      # high side
    params.threads = 1    # the loop's threads already share the cores
    for d in range(4):
        x_shape[d] = images.shape[d]
        w_shape[d] = weight.shape[d]
        out_shape[d] = out.shape[d]
    x_shape[0] = out_shape[0] = 1           # one image per call

    for i in prange(count, nogil=True, num_threads=num_threads, schedule="static"):
        if floating is float:
            status[i] = capi.pcx_conv_f32(2, &images[i, 0, 0, 0], x_shape, NULL,
                                          &weight[0, 0, 0, 0], w_shape, NULL, NULL,
                                          &out[i, 0, 0, 0], out_shape, NULL, &params)
        else:
            status[i] = capi.pcx_conv_f64(2, &images[i, 0, 0, 0], x_shape, NULL,
                                          &weight[0, 0, 0, 0], w_shape, NULL, NULL,
                                          &out[i, 0, 0, 0], out_shape, NULL, &params)
    return list(statuses)


def failed_call():
    """A call with an output of the wrong shape: its status, what the status
    means and this thread's last error."""
    cdef double x[16]
    cdef double w[9]
    cdef double out[16]
    cdef Py_ssize_t x_shape[4]
    cdef Py_ssize_t w_shape[4]
    cdef Py_ssize_t out_shape[4]
    cdef int status
    x_shape[:] = [1, 1, 4, 4]
    w_shape[:] = [1, 1, 3, 3]
    out_shape[:] = [1, 1, 4, 4]         # a 3x3 kernel makes a 2x2 output here
    with nogil:
        status = capi.pcx_conv_f64(2, x, x_shape, NULL, w, w_shape, NULL, NULL,
                                   out, out_shape, NULL, NULL)
    return (status, capi.pcx_status_message(status).decode(),
            capi.pcx_last_error().decode())
