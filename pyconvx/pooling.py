"""2-D max and average pooling with PyTorch's semantics.

``max_pool2d`` and ``avg_pool2d`` accept the arguments of
``torch.nn.functional.max_pool2d`` / ``avg_pool2d`` and give the same output
shapes and values: batched ``(N, C, H, W)`` or unbatched ``(C, H, W)`` input,
``stride=None`` meaning the kernel size, symmetric zero-based padding of at
most half the kernel, ``-inf`` padding for max pooling, and torch's
``ceil_mode`` rule (a last window is kept only if it starts inside the input
or the left padding).  This module validates and allocates; the arithmetic is
in the compiled ``pyconvx._engine.pooling`` (nogil, OpenMP over the N * C planes).
"""

import numpy as np

from ._engine import pooling as _pooling_engine
from ._normalize import (
    as_array,
    as_int_tuple,
    check_memory,
    check_size,
    compute_array,
    prod,
    resolve_threads,
    result_dtype,
)

__all__ = ["max_pool2d", "avg_pool2d", "pool_output_size"]

#: Window taps below which one more thread does not pay for itself.
_WORK_PER_THREAD = 1 << 16


def pool_output_size(size, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Output length of a pooling window along one dimension (torch's rule).

    ``floor_or_ceil((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``,
    less one in ``ceil_mode`` when the last window would start at or past
    ``size + padding`` (entirely in the right padding).

    Parameters
    ----------
    size, kernel_size, stride, padding, dilation : int
        Input length, window size, step, padding per side and tap spacing.
    ceil_mode : bool, optional
        Round up instead of down.

    Returns
    -------
    int
        May be < 1; the callers turn that into a ValueError.

    Examples
    --------
    >>> from pyconvx.pooling import pool_output_size
    >>> pool_output_size(5, 2, 2, 0)
    2
    >>> pool_output_size(5, 2, 2, 0, ceil_mode=True)
    3
    >>> pool_output_size(6, 3, 2, 1, ceil_mode=True)
    4
    """
    span = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if ceil_mode:
        length = -(-span // stride) + 1
        if (length - 1) * stride >= size + padding:
            length -= 1
    else:
        length = span // stride + 1
    return length


def _as_bool(value, name):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")


def _prepare(x, kernel_size, stride, padding, dilation, ceil_mode, threads, name):
    array = as_array(x, "x")
    if array.ndim not in (3, 4):
        raise ValueError(
            f"x must have shape (N, C, H, W) or unbatched (C, H, W), got shape {array.shape}"
        )
    kernel = as_int_tuple(kernel_size, "kernel_size", 2, 1)
    step = kernel if stride is None else as_int_tuple(stride, "stride", 2, 1)
    pads = as_int_tuple(padding, "padding", 2, 0)
    spacing = as_int_tuple(dilation, "dilation", 2, 1)
    ceil_mode = _as_bool(ceil_mode, "ceil_mode")
    count = resolve_threads(threads)
    for pad, size in zip(pads, kernel):
        if pad > size // 2:
            raise ValueError(
                f"padding must be at most half of kernel_size, got padding={padding!r} "
                f"for kernel_size={kernel_size!r}"
            )
    in_h, in_w = array.shape[-2:]
    if in_h == 0 or in_w == 0:
        raise ValueError(f"the spatial input must not be empty, got x shape {array.shape}")
    out_spatial = tuple(
        pool_output_size(size, k, s, p, d, ceil_mode)
        for size, k, s, p, d in zip((in_h, in_w), kernel, step, pads, spacing)
    )
    if min(out_spatial) < 1:
        raise ValueError(
            f"{name}: the output would be empty: input size {(in_h, in_w)}, "
            f"kernel_size={kernel}, stride={step}, padding={pads}, dilation={spacing} "
            f"give output size {out_spatial}"
        )
    dtype = result_dtype((array.dtype, "x"))
    planes = prod(array.shape[:-2])
    check_size(planes * prod(out_spatial), "the output")
    check_memory(planes * prod(out_spatial) * dtype.itemsize, f"the {name} output")
    source = compute_array(array.reshape((planes, in_h, in_w)), dtype, contiguous=True)
    out = np.empty((planes,) + out_spatial, dtype=dtype)
    shape = array.shape[:-2] + out_spatial
    # Waking a thread team costs more than a small pooling: use at most one
    # thread per _WORK_PER_THREAD window taps (results do not depend on it).
    work = planes * prod(out_spatial) * prod(kernel)
    count = max(1, min(count, planes, work // _WORK_PER_THREAD + 1))
    return source, out, shape, kernel, step, pads, spacing, count


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, threads=None):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``; float32 stays float32,
        float64, integer and bool inputs give float64.
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int) or None, optional
        Step between windows; None means ``kernel_size``.
    padding : int or (int, int), optional
        Implicit ``-inf`` padding on both sides, at most ``kernel_size // 2``.
    dilation : int or (int, int), optional
        Spacing between window taps.
    ceil_mode : bool, optional
        Round the output size up (keeping only windows that start inside the
        input or the left padding).
    threads : int or None, optional
        Most OpenMP threads to use (None: ``OMP_NUM_THREADS`` or the usable
        cores); small problems use fewer.  Results do not depend on it.

    Returns
    -------
    numpy.ndarray
        ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)``.  NaN in a window
        gives NaN, as in torch.

    Raises
    ------
    TypeError
        For non-int sizes, a non-bool ``ceil_mode`` or an unsupported dtype.
    ValueError
        For a wrong rank, sizes out of range, padding above half the kernel,
        an empty spatial input or an empty output.
    MemoryError
        When the output cannot fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> pyconvx.max_pool2d(x, 2)
    array([[[ 5.,  7.],
            [13., 15.]]])
    >>> pyconvx.max_pool2d(np.arange(25.0).reshape(1, 5, 5), 2, ceil_mode=True).shape
    (1, 3, 3)
    """
    source, out, shape, kernel, step, pads, spacing, count = _prepare(
        x, kernel_size, stride, padding, dilation, ceil_mode, threads, "max_pool2d"
    )
    status = _pooling_engine.max_pool2d_planes(
        source, out, kernel[0], kernel[1], step[0], step[1], pads[0], pads[1],
        spacing[0], spacing[1], count,
    )
    if status != 0:
        raise RuntimeError(f"max_pool2d core failed with status {status}")
    return out.reshape(shape)


def avg_pool2d(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, *, threads=None
):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    x : array_like
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``; float32 stays float32,
        float64, integer and bool inputs give float64.
    kernel_size : int or (int, int)
        Window size.
    stride : int or (int, int) or None, optional
        Step between windows; None means ``kernel_size``.
    padding : int or (int, int), optional
        Implicit zero padding on both sides, at most ``kernel_size // 2``.
    ceil_mode : bool, optional
        Round the output size up (torch's rule).
    count_include_pad : bool, optional
        Divide by the window size including padded cells (torch's default)
        or by the number of input cells only.  A ``ceil_mode`` window hanging
        past the padded input is divided by its clipped size, as in torch.
    threads : int or None, optional
        Most OpenMP threads to use (None: ``OMP_NUM_THREADS`` or the usable
        cores); small problems use fewer.  Results do not depend on it.

    Returns
    -------
    numpy.ndarray
        ``(N, C, H_out, W_out)`` or ``(C, H_out, W_out)``.

    Raises
    ------
    TypeError
        For non-int sizes, non-bool flags or an unsupported dtype.
    ValueError
        For a wrong rank, sizes out of range, padding above half the kernel,
        an empty spatial input or an empty output.
    MemoryError
        When the output cannot fit in memory.

    Examples
    --------
    >>> import numpy as np
    >>> import pyconvx
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> pyconvx.avg_pool2d(x, 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    >>> pyconvx.avg_pool2d(np.ones((1, 2, 2)), 3, stride=1, padding=1)[0, 0, 0]
    np.float64(0.4444444444444444)
    """
    include_pad = _as_bool(count_include_pad, "count_include_pad")
    source, out, shape, kernel, step, pads, _, count = _prepare(
        x, kernel_size, stride, padding, 1, ceil_mode, threads, "avg_pool2d"
    )
    status = _pooling_engine.avg_pool2d_planes(
        source, out, kernel[0], kernel[1], step[0], step[1], pads[0], pads[1],
        include_pad, count,
    )
    if status != 0:
        raise RuntimeError(f"avg_pool2d core failed with status {status}")
    return out.reshape(shape)
