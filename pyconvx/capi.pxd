# pyconvx's C API: N-d convolution for compiled callers, without the GIL.
#
#     from pyconvx cimport capi
#
# Cython code cimports this file (add ``pyconvx.capi.get_include()`` to the
# build's Cython include path); the functions are also exported as PyCapsules
# in ``pyconvx.capi.__pyx_capi__`` for ctypes, cffi and numba
# (``numba.core.extending.get_cython_function_address("pyconvx.capi", name)``).
#
# THE ABI.  Everything declared below is frozen: the names, the order and the
# types of the arguments and of the fields of ``pcx_conv_params``, and the
# values of the constants.  A change is a new ABI version
# (``PCX_CAPI_VERSION``, returned by ``pcx_capi_version()``); the test suite
# compares the capsules' names and signatures with a recorded copy.
#
# One call::
#
#     status = pcx_conv_f32(ndim, x, x_shape, x_strides,
#                           weight, weight_shape, weight_strides, bias,
#                           out, out_shape, out_strides, &params)
#
# computes exactly what ``pyconvx.conv(x, weight, bias, ...)`` computes (the
# same bits), with
#
# * ``ndim``: spatial dims, 1 to PCX_MAX_SPATIAL_DIMS;
# * ``x``: the batched input, ``x_shape`` = (N, C_in, *spatial) (ndim + 2
#   entries), ``x_strides`` its strides in ELEMENTS (any sign, zero allowed;
#   NULL means C-contiguous);
# * ``weight``: (C_out, C_in / groups, *kernel), element strides or NULL;
# * ``bias``: NULL, or C_out contiguous values;
# * ``out``: (N, C_out, *out_spatial), element strides or NULL; written only
#   when the call returns PCX_OK.  An ``out`` that is not C-contiguous, or that
#   overlaps an input, is computed into a temporary buffer and copied;
# * ``params``: stride, padding, dilation, groups, flip, padding mode and
#   threads (NULL: the defaults of ``pcx_params_init``).
#
# Every pointer must be aligned to its element type.  The call returns a
# status (PCX_OK or one of PCX_ERR_*); ``pcx_status_message(status)`` says
# what the status means and ``pcx_last_error()`` what went wrong in the last
# failed call of the calling thread.  No exception ever leaves these
# functions.
#
# The GIL: the functions are ``nogil``.  The first call of a problem (shapes,
# strides, dtype, params: all but the data pointers) takes the GIL for a
# moment to check the arguments and plan; the plans of the last 64 problems
# are kept, and a call of one of them takes no GIL at all.  The computation
# never holds it.  Call from any thread that may take the GIL (a thread of
# ``prange``, a numba ``parallel=True`` loop, a plain C thread), never while
# another thread holds the GIL waiting for this one.  The plans are made for
# the process's SIMD level (PYCONVX_SIMD caps it).
#
# Threads: ``params.threads`` = 0 means pyconvx's default (OMP_NUM_THREADS,
# else the usable cores, as they are when the problem is first planned);
# inside a caller's own parallel loop use 1, so the loop's threads are not
# each multiplied by pyconvx's.  Results are the same bits for every thread
# count.

cdef enum:
    PCX_CAPI_VERSION = 1
    PCX_MAX_SPATIAL_DIMS = 8

    # statuses
    PCX_OK = 0
    PCX_ERR_ARGUMENT = 1      # an argument is invalid (pcx_last_error says which)
    PCX_ERR_NO_MEMORY = 2     # memory for the workspace or a copy could not be had
    PCX_ERR_INTERRUPTED = 3   # a signal (Ctrl-C) stopped the computation; out is undefined
    PCX_ERR_INTERNAL = 4      # an unexpected error inside pyconvx (pcx_last_error says it)

    # padding modes (pyconvx's padding_mode names, in this order)
    PCX_PAD_ZEROS = 0
    PCX_PAD_REFLECT = 1
    PCX_PAD_REPLICATE = 2
    PCX_PAD_CIRCULAR = 3
    PCX_PAD_SYMMETRIC = 4
    PCX_PAD_CONSTANT = 5

ctypedef struct pcx_conv_params:
    # Only the first ``ndim`` entries of the per-dim arrays are read.
    Py_ssize_t stride[PCX_MAX_SPATIAL_DIMS]          # >= 1
    Py_ssize_t padding[PCX_MAX_SPATIAL_DIMS][2]      # (low, high) per dim, >= 0
    Py_ssize_t dilation[PCX_MAX_SPATIAL_DIMS]        # >= 1
    Py_ssize_t groups                                # >= 1, divides C_in and C_out
    int flip                                         # nonzero: true convolution
    int padding_mode                                 # a PCX_PAD_* value
    double padding_value                             # PCX_PAD_CONSTANT's border value
    int threads                                      # 0: pyconvx's default; else >= 1

cdef int pcx_capi_version() noexcept nogil

cdef void pcx_params_init(pcx_conv_params *params) noexcept nogil

cdef int pcx_conv_f32(int ndim,
                      const float *x, const Py_ssize_t *x_shape, const Py_ssize_t *x_strides,
                      const float *weight, const Py_ssize_t *weight_shape,
                      const Py_ssize_t *weight_strides,
                      const float *bias,
                      float *out, const Py_ssize_t *out_shape, const Py_ssize_t *out_strides,
                      const pcx_conv_params *params) noexcept nogil

cdef int pcx_conv_f64(int ndim,
                      const double *x, const Py_ssize_t *x_shape, const Py_ssize_t *x_strides,
                      const double *weight, const Py_ssize_t *weight_shape,
                      const Py_ssize_t *weight_strides,
                      const double *bias,
                      double *out, const Py_ssize_t *out_shape, const Py_ssize_t *out_strides,
                      const pcx_conv_params *params) noexcept nogil

cdef const char *pcx_status_message(int status) noexcept nogil

cdef const char *pcx_last_error() noexcept nogil
