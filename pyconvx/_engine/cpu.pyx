"""CPU and build facts of the compiled engine, and the FMA peak probe."""

from cython.parallel cimport prange
from libc.stdint cimport int64_t

from pyconvx._engine.contract cimport detected_level, pcx_fma_probe, pcx_ukernel_set, ukernel_set

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define PCX_OPENMP 1
    static int pcx_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    #define PCX_OPENMP 0
    static int pcx_omp_max_threads(void) { return 0; }
    #endif
    """
    int PCX_OPENMP
    int pcx_omp_max_threads() nogil

cdef extern from "ukernels.h":
    const char *pcx_portable_isa()


def openmp_enabled():
    """Whether the engine was compiled with OpenMP."""
    return bool(PCX_OPENMP)


def omp_max_threads():
    """The OpenMP runtime's thread count for this thread's next parallel region, or None.

    ``omp_get_max_threads()`` of the runtime the engine is linked with: its
    default is the usable cores, OMP_NUM_THREADS sets it when the runtime
    loads, and ``omp_set_num_threads`` (which threadpoolctl calls) changes it
    for the calling thread.  None when the engine was built without OpenMP.
    """
    return pcx_omp_max_threads() if PCX_OPENMP else None


def portable_isa():
    """What the portable ("generic") set's vectors compile to here: "neon", "sse2", ..."""
    return pcx_portable_isa().decode()


def cpu_level():
    """Highest microkernel level compiled in and supported here (0 generic, 1 avx2, 2 avx512)."""
    return detected_level()


def fma_probe(int level, bint double_precision, int threads, int64_t iterations):
    """Run the register-only FMA loop of ``level`` on ``threads`` threads; return the FLOPs done.

    Time it from Python to get the machine's peak (see ``pyconvx.fma_peak_gflops``).
    """
    cdef const pcx_ukernel_set *ks = ukernel_set(level)
    cdef pcx_fma_probe probe
    cdef int t
    cdef double sink = 0
    if ks == NULL:
        raise ValueError(f"SIMD level {level} is not compiled in")
    probe = ks.f64.fma_probe if double_precision else ks.f32.fma_probe
    with nogil:
        for t in prange(threads, schedule="static", num_threads=threads):
            sink += probe.run(iterations)
    # the sink keeps the loop's result alive; it never changes the count
    return threads * iterations * probe.flops_per_iteration + 0 * sink
