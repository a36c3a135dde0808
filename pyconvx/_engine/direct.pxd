# The direct engine's executor, for other Cython modules (see direct.pyx).

from pyconvx._engine.contract cimport DirectGeometry, pcx_ukernel_set, real

cdef enum:
    # what execute returns
    EXECUTE_OK = 0
    EXECUTE_NO_MEMORY = 1      # the workspace could not be allocated
    EXECUTE_INTERRUPTED = 2    # a signal handler raised (the exception is set)

cdef int execute(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *x,
                 const real *w, const real *bias, real *out,
                 bint check_signals) noexcept nogil
