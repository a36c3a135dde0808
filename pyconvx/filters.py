"""Image filtering with a 2-D kernel: ``filter2d`` and ``edge_magnitude``.

Both take a grayscale ``(H, W)`` image or a colour image with a channel
axis (``channel_axis=-1`` by default: ``(H, W, C)``, the layout of image
files, Pillow and OpenCV; ``channel_axis=0`` for ``(C, H, W)``) and filter
every channel with the same kernel.  Filtering is cross-correlation, as in
OpenCV's ``filter2D`` and in deep learning: the kernel is not flipped.

The border is mirrored by default (``boundary="symmetric"``: ``c b a | a b c
d | d c b``, the edge pixel repeated), so neither a blur nor an edge detector
draws a frame along the border.  It is ``scipy.ndimage``'s and
scikit-image's default (``mode="reflect"`` there) and OpenCV's
``BORDER_REFLECT``; OpenCV's default ``BORDER_REFLECT_101`` is
``boundary="reflect"`` here.  Symmetric is chosen because it treats the edge
pixel like any other (an image that is constant near its border stays
constant there) and works for images of any size, one pixel wide included.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from . import kernels as _kernels
from ._ndimage_core import correlate, correlate_separable
from ._normalize import as_array, as_int, check_choice, resolve_threads, result_dtype
from ._typing import FilterBoundary, FloatArray, FloatT, IntArg, PaddingMode, SignalMode
from .signal import BOUNDARIES as SIGNAL_BOUNDARIES

__all__ = ["edge_magnitude", "filter2d"]

MODES = ("same", "valid", "full")

#: Accepted ``boundary`` names -> pyconvx padding_mode: pyconvx's own names,
#: and scipy.signal's spellings (``signal.BOUNDARIES``: "symm", "wrap", "fill"...).
BOUNDARIES: dict[str, PaddingMode] = {
    mode: mode for mode in ("symmetric", "reflect", "replicate", "circular", "zeros")}
_SIGNAL_PADDING_MODES: dict[str, PaddingMode] = {
    "fill": "zeros", "wrap": "circular", "symm": "symmetric"}
BOUNDARIES.update({name: _SIGNAL_PADDING_MODES[canonical]
                   for name, canonical in SIGNAL_BOUNDARIES.items() if name not in BOUNDARIES})


class _LastAxis(int):
    """The default ``channel_axis``: -1, but known not to be the caller's choice."""

    def __repr__(self) -> str:
        return "-1"


#: ``channel_axis``'s default; an explicit ``-1`` is taken at its word.
CHANNELS_LAST = _LastAxis(-1)


def _check_boundary(boundary: FilterBoundary) -> PaddingMode:
    return BOUNDARIES[check_choice(boundary, "boundary", tuple(BOUNDARIES))]


def _image(image: npt.ArrayLike, channel_axis: IntArg | None
           ) -> tuple[npt.NDArray[Any], int | None]:
    """The validated image and the index of its channel axis (None for grayscale)."""
    array: npt.NDArray[Any] = as_array(image, "image")
    if array.ndim not in (2, 3):
        raise ValueError(
            "image must be 2-D (H, W) grayscale or 3-D colour with a channel axis "
            f"(channel_axis, default the last), got shape {array.shape}")
    if min(array.shape) == 0:
        raise ValueError(f"image must not be empty, got shape {array.shape}")
    if channel_axis is None:
        if array.ndim == 3:
            raise ValueError(
                f"image has shape {array.shape} but channel_axis=None says it has no channel "
                "axis: filter2d filters 2-D images; pass channel_axis=-1 for (H, W, C) or "
                "channel_axis=0 for (C, H, W), or use pyconvx.ndimage.correlate for a volume")
        return array, None
    explicit = channel_axis is not CHANNELS_LAST
    axis: int = as_int(channel_axis, "channel_axis")
    if array.ndim == 2:
        if explicit:
            raise ValueError(f"a 2-D image (shape {array.shape}) has no channel axis, got "
                             f"channel_axis={axis}; pass channel_axis=None")
        return array, None
    if not -3 <= axis < 3:
        raise ValueError(f"channel_axis must be in -3..2 for a 3-D image, got {axis}")
    if not explicit and array.shape[0] in (3, 4) and array.shape[-1] > array.shape[0]:
        raise ValueError(
            f"image of shape {array.shape} looks channels-first (C, H, W): pass "
            f"channel_axis=0 to filter its {array.shape[0]} channels, or channel_axis=-1 if "
            f"its last axis holds {array.shape[-1]} channels")
    return array, axis % 3


def _kernel_for(weight: npt.NDArray[Any], ndim: int, channel_axis: int | None
                ) -> npt.NDArray[Any]:
    """The 2-D kernel with a length-1 axis where the image has its channels."""
    return weight if channel_axis is None else np.expand_dims(weight, channel_axis)


def _pads(mode: SignalMode, kernel_shape: Sequence[int], channel_axis: int | None
          ) -> list[tuple[int, int]]:
    """Per-axis ``(low, high)`` border of ``mode`` (the channel axis gets none)."""
    if mode == "full":
        pads = [(k - 1, k - 1) for k in kernel_shape]
    elif mode == "same":   # scipy.signal.correlate2d's centring: the extra tap low
        pads = [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel_shape]
    else:
        pads = [(0, 0) for _ in kernel_shape]
    if channel_axis is not None:
        pads.insert(channel_axis, (0, 0))
    return pads


@overload
def filter2d(image: npt.NDArray[FloatT], kernel: npt.NDArray[FloatT], mode: SignalMode = "same",
             boundary: FilterBoundary = "symmetric", *, channel_axis: IntArg | None = CHANNELS_LAST,
             threads: int | None = None) -> npt.NDArray[FloatT]: ...


@overload
def filter2d(image: npt.NDArray[np.float64], kernel: npt.ArrayLike, mode: SignalMode = "same",
             boundary: FilterBoundary = "symmetric", *, channel_axis: IntArg | None = CHANNELS_LAST,
             threads: int | None = None) -> npt.NDArray[np.float64]: ...


@overload
def filter2d(image: npt.ArrayLike, kernel: npt.ArrayLike, mode: SignalMode = "same",
             boundary: FilterBoundary = "symmetric", *, channel_axis: IntArg | None = CHANNELS_LAST,
             threads: int | None = None) -> FloatArray: ...


def filter2d(image: npt.ArrayLike, kernel: npt.ArrayLike, mode: SignalMode = "same",
             boundary: FilterBoundary = "symmetric", *, channel_axis: IntArg | None = CHANNELS_LAST,
             threads: int | None = None) -> npt.NDArray[np.floating[Any]]:
    """Filter a grayscale or colour image with a 2-D kernel (cross-correlation).

    A kernel that is an outer product of two 1-D kernels (the gallery's
    blurs and gradients: see :mod:`pyconvx.kernels`) runs as two 1-D passes
    when that is cheaper, within the rounding bound of the full sum.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` grayscale or 3-D colour image (float, integer or bool);
        every channel is filtered with the same kernel.
    kernel : array_like
        2-D kernel, e.g. one from :mod:`pyconvx.kernels`.
    mode : {'same', 'valid', 'full'}, optional
        Output size: ``'same'`` as the image (the kernel centred on each
        pixel; for an even kernel size the extra tap is on the low side, as
        in ``scipy.signal.correlate2d``), ``'valid'`` only where the kernel
        fits, ``'full'`` every overlap.
    boundary : str, optional
        Pixels beyond the edge: ``'symmetric'`` (default; mirrored with the
        edge pixel repeated: scipy.ndimage's ``'reflect'``, OpenCV's
        ``BORDER_REFLECT``), ``'reflect'`` (mirrored about the edge pixel:
        OpenCV's ``BORDER_REFLECT_101``), ``'replicate'`` (the edge pixel),
        ``'circular'`` (periodic) or ``'zeros'``.  scipy.signal's
        ``'symm'``, ``'wrap'`` and ``'fill'`` are accepted for
        ``'symmetric'``, ``'circular'`` and ``'zeros'``.  Borders wider than
        the image repeat the extension periodically.
    channel_axis : int or None, optional
        Keyword only.  The colour axis of a 3-D image: -1 (default, ``(H, W,
        C)``) or 0 (``(C, H, W)``).  By default a 3-D image whose first axis
        has 3 or 4 entries and is shorter than its last (``(3, H, W)``) is
        refused as ambiguous: say which axis holds the channels.  None means
        the image has none: a 3-D image is then an error (filter a volume
        with :func:`pyconvx.ndimage.correlate`).
    threads : int, optional
        Keyword only.  Threads to use (None: OMP_NUM_THREADS or every usable
        core).  Results are the same for every count.

    Returns
    -------
    numpy.ndarray
        Float result with the image's axes in its order (``(H', W')``,
        ``(H', W', C)`` or ``(C, H', W')``); float32 when image and kernel
        are float32, float64 otherwise.  For the ``'fill'`` boundary it is
        ``scipy.signal.correlate2d(channel, kernel, mode, boundary)`` for
        each channel.

    Raises
    ------
    TypeError
        For unsupported dtypes or non-string options.
    ValueError
        For wrong ranks, an ambiguous or out-of-range channel axis, empty
        arrays, unknown options, or a ``'valid'`` kernel larger than the image.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> image = np.array([[0, 0, 9, 9]] * 3)
    >>> pyconvx.filter2d(image, pyconvx.kernels.sobel_x(), mode="valid")
    array([[36., 36.]])

    The mirrored border keeps a flat image flat, where zero padding darkens
    its frame:

    >>> pyconvx.filter2d(np.ones((3, 4)), pyconvx.kernels.box_blur())
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    >>> pyconvx.filter2d(np.ones((3, 4)), pyconvx.kernels.box_blur(), boundary="zeros")[0]
    array([0.44444444, 0.66666667, 0.66666667, 0.44444444])

    A float32 colour image with a float32 kernel stays float32:

    >>> rgb = np.ones((4, 5, 3), dtype=np.float32)
    >>> pyconvx.filter2d(rgb, pyconvx.kernels.gaussian(dtype=np.float32)).dtype
    dtype('float32')
    >>> pyconvx.filter2d(np.ones((3, 8, 8)), pyconvx.kernels.identity(), channel_axis=0).shape
    (3, 8, 8)
    """
    array, axis = _image(image, channel_axis)
    weight: npt.NDArray[Any] = as_array(kernel, "kernel")
    if weight.ndim != 2:
        raise ValueError(f"kernel must be 2-D, got shape {weight.shape}")
    if weight.size == 0:
        raise ValueError(f"kernel must not be empty, got shape {weight.shape}")
    check_choice(mode, "mode", MODES)
    padding_mode = _check_boundary(boundary)
    dtype = result_dtype((array.dtype, "image"), (weight.dtype, "kernel"))
    count = resolve_threads(threads)
    spatial = [n for index, n in enumerate(array.shape) if index != axis]
    if mode == "valid" and any(k > n for k, n in zip(weight.shape, spatial)):
        raise ValueError(
            f"mode='valid' needs the kernel to fit in the image, got kernel shape "
            f"{weight.shape} for image shape {array.shape}")
    filtered: FloatArray = correlate_separable(
        array, _kernel_for(weight, array.ndim, axis), _pads(mode, weight.shape, axis),
        padding_mode, 0.0, dtype, count)
    return filtered


@overload
def edge_magnitude(image: npt.NDArray[np.float32], boundary: FilterBoundary = "symmetric", *,
                   channel_axis: IntArg | None = CHANNELS_LAST,
                   threads: int | None = None) -> npt.NDArray[np.float32]: ...


@overload
def edge_magnitude(image: npt.ArrayLike, boundary: FilterBoundary = "symmetric", *,
                   channel_axis: IntArg | None = CHANNELS_LAST,
                   threads: int | None = None) -> FloatArray: ...


def edge_magnitude(image: npt.ArrayLike, boundary: FilterBoundary = "symmetric", *,
                   channel_axis: IntArg | None = CHANNELS_LAST,
                   threads: int | None = None) -> FloatArray:
    """Edge strength ``sqrt(Gx**2 + Gy**2)`` from the Sobel-X and Sobel-Y responses.

    Parameters
    ----------
    image : array_like
        ``(H, W)`` grayscale or 3-D colour image (each channel on its own).
    boundary : str, optional
        Pixels beyond the edge, as for :func:`filter2d`.  The default mirrors
        the image with the edge pixel repeated, so its border does not read
        as an edge; ``'zeros'`` draws one wherever the image is not dark.
    channel_axis : int or None, optional
        Keyword only.  As for :func:`filter2d`.
    threads : int, optional
        Keyword only.  As for :func:`filter2d`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``image``; float64 (float32 for a float32 image), all
        values >= 0.

    Raises
    ------
    TypeError
        For unsupported dtypes.
    ValueError
        For wrong ranks, an ambiguous channel axis, an empty image or an
        unknown ``boundary``.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> step = np.array([[0, 0, 0, 1, 1, 1]] * 4)
    >>> pyconvx.edge_magnitude(step)[0]
    array([0., 0., 4., 4., 0., 0.])
    """
    array, axis = _image(image, channel_axis)
    padding_mode = _check_boundary(boundary)
    dtype = result_dtype((array.dtype, "image"), (np.dtype(np.float32), "kernel"))
    count = resolve_threads(threads)
    pads = _pads("same", (3, 3), axis)
    gradients = [correlate(array, _kernel_for(sobel(dtype=dtype), array.ndim, axis),
                           pads, padding_mode, 0.0, dtype, count)
                 for sobel in (_kernels.sobel_x, _kernels.sobel_y)]
    magnitude: FloatArray = np.hypot(*gradients)
    return magnitude
