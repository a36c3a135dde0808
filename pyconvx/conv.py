"""conv, conv1d, conv2d, conv3d: the public face of the engine.

This layer validates (through ``shapes.describe_conv`` and ``_normalize``),
applies the dtype rule, allocates the output, asks the planner
(``pyconvx._engine.plan``) how to compute, and hands canonical buffers and
the frozen plan to the compiled engine.  It does no arithmetic on
array data itself.
"""

import numpy as np

from ._normalize import (as_array, check_memory, compute_array, prod, resolve_threads,
                         result_dtype)
from ._engine import direct
from ._engine.plan import cached_plan
from .shapes import describe_conv

__all__ = ["conv", "conv1d", "conv2d", "conv3d"]

_DOC_PARAMETERS = """
    Parameters
    ----------
    x : array_like
        Input ``(N, C_in, *spatial)``, or unbatched ``(C_in, *spatial)`` (the
        result is then unbatched too).  Any memory layout is accepted.
    weight : array_like
        ``(C_out, C_in / groups, *kernel)``.
    bias : array_like, optional
        ``(C_out,)``, cast to the result dtype, added to every output.
    stride : int or tuple of int, optional
        Step between windows, per spatial dim (>= 1).
    padding : int, tuple or str, optional
        An int (both sides of every dim); one int per dim; one ``(low, high)``
        pair per dim; ``"valid"`` (none); ``"same"`` (output size
        ``ceil(size / stride)``, the odd extra on the high side as in
        TensorFlow); ``"full"`` (``dilation * (k - 1)`` on both sides).
    dilation : int or tuple of int, optional
        Spacing between kernel taps (>= 1).
    groups : int, optional
        Split channels into this many independent groups; ``groups == C_in``
        is depthwise.  Must divide C_in and C_out.
    flip : bool, optional
        False (default): cross-correlation, ``out[i] = sum_m x[i*s + m*d] w[m]``,
        what PyTorch and TensorFlow call convolution.  True: true (signal
        processing) convolution, the kernel rotated 180 degrees over every
        spatial axis before sliding.
    padding_mode : {"zeros", "reflect", "replicate", "circular"}, optional
        What the padded border holds, with PyTorch's meaning.  ``reflect``
        needs padding < the input size, ``circular`` padding <= the input size.
    out : ndarray, optional
        Preallocated result: exact shape, result dtype, C-contiguous,
        writeable.  It may overlap an input.
    threads : int, optional
        Threads to use; None means OMP_NUM_THREADS if set, else the cores this
        process may use.  Results are bitwise identical for every count.
    algorithm : {"auto", "direct", "gemm", "row", "rowblock", "depthwise", "winograd", "fft"}, optional
        Override the plan's choice (see :func:`pyconvx.plan`).  ``"direct"``
        is direct summation with the plan's microkernel (never Winograd); ``"gemm"``,
        ``"row"``, ``"rowblock"`` and ``"depthwise"`` force one, ``"winograd"`` the
        F(2x2,3x3) path (``"rowblock"``, ``"depthwise"`` and ``"winograd"``
        raise ValueError for problems they cannot take); all give the same
        results up to rounding.
        ``"fft"`` is exact only to the FFT's rounding (about 1e-15 of the
        largest output in float64, 1e-6 in float32) and is never chosen by
        ``"auto"``.

    Returns
    -------
    ndarray
        ``(N, C_out, *out_spatial)`` or ``(C_out, *out_spatial)``; float32 if
        x and weight are float32, else float64.

    Raises
    ------
    TypeError
        Wrong argument types or unsupported dtypes (float16, complex, object...).
    ValueError
        Wrong shapes or values; the message names the parameter and the value.
    MemoryError
        When the output or the workspace cannot be had (checked before
        anything is allocated).

    Notes
    -----
    Padded taps hold what ``padding_mode`` says (zeros by default) and are
    multiplied like any other tap, so a NaN or Inf in the weight reaches every
    output, and an Inf input next to a zero weight gives NaN (IEEE 0 * Inf),
    exactly as the plain definition does.  A NaN or Inf in the input reaches
    only the outputs whose receptive field holds it.
"""


def _check_out(out, shape, dtype):
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


def conv_impl(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
              padding_mode="zeros", out=None, threads=None, algorithm="auto", ndim=None):
    """The shared implementation of conv and conv1d/2d/3d (``ndim`` fixes the rank)."""
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    if bias is not None:
        bias = as_array(bias, "bias")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")
    geometry = describe_conv(
        x.shape, weight.shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups, padding_mode=padding_mode,
        bias_shape=None if bias is None else bias.shape, ndim=ndim,
    )
    dtype = result_dtype((x.dtype, "x"), (weight.dtype, "weight"))
    threads = resolve_threads(threads)
    out_shape = geometry.out_shape
    if out is not None:
        _check_out(out, out_shape, dtype)
    else:
        check_memory(prod(out_shape) * dtype.itemsize, f"the output of shape {out_shape}")

    compute_x = compute_array(x, dtype)
    if not geometry.batched:
        compute_x = compute_x[np.newaxis]
    x_strides = [s // compute_x.itemsize for s in compute_x.strides]
    plan = cached_plan(geometry, dtype, threads=threads, algorithm=algorithm, flip=flip,
                       x_strides=x_strides)

    result = out
    if result is None or np.may_share_memory(result, x) or np.may_share_memory(
            result, weight) or (bias is not None and np.may_share_memory(result, bias)):
        result = np.empty(out_shape, dtype=dtype)
    target = result if geometry.batched else result[np.newaxis]
    compute_w = compute_array(weight, dtype, contiguous=True)
    compute_b = None if bias is None else compute_array(bias, dtype, contiguous=True)

    if target.size == 0:
        pass
    elif geometry.reduction_length == 0:  # C_in == 0: an empty sum, plus the bias
        target[...] = 0 if compute_b is None else compute_b.reshape(
            (1, -1) + (1,) * geometry.ndim)
    elif plan.algorithm == "fft":
        from ._engine.fft import conv_fft
        conv_fft(compute_x, compute_w, compute_b, target, geometry, flip)
    else:
        direct.run(compute_x, compute_w, compute_b, target, plan.record)
    if out is not None and result is not out:
        out[...] = result
        return out
    return result


def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
         padding_mode="zeros", out=None, threads=None, algorithm="auto"):
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, out=out, threads=threads,
                     algorithm=algorithm)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
           padding_mode="zeros", out=None, threads=None, algorithm="auto"):
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, out=out, threads=threads,
                     algorithm=algorithm, ndim=1)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
           padding_mode="zeros", out=None, threads=None, algorithm="auto"):
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, out=out, threads=threads,
                     algorithm=algorithm, ndim=2)


def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
           padding_mode="zeros", out=None, threads=None, algorithm="auto"):
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, out=out, threads=threads,
                     algorithm=algorithm, ndim=3)


conv.__doc__ = """N-d convolution (cross-correlation by default) of a batch of images.

    The number of spatial dims is taken from ``weight`` (``weight.ndim - 2``).
""" + _DOC_PARAMETERS + """
    Examples
    --------
    The seeds' Sobel-X example: a 5x5 gradient image, rows of 160/240/320.

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

for _rank, _func in ((1, conv1d), (2, conv2d), (3, conv3d)):
    _func.__doc__ = f"""{_rank}-d convolution: :func:`conv` with a check that there are {_rank} spatial dims.

    Same engine as :func:`conv`, so the results are identical.
""" + _DOC_PARAMETERS + {
        1: """
    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> pyconvx.conv1d(np.array([[[1., 2., 3., 4., 5.]]]), np.array([[[1., 0., -1.]]]))
    array([[[-2., -2., -2.]]])
""",
        2: """
    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3) + 1
    >>> pyconvx.conv2d(x, np.array([[[[1., 0.], [0., -1.]]]]))
    array([[[[-4., -4.],
             [-4., -4.]]]])
""",
        3: """
    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> x = np.ones((1, 2, 4, 4, 4), dtype=np.float32)
    >>> pyconvx.conv3d(x, np.ones((3, 2, 3, 3, 3), dtype=np.float32), padding=1).shape
    (1, 3, 4, 4, 4)
""",
    }[_rank]
