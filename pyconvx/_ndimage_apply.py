"""One filtering step of :mod:`pyconvx.ndimage`: dtypes, complex data, the stored result.

:func:`filter_array` correlates an array with a kernel of the same rank and
returns the result in the output dtype, the way one call of
``scipy.ndimage``'s C code fills its output: computed in the dtype
``_ndimage_support.compute_dtype`` chooses, stored with SciPy's C cast.
Complex data or kernels are filtered as real and imaginary parts (the
engine is real), combined as ``(a + ib)(c + id) = ac - bd + i(ad + bc)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._ndimage_core import correlate, correlate_passes, correlate_separable
from ._ndimage_support import compute_dtype, store

__all__ = ["filter_array", "filter_passes", "real_cval", "result_array"]


def real_cval(cval: Any) -> float:
    """``cval`` as a float; a complex value is refused (real data cannot hold it)."""
    if np.iscomplexobj(cval):
        raise ValueError("Cannot provide a complex-valued cval when the input is real; "
                         f"got cval={cval!r}")
    try:
        return float(cval)
    except (TypeError, ValueError):
        raise TypeError(f"cval must be a real number, got {type(cval).__name__} "
                        f"{cval!r}") from None


def _complex_cval(cval: Any) -> tuple[float, float]:
    try:
        value = complex(cval)
    except (TypeError, ValueError):
        raise TypeError(f"cval must be a number, got {type(cval).__name__} {cval!r}") from None
    return value.real, value.imag


def filter_array(source: npt.NDArray[Any], weights: npt.NDArray[Any],
                 pads: Sequence[tuple[int, int]], mode: str, cval: object,
                 out_dtype: np.dtype[Any], threads: int, separable: bool = True
                 ) -> npt.NDArray[Any]:
    """Correlate ``source`` with ``weights`` (same rank); the result as ``out_dtype``.

    ``pads`` is each axis's ``(low, high)`` border, ``mode`` a pyconvx
    padding mode and ``cval`` the value of a ``"constant"`` border.  A
    rank-1 kernel runs as 1-D passes (``separable``, when cheaper).
    """
    run: Callable[..., npt.NDArray[Any]] = correlate_separable if separable else correlate

    def part(data: npt.NDArray[Any], kernel: npt.NDArray[Any], value: float,
             real_out: np.dtype[Any]) -> npt.NDArray[Any]:
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


def filter_passes(source: npt.NDArray[Any],
                  passes: Sequence[tuple[npt.NDArray[Any], Sequence[tuple[int, int]], str]],
                  cval: object, out_dtype: npt.DTypeLike, threads: int) -> npt.NDArray[Any]:
    """One :func:`filter_array` step per ``(kernel, pads, mode)`` of ``passes``, in turn.

    Each step's result is stored in ``out_dtype`` before the next reads it,
    as in SciPy's multi-pass filters.  When every step computes in
    ``out_dtype`` (real data, a float output the first step already computes
    in), the steps run as one chain whose intermediate results reuse
    scratch buffers; the results are the same.
    """
    target = np.dtype(out_dtype)
    if (source.dtype.kind != "c" and target.kind == "f"
            and compute_dtype(source.dtype, target) == target):
        value = real_cval(cval)
        passed: npt.NDArray[Any] = correlate_passes(
            source, [(kernel, pads, mode, value) for kernel, pads, mode in passes], target,
            threads)
        return passed
    result = source
    for kernel, pads, mode in passes:
        result = filter_array(result, kernel, pads, mode, cval, target, threads)
    return result


def result_array(result: npt.NDArray[Any], target: npt.NDArray[Any] | None
                 ) -> npt.NDArray[Any]:
    """``result`` written into the caller's ``target`` array (when given), returned."""
    if target is None:
        return result
    target[...] = result
    return target
