"""Convolution and filters of chunked dask arrays: lazy, block by block, the same bits as in memory.

``pyconvx.dask.conv`` (and ``conv1d``, ``conv2d``, ``conv3d``) takes the
arguments of :func:`pyconvx.conv` with a ``dask.array.Array`` input and
returns a lazy ``dask.array.Array``; ``correlate``, ``convolve``,
``gaussian_filter``, ``uniform_filter`` and ``sobel`` do the same for their
:mod:`pyconvx.ndimage` namesakes.  dask's schedulers (threads, processes,
``dask.distributed``) run them.  pyconvx adds no scheduler of its own: every
block of the result is ordinary :func:`pyconvx.conv` (or
:mod:`pyconvx.ndimage`) calls on bands of one chunk and its neighbours'
edges.  No overlapped block is stored: one task per chunk copies out the
edges it lends, and a chunk made by a short chain of its own tasks is
computed by the tasks that read it, so that it never waits in memory for its
neighbours.

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

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union, cast

try:
    import dask.array as da
    import dask.core
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
    from dask.local import get_sync
except ImportError as exc:  # say how to get it, not just that it is missing
    raise ImportError(
        "pyconvx.dask needs dask (its array module): install it with "
        "pip install 'pyconvx[dask]' (or pip install 'dask[array]')"
    ) from exc

import numpy as np
import numpy.typing as npt

from . import ndimage
from ._blocks import AxisSplit, bands, conv_window, edge_need, filter_window, split_axis
from ._boundary import padding_limit
from ._docstrings import DOCS, docfiller
from ._engine.plan import ALGORITHMS, make_plan
from ._ndimage_core import block_of, kernel_in, one_conv_microkernel, origin_pads
from ._ndimage_support import check_axes, expand_to_rank, normalize_sequence, padding_mode
from ._normalize import as_array, as_int, check_choice, result_dtype
from ._typing import (
    Algorithm,
    DataFormat,
    IntArg,
    IntTuple,
    PaddingArg,
    PaddingMode,
    RealNumber,
)
from .conv import conv as conv_in_memory
from .kernels import _gaussian_radius
from .shapes import ConvGeometry, describe_conv

if TYPE_CHECKING:
    from dask.typing import DaskCollection, Key

__all__ = ["conv", "conv1d", "conv2d", "conv3d", "convolve", "correlate", "gaussian_filter",
           "sobel", "uniform_filter"]

# The batch axis of the (batched) input and result; the channel and spatial
# axes follow data_format (see _axes).
BATCH_AXIS = 0

#: Spatial axis ``k`` of a convolution as a block reads it: ``(size, stride,
#: ext, (low, high), need)`` (see :func:`_conv_block`).
_Reach = tuple[int, int, int, tuple[int, int], tuple[int, int]]

#: What computes one block of a result from its overlapped input block (see
#: :func:`_halo_map`).
_BlockFunction = Callable[..., Union[npt.NDArray[Any], None]]

#: A :mod:`pyconvx.ndimage` function with its arguments bound but the array.
_Filter = Callable[..., npt.NDArray[Any]]

#: An int for every axis (or filtered axis) of a filter, or one per axis.
_Ints = Union[IntArg, Sequence[IntArg]]

#: ``cval`` of a filter: a real number, or a complex one for complex data.
_Scalar = Union[RealNumber, complex]


def _axes(data_format: DataFormat, ndim: int) -> tuple[int, tuple[int, ...]]:
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
    One of "auto", "fast", "direct", "gemm", "cgemm", "row", "rowblock",
    "depthwise", "winograd", as for :func:`pyconvx.conv`: the plan of the whole problem
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


def _periodic_extension(x: da.Array, axis: int, pads: tuple[int, int]) -> da.Array:
    """``x`` with the circular padding ``pads`` of ``axis`` made explicit."""
    lo, hi = pads
    size = x.shape[axis]
    pieces = []
    if lo:
        pieces.append(x[(slice(None),) * axis + (slice(size - lo, size),)])
    pieces.append(x)
    if hi:
        pieces.append(x[(slice(None),) * axis + (slice(0, hi),)])
    extended: da.Array = da.concatenate(pieces, axis=axis)
    return extended


def _block_algorithm(geometry: ConvGeometry, dtype: np.dtype[Any], algorithm: Algorithm,
                     flip: bool) -> Algorithm:
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
    # the plan of a direct convolution names its microkernel, an algorithm conv can force
    return "winograd" if whole.algorithm == "winograd" else cast(Algorithm, whole.microkernel)


# ----------------------------------------------------------------------------- the graph
def _edges_of(chunk: npt.NDArray[Any], depths: Sequence[tuple[int, int]],
              wanted: Iterable[tuple[int, ...]]) -> dict[tuple[int, ...], npt.NDArray[Any]]:
    """Copies of the parts of ``chunk`` its neighbours read, keyed by direction.

    ``wanted`` lists the directions (a -1/0/1 step per axis, towards the
    neighbour that reads the part).  A step -1 along an axis takes the first
    ``right`` samples (the halo the previous chunk reads), +1 the last
    ``left``.  Copies, not views: a view would keep the whole chunk in memory
    until every neighbour has run.
    """
    edges = {}
    for step in wanted:
        part: list[slice] = []
        for size, (left, right), move in zip(chunk.shape, depths, step):
            part.append(slice(0, right) if move == -1 else
                        slice(size - left, size) if move == 1 else slice(None))
        edges[step] = np.array(chunk[tuple(part)], order="C", copy=True)
    return edges


class _HaloBlock:
    """One chunk of the input and the edges of its neighbours, as one overlapped block.

    The overlapped block is never assembled whole: :meth:`region` copies the
    part a band of outputs reads, into one buffer that every band of the
    block reuses.  A fresh buffer per band would cost as much as the
    filtering in a ``dask.distributed`` worker: the worker sets
    ``MALLOC_TRIM_THRESHOLD_``, which turns off glibc's adaptive mmap
    threshold, so every buffer over 128 KiB is mapped afresh and faults in
    page by page.  ``shape`` is the overlapped block's, ``low`` the halo
    samples it holds before the chunk's own, per axis.
    """

    def __init__(self, pieces: Sequence[tuple[npt.NDArray[Any], Sequence[int]]],
                 low: Sequence[int], shape: Sequence[int], dtype: np.dtype[Any]) -> None:
        self.pieces = pieces
        self.low = low
        self.shape = shape
        self.dtype = dtype
        self._buffer: npt.NDArray[Any] = np.empty(0, dtype=dtype)

    def region(self, starts: Sequence[int], stops: Sequence[int]) -> npt.NDArray[Any]:
        """A C-contiguous copy of ``[starts, stops)`` of the overlapped block.

        The copy lives in the block's buffer: the next call overwrites it.
        """
        shape = [stop - start for start, stop in zip(starts, stops)]
        size = math.prod(shape)
        if size > self._buffer.size:
            self._buffer = np.empty(size, dtype=self.dtype)
        out = self._buffer[:size].reshape(shape)
        for piece, offset in self.pieces:
            low = [max(a, o) for a, o in zip(starts, offset)]
            high = [min(b, o + n) for b, o, n in zip(stops, offset, piece.shape)]
            if all(lo < hi for lo, hi in zip(low, high)):
                out[tuple(slice(lo - a, hi - a) for lo, hi, a in zip(low, high, starts))] = (
                    piece[tuple(slice(lo - o, hi - o) for lo, hi, o in zip(low, high, offset))])
        return out


#: The longest chain of tasks behind a chunk of the input that a block's task
#: runs itself (see _chunk_readers): reading or generating a chunk, then
#: perhaps a cast, a reshape or a slice.
CHAIN_TASKS = 4


class _ChunkReader:
    """The tasks that compute one chunk of the input, run inside another task.

    ``graph`` holds the chain of tasks, ``key`` is the chunk's; ``inputs``
    are the keys of the shared data the chain reads (an array the chunks are
    sliced from), passed to the call as values.
    """

    def __init__(self, graph: Mapping[Key, Any], key: Key, inputs: tuple[Key, ...]) -> None:
        self.graph = graph
        self.key = key
        self.inputs = inputs

    def __call__(self, *values: Any) -> Any:
        graph = dict(self.graph)
        graph.update(zip(self.inputs, values))
        return get_sync(graph, self.key)


def _chunk_readers(x: da.Array) -> dict[tuple[int, ...], tuple[Any, ...]] | None:
    """Per chunk index of ``x``, a task that computes the chunk inside the task using it.

    None when a chunk is stored data (a persisted or in-memory array: its
    blocks and edges read it as it is) or comes from more than a short chain
    of its own (``CHAIN_TASKS`` tasks with one dependency each; a task shared
    with other chunks is read as it is, not run again).  Otherwise each block
    of the result computes its own chunk, and the task that copies out the
    edges a chunk lends its neighbours computes the chunk once more: no chunk
    waits in memory for its neighbours.  Dask's tasks are pure, so running
    one twice gives the same data.
    """
    graph = dict(x.__dask_graph__())
    dependents: dict[Key, int] = {}
    for key in graph:
        for dep in dask.core.get_dependencies(graph, key):
            dependents[dep] = dependents.get(dep, 0) + 1
    readers = {}
    for index in np.ndindex(*x.numblocks):
        chain: dict[Key, Any] = {}
        inputs: list[Key] = []
        key = (x.name, *index)
        while dask.core.istask(graph.get(key)):
            chain[key] = graph[key]
            deps = dask.core.get_dependencies(graph, key)
            if len(deps) > 1 or len(chain) > CHAIN_TASKS:
                return None
            if not deps:
                break
            (key,) = deps
            if dependents.get(key, 0) > 1 or not dask.core.istask(graph.get(key)):
                inputs.append(key)
                break
        if not chain:
            return None
        top = (x.name, *index)
        readers[index] = (_read_chunk, _ChunkReader(chain, top, tuple(inputs)), *inputs)
    return readers


def _read_chunk(reader: _ChunkReader, *values: Any) -> Any:
    """Run ``reader`` (a :class:`_ChunkReader`) on the values of its inputs."""
    return reader(*values)


def _run_block(block_function: _BlockFunction, index: tuple[int, ...], low: tuple[int, ...],
               shape: tuple[int, ...], centre: npt.NDArray[Any],
               edges: Sequence[Mapping[tuple[int, ...], npt.NDArray[Any]]],
               steps: Sequence[tuple[int, ...]], offsets: Sequence[tuple[int, ...]],
               *shared: npt.NDArray[Any]) -> npt.NDArray[Any] | None:
    """The task of one block of the result: ``block_function(_HaloBlock, index, *shared)``.

    ``edges[k]`` are the edge copies of the neighbour at ``-steps[k]``
    (see :func:`_edges_of`); its part for this block lies at ``offsets[k]``.
    """
    pieces = [(centre, low)]
    pieces += [(found[step], offset) for found, step, offset in zip(edges, steps, offsets)]
    return block_function(_HaloBlock(pieces, low, shape, centre.dtype), index, *shared)


def _halo_map(x: da.Array, depths: Sequence[tuple[int, int]], periodic: Sequence[bool],
              block_function: _BlockFunction, chunks: tuple[tuple[int, ...], ...],
              meta: npt.NDArray[Any], name: str, shared: tuple[npt.NDArray[Any], ...] = ()
              ) -> da.Array:
    """A lazy array computed block by block from ``x``'s chunks and their neighbours' edges.

    One task per block of the result, ``block_function(block, index, *shared)``
    with ``block`` a :class:`_HaloBlock`: the chunk of ``x`` at ``index`` and
    the edges (``depths[axis]`` = ``(left, right)`` samples) of its
    neighbours, which one small task per chunk copies out of it (computing
    the chunk itself, when ``_chunk_readers`` finds how).  No
    overlapped block is ever stored: a worker holds a chunk, the edges and
    what the block function allocates.  ``periodic[axis]``: the first and
    last chunks of the axis are neighbours.  ``shared`` (arrays) enter the
    graph once.  The result has ``chunks`` (one block per chunk of ``x``).
    """
    token = tokenize(x.name, depths, periodic, block_function, chunks, shared)
    out_name, edge_name = f"{name}-{token}", f"{name}-edges-{token}"
    layer: dict[Key, Any] = {}
    shared_keys = []
    for number, value in enumerate(shared):
        key = (f"{name}-shared-{token}", number)
        layer[key] = value
        shared_keys.append(key)
    counts = x.numblocks
    wanted: dict[tuple[int, ...], list[tuple[int, ...]]] = {
        index: [] for index in np.ndindex(*counts)}   # the edges each chunk lends
    tasks = {}
    for index in np.ndindex(*counts):
        low: list[int] = []
        choices: list[list[int]] = []
        for axis, (i, (left, right)) in enumerate(zip(index, depths)):
            wrap = periodic[axis] and counts[axis] > 1
            has_left = left > 0 and (i > 0 or wrap)
            has_right = right > 0 and (i < counts[axis] - 1 or wrap)
            low.append(left if has_left else 0)
            choices.append([0] + ([-1] if has_left else []) + ([1] if has_right else []))
        shape = tuple(x.chunks[axis][i] + low[axis]
                      + (depths[axis][1] if 1 in choices[axis] else 0)
                      for axis, i in enumerate(index))
        edges: list[Key] = []
        steps: list[tuple[int, ...]] = []
        offsets: list[tuple[int, ...]] = []
        for step in itertools.product(*choices):
            if not any(step):
                continue
            neighbour = tuple((i + move) % count for i, move, count in zip(index, step, counts))
            lent = tuple(-move for move in step)   # seen from the neighbour
            wanted[neighbour].append(lent)
            edges.append((edge_name, *neighbour))
            steps.append(lent)
            offsets.append(tuple(0 if move == -1 else low[axis] + x.chunks[axis][i]
                                 if move == 1 else low[axis]
                                 for axis, (i, move) in enumerate(zip(index, step))))
        tasks[index] = (_run_block, block_function, index, tuple(low), shape, (x.name, *index),
                        edges, steps, offsets, *shared_keys)
    readers = _chunk_readers(x) if any(wanted.values()) else None
    for index, lent_edges in wanted.items():
        source = (x.name, *index) if readers is None else readers[index]
        if lent_edges:
            layer[(edge_name, *index)] = (_edges_of, source, tuple(depths),
                                          sorted(set(lent_edges)))
        task = tasks[index]
        layer[(out_name, *index)] = task[:5] + (source,) + task[6:]
    # Chunks computed by their readers need nothing of x's graph but the readers'
    # inputs: without any, x's layer is left out (dask's culling keeps a dependency
    # layer whole once no key of it is wanted, which would compute every chunk
    # once more and hold it).
    needs_x = readers is None or any(len(reader) > 2 for reader in readers.values())
    # dask.array.Array is a dask collection; its annotations do not match the protocol's
    graph = HighLevelGraph.from_collections(
        out_name, layer, dependencies=[cast("DaskCollection", x)] if needs_x else [])
    result: da.Array = da.Array(graph, out_name, chunks, meta=meta)
    return result


def _known_chunks(x: da.Array | npt.ArrayLike, name: str = "x") -> da.Array:
    """``x`` as a dask array (an in-memory array as one chunk) with known chunk sizes."""
    lazy: da.Array = x if isinstance(x, da.Array) else da.asarray(np.asarray(x))
    if any(math.isnan(size) for sizes in lazy.chunks for size in sizes):
        raise ValueError(f"{name} has unknown chunk sizes {lazy.chunks}; call "
                         f"{name}.compute_chunk_sizes() first")
    return lazy


def _task_threads(threads: int | None) -> int:
    """Threads per task: 1 unless told (dask runs a task per thread already)."""
    threads = 1 if threads is None else as_int(threads, "threads")
    if threads < 1:
        raise ValueError(f"threads must be >= 1 or None, got {threads!r}")
    return threads


# ----------------------------------------------------------------------------- conv
def _conv_block(block: _HaloBlock, index: tuple[int, ...], weight: npt.NDArray[Any],
                bias: npt.NDArray[Any] | None = None, *, axes: tuple[int, ...],
                out_starts: Sequence[tuple[int, ...]], in_starts: Sequence[tuple[int, ...]],
                reaches: Sequence[_Reach], out_chunks: tuple[tuple[int, ...], ...],
                conv_kwargs: dict[str, Any], align: int) -> npt.NDArray[Any] | None:
    """One block of a convolution's result, in bands of its first spatial axis.

    ``reaches[k]`` is ``(size, stride, ext, (low, high), need)`` of spatial axis
    ``axes[k]`` (``need``: ``edge_need`` of each end), ``out_starts`` and
    ``in_starts`` its blocks' first output and first held input (global),
    ``out_chunks`` every axis's output chunks.
    """
    shape = [chunks[i] for chunks, i in zip(out_chunks, index)]
    first = axes[0]
    _, stride, ext, _, _ = reaches[0]
    result: npt.NDArray[Any] | None = None
    for band_start, band_stop in bands(shape[first], -(-ext // stride), align):
        starts, stops = [0] * len(block.shape), list(block.shape)
        padding, keep = [], [slice(None)] * len(shape)
        for k, axis in enumerate(axes):
            size, stride, ext, (low, _), need = reaches[k]
            out_start = out_starts[k][index[axis]]
            lo, hi = (band_start, band_stop) if k == 0 else (0, shape[axis])
            held = in_starts[k][index[axis]]
            start, stop, pad_low, pad_high, skip = conv_window(
                out_start + lo, out_start + hi, stride, ext, low, size, need,
                (held, held + block.shape[axis]))
            starts[axis], stops[axis] = start - held, stop - held
            padding.append((pad_low, pad_high))
            keep[axis] = slice(skip, skip + hi - lo)
        part = conv_in_memory(block.region(starts, stops), weight, bias, padding=tuple(padding),
                              **conv_kwargs)[tuple(keep)]
        if result is None:
            if band_stop == shape[first]:
                return part
            result = np.empty(shape, dtype=part.dtype)
        target = [slice(None)] * len(shape)
        target[first] = slice(band_start, band_stop)
        result[tuple(target)] = part
    return result


def conv_impl(x: da.Array | npt.ArrayLike, weight: npt.ArrayLike,
              bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
              dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
              padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
              data_format: DataFormat = "channels_first", threads: int | None = None,
              algorithm: Algorithm = "auto", ndim: int | None = None) -> da.Array:
    """The shared implementation of conv and conv1d/2d/3d (``ndim`` fixes the rank)."""
    lazy_x: da.Array = _known_chunks(x if isinstance(x, da.Array) else as_array(x, "x"))
    w_array: npt.NDArray[Any] = as_array(weight, "weight")
    b_array: npt.NDArray[Any] | None = None if bias is None else as_array(bias, "bias")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")
    geometry = describe_conv(
        lazy_x.shape, w_array.shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups, padding_mode=padding_mode, padding_value=padding_value,
        data_format=data_format, bias_shape=None if b_array is None else b_array.shape,
        ndim=ndim)
    dtype: np.dtype[Any] = result_dtype((lazy_x.dtype, "x"), (w_array.dtype, "weight"))
    threads = _task_threads(threads)
    block_algorithm = _block_algorithm(geometry, dtype, algorithm, flip)

    if not geometry.batched:
        lazy_x = lazy_x[np.newaxis]
    channel_axis, spatial_axes = _axes(geometry.data_format, geometry.ndim)
    if len(lazy_x.chunks[channel_axis]) > 1:
        warnings.warn(f"x is chunked along its channel axis {lazy_x.chunks[channel_axis]}; "
                      "pyconvx.dask needs whole channels and rechunks it to one chunk",
                      stacklevel=3)
        lazy_x = lazy_x.rechunk({channel_axis: -1})
    align = 2 if block_algorithm == "winograd" else 1
    splits: list[AxisSplit] = []
    reaches: list[_Reach] = []
    for i, axis in enumerate(spatial_axes):
        pads = geometry.pads[i]
        if padding_mode == "circular" and any(pads) and len(lazy_x.chunks[axis]) > 1:
            lazy_x = _periodic_extension(lazy_x, axis, pads)
            pads = (0, 0)
        size: int = lazy_x.shape[axis]
        splits.append(split_axis(
            size, geometry.kernel[i], geometry.stride[i], geometry.dilation[i],
            pads, padding_mode, lazy_x.chunks[axis], geometry.out_spatial[i], out_align=align))
        reaches.append((size, geometry.stride[i],
                        geometry.dilation[i] * (geometry.kernel[i] - 1) + 1, pads,
                        (edge_need(padding_mode, pads[0], size),
                         edge_need(padding_mode, pads[1], size))))
    wanted = {axis: s.input_chunks for axis, s in zip(spatial_axes, splits)}
    if any(lazy_x.chunks[axis] != chunks for axis, chunks in wanted.items()):
        lazy_x = lazy_x.rechunk(wanted)

    conv_kwargs: dict[str, Any] = dict(
        stride=geometry.stride, dilation=geometry.dilation, groups=groups, flip=bool(flip),
        padding_mode=padding_mode, padding_value=geometry.padding_value,
        data_format=geometry.data_format, threads=threads, algorithm=block_algorithm)
    out_chunks = [lazy_x.chunks[BATCH_AXIS]] + [None] * (geometry.ndim + 1)
    out_chunks[channel_axis] = (geometry.out_channels,)
    depths = [(0, 0)] * lazy_x.ndim
    for axis, split in zip(spatial_axes, splits):
        out_chunks[axis] = split.output_chunks
        depths[axis] = split.depth
    block_function = functools.partial(
        _conv_block, axes=spatial_axes,
        out_starts=[_starts(split.output_chunks) for split in splits],
        in_starts=[_held_starts(split.input_chunks, split.depth[0]) for split in splits],
        reaches=reaches, out_chunks=tuple(out_chunks), conv_kwargs=conv_kwargs, align=align)
    result = _halo_map(lazy_x, depths, [False] * lazy_x.ndim, block_function, tuple(out_chunks),
                      np.empty((0,) * lazy_x.ndim, dtype=dtype), "pyconvx-conv",
                      shared=(w_array,) if b_array is None else (w_array, b_array))
    return result if geometry.batched else result[0]


def _starts(chunks: Iterable[int]) -> tuple[int, ...]:
    """The first index of each chunk."""
    return tuple(int(n) for n in np.cumsum((0,) + tuple(chunks))[:-1])


def _held_starts(chunks: Iterable[int], left: int) -> tuple[int, ...]:
    """The first input each block holds: its chunk's start, less the left halo
    (none for the first block)."""
    return tuple(max(start - left, 0) if number else 0
                 for number, start in enumerate(_starts(chunks)))


@docfiller
def conv(x: da.Array | npt.ArrayLike, weight: npt.ArrayLike,
         bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
         dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
         padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
         data_format: DataFormat = "channels_first", threads: int | None = None,
         algorithm: Algorithm = "auto") -> da.Array:
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
def conv1d(x: da.Array | npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", threads: int | None = None,
           algorithm: Algorithm = "auto") -> da.Array:
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
def conv2d(x: da.Array | npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", threads: int | None = None,
           algorithm: Algorithm = "auto") -> da.Array:
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
def conv3d(x: da.Array | npt.ArrayLike, weight: npt.ArrayLike,
           bias: npt.ArrayLike | None = None, stride: IntTuple = 1, padding: PaddingArg = 0,
           dilation: IntTuple = 1, groups: IntArg = 1, *, flip: bool = False,
           padding_mode: PaddingMode = "zeros", padding_value: RealNumber = 0.0,
           data_format: DataFormat = "channels_first", threads: int | None = None,
           algorithm: Algorithm = "auto") -> da.Array:
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


# ----------------------------------------------------------------------------- filters
DOCS.update({
    "dask_input": """\
input : dask.array.Array or array_like
    The array to filter, of any rank and chunking (chunk sizes must be
    known); bool, integer, float32, float64, complex64 or complex128.  An
    in-memory array becomes a one-chunk dask array.""",
    "dask_output": """\
output : dtype, optional
    The dtype of the result (default: the input's).  An array is refused:
    store the lazy result with ``dask.array.store`` or ``to_zarr``.""",
    "dask_filter_threads": """\
threads : int, optional
    Keyword only.  Threads each task filters with; None (the default) means
    1, since dask already runs as many tasks at once as its scheduler or
    worker has threads.  Results are bitwise identical for every count.""",
    "dask_filter_returns_raises": """\
Returns
-------
dask.array.Array
    Lazy, the input's shape and chunks (chunks merged where a chunk is
    shorter than the halo), bitwise equal to the :mod:`pyconvx.ndimage`
    function on the whole array.

Raises
------
ValueError, RuntimeError, TypeError
    As the :mod:`pyconvx.ndimage` function would, when the graph is built;
    unknown chunk sizes are a ValueError, an output array a TypeError.""",
})


# Parameters, Returns and Raises of correlate and convolve, in one piece.
DOCS["dask_correlate_sections"] = "\n".join([
    "Parameters", "----------",
    *(DOCS[name] for name in ("dask_input", "ndimage_weights_nd", "dask_output",
                              "ndimage_mode")),
    "    One mode for all axes (a sequence is refused, as in SciPy).",
    *(DOCS[name] for name in ("ndimage_cval", "ndimage_origin_multiple", "ndimage_axes",
                              "dask_filter_threads")),
    "", DOCS["dask_filter_returns_raises"],
])


def _filter_block(block: _HaloBlock, index: tuple[int, ...], *shared: npt.NDArray[Any],
                  call: _Filter, whole_shape: tuple[int, ...],
                  reaches: Sequence[tuple[int, int]], needs: Sequence[tuple[int, int]],
                  out_chunks: tuple[tuple[int, ...], ...], out_dtype: np.dtype[Any]
                  ) -> npt.NDArray[Any] | None:
    """One block of a filter's result, in bands of its first axis.

    Each band is ``call`` (a :mod:`pyconvx.ndimage` function) on the part of
    the overlapped block its outputs read, within ``block_of(whole_shape)``,
    cropped to those outputs.  ``reaches[axis]`` is ``(low, high)``, the
    inputs an output reads on each side; ``needs[axis]`` the samples a band
    at an end of the axis holds (``edge_need``).
    """
    shape = [chunks[i] for chunks, i in zip(out_chunks, index)]
    starts_out = [sum(chunks[:i]) for chunks, i in zip(out_chunks, index)]
    if not shape:
        with block_of(whole_shape):
            return call(block.region((), ()), *shared)
    if shape[0] == 0:   # no outputs along the first axis: no band, an empty block
        return np.empty(shape, dtype=out_dtype)
    result: npt.NDArray[Any] | None = None
    for band_start, band_stop in bands(shape[0], sum(reaches[0])):
        starts, stops, keep = [], [], []
        for axis, (low, high) in enumerate(reaches):
            lo, hi = (band_start, band_stop) if axis == 0 else (0, shape[axis])
            out_start = starts_out[axis] + lo
            held = starts_out[axis] - block.low[axis]
            start, stop = filter_window(out_start, starts_out[axis] + hi, low, high,
                                        (held, held + block.shape[axis]), whole_shape[axis],
                                        needs[axis])
            starts.append(start - held)
            stops.append(stop - held)
            keep.append(slice(out_start - start, out_start - start + hi - lo))
        with block_of(whole_shape):
            part = call(block.region(starts, stops), *shared)[tuple(keep)]
        if result is None:
            if band_stop == shape[0]:
                return part
            result = np.empty(shape, dtype=out_dtype)
        result[band_start:band_stop] = part
    return result


@dataclasses.dataclass(frozen=True)
class _BandConv:
    """How :func:`_conv_filter_block` computes a correlation's blocks: the
    microkernel of the whole array's call, its padding mode and value, the
    threads of a call, and how the caller's kernel becomes ``conv``'s."""

    algorithm: Algorithm
    mode: PaddingMode
    value: float
    threads: int
    convolution: bool
    dtype: np.dtype[Any]

    def weight(self, weights: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """``conv``'s weight ``(1, 1, *taps)`` in the compute dtype."""
        kernel = _summed_kernel(weights, self.convolution)
        return kernel_in(kernel, self.dtype).reshape((1, 1, *kernel.shape))


def _summed_kernel(weights: npt.NDArray[Any], convolution: bool) -> npt.NDArray[Any]:
    """The caller's real ``weights`` as the array a whole-array correlation sums
    with (as :mod:`pyconvx.ndimage` makes it): float64, reversed for a convolution."""
    kernel = weights.astype(np.float64)
    if convolution:
        kernel = kernel[(slice(None, None, -1),) * kernel.ndim]
    return kernel


def _conv_filter_block(block: _HaloBlock, index: tuple[int, ...], weights: npt.NDArray[Any],
                       *, band_conv: _BandConv,
                       whole_shape: tuple[int, ...], reaches: Sequence[tuple[int, int]],
                       out_chunks: tuple[tuple[int, ...], ...],
                       generic: _BlockFunction) -> npt.NDArray[Any] | None:
    """One block of a correlation that is one convolution of the whole array
    (see ``one_conv_microkernel``), written band by band into the result.

    A band's outputs read exactly their windows: the block's own samples
    and its halo where the array goes on, the padding mode's border where it
    ends.  :func:`pyconvx.conv` computes them with the whole array's
    microkernel straight into the band's rows of the result: no output
    beyond the block's, no copy, no buffer per band.  A band at an end of an
    axis whose window there holds fewer samples than its border reflects (the
    block holds them, beyond the window: ``edge_need``) sends the block to
    ``generic`` (:func:`_filter_block`, whose calls pad a wider region).
    ``weights`` is the caller's kernel.
    """
    shape = [chunks[i] for chunks, i in zip(out_chunks, index)]
    if 0 in shape:
        return np.empty(shape, dtype=band_conv.dtype)
    starts_out = [sum(chunks[:i]) for chunks, i in zip(out_chunks, index)]
    plans = []
    for band_start, band_stop in bands(shape[0], sum(reaches[0])):
        starts, stops, pads = [], [], []
        for axis, (low, high) in enumerate(reaches):
            lo, hi = (band_start, band_stop) if axis == 0 else (0, shape[axis])
            first = starts_out[axis] + lo - low       # the windows' inputs, whole-array
            last = starts_out[axis] + hi + high       # coordinates, borders included
            pad = (max(0, -first), max(0, last - whole_shape[axis]))
            held = starts_out[axis] - block.low[axis]
            start, stop = first + pad[0] - held, last - pad[1] - held
            if start < 0 or stop > block.shape[axis]:
                raise RuntimeError(f"pyconvx.dask: block {index} holds inputs "
                                   f"[{held}, {held + block.shape[axis]}) of axis {axis}, "
                                   f"its outputs read [{first}, {last})")
            limit = padding_limit(band_conv.mode, stop - start)
            if limit is not None and max(pad) > limit:
                return generic(block, index, weights)
            starts.append(start)
            stops.append(stop)
            pads.append(pad)
        plans.append((band_start, band_stop, starts, stops, pads))
    weight = band_conv.weight(weights)
    result = np.empty(shape, dtype=band_conv.dtype)
    for band_start, band_stop, starts, stops, pads in plans:
        conv_in_memory(block.region(starts, stops)[None, None], weight, padding=pads,
                       padding_mode=band_conv.mode, padding_value=band_conv.value,
                       threads=band_conv.threads, algorithm=band_conv.algorithm,
                       out=result[band_start:band_stop][None, None])
    return result


def _axis_rule(size: int, chunks: tuple[int, ...], reach: tuple[int, int], mode: str | None
               ) -> tuple[tuple[int, ...], tuple[int, int], bool, tuple[int, int]]:
    """How one axis of a filter is cut: ``(chunks, depth, periodic, need)``.

    A border wider than the engine's one reflection of the whole axis (a
    kernel longer than the axis) repeats the axis periodically: the axis
    stays one chunk (it is shorter than the kernel).  A chunked ``circular``
    axis (scipy's ``wrap``) borrows its ends' halos from the chunk at the
    other end; other modes pad the array's true edges in the block at the
    edge, which holds the samples the mode reads (``edge_need``).
    """
    low, high = reach
    if reach == (0, 0):
        return chunks, (0, 0), False, (0, 0)
    filtered_mode = cast(PaddingMode, mode)   # a padding mode wherever the reach is not 0
    limit = padding_limit(filtered_mode, size)
    if limit is not None and max(low, high) > limit:
        return (size,), (0, 0), False, (size, size)
    split = split_axis(size, low + high + 1, 1, 1, reach,
                       "zeros" if filtered_mode == "circular" else filtered_mode, chunks, size)
    periodic = filtered_mode == "circular" and len(split.input_chunks) > 1
    need = (edge_need(filtered_mode, low, size), edge_need(filtered_mode, high, size))
    return split.input_chunks, split.depth, periodic, need


def _check_output(output: object) -> None:
    if isinstance(output, (np.ndarray, da.Array)):
        raise TypeError("output must be None or a dtype in pyconvx.dask (the result is lazy); "
                        f"got {type(output).__name__}: store the result with "
                        "dask.array.store or to_zarr")


def _lazy_filter(name: str, input: da.Array, call: _Filter,
                 reaches: Sequence[tuple[int, int]], modes: Sequence[str | None],
                 shared: tuple[npt.NDArray[Any], ...] = (),
                 band_conv: _BandConv | None = None) -> da.Array:
    """``call`` (a :mod:`pyconvx.ndimage` function with its arguments) as a lazy array.

    ``reaches[axis]`` is the ``(low, high)`` inputs an output reads along
    each axis, ``modes[axis]`` its pyconvx padding mode (None where it is
    not filtered); ``shared`` are array arguments that enter the graph once.
    The arguments are checked (and the result's dtype found) by running the
    filter on a one-sample array of the input's rank and dtype.  With
    ``band_conv`` (a correlation that is one convolution of the whole array,
    its kernel ``shared[0]``), blocks are computed by
    :func:`_conv_filter_block`.
    """
    probe = call(np.zeros((1,) * input.ndim, dtype=input.dtype), *shared)
    rules = [_axis_rule(input.shape[axis], input.chunks[axis], reaches[axis], modes[axis])
             for axis in range(input.ndim)]
    wanted = {axis: rule[0] for axis, rule in enumerate(rules) if rule[0] != input.chunks[axis]}
    if wanted:
        input = input.rechunk(wanted)
    block_function = functools.partial(
        _filter_block, call=call, whole_shape=input.shape, reaches=tuple(reaches),
        needs=tuple(rule[3] for rule in rules), out_chunks=input.chunks, out_dtype=probe.dtype)
    if band_conv is not None:
        block_function = functools.partial(
            _conv_filter_block, band_conv=band_conv, whole_shape=input.shape,
            reaches=tuple(reaches), out_chunks=input.chunks, generic=block_function)
    return _halo_map(input, [rule[1] for rule in rules], [rule[2] for rule in rules],
                     block_function, input.chunks, np.empty((0,) * input.ndim, probe.dtype),
                     f"pyconvx-{name}", shared=shared)


def _correlate_lazy(name: str, input: da.Array | npt.ArrayLike, weights: npt.ArrayLike,
                    output: npt.DTypeLike | None, mode: str, cval: _Scalar, origin: _Ints,
                    axes: _Ints | None, threads: int | None, convolution: bool) -> da.Array:
    input = _known_chunks(input, "input")
    _check_output(output)
    function = ndimage.convolve if convolution else ndimage.correlate
    weights = np.asarray(weights)
    call = functools.partial(function, output=output, mode=mode, cval=cval, origin=origin,
                             axes=axes, threads=_task_threads(threads))
    probe = call(np.zeros((1,) * input.ndim, dtype=input.dtype), weights)   # the checks
    axes = check_axes(axes, input.ndim)
    ndim = input.ndim
    if len(axes) < ndim:    # the kernel's axes are the filtered ones in order, the
        kernel_axes = sorted(axes)   # origins follow ``axes`` (as pyconvx.ndimage reads them)
        origins = expand_to_rank(normalize_sequence(origin, len(axes), "origin"), axes, ndim, 0)
    else:
        kernel_axes = list(range(ndim))
        origins = normalize_sequence(origin, ndim, "origin")
    reaches: list[tuple[int, int]] = [(0, 0)] * ndim
    modes: list[str | None] = [None] * ndim
    for taps, axis in zip(weights.shape, kernel_axes):
        shift = int(origins[axis])
        if convolution:
            shift = -shift - (1 if taps % 2 == 0 else 0)
        reaches[axis] = origin_pads(taps, shift)
        modes[axis] = padding_mode(mode)
    band_conv = _one_conv(input, weights, convolution, probe.dtype, mode, cval, reaches,
                          _task_threads(threads))
    return _lazy_filter(name, input, call, reaches, modes, shared=(weights,),
                        band_conv=band_conv)


def _one_conv(input: da.Array, weights: npt.NDArray[Any], convolution: bool,
              out_dtype: np.dtype[Any], mode: str, cval: _Scalar,
              reaches: Sequence[tuple[int, int]], threads: int) -> _BandConv | None:
    """How blocks of a correlation run as :func:`pyconvx.conv` calls (see
    :func:`_conv_filter_block`); None unless the whole array's call is one
    convolution of the array as it is (real float32 or float64 data and
    kernel, the result in the data's dtype, every axis filtered, a border
    that does not wrap around)."""
    dtype = input.dtype
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)) or out_dtype != dtype:
        return None
    if weights.dtype.kind not in "biuf" or weights.ndim != input.ndim:
        return None
    pmode = cast(PaddingMode, padding_mode(mode))
    if pmode == "circular":
        return None
    value = float(cast(RealNumber, cval))
    algorithm = one_conv_microkernel(input.shape, _summed_kernel(weights, convolution),
                                     reaches, pmode, value, dtype)
    if algorithm is None:
        return None
    if pmode == "constant" and value == 0:
        pmode = "zeros"
    return _BandConv(algorithm, pmode, value if pmode == "constant" else 0.0, threads,
                     convolution, dtype)


@docfiller
def correlate(input: da.Array | npt.ArrayLike, weights: npt.ArrayLike,
              output: npt.DTypeLike | None = None, mode: str = "reflect", cval: _Scalar = 0.0,
              origin: _Ints = 0, *, axes: _Ints | None = None, threads: int | None = None
              ) -> da.Array:
    """Multidimensional correlation of a dask array, as ``scipy.ndimage.correlate``.

    :func:`pyconvx.ndimage.correlate`, lazily, block by block: each block
    reads its neighbours' edges (the halo: the kernel's extent per axis,
    shifted by ``origin``), and the array's true edges are filled by
    ``mode`` as for the whole array.  The result is bitwise equal to
    ``pyconvx.ndimage.correlate`` on the whole (C-contiguous) array, for
    every chunking.

    %(dask_correlate_sections)s

    Examples
    --------
    A 7x7 kernel over a 96x80 image in 32x32 chunks, reflected borders:

    >>> import dask.array as da, numpy as np, pyconvx.dask, pyconvx.ndimage
    >>> image = np.random.default_rng(0).random((96, 80), dtype=np.float32)
    >>> kernel = np.random.default_rng(1).random((7, 7))
    >>> lazy = pyconvx.dask.correlate(da.from_array(image, chunks=32), kernel)
    >>> lazy.chunks
    ((32, 32, 32), (32, 32, 16))
    >>> whole = pyconvx.ndimage.correlate(image, kernel)
    >>> lazy.compute().tobytes() == whole.tobytes()
    True
    """
    return _correlate_lazy("correlate", input, weights, output, mode, cval, origin, axes,
                           threads, False)


@docfiller
def convolve(input: da.Array | npt.ArrayLike, weights: npt.ArrayLike,
             output: npt.DTypeLike | None = None, mode: str = "reflect", cval: _Scalar = 0.0,
             origin: _Ints = 0, *, axes: _Ints | None = None, threads: int | None = None
             ) -> da.Array:
    """Multidimensional convolution of a dask array, as ``scipy.ndimage.convolve``.

    :func:`correlate` with the kernel reversed along every axis (an even
    kernel's origin mirrored with it), lazily; bitwise equal to
    :func:`pyconvx.ndimage.convolve` on the whole array.

    %(dask_correlate_sections)s

    Examples
    --------
    >>> import dask.array as da, numpy as np, pyconvx.dask
    >>> a = da.from_array(np.arange(12).reshape(3, 4), chunks=2)
    >>> pyconvx.dask.convolve(a, [[1, 1], [1, 0]], mode="constant").compute()
    array([[10, 13, 16,  7],
           [22, 25, 28, 11],
           [ 9, 10, 11,  0]])
    """
    return _correlate_lazy("convolve", input, weights, output, mode, cval, origin, axes,
                           threads, True)


@docfiller
def gaussian_filter(input: da.Array | npt.ArrayLike, sigma: RealNumber | Sequence[RealNumber],
                    order: _Ints = 0, output: npt.DTypeLike | None = None,
                    mode: str | Sequence[str] = "reflect", cval: _Scalar = 0.0,
                    truncate: float = 4.0, *, radius: _Ints | None = None,
                    axes: _Ints | None = None, threads: int | None = None) -> da.Array:
    """Multidimensional Gaussian filter of a dask array, as ``scipy.ndimage.gaussian_filter``.

    :func:`pyconvx.ndimage.gaussian_filter`, lazily: the halo of each axis
    is the kernel's radius (``int(truncate * sigma + 0.5)``, or ``radius``);
    bitwise equal to the in-memory call on the whole array.

    Parameters
    ----------
    %(dask_input)s
    sigma : float or sequence of float
        Standard deviation per filtered axis, or one for all.
    order : int or sequence of int, optional
        Derivative order per filtered axis (0: smoothing).
    %(dask_output)s
    %(ndimage_mode_multiple)s
    %(ndimage_cval)s
    %(ndimage_truncate)s
    %(ndimage_radius)s
    %(ndimage_axes)s
    %(dask_filter_threads)s

    %(dask_filter_returns_raises)s

    Examples
    --------
    >>> import dask.array as da, numpy as np, pyconvx.dask, pyconvx.ndimage
    >>> volume = np.random.default_rng(0).random((40, 36, 30), dtype=np.float32)
    >>> lazy = pyconvx.dask.gaussian_filter(da.from_array(volume, chunks=(10, 18, 30)), 1.5)
    >>> bool((lazy.compute() == pyconvx.ndimage.gaussian_filter(volume, 1.5)).all())
    True
    """
    input = _known_chunks(input, "input")
    _check_output(output)
    call = functools.partial(ndimage.gaussian_filter, sigma=sigma, order=order, output=output,
                             mode=mode, cval=cval, truncate=truncate, radius=radius, axes=axes,
                             threads=_task_threads(threads))
    call(np.zeros((1,) * input.ndim, dtype=input.dtype))   # the arguments' checks
    axes = check_axes(axes, input.ndim)
    reaches: list[tuple[int, int]] = [(0, 0)] * input.ndim
    modes: list[str | None] = [None] * input.ndim
    for axis, sigma_, mode_, radius_ in zip(
            axes, normalize_sequence(sigma, len(axes), "sigma"),
            normalize_sequence(mode, len(axes), "mode"),
            normalize_sequence(radius, len(axes), "radius")):
        if not float(sigma_) > 1e-15:   # not filtered (as in pyconvx.ndimage and SciPy)
            continue
        reach = _gaussian_radius(float(sigma_), float(truncate)) if radius_ is None \
            else int(radius_)
        reaches[axis], modes[axis] = (reach, reach), padding_mode(mode_)
    return _lazy_filter("gaussian_filter", input, call, reaches, modes)


@docfiller
def uniform_filter(input: da.Array | npt.ArrayLike, size: _Ints = 3,
                   output: npt.DTypeLike | None = None, mode: str | Sequence[str] = "reflect",
                   cval: _Scalar = 0.0, origin: _Ints = 0, *, axes: _Ints | None = None,
                   threads: int | None = None) -> da.Array:
    """Multidimensional mean filter of a dask array, as ``scipy.ndimage.uniform_filter``.

    :func:`pyconvx.ndimage.uniform_filter`, lazily: the halo of each axis is
    its window, shifted by ``origin``; bitwise equal to the in-memory call on
    the whole array.

    Parameters
    ----------
    %(dask_input)s
    size : int or sequence of int, optional
        Window length per filtered axis, or one for all (default 3).
    %(dask_output)s
    %(ndimage_mode_multiple)s
    %(ndimage_cval)s
    %(ndimage_origin_multiple)s
    %(ndimage_axes)s
    %(dask_filter_threads)s

    %(dask_filter_returns_raises)s

    Examples
    --------
    >>> import dask.array as da, numpy as np, pyconvx.dask
    >>> a = da.from_array(np.array([[4, 8, 12], [16, 20, 24]]), chunks=(1, 2))
    >>> pyconvx.dask.uniform_filter(a, size=2).compute()
    array([[ 4,  6, 10],
           [10, 12, 16]])
    """
    input = _known_chunks(input, "input")
    _check_output(output)
    call = functools.partial(ndimage.uniform_filter, size=size, output=output, mode=mode,
                             cval=cval, origin=origin, axes=axes, threads=_task_threads(threads))
    call(np.zeros((1,) * input.ndim, dtype=input.dtype))   # the arguments' checks
    axes = check_axes(axes, input.ndim)
    reaches: list[tuple[int, int]] = [(0, 0)] * input.ndim
    modes: list[str | None] = [None] * input.ndim
    for axis, size_, origin_, mode_ in zip(
            axes, normalize_sequence(size, len(axes), "size"),
            normalize_sequence(origin, len(axes), "origin"),
            normalize_sequence(mode, len(axes), "mode")):
        if int(size_) > 1:
            reaches[axis], modes[axis] = origin_pads(int(size_), int(origin_)), padding_mode(mode_)
    return _lazy_filter("uniform_filter", input, call, reaches, modes)


@docfiller
def sobel(input: da.Array | npt.ArrayLike, axis: IntArg = -1, output: npt.DTypeLike | None = None,
          mode: str | Sequence[str] = "reflect", cval: _Scalar = 0.0, *,
          threads: int | None = None) -> da.Array:
    """Sobel derivative of a dask array along one axis, as ``scipy.ndimage.sobel``.

    :func:`pyconvx.ndimage.sobel`, lazily: a halo of one sample each side
    on every axis; bitwise equal to the in-memory call on the whole array.

    Parameters
    ----------
    %(dask_input)s
    %(ndimage_axis)s
    %(dask_output)s
    %(ndimage_mode_every_axis)s
    %(ndimage_cval)s
    %(dask_filter_threads)s

    %(dask_filter_returns_raises)s

    Examples
    --------
    >>> import dask.array as da, numpy as np, pyconvx.dask
    >>> step = da.from_array(np.array([[0, 0, 0, 1, 1, 1]] * 4, dtype=np.float32), chunks=2)
    >>> pyconvx.dask.sobel(step, axis=1).compute()
    array([[0., 0., 4., 4., 0., 0.],
           [0., 0., 4., 4., 0., 0.],
           [0., 0., 4., 4., 0., 0.],
           [0., 0., 4., 4., 0., 0.]], dtype=float32)
    """
    input = _known_chunks(input, "input")
    _check_output(output)
    call = functools.partial(ndimage.sobel, axis=axis, output=output, mode=mode, cval=cval,
                             threads=_task_threads(threads))
    call(np.zeros((1,) * input.ndim, dtype=input.dtype))   # the arguments' checks
    modes = [padding_mode(m) for m in normalize_sequence(mode, input.ndim, "mode")]
    return _lazy_filter("sobel", input, call, [(1, 1)] * input.ndim, modes)
