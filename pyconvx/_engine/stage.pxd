# What the direct engine copies before the microkernels run (see stage.pyx).

from libc.stdint cimport int64_t

from pyconvx._engine.contract cimport DirectGeometry, pcx_ukernel_set, real

cdef void build_tables(const DirectGeometry *geo, int64_t *index) noexcept nogil
cdef void build_band(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *x,
                     int64_t n, int64_t g, real *band, int64_t *index) noexcept nogil
cdef void copy_band(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *x,
                    int64_t n, int64_t g, real *band, int64_t *index) noexcept nogil
cdef void depthwise_band(const DirectGeometry *geo, const pcx_ukernel_set *ks,
                         const real *x_chan, real *band, const int64_t *index, int64_t j0,
                         int64_t j1) noexcept nogil
cdef void lanes_band(const DirectGeometry *geo, const pcx_ukernel_set *ks,
                     const real *x_block, int64_t nc, real *band) noexcept nogil
cdef void transpose_lanes(const pcx_ukernel_set *ks, const real *src, int64_t src_row,
                          int64_t rows, int64_t cols, real *dst,
                          int64_t dst_row) noexcept nogil
cdef void pack_weights(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *w,
                       real *packed, int64_t gp) noexcept nogil
