"""One filtering step of :mod:`pyconvx.ndimage`: dtypes, complex data, the stored result.

:func:`filter_array` correlates an array with a kernel of the same rank and
returns the result in the output dtype, the way one call of
``scipy.ndimage``'s C code fills its output: computed in the dtype
``_ndimage_support.compute_dtype`` chooses, stored with SciPy's C cast.
Complex data or kernels are filtered as real and imaginary parts (the
engine is real), combined as ``(a + ib)(c + id) = ac - bd + i(ad + bc)``.
"""

import numpy as np

from ._ndimage_core import correlate, correlate_passes, correlate_separable
from ._ndimage_support import compute_dtype, store

__all__ = ["filter_array", "filter_passes", "real_cval", "result_array"]


def real_cval(cval):
    """``cval`` as a float; a complex value is refused (real data cannot hold it)."""
    if np.iscomplexobj(cval):
        raise ValueError("Cannot provide a complex-valued cval when the input is real; "
                         f"got cval={cval!r}")
    try:
        return float(cval)
    except (TypeError, ValueError):
        raise TypeError(f"cval must be a real number, got {type(cval).__name__} "
                        f"{cval!r}") from None


def _complex_cval(cval):
    try:
        value = complex(cval)
    except (TypeError, ValueError):
        raise TypeError(f"cval must be a number, got {type(cval).__name__} {cval!r}") from None
    return value.real, value.imag


def filter_array(source, weights, pads, mode, cval, out_dtype, threads, separable=True):
    """Correlate ``source`` with ``weights`` (same rank); the result as ``out_dtype``.

    ``pads`` is each axis's ``(low, high)`` border, ``mode`` a pyconvx
    padding mode and ``cval`` the value of a ``"constant"`` border.  A
    rank-1 kernel runs as 1-D passes (``separable``, when cheaper).
    """
    run = correlate_separable if separable else correlate

    def part(data, kernel, value, real_out):
        return run(data, kernel, pads, mode, value, compute_dtype(data.dtype, real_out),
                   threads)

    complex_source = source.dtype.kind == "c"
    complex_weights = weights.dtype.kind == "c"
    if not (complex_source or complex_weights):
        return store(part(source, weights, real_cval(cval), out_dtype), out_dtype)
    real_out = np.empty(0, dtype=out_dtype).real.dtype
    if complex_source:
        cval_re, cval_im = _complex_cval(cval)
    else:
        cval_re, cval_im = real_cval(cval), 0.0
    if complex_source and complex_weights:
        real = (part(source.real, weights.real, cval_re, real_out)
                - part(source.imag, weights.imag, cval_im, real_out))
        imag = (part(source.real, weights.imag, cval_re, real_out)
                + part(source.imag, weights.real, cval_im, real_out))
    elif complex_source:
        real = part(source.real, weights, cval_re, real_out)
        imag = part(source.imag, weights, cval_im, real_out)
    else:
        real = part(source, weights.real, cval_re, real_out)
        imag = part(source, weights.imag, cval_re, real_out)
    result = np.empty(real.shape, dtype=out_dtype)
    result.real = real
    result.imag = imag
    return result


def filter_passes(source, passes, cval, out_dtype, threads):
    """One :func:`filter_array` step per ``(kernel, pads, mode)`` of ``passes``, in turn.

    Each step's result is stored in ``out_dtype`` before the next reads it,
    as in SciPy's multi-pass filters.  When every step computes in
    ``out_dtype`` (real data, a float output the first step already computes
    in), the steps run as one chain whose intermediate results reuse
    scratch buffers; the results are the same.
    """
    out_dtype = np.dtype(out_dtype)
    if (source.dtype.kind != "c" and out_dtype.kind == "f"
            and compute_dtype(source.dtype, out_dtype) == out_dtype):
        value = real_cval(cval)
        return correlate_passes(source, [(kernel, pads, mode, value)
                                         for kernel, pads, mode in passes], out_dtype, threads)
    result = source
    for kernel, pads, mode in passes:
        result = filter_array(result, kernel, pads, mode, cval, out_dtype, threads)
    return result


def result_array(result, target):
    """``result`` written into the caller's ``target`` array (when given), returned."""
    if target is None:
        return result
    target[...] = result
    return target
