"""The classic image-filter kernels (the gallery of the convolution tutorial), as fresh arrays.

Every function returns a new array on each call, so callers may modify the
result freely: ``float64`` by default, ``float32`` with ``dtype=np.float32``
(a float32 image filtered with a float32 kernel stays float32).
``names()`` lists the gallery and ``get(name)`` looks a kernel up by name
(the names the ``pyconvx filter --kernel`` command accepts).

Kernels are written for cross-correlation (what ``pyconvx.conv``,
``filter2d`` and deep-learning libraries compute): ``sobel_x`` responds
positively where brightness increases from left to right.

The blur kernels (``box_blur``, ``gaussian``) and the gradient kernels
(Sobel, Prewitt) are outer products of two 1-D kernels, built so that the
product reproduces every entry exactly in the kernel's dtype: filtering
with them runs as two 1-D passes (see :func:`pyconvx.filter2d`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ._normalize import as_int
from ._typing import Float64Array, FloatArray, FloatT, IntArg, RealNumber

__all__ = [
    "box_blur",
    "emboss",
    "gaussian",
    "get",
    "identity",
    "laplacian",
    "names",
    "prewitt_x",
    "prewitt_y",
    "sharpen",
    "sobel_x",
    "sobel_y",
]

#: The largest side length of a gallery kernel.
MAX_SIZE = 4097


def _dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    """``dtype`` as numpy.float32 or numpy.float64 (anything else is a TypeError)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved not in (np.float32, np.float64):
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got {dtype!r}")
    return resolved


def _fixed(rows: Sequence[Sequence[int]], dtype: npt.DTypeLike) -> FloatArray:
    return np.array(rows, dtype=_dtype(dtype))


@overload
def identity() -> Float64Array: ...


@overload
def identity(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def identity(*, dtype: npt.DTypeLike) -> FloatArray: ...


def identity(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """The 3x3 identity kernel: the output equals the input.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        Array of shape (3, 3), 1 at the centre and 0 elsewhere.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.identity()
    array([[0., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """
    return _fixed([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype)


@overload
def sobel_x() -> Float64Array: ...


@overload
def sobel_x(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def sobel_x(*, dtype: npt.DTypeLike) -> FloatArray: ...


def sobel_x(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """Sobel-X, the vertical-edge detector (a smoothed horizontal gradient).

    The outer product of the smoothing column ``[1, 2, 1]`` and the
    difference row ``[-1, 0, 1]``.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``.

    Examples
    --------
    >>> import numpy as np
    >>> from pyconvx import kernels
    >>> kernels.sobel_x()
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    >>> kernels.sobel_x(dtype=np.float32).dtype
    dtype('float32')
    """
    return _fixed([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype)


@overload
def sobel_y() -> Float64Array: ...


@overload
def sobel_y(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def sobel_y(*, dtype: npt.DTypeLike) -> FloatArray: ...


def sobel_y(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """Sobel-Y, the horizontal-edge detector (negative top, positive bottom).

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]``, the transpose of Sobel-X.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.sobel_y()
    array([[-1., -2., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  2.,  1.]])
    """
    return sobel_x(dtype=dtype).T.copy()


@overload
def prewitt_x() -> Float64Array: ...


@overload
def prewitt_x(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def prewitt_x(*, dtype: npt.DTypeLike) -> FloatArray: ...


def prewitt_x(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """Prewitt-X: like Sobel-X without the doubled centre row.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        ``[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]``.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.prewitt_x()
    array([[-1.,  0.,  1.],
           [-1.,  0.,  1.],
           [-1.,  0.,  1.]])
    """
    return _fixed([[-1, 0, 1]] * 3, dtype)


@overload
def prewitt_y() -> Float64Array: ...


@overload
def prewitt_y(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def prewitt_y(*, dtype: npt.DTypeLike) -> FloatArray: ...


def prewitt_y(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """Prewitt-Y: like Sobel-Y without the doubled centre column.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        ``[[-1, -1, -1], [0, 0, 0], [1, 1, 1]]``.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.prewitt_y()
    array([[-1., -1., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  1.,  1.]])
    """
    return prewitt_x(dtype=dtype).T.copy()


def _size(size: IntArg) -> int:
    side: int = as_int(size, "size")
    if side < 1:
        raise ValueError(f"size must be >= 1, got {side!r}")
    if side > MAX_SIZE:
        raise ValueError(f"size must be <= {MAX_SIZE} for a gallery kernel, got {side!r}")
    return side


@overload
def box_blur(size: IntArg = ...) -> Float64Array: ...


@overload
def box_blur(size: IntArg = ..., *, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def box_blur(size: IntArg = ..., *, dtype: npt.DTypeLike) -> FloatArray: ...


def box_blur(size: IntArg = 3, *,
             dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """The box blur: a ``size x size`` kernel of equal weights ``1 / size**2``.

    Parameters
    ----------
    size : int, optional
        Side length (1 to 4097).
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(size, size)`` summing to 1 (to rounding).

    Raises
    ------
    TypeError
        If ``size`` is not an int or ``dtype`` is not float32/float64.
    ValueError
        If ``size`` is out of range.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.box_blur() * 9
    array([[1., 1., 1.],
           [1., 1., 1.],
           [1., 1., 1.]])
    """
    side = _size(size)
    return np.full((side, side), 1.0 / (side * side), dtype=_dtype(dtype))


def _real(value: object, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _gaussian_radius(sigma: float, truncate: float = 4.0) -> int:
    """The radius of a Gaussian cut off at ``truncate`` standard deviations.

    ``int(truncate * sigma + 0.5)``: the rule of ``scipy.ndimage``.
    """
    return int(truncate * sigma + 0.5)


def _gaussian_weights(sigma: float, radius: int, order: int = 0) -> npt.NDArray[np.float64]:
    """The 1-D Gaussian of ``sigma`` (float64) sampled at ``-radius .. radius``.

    Normalised to sum 1; ``order`` > 0 gives the ``order``-th derivative of
    that normalised Gaussian, ``q(x) * phi(x)`` with ``q`` a polynomial built
    by differentiating ``exp(-x**2 / (2 sigma**2))``.  Weights for
    correlation are these reversed (they are symmetric for even orders).
    """
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    variance = sigma * sigma
    phi: npt.NDArray[np.float64] = np.exp(-0.5 / variance * offsets**2)
    phi = phi / phi.sum()
    if order == 0:
        return phi
    # q holds the polynomial's coefficients; d/dx (q phi) = (q' - x q / sigma**2) phi
    coefficients = np.zeros(order + 1)
    coefficients[0] = 1.0
    derivative = np.diag(np.arange(1, order + 1, dtype=np.float64), 1)
    times_x = np.diag(np.full(order, -1.0 / variance), -1)
    for _ in range(order):
        coefficients = (derivative + times_x) @ coefficients
    powers = offsets[:, np.newaxis] ** np.arange(order + 1)
    weights: npt.NDArray[np.float64] = (powers @ coefficients) * phi
    return weights


@overload
def gaussian(size: IntArg | None = ..., sigma: RealNumber | None = ..., *,
             truncate: RealNumber = ...) -> Float64Array: ...


@overload
def gaussian(size: IntArg | None = ..., sigma: RealNumber | None = ..., *,
             truncate: RealNumber = ..., dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def gaussian(size: IntArg | None = ..., sigma: RealNumber | None = ..., *,
             truncate: RealNumber = ..., dtype: npt.DTypeLike) -> FloatArray: ...


def gaussian(size: IntArg | None = None, sigma: RealNumber | None = None, *,
             truncate: RealNumber = 4.0,
             dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """A ``size x size`` Gaussian blur kernel, normalised to sum 1.

    With ``sigma=None`` the weights are the binomial coefficients (the rows of
    Pascal's triangle), the classic integer approximation of a Gaussian:
    ``[[1, 2, 1], [2, 4, 2], [1, 2, 1]] / 16`` for the default ``size=3``.
    With a ``sigma`` the weights are ``exp(-(x**2 + y**2) / (2 sigma**2))``
    sampled at integer offsets from the centre; without a ``size`` the kernel
    reaches ``truncate`` standard deviations, radius ``int(truncate * sigma
    + 0.5)`` as in ``scipy.ndimage.gaussian_filter`` (sigma 2 gives 17 x 17).

    The kernel is the outer product of a normalised 1-D row with itself,
    computed in ``dtype``, so it is exactly separable in that dtype.

    Parameters
    ----------
    size : int or None, optional
        Side length (1 to 4097); None means 3 for the binomial kernel, and
        ``2 * int(truncate * sigma + 0.5) + 1`` with a ``sigma``.
    sigma : float or None, optional
        Standard deviation in pixels (> 0), or None for binomial weights.
    truncate : float, optional
        With ``sigma`` and no ``size``: how many standard deviations the
        kernel reaches (> 0).
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(size, size)`` summing to 1 (to rounding), symmetric.

    Raises
    ------
    TypeError
        If ``size`` is not an int, ``sigma`` or ``truncate`` not a real
        number, or ``dtype`` not float32/float64.
    ValueError
        If ``size`` is out of range or ``sigma``/``truncate`` are not finite
        and positive.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.gaussian() * 16
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> kernels.gaussian(sigma=2.0).shape
    (17, 17)
    >>> kernels.gaussian(5, sigma=1.0).shape
    (5, 5)
    >>> round(float(kernels.gaussian(sigma=1.5).sum()), 12)
    1.0
    """
    dtype = _dtype(dtype)
    if sigma is None:
        size = _size(3 if size is None else size)
        row = np.array([math.comb(size - 1, k) for k in range(size)], dtype=np.float64)
        row = row / row.sum()
    else:
        if isinstance(sigma, (bool, np.bool_)) or not isinstance(
                sigma, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"sigma must be a real number or None, got {type(sigma).__name__} {sigma!r}")
        sigma = float(sigma)
        if not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
        truncate = _real(truncate, "truncate")
        if not (math.isfinite(truncate) and truncate > 0):
            raise ValueError(f"truncate must be finite and > 0, got {truncate!r}")
        if size is None:
            radius = _gaussian_radius(sigma, truncate)
            if 2 * radius + 1 > MAX_SIZE:
                raise ValueError(
                    f"sigma={sigma!r} with truncate={truncate!r} needs a kernel of size "
                    f"{2 * radius + 1}; size must be <= {MAX_SIZE} for a gallery kernel")
            size = 2 * radius + 1
        size = _size(size)
        offsets = np.arange(size) - (size - 1) / 2.0
        row = np.exp(-0.5 / (sigma * sigma) * offsets**2)
        row = row / row.sum()
    row = row.astype(dtype)
    return np.outer(row, row)


@overload
def sharpen() -> Float64Array: ...


@overload
def sharpen(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def sharpen(*, dtype: npt.DTypeLike) -> FloatArray: ...


def sharpen(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """The sharpen kernel: 5 at the centre, -1 at the 4-neighbours, 0 at corners.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        ``[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]`` (sums to 1).

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.sharpen()
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    """
    return _fixed([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype)


@overload
def laplacian() -> Float64Array: ...


@overload
def laplacian(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def laplacian(*, dtype: npt.DTypeLike) -> FloatArray: ...


def laplacian(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """The Laplacian: -4 at the centre, 1 at the 4-neighbours (a second derivative).

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` (sums to 0).

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.laplacian()
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    return _fixed([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype)


@overload
def emboss() -> Float64Array: ...


@overload
def emboss(*, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def emboss(*, dtype: npt.DTypeLike) -> FloatArray: ...


def emboss(*, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """The emboss kernel: a diagonal gradient plus the pixel itself.

    Parameters
    ----------
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        ``[[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]`` (sums to 1).

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.emboss()
    array([[-2., -1.,  0.],
           [-1.,  1.,  1.],
           [ 0.,  1.,  2.]])
    """
    return _fixed([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype)


_GALLERY: dict[str, Callable[..., FloatArray]] = {
    "identity": identity,
    "sobel_x": sobel_x,
    "sobel_y": sobel_y,
    "prewitt_x": prewitt_x,
    "prewitt_y": prewitt_y,
    "box_blur": box_blur,
    "gaussian": gaussian,
    "sharpen": sharpen,
    "laplacian": laplacian,
    "emboss": emboss,
}


def names() -> list[str]:
    """The names of the gallery kernels, in the order of the tutorial's gallery.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.names()[:3]
    ['identity', 'sobel_x', 'sobel_y']
    >>> "gaussian" in kernels.names()
    True
    """
    return list(_GALLERY)


@overload
def get(name: str) -> Float64Array: ...


@overload
def get(name: str, *, dtype: type[FloatT]) -> npt.NDArray[FloatT]: ...


@overload
def get(name: str, *, dtype: npt.DTypeLike) -> FloatArray: ...


def get(name: str, *, dtype: npt.DTypeLike = np.float64) -> npt.NDArray[np.floating[Any]]:
    """Return the gallery kernel called ``name`` with its default parameters.

    Dashes are accepted for underscores (``"sobel-x"``), case is ignored.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    dtype : {numpy.float64, numpy.float32}, optional
        dtype of the kernel.

    Returns
    -------
    numpy.ndarray
        A fresh array.

    Raises
    ------
    TypeError
        If ``name`` is not a string or ``dtype`` not float32/float64.
    ValueError
        If ``name`` is not a gallery kernel; the message lists the valid names.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.get("laplacian").sum()
    np.float64(0.0)
    >>> kernels.get("Sobel-X")[1]
    array([-2.,  0.,  2.])
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    key = name.strip().lower().replace("-", "_")
    if key not in _GALLERY:
        raise ValueError(f"unknown kernel name {name!r}; valid names are: {', '.join(_GALLERY)}")
    return _GALLERY[key](dtype=dtype)
