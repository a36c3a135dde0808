"""The FFT path (``algorithm="fft"``): linear convolution through numpy.fft.

Exact only to the FFT's rounding: about 1e-15 of the largest output in
float64 and 1e-6 in float32, so small outputs next to large ones lose relative
accuracy.  ``plan`` never picks it under ``algorithm="auto"``; ask for it
explicitly when kernels are large and that accuracy is enough.
"""

import warnings

import numpy as np

from .._boundary import NUMPY_PAD_MODES
from .._normalize import check_memory, prod

#: Memory the FFT path may use at once; batches are processed in chunks.
FFT_CHUNK_BYTES = 256 * 2**20


def _fft_shape(geometry):
    """Transform length per dim: the padded input plus the dilated kernel - 1."""
    return tuple(size + lo + hi + d * (k - 1)
                 for size, (lo, hi), k, d in zip(geometry.in_spatial, geometry.pads,
                                                  geometry.kernel, geometry.dilation))


def fft_workspace_bytes(geometry, dtype):
    shape = _fft_shape(geometry)
    spectrum = prod(shape[:-1]) * (shape[-1] // 2 + 1) * 2 * np.dtype(dtype).itemsize
    per_image = (geometry.in_per_group + geometry.out_per_group) * spectrum
    weights = geometry.out_channels * geometry.in_per_group * spectrum
    return weights + min(geometry.batch, max(1, FFT_CHUNK_BYTES // max(per_image, 1))) * per_image


#: SciPy's words for the same situation (scipy.signal.convolve with method="fft").
NONFINITE_WARNING = ("Use of fft convolution on input with NAN or inf results in NAN or inf "
                     "output")


def warn_if_nonfinite(*arrays, stacklevel=4):
    """The FFT spreads one NaN or Inf to every output: say so, as SciPy does."""
    if not all(np.isfinite(a).all() for a in arrays if a is not None):
        warnings.warn(NONFINITE_WARNING, RuntimeWarning, stacklevel=stacklevel)


def conv_fft(x, weight, bias, out, geometry, flip):
    """Fill ``out`` (N, C_out, *out_spatial) with the convolution, via FFTs."""
    check_memory(fft_workspace_bytes(geometry, x.dtype), "the FFT path's workspace")
    warn_if_nonfinite(x, weight, bias)
    ndim = geometry.ndim
    axes = tuple(range(-ndim, 0))
    shape = _fft_shape(geometry)
    # dilate the kernel, and reverse it unless flip: correlation is the
    # convolution with the reversed kernel
    dilated = np.zeros(weight.shape[:2] + tuple(d * (k - 1) + 1 for k, d in
                                                zip(geometry.kernel, geometry.dilation)),
                       dtype=weight.dtype)
    taps = tuple(slice(None, None, d) for d in geometry.dilation)
    dilated[(slice(None), slice(None)) + taps] = weight
    if not flip:
        dilated = dilated[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim]
    kernel_spectrum = np.fft.rfftn(dilated, s=shape, axes=axes)
    reach = [d * (k - 1) for k, d in zip(geometry.kernel, geometry.dilation)]
    crop = tuple(slice(r, r + (o - 1) * s + 1, s)
                 for r, o, s in zip(reach, geometry.out_spatial, geometry.stride))
    spectrum_bytes = prod(shape[:-1]) * (shape[-1] // 2 + 1) * 2 * x.itemsize
    chunk = max(1, FFT_CHUNK_BYTES // max((geometry.in_per_group + geometry.out_per_group)
                                          * spectrum_bytes, 1))
    cin_g, cout_g = geometry.in_per_group, geometry.out_per_group
    pad_width = ((0, 0), (0, 0)) + tuple(geometry.pads)
    for start in range(0, geometry.batch, chunk):
        block = x[start:start + chunk]
        for g in range(geometry.groups):
            channels = block[:, g * cin_g:(g + 1) * cin_g]
            mode = NUMPY_PAD_MODES[geometry.padding_mode]
            fill = {"constant_values": geometry.padding_value} if mode == "constant" else {}
            padded = np.pad(channels, pad_width, mode=mode, **fill)
            spectrum = np.fft.rfftn(padded, s=shape, axes=axes)
            product = np.einsum("nc...,oc...->no...", spectrum,
                                kernel_spectrum[g * cout_g:(g + 1) * cout_g])
            full = np.fft.irfftn(product, s=shape, axes=axes)
            out[start:start + chunk, g * cout_g:(g + 1) * cout_g] = full[(slice(None),
                                                                          slice(None)) + crop]
    if bias is not None:
        out += bias.reshape((1, -1) + (1,) * ndim)
