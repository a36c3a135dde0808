"""The FFT path (``algorithm="fft"``): linear convolution through numpy.fft.

Exact only to the FFT's rounding: about 1e-15 of the largest output in
float64 and 1e-6 in float32, so small outputs next to large ones lose relative
accuracy.  ``plan`` never picks it under ``algorithm="auto"``; ask for it
explicitly when kernels are large and that accuracy is enough.

Memory: the kernel's spectrum is kept whole; it is built a block of output
channels at a time, and the images go through in chunks, so that the arrays
alive at once stay near ``FFT_CHUNK_BYTES`` beyond the spectrum.
``fft_workspace_bytes`` adds up exactly the arrays this code holds at each
step, with numpy.fft's own scratch, and takes the largest step: it is what
``Plan.workspace_bytes`` reports and what is checked against the machine's
memory before anything is allocated.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import numpy.typing as npt

from .._boundary import NUMPY_PAD_MODES
from .._normalize import check_memory, prod

if TYPE_CHECKING:
    from ..shapes import ConvGeometry

#: A real array of the FFT path (float32 or float64).
_Real = npt.NDArray[np.floating[Any]]
#: A spectrum (complex64 or complex128).
_Spectrum = npt.NDArray[np.complexfloating[Any, Any]]
#: numpy.pad's names of the padding modes (the values of NUMPY_PAD_MODES).
_NumpyPadMode = Literal["constant", "reflect", "symmetric", "edge", "wrap"]

#: The arrays one chunk of images (or one block of the kernel's output
#: channels) holds at once aim for this; a single image may need more.
FFT_CHUNK_BYTES = 256 * 2**20

#: numpy.fft's own scratch during one call, in complex128 values per value of
#: the call's (complex) result, measured over 1-d to 3-d shapes, with a
#: margin: a forward transform of float32 values with a complex64 result
#: (NumPy 2 computes it in double precision, then rounds) at most 2.55, any
#: other forward transform at most 1.06, an inverse one at most 1.14.
FORWARD_SCRATCH: dict[int, float] = {8: 3.0, 16: 1.5}
INVERSE_SCRATCH = 1.5

#: bytes of one complex128 value
_COMPLEX128 = 16


def _fast_length(n: int) -> int:
    """The smallest ``2**a * 3**b * 5**c >= n``.

    pocketfft (numpy.fft) transforms such lengths directly; a length with a
    large prime factor goes through Bluestein's algorithm, with about twice
    the work and scratch buffers of twice the length that numpy does not
    account for.
    """
    best = 1 << (n - 1).bit_length()
    fives = 1
    while fives < best:
        odd = fives
        while odd < best:
            twos = 1 << (-(-n // odd) - 1).bit_length()
            best = min(best, twos * odd)
            odd *= 3
        fives *= 5
    return best


def _fft_shape(geometry: ConvGeometry) -> tuple[int, ...]:
    """Transform length per dim: at least the padded input plus the dilated
    kernel - 1 (no wrap-around), rounded up to a fast length."""
    return tuple(_fast_length(size + lo + hi + d * (k - 1))
                 for size, (lo, hi), k, d in zip(geometry.in_spatial, geometry.pads,
                                                  geometry.kernel, geometry.dilation))


@functools.cache
def _itemsizes(dtype: np.dtype[Any]) -> tuple[int, int, int]:
    """(real input, complex spectrum, real inverse) itemsizes numpy.fft uses
    for ``dtype`` (NumPy 2 keeps float32 as complex64; NumPy 1 goes to
    complex128)."""
    spectrum = np.fft.rfft(np.zeros(4, dtype=dtype))
    return np.dtype(dtype).itemsize, spectrum.itemsize, np.fft.irfft(spectrum).itemsize


class _Sizes:
    """Element counts per channel (or kernel pair) of the FFT path's arrays."""

    def __init__(self, geometry: ConvGeometry, dtype: npt.DTypeLike) -> None:
        shape = _fft_shape(geometry)
        self.spectrum: int = prod(shape[:-1]) * (shape[-1] // 2 + 1)
        self.transform: int = prod(shape)
        self.padded: int = prod(s + lo + hi for s, (lo, hi) in zip(geometry.in_spatial,
                                                                geometry.pads))
        self.dilated: int = prod(d * (k - 1) + 1
                                 for k, d in zip(geometry.kernel, geometry.dilation))
        self.real, self.complex, self.inverse = _itemsizes(np.dtype(dtype))

    def forward(self, count: int, real_elements: int) -> float:
        """Bytes of a forward transform of ``count`` channels: its real input
        (``real_elements`` each), its result and numpy.fft's scratch."""
        return count * (real_elements * self.real + self.spectrum * self.complex
                        + FORWARD_SCRATCH[self.complex] * self.spectrum * _COMPLEX128)

    def kernel_block(self, out_channels: int, in_per_group: int) -> float:
        """Bytes held while a block of the kernel's output channels is transformed."""
        return self.forward(out_channels * in_per_group, self.dilated)

    def image_chunk(self, images: int, in_per_group: int, out_per_group: int) -> float:
        """Bytes one chunk of images holds at its largest step (one group)."""
        spectra = images * in_per_group * self.spectrum * self.complex
        products = images * out_per_group * self.spectrum * self.complex
        inverse = images * out_per_group * (self.transform * self.inverse
                                            + INVERSE_SCRATCH * self.spectrum * _COMPLEX128)
        return max(self.forward(images * in_per_group, self.padded),   # padded -> spectra
                   spectra + products,                                # the products
                   products + inverse)                                # back to real values


def _kernel_block_channels(sizes: _Sizes, geometry: ConvGeometry) -> int:
    per_channel = sizes.kernel_block(1, geometry.in_per_group)
    return max(1, min(geometry.out_channels, int(FFT_CHUNK_BYTES // max(per_channel, 1))))


def _chunk_images(sizes: _Sizes, geometry: ConvGeometry) -> int:
    per_image = sizes.image_chunk(1, geometry.in_per_group, geometry.out_per_group)
    return max(1, min(geometry.batch, int(FFT_CHUNK_BYTES // max(per_image, 1))))


def fft_workspace_bytes(geometry: ConvGeometry, dtype: npt.DTypeLike) -> int:
    """The most memory the FFT path holds at once beyond x and the output.

    The kernel's spectrum plus the larger of a block of its output channels
    being transformed and a chunk of images at its largest step; or, if
    larger, the non-finite check before them (one bool per value of x or of
    the weight).
    """
    sizes = _Sizes(geometry, dtype)
    kernel = geometry.out_channels * geometry.in_per_group * sizes.spectrum * sizes.complex
    block = sizes.kernel_block(_kernel_block_channels(sizes, geometry), geometry.in_per_group)
    chunk = sizes.image_chunk(_chunk_images(sizes, geometry), geometry.in_per_group,
                              geometry.out_per_group)
    check = max(geometry.batch * geometry.in_channels * prod(geometry.in_spatial),
                geometry.out_channels * geometry.in_per_group * prod(geometry.kernel))
    return int(max(kernel + max(block, chunk), check))


#: SciPy's words for the same situation (scipy.signal.convolve with method="fft").
NONFINITE_WARNING = ("Use of fft convolution on input with NAN or inf results in NAN or inf "
                     "output")


def warn_if_nonfinite(*arrays: npt.NDArray[Any] | None, stacklevel: int = 4) -> bool:
    """The FFT spreads one NaN or Inf to every output: say so, as SciPy does.

    Returns whether an input holds NaN or Inf (then the transforms run in
    ``transforms_context(True)`` and their result goes through ``one_nan``).
    """
    if all(np.isfinite(a).all() for a in arrays if a is not None):
        return False
    warnings.warn(NONFINITE_WARNING, RuntimeWarning, stacklevel=stacklevel)
    return True


def transforms_context(nonfinite: bool) -> contextlib.AbstractContextManager[Any]:
    """Where the transforms run: after the warning above, NumPy's own "invalid
    value" warnings from inside them say nothing more and are silenced (other
    floating-point states untouched)."""
    return np.errstate(invalid="ignore") if nonfinite else contextlib.nullcontext()


def one_nan(result: npt.NDArray[Any], nonfinite: bool) -> None:
    """Make every NaN of ``result`` the same NaN: the sign and payload a NaN
    gets follow the transforms' order of operations, which follows the
    input's memory layout, and results are bitwise equal for every layout."""
    if nonfinite:
        np.copyto(result, np.nan, where=np.isnan(result))


def _kernel_spectrum(weight: _Real, geometry: ConvGeometry, flip: bool,
                     shape: tuple[int, ...], sizes: _Sizes) -> _Spectrum | None:
    """The spectrum of every (output, input) channel pair of the dilated kernel,
    reversed unless ``flip`` (correlation is convolution with the reversed
    kernel), built a block of output channels at a time."""
    ndim = geometry.ndim
    axes = tuple(range(-ndim, 0))
    taps = (slice(None), slice(None)) + tuple(slice(None, None, d) for d in geometry.dilation)
    reverse = (slice(None), slice(None)) + (slice(None, None, -1),) * ndim
    spectrum: _Spectrum | None = None
    step = _kernel_block_channels(sizes, geometry)
    for start in range(0, geometry.out_channels, step):
        block = weight[start:start + step]
        dilated = np.zeros(block.shape[:2] + tuple(d * (k - 1) + 1 for k, d in
                                                   zip(geometry.kernel, geometry.dilation)),
                           dtype=weight.dtype)
        dilated[taps] = block
        part = np.fft.rfftn(dilated if flip else dilated[reverse], s=shape, axes=axes)
        del dilated
        if spectrum is None:
            spectrum = np.empty((geometry.out_channels,) + part.shape[1:], dtype=part.dtype)
        spectrum[start:start + step] = part
        del part
    return spectrum


def conv_fft(x: _Real, weight: _Real, bias: _Real | None, out: _Real,
             geometry: ConvGeometry, flip: bool) -> None:
    """Fill ``out`` (N, C_out, *out_spatial) with the convolution, via FFTs."""
    check_memory(fft_workspace_bytes(geometry, x.dtype), "the FFT path's workspace")
    nonfinite = warn_if_nonfinite(x, weight, bias)
    with transforms_context(nonfinite):
        _conv_fft(x, weight, bias, out, geometry, flip)
    one_nan(out, nonfinite)


def _conv_fft(x: _Real, weight: _Real, bias: _Real | None, out: _Real,
              geometry: ConvGeometry, flip: bool) -> None:
    sizes = _Sizes(geometry, x.dtype)
    ndim = geometry.ndim
    axes = tuple(range(-ndim, 0))
    shape = _fft_shape(geometry)
    kernel_spectrum = _kernel_spectrum(weight, geometry, flip, shape, sizes)
    # the engine calls conv_fft only for an output that is not empty
    assert kernel_spectrum is not None, "conv_fft needs at least one output channel"
    reach = [d * (k - 1) for k, d in zip(geometry.kernel, geometry.dilation)]
    crop = (slice(None), slice(None)) + tuple(
        slice(r, r + (o - 1) * s + 1, s)
        for r, o, s in zip(reach, geometry.out_spatial, geometry.stride))
    chunk = _chunk_images(sizes, geometry)
    cin_g, cout_g = geometry.in_per_group, geometry.out_per_group
    pad_width = ((0, 0), (0, 0)) + tuple(geometry.pads)
    mode = cast(_NumpyPadMode, NUMPY_PAD_MODES[geometry.padding_mode])
    fill: dict[str, Any] = (
        {"constant_values": geometry.padding_value} if mode == "constant" else {})
    for start in range(0, geometry.batch, chunk):
        block = x[start:start + chunk]
        for g in range(geometry.groups):
            padded = np.pad(block[:, g * cin_g:(g + 1) * cin_g], pad_width, mode=mode, **fill)
            spectrum = np.fft.rfftn(padded, s=shape, axes=axes)
            del padded
            product = np.einsum("nc...,oc...->no...", spectrum,
                                kernel_spectrum[g * cout_g:(g + 1) * cout_g])
            del spectrum
            full = np.fft.irfftn(product, s=shape, axes=axes)
            del product
            out[start:start + chunk, g * cout_g:(g + 1) * cout_g] = full[crop]
            del full
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * ndim)
