"""pyconvx.dask: lazy convolution and scipy.ndimage-style filters of chunked dask
arrays, bitwise equal to pyconvx.conv and pyconvx.ndimage on the whole array for
every chunking (uneven, smaller than the halo, one chunk), padding mode and form,
stride, dilation, groups, origin, axes, rank and dtype; on the threaded scheduler
and on a 2-process LocalCluster.  Also the arithmetic of the split itself
(pyconvx._blocks), the graph (one task per block, no input chunk kept waiting for
its neighbours), threads per task, and the optional import."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import pyconvx
import pyconvx.ndimage as pn
from pyconvx import _ndimage_core
from pyconvx._blocks import bands, conv_window, edge_need, filter_window, split_axis
from pyconvx._boundary import padding_limit
from pyconvx.shapes import output_length

from _problems import make_problem
from _reference import PADDING_MODES, assert_bitwise_equal, canonical_pads, mode_kwargs
from conftest import child_env

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
import pyconvx.dask  # noqa: E402  (after the optional peer is known to be there)


@pytest.fixture(autouse=True)
def threaded_scheduler():
    with dask.config.set(scheduler="threads"):
        yield


# ----------------------------------------------------------------------------- strategies
@st.composite
def chunk_sizes(draw, size):
    """A chunking of ``size``: one chunk, even chunks, or uneven cuts (chunks of 1
    sample included, so smaller than any halo)."""
    kind = draw(st.sampled_from(["one", "even", "uneven", "ones"]))
    if kind == "one" or size == 1:
        return (size,)
    if kind == "ones":
        return (1,) * size if size <= 12 else (1, 1, 1, size - 3)
    if kind == "even":
        step = draw(st.integers(1, size))
        return tuple(min(step, size - start) for start in range(0, size, step))
    cuts = sorted(draw(st.sets(st.integers(1, size - 1), min_size=1, max_size=6)))
    return tuple(b - a for a, b in zip([0, *cuts], [*cuts, size]))


@st.composite
def chunked_problems(draw, max_rank=3):
    ndim = draw(st.integers(1, max_rank))
    groups = draw(st.integers(1, 2))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 3))
    batch = draw(st.integers(1, 3))
    unbatched = draw(st.booleans())
    max_size = {1: 40, 2: 16, 3: 9}[ndim]
    spatial = tuple(draw(st.integers(1, max_size)) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    form = draw(st.sampled_from(["int", "per-dim", "pairs", "valid", "same", "full"]))
    if form == "int":
        padding = draw(st.integers(0, 4))
    elif form == "per-dim":
        padding = tuple(draw(st.integers(0, 4)) for _ in range(ndim))
    elif form == "pairs":
        padding = tuple((draw(st.integers(0, 4)), draw(st.integers(0, 4))) for _ in range(ndim))
    else:
        padding = form
    mode = draw(st.sampled_from(PADDING_MODES))
    pads = canonical_pads(padding, spatial, kernel, stride, dilation)
    for n, k, d, (lo, hi) in zip(spatial, kernel, dilation, pads):
        limit = padding_limit(mode, n)
        assume(limit is None or max(lo, hi) <= limit)
        assume(d * (k - 1) + 1 <= n + lo + hi)
    data_format = draw(st.sampled_from(["channels_first", "channels_last"]))
    lead = () if unbatched else (batch,)
    w_shape = (c_out, c_in // groups) + kernel
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  flip=draw(st.booleans()), data_format=data_format, **mode_kwargs(mode))
    spatial_chunks = tuple(draw(chunk_sizes(n)) for n in spatial)
    lead_chunks = tuple(draw(chunk_sizes(n)) for n in lead)
    if data_format == "channels_first":
        x_shape = lead + (c_in,) + spatial
        chunks = lead_chunks + ((c_in,),) + spatial_chunks
    else:
        x_shape = lead + spatial + (c_in,)
        chunks = lead_chunks + spatial_chunks + ((c_in,),)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return x_shape, w_shape, kwargs, chunks, dtype, draw(st.booleans()), draw(
        st.integers(0, 2**32 - 1))


def _valid(x_shape, w_shape, kwargs):
    """Whether pyconvx.conv takes this problem (the kernel fits, the padding suits the mode)."""
    shape_kwargs = {k: v for k, v in kwargs.items() if k not in ("flip", "algorithm")}
    try:
        pyconvx.output_shape(x_shape, w_shape, **shape_kwargs)
    except ValueError:
        return False
    return True


def _lazy_and_expected(problem):
    x_shape, w_shape, kwargs, chunks, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias,
                           dtype=dtype)
    lazy = pyconvx.dask.conv(da.from_array(x, chunks=chunks), w, b, **kwargs)
    return lazy, pyconvx.conv(x, w, b, **kwargs)


# ----------------------------------------------------------------------------- bits
@given(chunked_problems())
def test_every_chunking_gives_the_bits_of_the_whole_array(problem):
    lazy, expected = _lazy_and_expected(problem)
    assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
    assert_bitwise_equal(lazy.compute(), expected)


@st.composite
def engine_problems(draw):
    """2-d problems each microkernel takes: one wide channel (rowblock, depthwise),
    depthwise channels, many channels (gemm, and Winograd for 3x3 stride 1 with
    algorithm="fast")."""
    kind = draw(st.sampled_from(["one channel", "depthwise", "channels", "winograd"]))
    rows = draw(st.integers(8, 40))
    cols = draw(st.integers(8, 140))
    if kind == "one channel":
        x_shape, w_shape, groups = (1, 1, rows, cols), (1, 1, draw(st.integers(1, 7)),
                                                       draw(st.integers(1, 9))), 1
    elif kind == "depthwise":
        x_shape, w_shape, groups = (2, 5, rows, cols), (5, 1, 3, 3), 5
    elif kind == "channels":
        x_shape, w_shape, groups = (1, 6, rows, cols // 2), (9, 6, 3, 2), 1
    else:
        x_shape, w_shape, groups = (1, 16, rows, max(8, cols // 4)), (16, 16, 3, 3), 1
    stride = 1 if kind == "winograd" else draw(st.integers(1, 2))
    padding = tuple((draw(st.integers(0, k)), draw(st.integers(0, k))) for k in w_shape[2:])
    mode = draw(st.sampled_from(PADDING_MODES))
    kwargs = dict(stride=stride, padding=padding, groups=groups, **mode_kwargs(mode),
                  algorithm=draw(st.sampled_from(["auto", "fast"])))
    assume(_valid(x_shape, w_shape, kwargs))
    chunks = (1, x_shape[1]) + tuple(draw(chunk_sizes(n)) for n in x_shape[2:])
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return x_shape, w_shape, kwargs, chunks, dtype, True, draw(st.integers(0, 2**32 - 1))


@given(engine_problems())
def test_every_microkernel_gives_the_same_bits_per_block(problem):
    """Each block runs the microkernel the whole problem's plan picks (a block's own
    plan may pick another), and Winograd's blocks start on its 2x2 tile grid."""
    lazy, expected = _lazy_and_expected(problem)
    assert_bitwise_equal(lazy.compute(), expected)


def test_channels_last_and_winograd_blocks(rng):
    """data_format="channels_last" passes through to every block; algorithm="fast"
    on a 3x3 layer with many channels runs Winograd in every block, its 2x2 output
    tiles where the whole array's are."""
    x = rng.standard_normal((2, 30, 27, 16)).astype(np.float32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(np.float32)
    kwargs = dict(padding=1, data_format="channels_last", algorithm="fast")
    assert pyconvx.plan(x, w, **kwargs).algorithm == "winograd"
    expected = pyconvx.conv(x, w, **kwargs)
    for chunks in [(1, 7, 9, 16), (2, (3, 11, 16), (5, 22), 16), (1, 30, 27, (6, 10))]:
        with warnings.catch_warnings():   # the last chunking splits the channels
            warnings.filterwarnings("ignore", "x is chunked along its channel axis")
            lazy = pyconvx.dask.conv2d(da.from_array(x, chunks=chunks), w, **kwargs)
        assert lazy.chunks[3] == (16,)
        assert all(size % 2 == 0 for size in np.cumsum(lazy.chunks[1])[:-1])
        assert_bitwise_equal(lazy.compute(), expected)


@pytest.mark.parametrize("mode", PADDING_MODES)
def test_edge_blocks_hold_the_whole_arrays_border(mode, rng):
    """Tiny chunks at the edges of wide paddings: the border of every edge block is
    the whole array's, for every mode (circular through its periodic data)."""
    x = rng.standard_normal((1, 1, 23, 19))
    w = rng.standard_normal((1, 1, 5, 4))
    kwargs = dict(padding=((4, 3), (3, 3)), **mode_kwargs(mode))
    expected = pyconvx.conv(x, w, **kwargs)
    for chunks in [(1, 1, (1, 2, 20), (3, 15, 1)), (1, 1, (22, 1), (1, 1, 1, 16)),
                   (1, 1, 5, 4), (1, 1, 1, 1)]:
        lazy = pyconvx.dask.conv2d(da.from_array(x, chunks=chunks), w, **kwargs)
        assert_bitwise_equal(lazy.compute(), expected)


def test_spatial_chunks_are_kept_when_they_can_be(rng):
    """Even chunks on the stride's grid: no rechunk, one block per input chunk, the
    halo of a 7x7 'same' kernel is 3 samples each side."""
    x = rng.standard_normal((1, 1, 64, 64)).astype(np.float32)
    chunked = da.from_array(x, chunks=(1, 1, 16, 32))
    lazy = pyconvx.dask.conv(chunked, np.ones((1, 1, 7, 7), np.float32), padding="same",
                             padding_mode="reflect")
    assert lazy.chunks == ((1,), (1,), (16, 16, 16, 16), (32, 32))
    strided = pyconvx.dask.conv(chunked, np.ones((1, 1, 3, 3), np.float32), padding=1,
                                stride=2)
    assert strided.chunks == ((1,), (1,), (8, 8, 8, 8), (16, 16))


def test_batch_chunks_need_no_halo(rng):
    x = rng.standard_normal((7, 3, 10, 10))
    w = rng.standard_normal((4, 3, 3, 3))
    lazy = pyconvx.dask.conv(da.from_array(x, chunks=(2, 3, 10, 10)), w, padding=1)
    assert lazy.chunks[0] == (2, 2, 2, 1) and lazy.numblocks == (4, 1, 1, 1)
    # the graph: one task per block of the result, reading its own input block only
    assert_bitwise_equal(lazy.compute(), pyconvx.conv(x, w, padding=1))


def test_unbatched_and_in_memory_inputs(rng):
    x = rng.standard_normal((2, 30))
    w = rng.standard_normal((3, 2, 4))
    expected = pyconvx.conv(x, w, padding="same", padding_mode="circular")
    lazy = pyconvx.dask.conv1d(da.from_array(x, chunks=(2, 7)), w, padding="same",
                               padding_mode="circular")
    assert lazy.shape == expected.shape
    assert_bitwise_equal(lazy.compute(), expected)
    assert_bitwise_equal(pyconvx.dask.conv1d(x, w, padding="same",
                                             padding_mode="circular").compute(), expected)


def test_the_nd_wrappers_and_dtype_rule(rng):
    for ndim, func in [(1, pyconvx.dask.conv1d), (2, pyconvx.dask.conv2d),
                       (3, pyconvx.dask.conv3d)]:
        x = rng.integers(-5, 5, (1, 2) + (8,) * ndim).astype(np.int32)
        w = rng.standard_normal((2, 2) + (3,) * ndim).astype(np.float32)
        lazy = func(da.from_array(x, chunks=(1, 2) + (3,) * ndim), w, padding=1)
        assert lazy.dtype == np.float64                      # an integer input: float64
        assert_bitwise_equal(lazy.compute(), pyconvx.conv(x, w, padding=1))
        with pytest.raises(ValueError, match=rf"weight must have {ndim + 2} dims"):
            func(da.from_array(x), np.ones((2, 2) + (3,) * (ndim % 3 + 1)))


def test_chunked_channels_are_rechunked_with_a_warning(rng):
    x = rng.standard_normal((1, 6, 12, 12))
    w = rng.standard_normal((4, 3, 3, 3))
    with pytest.warns(UserWarning, match=r"chunked along its channel axis \(2, 4\)"):
        lazy = pyconvx.dask.conv(da.from_array(x, chunks=(1, (2, 4), 6, 6)), w, groups=2)
    assert_bitwise_equal(lazy.compute(), pyconvx.conv(x, w, groups=2))


def test_errors_are_those_of_conv_and_come_at_once(rng):
    x = da.ones((1, 2, 10, 10), chunks=5)
    with pytest.raises(ValueError, match="x has C_in=2 channels but weight shape"):
        pyconvx.dask.conv(x, np.ones((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="padding_mode='reflect' needs padding < the input"):
        pyconvx.dask.conv(x, np.ones((1, 2, 3, 3)), padding=10, padding_mode="reflect")
    with pytest.raises(ValueError, match=r"algorithm='fft' is not available in pyconvx\.dask"):
        pyconvx.dask.conv(x, np.ones((1, 2, 3, 3)), algorithm="fft")
    with pytest.raises(ValueError, match="algorithm must be one of"):
        pyconvx.dask.conv(x, np.ones((1, 2, 3, 3)), algorithm="quick")
    with pytest.raises(TypeError, match="x has dtype complex128"):
        pyconvx.dask.conv(x.astype(complex), np.ones((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="threads must be >= 1 or None, got 0"):
        pyconvx.dask.conv(x, np.ones((1, 2, 3, 3)), threads=0)
    unknown = x[x[:, 0, 0, 0] > 0]
    with pytest.raises(ValueError, match="x has unknown chunk sizes"):
        pyconvx.dask.conv(unknown, np.ones((1, 2, 3, 3)))


@pytest.mark.parametrize("threads, expected", [(None, {1}), (3, {3})])
def test_tasks_compute_with_one_thread_unless_told(threads, expected, rng, monkeypatch):
    """dask's threaded scheduler already runs one task per core: each task's call
    uses threads=1 (no oversubscription) unless ``threads=`` says otherwise."""
    seen = []
    in_memory = pyconvx.dask.conv_in_memory

    def recording(*args, **kwargs):
        seen.append(kwargs["threads"])
        return in_memory(*args, **kwargs)

    monkeypatch.setattr(pyconvx.dask, "conv_in_memory", recording)
    x = rng.standard_normal((4, 2, 16, 16))
    w = rng.standard_normal((2, 2, 3, 3))
    lazy = pyconvx.dask.conv(da.from_array(x, chunks=(1, 2, 8, 8)), w, padding=1,
                             threads=threads)
    assert_bitwise_equal(lazy.compute(), pyconvx.conv(x, w, padding=1))
    assert len(seen) == 16 and set(seen) == expected


# ----------------------------------------------------------------------------- the split
@given(st.integers(1, 200), st.integers(1, 9), st.integers(1, 4), st.integers(1, 3),
       st.integers(0, 9), st.integers(0, 9), st.sampled_from(PADDING_MODES),
       st.data())
def test_the_split_of_an_axis(size, kernel, stride, dilation, lo, hi, mode, data):
    """Every block's window gives exactly its outputs, lies inside its overlapped
    chunk, and is padded only at the ends of the axis, within the mode's reach;
    the halo is the windows' shared part, ext - stride, split like the padding."""
    ext = dilation * (kernel - 1) + 1
    limit = padding_limit(mode, size)
    assume(limit is None or max(lo, hi) <= limit)
    chunks = data.draw(chunk_sizes(size))
    if mode == "circular" and len(chunks) > 1:
        lo = hi = 0     # the caller has extended the axis with its periodic data
    assume(ext <= size + lo + hi)
    out_size = output_length(size, kernel, stride, lo, hi, dilation)
    split = split_axis(size, kernel, stride, dilation, (lo, hi), mode, chunks, out_size)
    assert sum(split.input_chunks) == size and sum(split.output_chunks) == out_size
    assert min(split.output_chunks) >= 1
    left, right = split.depth
    blocks = len(split.input_chunks)
    if blocks > 1:
        assert left + right == max(ext - stride, 0)
        assert min(split.input_chunks) >= max(left, right)
    for j, (stop, pad_low, pad_high) in enumerate(split.windows):
        overlapped = split.input_chunks[j] + (left if j else 0) + (right if j < blocks - 1
                                                                   else 0)
        assert 1 <= stop <= overlapped
        assert pad_low == (lo if j == 0 else 0) and pad_high == (hi if j == blocks - 1 else 0)
        limit = padding_limit(mode, stop)
        assert limit is None or max(pad_low, pad_high) <= limit
        assert output_length(stop, kernel, stride, pad_low, pad_high, dilation) == (
            split.output_chunks[j])


def test_a_split_aligned_for_winograd():
    split = split_axis(40, 3, 1, 1, (1, 1), "zeros", (7, 7, 7, 7, 12), 40, out_align=2)
    assert split.output_chunks == (8, 6, 8, 6, 12)
    assert all(size % 2 == 0 for size in np.cumsum(split.output_chunks)[:-1])


@st.composite
def banded_conv_problems(draw):
    """Blocks long enough along the first spatial axis to be computed in several
    bands, every stride, dilation and mode."""
    ndim = draw(st.integers(1, 2))
    spatial = (draw(st.integers(40, 160)),) + tuple(draw(st.integers(3, 12))
                                                  for _ in range(ndim - 1))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
    mode = draw(st.sampled_from(PADDING_MODES))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, **mode_kwargs(mode))
    x_shape, w_shape = (1, 2) + spatial, (2, 2) + kernel
    assume(_valid(x_shape, w_shape, kwargs))
    chunks = (1, 2) + tuple(draw(chunk_sizes(n)) for n in spatial)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return x_shape, w_shape, kwargs, chunks, dtype, False, draw(st.integers(0, 2**32 - 1))


@given(banded_conv_problems())
def test_blocks_computed_in_bands_give_the_same_bits(problem):
    lazy, expected = _lazy_and_expected(problem)
    assert_bitwise_equal(lazy.compute(), expected)


# ----------------------------------------------------------------------------- filters
FILTER_MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror",
                "grid-constant", "grid-wrap"]


def _data(rng, shape, dtype):
    if np.dtype(dtype).kind in "iub":
        return rng.integers(0, 200, shape).astype(dtype)
    data = rng.standard_normal(shape) * 10
    if np.dtype(dtype).kind == "c":
        data = data + 1j * rng.standard_normal(shape)
    return data.astype(dtype)


@st.composite
def filter_problems(draw):
    """A pyconvx.dask filter, its arguments and a chunking: kernels up to longer than
    the axis, every legal origin, every border name, subsets of axes, separable and
    full kernels, integer, float and complex data."""
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, {1: 70, 2: 26, 3: 10}[ndim])) for _ in range(ndim))
    name = draw(st.sampled_from(["correlate", "convolve", "gaussian_filter",
                                 "uniform_filter", "sobel"]))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.float32, np.float64,
                                  np.int16, np.uint8, np.complex64]))
    mode = draw(st.sampled_from(FILTER_MODES))
    kwargs = dict(mode=mode, cval=draw(st.sampled_from([0.0, 1.5])))
    args = ()
    axes = None
    if ndim > 1 and draw(st.booleans()):
        axes = tuple(draw(st.permutations(range(ndim)))[:draw(st.integers(1, ndim))])
    filtered = ndim if axes is None else len(axes)
    if name in ("correlate", "convolve"):
        taps = tuple(draw(st.integers(1, 7)) for _ in range(filtered))
        if draw(st.booleans()) and filtered > 1:   # rank 1: runs as 1-d passes
            factors = [np.arange(1, t + 1, dtype=float) for t in taps]
            weights = factors[0]
            for factor in factors[1:]:
                weights = np.multiply.outer(weights, factor)
        else:
            weights = np.random.default_rng(draw(st.integers(0, 99))).standard_normal(taps)
        args = (weights,)
        # origin k shifts axis axes[k], whose kernel axis is its rank among the axes
        order = list(range(filtered)) if axes is None or filtered == ndim else [
            sorted(axes).index(axis) for axis in axes]
        kwargs["origin"] = [draw(st.integers(-(taps[j] // 2), (taps[j] - 1) // 2))
                            for j in order]
        kwargs["axes"] = axes
    elif name == "gaussian_filter":
        args = (draw(st.sampled_from([0.0, 0.6, 1.0, 2.5])),)
        kwargs.update(axes=axes, truncate=draw(st.sampled_from([2.0, 4.0])),
                      order=draw(st.integers(0, 2)))
        if draw(st.booleans()):
            kwargs["mode"] = [draw(st.sampled_from(FILTER_MODES)) for _ in range(filtered)]
    elif name == "uniform_filter":
        sizes = [draw(st.integers(1, 6)) for _ in range(filtered)]
        kwargs.update(size=sizes, origin=[draw(st.integers(-(n // 2), (n - 1) // 2))
                                          for n in sizes], axes=axes)
    else:
        kwargs["axis"] = draw(st.integers(-ndim, ndim - 1))
        if draw(st.booleans()):
            kwargs["mode"] = [draw(st.sampled_from(FILTER_MODES)) for _ in range(ndim)]
    if dtype == np.complex64 and name in ("gaussian_filter", "uniform_filter", "sobel"):
        kwargs["cval"] = 0.0
    chunks = tuple(draw(chunk_sizes(n)) for n in shape)
    return name, shape, dtype, args, kwargs, chunks, draw(st.integers(0, 2**32 - 1))


@given(filter_problems())
def test_every_filter_and_chunking_gives_the_bits_of_pyconvx_ndimage(problem):
    name, shape, dtype, args, kwargs, chunks, seed = problem
    x = _data(np.random.default_rng(seed), shape, dtype)
    expected = getattr(pn, name)(x, *args, **kwargs)
    lazy = getattr(pyconvx.dask, name)(da.from_array(x, chunks=chunks), *args, **kwargs)
    assert lazy.shape == expected.shape and lazy.dtype == expected.dtype
    assert_bitwise_equal(lazy.compute(), expected)


@pytest.mark.parametrize("mode", FILTER_MODES)
@pytest.mark.parametrize("origin", [(-3, 0), (3, -3), (0, 2)])
def test_the_halo_follows_the_origin_at_every_border(mode, origin, rng):
    """A 7x6 kernel shifted by its origin: halos of (0..6, 6..0) samples, blocks in
    bands, chunks of 1 sample at the edges and smaller than the halo."""
    x = rng.standard_normal((150, 41)).astype(np.float32)
    w = rng.standard_normal((7, 6))
    kwargs = dict(mode=mode, cval=-2.0, origin=origin)
    expected = pn.correlate(x, w, **kwargs)
    for chunks in [((1, 60, 89), (2, 30, 9)), (37, 13), ((149, 1), (1, 40)), (150, 41)]:
        lazy = pyconvx.dask.correlate(da.from_array(x, chunks=chunks), w, **kwargs)
        assert_bitwise_equal(lazy.compute(), expected)
        assert_bitwise_equal(pyconvx.dask.convolve(da.from_array(x, chunks=chunks), w,
                                                   **kwargs).compute(),
                             pn.convolve(x, w, **kwargs))


def test_kernels_longer_than_the_axis_and_colour_images(rng):
    """An axis shorter than the kernel keeps one chunk (its border repeats the
    whole axis); a colour image's channels are filtered as the whole image's are."""
    x = rng.standard_normal((40, 5, 3))
    for mode in ["mirror", "wrap", "reflect"]:
        lazy = pyconvx.dask.correlate(da.from_array(x, chunks=(9, 2, 1)), np.ones((3, 13, 1)),
                                      mode=mode)
        assert lazy.chunks[1] == (5,)
        assert_bitwise_equal(lazy.compute(), pn.correlate(x, np.ones((3, 13, 1)), mode=mode))
    image = rng.random((64, 48, 3), dtype=np.float32)
    lazy = pyconvx.dask.gaussian_filter(da.from_array(image, chunks=(16, 12, 3)), 2.0,
                                        axes=(0, 1))
    assert_bitwise_equal(lazy.compute(), pn.gaussian_filter(image, 2.0, axes=(0, 1)))


def test_blocks_run_the_whole_arrays_microkernel(rng, monkeypatch):
    """A (5, 1) pass over a wide image runs the rowblock microkernel; a narrow block
    planned on its own would run depthwise.  Inside block_of, every block's pass is
    forced onto the whole array's choice."""
    x = rng.random((64, 400), dtype=np.float32)
    w = rng.standard_normal((5, 1))
    whole = pyconvx.plan((1, 1, 64, 400), (1, 1, 5, 1), padding=((2, 2), (0, 0)),
                         padding_mode="symmetric").microkernel
    narrow = pyconvx.plan((1, 1, 64, 20), (1, 1, 5, 1), padding=((2, 2), (0, 0)),
                          padding_mode="symmetric").microkernel
    assert (whole, narrow) == ("rowblock", "depthwise")
    seen = []
    in_memory = _ndimage_core.conv

    def recording(*args, **kwargs):
        seen.append((kwargs["algorithm"], kwargs["threads"]))
        return in_memory(*args, **kwargs)

    lazy = pyconvx.dask.correlate(da.from_array(x, chunks=(64, 20)), w)
    expected = pn.correlate(x, w)
    monkeypatch.setattr(_ndimage_core, "conv", recording)
    assert_bitwise_equal(lazy.compute(), expected)
    assert set(seen) == {("rowblock", 1)}, seen
    seen.clear()
    with _ndimage_core.block_of(x.shape):
        _ndimage_core.correlate(x[:, :20], w, [(2, 2), (0, 0)], "symmetric", 0.0,
                                np.dtype(np.float32), 1)
    assert seen == [("rowblock", 1)]
    seen.clear()
    _ndimage_core.correlate(x[:, :20], w, [(2, 2), (0, 0)], "symmetric", 0.0,
                            np.dtype(np.float32), 1)
    assert seen == [("auto", 1)]


@pytest.mark.parametrize("threads, expected", [(None, {1}), (2, {2})])
def test_filter_tasks_compute_with_one_thread_unless_told(threads, expected, rng,
                                                          monkeypatch):
    seen = []
    in_memory = _ndimage_core.conv

    def recording(*args, **kwargs):
        seen.append(kwargs["threads"])
        return in_memory(*args, **kwargs)

    x = rng.standard_normal((30, 30))
    lazy = pyconvx.dask.gaussian_filter(da.from_array(x, chunks=10), 1.0, threads=threads)
    whole = pn.gaussian_filter(x, 1.0)
    monkeypatch.setattr(_ndimage_core, "conv", recording)
    assert_bitwise_equal(lazy.compute(), whole)
    assert len(seen) >= 9 and set(seen) == expected


def test_filter_errors_come_when_the_graph_is_built(rng):
    x = da.ones((10, 10), chunks=5)
    with pytest.raises(RuntimeError, match="boundary mode not supported"):
        pyconvx.dask.correlate(x, np.ones((3, 3)), mode="wrapped")
    with pytest.raises(ValueError, match="Invalid origin"):
        pyconvx.dask.uniform_filter(x, 3, origin=2)
    with pytest.raises(TypeError, match="output must be None or a dtype"):
        pyconvx.dask.sobel(x, output=np.empty((10, 10)))
    with pytest.raises(ValueError, match="truncate must be finite"):
        pyconvx.dask.gaussian_filter(x, 1.0, truncate=np.inf)
    with pytest.raises(TypeError, match="array type not supported"):
        pyconvx.dask.correlate(x.astype(np.float16), np.ones((3, 3)))
    with pytest.raises(ValueError, match="threads must be >= 1"):
        pyconvx.dask.sobel(x, threads=0)
    with pytest.raises(ValueError, match="input has unknown chunk sizes"):
        pyconvx.dask.sobel(x[x[:, 0] > 0])
    assert pyconvx.dask.correlate(x, np.ones((3, 3)), output=np.float32).dtype == np.float32


# ----------------------------------------------------------------------------- the graph
def _optimized(lazy):
    return dict(lazy.__dask_optimize__(lazy.__dask_graph__(), lazy.__dask_keys__()))


def test_one_task_per_block_and_no_input_chunk_waits_for_its_neighbours():
    """Random (generated) chunks: each block's task computes its own chunk, one task
    per chunk copies out the edges it lends (computing the chunk once more), and no
    task stores a chunk of the input or an overlapped block."""
    x = da.random.default_rng(0).random((64, 48), chunks=16, dtype=np.float32)
    lazy = pyconvx.dask.correlate(x, np.ones((5, 5)))
    graph = _optimized(lazy)
    stored = [key for key in graph if isinstance(key, tuple) and key[0] == x.name]
    assert not stored, (f"input chunks stored as tasks: {stored[:4]}; chunk readers found: "
                        f"{pyconvx.dask._chunk_readers(x) is not None}")
    blocks = [key for key in graph if isinstance(key, tuple) and key[0] == lazy.name]
    edges = [key for key in graph if isinstance(key, tuple) and "-edges-" in key[0]]
    assert len(blocks) == len(edges) == 12
    assert len(graph) <= 12 + 12 + 1       # and the kernel, once
    assert_bitwise_equal(lazy.compute(), pn.correlate(x.compute(), np.ones((5, 5))))


def test_stored_chunks_are_read_where_they_are(rng):
    """An in-memory (or persisted) input: its chunks are data, read by the blocks and
    the edge copies, not computed again."""
    image = rng.standard_normal((40, 40))
    x = da.from_array(image, chunks=10).persist()
    lazy = pyconvx.dask.uniform_filter(x, 5)
    graph = dict(lazy.__dask_graph__())
    assert sum(1 for key in graph if isinstance(key, tuple) and key[0] == x.name) == 16
    assert_bitwise_equal(lazy.compute(), pn.uniform_filter(image, 5))


def test_a_chain_shared_between_chunks_is_not_run_again(rng):
    """Chunks sliced from one array made by a single task: that task is shared, so the
    blocks read the chunks rather than run it once per chunk."""
    image = rng.standard_normal((30, 30))
    whole = da.from_delayed(dask.delayed(np.array)(image), shape=image.shape,
                            dtype=image.dtype)
    x = whole.rechunk(10)
    lazy = pyconvx.dask.sobel(x)
    assert_bitwise_equal(lazy.compute(), pn.sobel(image))


def test_a_correlation_that_is_one_convolution_runs_as_conv_calls_into_its_result(
        rng, monkeypatch):
    """A float correlation whose whole-array call is one convolution (a full kernel,
    every axis filtered, a border that does not wrap) computes each band of a block
    with one conv call, into the result's rows, on the whole array's microkernel;
    blocks too short for their border, wrapped borders, integer data and kernels run
    as 1-d passes take the ndimage functions' own path.  The bits are the whole
    array's either way."""
    calls, generic = [], []
    in_memory, filter_block = pyconvx.dask.conv_in_memory, pyconvx.dask._filter_block

    def recording(*args, **kwargs):
        calls.append((kwargs["algorithm"], kwargs["out"].flags.c_contiguous))
        return in_memory(*args, **kwargs)

    def recording_block(*args, **kwargs):
        generic.append(args[1])
        return filter_block(*args, **kwargs)

    monkeypatch.setattr(pyconvx.dask, "conv_in_memory", recording)
    monkeypatch.setattr(pyconvx.dask, "_filter_block", recording_block)
    x = rng.standard_normal((90, 70)).astype(np.float32)
    w = rng.standard_normal((7, 5))
    whole = _ndimage_core.one_conv_microkernel(x.shape, w, [(3, 3), (2, 2)], "symmetric", 0.0,
                                               np.dtype(np.float32))
    assert whole is not None
    lazy = pyconvx.dask.correlate(da.from_array(x, chunks=(30, 35)), w, mode="reflect")
    assert_bitwise_equal(lazy.compute(), pn.correlate(x, w, mode="reflect"))
    assert generic == [] and set(calls) == {(whole, True)} and len(calls) >= 6
    calls.clear()
    # a kernel shifted down: the last band of a block of every row reads 6 rows
    # and mirrors 6 beyond them (the block holds the 7 the mirror needs)
    tall = rng.standard_normal((150, 41)).astype(np.float32)
    shifted = rng.standard_normal((7, 6))
    chunks = ((149, 1), (1, 40))
    for mode in ("mirror", "reflect", "nearest", "constant"):
        lazy = pyconvx.dask.correlate(da.from_array(tall, chunks=chunks), shifted, mode=mode,
                                      cval=0.5, origin=(-3, 0))
        assert_bitwise_equal(lazy.compute(), pn.correlate(tall, shifted, mode=mode, cval=0.5,
                                                          origin=(-3, 0)))
    assert generic and calls
    for data, weights, mode in [(x, w, "wrap"), (x.astype(np.int16), w, "reflect"),
                                (x, np.outer(np.arange(1.0, 10.0), np.arange(1.0, 10.0)),
                                 "reflect")]:
        generic.clear()
        calls.clear()
        lazy = pyconvx.dask.correlate(da.from_array(data, chunks=(30, 35)), weights,
                                      mode=mode)
        assert_bitwise_equal(lazy.compute(), pn.correlate(data, weights, mode=mode))
        assert len(generic) == 6 and calls == []


def test_the_bands_of_a_block_copy_their_input_into_one_buffer():
    """Each band's region is a C-contiguous copy of the overlapped block (its chunk
    and a neighbour's edge), written into the buffer the previous band's used: in a
    dask.distributed worker a fresh buffer per band costs page faults."""
    chunk = np.arange(40.0).reshape(8, 5)
    edge = np.full((2, 5), -1.0)   # the first rows of the next chunk
    block = pyconvx.dask._HaloBlock([(chunk, (0, 0)), (edge, (8, 0))], (0, 0), (10, 5),
                                    chunk.dtype)
    first = block.region((0, 1), (4, 4))
    assert first.flags.c_contiguous and first.tolist() == chunk[:4, 1:4].tolist()
    second = block.region((6, 0), (10, 5))   # larger: the buffer grows
    assert second.tolist() == [*chunk[6:].tolist(), [-1.0] * 5, [-1.0] * 5]
    third = block.region((2, 0), (5, 5))
    assert np.shares_memory(second, third) and third.tolist() == chunk[2:5].tolist()


def test_the_arithmetic_of_bands_and_windows():
    assert bands(100, 3) == [(0, 24), (24, 48), (48, 72), (72, 96), (96, 100)]
    assert bands(10, 0) == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    assert bands(9, 1, align=2) == [(0, 8), (8, 9)]
    assert edge_need("reflect", 2, 9) == 3 and edge_need("symmetric", 2, 9) == 2
    assert edge_need("circular", 2, 9) == 9 and edge_need("zeros", 0, 9) == 0
    # outputs 0..1 of a 3-tap kernel padded 2 in front, reflect: the mirror reads 2 more
    assert conv_window(0, 2, 1, 3, 2, 20, need=(3, 3)) == (0, 3, 2, 0, 0)
    # the last output of an axis of 10 samples reads past the end: whole outputs earlier
    assert conv_window(9, 10, 1, 3, 1, 10, need=(0, 4)) == (6, 10, 0, 1, 2)
    assert filter_window(5, 10, 2, 1, (0, 20), 20) == (3, 11)
    assert filter_window(0, 4, 3, 3, (0, 20), 20, need=(4, 4)) == (0, 7)
    assert filter_window(0, 4, 3, 3, (-3, 20), 20, need=(4, 4)) == (-3, 7)


# ----------------------------------------------------------------------------- distributed
@pytest.mark.slow
def test_a_local_cluster_of_two_processes_gives_the_same_bits(rng):
    """Two worker processes on this machine (localhost only, dashboard off), one
    thread each: the same bits as in memory, for conv and the filters, from chunks
    in memory and from chunks each task generates itself."""
    distributed = pytest.importorskip("distributed")
    problems = [
        ((2, 3, 40, 36), (4, 3, 5, 5), dict(padding=2, padding_mode="reflect"),
         (1, 3, (9, 20, 11), (12, 12, 12))),
        ((1, 1, 64, 64), (1, 1, 7, 7), dict(padding="same", padding_mode="symmetric"),
         (1, 1, 16, 16)),
        ((1, 2, 30, 31), (2, 1, 3, 3), dict(padding=(3, 2), stride=2, groups=2,
                                            padding_mode="circular"), (1, 2, 7, 10)),
        ((1, 16, 20, 20), (16, 16, 3, 3), dict(padding=1, padding_mode="constant",
                                               padding_value=0.5), (1, 16, 5, 7)),
    ]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  protocol="tcp", silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        assert sorted(client.nthreads().values()) == [1, 1]
        for x_shape, w_shape, kwargs, chunks in problems:
            x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
            lazy = pyconvx.dask.conv(da.from_array(x, chunks=chunks), w, b, **kwargs)
            assert_bitwise_equal(client.compute(lazy).result(), pyconvx.conv(x, w, b, **kwargs))
        generated = da.random.default_rng(7).random((90, 70), chunks=(20, 30),
                                                     dtype=np.float32)
        image = generated.compute()
        filters = [("correlate", (rng.standard_normal((7, 7)),), dict(mode="reflect")),
                   ("convolve", (rng.standard_normal((4, 5)),), dict(mode="wrap",
                                                                     origin=(1, -2))),
                   ("gaussian_filter", (2.0,), dict(mode="mirror")),
                   ("uniform_filter", (), dict(size=(5, 2), mode="constant", cval=0.5)),
                   ("sobel", (), dict(axis=0, mode="nearest"))]
        for name, args, kwargs in filters:
            lazy = getattr(pyconvx.dask, name)(generated, *args, **kwargs)
            assert_bitwise_equal(client.compute(lazy).result(),
                                 getattr(pn, name)(image, *args, **kwargs))


# ----------------------------------------------------------------------------- importing
def test_import_pyconvx_does_not_import_dask():
    code = "import sys, pyconvx; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dask'))"
    result = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_without_dask_the_import_says_how_to_install_it():
    code = ("import sys; sys.modules['dask'] = None; sys.modules['dask.array'] = None\n"
            "try:\n    import pyconvx.dask\nexcept ImportError as exc:\n    print(exc)")
    result = subprocess.run([sys.executable, "-c", code], env=child_env(), capture_output=True,
                            text=True, timeout=60)
    assert "pip install 'pyconvx[dask]'" in result.stdout, result.stdout + result.stderr


def test_no_warning_for_a_plain_call(rng):
    x = da.from_array(rng.standard_normal((1, 2, 20, 20)), chunks=(1, 2, 5, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pyconvx.dask.conv(x, rng.standard_normal((2, 2, 3, 3)), padding=1).compute()


def test_an_empty_axis_keeps_its_shape():
    """A filter over an array with an empty axis gives the in-memory shape (0, 5)."""
    lazy = pyconvx.dask.correlate(da.ones((0, 5), chunks=2), np.ones((3, 3)))
    expected = pyconvx.ndimage.correlate(np.ones((0, 5)), np.ones((3, 3)))
    got = lazy.compute()
    assert got.shape == expected.shape == (0, 5) and got.dtype == expected.dtype
