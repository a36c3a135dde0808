"""What the direct engine copies before the microkernels run.

* The input band of one output box (``build_band``): the input region the box
  reads, padded by the padding mode and split into phase planes, laid out as
  ``pyconvx._engine.layout`` says (the plan carries the numbers).  Per dim, an
  index map from band coordinates to input indices (``build_tables``) does the
  padding; the in-range run of the innermost dim is a plain strided copy.
* One channel's band for the depthwise microkernel (``depthwise_band``), its
  strided runs gathered by the microkernel set's vector code; or only its
  edge columns, when the microkernel reads the rest of the input in place.
* The band of a depthwise unit on lanes (``lanes_band``): the padded planes of
  a block of channels, position by position, a vector's lanes per position.
* The weights a kind needs repacked (``pack_weights``): a short last panel of
  the gemm/row tiles, the taps of one-channel kernels, Winograd's transformed
  weights.

Every function reads the frozen plan record and writes only the buffers it is
given; the index area (``index``) is the thread's own, addressed by the plan's
scratch layout.
"""

from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from pyconvx._engine.contract cimport (CGEMM, CONSTANT, DEPTHWISE, REFLECT, REPLICATE,
                                       ROWBLOCK, SYMMETRIC, WINOGRAD, ZEROS, DirectGeometry,
                                       pcx_ukernel_set, real)


cdef inline int64_t map_index(int64_t coord, int64_t pad_lo, int64_t size,
                              int64_t padded, int64_t mode) noexcept nogil:
    """Input index feeding padded coordinate ``coord``, or -1 for the fill value.

    The rules of ``pyconvx._boundary`` (one reflection: the padding widths
    were checked by the Python layer)."""
    cdef int64_t i = coord - pad_lo
    if coord < 0 or coord >= padded:
        return -1          # only garbage (discarded) positions reach here
    if 0 <= i < size:
        return i
    if mode == ZEROS or mode == CONSTANT:
        return -1
    if mode == REFLECT:
        return -i if i < 0 else 2 * (size - 1) - i
    if mode == SYMMETRIC:
        return -i - 1 if i < 0 else 2 * size - 1 - i
    if mode == REPLICATE:
        return 0 if i < 0 else size - 1
    # circular
    return (i % size + size) % size


cdef inline void fill_run(real *dst, int64_t count, real value) noexcept nogil:
    """dst[:count] = value (the border of a constant padding; zeros by memset)."""
    cdef int64_t j
    if value == 0:
        memset(dst, 0, count * sizeof(real))
    else:
        for j in range(count):
            dst[j] = value


cdef enum:
    # runs shorter than this are copied by an inline loop (a library call costs
    # more than the copy of a 7x7 or 28x28 image's row)
    SHORT_RUN = 64


cdef inline void copy_run(real *dst, const real *src, int64_t count) noexcept nogil:
    """dst[:count] = src[:count] (no overlap)."""
    cdef int64_t j
    if count < SHORT_RUN:
        for j in range(count):
            dst[j] = src[j]
    else:
        memcpy(dst, src, count * sizeof(real))


cdef enum:
    # strided runs shorter than this are copied by an inline loop (the gather
    # microkernel's call costs more than it saves on a 7x7 image's row)
    GATHER_MIN_RUN = 16


cdef inline int64_t floor_div(int64_t a, int64_t b) noexcept nogil:
    """Floor division for b > 0 (C division truncates toward zero)."""
    cdef int64_t q = a / b
    if q * b > a:
        q -= 1
    return q


cdef void build_tables(const DirectGeometry *geo, int64_t *index) noexcept nogil:
    """Per dim and residue, the input index of every band plane coordinate.

    For dim i and residue index ri, ``table`` holds ``ext[i]`` entries (an
    input index, or -1 for a zero), dims one after the other.  For the
    innermost dim, plane coordinates j in [run_lo, run_hi) map to the evenly
    stepping in-range input indices run_src + (j - run_lo) * stride, which the
    band builder copies without looking at the table.  The box origin is read
    from the index area; the tables and runs are written there.
    """
    cdef const int64_t *origin = index + geo.scratch.origin
    cdef int64_t *table = index + geo.scratch.table
    cdef int64_t *run_lo = index + geo.scratch.run_lo
    cdef int64_t *run_hi = index + geo.scratch.run_hi
    cdef int64_t *run_src = index + geo.scratch.run_src
    cdef int64_t i, ri, j, r, base, lo, hi, pos = 0, last = geo.ndim - 1
    for i in range(geo.ndim):
        for ri in range(geo.n_res[i]):
            r = geo.res[geo.res_start[i] + ri]
            lo = 0
            hi = 0
            if i == last:
                # input index of plane coordinate j is base + j * stride
                base = origin[i] * geo.stride[i] + r - geo.pad_lo[i]
                lo = -floor_div(base, geo.stride[i])          # ceil(-base / stride)
                hi = -floor_div(base - geo.in_size[i], geo.stride[i])
                # both within the plane: a box whose plane lies wholly in the low
                # border (a padding wider than the box) has lo beyond ext[i]
                lo = min(max(lo, 0), geo.ext[i])
                hi = min(max(hi, lo), geo.ext[i])
                run_lo[ri] = lo
                run_hi[ri] = hi
                run_src[ri] = base + lo * geo.stride[i]
            # the run is copied without the table: fill only the rest
            for j in range(lo):
                table[pos + j] = map_index((origin[i] + j) * geo.stride[i] + r, geo.pad_lo[i],
                                           geo.in_size[i], geo.padded_size[i], geo.mode)
            for j in range(hi, geo.ext[i]):
                table[pos + j] = map_index((origin[i] + j) * geo.stride[i] + r, geo.pad_lo[i],
                                           geo.in_size[i], geo.padded_size[i], geo.mode)
            pos += geo.ext[i]


cdef void build_band(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *x,
                     int64_t n, int64_t g, real *band, int64_t *index) noexcept nogil:
    """Copy the padded, phase-split input region of one box into ``band``."""
    build_tables(geo, index)
    if geo.band_channels_last:
        copy_rows_channels_last(geo, x, n, g, band, index)
    else:
        copy_band(geo, ks, x, n, g, band, index)


cdef void copy_rows_channels_last(const DirectGeometry *geo, const real *x, int64_t n,
                                  int64_t g, real *band, const int64_t *index) noexcept nogil:
    """The band of a channels-last x for the channel tile: position by position
    (rows of ext[1] positions), each position's cin_g channels together; the
    border holds the fill value, the in-range run of a row is copied from x's
    row as it lies (one copy per row when the group's channels are all of x's,
    else one per position).  2-d, stride 1, zero or constant border."""
    cdef const int64_t *table = index + geo.scratch.table   # rows first
    cdef int64_t lo = index[geo.scratch.run_lo], hi = index[geo.scratch.run_hi]
    cdef int64_t src0 = index[geo.scratch.run_src], row_len = geo.ext[1], cin = geo.cin_g
    cdef int64_t rows = geo.ext[0], xs_h = geo.x_strides[2], xs_w = geo.x_strides[3], r, t, j
    cdef real fill = <real>geo.padding_value
    cdef const real *x_img = (x + n * geo.x_strides[0]
                              + g * geo.x_channels_per_group * geo.x_strides[1] + src0 * xs_w)
    cdef const real *src
    cdef real *dst = band
    for r in range(rows):
        t = table[r]
        if t < 0:
            fill_run(dst, row_len * cin, fill)
        else:
            fill_run(dst, lo * cin, fill)
            src = x_img + t * xs_h
            if xs_w == cin:
                memcpy(dst + lo * cin, src, (hi - lo) * cin * sizeof(real))
            else:
                for j in range(hi - lo):
                    memcpy(dst + (lo + j) * cin, src + j * xs_w, cin * sizeof(real))
            fill_run(dst + hi * cin, (row_len - hi) * cin, fill)
        dst += row_len * cin


cdef void copy_rows(const DirectGeometry *geo, const real *x, int64_t n, int64_t g,
                    real *band, const int64_t *index) noexcept nogil:
    """copy_band's 2-d, one-phase case with a constant (or zero) border and
    unit-stride rows: per band row, the border, then one run of x's row (the
    same values as the general walk, without its per-element table reads).
    Rows are ``pitch[0]`` apart: where that is less than their length, a
    row's trailing border columns are the next row's leading ones (both the
    fill value; see ``layout``)."""
    cdef const int64_t *table = index + geo.scratch.table   # rows first
    cdef int64_t lo = index[geo.scratch.run_lo], hi = index[geo.scratch.run_hi]
    cdef int64_t src0 = index[geo.scratch.run_src], row_len = geo.ext[1]
    cdef int64_t rows = geo.ext[0], xs_h = geo.x_strides[2], row_pitch = geo.pitch[0]
    cdef int64_t ci, r, j, t
    cdef real fill = <real>geo.padding_value
    cdef const real *x_chan
    cdef real *dst
    cdef real *plane_end
    for ci in range(geo.cin_g):
        x_chan = (x + n * geo.x_strides[0]
                  + (g * geo.x_channels_per_group + ci) * geo.x_strides[1] + src0)
        dst = band + ci * geo.plane_size
        for r in range(rows):
            t = table[r]
            if t < 0:
                fill_run(dst, row_len, fill)
            else:
                for j in range(lo):
                    dst[j] = fill
                copy_run(dst + lo, x_chan + t * xs_h, hi - lo)
                for j in range(hi, row_len):
                    dst[j] = fill
            dst += row_pitch
        # planes start on aligned offsets: zero the gap up to the next one
        plane_end = dst - row_pitch + row_len if rows > 0 else dst
        memset(plane_end, 0, (band + (ci + 1) * geo.plane_size - plane_end) * sizeof(real))


cdef void copy_band(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *x,
                    int64_t n, int64_t g, real *band, int64_t *index) noexcept nogil:
    """The copy of build_band, with the box's tables and runs already built.

    A row's in-range run is one copy when its samples are contiguous in x,
    else (from GATHER_MIN_RUN samples) one strided gather of the microkernel
    set (a stride-2 phase plane's samples de-interleaved a vector at a time)."""
    cdef int64_t D = geo.ndim, last = geo.ndim - 1
    cdef const int64_t *table = index + geo.scratch.table
    cdef const int64_t *run_lo = index + geo.scratch.run_lo
    cdef const int64_t *run_hi = index + geo.scratch.run_hi
    cdef const int64_t *run_src = index + geo.scratch.run_src
    cdef int64_t *counter = index + geo.scratch.counter     # [D] odometer over the outer dims
    cdef int64_t *res_idx = index + geo.scratch.res_idx     # [D] residue index per dim
    cdef int64_t *tab_base = index + geo.scratch.tab_base   # [D] table offset per dim
    cdef int64_t ci, phase, rem, i, j, k, src_off, t, valid, inner_stride, row_len
    cdef int64_t tab_pos
    cdef const real *x_chan
    cdef const real *src
    cdef real *dst = band
    cdef real *plane_end
    cdef real fill = <real>geo.padding_value
    inner_stride = geo.x_strides[2 + last]
    row_len = geo.ext[last]
    if (D == 2 and geo.n_phase == 1 and inner_stride == 1 and geo.stride[last] == 1
            and (geo.mode == ZEROS or geo.mode == CONSTANT)):
        copy_rows(geo, x, n, g, band, index)
        return
    for ci in range(geo.cin_g):
        x_chan = (x + n * geo.x_strides[0]
                  + (g * geo.x_channels_per_group + ci) * geo.x_strides[1])
        for phase in range(geo.n_phase):
            # residue index per dim (mixed radix, innermost fastest)
            rem = phase
            i = D - 1
            while i >= 0:
                res_idx[i] = rem % geo.n_res[i]
                rem = rem // geo.n_res[i]
                i -= 1
            tab_pos = 0
            for i in range(D):
                tab_base[i] = tab_pos + res_idx[i] * geo.ext[i]
                tab_pos += geo.n_res[i] * geo.ext[i]
            # odometer over the outer dims
            for i in range(D):
                counter[i] = 0
            while True:
                valid = 1
                src_off = 0
                for i in range(last):
                    t = table[tab_base[i] + counter[i]]
                    if t < 0:
                        valid = 0
                        break
                    src_off += t * geo.x_strides[2 + i]
                if not valid:
                    fill_run(dst, row_len, fill)
                else:
                    src = x_chan + src_off
                    k = res_idx[last]
                    for j in range(run_lo[k]):
                        t = table[tab_base[last] + j]
                        dst[j] = src[t * inner_stride] if t >= 0 else fill
                    if run_hi[k] > run_lo[k]:
                        if geo.stride[last] == 1 and inner_stride == 1:
                            copy_run(dst + run_lo[k], src + run_src[k], run_hi[k] - run_lo[k])
                        elif run_hi[k] - run_lo[k] < GATHER_MIN_RUN:
                            t = geo.stride[last] * inner_stride
                            for j in range(run_hi[k] - run_lo[k]):
                                dst[run_lo[k] + j] = src[run_src[k] * inner_stride + j * t]
                        elif real is float:
                            ks.f32.gather(src + run_src[k] * inner_stride,
                                          geo.stride[last] * inner_stride,
                                          run_hi[k] - run_lo[k], dst + run_lo[k])
                        else:
                            ks.f64.gather(src + run_src[k] * inner_stride,
                                          geo.stride[last] * inner_stride,
                                          run_hi[k] - run_lo[k], dst + run_lo[k])
                    for j in range(run_hi[k], row_len):
                        t = table[tab_base[last] + j]
                        dst[j] = src[t * inner_stride] if t >= 0 else fill
                dst += row_len
                # advance the outer odometer
                i = last - 1
                while i >= 0:
                    counter[i] += 1
                    if counter[i] < geo.ext[i]:
                        break
                    counter[i] = 0
                    i -= 1
                if i < 0:
                    break
            # planes start on aligned offsets: zero the gap up to the next one
            plane_end = band + (ci * geo.n_phase + phase + 1) * geo.plane_size
            memset(dst, 0, (plane_end - dst) * sizeof(real))
            dst = plane_end
    # slack read by the last tiles' garbage lanes: zeros, never denormals
    memset(dst, 0, geo.nr * sizeof(real))


cdef void depthwise_band(const DirectGeometry *geo, const pcx_ukernel_set *ks,
                         const real *x_chan, real *band, const int64_t *index, int64_t j0,
                         int64_t j1) noexcept nogil:
    """copy_band for one channel of a 2-d problem (tables built by build_tables),
    its strided runs gathered by the microkernel set's vector code: the band
    columns [j0, j1) of every row of every phase plane (the whole band for
    0, ext[1]; the edge columns alone when the microkernel reads the rest of
    the input in place)."""
    cdef const int64_t *table = index + geo.scratch.table
    cdef const int64_t *run_lo = index + geo.scratch.run_lo
    cdef const int64_t *run_hi = index + geo.scratch.run_hi
    cdef const int64_t *run_src = index + geo.scratch.run_src
    cdef int64_t ri0, ri1, i, j, t, lo, hi, e0 = geo.ext[0], e1 = geo.ext[1]
    cdef int64_t xs_h = geo.x_strides[2], xs_w = geo.x_strides[3]
    cdef int64_t step = geo.stride[1] * xs_w
    cdef bint whole = j0 == 0 and j1 == e1
    cdef const int64_t *rows
    cdef const int64_t *cols
    cdef const real *src
    cdef real *dst = band
    cdef real *plane_start
    cdef real fill = <real>geo.padding_value
    for ri0 in range(geo.n_res[0]):
        rows = table + ri0 * e0
        for ri1 in range(geo.n_res[1]):
            cols = table + geo.n_res[0] * e0 + ri1 * e1
            # the in-range run, clipped to the columns asked for
            lo = min(max(run_lo[ri1], j0), j1)
            hi = min(max(run_hi[ri1], lo), j1)
            # phase planes start plane_size apart (aligned): zero the gap before this one
            plane_start = band + (ri0 * geo.n_res[1] + ri1) * geo.plane_size
            if whole:
                memset(dst, 0, (plane_start - dst) * sizeof(real))
            dst = plane_start
            for i in range(e0):
                t = rows[i]
                if t < 0:
                    fill_run(dst + j0, j1 - j0, fill)
                else:
                    src = x_chan + t * xs_h
                    for j in range(j0, lo):
                        dst[j] = src[cols[j] * xs_w] if cols[j] >= 0 else fill
                    if hi > lo:
                        t = run_src[ri1] + (lo - run_lo[ri1]) * geo.stride[1]
                        if real is float:
                            ks.f32.gather(src + t * xs_w, step, hi - lo, dst + lo)
                        else:
                            ks.f64.gather(src + t * xs_w, step, hi - lo, dst + lo)
                    for j in range(hi, j1):
                        dst[j] = src[cols[j] * xs_w] if cols[j] >= 0 else fill
                dst += e1


cdef void transpose_lanes(const pcx_ukernel_set *ks, const real *src, int64_t src_row,
                          int64_t rows, int64_t cols, real *dst,
                          int64_t dst_row) noexcept nogil:
    """dst[j * dst_row + i] = src[i * src_row + j] for i < rows, j < cols (the
    microkernel set's transpose)."""
    if real is float:
        ks.f32.transpose(src, src_row, 1, rows, cols, dst, dst_row)
    else:
        ks.f64.transpose(src, src_row, 1, rows, cols, dst, dst_row)


cdef void lanes_band(const DirectGeometry *geo, const pcx_ukernel_set *ks,
                     const real *x_block, int64_t nc, real *band) noexcept nogil:
    """The band of a depthwise unit on lanes (``dw_lanes``): the padded planes of
    ``nc`` channels from ``x_block`` (the first one's plane), position by
    position, VL lanes each: channels-first rows transposed through registers,
    channels-last positions copied, others element by element.  The border
    holds the padding value; a partial block (nc < VL) fills every lane first,
    so the lanes past its channels hold that value too."""
    cdef int64_t vl = geo.nr, pw = geo.padded_size[1], ph = geo.padded_size[0]
    cdef int64_t in_h = geo.in_size[0], in_w = geo.in_size[1]
    cdef int64_t top = geo.pad_lo[0], left = geo.pad_lo[1], right = pw - left - in_w
    cdef int64_t xs_c = geo.x_strides[1], xs_h = geo.x_strides[2], xs_w = geo.x_strides[3]
    cdef real fill = <real>geo.padding_value
    cdef const real *src
    cdef real *dst
    cdef int64_t r, j, l
    if nc < vl:
        fill_run(band, ph * pw * vl, fill)
    else:
        fill_run(band, top * pw * vl, fill)
        fill_run(band + (top + in_h) * pw * vl, (ph - top - in_h) * pw * vl, fill)
        for r in range(top, top + in_h):
            fill_run(band + r * pw * vl, left * vl, fill)
            fill_run(band + (r * pw + left + in_w) * vl, right * vl, fill)
    for r in range(in_h):
        src = x_block + r * xs_h
        dst = band + ((top + r) * pw + left) * vl
        if xs_w == 1:
            transpose_lanes(ks, src, xs_c, nc, in_w, dst, vl)
        elif xs_c == 1:
            for j in range(in_w):
                memcpy(dst + j * vl, src + j * xs_w, nc * sizeof(real))
        else:
            for j in range(in_w):
                for l in range(nc):
                    dst[j * vl + l] = src[l * xs_c + j * xs_w]


cdef void pack_weights(const DirectGeometry *geo, const pcx_ukernel_set *ks, const real *w,
                       real *packed, int64_t gp) noexcept nogil:
    """Panel ``gp`` = (group, panel) of the packed weights, where a kind needs them.

    gemm/row: the microkernels read the weights in place (MR output channels,
    K apart; ``flip`` is in the plan's tap offsets), except a group's last panel
    when it has fewer than MR channels: packed[g] is that panel, zero-padded to
    MR rows of K.
    rowblock, depthwise: one output channel per group, the taps, reversed with ``flip``
    (a 180-degree rotation over every spatial axis: true convolution).
    winograd: see ``pack_winograd_weights``; cgemm: see ``pack_channel_panel``.
    """
    cdef int64_t g = gp // geo.n_panels, p = gp % geo.n_panels
    cdef int64_t m, rows, t, K = geo.K, mr = geo.mr, taps = geo.taps
    if geo.kind == ROWBLOCK or geo.kind == DEPTHWISE:
        for t in range(taps):
            packed[g * taps + t] = w[g * taps + (taps - 1 - t if geo.flip else t)]
        return
    if geo.kind == WINOGRAD:
        pack_winograd_weights(geo, w, geo.flip, packed, g, p)
        return
    if geo.kind == CGEMM:
        pack_channel_panel(geo, ks, w, packed, g, p)
        return
    rows = geo.cout_g - p * mr
    if rows >= mr:
        return
    for m in range(rows):   # weight rows are lda apart (K unless the reduction is blocked)
        memcpy(packed + (g * mr + m) * K, w + (g * geo.cout_g + p * mr + m) * geo.lda,
               K * sizeof(real))
    memset(packed + (g * mr + rows) * K, 0, (mr - rows) * K * sizeof(real))


cdef void pack_channel_panel(const DirectGeometry *geo, const pcx_ukernel_set *ks,
                             const real *w, real *packed, int64_t g, int64_t p) noexcept nogil:
    """Panel ``p`` of group ``g`` for the channel tile: NR output channels per
    reduction row, packed[g][p][k][j] = w[g * cout_g + p * NR + j][k], the
    channels past the group's last zero (the tiles compute them, nobody stores
    them).  ``flip`` is in the plan's tap offsets, as for the gemm tile."""
    cdef int64_t nr = geo.nr, K = geo.K, k, j
    cdef int64_t rows = geo.cout_g - p * nr
    cdef real *dst = packed + (g * geo.n_panels + p) * K * nr
    if rows > nr:
        rows = nr
    transpose_lanes(ks, w + (g * geo.cout_g + p * nr) * geo.lda, geo.lda, rows,
                    K, dst, nr)
    if rows < nr:
        for k in range(K):
            for j in range(rows, nr):
                dst[k * nr + j] = 0


cdef void pack_winograd_weights(const DirectGeometry *geo, const real *w, bint flip,
                                real *packed, int64_t g, int64_t p) noexcept nogil:
    """U = G g G^T per (co, ci) of panel ``p`` of group ``g``, as MR-row panels per
    transform point xi: packed[xi][g][panel][m][ci].
    G = [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]]."""
    cdef int64_t ci, m, co, i, j, xi, src
    cdef real k[3][3]
    cdef real gk[4][3]
    cdef real u
    cdef int64_t K = geo.cin_g, panel_elems = geo.cin_g * geo.mr
    for ci in range(K):
        for m in range(geo.mr):
            co = p * geo.mr + m
            for i in range(3):
                for j in range(3):
                    if co < geo.cout_g:
                        src = (((g * geo.cout_g + co) * geo.cin_g + ci) * 9
                               + (8 - (3 * i + j) if flip else 3 * i + j))
                        k[i][j] = w[src]
                    else:
                        k[i][j] = 0
            for j in range(3):
                gk[0][j] = k[0][j]
                gk[1][j] = (k[0][j] + k[1][j] + k[2][j]) * <real>0.5
                gk[2][j] = (k[0][j] - k[1][j] + k[2][j]) * <real>0.5
                gk[3][j] = k[2][j]
            for i in range(4):
                for j in range(4):
                    if j == 0:
                        u = gk[i][0]
                    elif j == 1:
                        u = (gk[i][0] + gk[i][1] + gk[i][2]) * <real>0.5
                    elif j == 2:
                        u = (gk[i][0] - gk[i][1] + gk[i][2]) * <real>0.5
                    else:
                        u = gk[i][2]
                    xi = 4 * i + j
                    packed[((xi * geo.groups + g) * geo.n_panels + p) * panel_elems
                           + m * K + ci] = u
