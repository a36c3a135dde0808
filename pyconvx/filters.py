"""Image filtering with a 2-D kernel: ``filter2d`` and ``edge_magnitude``.

Both take a grayscale ``(H, W)`` or colour ``(H, W, C)`` image (the layout of
image files, Pillow and OpenCV) and filter every channel with the same kernel
in one depthwise call of :func:`pyconvx.conv` (``groups=C``).  Filtering is
cross-correlation, as in OpenCV's ``filter2D`` and in deep learning: the
kernel is not flipped.
"""

import numpy as np

from . import kernels as _kernels
from ._normalize import as_array, check_choice, result_dtype
from .signal import MODES, boundary_conv, check_boundary, mode_pads

__all__ = ["edge_magnitude", "filter2d"]


def _image_planes(image, name="image"):
    """Validated ``(C, H, W)`` planes of an (H, W) or (H, W, C) image."""
    array = as_array(image, name)
    if array.ndim == 2:
        planes = array[np.newaxis]
    elif array.ndim == 3:
        planes = np.moveaxis(array, -1, 0)
    else:
        raise ValueError(
            f"{name} must be 2-D (H, W) grayscale or 3-D (H, W, C) colour, got shape {array.shape}"
        )
    if min(array.shape) == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    return array, planes


def _from_planes(result, colour):
    return np.moveaxis(result, 0, -1) if colour else result[0]


def filter2d(image, kernel, mode="same", boundary="fill"):
    """Filter a grayscale or colour image with a 2-D kernel (cross-correlation).

    Parameters
    ----------
    image : array_like
        ``(H, W)`` grayscale or ``(H, W, C)`` colour image; float, integer or
        bool.  Each channel is filtered with the same kernel.
    kernel : array_like
        2-D kernel, e.g. one from :mod:`pyconvx.kernels`.
    mode : {'same', 'valid', 'full'}, optional
        Output size: ``'same'`` as the image (the kernel centred on each
        pixel; for an even kernel size the extra tap is on the low side, as
        in ``scipy.signal.correlate2d``), ``'valid'`` only where the kernel
        fits, ``'full'`` every overlap.
    boundary : {'fill', 'wrap', 'symm'}, optional
        Pixels beyond the edge: zeros, periodic, or mirrored with the edge
        pixel repeated (see :func:`pyconvx.correlate2d`).

    Returns
    -------
    numpy.ndarray
        Float result, ``(H', W')`` or ``(H', W', C)``; float32 when image and
        kernel are float32, float64 otherwise.  Equal to
        ``scipy.signal.correlate2d(image[..., c], kernel, mode, boundary)``
        for each channel ``c``.

    Raises
    ------
    TypeError
        For unsupported dtypes or non-string options.
    ValueError
        For wrong ranks, empty arrays, unknown options, or a ``'valid'``
        kernel larger than the image.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> image = np.array([[0, 0, 9, 9]] * 3)
    >>> pyconvx.filter2d(image, pyconvx.kernels.sobel_x(), mode="valid")
    array([[36., 36.]])
    >>> pyconvx.filter2d(np.ones((4, 4, 3)), pyconvx.kernels.box_blur()).shape
    (4, 4, 3)
    """
    array, planes = _image_planes(image)
    weight = as_array(kernel, "kernel")
    if weight.ndim != 2:
        raise ValueError(f"kernel must be 2-D, got shape {weight.shape}")
    if weight.size == 0:
        raise ValueError(f"kernel must not be empty, got shape {weight.shape}")
    check_choice(mode, "mode", MODES)
    boundary = check_boundary(boundary)
    dtype = result_dtype((array.dtype, "image"), (weight.dtype, "kernel"))
    if mode == "valid" and (weight.shape[0] > planes.shape[1] or weight.shape[1] > planes.shape[2]):
        raise ValueError(
            f"mode='valid' needs the kernel to fit in the image, got kernel shape "
            f"{weight.shape} for image shape {array.shape}"
        )
    channels = planes.shape[0]
    planes = np.asarray(planes, dtype=dtype)
    weights = np.broadcast_to(np.asarray(weight, dtype=dtype), (channels, 1) + weight.shape)
    pads = mode_pads(mode, weight.shape)
    if mode == "same":
        # The same centring as scipy.signal.correlate2d (extra tap low).
        pads = tuple((high, low) for low, high in pads)
    result = boundary_conv(planes, weights, pads, boundary, 0.0, flip=False, groups=channels)
    return _from_planes(result, array.ndim == 3)


def edge_magnitude(image, boundary="symm"):
    """Edge strength ``sqrt(Gx**2 + Gy**2)`` from the Sobel-X and Sobel-Y responses.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` grayscale or ``(H, W, C)`` colour image (each channel on
        its own).
    boundary : {'symm', 'fill', 'wrap'}, optional
        Pixels beyond the edge.  The default mirrors the image, so its border
        does not read as an edge; ``'fill'`` pads with zeros.

    Returns
    -------
    numpy.ndarray
        Same height and width as ``image`` (and channels, if any); float64
        (float32 for a float32 image), all values >= 0.

    Raises
    ------
    TypeError
        For unsupported dtypes.
    ValueError
        For wrong ranks, an empty image or an unknown ``boundary``.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> step = np.array([[0, 0, 0, 1, 1, 1]] * 4)
    >>> pyconvx.edge_magnitude(step)[0]
    array([0., 0., 4., 4., 0., 0.])
    """
    array, planes = _image_planes(image)
    boundary = check_boundary(boundary)
    sobel = np.stack([_kernels.sobel_x(), _kernels.sobel_y()])
    dtype = result_dtype((array.dtype, "image"), (np.dtype(np.float32), "kernel"))
    channels = planes.shape[0]
    planes = np.asarray(planes, dtype=dtype)
    # Output channels alternate Gx, Gy for each image channel (groups=C).
    weights = np.tile(sobel.astype(dtype), (channels, 1, 1))[:, np.newaxis]
    pads = ((1, 1), (1, 1))
    gradients = boundary_conv(planes, weights, pads, boundary, 0.0, flip=False, groups=channels)
    magnitude = np.hypot(gradients[0::2], gradients[1::2])
    return _from_planes(magnitude, array.ndim == 3)
