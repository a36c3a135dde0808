"""Independent float64 reference for pyconvx, written from the textbook definition.

    out[n, co, i...] = bias[co] + sum_{ci in group(co)} sum_{taps m...}
                       xpad[n, ci, i*stride + m*dilation ...] * w[co, ci - g*C_in/groups, m...]

(cross-correlation; ``flip=True`` rotates the kernel 180 degrees over every spatial
axis first).  Padding is built by an explicit index map per axis, written from the
documentation of each padding_mode (PyTorch's and numpy.pad's) rather than by calling
``np.pad``:

* zeros:     an index outside [0, size) reads 0.
* constant:  an index outside [0, size) reads the padding value.
* reflect:   mirror about the edge sample, which is NOT repeated: -1 -> 1, size -> size-2.
* symmetric: mirror with the edge sample repeated: -1 -> 0, size -> size-1.
* replicate: clamp to the nearest edge sample.
* circular:  wrap around, index mod size.

Nothing here imports pyconvx.  The loop is over kernel taps; each tap is one
einsum over (batch, channels, output positions), accumulated in float64.
"""

import itertools
import math

import numpy as np

PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric", "constant")

#: The value the tests' "constant" borders hold when a case does not say.
TEST_PADDING_VALUE = -1.75


def mode_kwargs(mode):
    """``padding_mode=mode`` plus, for "constant", a nonzero ``padding_value``."""
    if mode == "constant":
        return {"padding_mode": mode, "padding_value": TEST_PADDING_VALUE}
    return {"padding_mode": mode}


# ----------------------------------------------------------------------------- padding
def source_index(index, size, mode):
    """Input index read at padded position ``index`` (relative to the input start).

    Returns None when the padded cell holds the fill value (zeros, constant).
    """
    if 0 <= index < size:
        return index
    if mode in ("zeros", "constant"):
        return None
    if mode == "replicate":
        return 0 if index < 0 else size - 1
    if mode == "circular":
        return index % size
    if mode == "symmetric":
        mirrored = -index - 1 if index < 0 else 2 * size - 1 - index
        assert 0 <= mirrored < size, "symmetric padding must be <= size"
        return mirrored
    if mode == "reflect":
        # one reflection is all torch allows (pad < size), so this is exact
        mirrored = -index if index < 0 else 2 * (size - 1) - index
        assert 0 <= mirrored < size, "reflect padding must be < size"
        return mirrored
    raise ValueError(mode)


def pad_reference(x, pads, mode, value=0.0):
    """Pad the trailing len(pads) axes of ``x`` (float64) by index mapping; ``value``
    is what "constant" fills with."""
    x = np.asarray(x, dtype=np.float64)
    first_spatial = x.ndim - len(pads)
    for offset, (low, high) in enumerate(pads):
        axis = first_spatial + offset
        size = x.shape[axis]
        sources = [source_index(i, size, mode) for i in range(-low, size + high)]
        taken = np.take(x, [0 if s is None else s for s in sources], axis=axis)
        is_zero = np.array([s is None for s in sources])
        shape = [1] * x.ndim
        shape[axis] = len(sources)
        x = np.where(is_zero.reshape(shape), value if mode == "constant" else 0.0, taken)
    return x


def _per_dim(value, ndim):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * ndim
    value = tuple(int(v) for v in value)
    assert len(value) == ndim
    return value


def canonical_pads(padding, in_spatial, kernel, stride, dilation):
    """One (low, high) pair per dim from any accepted spelling (the spec's rules)."""
    ndim = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * ndim
        if padding == "full":
            return tuple((d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilation))
        assert padding == "same"
        pads = []
        for size, k, s, d in zip(in_spatial, kernel, stride, dilation):
            out = math.ceil(size / s)
            total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
            pads.append((total // 2, total - total // 2))  # odd extra on the HIGH side
        return tuple(pads)
    if isinstance(padding, (int, np.integer)):
        return ((int(padding), int(padding)),) * ndim
    pads = []
    for entry in padding:
        if isinstance(entry, (int, np.integer)):
            pads.append((int(entry), int(entry)))
        else:
            low, high = entry
            pads.append((int(low), int(high)))
    assert len(pads) == ndim
    return tuple(pads)


def out_length(size, kernel, stride, low, high, dilation):
    return (size + low + high - dilation * (kernel - 1) - 1) // stride + 1


# ----------------------------------------------------------------------------- conv
def conv_reference(
    x,
    weight,
    bias=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    *,
    flip=False,
    padding_mode="zeros",
    padding_value=0.0,
):
    """float64 N-d grouped convolution straight from the definition."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    ndim = weight.ndim - 2
    batched = x.ndim == ndim + 2
    if not batched:
        assert x.ndim == ndim + 1
        x = x[np.newaxis]
    n_batch, c_in = x.shape[:2]
    in_spatial = x.shape[2:]
    c_out, c_in_group = weight.shape[:2]
    kernel = weight.shape[2:]
    assert c_in == c_in_group * groups and c_out % groups == 0
    stride = _per_dim(stride, ndim)
    dilation = _per_dim(dilation, ndim)
    pads = canonical_pads(padding, in_spatial, kernel, stride, dilation)
    if flip:
        weight = weight[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim]
    out_spatial = tuple(
        out_length(n, k, s, lo, hi, d)
        for n, k, s, (lo, hi), d in zip(in_spatial, kernel, stride, pads, dilation)
    )
    out = np.zeros((n_batch, c_out) + out_spatial, dtype=np.float64)
    if c_in > 0 and c_out > 0 and n_batch > 0:
        xpad = pad_reference(x, pads, padding_mode, padding_value)
        c_out_group = c_out // groups
        for tap in itertools.product(*(range(k) for k in kernel)):
            window = (slice(None), slice(None)) + tuple(
                slice(m * d, m * d + (o - 1) * s + 1, s)
                for m, d, o, s in zip(tap, dilation, out_spatial, stride)
            )
            view = xpad[window]  # (N, C_in, *out_spatial)
            for g in range(groups):
                xs = view[:, g * c_in_group:(g + 1) * c_in_group]
                ws = weight[(slice(g * c_out_group, (g + 1) * c_out_group), slice(None)) + tap]
                out[:, g * c_out_group:(g + 1) * c_out_group] += np.tensordot(
                    ws, xs, axes=([1], [1])
                ).swapaxes(0, 1)
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64).reshape((1, c_out) + (1,) * ndim)
    return out if batched else out[0]


def conv_loops(x2d, k2d, stride=1):
    """The tutorial's nested-loop definition, 2-d, single channel, valid padding."""
    x2d = np.asarray(x2d, dtype=np.float64)
    k2d = np.asarray(k2d, dtype=np.float64)
    kh, kw = k2d.shape
    out_h = (x2d.shape[0] - kh) // stride + 1
    out_w = (x2d.shape[1] - kw) // stride + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = x2d[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = np.sum(patch * k2d)
    return out


# ----------------------------------------------------------------------------- tolerance
EPS = {np.dtype(np.float32): float(np.finfo(np.float32).eps),
       np.dtype(np.float64): float(np.finfo(np.float64).eps)}


def error_bound(x, weight, bias=None, dtype=np.float64, normwise=False, **kwargs):
    """Elementwise bound on |computed - exact| for any summation order.

    Standard forward error of a dot product of n terms (Higham, Thm 3.1):
        |fl(sum x_i w_i) - sum x_i w_i| <= gamma_n * sum |x_i w_i|,  gamma_n ~ n*u,
    u = eps/2.  With n = reduction length + 1 (bias) and a factor 2 margin we use
    n * eps * (|x| conv |w| + |bias|); blocked or pairwise summation only does
    better.  Products of float32 values are exact in float64, so the float64
    reference itself carries error far below the float32 bound.
    ``normwise=True`` adds a term for transform methods (FFT, Winograd), whose
    error is bounded norm-wise rather than elementwise:
    64*eps*log2(L)*max|x|*max_co(sum|w[co]|).
    """
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if "padding_value" in kwargs:   # a constant border's magnitude counts like |x|'s
        kwargs = dict(kwargs, padding_value=abs(kwargs["padding_value"]))
    scale = conv_reference(np.abs(x), np.abs(weight), None, **kwargs)
    if bias is not None:
        scale = scale + np.abs(np.asarray(bias, dtype=np.float64)).reshape(
            (-1,) + (1,) * (weight.ndim - 2))
    n_terms = weight.shape[1] * int(np.prod(weight.shape[2:])) + 1
    eps = EPS[np.dtype(dtype)]
    bound = n_terms * eps * scale
    if normwise and scale.size and x.size:
        # transform rounding scales with the inputs' norms, not with the output:
        # an output whose taps all read padding is exactly 0 yet carries FFT noise
        norm_scale = np.abs(x).max() * np.abs(weight).reshape(weight.shape[0], -1).sum(axis=1).max()
        bound = bound + 64 * eps * math.log2(max(scale.size, 2) + n_terms) * max(
            norm_scale, scale.max())
    return bound + np.finfo(np.float64).tiny


def assert_matches_reference(got, x, weight, bias=None, *, normwise=False, **kwargs):
    """Compare ``got`` with conv_reference under error_bound; the dtype must follow the rule."""
    expected = conv_reference(x, weight, bias, **kwargs)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    dtype = np.dtype(got.dtype)
    assert dtype in (np.float32, np.float64), dtype
    bound = error_bound(x, weight, bias, dtype=dtype, normwise=normwise, **kwargs)
    err = np.abs(got.astype(np.float64) - expected)
    bad = ~(err <= bound)
    if bad.any():
        where = tuple(np.argwhere(bad)[0])
        raise AssertionError(
            f"{bad.sum()} of {bad.size} outputs outside the bound; first at {where}: "
            f"got {got[where]!r}, expected {expected[where]!r}, bound {bound[where]!r}; "
            f"max err {err.max():.3g}"
        )


# ----------------------------------------------------------------------------- im2col
def _pair(value):
    return (int(value), int(value)) if isinstance(value, (int, np.integer)) else tuple(value)


def im2col_reference(x, kernel_size, stride=1, padding=0, dilation=1):
    """torch.nn.functional.unfold semantics (zero padding), batched or not."""
    x = np.asarray(x, dtype=np.float64)
    batched = x.ndim == 4
    if not batched:
        x = x[np.newaxis]
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    n, c, h, w = x.shape
    out_h = out_length(h, kh, sh, ph, ph, dh)
    out_w = out_length(w, kw, sw, pw, pw, dw)
    cols = np.zeros((n, c * kh * kw, out_h * out_w))
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                row = (ch * kh + i) * kw + j
                for oh in range(out_h):
                    for ow in range(out_w):
                        r = oh * sh + i * dh - ph
                        q = ow * sw + j * dw - pw
                        if 0 <= r < h and 0 <= q < w:
                            cols[:, row, oh * out_w + ow] = x[:, ch, r, q]
    return cols if batched else cols[0]


def col2im_reference(cols, output_size, kernel_size, stride=1, padding=0, dilation=1):
    """torch.nn.functional.fold semantics: the adjoint of im2col (overlaps add)."""
    cols = np.asarray(cols, dtype=np.float64)
    batched = cols.ndim == 3
    if not batched:
        cols = cols[np.newaxis]
    h, w = _pair(output_size)
    kh, kw = _pair(kernel_size)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    n = cols.shape[0]
    c = cols.shape[1] // (kh * kw)
    out_h = out_length(h, kh, sh, ph, ph, dh)
    out_w = out_length(w, kw, sw, pw, pw, dw)
    assert cols.shape[2] == out_h * out_w
    img = np.zeros((n, c, h, w))
    for ch in range(c):
        for i in range(kh):
            for j in range(kw):
                row = (ch * kh + i) * kw + j
                for oh in range(out_h):
                    for ow in range(out_w):
                        r = oh * sh + i * dh - ph
                        q = ow * sw + j * dw - pw
                        if 0 <= r < h and 0 <= q < w:
                            img[:, ch, r, q] += cols[:, row, oh * out_w + ow]
    return img if batched else img[0]


# ----------------------------------------------------------------------------- comparisons
def assert_bitwise_equal(got, expected):
    """Same shape, dtype and bits (so -0.0 vs 0.0 and NaN payloads count)."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if got.size == 0:
        return
    uint = np.dtype(f"u{got.dtype.itemsize}")
    got_bits = np.ascontiguousarray(got).view(uint)
    exp_bits = np.ascontiguousarray(expected).view(uint)
    if not np.array_equal(got_bits, exp_bits):
        diff = np.argwhere(got_bits != exp_bits)
        where = tuple(diff[0])
        raise AssertionError(
            f"{len(diff)} of {got.size} values differ bitwise; first at {where}: "
            f"{got[where]!r} vs {expected[where]!r}"
        )


def transform_algorithm(name, all_names):
    """True for FFT/Winograd paths (norm-wise error bound)."""
    if name == "auto":
        return False  # documented: "auto" never picks a transform path (strict bound)
    lowered = name.lower()
    return "fft" in lowered or "winograd" in lowered
