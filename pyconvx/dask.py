"""Convolution of chunked dask arrays: lazy, block by block, the same bits as in memory.

``pyconvx.dask.conv`` (and ``conv1d``, ``conv2d``, ``conv3d``) takes the
arguments of :func:`pyconvx.conv` with a ``dask.array.Array`` input and
returns a lazy ``dask.array.Array``; dask's schedulers (threads, processes,
``dask.distributed``) run it.  pyconvx adds no scheduler of its own: every
block of the result is one ordinary :func:`pyconvx.conv` call.

* The batch axis may be chunked any way and needs no halo.
* The channel axis must be one chunk (it is rechunked, with a warning).
* A chunked spatial axis is overlapped with its exact halo
  (``pyconvx._blocks``: kernel reach, dilation, stride and padding; possibly
  asymmetric; chunk starts aligned to the stride), without any dask
  ``boundary``: the true ends of the array are padded by the call's own
  padding mode, so ``reflect``, ``symmetric``, ``replicate`` and
  ``constant`` borders hold exactly the whole array's values, and a
  chunked ``circular`` axis is first extended with its periodic data.
  Chunks smaller than the halo, uneven chunks and chunk starts off the
  stride are merged where a rule needs it: never a wrong answer.
* Every block computes with the microkernel the in-memory call would use
  on the whole array, so the result is bitwise equal to
  ``pyconvx.conv(x.compute(), ...)`` for every chunking (on machines of the
  same SIMD level).

Threads: each task computes with ``threads=1`` unless ``threads=`` says
otherwise, because dask already runs one task per thread of its threaded
scheduler, or per thread of a ``dask.distributed`` worker (``nthreads``):
the total is tasks at once x ``threads``, and the default never asks for
more threads than dask gives.

Install with ``pip install 'pyconvx[dask]'``.
"""

import math
import warnings

try:
    import dask
    import dask.array as da
except ImportError as exc:  # say how to get it, not just that it is missing
    raise ImportError(
        "pyconvx.dask needs dask (its array module): install it with "
        "pip install 'pyconvx[dask]' (or pip install 'dask[array]')"
    ) from exc

import numpy as np

from ._blocks import split_axis
from ._docstrings import DOCS, docfiller
from ._engine.plan import ALGORITHMS, make_plan
from ._normalize import as_array, as_int, check_choice, result_dtype
from .conv import conv as conv_in_memory
from .shapes import describe_conv

__all__ = ["conv", "conv1d", "conv2d", "conv3d"]

# The batch axis of the (batched) input and result; the channel and spatial
# axes follow data_format (see _axes).
BATCH_AXIS = 0


def _axes(data_format, ndim):
    """The channel axis and the spatial axes of a batched array in ``data_format``."""
    if data_format == "channels_last":
        return ndim + 1, tuple(range(1, ndim + 1))
    return 1, tuple(range(2, ndim + 2))


# The argument texts that differ from pyconvx.conv's join the shared table.
DOCS.update({
    "dask_x": """\
x : dask.array.Array or array_like
    Input ``(N, C_in, *spatial)``, or unbatched ``(C_in, *spatial)`` (the
    channel axis last with ``data_format="channels_last"``); any chunking of
    the batch and spatial axes (chunk sizes must be known).  An in-memory
    array becomes a one-chunk dask array.""",
    "dask_weight": """\
weight : array_like
    ``(C_out, C_in / groups, *kernel)``, in memory (sent once to the
    workers, not once per block).""",
    "dask_bias": """\
bias : array_like, optional
    ``(C_out,)``, in memory, added to every output.""",
    "dask_threads": """\
threads : int, optional
    Threads each task computes with; None (the default) means 1, since dask
    already runs as many tasks at once as its scheduler or worker has
    threads.  Results are bitwise identical for every count.""",
    "dask_algorithm": """\
algorithm : str, optional
    One of "auto", "fast", "direct", "gemm", "row", "rowblock", "depthwise",
    "winograd", as for :func:`pyconvx.conv`: the plan of the whole problem
    picks the microkernel (or Winograd) and every block runs that one.
    ``"fft"`` is refused: its rounding depends on the block's size.""",
    "dask_returns": """\
dask.array.Array
    Lazy, ``(N, C_out, *out_spatial)`` (or unbatched, or channels last, like
    ``x``), float32 if x and weight are float32, else float64; chunked like
    ``x`` along the batch axis, one chunk along the channels.""",
    "dask_raises": """\
TypeError, ValueError, MemoryError
    As :func:`pyconvx.conv` would for the whole array, when the graph is
    built; ``algorithm="fft"``, and unknown chunk sizes, are ValueErrors.""",
})
# Parameters, Returns and Raises of conv and conv1d/2d/3d, in one piece.
DOCS["dask_conv_sections"] = "\n".join([
    "Parameters", "----------",
    *(DOCS[name] for name in ("dask_x", "dask_weight", "dask_bias", "stride", "padding",
                              "dilation", "groups", "flip", "padding_mode", "padding_value",
                              "data_format", "dask_threads", "dask_algorithm")),
    "", "Returns", "-------", DOCS["dask_returns"],
    "", "Raises", "------", DOCS["dask_raises"]])


def _periodic_extension(x, axis, pads):
    """``x`` with the circular padding ``pads`` of ``axis`` made explicit."""
    lo, hi = pads
    size = x.shape[axis]
    pieces = []
    if lo:
        pieces.append(x[(slice(None),) * axis + (slice(size - lo, size),)])
    pieces.append(x)
    if hi:
        pieces.append(x[(slice(None),) * axis + (slice(0, hi),)])
    return da.concatenate(pieces, axis=axis)


def _block_algorithm(geometry, dtype, algorithm, flip):
    """The ``algorithm=`` every block is forced onto: the microkernel the plan of the
    whole problem picks (a block's own plan may pick another, summing in another
    order)."""
    check_choice(algorithm, "algorithm", ALGORITHMS)
    if algorithm == "fft":
        raise ValueError("algorithm='fft' is not available in pyconvx.dask: the FFT's "
                         "rounding depends on the size of each block, so its blocks could "
                         "not give the bits of the whole array's result; use 'auto'")
    if geometry.reduction_length == 0 or 0 in geometry.out_shape:
        return algorithm
    whole = make_plan(geometry, dtype, threads=1, algorithm=algorithm, flip=flip)
    return "winograd" if whole.algorithm == "winograd" else whole.microkernel


def _conv_block(block, *, weight, bias, windows, spatial_axes, conv_kwargs, block_id):
    """One block of the result: ``pyconvx.conv`` on the block's window, padded at
    the array's true edges."""
    index = [slice(None)] * block.ndim
    padding = []
    for axis, axis_windows in zip(spatial_axes, windows):
        stop, pad_low, pad_high = axis_windows[block_id[axis]]
        index[axis] = slice(0, stop)
        padding.append((pad_low, pad_high))
    return conv_in_memory(block[tuple(index)], weight, bias, padding=tuple(padding),
                          **conv_kwargs)


def conv_impl(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
              padding_mode="zeros", padding_value=0.0, data_format="channels_first",
              threads=None, algorithm="auto", ndim=None):
    """The shared implementation of conv and conv1d/2d/3d (``ndim`` fixes the rank)."""
    if not isinstance(x, da.Array):
        x = da.asarray(as_array(x, "x"))
    weight = as_array(weight, "weight")
    if bias is not None:
        bias = as_array(bias, "bias")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")
    if any(math.isnan(size) for sizes in x.chunks for size in sizes):
        raise ValueError(f"x has unknown chunk sizes {x.chunks}; call "
                         "x.compute_chunk_sizes() first")
    geometry = describe_conv(
        x.shape, weight.shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups, padding_mode=padding_mode, padding_value=padding_value,
        data_format=data_format, bias_shape=None if bias is None else bias.shape, ndim=ndim)
    dtype = result_dtype((x.dtype, "x"), (weight.dtype, "weight"))
    threads = 1 if threads is None else as_int(threads, "threads")
    if threads < 1:
        raise ValueError(f"threads must be >= 1 or None, got {threads!r}")
    block_algorithm = _block_algorithm(geometry, dtype, algorithm, flip)

    if not geometry.batched:
        x = x[np.newaxis]
    channel_axis, spatial_axes = _axes(geometry.data_format, geometry.ndim)
    if len(x.chunks[channel_axis]) > 1:
        warnings.warn(f"x is chunked along its channel axis {x.chunks[channel_axis]}; "
                      "pyconvx.dask needs whole channels and rechunks it to one chunk",
                      stacklevel=3)
        x = x.rechunk({channel_axis: -1})
    splits = []
    for i, axis in enumerate(spatial_axes):
        pads = geometry.pads[i]
        if padding_mode == "circular" and any(pads) and len(x.chunks[axis]) > 1:
            x = _periodic_extension(x, axis, pads)
            pads = (0, 0)
        splits.append(split_axis(
            x.shape[axis], geometry.kernel[i], geometry.stride[i], geometry.dilation[i],
            pads, padding_mode, x.chunks[axis], geometry.out_spatial[i],
            out_align=2 if block_algorithm == "winograd" else 1))
    wanted = {axis: s.input_chunks for axis, s in zip(spatial_axes, splits)}
    if any(x.chunks[axis] != chunks for axis, chunks in wanted.items()):
        x = x.rechunk(wanted)
    overlapped = da.overlap.overlap(
        x, depth={axis: s.depth for axis, s in zip(spatial_axes, splits)},
        boundary="none", allow_rechunk=False)

    conv_kwargs = dict(stride=geometry.stride, dilation=geometry.dilation, groups=groups,
                       flip=bool(flip), padding_mode=padding_mode,
                       padding_value=geometry.padding_value,
                       data_format=geometry.data_format, threads=threads,
                       algorithm=block_algorithm)
    out_chunks = [x.chunks[BATCH_AXIS]] + [None] * (geometry.ndim + 1)
    out_chunks[channel_axis] = (geometry.out_channels,)
    for axis, split in zip(spatial_axes, splits):
        out_chunks[axis] = split.output_chunks
    result = da.map_blocks(
        _conv_block, overlapped, chunks=tuple(out_chunks), dtype=dtype,
        meta=np.empty((0,) * len(out_chunks), dtype=dtype), token="pyconvx-conv",
        weight=dask.delayed(weight, pure=True),
        bias=None if bias is None else dask.delayed(bias, pure=True),
        windows=tuple(s.windows for s in splits), spatial_axes=spatial_axes,
        conv_kwargs=conv_kwargs)
    return result if geometry.batched else result[0]


@docfiller
def conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
         padding_mode="zeros", padding_value=0.0, data_format="channels_first", threads=None,
         algorithm="auto"):
    """N-d convolution of a chunked dask array: :func:`pyconvx.conv`, lazily, per block.

    The number of spatial dims is taken from ``weight`` (``weight.ndim - 2``).
    The result is bitwise equal to ``pyconvx.conv`` on the whole array, for
    every chunking.

    %(dask_conv_sections)s

    Notes
    -----
    The module's introduction says how the array is cut: halos, the array's
    edges, chunk rules and threads.  There is no ``out=``: store the lazy
    result with ``dask.array.store`` or ``to_zarr``.

    Examples
    --------
    A 2-d image in 4 x 3 chunks, a 5x5 blur with reflected borders:

    >>> import dask.array as da, numpy as np, pyconvx, pyconvx.dask
    >>> image = np.random.default_rng(0).random((1, 1, 64, 48))
    >>> chunked = da.from_array(image, chunks=(1, 1, 16, 16))
    >>> blur = np.full((1, 1, 5, 5), 1 / 25)
    >>> lazy = pyconvx.dask.conv(chunked, blur, padding=2, padding_mode="reflect")
    >>> lazy.chunks[2:]
    ((16, 16, 16, 16), (16, 16, 16))
    >>> result = lazy.compute()
    >>> expected = pyconvx.conv(image, blur, padding=2, padding_mode="reflect")
    >>> result.tobytes() == expected.tobytes()
    True
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, threads=threads, algorithm=algorithm)


@docfiller
def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
           padding_mode="zeros", padding_value=0.0, data_format="channels_first", threads=None,
           algorithm="auto"):
    """1-d convolution of a dask array: :func:`conv` with a check that there is 1 spatial dim.

    %(dask_conv_sections)s

    Examples
    --------
    >>> import dask.array as da, numpy as np, pyconvx.dask
    >>> signal = da.arange(12.0, chunks=5).reshape(1, 1, 12)
    >>> pyconvx.dask.conv1d(signal, np.array([[[1.0, 0.0, -1.0]]])).compute()
    array([[[-2., -2., -2., -2., -2., -2., -2., -2., -2., -2.]]])
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, threads=threads, algorithm=algorithm, ndim=1)


@docfiller
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
           padding_mode="zeros", padding_value=0.0, data_format="channels_first", threads=None,
           algorithm="auto"):
    """2-d convolution of a dask array: :func:`conv` with a check that there are 2 spatial dims.

    %(dask_conv_sections)s

    Examples
    --------
    A batch of 8 images chunked two by two: no halo, one task per chunk.

    >>> import dask.array as da, numpy as np, pyconvx.dask
    >>> images = da.ones((8, 3, 32, 32), chunks=(2, 3, 32, 32), dtype=np.float32)
    >>> weight = np.ones((4, 3, 3, 3), dtype=np.float32)
    >>> lazy = pyconvx.dask.conv2d(images, weight, padding=1, stride=2)
    >>> lazy.shape, lazy.numblocks
    ((8, 4, 16, 16), (4, 1, 1, 1))
    >>> float(lazy[0, 0, 5, 5].compute())
    27.0
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, threads=threads, algorithm=algorithm, ndim=2)


@docfiller
def conv3d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, flip=False,
           padding_mode="zeros", padding_value=0.0, data_format="channels_first", threads=None,
           algorithm="auto"):
    """3-d convolution of a dask array: :func:`conv` with a check that there are 3 spatial dims.

    %(dask_conv_sections)s

    Examples
    --------
    >>> import dask.array as da, numpy as np, pyconvx.dask
    >>> volume = da.ones((1, 1, 20, 20, 20), chunks=(1, 1, 10, 10, 20))
    >>> lazy = pyconvx.dask.conv3d(volume, np.ones((1, 1, 3, 3, 3)), padding=1,
    ...                            padding_mode="replicate")
    >>> float(lazy.min().compute()), float(lazy.max().compute())
    (27.0, 27.0)
    """
    return conv_impl(x, weight, bias, stride, padding, dilation, groups, flip=flip,
                     padding_mode=padding_mode, padding_value=padding_value,
                     data_format=data_format, threads=threads, algorithm=algorithm, ndim=3)
