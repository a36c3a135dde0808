"""``scipy.ndimage``'s linear filters, computed by pyconvx's engine.

The same names, signatures, output shapes, dtypes and results as
``scipy.ndimage`` 1.17 for ``correlate``, ``convolve``, ``correlate1d``,
``convolve1d``, ``gaussian_filter``, ``gaussian_filter1d``,
``uniform_filter``, ``uniform_filter1d``, ``sobel``, ``prewitt``,
``laplace``, ``gaussian_laplace`` and ``gaussian_gradient_magnitude``, on
arrays of any rank (a 1-d signal, a 2-d image, a 3-d volume...).  Replace
``from scipy import ndimage`` with ``from pyconvx import ndimage``.

Two differences, both deliberate:

* **float32 stays float32.**  SciPy computes every dtype in float64 and
  rounds the result to the output dtype; pyconvx computes float32 data
  stored as float32 in float32 (complex64 likewise), within the float32
  rounding bound of SciPy's answer (about ``K * 6e-8 * sum|w| * max|x|``
  for a ``K``-tap kernel).  Every other dtype (integers, bool, float64, or
  float32 into a float64 output) is computed in float64, as in SciPy.
* **threads=** (keyword only) sets the threads of the call; None means
  ``OMP_NUM_THREADS`` or every usable core.  Results are bitwise identical
  for every thread count.  SciPy's filters run on one thread.

Everything else follows SciPy: the border names (see :doc:`the vocabulary
table </user_guide/padding>`), per-axis sequences where SciPy takes them,
``origin``'s sign and the anchor of even kernels (which differ between
correlate and convolve), ``axes``, kernels longer than the axis (the border
repeats periodically), integer outputs (truncated toward zero and wrapped,
SciPy's C cast), and multi-pass filters that store each pass in the output
dtype.  Where SciPy raises ``RuntimeError`` for a bad argument, the
exception raised is both a ``ValueError`` (a ``TypeError`` for dtypes) and a
``RuntimeError``, with SciPy's message text.

A 2-d or N-d kernel that is an outer product of 1-D kernels (Sobel, box,
binomial and the gallery's Gaussians: see ``pyconvx._separable``) runs as
one 1-D pass per axis when that does fewer multiply-adds; each pass runs on
the engine over a strided view, never a transposed copy.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Union, cast, overload

import numpy as np
import numpy.typing as npt
from numpy.exceptions import AxisError

from ._docstrings import DOCS, docfiller
from ._ndimage_apply import filter_array, filter_passes, result_array
from ._ndimage_core import origin_pads
from ._ndimage_support import (
    NdimageValueError,
    check_axes,
    check_origin,
    expand_to_rank,
    input_array,
    is_integral,
    normalize_sequence,
    output_spec,
    padding_mode,
    store,
)
from ._normalize import resolve_threads
from ._typing import FloatT, IntArg, IntTuple, RealNumber
from .kernels import _gaussian_radius, _gaussian_weights

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
]

#: ``mode``: what lies beyond the border, in ``scipy.ndimage``'s names (the
#: keys of ``_ndimage_support.MODES``).
NdimageMode = Literal["reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror",
                      "grid-constant", "grid-wrap"]

#: ``mode`` of a filter that takes one per axis: one for all, or a sequence.
_Modes = Union[NdimageMode, Sequence[NdimageMode]]

#: ``cval``: a real number, or a complex one for complex data.
_Scalar = Union[RealNumber, complex]

#: ``output``: the array to write into, the dtype of the result, or None (the
#: input's dtype).
_Output = Union[npt.NDArray[Any], npt.DTypeLike, None]

#: Real weights: with them a float input keeps its dtype (complex weights
#: make the result complex).
_RealWeights = Union[npt.NDArray[Union[np.bool_, np.integer[Any], np.floating[Any]]],
                     Sequence[float], Sequence[Sequence[float]],
                     Sequence[Sequence[Sequence[float]]]]

#: One pass of a multi-pass filter: ``(kernel, pads, padding_mode)``.
_Pass = tuple[npt.NDArray[Any], list[tuple[int, int]], str]

#: An array of any dtype the filters read or write.
_Array = npt.NDArray[Any]

DOCS.update({
    "ndimage_input": """\
input : array_like
    The array to filter, of any rank; bool, integer, float32, float64,
    complex64 or complex128.""",
    "ndimage_output": """\
output : ndarray or dtype, optional
    The array to write the result into (its shape must be the input's; it
    may be the input itself), or the dtype of the result.  Default: the
    input's dtype.""",
    "ndimage_mode": """\
mode : str, optional
    One of ``'reflect'``, ``'constant'``, ``'nearest'``, ``'mirror'``,
    ``'wrap'``, ``'grid-mirror'``, ``'grid-constant'``, ``'grid-wrap'``:
    what lies beyond the border.  ``'reflect'`` (default) mirrors with the
    edge sample repeated (``d c b a | a b c d | d c b a``), pyconvx's
    ``"symmetric"``; ``'mirror'`` mirrors about the edge sample (``d c b |
    a b c d | c b a``), pyconvx's ``"reflect"``; ``'nearest'`` repeats the
    edge sample; ``'wrap'`` is periodic; ``'constant'`` holds ``cval``.  The
    ``'grid-'`` names are synonyms of ``'reflect'``, ``'constant'`` and
    ``'wrap'``.  A border wider than the axis repeats the extension
    periodically.""",
    "ndimage_mode_multiple": """\
mode : str or sequence of str, optional
    What lies beyond the border (see :func:`correlate` for the names);
    a sequence gives one mode per filtered axis.""",
    "ndimage_mode_every_axis": """\
mode : str or sequence of str, optional
    What lies beyond the border (see :func:`correlate`); a sequence gives
    one mode per axis of the input.""",
    "ndimage_weights_1d": """\
weights : array_like
    1-D kernel.""",
    "ndimage_weights_nd": """\
weights : array_like
    Kernel with one axis per filtered axis (``input.ndim``, or
    ``len(axes)``).""",
    "ndimage_cval": """\
cval : scalar, optional
    The value beyond the border with ``mode='constant'`` (default 0.0).""",
    "ndimage_origin": """\
origin : int, optional
    Shifts the kernel: 0 centres it on each pixel (an even kernel is
    anchored at its ``size // 2``-th tap), a positive value moves it toward
    lower indices.  ``-(size // 2) <= origin <= (size - 1) // 2``.""",
    "ndimage_origin_multiple": """\
origin : int or sequence of int, optional
    The kernel's shift per filtered axis (see :func:`correlate1d`); a
    single int applies to every axis.""",
    "ndimage_axis": """\
axis : int, optional
    The axis to filter along (default: the last).""",
    "ndimage_axes": """\
axes : tuple of int or None, optional
    The axes to filter (default: all).  Per-axis sequences then have one
    entry per axis of ``axes``.""",
    "ndimage_threads": """\
threads : int, optional
    Keyword only.  Threads to use; None means OMP_NUM_THREADS if set, else
    the cores this process may use.  Results are bitwise identical for every
    count.""",
    "ndimage_returns_raises": """\
Returns
-------
ndarray
    The filtered array, of the input's shape: ``output`` itself when it is
    an array, else a new array of the output dtype.

Raises
------
ValueError and RuntimeError
    A bad mode, an origin out of range, a per-axis sequence of the wrong
    length, a kernel of the wrong rank, an output of the wrong shape (these
    are one exception class deriving from both, as in SciPy).
TypeError
    An unsupported dtype (float16, object...; a ``RuntimeError`` too) or a
    non-integer where an int is needed.""",
    "ndimage_truncate": """\
truncate : float, optional
    The kernel reaches ``truncate`` standard deviations: radius
    ``int(truncate * sigma + 0.5)`` (default 4.0).""",
    "ndimage_radius": """\
radius : int or sequence of int, optional
    Keyword only.  The kernel's radius per axis, overriding ``truncate``
    (the kernel has ``2 * radius + 1`` taps).""",
})
DOCS["ndimage_correlate1d_parameters"] = "\n".join(DOCS[f"ndimage_{name}"] for name in (
    "input", "weights_1d", "axis", "output", "mode", "cval", "origin", "threads"))
DOCS["ndimage_gradient_parameters"] = "\n".join(DOCS[f"ndimage_{name}"] for name in (
    "input", "axis", "output", "mode_every_axis", "cval", "threads"))
DOCS["ndimage_correlate_parameters"] = "\n".join(
    [DOCS[f"ndimage_{name}"] for name in ("input", "weights_nd", "output", "mode")]
    + ["    One mode for all axes (a sequence is refused, as in SciPy)."]
    + [DOCS[f"ndimage_{name}"] for name in ("cval", "origin_multiple", "axes", "threads")])


# ----------------------------------------------------------------------------- helpers


def _axis(axis: IntArg, ndim: int) -> int:
    """``axis`` as a non-negative int (numpy's AxisError when out of range)."""
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise AxisError(axis, ndim)
    return axis % ndim


def _weights(weights: npt.ArrayLike, name: str = "weights") -> _Array:
    """The kernel as float64 (or complex128) array."""
    array = np.asarray(weights)
    if array.dtype.kind == "c":
        return array.astype(np.complex128)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _axis_pass(ndim: int, weights: _Array, axis: int, origin: int, mode: str) -> _Pass:
    """``(kernel, pads, mode)`` of a pass of the 1-D ``weights`` along ``axis``."""
    shape = [1] * ndim
    shape[axis] = weights.size
    pads = [(0, 0)] * ndim
    pads[axis] = origin_pads(weights.size, origin)
    return weights.reshape(shape), pads, mode


def _one_axis(source: _Array, weights: _Array, axis: int, origin: int, mode: str, cval: _Scalar,
              out_dtype: np.dtype[Any], threads: int) -> _Array:
    """Correlate ``source`` with the 1-D ``weights`` along ``axis``; the result in ``out_dtype``."""
    kernel, pads, mode = _axis_pass(source.ndim, weights, axis, origin, mode)
    return filter_array(source, kernel, pads, mode, cval, out_dtype, threads)


def _run_passes(array: _Array, passes: Sequence[_Pass], cval: _Scalar, out_dtype: np.dtype[Any],
                threads: int) -> _Array:
    """The passes in turn (each stored in ``out_dtype``), or a copy of ``array`` for none."""
    if not passes:
        return _copy(array, out_dtype)
    return filter_passes(array, passes, cval, out_dtype, threads)


def _prepare(input: npt.ArrayLike, output: _Output, threads: int | None
             ) -> tuple[_Array, _Array | None, np.dtype[Any], int]:
    """The input array, the output array (or None), the output dtype, the thread count."""
    array = input_array(input)
    target, out_dtype = output_spec(output, array.shape, array.dtype,
                                    complex_output=array.dtype.kind == "c")
    return array, target, out_dtype, resolve_threads(threads)


def _copy(array: _Array, out_dtype: np.dtype[Any]) -> _Array:
    """The input itself as the result (a filter over no axis)."""
    return np.array(array, dtype=out_dtype, copy=True)


def _as_size(value: RealNumber, name: str) -> int:
    """An integral number (an int, or a float without a fraction) as an int."""
    if is_integral(value):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")


# ----------------------------------------------------------------------------- correlate


def _correlate1d(input: npt.ArrayLike, weights: npt.ArrayLike, axis: IntArg, output: _Output,
                 mode: NdimageMode, cval: _Scalar, origin: IntArg, threads: int | None,
                 convolution: bool) -> _Array:
    array = input_array(input)
    threads = resolve_threads(threads)
    kernel = _weights(weights)
    if kernel.ndim != 1 or kernel.size < 1:
        raise NdimageValueError(
            f"no filter weights given: weights must be a non-empty 1-D array, got shape "
            f"{kernel.shape}")
    complex_output = array.dtype.kind == "c" or kernel.dtype.kind == "c"
    target, out_dtype = output_spec(output, array.shape, array.dtype, complex_output)
    axis = _axis(axis, array.ndim)
    origin = check_origin(origin, kernel.size)
    pmode = padding_mode(mode)
    if convolution:   # the kernel reversed, and its anchor with it
        kernel = kernel[::-1]
        origin = -origin - (1 if kernel.size % 2 == 0 else 0)
    else:
        kernel = np.conj(kernel) if kernel.dtype.kind == "c" else kernel
    result = _one_axis(array, kernel, axis, origin, pmode, cval, out_dtype, threads)
    return result_array(result, target)


@overload
def correlate1d(input: npt.NDArray[FloatT], weights: _RealWeights, axis: IntArg = -1,
                output: None = None, mode: NdimageMode = "reflect", cval: _Scalar = 0.0,
                origin: IntArg = 0, *, threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def correlate1d(input: npt.ArrayLike, weights: npt.ArrayLike, axis: IntArg = -1,
                output: _Output = None, mode: NdimageMode = "reflect", cval: _Scalar = 0.0,
                origin: IntArg = 0, *, threads: int | None = None) -> _Array: ...


@docfiller
def correlate1d(input: npt.ArrayLike, weights: npt.ArrayLike, axis: IntArg = -1,
                output: _Output = None, mode: NdimageMode = "reflect", cval: _Scalar = 0.0,
                origin: IntArg = 0, *, threads: int | None = None) -> _Array:
    """One-dimensional correlation along one axis, as ``scipy.ndimage.correlate1d``.

    ``out[..., i, ...] = sum_k weights[k] * input[..., i + k - (K // 2 +
    origin), ...]`` along ``axis``, for a kernel of ``K`` taps (complex
    weights are conjugated, as in ``numpy.correlate``).

    Parameters
    ----------
    %(ndimage_correlate1d_parameters)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> ndimage.correlate1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    >>> ndimage.correlate1d(np.array([0., 0., 1., 0., 0.]), [1, 2, 3], mode="constant")
    array([0., 3., 2., 1., 0.])
    """
    return _correlate1d(input, weights, axis, output, mode, cval, origin, threads, False)


@overload
def convolve1d(input: npt.NDArray[FloatT], weights: _RealWeights, axis: IntArg = -1,
               output: None = None, mode: NdimageMode = "reflect", cval: _Scalar = 0.0,
               origin: IntArg = 0, *, threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def convolve1d(input: npt.ArrayLike, weights: npt.ArrayLike, axis: IntArg = -1,
               output: _Output = None, mode: NdimageMode = "reflect", cval: _Scalar = 0.0,
               origin: IntArg = 0, *, threads: int | None = None) -> _Array: ...


@docfiller
def convolve1d(input: npt.ArrayLike, weights: npt.ArrayLike, axis: IntArg = -1,
               output: _Output = None, mode: NdimageMode = "reflect", cval: _Scalar = 0.0,
               origin: IntArg = 0, *, threads: int | None = None) -> _Array:
    """One-dimensional convolution along one axis, as ``scipy.ndimage.convolve1d``.

    :func:`correlate1d` with the kernel reversed; ``origin`` is mirrored with
    it, so an even kernel is anchored at tap ``K // 2 - 1`` of the reversed
    kernel.

    Parameters
    ----------
    %(ndimage_correlate1d_parameters)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> from pyconvx import ndimage
    >>> ndimage.convolve1d([2, 8, 0, 4, 1, 9, 9, 0], weights=[1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    return _correlate1d(input, weights, axis, output, mode, cval, origin, threads, True)


def _correlate(input: npt.ArrayLike, weights: npt.ArrayLike, output: _Output, mode: NdimageMode,
               cval: _Scalar, origin: IntTuple, axes: IntTuple | None, threads: int | None,
               convolution: bool) -> _Array:
    array = input_array(input)
    threads = resolve_threads(threads)
    kernel = _weights(weights)
    axes = check_axes(axes, array.ndim)
    if len(axes) < array.ndim:
        if kernel.ndim != len(axes):
            raise NdimageValueError(f"weights.ndim ({kernel.ndim}) must match len(axes) "
                                    f"({len(axes)})")
        kernel = np.expand_dims(kernel, tuple(a for a in range(array.ndim) if a not in axes))
        origins = expand_to_rank(normalize_sequence(origin, len(axes), "origin"), axes,
                                 array.ndim, 0)
    else:
        origins = normalize_sequence(origin, len(axes), "origin")
    rank = len([size for size in kernel.shape if size > 0])
    if rank != array.ndim:
        raise NdimageValueError(f"weights.ndim ({rank}) must match len(axes) ({len(axes)})")
    if kernel.size == 0:
        raise NdimageValueError(f"weights must not be empty, got shape {kernel.shape}")
    if not isinstance(mode, str) and np.iterable(mode):
        raise NdimageValueError(f"A sequence of modes is not supported by correlate and "
                                f"convolve (got mode={mode!r}); pass one mode")
    pmode = padding_mode(mode)
    origins = [check_origin(o, size) for o, size in zip(origins, kernel.shape)]
    if convolution:
        kernel = kernel[(slice(None, None, -1),) * kernel.ndim]
        origins = [-o - (1 if size % 2 == 0 else 0) for o, size in zip(origins, kernel.shape)]
    elif kernel.dtype.kind == "c":
        kernel = np.conj(kernel)
    complex_output = array.dtype.kind == "c" or kernel.dtype.kind == "c"
    target, out_dtype = output_spec(output, array.shape, array.dtype, complex_output)
    pads = [origin_pads(size, o) for size, o in zip(kernel.shape, origins)]
    result = filter_array(array, kernel, pads, pmode, cval, out_dtype, threads)
    return result_array(result, target)


@overload
def correlate(input: npt.NDArray[FloatT], weights: _RealWeights, output: None = None,
              mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
              axes: IntTuple | None = None, threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def correlate(input: npt.ArrayLike, weights: npt.ArrayLike, output: _Output = None,
              mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
              axes: IntTuple | None = None, threads: int | None = None) -> _Array: ...


@docfiller
def correlate(input: npt.ArrayLike, weights: npt.ArrayLike, output: _Output = None,
              mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
              axes: IntTuple | None = None, threads: int | None = None) -> _Array:
    """Multidimensional correlation, as ``scipy.ndimage.correlate``.

    ``out[i] = sum_k weights[k] * input[i + k - (K // 2 + origin)]`` with
    ``i``, ``k``, ``K`` and ``origin`` per axis; complex weights are
    conjugated.  A kernel that is an outer product of 1-D kernels exactly
    (Sobel, box, binomial...) runs as one 1-D pass per axis when that is
    cheaper; the passes' rounding bound is smaller than the full sum's.

    Parameters
    ----------
    %(ndimage_correlate_parameters)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> image = np.arange(25.0).reshape(5, 5)
    >>> ndimage.correlate(image, [[0, 1, 0], [1, -4, 1], [0, 1, 0]])[1:4, 1:4]
    array([[0., 0., 0.],
           [0., 0., 0.],
           [0., 0., 0.]])
    >>> ndimage.correlate(np.arange(4), [1, 1], origin=-1)
    array([1, 3, 5, 6])
    """
    return _correlate(input, weights, output, mode, cval, origin, axes, threads, False)


@overload
def convolve(input: npt.NDArray[FloatT], weights: _RealWeights, output: None = None,
             mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
             axes: IntTuple | None = None, threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def convolve(input: npt.ArrayLike, weights: npt.ArrayLike, output: _Output = None,
             mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
             axes: IntTuple | None = None, threads: int | None = None) -> _Array: ...


@docfiller
def convolve(input: npt.ArrayLike, weights: npt.ArrayLike, output: _Output = None,
             mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
             axes: IntTuple | None = None, threads: int | None = None) -> _Array:
    """Multidimensional convolution, as ``scipy.ndimage.convolve``.

    :func:`correlate` with the kernel reversed along every axis; each origin
    is mirrored with it (an even kernel is anchored one tap lower than in
    :func:`correlate`).

    Parameters
    ----------
    %(ndimage_correlate_parameters)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> a = np.array([[1, 2, 0, 0], [5, 3, 0, 4], [0, 0, 0, 7], [9, 3, 0, 0]])
    >>> k = np.array([[1, 1, 1], [1, 1, 0], [1, 0, 0]])
    >>> ndimage.convolve(a, k, mode="constant", cval=0.0)
    array([[11, 10,  7,  4],
           [10,  3, 11, 11],
           [15, 12, 14,  7],
           [12,  3,  7,  0]])
    """
    return _correlate(input, weights, output, mode, cval, origin, axes, threads, True)


# ----------------------------------------------------------------------------- Gaussian


def _gaussian_kernel(sigma: RealNumber, order: IntArg, truncate: RealNumber,
                     radius: IntArg | None) -> npt.NDArray[np.float64]:
    """The correlation weights of ``gaussian_filter1d`` (float64)."""
    try:
        sigma = float(sigma)
        truncate = float(truncate)
    except (TypeError, ValueError):
        raise TypeError(f"sigma and truncate must be real numbers, got sigma={sigma!r}, "
                        f"truncate={truncate!r}") from None
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
    if radius is None:
        if not math.isfinite(truncate):
            raise ValueError(f"truncate must be finite, got {truncate!r}")
        radius = _gaussian_radius(sigma, truncate)
    if not is_integral(radius) or radius < 0:
        raise ValueError(f"Radius must be a nonnegative integer, got {radius!r}")
    if not is_integral(order):
        raise TypeError(f"order must be an int, got {type(order).__name__} {order!r}")
    if order < 0:
        raise ValueError(f"order must be non-negative, got {order!r}")
    return _gaussian_weights(sigma, int(radius), int(order))[::-1]


def _gaussian_passes(array: _Array, sigmas: Sequence[Any], orders: Sequence[Any],
                     modes: Sequence[Any], radii: Sequence[Any], axes: Iterable[int],
                     cval: _Scalar, truncate: RealNumber, out_dtype: np.dtype[Any],
                     threads: int) -> _Array:
    passes: list[_Pass] = []
    for axis, sigma, order, mode, radius in zip(axes, sigmas, orders, modes, radii):
        if not sigma > 1e-15:   # SciPy leaves an axis of sigma ~0 (or below) unfiltered
            continue
        kernel = _gaussian_kernel(sigma, order, truncate, radius)
        passes.append(_axis_pass(array.ndim, kernel, axis, 0, padding_mode(mode)))
    return _run_passes(array, passes, cval, out_dtype, threads)


@overload
def gaussian_filter1d(input: npt.NDArray[FloatT], sigma: RealNumber, axis: IntArg = -1,
                      order: IntArg = 0, output: None = None, mode: NdimageMode = "reflect",
                      cval: _Scalar = 0.0, truncate: RealNumber = 4.0, *,
                      radius: IntArg | None = None, threads: int | None = None
                      ) -> npt.NDArray[FloatT]: ...


@overload
def gaussian_filter1d(input: npt.ArrayLike, sigma: RealNumber, axis: IntArg = -1,
                      order: IntArg = 0, output: _Output = None, mode: NdimageMode = "reflect",
                      cval: _Scalar = 0.0, truncate: RealNumber = 4.0, *,
                      radius: IntArg | None = None, threads: int | None = None) -> _Array: ...


@docfiller
def gaussian_filter1d(input: npt.ArrayLike, sigma: RealNumber, axis: IntArg = -1,
                      order: IntArg = 0, output: _Output = None, mode: NdimageMode = "reflect",
                      cval: _Scalar = 0.0, truncate: RealNumber = 4.0, *,
                      radius: IntArg | None = None, threads: int | None = None) -> _Array:
    """One-dimensional Gaussian filter (or derivative), as ``scipy.ndimage.gaussian_filter1d``.

    Correlation along ``axis`` with the sampled Gaussian of ``sigma``
    normalised to sum 1 (order 0), or with the ``order``-th derivative of
    that Gaussian.

    Parameters
    ----------
    %(ndimage_input)s
    sigma : float
        Standard deviation of the Gaussian, in samples (> 0).
    %(ndimage_axis)s
    order : int, optional
        0 smooths; 1, 2, 3... convolve with that derivative of the Gaussian.
    %(ndimage_output)s
    %(ndimage_mode)s
    %(ndimage_cval)s
    %(ndimage_truncate)s
    radius : int, optional
        Keyword only.  The kernel's radius, overriding ``truncate``.
    %(ndimage_threads)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> ndimage.gaussian_filter1d([1.0, 2.0, 3.0, 4.0, 5.0], 1)
    array([1.42704095, 2.06782203, 3.        , 3.93217797, 4.57295905])
    >>> ndimage.gaussian_filter1d(np.arange(5.0), 1, order=1).round(6)
    array([0.363785, 0.848847, 0.970125, 0.848847, 0.363785])
    """
    array, target, out_dtype, threads = _prepare(input, output, threads)
    axis = _axis(axis, array.ndim)
    kernel = _gaussian_kernel(sigma, order, truncate, radius)
    result = _one_axis(array, kernel, axis, 0, padding_mode(mode), cval, out_dtype, threads)
    return result_array(result, target)


@overload
def gaussian_filter(input: npt.NDArray[FloatT], sigma: RealNumber | Sequence[RealNumber],
                    order: IntTuple = 0, output: None = None, mode: _Modes = "reflect",
                    cval: _Scalar = 0.0, truncate: RealNumber = 4.0, *,
                    radius: IntTuple | None = None, axes: IntTuple | None = None,
                    threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def gaussian_filter(input: npt.ArrayLike, sigma: RealNumber | Sequence[RealNumber],
                    order: IntTuple = 0, output: _Output = None, mode: _Modes = "reflect",
                    cval: _Scalar = 0.0, truncate: RealNumber = 4.0, *,
                    radius: IntTuple | None = None, axes: IntTuple | None = None,
                    threads: int | None = None) -> _Array: ...


@docfiller
def gaussian_filter(input: npt.ArrayLike, sigma: RealNumber | Sequence[RealNumber],
                    order: IntTuple = 0, output: _Output = None, mode: _Modes = "reflect",
                    cval: _Scalar = 0.0, truncate: RealNumber = 4.0, *,
                    radius: IntTuple | None = None, axes: IntTuple | None = None,
                    threads: int | None = None) -> _Array:
    """Multidimensional Gaussian filter, as ``scipy.ndimage.gaussian_filter``.

    One :func:`gaussian_filter1d` pass per filtered axis, each stored in the
    output dtype (float32 data stays float32).  Axes whose ``sigma`` is 0
    (or below 1e-15) are not filtered.

    Parameters
    ----------
    %(ndimage_input)s
    sigma : float or sequence of float
        Standard deviation per filtered axis, or one for all.
    order : int or sequence of int, optional
        Derivative order per filtered axis (0: smoothing).
    %(ndimage_output)s
    %(ndimage_mode_multiple)s
    %(ndimage_cval)s
    %(ndimage_truncate)s
    %(ndimage_radius)s
    %(ndimage_axes)s
    %(ndimage_threads)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> a = np.arange(50, step=2).reshape((5, 5))
    >>> ndimage.gaussian_filter(a, sigma=1)
    array([[ 4,  6,  8,  9, 11],
           [10, 12, 14, 15, 17],
           [20, 22, 24, 25, 27],
           [29, 31, 33, 34, 36],
           [35, 37, 39, 40, 42]])
    >>> image = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    >>> ndimage.gaussian_filter(image, 3).dtype
    dtype('float32')
    """
    array, target, out_dtype, threads = _prepare(input, output, threads)
    axes = check_axes(axes, array.ndim)
    count = len(axes)
    result = _gaussian_passes(
        array, normalize_sequence(sigma, count, "sigma"),
        normalize_sequence(order, count, "order"), normalize_sequence(mode, count, "mode"),
        normalize_sequence(radius, count, "radius"), axes, cval, truncate, out_dtype, threads)
    return result_array(result, target)


# ----------------------------------------------------------------------------- uniform


def _uniform_passes(array: _Array, jobs: Sequence[tuple[int, int, int, str]], cval: _Scalar,
                    out_dtype: np.dtype[Any], threads: int) -> _Array:
    """The mean over ``size`` samples along each ``(axis, size, origin, mode)`` of ``jobs``.

    Into an integer output each sum is taken with unit weights (exactly, in
    float64) and divided by ``size``, as SciPy does, so that a whole-number
    mean is never truncated one lower; float outputs use weights ``1 / size``.
    """
    if np.dtype(out_dtype).kind not in "biu":
        return _run_passes(array, [_axis_pass(array.ndim, np.full(size, 1.0 / size), axis,
                                              origin, mode)
                                   for axis, size, origin, mode in jobs],
                           cval, out_dtype, threads)
    result = array
    for axis, size, origin, mode in jobs:
        sums = _one_axis(result, np.ones(size), axis, origin, mode, cval,
                         np.dtype(np.float64), threads)
        result = store(np.divide(sums, size, out=sums), out_dtype)
    return _copy(array, out_dtype) if result is array else result


@overload
def uniform_filter1d(input: npt.NDArray[FloatT], size: IntArg, axis: IntArg = -1,
                     output: None = None, mode: NdimageMode = "reflect", cval: _Scalar = 0.0,
                     origin: IntArg = 0, *, threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def uniform_filter1d(input: npt.ArrayLike, size: IntArg, axis: IntArg = -1, output: _Output = None,
                     mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntArg = 0, *,
                     threads: int | None = None) -> _Array: ...


@docfiller
def uniform_filter1d(input: npt.ArrayLike, size: IntArg, axis: IntArg = -1, output: _Output = None,
                     mode: NdimageMode = "reflect", cval: _Scalar = 0.0, origin: IntArg = 0, *,
                     threads: int | None = None) -> _Array:
    """One-dimensional mean filter, as ``scipy.ndimage.uniform_filter1d``.

    The mean of ``size`` consecutive samples along ``axis``, anchored like a
    ``size``-tap kernel in :func:`correlate1d`.

    Parameters
    ----------
    %(ndimage_input)s
    size : int
        Number of samples averaged (>= 1).
    %(ndimage_axis)s
    %(ndimage_output)s
    %(ndimage_mode)s
    %(ndimage_cval)s
    %(ndimage_origin)s
    %(ndimage_threads)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> from pyconvx import ndimage
    >>> ndimage.uniform_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([4, 3, 4, 1, 4, 6, 6, 3])
    """
    array = input_array(input)
    threads = resolve_threads(threads)
    axis = _axis(axis, array.ndim)
    size = _as_size(size, "size")
    if size < 1:
        raise NdimageValueError(f"incorrect filter size: size must be >= 1, got {size}")
    target, out_dtype = output_spec(output, array.shape, array.dtype,
                                    complex_output=array.dtype.kind == "c")
    origin = check_origin(origin, size)
    result = _uniform_passes(array, [(axis, size, origin, padding_mode(mode))], cval,
                             out_dtype, threads)
    return result_array(result, target)


@overload
def uniform_filter(input: npt.NDArray[FloatT], size: IntTuple = 3, output: None = None,
                   mode: _Modes = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
                   axes: IntTuple | None = None, threads: int | None = None
                   ) -> npt.NDArray[FloatT]: ...


@overload
def uniform_filter(input: npt.ArrayLike, size: IntTuple = 3, output: _Output = None,
                   mode: _Modes = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
                   axes: IntTuple | None = None, threads: int | None = None) -> _Array: ...


@docfiller
def uniform_filter(input: npt.ArrayLike, size: IntTuple = 3, output: _Output = None,
                   mode: _Modes = "reflect", cval: _Scalar = 0.0, origin: IntTuple = 0, *,
                   axes: IntTuple | None = None, threads: int | None = None) -> _Array:
    """Multidimensional mean filter, as ``scipy.ndimage.uniform_filter``.

    One :func:`uniform_filter1d` pass per filtered axis whose size is above
    1, each stored in the output dtype.

    Parameters
    ----------
    %(ndimage_input)s
    size : int or sequence of int, optional
        Window length per filtered axis, or one for all (default 3).
    %(ndimage_output)s
    %(ndimage_mode_multiple)s
    %(ndimage_cval)s
    %(ndimage_origin_multiple)s
    %(ndimage_axes)s
    %(ndimage_threads)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> ndimage.uniform_filter(np.array([[4, 8, 12], [16, 20, 24]]), size=2)
    array([[ 4,  6, 10],
           [10, 12, 16]])
    """
    array, target, out_dtype, threads = _prepare(input, output, threads)
    axes = check_axes(axes, array.ndim)
    count = len(axes)
    sizes = normalize_sequence(size, count, "size")
    origins = normalize_sequence(origin, count, "origin")
    modes = normalize_sequence(mode, count, "mode")
    jobs: list[tuple[int, int, int, str]] = []
    for axis, size_, origin_, mode_ in zip(axes, sizes, origins, modes):
        size_ = _as_size(size_, "size")
        if size_ > 1:
            jobs.append((axis, size_, check_origin(origin_, size_), padding_mode(mode_)))
    result = _uniform_passes(array, jobs, cval, out_dtype, threads)
    return result_array(result, target)


# ----------------------------------------------------------------------------- derivatives


def _gradient(input: npt.ArrayLike, axis: IntArg, output: _Output, mode: _Modes, cval: _Scalar,
              threads: int | None, smoothing: npt.NDArray[np.float64]) -> _Array:
    array, target, out_dtype, threads = _prepare(input, output, threads)
    axis = _axis(axis, array.ndim)
    modes = [padding_mode(m) for m in normalize_sequence(mode, array.ndim, "mode")]
    passes = [_axis_pass(array.ndim, np.array([-1.0, 0.0, 1.0]), axis, 0, modes[axis])]
    passes += [_axis_pass(array.ndim, smoothing, other, 0, modes[other])
               for other in range(array.ndim) if other != axis]
    return result_array(_run_passes(array, passes, cval, out_dtype, threads), target)


@overload
def sobel(input: npt.NDArray[FloatT], axis: IntArg = -1, output: None = None,
          mode: _Modes = "reflect", cval: _Scalar = 0.0, *, threads: int | None = None
          ) -> npt.NDArray[FloatT]: ...


@overload
def sobel(input: npt.ArrayLike, axis: IntArg = -1, output: _Output = None,
          mode: _Modes = "reflect", cval: _Scalar = 0.0, *, threads: int | None = None
          ) -> _Array: ...


@docfiller
def sobel(input: npt.ArrayLike, axis: IntArg = -1, output: _Output = None,
          mode: _Modes = "reflect", cval: _Scalar = 0.0, *, threads: int | None = None) -> _Array:
    """Sobel derivative along one axis, as ``scipy.ndimage.sobel``.

    The difference ``[-1, 0, 1]`` along ``axis``, then the smoothing
    ``[1, 2, 1]`` along every other axis, each pass stored in the output
    dtype.

    Parameters
    ----------
    %(ndimage_gradient_parameters)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> step = np.array([[0, 0, 0, 1, 1, 1]] * 3, dtype=np.float32)
    >>> ndimage.sobel(step, axis=1)
    array([[0., 0., 4., 4., 0., 0.],
           [0., 0., 4., 4., 0., 0.],
           [0., 0., 4., 4., 0., 0.]], dtype=float32)
    """
    return _gradient(input, axis, output, mode, cval, threads, np.array([1.0, 2.0, 1.0]))


@overload
def prewitt(input: npt.NDArray[FloatT], axis: IntArg = -1, output: None = None,
            mode: _Modes = "reflect", cval: _Scalar = 0.0, *, threads: int | None = None
            ) -> npt.NDArray[FloatT]: ...


@overload
def prewitt(input: npt.ArrayLike, axis: IntArg = -1, output: _Output = None,
            mode: _Modes = "reflect", cval: _Scalar = 0.0, *, threads: int | None = None
            ) -> _Array: ...


@docfiller
def prewitt(input: npt.ArrayLike, axis: IntArg = -1, output: _Output = None,
            mode: _Modes = "reflect", cval: _Scalar = 0.0, *, threads: int | None = None) -> _Array:
    """Prewitt derivative along one axis, as ``scipy.ndimage.prewitt``.

    The difference ``[-1, 0, 1]`` along ``axis``, then the box ``[1, 1, 1]``
    along every other axis, each pass stored in the output dtype.

    Parameters
    ----------
    %(ndimage_gradient_parameters)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> ndimage.prewitt(np.array([[0, 0, 0, 1, 1, 1]] * 3), axis=1)
    array([[0, 0, 3, 3, 0, 0],
           [0, 0, 3, 3, 0, 0],
           [0, 0, 3, 3, 0, 0]])
    """
    return _gradient(input, axis, output, mode, cval, threads, np.array([1.0, 1.0, 1.0]))


def _sum_of_derivatives(array: _Array, axes: Sequence[int], modes: Sequence[Any],
                        derivative: Callable[[int, Any], _Array], out_dtype: np.dtype[Any],
                        square: bool) -> _Array:
    """``sum_a d_a`` (or ``sum_a d_a**2``) over ``axes``, accumulated in ``out_dtype``."""
    total: _Array | None = None
    for axis, mode in zip(axes, modes):
        term = derivative(axis, mode)
        if square:
            np.multiply(term, term, out=term)
        if total is None:
            total = term
        else:
            total += term
    return cast(_Array, total)  # the callers give at least one axis


@overload
def laplace(input: npt.NDArray[FloatT], output: None = None, mode: _Modes = "reflect",
            cval: _Scalar = 0.0, *, axes: IntTuple | None = None, threads: int | None = None
            ) -> npt.NDArray[FloatT]: ...


@overload
def laplace(input: npt.ArrayLike, output: _Output = None, mode: _Modes = "reflect",
            cval: _Scalar = 0.0, *, axes: IntTuple | None = None, threads: int | None = None
            ) -> _Array: ...


@docfiller
def laplace(input: npt.ArrayLike, output: _Output = None, mode: _Modes = "reflect",
            cval: _Scalar = 0.0, *, axes: IntTuple | None = None, threads: int | None = None
            ) -> _Array:
    """The discrete Laplacian, as ``scipy.ndimage.laplace``.

    The sum over the filtered axes of the second difference ``[1, -2, 1]``
    along each, every term stored in the output dtype before it is added.

    Parameters
    ----------
    %(ndimage_input)s
    %(ndimage_output)s
    %(ndimage_mode_multiple)s
    %(ndimage_cval)s
    %(ndimage_axes)s
    %(ndimage_threads)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> ndimage.laplace(np.array([[0., 0., 0.], [0., 1., 0.], [0., 0., 0.]]), mode="constant")
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    array, target, out_dtype, threads = _prepare(input, output, threads)
    axes = check_axes(axes, array.ndim)
    if not axes:
        return result_array(_copy(array, out_dtype), target)
    modes = normalize_sequence(mode, len(axes), "mode")
    second = np.array([1.0, -2.0, 1.0])

    def derivative(axis: int, mode: Any) -> _Array:
        return _one_axis(array, second, axis, 0, padding_mode(mode), cval, out_dtype, threads)

    result = _sum_of_derivatives(array, axes, modes, derivative, out_dtype, square=False)
    return result_array(result, target)


def _gaussian_derivative(array: _Array, sigma: RealNumber | Sequence[RealNumber], axis: int,
                         order: int, mode: Any, cval: _Scalar, truncate: RealNumber,
                         radius: IntTuple | None, out_dtype: np.dtype[Any], threads: int
                         ) -> _Array:
    """``gaussian_filter(array, sigma, order)`` with ``order`` on ``axis``, 0 elsewhere."""
    ndim = array.ndim
    orders = [0] * ndim
    orders[axis] = order
    return _gaussian_passes(array, normalize_sequence(sigma, ndim, "sigma"), orders,
                            [mode] * ndim, normalize_sequence(radius, ndim, "radius"),
                            range(ndim), cval, truncate, out_dtype, threads)


@overload
def gaussian_laplace(input: npt.NDArray[FloatT], sigma: RealNumber | Sequence[RealNumber],
                     output: None = None, mode: _Modes = "reflect", cval: _Scalar = 0.0, *,
                     axes: IntTuple | None = None, truncate: RealNumber = 4.0,
                     radius: IntTuple | None = None, threads: int | None = None
                     ) -> npt.NDArray[FloatT]: ...


@overload
def gaussian_laplace(input: npt.ArrayLike, sigma: RealNumber | Sequence[RealNumber],
                     output: _Output = None, mode: _Modes = "reflect", cval: _Scalar = 0.0, *,
                     axes: IntTuple | None = None, truncate: RealNumber = 4.0,
                     radius: IntTuple | None = None, threads: int | None = None) -> _Array: ...


@docfiller
def gaussian_laplace(input: npt.ArrayLike, sigma: RealNumber | Sequence[RealNumber],
                     output: _Output = None, mode: _Modes = "reflect", cval: _Scalar = 0.0, *,
                     axes: IntTuple | None = None, truncate: RealNumber = 4.0,
                     radius: IntTuple | None = None, threads: int | None = None) -> _Array:
    """Laplacian of Gaussian, as ``scipy.ndimage.gaussian_laplace``.

    The sum over the filtered axes of the Gaussian's second derivative along
    each (smoothed along the other filtered axes), every term stored in the
    output dtype before it is added.

    Parameters
    ----------
    %(ndimage_input)s
    sigma : float or sequence of float
        Standard deviation per filtered axis, or one for all.
    %(ndimage_output)s
    %(ndimage_mode_multiple)s
    %(ndimage_cval)s
    %(ndimage_axes)s
    %(ndimage_truncate)s
    radius : int or sequence of int, optional
        Keyword only.  The kernel's radius, per axis of the input (not of
        ``axes``), overriding ``truncate``.
    %(ndimage_threads)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> spot = np.zeros((7, 7))
    >>> spot[3, 3] = 1.0
    >>> log = ndimage.gaussian_laplace(spot, sigma=1.0)
    >>> bool(log[3, 3] < 0), log.shape
    (True, (7, 7))
    """
    array, target, out_dtype, threads = _prepare(input, output, threads)
    axes = check_axes(axes, array.ndim)
    if not axes:
        return result_array(_copy(array, out_dtype), target)
    sigmas = expand_to_rank(normalize_sequence(sigma, len(axes), "sigma"), axes, array.ndim, 0)
    modes = normalize_sequence(mode, len(axes), "mode")

    def derivative(axis: int, mode: Any) -> _Array:
        return _gaussian_derivative(array, sigmas, axis, 2, mode, cval, truncate, radius,
                                    out_dtype, threads)

    result = _sum_of_derivatives(array, axes, modes, derivative, out_dtype, square=False)
    return result_array(result, target)


@overload
def gaussian_gradient_magnitude(input: npt.NDArray[FloatT],
                                sigma: RealNumber | Sequence[RealNumber], output: None = None,
                                mode: _Modes = "reflect", cval: _Scalar = 0.0, *,
                                axes: IntTuple | None = None, truncate: RealNumber = 4.0,
                                radius: IntTuple | None = None, threads: int | None = None
                                ) -> npt.NDArray[FloatT]: ...


@overload
def gaussian_gradient_magnitude(input: npt.ArrayLike, sigma: RealNumber | Sequence[RealNumber],
                                output: _Output = None, mode: _Modes = "reflect",
                                cval: _Scalar = 0.0, *, axes: IntTuple | None = None,
                                truncate: RealNumber = 4.0, radius: IntTuple | None = None,
                                threads: int | None = None) -> _Array: ...


@docfiller
def gaussian_gradient_magnitude(input: npt.ArrayLike, sigma: RealNumber | Sequence[RealNumber],
                                output: _Output = None, mode: _Modes = "reflect",
                                cval: _Scalar = 0.0, *, axes: IntTuple | None = None,
                                truncate: RealNumber = 4.0, radius: IntTuple | None = None,
                                threads: int | None = None) -> _Array:
    """Gradient magnitude from Gaussian derivatives, as SciPy's ``gaussian_gradient_magnitude``.

    ``sqrt(sum_a d_a**2)`` over the filtered axes, ``d_a`` the Gaussian's
    first derivative along axis ``a`` (smoothed along the others); each
    ``d_a`` and the running sum are stored in the output dtype.

    As in SciPy 1.17, ``sigma`` (a number, or one per axis of the input) and
    each derivative's smoothing cover every axis of the input; ``axes``
    chooses which derivatives are summed.

    Parameters
    ----------
    %(ndimage_input)s
    sigma : float or sequence of float
        Standard deviation per axis of the input, or one for all.
    %(ndimage_output)s
    %(ndimage_mode_multiple)s
    %(ndimage_cval)s
    %(ndimage_axes)s
    %(ndimage_truncate)s
    radius : int or sequence of int, optional
        Keyword only.  The kernel's radius, per axis of the input, overriding
        ``truncate``.
    %(ndimage_threads)s

    %(ndimage_returns_raises)s

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import ndimage
    >>> ramp = np.tile(np.arange(8.0), (6, 1))
    >>> ndimage.gaussian_gradient_magnitude(ramp, sigma=1.0)[2, 3:5].round(6)
    array([0.999393, 0.999393])
    """
    array, target, out_dtype, threads = _prepare(input, output, threads)
    axes = check_axes(axes, array.ndim)
    if not axes:
        return result_array(_copy(array, out_dtype), target)
    modes = normalize_sequence(mode, len(axes), "mode")

    def derivative(axis: int, mode: Any) -> _Array:
        return _gaussian_derivative(array, sigma, axis, 1, mode, cval, truncate, radius,
                                    out_dtype, threads)

    result = _sum_of_derivatives(array, axes, modes, derivative, out_dtype, square=True)
    np.sqrt(result, out=result, casting="unsafe")
    return result_array(result, target)
