"""The classic image-filter kernels (the gallery of the convolution tutorial), as fresh arrays.

Every function returns a new ``float64`` array on each call, so callers may
modify the result freely.  ``names()`` lists the gallery and ``get(name)``
looks a kernel up by name (the names the ``pyconvx filter --kernel`` command
accepts).

Kernels are written for cross-correlation (what ``pyconvx.conv``,
``filter2d`` and deep-learning libraries compute): ``sobel_x`` responds
positively where brightness increases from left to right.
"""

import math

import numpy as np

from ._normalize import as_int

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


def identity():
    """The 3x3 identity kernel: the output equals the input.

    Returns
    -------
    numpy.ndarray
        ``float64`` array of shape (3, 3), 1 at the centre and 0 elsewhere.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.identity()
    array([[0., 0., 0.],
           [0., 1., 0.],
           [0., 0., 0.]])
    """
    kernel = np.zeros((3, 3))
    kernel[1, 1] = 1.0
    return kernel


def sobel_x():
    """Sobel-X, the vertical-edge detector (a smoothed horizontal gradient).

    Returns
    -------
    numpy.ndarray
        ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]`` as float64.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.sobel_x()
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    """
    return np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)


def sobel_y():
    """Sobel-Y, the horizontal-edge detector (negative top, positive bottom).

    Returns
    -------
    numpy.ndarray
        ``[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]`` as float64.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.sobel_y()
    array([[-1., -2., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  2.,  1.]])
    """
    return sobel_x().T.copy()


def prewitt_x():
    """Prewitt-X: like Sobel-X without the doubled centre row.

    Returns
    -------
    numpy.ndarray
        ``[[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]`` as float64.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.prewitt_x()
    array([[-1.,  0.,  1.],
           [-1.,  0.,  1.],
           [-1.,  0.,  1.]])
    """
    return np.array([[-1, 0, 1]] * 3, dtype=np.float64)


def prewitt_y():
    """Prewitt-Y: like Sobel-Y without the doubled centre column.

    Returns
    -------
    numpy.ndarray
        ``[[-1, -1, -1], [0, 0, 0], [1, 1, 1]]`` as float64.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.prewitt_y()
    array([[-1., -1., -1.],
           [ 0.,  0.,  0.],
           [ 1.,  1.,  1.]])
    """
    return prewitt_x().T.copy()


def _odd_size(size):
    size = as_int(size, "size")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size!r}")
    if size > 4097:
        raise ValueError(f"size must be <= 4097 for a gallery kernel, got {size!r}")
    return size


def box_blur(size=3):
    """The box blur: a ``size x size`` kernel of equal weights ``1 / size**2``.

    Parameters
    ----------
    size : int, optional
        Side length (1 to 4097).

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(size, size)`` summing to 1.

    Raises
    ------
    TypeError
        If ``size`` is not an int.
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
    size = _odd_size(size)
    return np.full((size, size), 1.0 / (size * size))


def gaussian(size=3, sigma=None):
    """A ``size x size`` Gaussian blur kernel, normalised to sum 1.

    With ``sigma=None`` the weights are the binomial coefficients (the rows of
    Pascal's triangle), the classic integer approximation of a Gaussian:
    ``[[1, 2, 1], [2, 4, 2], [1, 2, 1]] / 16`` for ``size=3``.  With a
    ``sigma`` the weights are ``exp(-(x**2 + y**2) / (2 sigma**2))`` sampled
    at integer offsets from the centre.

    Parameters
    ----------
    size : int, optional
        Side length (1 to 4097).
    sigma : float or None, optional
        Standard deviation in pixels (> 0), or None for binomial weights.

    Returns
    -------
    numpy.ndarray
        float64 array of shape ``(size, size)`` summing to 1, symmetric.

    Raises
    ------
    TypeError
        If ``size`` is not an int or ``sigma`` is not a real number.
    ValueError
        If ``size`` is out of range or ``sigma`` is not finite and positive.

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.gaussian() * 16
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> round(float(kernels.gaussian(5, sigma=1.0).sum()), 12)
    1.0
    """
    size = _odd_size(size)
    if sigma is None:
        row = np.array([math.comb(size - 1, k) for k in range(size)], dtype=np.float64)
    else:
        if isinstance(sigma, (bool, np.bool_)) or not isinstance(
            sigma, (int, float, np.integer, np.floating)
        ):
            raise TypeError(
                f"sigma must be a real number or None, got {type(sigma).__name__} {sigma!r}")
        sigma = float(sigma)
        if not (math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
        offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
        row = np.exp(-(offsets**2) / (2.0 * sigma * sigma))
    kernel = np.outer(row, row)
    return kernel / kernel.sum()


def sharpen():
    """The sharpen kernel: 5 at the centre, -1 at the 4-neighbours, 0 at corners.

    Returns
    -------
    numpy.ndarray
        ``[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]`` as float64 (sums to 1).

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.sharpen()
    array([[ 0., -1.,  0.],
           [-1.,  5., -1.],
           [ 0., -1.,  0.]])
    """
    return np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)


def laplacian():
    """The Laplacian: -4 at the centre, 1 at the 4-neighbours (a second derivative).

    Returns
    -------
    numpy.ndarray
        ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` as float64 (sums to 0).

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.laplacian()
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)


def emboss():
    """The emboss kernel: a diagonal gradient plus the pixel itself.

    Returns
    -------
    numpy.ndarray
        ``[[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]`` as float64 (sums to 1).

    Examples
    --------
    >>> from pyconvx import kernels
    >>> kernels.emboss()
    array([[-2., -1.,  0.],
           [-1.,  1.,  1.],
           [ 0.,  1.,  2.]])
    """
    return np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64)


_GALLERY = {
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


def names():
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


def get(name):
    """Return the gallery kernel called ``name`` with its default parameters.

    Dashes are accepted for underscores (``"sobel-x"``), case is ignored.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    numpy.ndarray
        A fresh float64 array.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
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
    return _GALLERY[key]()
