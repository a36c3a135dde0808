"""SciPy-compatible ``correlate``, ``convolve``, ``correlate2d`` and ``convolve2d``.

Same calls, results, shapes and dtypes as ``scipy.signal`` for real float and
integer inputs, computed by pyconvx's own engine (:func:`pyconvx.conv`); SciPy
is never imported at run time.

How each SciPy option maps onto the engine:

* ``mode`` becomes per-dimension ``(low, high)`` padding: ``"full"`` pads
  ``k - 1`` on both sides, ``"same"`` pads ``k - 1 - (k - 1) // 2`` low and
  ``(k - 1) // 2`` high (SciPy's centring of the full result), ``"valid"``
  pads nothing.  When ``in2`` is larger than ``in1`` in every dimension,
  ``"valid"`` swaps the inputs as SciPy does.
* ``convolve`` is the engine's ``flip=True`` (true convolution);
  ``correlate`` is the engine's default cross-correlation.
* ``boundary="fill"`` with ``fillvalue=0`` is the engine's zero padding; a
  nonzero ``fillvalue`` pads the input explicitly with that constant (cast to
  the output dtype first, as SciPy does) and runs a ``"valid"`` convolution,
  so every output is the same sum SciPy forms.  ``"wrap"`` is the engine's
  ``padding_mode="circular"`` (an explicit periodic index map when the
  padding exceeds the input, which the engine refuses).  ``"symm"`` repeats
  the edge sample (``d c b a | a b c d | d c b a``), which is *not* the
  engine's ``"reflect"``; it is an explicit index map (``numpy.take``)
  followed by a ``"valid"`` convolution.
* ``method="fft"`` uses ``numpy.fft``; ``"auto"`` picks the direct engine
  unless the problem is large enough for the FFT to win (never for integer
  inputs or inputs holding NaN/Inf).

Integer (and bool) inputs are computed in float64 and rounded to SciPy's
integer result dtype, so results are exact while every partial sum stays
below 2**53; like SciPy, values that overflow the integer dtype wrap or are
undefined.  float16 and complex inputs are refused (TypeError), per pyconvx's
dtype rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from ._engine.fft import one_nan, transforms_context, warn_if_nonfinite
from ._normalize import as_array, check_choice, result_dtype
from ._typing import FloatArray, FloatT, RealNumber, SignalBoundary, SignalMethod, SignalMode
from .conv import conv

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d"]

MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")
#: The boundary names the computation distinguishes.
_CanonicalBoundary = Literal["fill", "wrap", "symm"]

#: (low, high) padding per spatial dim.
_Pads = Sequence[tuple[int, int]]

#: Accepted boundary spellings (SciPy's aliases included) -> canonical name.
BOUNDARIES: dict[str, _CanonicalBoundary] = {
    "fill": "fill",
    "pad": "fill",
    "wrap": "wrap",
    "circular": "wrap",
    "symm": "symm",
    "symmetric": "symm",
}

#: ``method="auto"`` uses the FFT when the direct multiply-add count exceeds
#: this many times the FFT's ``N log2 N`` estimate (the engine is fast, so
#: the FFT must win clearly).
_FFT_ADVANTAGE = 40.0


def check_boundary(boundary: SignalBoundary) -> _CanonicalBoundary:
    """Canonical boundary name ('fill', 'wrap' or 'symm') of a SciPy spelling."""
    check_choice(boundary, "boundary", tuple(BOUNDARIES))
    return BOUNDARIES[boundary]


def _prepare_pair(in1: npt.ArrayLike, in2: npt.ArrayLike, name1: str = "in1",
                  name2: str = "in2"
                  ) -> tuple[npt.NDArray[Any], npt.NDArray[Any], np.dtype[Any], np.dtype[Any]]:
    """Arrays, SciPy's output dtype and the dtype pyconvx computes in."""
    first: npt.NDArray[Any] = as_array(in1, name1)
    second: npt.NDArray[Any] = as_array(in2, name2)
    out_dtype = np.result_type(first.dtype, second.dtype)
    compute: np.dtype[Any] = result_dtype((first.dtype, name1), (second.dtype, name2))
    return first, second, out_dtype, compute


def _finish(result: npt.NDArray[Any], out_dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """Cast a float result to SciPy's output dtype (rounding for integers)."""
    if out_dtype.kind in "iu":
        return np.round(result).astype(out_dtype)
    if out_dtype.kind == "b":
        return result.astype(bool)
    return result.astype(out_dtype, copy=False)


def _swap_needed(mode: SignalMode, shape1: tuple[int, ...], shape2: tuple[int, ...]) -> bool:
    """SciPy's rule: 'valid' needs one input at least as large in every dim."""
    if mode != "valid" or not shape1:
        return False
    first_larger = all(a >= b for a, b in zip(shape1, shape2))
    second_larger = all(b >= a for a, b in zip(shape1, shape2))
    if not (first_larger or second_larger):
        raise ValueError(
            "For 'valid' mode, one must be at least as large as the other in every "
            f"dimension; got in1 shape {shape1} and in2 shape {shape2}"
        )
    return not first_larger


def mode_pads(mode: SignalMode, kernel_shape: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Per-dim ``(low, high)`` padding that gives SciPy's ``mode`` output."""
    if mode == "full":
        return tuple((k - 1, k - 1) for k in kernel_shape)
    if mode == "same":
        return tuple((k - 1 - (k - 1) // 2, (k - 1) // 2) for k in kernel_shape)
    return tuple((0, 0) for _ in kernel_shape)


def _symmetric_index(positions: npt.NDArray[np.integer[Any]], size: int
                     ) -> npt.NDArray[np.integer[Any]]:
    """SciPy 'symm': reflect with the edge sample repeated, periodic 2*size."""
    folded = np.mod(positions, 2 * size)
    index: npt.NDArray[np.integer[Any]] = np.where(folded >= size, 2 * size - 1 - folded, folded)
    return index


def _extend(array: npt.NDArray[Any], pads: _Pads, boundary: _CanonicalBoundary,
            fillvalue: float, first_axis: int) -> npt.NDArray[Any]:
    """Pad the spatial axes (from ``first_axis``) explicitly."""
    if boundary == "fill":
        widths = [(0, 0)] * first_axis + list(pads)
        return np.pad(array, widths, mode="constant", constant_values=fillvalue)
    for offset, (low, high) in enumerate(pads):
        axis = first_axis + offset
        size = array.shape[axis]
        positions = np.arange(-low, size + high)
        if boundary == "wrap":
            index = np.mod(positions, size)
        else:
            index = _symmetric_index(positions, size)
        array = np.take(array, index, axis=axis)
    return array


def boundary_conv(x: FloatArray, weight: FloatArray, pads: _Pads, boundary: _CanonicalBoundary,
                  fillvalue: float = 0.0, flip: bool = False, groups: int = 1) -> FloatArray:
    """Run the engine on unbatched ``x`` (C, *spatial) with a SciPy boundary.

    ``pads`` is the canonical per-dim padding; ``boundary`` a canonical name.
    """
    if not any(low or high for low, high in pads):
        return conv(x, weight, padding=0, groups=groups, flip=flip)
    if boundary == "fill" and fillvalue == 0:
        return conv(x, weight, padding=pads, groups=groups, flip=flip)
    if boundary == "wrap" and all(
        low <= size and high <= size for (low, high), size in zip(pads, x.shape[1:])
    ):
        return conv(x, weight, padding=pads, padding_mode="circular", groups=groups, flip=flip)
    extended = _extend(x, pads, boundary, fillvalue, first_axis=1)
    return conv(extended, weight, padding=0, groups=groups, flip=flip)


def _next_fast_len(size: int) -> int:
    """Smallest 2**a * 3**b * 5**c >= size (sizes numpy's FFT handles fast)."""
    best = 1 << max(size - 1, 0).bit_length()
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35
            while candidate < size:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


def _fft_full(first: FloatArray, second: FloatArray, flip: bool) -> npt.NDArray[np.float64]:
    """Full correlation (flip=False) or convolution (flip=True) by numpy.fft."""
    if not flip:
        second = second[(slice(None, None, -1),) * second.ndim]
    full_shape = tuple(a + b - 1 for a, b in zip(first.shape, second.shape))
    fft_shape = tuple(_next_fast_len(size) for size in full_shape)
    axes = tuple(range(first.ndim))
    spectrum = (np.fft.rfftn(first, fft_shape, axes=axes)
                * np.fft.rfftn(second, fft_shape, axes=axes))
    result = np.fft.irfftn(spectrum, fft_shape, axes=axes)
    return result[tuple(slice(0, size) for size in full_shape)]


def _centered(array: npt.NDArray[Any], shape: Sequence[int]) -> npt.NDArray[Any]:
    starts = [(have - want) // 2 for have, want in zip(array.shape, shape)]
    centre: npt.NDArray[Any] = array[tuple(slice(start, start + want)
                                           for start, want in zip(starts, shape))]
    return centre


def _use_fft(first: FloatArray, second: FloatArray, out_dtype: np.dtype[Any]) -> bool:
    if out_dtype.kind in "biu":
        return False
    out_size = math.prod(max(a, b) for a, b in zip(first.shape, second.shape))
    direct_ops = out_size * min(first.size, second.size)
    full_size = math.prod(a + b - 1 for a, b in zip(first.shape, second.shape))
    fft_ops = 3 * full_size * max(math.log2(full_size), 1.0)
    if direct_ops <= _FFT_ADVANTAGE * fft_ops:
        return False
    return bool(np.isfinite(first).all() and np.isfinite(second).all())


def _correlate_nd(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode,
                  method: SignalMethod, flip: bool) -> npt.NDArray[Any]:
    first, second, out_dtype, compute = _prepare_pair(in1, in2)
    check_choice(mode, "mode", MODES)
    check_choice(method, "method", METHODS)
    if first.ndim == second.ndim == 0:
        product: npt.NDArray[Any] = np.multiply(first, second)
        return product
    if first.ndim != second.ndim:
        raise ValueError(
            "in1 and in2 should have the same dimensionality, got in1 shape "
            f"{first.shape} and in2 shape {second.shape}"
        )
    if first.size == 0 or second.size == 0:
        return np.array([], dtype=out_dtype)
    swapped = _swap_needed(mode, first.shape, second.shape)
    first = np.asarray(first, dtype=compute)
    second = np.asarray(second, dtype=compute)
    if method == "fft" or (method == "auto" and _use_fft(first, second, out_dtype)):
        nonfinite = warn_if_nonfinite(first, second)
        with transforms_context(nonfinite):
            full = _fft_full(first, second, flip)
        one_nan(full, nonfinite)
        if mode == "full":
            result = full
        elif mode == "same":
            result = _centered(full, first.shape)
        else:
            valid = tuple(abs(a - b) + 1 for a, b in zip(first.shape, second.shape))
            result = _centered(full, valid)
        return _finish(result, out_dtype)
    if swapped:
        # SciPy swaps the inputs for 'valid'; a correlation then comes out
        # reversed along every axis (a convolution is commutative).
        first, second = second, first
    result = conv(
        first[np.newaxis],
        second[np.newaxis, np.newaxis],
        padding=mode_pads(mode, second.shape),
        flip=flip,
    )[0]
    if swapped and not flip:
        result = result[(slice(None, None, -1),) * result.ndim]
    return _finish(result, out_dtype)


@overload
def correlate(in1: npt.NDArray[FloatT], in2: npt.NDArray[FloatT], mode: SignalMode = "full",
              method: SignalMethod = "auto") -> npt.NDArray[FloatT]: ...


@overload
def correlate(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
              method: SignalMethod = "auto") -> npt.NDArray[Any]: ...


def correlate(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
              method: SignalMethod = "auto") -> npt.NDArray[Any]:
    """Cross-correlate two N-dimensional arrays, as ``scipy.signal.correlate``.

    ``z[k] = sum_l in1[l] * in2[l - k + K]`` over every overlap (``K``
    centring the lags as SciPy does), computed by :func:`pyconvx.conv`.

    Parameters
    ----------
    in1 : array_like
        First input (float or integer), any number of dims.
    in2 : array_like
        Second input, same number of dims as ``in1``.
    mode : {'full', 'valid', 'same'}, optional
        ``'full'``: every overlap; ``'valid'``: only where one input covers the
        other fully (one must be at least as large as the other in every dim);
        ``'same'``: the size of ``in1``, centred on the ``'full'`` output.
    method : {'auto', 'direct', 'fft'}, optional
        ``'direct'`` uses the compiled engine, ``'fft'`` ``numpy.fft``;
        ``'auto'`` picks the faster one (always direct for integer inputs).

    Returns
    -------
    numpy.ndarray
        dtype ``numpy.result_type(in1, in2)`` as in SciPy (integer inputs give
        integer results, rounded from a float64 computation).

    Raises
    ------
    TypeError
        For unsupported dtypes (float16, complex, object) or non-string options.
    ValueError
        For an unknown ``mode``/``method``, inputs of different dimensionality,
        or ``'valid'`` when neither input is at least as large as the other in
        every dimension.

    Examples
    --------
    >>> import pyconvx
    >>> pyconvx.correlate([1, 2, 3, 4, 5], [1, 0, -1], mode="valid")
    array([-2, -2, -2])
    >>> pyconvx.correlate([1.0, 2.0, 3.0], [0.0, 1.0, 0.5])
    array([0.5, 2. , 3.5, 3. , 0. ])
    """
    return _correlate_nd(in1, in2, mode, method, flip=False)


@overload
def convolve(in1: npt.NDArray[FloatT], in2: npt.NDArray[FloatT], mode: SignalMode = "full",
             method: SignalMethod = "auto") -> npt.NDArray[FloatT]: ...


@overload
def convolve(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
             method: SignalMethod = "auto") -> npt.NDArray[Any]: ...


def convolve(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
             method: SignalMethod = "auto") -> npt.NDArray[Any]:
    """Convolve two N-dimensional arrays, as ``scipy.signal.convolve``.

    True convolution (the kernel flipped along every axis), computed by
    :func:`pyconvx.conv` with ``flip=True``.

    Parameters
    ----------
    in1 : array_like
        First input (float or integer), any number of dims.
    in2 : array_like
        Second input, same number of dims as ``in1``.
    mode : {'full', 'valid', 'same'}, optional
        As for :func:`correlate`.
    method : {'auto', 'direct', 'fft'}, optional
        As for :func:`correlate`.

    Returns
    -------
    numpy.ndarray
        dtype ``numpy.result_type(in1, in2)`` as in SciPy.

    Raises
    ------
    TypeError
        For unsupported dtypes or non-string options.
    ValueError
        As for :func:`correlate`.

    Examples
    --------
    >>> import pyconvx
    >>> pyconvx.convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> pyconvx.convolve([[1, 2], [3, 4]], [[1, 1]], mode="same")
    array([[1, 3],
           [3, 7]])
    """
    return _correlate_nd(in1, in2, mode, method, flip=True)


def _fill_scalar(fillvalue: object, out_dtype: np.dtype[Any], used: bool) -> float:
    """``fillvalue`` as a float; ``used``: the boundary fills with it (only then
    must it fit an integer output, as SciPy checks)."""
    value = np.asarray(fillvalue)
    if value.dtype.kind not in "biuf":
        raise TypeError(
            f"fillvalue must be a real number, got {type(fillvalue).__name__} {fillvalue!r}"
        )
    if value.size != 1:
        raise ValueError(
            f"fillvalue must be a scalar or an array with one element, got shape {value.shape}"
        )
    value = value.reshape(())
    if used and out_dtype.kind in "iu":
        limits = np.iinfo(out_dtype)
        if not limits.min <= float(value) <= limits.max:   # SciPy refuses these too
            raise ValueError(f"fillvalue={fillvalue!r} cannot be cast to the output dtype "
                             f"{out_dtype} (range {limits.min}..{limits.max})")
    # SciPy casts the fill value to the output dtype (so 1.7 fills ints with 1).
    return float(value.astype(out_dtype))


def _correlate_2d(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode,
                  boundary: SignalBoundary, fillvalue: RealNumber, flip: bool, name: str
                  ) -> npt.NDArray[Any]:
    first, second, out_dtype, compute = _prepare_pair(in1, in2)
    if not first.ndim == second.ndim == 2:
        raise ValueError(
            f"{name} inputs must both be 2-D arrays, got in1 shape {first.shape} and "
            f"in2 shape {second.shape}"
        )
    check_choice(mode, "mode", MODES)
    boundary = check_boundary(boundary)
    fill = _fill_scalar(fillvalue, out_dtype, used=boundary == "fill")
    if first.size == 0 or second.size == 0:
        return np.array([], dtype=out_dtype).reshape(0, 0)
    swapped = _swap_needed(mode, first.shape, second.shape)
    if swapped:
        first, second = second, first
    first = np.asarray(first, dtype=compute)
    second = np.asarray(second, dtype=compute)
    pads = mode_pads(mode, second.shape)
    if mode == "same" and not flip:
        # scipy.signal.correlate2d centres 'same' the other way round from
        # correlate/convolve: the odd extra of an even kernel goes low.
        pads = tuple((high, low) for low, high in pads)
    result = boundary_conv(
        first[np.newaxis],
        second[np.newaxis, np.newaxis],
        pads,
        boundary,
        fill,
        flip=flip,
    )[0]
    if swapped and not flip:
        result = result[::-1, ::-1]
    return _finish(result, out_dtype)


@overload
def correlate2d(in1: npt.NDArray[FloatT], in2: npt.NDArray[FloatT], mode: SignalMode = "full",
                boundary: SignalBoundary = "fill", fillvalue: RealNumber = 0
                ) -> npt.NDArray[FloatT]: ...


@overload
def correlate2d(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
                boundary: SignalBoundary = "fill", fillvalue: RealNumber = 0
                ) -> npt.NDArray[Any]: ...


def correlate2d(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
                boundary: SignalBoundary = "fill", fillvalue: RealNumber = 0
                ) -> npt.NDArray[Any]:
    """Cross-correlate two 2-D arrays, as ``scipy.signal.correlate2d``.

    Parameters
    ----------
    in1 : array_like
        2-D input.
    in2 : array_like
        2-D kernel.
    mode : {'full', 'valid', 'same'}, optional
        As for :func:`correlate`.
    boundary : {'fill', 'wrap', 'symm'}, optional
        How the input is extended beyond its edges: ``'fill'`` with
        ``fillvalue``; ``'wrap'`` periodically; ``'symm'`` mirrored with the
        edge sample repeated.  SciPy's aliases ``'pad'``, ``'circular'`` and
        ``'symmetric'`` are accepted.
    fillvalue : scalar, optional
        The value ``'fill'`` pads with, cast to the output dtype first.

    Returns
    -------
    numpy.ndarray
        2-D, dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    TypeError
        For unsupported dtypes, a non-real ``fillvalue`` or non-string options.
    ValueError
        For inputs that are not 2-D, an unknown ``mode``/``boundary``, a
        ``fillvalue`` with more than one element, or impossible ``'valid'``
        shapes.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> image = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
    >>> kernel = np.array([[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    >>> pyconvx.correlate2d(image, kernel, mode="valid")
    array([[-1,  1],
           [ 1,  1]])
    >>> pyconvx.correlate2d([[1, 2], [3, 4]], [[1]], boundary="wrap")
    array([[1, 2],
           [3, 4]])
    """
    return _correlate_2d(in1, in2, mode, boundary, fillvalue, False, "correlate2d")


@overload
def convolve2d(in1: npt.NDArray[FloatT], in2: npt.NDArray[FloatT], mode: SignalMode = "full",
               boundary: SignalBoundary = "fill", fillvalue: RealNumber = 0
               ) -> npt.NDArray[FloatT]: ...


@overload
def convolve2d(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
               boundary: SignalBoundary = "fill", fillvalue: RealNumber = 0
               ) -> npt.NDArray[Any]: ...


def convolve2d(in1: npt.ArrayLike, in2: npt.ArrayLike, mode: SignalMode = "full",
               boundary: SignalBoundary = "fill", fillvalue: RealNumber = 0
               ) -> npt.NDArray[Any]:
    """Convolve two 2-D arrays, as ``scipy.signal.convolve2d``.

    True convolution (the kernel rotated by 180 degrees); see
    :func:`correlate2d` for the boundary handling.

    Parameters
    ----------
    in1 : array_like
        2-D input.
    in2 : array_like
        2-D kernel.
    mode : {'full', 'valid', 'same'}, optional
        As for :func:`correlate`.
    boundary : {'fill', 'wrap', 'symm'}, optional
        As for :func:`correlate2d`.
    fillvalue : scalar, optional
        As for :func:`correlate2d`.

    Returns
    -------
    numpy.ndarray
        2-D, dtype ``numpy.result_type(in1, in2)``.

    Raises
    ------
    TypeError
        As for :func:`correlate2d`.
    ValueError
        As for :func:`correlate2d`.

    Examples
    --------
    >>> import pyconvx
    >>> pyconvx.convolve2d([[1, 2], [3, 4]], [[0, 1], [1, 0]])
    array([[0, 1, 2],
           [1, 5, 4],
           [3, 4, 0]])
    >>> pyconvx.convolve2d([[1.0, 2.0], [3.0, 4.0]], [[1.0, 1.0]], mode="same", boundary="symm")
    array([[2., 3.],
           [6., 7.]])
    """
    return _correlate_2d(in1, in2, mode, boundary, fillvalue, True, "convolve2d")
