# cython: autotestdict=False
"""pyconvx's C API: N-d convolution for Cython, C and numba callers, without the GIL.

The functions are declared in ``pyconvx/capi.pxd`` (installed with the
package: ``from pyconvx cimport capi`` in Cython, with :func:`get_include` on
the include path) and exported as PyCapsules in ``__pyx_capi__`` (ctypes,
cffi, numba's ``get_cython_function_address``; :func:`function_address`
reads one).  ``capi.pxd`` documents the ABI: the functions, the
``pcx_conv_params`` record (:data:`PARAMS_DTYPE` is its NumPy twin) and the
constants, which this module also exports as ints: ``PCX_OK``,
``PCX_ERR_ARGUMENT``, ``PCX_ERR_NO_MEMORY``, ``PCX_ERR_INTERRUPTED``,
``PCX_ERR_INTERNAL``, ``PCX_PAD_ZEROS`` ... ``PCX_PAD_CONSTANT``,
``PCX_MAX_SPATIAL_DIMS`` and ``PCX_CAPI_VERSION``.

The first call of a problem checks and plans with the GIL held for a moment
(the public layer's own rules: ``pyconvx.shapes.describe_conv``, then
``pyconvx._engine.plan``), turning any Python exception into a status and a
per-thread message; this module keeps the plans of recent problems, so later
calls of the same problem find theirs without the GIL.  The direct engine's
executor computes without it.
"""

from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from cpython.pythread cimport (WAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock,
                               PyThread_release_lock, PyThread_type_lock)
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.stdint cimport uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp, memset, strncpy

import math
import os
import sys

import numpy as np

from pyconvx._engine.contract cimport DirectGeometry, DirectPlan, pcx_ukernel_set, real
from pyconvx._engine.direct cimport EXECUTE_INTERRUPTED, EXECUTE_NO_MEMORY, execute

from ._boundary import PADDING_MODES
from ._engine import dispatch
from ._engine.plan import make_plan
from ._normalize import check_memory, resolve_threads
from .shapes import describe_conv

__all__ = ["PARAMS_DTYPE", "default_params", "function_address", "get_include"]

# The SIMD level of every plan of the C API: the process's own (PYCONVX_SIMD caps
# it), whatever thread plans it (dispatch.forced_simd is a per-thread testing aid).
_PROCESS_LEVEL = max(map(dispatch.LEVEL_NAMES.index, dispatch.available_levels()))


cdef extern from "Python.h":
    void PyErr_SetInterrupt() nogil

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #  define PCX_THREAD_LOCAL __declspec(thread)
    #else
    #  define PCX_THREAD_LOCAL __thread
    #endif
    /* the message of the calling thread's last failed call */
    static PCX_THREAD_LOCAL char pcx_error_text[1024];
    """
    char pcx_error_text[1024]

# Bytes of pcx_error_text, the terminating NUL included.
cdef enum:
    ERROR_TEXT_SIZE = 1024
    MAX_ARRAY_DIMS = PCX_MAX_SPATIAL_DIMS + 2

# What a call does once its arguments are checked.
cdef enum Action:
    NOTHING = 0      # the output is empty
    FILL = 1         # no input channels: every output is its bias (or 0)
    ENGINE = 2       # the direct engine runs the plan


cdef struct Problem:
    # Everything the checks and the planner read of a call: all but the data
    # pointers.  NULL strides and params are spelled out (C order, the
    # defaults) and unused entries are zero, so equal problems are equal bytes.
    int itemsize, ndim, has_bias
    Py_ssize_t x_shape[MAX_ARRAY_DIMS]
    Py_ssize_t x_strides[MAX_ARRAY_DIMS]
    Py_ssize_t weight_shape[MAX_ARRAY_DIMS]
    Py_ssize_t weight_strides[MAX_ARRAY_DIMS]
    Py_ssize_t out_shape[MAX_ARRAY_DIMS]
    Py_ssize_t out_strides[MAX_ARRAY_DIMS]
    pcx_conv_params params


cdef struct RecordRef:
    # One plan record, as the nogil code reads it.
    const DirectGeometry *geo
    const pcx_ukernel_set *ks


cdef class _Records:
    """The plan records of one problem (run in order, each continuing the sums of
    the one before), with the C array of their geometries the nogil code reads."""
    cdef tuple records          # keeps the records alive
    cdef RecordRef *refs
    cdef Py_ssize_t count

    def __cinit__(self, tuple records):
        cdef DirectPlan record
        self.records = records
        self.count = len(records)
        self.refs = <RecordRef *>malloc(max(self.count, 1) * sizeof(RecordRef))
        if self.refs == NULL:
            raise MemoryError("the list of the plan's records could not be allocated")
        for i, record in enumerate(records):
            self.refs[i].geo = &record.geo
            self.refs[i].ks = record.ukernels

    def __dealloc__(self):
        free(self.refs)


cdef struct Prepared:
    # What the checks and the planner made of a problem.
    Action action
    PyObject *record                 # a reference to the _Records of the plan (ENGINE)
    const RecordRef *refs            # its records, in order
    Py_ssize_t n_records
    bint out_contiguous              # out is C-contiguous (still copied if it overlaps)
    bint weight_contiguous
    Py_ssize_t out_elems, weight_elems


cdef struct Call:
    Prepared prepared                # the plan; its records are the cache's, or owned
    int slot                         # the cache entry it came from, or -1


# ----------------------------------------------------------------------------- ABI


cdef int pcx_capi_version() noexcept nogil:
    """The ABI version of these functions (PCX_CAPI_VERSION)."""
    return PCX_CAPI_VERSION


cdef void pcx_params_init(pcx_conv_params *params) noexcept nogil:
    """Stride 1, no padding, dilation 1, one group, cross-correlation, zeros
    padding, pyconvx's default thread count."""
    cdef int i
    memset(params, 0, sizeof(pcx_conv_params))
    for i in range(PCX_MAX_SPATIAL_DIMS):
        params.stride[i] = 1
        params.dilation[i] = 1
    params.groups = 1
    params.padding_mode = PCX_PAD_ZEROS


cdef int pcx_conv_f32(int ndim,
                      const float *x, const Py_ssize_t *x_shape, const Py_ssize_t *x_strides,
                      const float *weight, const Py_ssize_t *weight_shape,
                      const Py_ssize_t *weight_strides,
                      const float *bias,
                      float *out, const Py_ssize_t *out_shape, const Py_ssize_t *out_strides,
                      const pcx_conv_params *params) noexcept nogil:
    """float32 convolution (see capi.pxd)."""
    return convolve(ndim, x, x_shape, x_strides, weight, weight_shape, weight_strides, bias,
                    out, out_shape, out_strides, params)


cdef int pcx_conv_f64(int ndim,
                      const double *x, const Py_ssize_t *x_shape, const Py_ssize_t *x_strides,
                      const double *weight, const Py_ssize_t *weight_shape,
                      const Py_ssize_t *weight_strides,
                      const double *bias,
                      double *out, const Py_ssize_t *out_shape, const Py_ssize_t *out_strides,
                      const pcx_conv_params *params) noexcept nogil:
    """float64 convolution (see capi.pxd)."""
    return convolve(ndim, x, x_shape, x_strides, weight, weight_shape, weight_strides, bias,
                    out, out_shape, out_strides, params)


cdef const char *pcx_status_message(int status) noexcept nogil:
    """What a status means (a static string)."""
    if status == PCX_OK:
        return "success"
    if status == PCX_ERR_ARGUMENT:
        return "invalid argument"
    if status == PCX_ERR_NO_MEMORY:
        return "out of memory"
    if status == PCX_ERR_INTERRUPTED:
        return "interrupted by a signal"
    if status == PCX_ERR_INTERNAL:
        return "internal error"
    return "unknown status"


cdef const char *pcx_last_error() noexcept nogil:
    """The message of the calling thread's last failed call ("" after a success).

    Valid until the thread's next call."""
    return pcx_error_text


# ----------------------------------------------------------------------------- the call


cdef int convolve(int ndim, const real *x, const Py_ssize_t *x_shape,
                  const Py_ssize_t *x_strides, const real *weight,
                  const Py_ssize_t *weight_shape, const Py_ssize_t *weight_strides,
                  const real *bias, real *out, const Py_ssize_t *out_shape,
                  const Py_ssize_t *out_strides, const pcx_conv_params *params) noexcept nogil:
    """Find the problem's plan in the cache (no GIL), or check and plan it (with the
    GIL), then compute without the GIL."""
    cdef Problem problem
    cdef Call call
    cdef Prepared *prep = &call.prepared
    cdef Py_ssize_t contiguous[MAX_ARRAY_DIMS]
    cdef int nd = ndim + 2, status = PCX_OK, executed
    cdef Py_ssize_t r
    cdef bint described, overlaps
    cdef real *target = out
    cdef real *out_copy = NULL
    cdef real *weight_copy = NULL
    cdef const real *w = weight
    described = (usable_pointers(sizeof(real), x, weight, bias, out)
                 and describe(&problem, ndim, sizeof(real), x_shape, x_strides, weight_shape,
                              weight_strides, bias != NULL, out_shape, out_strides, params))
    if not described:
        # a NULL or misaligned pointer, ndim out of range, a NULL shape: the checks
        # say which (they refuse all of these)
        status = prepare(&call, NULL, ndim, sizeof(real), x, x_shape, x_strides, weight,
                         weight_shape, weight_strides, bias, out, out_shape, out_strides,
                         params)
        return status if status != PCX_OK else finish(&call, PCX_ERR_INTERNAL)
    if not cache_acquire(&problem, &call):   # a new problem: check and plan it
        status = prepare(&call, &problem, ndim, sizeof(real), x, x_shape, x_strides, weight,
                         weight_shape, weight_strides, bias, out, out_shape, out_strides,
                         params)
        if status != PCX_OK:
            return status
    pcx_error_text[0] = 0
    if prep.action != NOTHING:
        overlaps = (spans_overlap(out, problem.out_shape, problem.out_strides, nd,
                                  x, problem.x_shape, problem.x_strides, sizeof(real))
                    or spans_overlap(out, problem.out_shape, problem.out_strides, nd, weight,
                                     problem.weight_shape, problem.weight_strides, sizeof(real))
                    or (bias != NULL and spans_overlap(out, problem.out_shape,
                                                       problem.out_strides, nd, bias,
                                                       problem.weight_shape, contiguous_one,
                                                       sizeof(real), 1)))
        if overlaps or not prep.out_contiguous:
            out_copy = <real *>malloc(prep.out_elems * sizeof(real))
            target = out_copy
        if prep.action == ENGINE and not prep.weight_contiguous:
            weight_copy = <real *>malloc(prep.weight_elems * sizeof(real))
            w = weight_copy
            if weight_copy != NULL:
                c_strides(problem.weight_shape, nd, contiguous)
                copy_strided(weight, problem.weight_strides, weight_copy, contiguous,
                             problem.weight_shape, nd)
        if target == NULL or w == NULL:
            status = PCX_ERR_NO_MEMORY
        elif prep.action == FILL:
            fill_bias(target, bias, problem.out_shape, nd)
        else:
            for r in range(prep.n_records):   # the bias comes with the last one
                executed = execute(prep.refs[r].geo, prep.refs[r].ks, x, w,
                                   bias if r == prep.n_records - 1 else NULL, target, True)
                if executed == EXECUTE_NO_MEMORY:
                    status = PCX_ERR_NO_MEMORY
                elif executed == EXECUTE_INTERRUPTED:
                    status = PCX_ERR_INTERRUPTED
                if status != PCX_OK:
                    break
        if status == PCX_OK and out_copy != NULL:
            c_strides(problem.out_shape, nd, contiguous)
            copy_strided(out_copy, contiguous, out, problem.out_strides, problem.out_shape, nd)
        free(out_copy)
        free(weight_copy)
    if call.slot >= 0:
        cache_release(call.slot)
        prep.record = NULL      # the cache's reference, not this call's
    if prep.record != NULL or status != PCX_OK:
        status = finish(&call, status)
    return status


cdef bint usable_pointers(Py_ssize_t itemsize, const void *x, const void *weight,
                          const void *bias, const void *out) noexcept nogil:
    """x, weight and out given, every pointer aligned (else the checks say why)."""
    if x == NULL or weight == NULL or out == NULL:
        return False
    return ((<uintptr_t>x | <uintptr_t>weight | <uintptr_t>bias | <uintptr_t>out)
            % itemsize == 0)


cdef bint describe(Problem *problem, int ndim, int itemsize, const Py_ssize_t *x_shape,
                   const Py_ssize_t *x_strides, const Py_ssize_t *weight_shape,
                   const Py_ssize_t *weight_strides, bint has_bias,
                   const Py_ssize_t *out_shape, const Py_ssize_t *out_strides,
                   const pcx_conv_params *params) noexcept nogil:
    """Fill ``problem`` from the arguments; False when they cannot even be read
    (ndim out of range, a NULL shape): the checks then say what is wrong."""
    cdef int nd = ndim + 2, i
    if not 1 <= ndim <= PCX_MAX_SPATIAL_DIMS or x_shape == NULL or weight_shape == NULL \
            or out_shape == NULL:
        return False
    memset(problem, 0, sizeof(Problem))
    problem.itemsize = itemsize
    problem.ndim = ndim
    problem.has_bias = has_bias
    for i in range(nd):
        problem.x_shape[i] = x_shape[i]
        problem.weight_shape[i] = weight_shape[i]
        problem.out_shape[i] = out_shape[i]
    spell_strides(x_strides, x_shape, nd, problem.x_strides)
    spell_strides(weight_strides, weight_shape, nd, problem.weight_strides)
    spell_strides(out_strides, out_shape, nd, problem.out_strides)
    if params == NULL:
        pcx_params_init(&problem.params)
    else:
        problem.params.groups = params.groups
        problem.params.flip = params.flip
        problem.params.padding_mode = params.padding_mode
        problem.params.padding_value = params.padding_value
        problem.params.threads = params.threads
        for i in range(ndim):
            problem.params.stride[i] = params.stride[i]
            problem.params.padding[i][0] = params.padding[i][0]
            problem.params.padding[i][1] = params.padding[i][1]
            problem.params.dilation[i] = params.dilation[i]
    return True


cdef void spell_strides(const Py_ssize_t *strides, const Py_ssize_t *shape, int nd,
                        Py_ssize_t *result) noexcept nogil:
    """The given element strides, or the C-contiguous ones for NULL."""
    cdef int i
    if strides == NULL:
        c_strides(shape, nd, result)
    else:
        for i in range(nd):
            result[i] = strides[i]


cdef Py_ssize_t contiguous_one[1]
contiguous_one[0] = 1


cdef bint spans_overlap(const void *a, const Py_ssize_t *a_shape, const Py_ssize_t *a_strides,
                        int a_dims, const void *b, const Py_ssize_t *b_shape,
                        const Py_ssize_t *b_strides, Py_ssize_t itemsize,
                        int b_dims=-1) noexcept nogil:
    """Whether the bytes two arrays span (first to last element) intersect."""
    cdef uintptr_t a_low, a_high, b_low, b_high
    if b_dims < 0:
        b_dims = a_dims
    if not byte_span(a, a_shape, a_strides, a_dims, itemsize, &a_low, &a_high) or \
            not byte_span(b, b_shape, b_strides, b_dims, itemsize, &b_low, &b_high):
        return False
    return a_low < b_high and b_low < a_high


cdef bint byte_span(const void *data, const Py_ssize_t *shape, const Py_ssize_t *strides,
                    int nd, Py_ssize_t itemsize, uintptr_t *low,
                    uintptr_t *high) noexcept nogil:
    """[low, high): the bytes an array spans; False when it is empty."""
    cdef Py_ssize_t first = 0, last = 0
    cdef int i
    for i in range(nd):
        if shape[i] == 0:
            return False
        if strides[i] < 0:
            first += (shape[i] - 1) * strides[i]
        else:
            last += (shape[i] - 1) * strides[i]
    low[0] = <uintptr_t>data + first * itemsize
    high[0] = <uintptr_t>data + (last + 1) * itemsize
    return True


cdef int prepare(Call *call, const Problem *problem, int ndim, Py_ssize_t itemsize,
                 const void *x, const Py_ssize_t *x_shape, const Py_ssize_t *x_strides,
                 const void *weight, const Py_ssize_t *weight_shape,
                 const Py_ssize_t *weight_strides, const void *bias, void *out,
                 const Py_ssize_t *out_shape, const Py_ssize_t *out_strides,
                 const pcx_conv_params *params) noexcept with gil:
    """Check the arguments and plan; remember the problem's plan in the cache (when
    ``problem`` is given).  A Python exception becomes a status.

    No exception leaves: one that escaped a noexcept function would be printed
    and the call would return 0, PCX_OK.  So the status starts as an error and
    becomes PCX_OK only when everything went through.
    """
    cdef int status = PCX_ERR_INTERNAL
    cdef bint rearm = False
    memset(&call.prepared, 0, sizeof(Prepared))
    call.slot = -1
    try:
        try:
            _prepare(&call.prepared, ndim, itemsize, x, x_shape, x_strides, weight,
                     weight_shape, weight_strides, bias, out, out_shape, out_strides, params)
            if problem != NULL:
                cache_insert(problem, call)
            status = PCX_OK
        except BaseException as exc:  # every exception becomes a status
            rearm = isinstance(exc, KeyboardInterrupt)
            status = _report(exc, -1)
    except BaseException:  # reporting failed too: the status says internal error
        pass
    if status != PCX_OK and call.slot < 0:
        Py_XDECREF(call.prepared.record)
        call.prepared.record = NULL
    if rearm:   # last: Python runs the SIGINT handler at its next check
        PyErr_SetInterrupt()
    return status


cdef int finish(Call *call, int status) noexcept with gil:
    """Release the plan the call owns.  The exception of an interruption becomes the
    thread's last error; Ctrl-C is re-armed, so that the caller's Python code still
    sees it."""
    cdef bint rearm = False
    Py_XDECREF(call.prepared.record)
    call.prepared.record = NULL
    try:
        if status == PCX_ERR_INTERRUPTED:
            try:
                _raise_pending_exception()
            except BaseException as exc:  # the signal handler's, taken off the thread
                rearm = isinstance(exc, KeyboardInterrupt)
                _report(exc, PCX_ERR_INTERRUPTED)
        elif status == PCX_ERR_NO_MEMORY:
            _set_error("the memory for the direct engine's workspace or for a copy of out "
                       "or weight could not be allocated")
    except BaseException:  # reporting failed: the status stands
        pass
    if rearm:   # last: Python runs the SIGINT handler at its next check
        PyErr_SetInterrupt()
    return status


# ----------------------------------------------------------------------------- the cache
# The plans of recent problems, found without the GIL: a call whose problem is
# here only takes a lock for a moment, twice.  The cache holds a reference to
# each plan record; ``users`` counts the calls running with one, and an entry
# is replaced only when none is (always with the GIL held, by a new problem).

cdef enum:
    CACHE_SIZE = 64

cdef struct CacheEntry:
    bint filled
    unsigned long long hash
    Problem problem
    Prepared prepared
    Py_ssize_t users

cdef CacheEntry cache[CACHE_SIZE]
cdef int cache_next = 0                      # where the next replacement looks first
cdef PyThread_type_lock cache_lock = PyThread_allocate_lock()


cdef unsigned long long problem_hash(const Problem *problem) noexcept nogil:
    """FNV-1a over the problem's bytes."""
    cdef const unsigned char *byte = <const unsigned char *>problem
    cdef unsigned long long h = 14695981039346656037ULL
    cdef size_t i
    for i in range(sizeof(Problem)):
        h = (h ^ byte[i]) * 1099511628211ULL
    return h


cdef int cache_find(const Problem *problem, unsigned long long h) noexcept nogil:
    """The slot holding ``problem`` (the lock held), or -1."""
    cdef int i
    for i in range(CACHE_SIZE):
        if cache[i].filled and cache[i].hash == h and memcmp(
                &cache[i].problem, problem, sizeof(Problem)) == 0:
            return i
    return -1


cdef bint cache_acquire(const Problem *problem, Call *call) noexcept nogil:
    """Take the problem's plan from the cache, if it is there (no GIL needed)."""
    cdef unsigned long long h = problem_hash(problem)
    cdef int slot
    PyThread_acquire_lock(cache_lock, WAIT_LOCK)
    slot = cache_find(problem, h)
    if slot >= 0:
        cache[slot].users += 1
        call.prepared = cache[slot].prepared
        call.slot = slot
    PyThread_release_lock(cache_lock)
    return slot >= 0


cdef void cache_release(int slot) noexcept nogil:
    PyThread_acquire_lock(cache_lock, WAIT_LOCK)
    cache[slot].users -= 1
    PyThread_release_lock(cache_lock)


cdef int cache_insert(const Problem *problem, Call *call) except -1:
    """Remember the call's fresh plan (the GIL held).  The call then uses the cache's
    entry; with every entry in use, it keeps its own reference instead."""
    global cache_next
    cdef unsigned long long h = problem_hash(problem)
    cdef int slot, i
    cdef PyObject *dropped = NULL
    PyThread_acquire_lock(cache_lock, WAIT_LOCK)
    slot = cache_find(problem, h)          # another thread planned it meanwhile
    if slot >= 0:
        dropped = call.prepared.record
    else:
        for i in range(CACHE_SIZE):
            if cache[(cache_next + i) % CACHE_SIZE].users == 0:
                slot = (cache_next + i) % CACHE_SIZE
                break
        if slot >= 0:
            cache_next = (slot + 1) % CACHE_SIZE
            if cache[slot].filled:
                dropped = cache[slot].prepared.record
            cache[slot].filled = True
            cache[slot].hash = h
            cache[slot].problem = problem[0]
            cache[slot].prepared = call.prepared
    if slot >= 0:
        cache[slot].users += 1
        call.prepared = cache[slot].prepared
        call.slot = slot
    PyThread_release_lock(cache_lock)
    Py_XDECREF(dropped)     # outside the lock: a record's deallocation runs Python code
    return 0


def _empty_cache_after_fork():
    """In a forked child: a fresh lock (a thread of the parent may have held the old
    one) and no plans (they were made for the parent's thread count)."""
    global cache_lock, cache_next
    cache_lock = PyThread_allocate_lock()
    cache_next = 0
    for i in range(CACHE_SIZE):
        if cache[i].filled:
            Py_XDECREF(cache[i].prepared.record)
        memset(&cache[i], 0, sizeof(CacheEntry))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_empty_cache_after_fork)


# ----------------------------------------------------------------------------- errors


cdef int _raise_pending_exception() except -1:
    """Raise the exception a signal handler left set (returning -1 makes Cython do it)."""
    return -1


cdef int _report(exc, int status) except -1:
    """The status of an exception (``status``, or else the one its type says); its
    message becomes the thread's last error."""
    if isinstance(exc, KeyboardInterrupt):
        status = PCX_ERR_INTERRUPTED
    elif status >= 0:
        pass
    elif isinstance(exc, MemoryError):
        status = PCX_ERR_NO_MEMORY
    elif isinstance(exc, (ValueError, TypeError, OverflowError)):
        status = PCX_ERR_ARGUMENT
    else:
        status = PCX_ERR_INTERNAL
    text = str(exc)
    if status in (PCX_ERR_INTERRUPTED, PCX_ERR_INTERNAL) or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if status == PCX_ERR_INTERRUPTED:
        text = f"interrupted by {text}"
    _set_error(text)
    return status


cdef _set_error(str text):
    encoded = text.encode("utf-8", "replace")[:ERROR_TEXT_SIZE - 1]
    strncpy(pcx_error_text, encoded, ERROR_TEXT_SIZE - 1)
    pcx_error_text[len(encoded)] = 0


cdef tuple _sizes(const Py_ssize_t *values, int count, str name):
    if values == NULL:
        raise ValueError(f"{name} must not be NULL")
    return tuple(values[i] for i in range(count))


cdef tuple _element_strides(const Py_ssize_t *strides, tuple shape, str name):
    """The given element strides, or the C-contiguous ones for NULL."""
    if strides != NULL:
        return _sizes(strides, len(shape), name)
    result = []
    step = 1
    for size in reversed(shape):
        result.append(step)
        step *= max(size, 1)
    return tuple(reversed(result))


cdef bint _c_contiguous(tuple shape, tuple strides):
    step = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != step:
            return False
        step *= size
    return True


cdef int _prepare(Prepared *prep, int ndim, Py_ssize_t itemsize, const void *x,
                  const Py_ssize_t *x_shape, const Py_ssize_t *x_strides, const void *weight,
                  const Py_ssize_t *weight_shape, const Py_ssize_t *weight_strides,
                  const void *bias, void *out, const Py_ssize_t *out_shape,
                  const Py_ssize_t *out_strides, const pcx_conv_params *params) except -1:
    """The checks of pyconvx.conv, then the plan (on the process's SIMD level: the
    plan is shared by every thread through the cache)."""
    cdef pcx_conv_params defaults
    cdef _Records records
    if not 1 <= ndim <= PCX_MAX_SPATIAL_DIMS:
        raise ValueError(f"ndim must be between 1 and {PCX_MAX_SPATIAL_DIMS}, got {ndim}")
    for name, pointer in (("x", <uintptr_t>x), ("weight", <uintptr_t>weight),
                          ("out", <uintptr_t>out), ("bias", <uintptr_t>bias)):
        if pointer == 0 and name != "bias":
            raise ValueError(f"{name} must not be NULL")
        if pointer % itemsize:
            raise ValueError(f"{name} must be aligned to its {itemsize}-byte elements "
                             f"(got address {pointer:#x})")
    nd = ndim + 2
    xs = _sizes(x_shape, nd, "x_shape")
    ws = _sizes(weight_shape, nd, "weight_shape")
    os_ = _sizes(out_shape, nd, "out_shape")
    if params == NULL:
        pcx_params_init(&defaults)
        params = &defaults
    if not 0 <= params.padding_mode < len(PADDING_MODES):
        raise ValueError(f"params.padding_mode must be a PCX_PAD_* value (0 to "
                         f"{len(PADDING_MODES) - 1}), got {params.padding_mode}")
    if params.threads < 0:
        raise ValueError(f"params.threads must be >= 0 (0: pyconvx's default), "
                         f"got {params.threads}")
    geometry = describe_conv(
        xs, ws, ndim=ndim,
        stride=tuple(params.stride[i] for i in range(ndim)),
        padding=tuple((params.padding[i][0], params.padding[i][1]) for i in range(ndim)),
        dilation=tuple(params.dilation[i] for i in range(ndim)),
        groups=params.groups, padding_mode=PADDING_MODES[params.padding_mode],
        padding_value=params.padding_value,
        bias_shape=None if bias == NULL else (ws[0],))
    if os_ != geometry.out_shape:
        raise ValueError(f"out_shape is {os_}; this convolution's output has shape "
                         f"{geometry.out_shape}")
    threads = resolve_threads(None if params.threads == 0 else params.threads)
    x_steps = _element_strides(x_strides, xs, "x_strides")
    w_steps = _element_strides(weight_strides, ws, "weight_strides")
    out_steps = _element_strides(out_strides, os_, "out_strides")
    prep.out_contiguous = _c_contiguous(os_, out_steps)
    prep.weight_contiguous = _c_contiguous(ws, w_steps)
    prep.out_elems = math.prod(os_)     # both below 2**62: describe_conv checked them
    prep.weight_elems = math.prod(ws)
    if prep.out_elems == 0:
        prep.action = NOTHING
        return 0
    # out is copied when it overlaps an input, whatever its layout
    copies = prep.out_elems + (0 if prep.weight_contiguous else prep.weight_elems)
    check_memory(copies * itemsize, "the copies of out and weight")
    if geometry.reduction_length == 0:
        prep.action = FILL
        return 0
    dtype = np.float32 if itemsize == 4 else np.float64
    records = _Records(make_plan(geometry, dtype, threads=threads, algorithm="auto",
                                 flip=bool(params.flip), x_strides=x_steps,
                                 level=_PROCESS_LEVEL).records)
    Py_INCREF(records)
    prep.record = <PyObject *>records
    prep.refs = records.refs
    prep.n_records = records.count
    prep.action = ENGINE
    return 0


# ----------------------------------------------------------------------------- copies


cdef void c_strides(const Py_ssize_t *shape, int nd, Py_ssize_t *strides) noexcept nogil:
    """The element strides of a C-contiguous array of ``shape``."""
    cdef Py_ssize_t step = 1
    cdef int i = nd - 1
    while i >= 0:
        strides[i] = step
        step *= shape[i]
        i -= 1


cdef void copy_strided(const real *src, const Py_ssize_t *src_strides, real *dst,
                       const Py_ssize_t *dst_strides, const Py_ssize_t *shape,
                       int nd) noexcept nogil:
    """dst[i...] = src[i...] over ``shape`` (element strides; C order)."""
    cdef Py_ssize_t index[MAX_ARRAY_DIMS]
    cdef Py_ssize_t s = 0, d = 0
    cdef int i
    for i in range(nd):
        if shape[i] == 0:
            return
        index[i] = 0
    while True:
        dst[d] = src[s]
        i = nd - 1
        while i >= 0:
            index[i] += 1
            s += src_strides[i]
            d += dst_strides[i]
            if index[i] < shape[i]:
                break
            s -= src_strides[i] * shape[i]
            d -= dst_strides[i] * shape[i]
            index[i] = 0
            i -= 1
        if i < 0:
            return


cdef void fill_bias(real *out, const real *bias, const Py_ssize_t *shape, int nd) noexcept nogil:
    """A C-contiguous output of empty sums: every value its channel's bias, or 0."""
    cdef Py_ssize_t plane = 1, n, c, j
    cdef real value
    cdef int i
    for i in range(2, nd):
        plane *= shape[i]
    for n in range(shape[0]):
        for c in range(shape[1]):
            value = bias[c] if bias != NULL else 0
            for j in range(plane):
                out[(n * shape[1] + c) * plane + j] = value


# ----------------------------------------------------------------------------- Python side


cdef pcx_conv_params _layout_probe

#: The NumPy layout of ``pcx_conv_params`` (field offsets and size read from the
#: compiled struct): ctypes and numba callers fill one and pass its address.
PARAMS_DTYPE = np.dtype({
    "names": ["stride", "padding", "dilation", "groups", "flip", "padding_mode",
              "padding_value", "threads"],
    "formats": [(np.intp, (PCX_MAX_SPATIAL_DIMS,)), (np.intp, (PCX_MAX_SPATIAL_DIMS, 2)),
                (np.intp, (PCX_MAX_SPATIAL_DIMS,)), np.intp, np.intc, np.intc, np.float64,
                np.intc],
    "offsets": [<char *>&_layout_probe.stride[0] - <char *>&_layout_probe,
                <char *>&_layout_probe.padding[0][0] - <char *>&_layout_probe,
                <char *>&_layout_probe.dilation[0] - <char *>&_layout_probe,
                <char *>&_layout_probe.groups - <char *>&_layout_probe,
                <char *>&_layout_probe.flip - <char *>&_layout_probe,
                <char *>&_layout_probe.padding_mode - <char *>&_layout_probe,
                <char *>&_layout_probe.padding_value - <char *>&_layout_probe,
                <char *>&_layout_probe.threads - <char *>&_layout_probe],
    "itemsize": sizeof(pcx_conv_params),
})

# The ABI's constants as module attributes (their names are those of capi.pxd).
_ABI_CONSTANTS = {
    "PCX_CAPI_VERSION": PCX_CAPI_VERSION,
    "PCX_MAX_SPATIAL_DIMS": PCX_MAX_SPATIAL_DIMS,
    "PCX_OK": PCX_OK,
    "PCX_ERR_ARGUMENT": PCX_ERR_ARGUMENT,
    "PCX_ERR_NO_MEMORY": PCX_ERR_NO_MEMORY,
    "PCX_ERR_INTERRUPTED": PCX_ERR_INTERRUPTED,
    "PCX_ERR_INTERNAL": PCX_ERR_INTERNAL,
    "PCX_PAD_ZEROS": PCX_PAD_ZEROS,
    "PCX_PAD_REFLECT": PCX_PAD_REFLECT,
    "PCX_PAD_REPLICATE": PCX_PAD_REPLICATE,
    "PCX_PAD_CIRCULAR": PCX_PAD_CIRCULAR,
    "PCX_PAD_SYMMETRIC": PCX_PAD_SYMMETRIC,
    "PCX_PAD_CONSTANT": PCX_PAD_CONSTANT,
}
globals().update(_ABI_CONSTANTS)
__all__ += list(_ABI_CONSTANTS)


def get_include():
    """The directory to put on Cython's include path for ``from pyconvx cimport capi``.

    It is the directory that holds the ``pyconvx`` package (``capi.pxd``
    declares the whole API; no C header is needed).

    Returns
    -------
    str
        An absolute path.

    Examples
    --------
    >>> import os
    >>> from pyconvx import capi
    >>> os.path.isfile(os.path.join(capi.get_include(), "pyconvx", "capi.pxd"))
    True
    """
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def function_address(name):
    """The address of the C function ``name`` of the API, from its PyCapsule.

    For callers without Cython: wrap it with ``ctypes.CFUNCTYPE`` (or numba's
    ``ctypes`` support; numba's ``get_cython_function_address("pyconvx.capi",
    name)`` returns the same number).

    Parameters
    ----------
    name : str
        ``"pcx_conv_f32"``, ``"pcx_conv_f64"``, ``"pcx_params_init"``,
        ``"pcx_status_message"``, ``"pcx_last_error"`` or ``"pcx_capi_version"``.

    Returns
    -------
    int
        The function's address.

    Raises
    ------
    ValueError
        If ``name`` is not a function of the API.

    Examples
    --------
    >>> import ctypes
    >>> from pyconvx import capi
    >>> version = ctypes.CFUNCTYPE(ctypes.c_int)(capi.function_address("pcx_capi_version"))
    >>> version() == capi.PCX_CAPI_VERSION
    True
    """
    table = sys.modules[__name__].__pyx_capi__
    if not isinstance(name, str) or name not in table:
        raise ValueError(f"name must be one of {', '.join(map(repr, sorted(table)))}; "
                         f"got {name!r}")
    capsule = table[name]
    return <uintptr_t>PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


def default_params():
    """A ``pcx_conv_params`` record holding the defaults of ``pcx_params_init``.

    Stride 1, no padding and dilation 1 on every dim, one group, no flip,
    zeros padding, ``threads`` 0 (pyconvx's default).  Change its fields and
    pass ``record.ctypes.data`` as the ``params`` pointer.

    Returns
    -------
    numpy.ndarray
        A 0-d array of dtype :data:`PARAMS_DTYPE`.

    Examples
    --------
    >>> from pyconvx import capi
    >>> params = capi.default_params()
    >>> int(params["groups"]), params["stride"][:2].tolist()
    (1, [1, 1])
    >>> params["padding"][:2] = [(1, 1), (2, 0)]     # (low, high) per spatial dim
    >>> params["threads"] = 1
    """
    record = np.zeros((), dtype=PARAMS_DTYPE)
    pcx_params_init(<pcx_conv_params *><uintptr_t>record.ctypes.data)
    return record
