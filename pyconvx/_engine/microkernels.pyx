"""One microkernel at a time, on NumPy arrays: the test entry of the SIMD sets.

The engine only ever calls its microkernels through a plan; these functions
call exactly one of them, of one instruction set, on arrays the caller gives,
so that each can be checked on its own against a NumPy product (see
``tests/engine/test_microkernels.py``).  Every function checks, before the
call, that the set can run on this CPU and that every read and write the
microkernel will make stays inside the arrays: a wrong argument is a
ValueError, never a stray access.  Not part of the public API.
"""

from libc.stdint cimport int64_t

cimport numpy as cnp

import numpy as np

from pyconvx._engine.contract cimport (detected_level, pcx_f32_tile_fn, pcx_f64_tile_fn,
                                       pcx_ukernel_set, ukernel_set)

cnp.import_array()


cdef const pcx_ukernel_set *_set_for(int level) except NULL:
    cdef const pcx_ukernel_set *ks = ukernel_set(level)
    if ks == NULL or level > detected_level():
        raise ValueError(f"SIMD level {level} is not compiled in or not supported by this CPU")
    return ks


def _dtype(array, name):
    """The float dtype of ``array`` (the sets have float32 and float64 microkernels)."""
    if not isinstance(array, np.ndarray) or array.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be a float32 or float64 array")
    return np.dtype(array.dtype)


def _array(array, name, dtype, ndim):
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d {dtype} array")
    if not (array.flags.c_contiguous and array.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned")
    return array


def _writeable(array, name, dtype, ndim):
    _array(array, name, dtype, ndim)
    if not array.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    return array


def _bias(bias, rows, dtype):
    """``bias`` checked: None, or at least ``rows`` values of ``dtype``."""
    if bias is None:
        return None
    _array(bias, "bias", dtype, 1)
    if bias.shape[0] < rows:
        raise ValueError(f"bias needs at least {rows} entries")
    return bias


cdef const void *_ptr(object array):
    if array is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>array)


def tiles(int level):
    """Tile shapes of the set of ``level`` (see ``contract.ukernel_set_tiles``)."""
    from pyconvx._engine.contract import ukernel_set_tiles
    _set_for(level)
    return ukernel_set_tiles(level)


def tile(str name, int level, A, B, off, C, bias=None, bint load_c=False):
    """C[:MR, :NR] = A @ B[off[k] + j] (+ C if load_c) (+ bias): the "gemm" or "row"
    tile, or the gemm tile's narrow variants "gemm_narrow1" / "gemm_narrow2" / "gemm_tall".

    ``A``: (MR, K) weights; ``B``: 1-d values; ``off``: (K,) int64 offsets into
    B; ``C``: (MR, ldc) with ldc >= NR; ``bias``: (MR,) or None.
    """
    cdef const pcx_ukernel_set *ks = _set_for(level)
    cdef pcx_f32_tile_fn run_f32
    cdef pcx_f64_tile_fn run_f64
    dtype = _dtype(A, "A")
    is_f32 = dtype == np.float32
    if name not in ("gemm", "row", "gemm_narrow1", "gemm_narrow2", "gemm_tall"):
        raise ValueError(f"name must be 'gemm', 'row', 'gemm_narrow1', 'gemm_narrow2' or "
                         f"'gemm_tall', got {name!r}")
    tile_shape = tiles(level)[dtype.name][name]
    mr, nr = tile_shape
    _array(A, "A", dtype, 2)
    _array(B, "B", dtype, 1)
    _array(off, "off", np.dtype(np.int64), 1)
    _writeable(C, "C", dtype, 2)
    K = A.shape[1]
    if A.shape[0] != mr or off.shape[0] != K or C.shape[0] != mr or C.shape[1] < nr:
        raise ValueError(f"the {name} tile is {mr}x{nr}: A must be ({mr}, K), off (K,), "
                         f"C ({mr}, >= {nr})")
    if K and (off.min() < 0 or off.max() + nr > B.shape[0]):
        raise ValueError("off reads outside B")
    bias = _bias(bias, mr, dtype)
    cdef int64_t lda = K, ldc = C.shape[1]
    if is_f32:
        if name == "gemm":
            run_f32 = ks.f32.gemm.run
        elif name == "row":
            run_f32 = ks.f32.row.run
        elif name == "gemm_tall":
            run_f32 = ks.f32.gemm_narrow.tall
        else:
            run_f32 = ks.f32.gemm_narrow.run[1 if name == "gemm_narrow2" else 0]
        run_f32(K, <const float *>_ptr(A), lda, <const float *>_ptr(B),
                <const int64_t *>_ptr(off), <float *>_ptr(C), ldc, <const float *>_ptr(bias),
                load_c)
    else:
        if name == "gemm":
            run_f64 = ks.f64.gemm.run
        elif name == "row":
            run_f64 = ks.f64.row.run
        elif name == "gemm_tall":
            run_f64 = ks.f64.gemm_narrow.tall
        else:
            run_f64 = ks.f64.gemm_narrow.run[1 if name == "gemm_narrow2" else 0]
        run_f64(K, <const double *>_ptr(A), lda, <const double *>_ptr(B),
                <const int64_t *>_ptr(off), <double *>_ptr(C), ldc,
                <const double *>_ptr(bias), load_c)
    return C


def channel_tile(int level, A, int64_t lda, Bp, off, C, bias=None, bint load_c=False):
    """C[m, :NR] = sum_k A[off[k] + m * lda] * Bp[k, :NR] (+ C if load_c) (+ bias):
    the channel tile ("cgemm") of ``C.shape[0]`` positions (1..8).

    ``A``: 1-d values; ``Bp``: (K, NR) packed weights; ``off``: (K,) int64
    offsets into A; ``C``: (rows, ldc) with ldc >= NR; ``bias``: (NR,) or None.
    """
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(Bp, "Bp")
    is_f32 = dtype == np.float32
    nr = tiles(level)[dtype.name]["cgemm"][1]
    _array(A, "A", dtype, 1)
    _array(Bp, "Bp", dtype, 2)
    _array(off, "off", np.dtype(np.int64), 1)
    _writeable(C, "C", dtype, 2)
    K = Bp.shape[0]
    rows = C.shape[0]
    if (Bp.shape[1] != nr or off.shape[0] != K or not 1 <= rows <= 8 or C.shape[1] < nr
            or lda < 0):
        raise ValueError(f"the cgemm tile has {nr} columns: Bp must be (K, {nr}), off (K,), "
                         f"C (1..8, >= {nr}), lda >= 0")
    if K and (off.min() < 0 or off.max() + (rows - 1) * lda >= A.shape[0]):
        raise ValueError("off reads outside A")
    bias = _bias(bias, nr, dtype)
    cdef int64_t ldc = C.shape[1]
    if is_f32:
        ks.f32.cgemm.run[rows - 1](K, <const float *>_ptr(A), lda, <const float *>_ptr(Bp),
                                   <const int64_t *>_ptr(off), <float *>_ptr(C), ldc,
                                   <const float *>_ptr(bias), load_c)
    else:
        ks.f64.cgemm.run[rows - 1](K, <const double *>_ptr(A), lda, <const double *>_ptr(Bp),
                                   <const int64_t *>_ptr(off), <double *>_ptr(C), ldc,
                                   <const double *>_ptr(bias), load_c)
    return C


def rowblock(int level, w, B, int64_t row_pitch, col_off, C, bias=None):
    """MB output rows x NR columns of a one-channel filter ``w`` (KH, KW).

    Output row m, column j sums ``w[kh, kw] * B[(m + kh) * row_pitch + col_off[kw] + j]``.
    """
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(w, "w")
    is_f32 = dtype == np.float32
    mb, nr = tiles(level)[dtype.name]["rowblock"]
    _array(w, "w", dtype, 2)
    _array(B, "B", dtype, 1)
    _array(col_off, "col_off", np.dtype(np.int64), 1)
    _writeable(C, "C", dtype, 2)
    KH, KW = w.shape
    if col_off.shape[0] != KW or C.shape[0] != mb or C.shape[1] < nr or KH < 1 or KW < 1:
        raise ValueError(f"the rowblock tile is {mb}x{nr}: col_off must be (KW,), C ({mb}, >= {nr})")
    if (row_pitch < 0 or col_off.min() < 0
            or (mb + KH - 2) * row_pitch + col_off.max() + nr > B.shape[0]):
        raise ValueError("the window reads outside B")
    bias = _bias(bias, 1, dtype)
    cdef int64_t ldc = C.shape[1]
    if is_f32:
        ks.f32.rowblock.run(KH, KW, <const float *>_ptr(w), <const float *>_ptr(B), row_pitch,
                            <const int64_t *>_ptr(col_off), <float *>_ptr(C), ldc,
                            <const float *>_ptr(bias))
    else:
        ks.f64.rowblock.run(KH, KW, <const double *>_ptr(w), <const double *>_ptr(B), row_pitch,
                            <const int64_t *>_ptr(col_off), <double *>_ptr(C), ldc,
                            <const double *>_ptr(bias))
    return C


def depthwise(int level, w, off, band, int64_t row_pitch, int64_t rows, int64_t cols, out,
              bias=None):
    """out[oh, ow] = sum_k w.flat[k] * band[off[k] + oh * row_pitch + ow] (+ bias), for a
    rows x cols box; ``out`` is (>= rows, ldo) with ldo >= cols."""
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(w, "w")
    is_f32 = dtype == np.float32
    vl = tiles(level)[dtype.name]["depthwise"][1]
    _array(w, "w", dtype, 2)
    _array(off, "off", np.dtype(np.int64), 1)
    _array(band, "band", dtype, 1)
    _writeable(out, "out", dtype, 2)
    KH, KW = w.shape
    if off.shape[0] != KH * KW or rows < 1 or cols < 1 or out.shape[0] < rows or out.shape[1] < cols:
        raise ValueError("off must be (KH*KW,), out at least (rows, cols)")
    # vectors may read up to one vector past the last row's end
    if off.min() < 0 or off.max() + (rows - 1) * row_pitch + max(cols, vl) + vl > band.shape[0]:
        raise ValueError("the window reads outside band (leave one vector of slack)")
    bias = _bias(bias, 1, dtype)
    cdef int64_t ldo = out.shape[1]
    if is_f32:
        ks.f32.depthwise.run(KH, KW, <const float *>_ptr(w), <const int64_t *>_ptr(off),
                             <const float *>_ptr(band), row_pitch, rows, cols,
                             <float *>_ptr(out), ldo, <const float *>_ptr(bias))
    else:
        ks.f64.depthwise.run(KH, KW, <const double *>_ptr(w), <const int64_t *>_ptr(off),
                             <const double *>_ptr(band), row_pitch, rows, cols,
                             <double *>_ptr(out), ldo, <const double *>_ptr(bias))
    return out


def depthwise_lanes(int level, w, off, band, int64_t row_step, int64_t col_step,
                    int64_t rows, int64_t cols, out, bias=None):
    """out[oh, ow, l] = sum_k w[k, l] * band[off[k] + oh * row_step + ow * col_step + l]
    (+ bias[l]), the taps summed in order; ``w`` is (K, VL), ``band`` flat, ``out``
    (rows, cols, VL), ``bias`` (VL,) or None."""
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(w, "w")
    vl = tiles(level)[dtype.name]["depthwise"][1]
    _array(w, "w", dtype, 2)
    _array(off, "off", np.dtype(np.int64), 1)
    _array(band, "band", dtype, 1)
    _writeable(out, "out", dtype, 3)
    if (w.shape[1] != vl or off.shape[0] != w.shape[0] or rows < 1 or cols < 1
            or out.shape != (rows, cols, vl)):
        raise ValueError(f"w must be (K, {vl}), off (K,), out (rows, cols, {vl})")
    if w.shape[0] and (off.min() < 0 or off.max() + (rows - 1) * row_step
                       + (cols - 1) * col_step + vl > band.shape[0]):
        raise ValueError("the window reads outside band")
    if bias is not None:
        _array(bias, "bias", dtype, 1)
        if bias.shape[0] != vl:
            raise ValueError(f"bias must be ({vl},)")
    if dtype == np.float32:
        ks.f32.depthwise.lanes(w.shape[0], <const float *>_ptr(w), <const int64_t *>_ptr(off),
                               <const float *>_ptr(band), row_step, col_step, rows, cols,
                               <float *>_ptr(out),
                               <const float *>_ptr(bias))
    else:
        ks.f64.depthwise.lanes(w.shape[0], <const double *>_ptr(w), <const int64_t *>_ptr(off),
                               <const double *>_ptr(band), row_step, col_step, rows, cols,
                               <double *>_ptr(out),
                               <const double *>_ptr(bias))
    return out


def winograd_input(int level, band, int64_t TH, int64_t TW, V):
    """V[xi, t] = (B^T d B)[xi] for the 4x4 patch d of tile t = th * TW + tw at band rows
    2th.., columns 2tw..; ``band`` is (2 TH + 2, pitch >= 2 TW + 2), V (16, >= TH * TW)."""
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(band, "band")
    _array(band, "band", dtype, 2)
    _writeable(V, "V", dtype, 2)
    if (TH < 1 or TW < 1 or band.shape[0] < 2 * TH + 2 or band.shape[1] < 2 * TW + 2
            or V.shape[0] != 16 or V.shape[1] < TH * TW):
        raise ValueError("band must be (>= 2 TH + 2, >= 2 TW + 2), V (16, >= TH * TW)")
    cdef int64_t pitch = band.shape[1], v_stride = V.shape[1]
    if dtype == np.float32:
        ks.f32.winograd_input(<const float *>_ptr(band), pitch, TH, TW, <float *>_ptr(V),
                              v_stride)
    else:
        ks.f64.winograd_input(<const double *>_ptr(band), pitch, TH, TW, <double *>_ptr(V),
                              v_stride)
    return V


def winograd_output(int level, M, int64_t TH, int64_t TW, out, int64_t rows, int64_t cols,
                    double bias=0.0):
    """The 2x2 outputs A^T m A (+ bias) of every tile, clipped to rows x cols of ``out``;
    ``M`` is (16, >= TH * TW), out (>= rows, ldo >= cols)."""
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(M, "M")
    _array(M, "M", dtype, 2)
    _writeable(out, "out", dtype, 2)
    if (TH < 1 or TW < 1 or M.shape[0] != 16 or M.shape[1] < TH * TW or rows < 1 or cols < 1
            or rows > 2 * TH or cols > 2 * TW or out.shape[0] < rows or out.shape[1] < cols):
        raise ValueError("M must be (16, >= TH * TW); rows <= 2 TH, cols <= 2 TW; out at "
                         "least (rows, cols)")
    cdef int64_t m_stride = M.shape[1], ldo = out.shape[1]
    if dtype == np.float32:
        ks.f32.winograd_output(<const float *>_ptr(M), m_stride, TH, TW, <float *>_ptr(out),
                               ldo, rows, cols, <float>bias)
    else:
        ks.f64.winograd_output(<const double *>_ptr(M), m_stride, TH, TW,
                               <double *>_ptr(out), ldo, rows, cols, bias)
    return out


def gather(int level, src, int64_t step, int64_t n, dst):
    """dst[j] = src[j * step] for j < n."""
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(src, "src")
    _array(src, "src", dtype, 1)
    _writeable(dst, "dst", dtype, 1)
    if step < 1 or n < 1 or (n - 1) * step >= src.shape[0] or dst.shape[0] < n:
        raise ValueError("need step >= 1, n >= 1, (n - 1) * step < len(src), len(dst) >= n")
    if dtype == np.float32:
        ks.f32.gather(<const float *>_ptr(src), step, n, <float *>_ptr(dst))
    else:
        ks.f64.gather(<const double *>_ptr(src), step, n, <double *>_ptr(dst))
    return dst


def transpose(int level, src, int64_t rows, int64_t cols, dst):
    """dst[j, i] = src[i, j] for i < rows, j < cols; ``src`` is 2-d with any
    positive element strides, ``dst`` 2-d with unit column stride."""
    cdef const pcx_ukernel_set *ks = _set_for(level)
    dtype = _dtype(src, "src")
    _writeable(dst, "dst", dtype, 2)
    if src.ndim != 2 or not src.flags.aligned:
        raise ValueError(f"src must be a 2-d aligned {dtype} array")
    cdef int64_t item = dtype.itemsize
    if (rows < 1 or cols < 1 or src.shape[0] < rows or src.shape[1] < cols
            or dst.shape[0] < cols or dst.shape[1] < rows
            or src.strides[0] <= 0 or src.strides[1] <= 0
            or src.strides[0] % item or src.strides[1] % item):
        raise ValueError("need rows, cols >= 1, src at least (rows, cols) with positive "
                         "element strides, dst at least (cols, rows)")
    cdef int64_t src_row = src.strides[0] // item, src_col = src.strides[1] // item
    cdef int64_t dst_row = dst.shape[1]
    if dtype == np.float32:
        ks.f32.transpose(<const float *>_ptr(src), src_row, src_col, rows, cols,
                         <float *>_ptr(dst), dst_row)
    else:
        ks.f64.transpose(<const double *>_ptr(src), src_row, src_col, rows, cols,
                         <double *>_ptr(dst), dst_row)
    return dst
