"""Rank-1 kernels: the 1-D factors of a kernel that is an outer product.

A kernel ``w`` of ``d`` axes is rank 1 *in a dtype* when there are 1-D
factors ``f_0 ... f_{d-1}``, held in that dtype, whose outer product
reproduces every entry bit for bit when each product is rounded to the dtype:
``fl(...fl(f_0[i_0] * f_1[i_1]) ... * f_{d-1}[i_{d-1}]) == w[i_0, ..., i_{d-1}]``.
Sobel, Prewitt, box and binomial kernels are rank 1 in both float dtypes;
:func:`pyconvx.kernels.gaussian` builds its kernel as such a product.

Correlating with the factors one axis after the other then sums the same
weights as the full kernel, only grouped differently.  With ``u`` the unit
roundoff of the dtype (2**-24 for float32, 2**-53 for float64), ``K_a`` the
kernel's length along axis ``a`` and ``S = sum |w| * max |x|`` over the
window, both orders are within ``gamma * S`` of the exact sum: ``gamma =
(prod K_a) * u`` to first order for the full kernel summed directly, and
``(sum K_a + d - 1) * u`` for the passes (each pass adds its own rounding
and the factors' products add one more per extra axis).  The passes'
bound is the smaller one.

The search tries the factorizations a rank-1 kernel is usually made of: the
kernel's fibers through its largest entry, divided by that entry (the
division done in float64 or long double and rounded once), and, for a
symmetric square kernel, the square roots of its diagonal (exact for a
kernel built as ``fl(g[i] * g[j])``).  A kernel whose factors the search
misses is correlated directly: that costs time, never accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["rank_one_factors"]


def _reproduces(factors: list[npt.NDArray[Any]], kernel: npt.NDArray[Any]) -> bool:
    product = factors[0]
    for factor in factors[1:]:
        product = np.multiply.outer(product, factor)
    return product.shape == kernel.shape and np.array_equal(product, kernel)


def _candidates(kernel: npt.NDArray[Any]) -> Iterator[list[npt.NDArray[Any]]]:
    wide = np.longdouble if kernel.dtype == np.float64 else np.float64
    pivot = np.unravel_index(np.argmax(np.abs(kernel)), kernel.shape)
    scale = wide(kernel[pivot])
    fibers = []
    for axis in range(kernel.ndim):
        index: list[Any] = list(pivot)
        index[axis] = slice(None)
        fibers.append(kernel[tuple(index)].astype(wide))
    for keep in (0, kernel.ndim - 1):   # which factor keeps the pivot's scale
        yield [fiber if axis == keep else fiber / scale for axis, fiber in enumerate(fibers)]
    if kernel.ndim == 2 and kernel.shape[0] == kernel.shape[1] and np.array_equal(
            kernel, kernel.T):
        diagonal: npt.NDArray[np.floating[Any]] = np.diagonal(kernel).astype(wide)
        if np.all(diagonal > 0):
            centre = int(np.argmax(diagonal))
            root = np.sqrt(diagonal) * np.where(kernel[:, centre] < 0, -1, 1)
            yield [root, root]


def rank_one_factors(kernel: npt.NDArray[Any]) -> list[npt.NDArray[Any]] | None:
    """The 1-D factors (one per axis, in ``kernel.dtype``) of a rank-1 kernel, or None.

    ``kernel`` is a float32 or float64 array of at least two axes.  None when
    the kernel is not rank 1 in its dtype, the search misses its factors, or
    it holds NaN, Inf or only zeros.
    """
    if not np.all(np.isfinite(kernel)) or not np.any(kernel):
        return None
    for candidate in _candidates(kernel):
        with np.errstate(all="ignore"):
            factors = [np.asarray(factor, dtype=kernel.dtype) for factor in candidate]
        if all(np.all(np.isfinite(f)) for f in factors) and _reproduces(factors, kernel):
            return factors
    return None
