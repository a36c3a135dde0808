"""Every microkernel of every compiled SIMD set, on its own, against NumPy.

Inputs are small integers, so every product and partial sum is exact in
float32 and float64 alike: the microkernel must then equal the NumPy result
bit for bit, whatever its summation order, and any wrong index, lane, tail or
bias shows.  A second pass with random floats checks the rounding stays
within the bound of a K-term sum.  Edge tiles: empty and one-term reductions,
a reduction split into blocks (``load_c``), widths that are not a multiple of
the vector length, boxes shorter than a pass, partial stores.
"""

import numpy as np
import pytest

from pyconvx._engine import dispatch, microkernels

from _reference import assert_bitwise_equal

LEVELS = [dispatch.LEVEL_NAMES.index(name) for name in dispatch.available_levels()]
LEVEL_IDS = [dispatch.LEVEL_NAMES[level] for level in LEVELS]
DTYPES = [np.float32, np.float64]


@pytest.fixture(params=LEVELS, ids=LEVEL_IDS)
def level(request):
    return request.param


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dtype(request):
    return request.param


def integers(rng, shape, dtype, low=-4, high=5):
    return rng.integers(low, high, size=shape).astype(dtype)


def test_every_compiled_level_is_tested():
    """The portable set is always compiled; x86-64 builds add avx2 and avx512."""
    assert "generic" in dispatch.compiled_levels()
    assert set(dispatch.available_levels()) <= set(dispatch.compiled_levels())
    assert LEVEL_IDS == list(dispatch.available_levels())


# ----------------------------------------------------------------------------- tiles
TILES = ["gemm", "row", "gemm_narrow1", "gemm_narrow2", "gemm_tall"]


@pytest.mark.parametrize("name", TILES)
@pytest.mark.parametrize("K", [0, 1, 2, 7, 64, 129])
def test_tile_exact(name, K, level, dtype, rng):
    mr, nr = microkernels.tiles(level)[np.dtype(dtype).name][name]
    A = integers(rng, (mr, K), dtype)
    B = integers(rng, (3 * K + nr + 11,), dtype)
    off = rng.integers(0, 3 * K + 12, size=K).astype(np.int64)   # any order, repeats
    bias = integers(rng, (mr,), dtype)
    ldc = nr + 5
    C = np.full((mr, ldc), 99, dtype=dtype)
    microkernels.tile(name, level, A, B, off, C, bias)
    Bmat = B[off[:, None] + np.arange(nr)[None, :]] if K else np.zeros((0, nr), dtype)
    expected = A.astype(np.float64) @ Bmat.astype(np.float64) + bias[:, None]
    np.testing.assert_array_equal(C[:, :nr], expected.astype(dtype))
    assert (C[:, nr:] == 99).all(), "wrote past the tile"
    C2 = np.zeros((mr, ldc), dtype=dtype)
    microkernels.tile(name, level, A, B, off, C2)      # no bias
    np.testing.assert_array_equal(C2[:, :nr], (expected - bias[:, None]).astype(dtype))


@pytest.mark.parametrize("name", TILES)
def test_tile_reduction_in_blocks_has_the_bits_of_one_pass(name, level, dtype, rng):
    """load_c continues from C: the engine splits long reductions into L1-sized
    blocks, the bias added by the last one; the bits must be those of one pass."""
    mr, nr = microkernels.tiles(level)[np.dtype(dtype).name][name]
    K = 300
    A = rng.standard_normal((mr, K)).astype(dtype)
    B = rng.standard_normal(K + nr).astype(dtype)
    off = np.arange(K, dtype=np.int64)
    bias = rng.standard_normal(mr).astype(dtype)
    whole = np.empty((mr, nr), dtype=dtype)
    microkernels.tile(name, level, A, B, off, whole, bias)
    blocks = np.empty((mr, nr), dtype=dtype)
    cuts = [0, 37, 38, 190, K]
    for start, stop in zip(cuts, cuts[1:]):
        microkernels.tile(name, level, np.ascontiguousarray(A[:, start:stop]), B,
                          np.ascontiguousarray(off[start:stop]), blocks,
                          bias if stop == K else None, load_c=start > 0)
    np.testing.assert_array_equal(blocks, whole)
    # and the rounding is that of a K-term sum
    exact = A.astype(np.float64) @ B[:K + nr][off[:, None] + np.arange(nr)].astype(np.float64)
    bound = (K + 1) * np.finfo(dtype).eps * (np.abs(A).astype(np.float64)
                                            @ np.abs(B[off[:, None] + np.arange(nr)]) + 1)
    assert (np.abs(whole - exact - bias[:, None]) <= bound).all()


# ----------------------------------------------------------------------------- channel tile
@pytest.mark.parametrize("rows", range(1, 9))
@pytest.mark.parametrize("K", [0, 1, 7, 130])
def test_channel_tile_exact(rows, K, level, dtype, rng):
    """Every row count 1..8 of the channel tile: position m reads
    A[off[k] + m * lda], the weights come packed NR channels per row."""
    nr = microkernels.tiles(level)[np.dtype(dtype).name]["cgemm"][1]
    lda = 3
    A = integers(rng, (2 * K + 8 * lda + 5,), dtype)
    off = rng.integers(0, 2 * K + 5, size=K).astype(np.int64)   # any order, repeats
    Bp = integers(rng, (K, nr), dtype)
    bias = integers(rng, (nr,), dtype)
    ldc = nr + 3
    C = np.full((rows + 1, ldc), 99, dtype=dtype)
    microkernels.channel_tile(level, A, lda, Bp, off, C[:rows], bias)
    Amat = A[off[None, :] + lda * np.arange(rows)[:, None]]          # (rows, K)
    expected = Amat.astype(np.float64) @ Bp.astype(np.float64) + bias[None, :]
    np.testing.assert_array_equal(C[:rows, :nr], expected.astype(dtype))
    assert (C[:rows, nr:] == 99).all() and (C[rows] == 99).all(), "wrote past the tile"
    C2 = np.zeros((rows, nr), dtype=dtype)
    microkernels.channel_tile(level, A, lda, Bp, off, C2)             # no bias
    np.testing.assert_array_equal(C2, (expected - bias[None, :]).astype(dtype))


@pytest.mark.parametrize("rows", [1, 5, 8])
def test_channel_tile_has_the_bits_of_the_gemm_tile(rows, level, dtype, rng):
    """The channel tile sums every output in the gemm tile's order (k = 0..K-1,
    one fused multiply-add each, the bias last), also in blocks of the
    reduction: the planner may pick either, the bits must not change."""
    tiles = microkernels.tiles(level)[np.dtype(dtype).name]
    mr, gnr = tiles["gemm"]
    nr = tiles["cgemm"][1]
    K = 300
    channels = -(-nr // mr) * mr                             # whole gemm panels
    width = -(-rows // gnr) * gnr                            # whole gemm tiles
    x = rng.standard_normal(K + width + 8).astype(dtype)    # a band: position j at x[off[k] + j]
    off = rng.permutation(K).astype(np.int64)
    W = rng.standard_normal((channels, K)).astype(dtype)    # the output channels' weights
    bias = rng.standard_normal(channels).astype(dtype)
    gemm = np.empty((channels, width), dtype=dtype)
    for m0 in range(0, channels, mr):
        for j0 in range(0, width, gnr):
            piece = np.empty((mr, gnr), dtype=dtype)
            microkernels.tile("gemm", level, np.ascontiguousarray(W[m0:m0 + mr]),
                              np.ascontiguousarray(x[j0:]), off, piece, bias[m0:m0 + mr])
            gemm[m0:m0 + mr, j0:j0 + gnr] = piece
    W, bias, gemm = W[:nr], bias[:nr], gemm[:nr]
    Bp = np.ascontiguousarray(W.T)
    ctile = np.empty((rows, nr), dtype=dtype)
    cuts = [0, 37, 38, 190, K]
    for start, stop in zip(cuts, cuts[1:]):
        microkernels.channel_tile(level, x, 1, np.ascontiguousarray(Bp[start:stop]),
                                  np.ascontiguousarray(off[start:stop]), ctile,
                                  bias if stop == K else None, load_c=start > 0)
    np.testing.assert_array_equal(ctile, gemm[:, :rows].T)


@pytest.mark.parametrize("narrow", ["gemm_narrow1", "gemm_narrow2", "gemm_tall"])
def test_narrow_tiles_have_the_bits_of_the_gemm_tile(narrow, level, dtype, rng):
    """The engine runs a last, partial tile on a narrow variant (the tall one
    over two panels at once): every output it computes must have the bits
    the full tile gives it."""
    tiles = microkernels.tiles(level)[np.dtype(dtype).name]
    mr, nr = tiles["gemm"]
    rows, width = tiles[narrow]
    assert rows in (mr, 2 * mr) and width <= 2 * nr
    K = 200
    A = rng.standard_normal((rows, K)).astype(dtype)
    B = rng.standard_normal(K + max(nr, width) + 3).astype(dtype)
    off = rng.permutation(K).astype(np.int64)
    bias = rng.standard_normal(rows).astype(dtype)
    full = np.empty((rows, max(nr, width)), dtype=dtype)
    for panel in range(0, rows, mr):   # the gemm tile, panel by panel
        microkernels.tile("gemm", level, np.ascontiguousarray(A[panel:panel + mr]), B, off,
                          full[panel:panel + mr], bias[panel:panel + mr])
    part = np.full((rows, max(nr, width) + 2), 99, dtype=dtype)
    microkernels.tile(narrow, level, A, B, off, part, bias)
    columns = min(nr, width)
    assert_bitwise_equal(part[:, :columns], full[:, :columns])
    assert (part[:, width:] == 99).all(), "wrote past the narrow tile"


# ----------------------------------------------------------------------------- rowblock
@pytest.mark.parametrize("kernel", [(1, 1), (3, 3), (5, 2), (2, 7), (9, 9)])
def test_rowblock_exact(kernel, level, dtype, rng):
    mb, nr = microkernels.tiles(level)[np.dtype(dtype).name]["rowblock"]
    KH, KW = kernel
    row_pitch = nr + KW + 3
    B = integers(rng, ((mb + KH) * row_pitch + nr,), dtype)
    w = integers(rng, kernel, dtype)
    col_off = np.arange(KW, dtype=np.int64)
    bias = integers(rng, (1,), dtype)
    C = np.full((mb, nr + 2), 99, dtype=dtype)
    microkernels.rowblock(level, w, B, row_pitch, col_off, C, bias)
    expected = np.zeros((mb, nr))
    for m in range(mb):
        for kh in range(KH):
            for kw in range(KW):
                start = (m + kh) * row_pitch + kw
                expected[m] += w[kh, kw] * B[start:start + nr].astype(np.float64)
    np.testing.assert_array_equal(C[:, :nr], (expected + bias[0]).astype(dtype))
    assert (C[:, nr:] == 99).all()


# ----------------------------------------------------------------------------- depthwise
def _depthwise_expected(w, off, band, row_pitch, rows, cols, bias):
    out = np.zeros((rows, cols))
    for k, o in enumerate(off):
        for oh in range(rows):
            start = o + oh * row_pitch
            out[oh] += w.flat[k] * band[start:start + cols].astype(np.float64)
    return out + (bias[0] if bias is not None else 0)


@pytest.mark.parametrize("kernel", [(3, 3), (5, 5), (7, 7), (3, 5), (1, 4), (2, 2)])
@pytest.mark.parametrize("rows, cols", [(1, 1), (3, 5), (4, 16), (5, 17), (9, 33), (13, 70)])
def test_depthwise_exact(kernel, rows, cols, level, dtype, rng):
    """Consecutive taps take the unrolled 3x3/5x5/7x7 paths, the others the general one;
    widths below, at and past the vector length, bands of rows shorter than a pass."""
    KH, KW = kernel
    vl = microkernels.tiles(level)[np.dtype(dtype).name]["depthwise"][1]
    row_pitch = cols + KW + 2
    off = (np.arange(KH)[:, None] * row_pitch + np.arange(KW)[None, :]).ravel().astype(np.int64)
    band = integers(rng, ((rows + KH) * row_pitch + 2 * vl + cols,), dtype)
    w = integers(rng, kernel, dtype)
    for bias in (integers(rng, (1,), dtype), None):
        out = np.full((rows + 1, cols + 3), 99, dtype=dtype)
        microkernels.depthwise(level, w, off, band, row_pitch, rows, cols, out, bias)
        expected = _depthwise_expected(w, off, band, row_pitch, rows, cols, bias)
        np.testing.assert_array_equal(out[:rows, :cols], expected.astype(dtype))
        assert (out[rows:] == 99).all() and (out[:, cols:] == 99).all(), "wrote outside the box"


def test_depthwise_scattered_taps_take_the_general_path(level, dtype, rng):
    """Taps that are not consecutive (strided or dilated bands) are summed in the same
    column-major order as the unrolled path: same bits for the same taps."""
    rows, cols, row_pitch = 6, 21, 40
    w = rng.standard_normal((3, 3)).astype(dtype)
    band = rng.standard_normal(20 * row_pitch).astype(dtype)
    consecutive = (np.arange(3)[:, None] * row_pitch + np.arange(3)[None, :]).ravel()
    fast = np.empty((rows, cols), dtype=dtype)
    microkernels.depthwise(level, w, consecutive.astype(np.int64), band, row_pitch, rows,
                           cols, fast)
    # the same sums through a 1x9 kernel whose taps happen to be those offsets
    general = np.empty((rows, cols), dtype=dtype)
    microkernels.depthwise(level, np.ascontiguousarray(w.T).reshape(1, 9),
                           np.ascontiguousarray(consecutive.reshape(3, 3).T).ravel().astype(np.int64),
                           band, row_pitch, rows, cols, general)
    np.testing.assert_array_equal(general, fast)


@pytest.mark.parametrize("K", [1, 4, 9])
@pytest.mark.parametrize("rows, cols", [(1, 1), (2, 3), (3, 4), (1, 7), (2, 8), (3, 13), (2, 17)])
@pytest.mark.parametrize("col_step", [1, 2, 3])
def test_depthwise_lanes_exact(K, rows, cols, col_step, level, dtype, rng):
    """Every lane sums its own channel's taps at its own weights: widths below, at and
    past a pass of outputs (the last pass moved back over the row), column steps of
    one to three positions, bias or none."""
    nb, vl = microkernels.tiles(level)[np.dtype(dtype).name]["depthwise_lanes"]
    assert nb == 8
    row_step = (cols * col_step + 5) * vl
    off = (rng.permutation(3 * K)[:K] * vl).astype(np.int64)
    size = int(off.max()) + (rows - 1) * row_step + (cols - 1) * col_step * vl + vl
    band = integers(rng, (size,), dtype)     # ends at the last lane read
    w = integers(rng, (K, vl), dtype)
    expected = np.zeros((rows, cols, vl))
    for k in range(K):
        for oh in range(rows):
            for ow in range(cols):
                at = off[k] + oh * row_step + ow * col_step * vl
                expected[oh, ow] += w[k] * band[at:at + vl]
    for bias in (integers(rng, (vl,), dtype), None):
        out = np.full((rows, cols, vl), 99, dtype=dtype)
        microkernels.depthwise_lanes(level, w, off, band, row_step, col_step * vl, rows,
                                     cols, out, bias)
        np.testing.assert_array_equal(out, expected + (0 if bias is None else bias))


@pytest.mark.parametrize("kernel", [(3, 3), (5, 5), (2, 3)])
def test_depthwise_lanes_have_the_bits_of_the_planes_kernel(kernel, level, dtype, rng):
    """Random floats: lane l of the lanes kernel, its taps passed column-major, gives
    the bits the planes kernel gives channel l's plane (both sum column-major from
    zero with one fused multiply-add per tap, then add the bias)."""
    KH, KW = kernel
    vl = microkernels.tiles(level)[np.dtype(dtype).name]["depthwise_lanes"][1]
    rows, cols, pitch = 5, 11, 16
    planes = rng.standard_normal((vl, (rows + KH + 1) * pitch + 2 * vl)).astype(dtype)
    w = rng.standard_normal((vl, KH, KW)).astype(dtype)
    bias = rng.standard_normal(vl).astype(dtype)
    plane_off = (np.arange(KH)[:, None] * pitch + np.arange(KW)[None, :]).astype(np.int64)
    lanes = np.ascontiguousarray(planes.T).ravel()          # position-major, vl lanes each
    lanes_w = np.ascontiguousarray(w.transpose(2, 1, 0).reshape(KW * KH, vl))
    lanes_off = np.ascontiguousarray(plane_off.T).ravel() * vl
    got = np.empty((rows, cols, vl), dtype=dtype)
    microkernels.depthwise_lanes(level, lanes_w, lanes_off, lanes, pitch * vl, vl, rows,
                                 cols, got, bias)
    for lane in range(vl):
        plane = np.empty((rows, cols), dtype=dtype)
        microkernels.depthwise(level, w[lane], plane_off.ravel(), planes[lane], pitch, rows,
                               cols, plane, bias[lane:lane + 1])
        assert_bitwise_equal(got[:, :, lane], plane)


# ----------------------------------------------------------------------------- winograd
BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


@pytest.mark.parametrize("TH, TW", [(1, 1), (2, 3), (3, 16), (2, 17), (4, 33)])
def test_winograd_input_exact(TH, TW, level, dtype, rng):
    pitch = 2 * TW + 2 + 3
    band = integers(rng, (2 * TH + 2, pitch), dtype)
    V = np.full((16, TH * TW + 4), 99, dtype=dtype)
    microkernels.winograd_input(level, band, TH, TW, V)
    for th in range(TH):
        for tw in range(TW):
            d = band[2 * th:2 * th + 4, 2 * tw:2 * tw + 4].astype(np.float64)
            np.testing.assert_array_equal(V[:, th * TW + tw], (BT @ d @ BT.T).ravel())
    assert (V[:, TH * TW:] == 99).all()


@pytest.mark.parametrize("TH, TW, rows, cols", [(1, 1, 1, 1), (1, 1, 2, 2), (2, 3, 3, 5),
                                                 (3, 16, 6, 32), (2, 17, 4, 33),
                                                 (4, 33, 7, 66),
                                                 # a box at the output's right edge: most
                                                 # of its tiles lie past the last column
                                                 (1, 32, 2, 3), (2, 48, 3, 17),
                                                 (1, 40, 2, 34)])
def test_winograd_output_exact(TH, TW, rows, cols, level, dtype, rng):
    M = integers(rng, (16, TH * TW + 2), dtype)
    out = np.full((rows + 1, cols + 3), 99, dtype=dtype)
    microkernels.winograd_output(level, M, TH, TW, out, rows, cols, bias=3.0)
    expected = np.zeros((2 * TH, 2 * TW))
    for th in range(TH):
        for tw in range(TW):
            m = M[:, th * TW + tw].astype(np.float64).reshape(4, 4)
            expected[2 * th:2 * th + 2, 2 * tw:2 * tw + 2] = AT @ m @ AT.T + 3.0
    np.testing.assert_array_equal(out[:rows, :cols], expected[:rows, :cols].astype(dtype))
    assert (out[rows:] == 99).all() and (out[:, cols:] == 99).all(), "wrote outside the box"


# ----------------------------------------------------------------------------- gather
@pytest.mark.parametrize("step", [1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 7, 8, 15, 16, 17, 40, 65])
def test_gather(step, n, level, dtype, rng):
    src = rng.standard_normal((n - 1) * step + 1).astype(dtype)   # ends at the last read
    dst = np.full(n + 3, 99, dtype=dtype)
    microkernels.gather(level, src, step, n, dst)
    np.testing.assert_array_equal(dst[:n], src[::step][:n])
    assert (dst[n:] == 99).all()


# ----------------------------------------------------------------------------- transpose
@pytest.mark.parametrize("rows", [1, 3, 8, 16, 17, 40])
@pytest.mark.parametrize("cols", [1, 5, 8, 16, 23, 49])
@pytest.mark.parametrize("col_step", [1, 3])
def test_transpose(rows, cols, col_step, level, dtype, rng):
    # src rows wider than read, dst rows wider than written: the sentinels show
    # every read stays in the (rows, cols) block and every write in its transpose
    src = rng.standard_normal((rows + 2, (cols + 3) * col_step)).astype(dtype)
    view = src[:, ::col_step]
    dst = np.full((cols + 2, rows + 5), 99, dtype=dtype)
    microkernels.transpose(level, view, rows, cols, dst)
    np.testing.assert_array_equal(dst[:cols, :rows], view[:rows, :cols].T)
    assert (dst[cols:] == 99).all() and (dst[:, rows:] == 99).all()


def test_transpose_reads_only_its_block(level, dtype):
    # the block ends where the array ends: a read past it would fault or show
    src = np.arange(17 * 23, dtype=dtype).reshape(17, 23)
    dst = np.zeros((23, 17), dtype=dtype)
    microkernels.transpose(level, src, 17, 23, dst)
    np.testing.assert_array_equal(dst, src.T)


# ----------------------------------------------------------------------------- the checks
def test_the_test_entry_refuses_reads_outside_its_arrays(rng):
    level = LEVELS[0]
    mr, nr = microkernels.tiles(level)["float32"]["gemm"]
    A = np.ones((mr, 3), np.float32)
    B = np.ones(nr + 1, np.float32)
    C = np.zeros((mr, nr), np.float32)
    with pytest.raises(ValueError, match="off reads outside B"):
        microkernels.tile("gemm", level, A, B, np.array([0, 1, 2], np.int64), C)
    with pytest.raises(ValueError, match="float32 or float64"):
        microkernels.gather(level, np.ones(4, np.int32), 1, 2, np.ones(4, np.int32))
    with pytest.raises(ValueError, match="not compiled in"):
        microkernels.gather(7, np.ones(4), 1, 2, np.ones(4))
