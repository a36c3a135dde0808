"""conv, conv1d, conv2d, conv3d: the public face of the engine.

This layer validates (through ``shapes.describe_conv`` and ``_normalize``),
applies the dtype rule, allocates the output, asks the planner
(``pyconvx._engine.plan``) how to compute, and hands canonical buffers and
the frozen plan to the compiled engine.  It does no arithmetic on
array data itself.
"""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ._docstrings import docfiller
from ._engine import direct
from ._engine.layout import batch_folded, batch_folded_view
from ._engine.plan import ALGORITHMS, cached_plan, check_forced_algorithm
from ._normalize import (
    as_array,
    check_choice,
    check_memory,
    compute_array,
    prod,
    resolve_threads,
    result_dtype,
)
from ._typing import (
    Algorithm,
    DataFormat,
    Float32Array,
    Float64Array,
    FloatArray,
    IntArg,
    IntTuple,
    PaddingArg,
    PaddingMode,
    RealNumber,
)
from .shapes import describe_conv

__all__ = ["conv", "conv1d", "conv2d", "conv3d"]

def _check_out(out: object, shape: tuple[int, ...], dtype: np.dtype[Any]) -> None:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray or None, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"out must have shape {tuple(shape)}, got shape {out.shape}")
    if out.dtype != dtype:
        raise ValueError(f"out must have dtype {dtype} (the result dtype), got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if not out.flags.aligned:
        raise ValueError(f"out must be aligned to its {dtype.itemsize}-byte elements "
                         f"(got data at address {out.ctypes.data:#x})")
    if not out.flags.writeable:
        raise ValueError("out must be writeable (got a read-only array)")


def _element_strides(array: npt.NDArray[Any]) -> list[int]:
    return [stride // array.itemsize for stride in array.strides]


def conv_impl(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
              stride: IntTuple = 1, padding: PaddingArg = 0, dilation: IntTuple = 1,
              groups: IntArg = 1, *, flip: bool = False, padding_mode: PaddingMode = "zeros",
              padding_value: RealNumber = 0.0, data_format: DataFormat = "channels_first",
              out: FloatArray | None = None, threads: int | None = None,
              algorithm: Algorithm = "auto", ndim: int | None = None) -> FloatArray:
    """The shared implementation of conv and conv1d/2d/3d (``ndim`` fixes the rank)."""
    x_array: npt.NDArray[Any] = as_array(x, "x")
    w_array: npt.NDArray[Any] = as_array(weight, "weight")
    b_array: npt.NDArray[Any] | None = None if bias is None else as_array(bias, "bias")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")
    geometry = describe_conv(
        x_array.shape, w_array.shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups, padding_mode=padding_mode, padding_value=padding_value,
        data_format=data_format, bias_shape=None if b_array is None else b_array.shape, ndim=ndim,
    )
    dtype = result_dtype((x_array.dtype, "x"), (w_array.dtype, "weight"))
    threads = resolve_threads(threads)
    out_shape = geometry.out_shape
    if out is not None:
        _check_out(out, out_shape, dtype)
    else:
        check_memory(prod(out_shape) * dtype.itemsize, f"the output of shape {out_shape}")

    compute_x = compute_array(x_array, dtype)
    result = out
    if result is None or np.may_share_memory(result, x_array) or np.may_share_memory(
            result, w_array) or (b_array is not None and np.may_share_memory(result, b_array)):
        result = np.empty(out_shape, dtype=dtype)
    target = result
    if not geometry.batched:
        compute_x = compute_x[np.newaxis]
        target = result[np.newaxis]
    if geometry.data_format == "channels_last":
        # the engine reads and writes through strides: (N, C, *spatial) views of the
        # (N, *spatial, C) arrays, no transposed copy
        compute_x = np.moveaxis(compute_x, -1, 1)
        target = np.moveaxis(target, -1, 1)
    check_choice(algorithm, "algorithm", ALGORITHMS)
    check_memory(prod(w_array.shape) * dtype.itemsize, "the weight in the compute dtype")
    compute_w = compute_array(w_array, dtype, contiguous=True)
    compute_b = None if b_array is None else compute_array(b_array, dtype, contiguous=True)

    if target.size == 0 or geometry.reduction_length == 0:
        # nothing to plan, but a forced algorithm is refused as plan() refuses it
        check_forced_algorithm(geometry, algorithm)
    if target.size == 0:
        return _returned(result, out)
    if geometry.reduction_length == 0:  # C_in == 0: an empty sum, plus the bias
        target[...] = 0 if compute_b is None else compute_b.reshape(
            (1, -1) + (1,) * geometry.ndim)
        return _returned(result, out)
    plan = cached_plan(geometry, dtype, threads=threads, algorithm=algorithm, flip=flip,
                       x_strides=_element_strides(compute_x),
                       out_strides=_element_strides(target), fold_batch=True)
    if plan.algorithm == "fft":
        from ._engine.fft import conv_fft
        conv_fft(compute_x, compute_w, compute_b, target, geometry, flip)
    elif plan.batch_fold:   # the images as the rows of one (a copy of x)
        direct.run(batch_folded(compute_x), compute_w, compute_b, batch_folded_view(target),
                   plan.records)
    else:
        direct.run(compute_x, compute_w, compute_b, target, plan.records)
    return _returned(result, out)


def _returned(result: FloatArray, out: FloatArray | None) -> FloatArray:
    """``out`` when the caller gave one (filled from ``result`` if that was computed
    aside because ``out`` overlapped an input), else ``result``."""
    if out is not None and result is not out:
        out[...] = result
        return out
    return result


@overload
def conv(x: Float32Array, weight: Float32Array,
         bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
         dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
         padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
         data_format: DataFormat = "channels_first", out: Float32Array | None = None,
         threads: int | None = None, algorithm: Algorithm = "auto") -> Float32Array: ...


@overload
def conv(x: Float64Array, weight: npt.ArrayLike,
         bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
         dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
         padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
         data_format: DataFormat = "channels_first", out: Float64Array | None = None,
         threads: int | None = None, algorithm: Algorithm = "auto") -> Float64Array: ...


@overload
def conv(x: npt.ArrayLike, weight: npt.ArrayLike,
         bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
         dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
         padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
         data_format: DataFormat = "channels_first", out: FloatArray | None = None,
         threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray: ...


@docfiller
def conv(x: npt.ArrayLike, weight: npt.ArrayLike,
         bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
         dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
         padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
         data_format: DataFormat = "channels_first", out: FloatArray | None = None,
         threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray:
    """N-d convolution (cross-correlation by default) of a batch of images.

    The number of spatial dims is taken from ``weight`` (``weight.ndim - 2``).

    Parameters
    ----------
    %(conv_parameters)s

    Returns
    -------
    %(conv_returns)s

    Raises
    ------
    %(conv_raises)s

    Notes
    -----
    %(conv_notes)s

    Examples
    --------
    Sobel-X on the 5x5 gradient image of the tutorial's worked example: rows of
    160, 240 and 320.

    >>> import numpy as np, pyconvx
    >>> image = np.array([[10, 20, 30, 40, 50], [20, 40, 60, 80, 100],
    ...                   [30, 60, 90, 120, 150], [40, 80, 120, 160, 200],
    ...                   [50, 100, 150, 200, 250]], dtype=np.float32)
    >>> sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    >>> pyconvx.conv(image[None, None], sobel_x[None, None])[0, 0]
    array([[160., 160., 160.],
           [240., 240., 240.],
           [320., 320., 320.]], dtype=float32)

    Cross-correlation against true convolution on a 1-d signal:

    >>> signal = np.array([[1., 2., 3., 4., 5.]])
    >>> kernel = np.array([[[1., 0., -1.]]])
    >>> pyconvx.conv(signal, kernel)
    array([[-2., -2., -2.]])
    >>> pyconvx.conv(signal, kernel, flip=True)
    array([[2., 2., 2.]])
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, out=out, threads=threads, algorithm=algorithm)


@overload
def conv1d(x: Float32Array, weight: Float32Array,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: Float32Array | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> Float32Array: ...


@overload
def conv1d(x: Float64Array, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: Float64Array | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> Float64Array: ...


@overload
def conv1d(x: npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: FloatArray | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray: ...


@docfiller
def conv1d(x: npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: FloatArray | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray:
    """1-d convolution: :func:`conv` with a check that there is 1 spatial dim.

    Same engine as :func:`conv`, so the results are identical.

    Parameters
    ----------
    %(conv_parameters)s

    Returns
    -------
    %(conv_returns)s

    Raises
    ------
    %(conv_raises)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> pyconvx.conv1d(np.array([[[1., 2., 3., 4., 5.]]]), np.array([[[1., 0., -1.]]]))
    array([[[-2., -2., -2.]]])
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, out=out, threads=threads, algorithm=algorithm,
                     ndim=1)


@overload
def conv2d(x: Float32Array, weight: Float32Array,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: Float32Array | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> Float32Array: ...


@overload
def conv2d(x: Float64Array, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: Float64Array | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> Float64Array: ...


@overload
def conv2d(x: npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: FloatArray | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray: ...


@docfiller
def conv2d(x: npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: FloatArray | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray:
    """2-d convolution: :func:`conv` with a check that there are 2 spatial dims.

    Same engine as :func:`conv`, so the results are identical.

    Parameters
    ----------
    %(conv_parameters)s

    Returns
    -------
    %(conv_returns)s

    Raises
    ------
    %(conv_raises)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3) + 1
    >>> pyconvx.conv2d(x, np.array([[[[1., 0.], [0., -1.]]]]))
    array([[[[-4., -4.],
             [-4., -4.]]]])
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, out=out, threads=threads, algorithm=algorithm,
                     ndim=2)


@overload
def conv3d(x: Float32Array, weight: Float32Array,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: Float32Array | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> Float32Array: ...


@overload
def conv3d(x: Float64Array, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: Float64Array | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> Float64Array: ...


@overload
def conv3d(x: npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: FloatArray | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray: ...


@docfiller
def conv3d(x: npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", out: FloatArray | None = None,
           threads: int | None = None, algorithm: Algorithm = "auto") -> FloatArray:
    """3-d convolution: :func:`conv` with a check that there are 3 spatial dims.

    Same engine as :func:`conv`, so the results are identical.

    Parameters
    ----------
    %(conv_parameters)s

    Returns
    -------
    %(conv_returns)s

    Raises
    ------
    %(conv_raises)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> x = np.ones((1, 2, 4, 4, 4), dtype=np.float32)
    >>> pyconvx.conv3d(x, np.ones((3, 2, 3, 3, 3), dtype=np.float32), padding=1).shape
    (1, 3, 4, 4, 4)
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, out=out, threads=threads, algorithm=algorithm,
                     ndim=3)
