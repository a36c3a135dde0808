"""The planner: which path and microkernel each problem gets, refusals, the plan cache."""

import numpy as np
import pytest

import pyconvx
from pyconvx._engine import dispatch

from _problems import (
    ALGORITHMS,
    make_problem,
)


def test_unknown_algorithm_lists_valid_ones(rng):
    x, w, _b = make_problem(rng, (1, 1, 5, 5), (1, 1, 3, 3))
    with pytest.raises(ValueError, match="algorithm") as info:
        pyconvx.conv(x, w, algorithm="bogus")
    assert "bogus" in str(info.value)
    for name in ALGORITHMS:
        assert name in str(info.value)
    with pytest.raises(TypeError, match="algorithm"):
        pyconvx.conv(x, w, algorithm=3)


@pytest.mark.parametrize("kernel_name", ["gemm", "cgemm", "row", "rowblock", "depthwise",
                                         "winograd"])
def test_forced_microkernel_runs_or_refuses_never_substitutes(kernel_name):
    """algorithm='gemm'|'row'|'rowblock'|'depthwise'|'winograd' either plans that very kernel or
    raises ValueError naming it: it never silently runs another one."""
    takes_all = pyconvx.plan((1, 1, 64, 64), (1, 1, 3, 3), algorithm=kernel_name)
    if kernel_name == "winograd":
        assert takes_all.algorithm == "winograd" and takes_all.microkernel == "gemm"
    else:
        assert takes_all.algorithm == "direct" and takes_all.microkernel == kernel_name
    if kernel_name in ("gemm", "cgemm", "row"):
        return
    refused = (1, 4, 20, 40), (4, 4, 5, 5)  # several channels per group, 5x5
    with pytest.raises(ValueError, match=f"algorithm={kernel_name!r} cannot take this problem"):
        pyconvx.plan(*refused, algorithm=kernel_name)


def test_only_fast_opts_into_winograd():
    """'auto' and 'direct' keep direct summation (the per-output bound); 'fast' takes
    Winograd where it pays and says that its bound is the tile's."""
    shape = (8, 64, 56, 56), (64, 64, 3, 3)
    for algorithm in ("auto", "direct"):
        p = pyconvx.plan(*shape, padding=1, algorithm=algorithm)
        assert (p.algorithm, p.microkernel, p.error_bound) == ("direct", "gemm", "elementwise")
    fast = pyconvx.plan(*shape, padding=1, algorithm="fast")
    assert (fast.algorithm, fast.error_bound) == ("winograd", "tile")
    assert "fast" in fast.reason and "tile" in fast.reason
    # where Winograd does not pay (or cannot run), 'fast' is 'auto': too few tiles
    # per GEMM column, too few tiles to pay for the transformed weights, 5x5
    for other in [((1, 512, 7, 7), (512, 512, 3, 3)), ((1, 256, 14, 14), (256, 256, 3, 3)),
                  ((8, 64, 56, 56), (64, 64, 5, 5))]:
        fast, auto = (pyconvx.plan(*other, padding=1, algorithm=name) for name in ("fast", "auto"))
        assert (fast.algorithm, fast.microkernel, fast.tile, fast.box, fast.work_units) == (
            auto.algorithm, auto.microkernel, auto.tile, auto.box, auto.work_units)
    assert pyconvx.plan(*shape, algorithm="fft").error_bound == "global"


def test_auto_picks_depthwise_for_narrow_depthwise_layers():
    p = pyconvx.plan((8, 256, 28, 28), (256, 1, 3, 3), padding=1, groups=256)
    assert p.microkernel == "depthwise" and p.work_units < 256
    p = pyconvx.plan((8, 96, 112, 112), (96, 1, 3, 3), padding=1, groups=96, stride=2)
    assert p.microkernel == "depthwise"
    with pytest.raises(ValueError, match="algorithm='depthwise' cannot take this problem"):
        pyconvx.plan((1, 4, 30), (4, 1, 3), groups=4, algorithm="depthwise")


def test_winograd_splits_rows_too_wide_for_its_box_into_columns():
    """Rows too wide for one whole-width box of Winograd tiles run in boxes of one
    tile row and whole GEMM tiles of columns; every output tile is the same sum,
    so the results are bitwise those of whole-width boxes, at any thread count
    and layout (channels-last outputs go through the stage)."""
    from pyconvx._engine import plan as planner

    wide = pyconvx.plan((1, 3, 2**20), (1, 1, 3, 3), algorithm="winograd")
    box = wide.records[0].fields["box"]
    assert wide.algorithm == "winograd" and box[0] == 2 and box[1] < 2**20 - 2
    assert wide.workspace_bytes < 8 * 2**20

    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 5, 7, 203)).astype(np.float32)
    w = rng.standard_normal((6, 5, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    whole = pyconvx.conv(x, w, b, padding=1, algorithm="winograd")
    assert pyconvx.plan(x, w, padding=1, algorithm="winograd").records[0].fields["box"][1] == 204
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(planner, "_plan_cache", {})
        patch.setattr(planner, "WINOGRAD_TARGET_BYTES", {4: 40_000, 8: 80_000})
        plan = pyconvx.plan(x, w, padding=1, algorithm="winograd")
        box = plan.records[0].fields["box"]
        assert box[0] == 2 and box[1] < 204 and box[1] % (2 * plan.tile[1]) == 0
        for threads in (1, 2, 3):
            got = pyconvx.conv(x, w, b, padding=1, algorithm="winograd", threads=threads)
            np.testing.assert_array_equal(got, whole)
            assert got.tobytes() == whole.tobytes()
        last = pyconvx.conv(np.moveaxis(x, 1, -1).copy(), w, b, padding=1,
                            algorithm="winograd", data_format="channels_last", threads=2)
        assert np.moveaxis(last, -1, 1).tobytes() == whole.tobytes()


def test_forced_winograd_refuses_channels_beyond_its_box_and_says_so():
    """Winograd transforms every input channel of a box at once: so many channels
    that its smallest box is over the scratch limit are beyond its reach, said in
    those words ('auto' computes the problem, its reduction in blocks)."""
    shape = ((1, 300_000, 6, 6), (1, 300_000, 3, 3))
    with pytest.raises(ValueError, match=r"algorithm='winograd' cannot take this problem: its "
                       r"smallest box, one GEMM tile of 2x2 tiles with the transforms of "
                       r"all 300000 input and 1 output channels"):
        pyconvx.plan(*shape, algorithm="winograd")
    assert pyconvx.plan(*shape).algorithm == "direct"


def test_plan_cache_follows_level_and_arguments(rng):
    """conv remembers its plans (pyconvx._engine.plan.cached_plan): the cached plan is the
    one make_plan would make for the same problem, SIMD level, threads (as many as
    the problem's work wakes) and strides."""
    from pyconvx._engine import plan as _plan
    from pyconvx.shapes import describe_conv

    from conftest import forced_level, simd_levels

    g = describe_conv((2, 6, 9, 10), (6, 1, 3, 3), padding=1, groups=6)
    for level in simd_levels():
        with forced_level(level):
            for threads, strides in ((1, None), (3, [540, 90, 10, 1]), (2, [540, 90, 20, 2])):
                cached = _plan.cached_plan(g, np.float32, threads=threads, x_strides=strides)
                again = _plan.cached_plan(g, np.float32, threads=threads, x_strides=strides)
                worth = _plan.threads_worth_waking(g, np.float32, threads)
                fresh = _plan.make_plan(g, np.float32, threads=worth, x_strides=strides)
                assert again is cached
                assert cached.microkernel == fresh.microkernel and cached.tile == fresh.tile
                assert cached.box == fresh.box and cached.threads == fresh.threads
                assert cached.records[0].fields.keys() == fresh.records[0].fields.keys()
                for key, value in fresh.records[0].fields.items():
                    assert str(cached.records[0].fields[key]) == str(value), key
    for _ in range(_plan.PLAN_CACHE_SIZE + 5):
        _plan.cached_plan(g, np.float32, threads=int(rng.integers(1, 10**6)))
    assert len(_plan._plan_cache) <= _plan.PLAN_CACHE_SIZE
    with pytest.raises(ValueError, match="algorithm"):
        _plan.cached_plan(g, np.float32, threads=1, algorithm="bogus")


def test_fft_plan_has_no_microkernel():
    p = pyconvx.plan((1, 2, 30, 30), (3, 2, 5, 5), algorithm="fft")
    assert (p.algorithm, p.microkernel, p.tile, p.simd, p.box, p.records) == (
        "fft", None, None, None, None, ())
    assert "numpy.fft" in str(p)


def test_plan_fields_and_text_agree():
    p = pyconvx.plan((2, 16, 30, 31), (24, 16, 3, 3), padding=1, algorithm="gemm",
                     dtype=np.float64)
    assert p.algorithm == "direct" and p.dtype == "float64" and p.microkernel == "gemm"
    assert p.simd == dispatch.active_level()
    assert len(p.box) == 2 and all(1 <= b <= o for b, o in zip(p.box, (30, 31)))
    rows, cols = p.tile
    assert f"gemm {rows}x{cols} ({p.simd}), output box {p.box}" in str(p)
    assert p.flops == 2 * 2 * 24 * 16 * 9 * 30 * 31


def test_plan_follows_the_simd_level_of_the_thread():
    for level in dispatch.available_levels():
        with dispatch.forced_simd(level):
            p = pyconvx.plan((1, 8, 20, 20), (16, 8, 3, 3), padding=1, algorithm="gemm")
        assert p.simd == level and p.records[0].fields["level"] == dispatch.LEVEL_NAMES.index(level)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_weight_blocks_fit_their_cache_target(dtype):
    """Large weights are split into blocks of output channels that fit
    WEIGHT_BLOCK_TARGET_BYTES (every tile of a box reads its block again); an
    in-place 1x1 layer is split only when its weights exceed
    INPLACE_WEIGHT_BLOCK_BYTES."""
    from pyconvx._engine import plan as planner

    for level in dispatch.available_levels():
        with dispatch.forced_simd(level):
            p = pyconvx.plan((1, 512, 14, 14), (512, 512, 3, 3), padding=1, dtype=dtype)
            f = p.records[0].fields
            block = f["panels_per_block"] * f["mr"] * f["K"] * np.dtype(dtype).itemsize
            assert block <= planner.WEIGHT_BLOCK_TARGET_BYTES, level
            assert f["m_blocks"] * f["panels_per_block"] >= f["n_panels"]
            size = np.dtype(dtype).itemsize
            cin = 3 * planner.INPLACE_WEIGHT_BLOCK_BYTES // (4 * 256 * size)
            kept = pyconvx.plan((8, cin, 7, 7), (256, cin, 1, 1), dtype=dtype, threads=1,
                                algorithm="gemm")
            g = kept.records[0].fields
            assert g["inplace"] and g["m_blocks"] == 1, level
            assert g["panels_per_block"] * g["mr"] * g["K"] * size > (
                planner.WEIGHT_BLOCK_TARGET_BYTES)
            split = pyconvx.plan((8, 4096, 7, 7), (512, 4096, 1, 1), dtype=dtype, threads=1,
                                 algorithm="gemm")
            g = split.records[0].fields
            block = g["panels_per_block"] * g["mr"] * g["K"] * size
            assert g["inplace"] and block <= planner.WEIGHT_BLOCK_TARGET_BYTES, level
            assert g["m_blocks"] * g["panels_per_block"] >= g["n_panels"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_pointwise_weights_give_the_sums_of_the_whole(dtype, rng):
    """An in-place pointwise layer with weights over INPLACE_WEIGHT_BLOCK_BYTES,
    split into blocks of output channels, matches a matrix product, with the
    same bits for every thread count."""
    from pyconvx._engine import plan as planner

    cin, cout = 1024, 320
    assert cin * cout * np.dtype(dtype).itemsize > planner.INPLACE_WEIGHT_BLOCK_BYTES
    x = rng.standard_normal((2, cin, 3, 5)).astype(dtype)
    w = rng.standard_normal((cout, cin, 1, 1)).astype(dtype)
    for level in dispatch.available_levels():
        with dispatch.forced_simd(level):
            f = pyconvx.plan(x, w, threads=2).records[0].fields
            assert f["inplace"] and f["m_blocks"] > 1, level
            one = pyconvx.conv2d(x, w, threads=1)
            two = pyconvx.conv2d(x, w, threads=2)
        np.testing.assert_array_equal(one, two)
        expected = np.einsum("oc,nchw->nohw", w[:, :, 0, 0].astype(np.float64),
                             x.astype(np.float64))
        np.testing.assert_allclose(one, expected, rtol=0, atol=1e-3 if dtype == np.float32
                                   else 1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_bands_take_their_scale_of_the_band_target(dtype):
    """The gemm kernel's box is halved until its band fits GEMM_BAND_SCALE x
    BAND_TARGET_BYTES (not BAND_TARGET_BYTES alone); the depthwise kernel's
    fits BAND_TARGET_BYTES."""
    from pyconvx._engine import plan as planner

    esize = np.dtype(dtype).itemsize
    target = planner.BAND_TARGET_BYTES
    for level in dispatch.available_levels():
        with dispatch.forced_simd(level):
            # 512 channels x 2 stride phases: 3199 samples need about 6.5 MB of band
            f = pyconvx.plan((1, 512, 3199), (512, 512, 3), stride=2, dtype=dtype,
                             threads=1).records[0].fields
            assert f["kind"] == planner.Kind.GEMM
            assert 1.5 * target < f["band_elems"] * esize <= planner.GEMM_BAND_SCALE * target
            # one plane of 400x400 fits the larger target but not BAND_TARGET_BYTES
            d = pyconvx.plan((1, 64, 400, 400), (64, 1, 3, 3), padding=1, groups=64,
                             dtype=dtype, threads=1).records[0].fields
            assert d["kind"] == planner.Kind.DEPTHWISE
            assert d["band_elems"] * esize <= target and d["box"][0] < 400, level


def test_winograd_plans_an_image_of_billions_of_rows():
    """The rows of Winograd's box are found by bisection (a row-by-row search took
    minutes for 2**32 rows); its bytes fit the target and the box keeps whole tiles."""
    p = pyconvx.plan((2, 2**32 + 3, 36), (2, 2, 3, 3), algorithm="winograd", threads=2)
    assert p.algorithm == "winograd" and p.box[0] % 2 == 0 and 2 <= p.box[0] < 2**20
    assert p.workspace_bytes < 64 * 2**20
    # without channels the box is sized as for one channel (its tables follow the box;
    # it held the whole image and the choice among its row counts ran for minutes)
    for x_shape, w_shape in (((2, 0, 2**31 - 1, 3), (0, 0, 3, 3)),
                             ((2, 0, 2**31 - 1, 3), (4, 0, 3, 3))):
        p = pyconvx.plan(x_shape, w_shape, groups=2, padding_mode="circular",
                         algorithm="winograd", threads=20, dtype="float64")
        assert p.algorithm == "winograd" and 2 <= p.box[0] < 2**20
        assert p.workspace_bytes < 64 * 2**20


@pytest.mark.parametrize("forced", ["auto", "gemm", "row", "fast"])
@pytest.mark.parametrize("x_shape, w_shape", [
    ((0, 1, 1048576), (1, 1, 1)),
    ((0, 3, 5, 5), (4, 3, 3, 3)),
    ((0, 16, 9, 9, 9), (32, 16, 1, 1, 1)),
])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_an_empty_batch_plans_no_work_units(x_shape, w_shape, forced, threads):
    """No images: no work unit, whatever the thread count (the split of the
    output channels into rounds of the threads has nothing to divide)."""
    p = pyconvx.plan(x_shape, w_shape, algorithm=forced, threads=threads)
    assert p.work_units == 0


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_few_units_make_whole_rounds_of_even_blocks(threads):
    """One box of one image: the output channels go in blocks of panels split
    as evenly as they go, as many blocks as make whole rounds of the threads."""
    p = pyconvx.plan((1, 256, 28, 28), (512, 256, 3, 3), padding=1, threads=threads)
    fields = p.records[0].fields
    assert p.work_units % threads == 0
    panels = [(b + 1) * fields["n_panels"] // fields["m_blocks"]
              - b * fields["n_panels"] // fields["m_blocks"] for b in range(fields["m_blocks"])]
    assert max(panels) - min(panels) <= 1
    assert max(panels) <= fields["panels_per_block"]


@pytest.mark.parametrize("tile", ["gemm", "cgemm"])
@pytest.mark.parametrize("threads", [2, 3, 4])
def test_threads_get_boxes_of_their_own_where_the_band_outweighs_the_weights(tile, threads):
    """Threads that share a box each build its band; threads with boxes of
    their own each read all the weights.  Few channels on a large image (a
    band larger than the weights): at least a box per thread.  Many channels
    on a small image: one box, the channels split into blocks (four per
    thread)."""
    from pyconvx._engine.plan import make_plan
    from pyconvx.shapes import describe_conv

    for level in (dispatch.LEVEL_NAMES.index(name) for name in dispatch.compiled_levels()):
        thin = make_plan(describe_conv((1, 64, 56, 56), (64, 64, 3, 3), padding=1),
                         np.float32, threads=threads, algorithm=tile, level=level)
        # (the whole image's band, 64 planes of 58x58, is about 6 times the weights)
        assert thin.records[0].fields["box_count"] >= threads
        deep = make_plan(describe_conv((1, 512, 7, 7), (512, 512, 3, 3), padding=1),
                         np.float32, threads=2, algorithm=tile, level=level)
        fields = deep.records[0].fields
        assert fields["box_count"] == 1 and fields["m_blocks"] >= 8


@pytest.mark.parametrize("threads", [1, 2])
def test_in_place_pointwise_layers_share_rows_not_channels_where_x_outweighs_the_weights(
        threads):
    """A pointwise layer reads x in place, and each block of output channels
    reads its rows again.  Where those rows outgrow the band's share of the
    cache and outweigh the weights (256->64 at 56x56, one image), the threads
    get equal boxes of rows, one block each, whose last tile wastes at most
    INPLACE_BOX_MAX_WASTE of its columns; where the weights outweigh x
    (1024->256 at 14x14), the channels are split into blocks as before."""
    from pyconvx._engine.plan import INPLACE_BOX_MAX_WASTE, make_plan
    from pyconvx.shapes import describe_conv

    for level in (dispatch.LEVEL_NAMES.index(name) for name in dispatch.compiled_levels()):
        thin = make_plan(describe_conv((1, 256, 56, 56), (64, 256, 1, 1)),
                         np.float32, threads=threads, level=level, algorithm="gemm")
        fields = thin.records[0].fields
        rows, nr = fields["box"][0], thin.tile[1]
        assert fields["inplace"] and fields["m_blocks"] == 1, fields
        assert fields["box"][1] == 56 and 56 % rows == 0 and fields["box_count"] >= 4 * threads
        assert 1 - rows * 56 / (-(-rows * 56 // nr) * nr) <= INPLACE_BOX_MAX_WASTE
        deep = make_plan(describe_conv((1, 1024, 14, 14), (256, 1024, 1, 1)),
                         np.float32, threads=threads, level=level, algorithm="gemm")
        fields = deep.records[0].fields
        assert fields["m_blocks"] >= 4 * threads


def test_auto_takes_the_channel_tile_where_the_gemm_tile_computes_in_vain():
    """With the AVX-512 set, deep layers on small images at batch 8 (the gemm
    tile would compute the band's border columns and round 49 positions up to
    64) take the channel tile; one image does not pay for packing the weights,
    a large image wastes too little, a short reduction is bound by the stores,
    fewer channels than a panel waste its lanes; a channels-last output tips
    the balance (the gemm tile scatters it).  With AVX2 the same, except
    channels-first pointwise layers; the portable set keeps the gemm tile.
    Planned for each compiled set, whatever this CPU runs."""
    from pyconvx._engine.plan import make_plan
    from pyconvx.shapes import describe_conv

    def kernel(level, x_shape, w_shape, dtype=np.float32, **kwargs):
        geometry = describe_conv(x_shape, w_shape, **kwargs)
        return make_plan(geometry, dtype, threads=2, level=level).microkernel

    for name in dispatch.compiled_levels():
        level = dispatch.LEVEL_NAMES.index(name)
        deep = kernel(level, (8, 512, 7, 7), (512, 512, 3, 3), padding=1)
        assert deep == ("gemm" if name == "generic" else "cgemm"), name
        last = kernel(level, (8, 56, 56, 64), (64, 64, 1, 1), data_format="channels_last")
        assert last == ("gemm" if name == "generic" else "cgemm"), name
        # channels-first pointwise layers: on AVX-512 only (AVX2's tile loses there)
        pointwise = kernel(level, (8, 2048, 7, 7), (512, 2048, 1, 1))
        assert pointwise == ("cgemm" if name == "avx512" else "gemm"), name
        if name != "avx512":
            continue
        assert kernel(level, (8, 256, 14, 14), (256, 256, 3, 3), padding=1) == "cgemm"
        assert kernel(level, (8, 2048, 7, 7), (512, 2048, 1, 1)) == "cgemm"
        assert kernel(level, (8, 512, 7, 7), (512, 512, 3, 3), np.float64, padding=1) == "cgemm"
        assert kernel(level, (1, 512, 7, 7), (512, 512, 3, 3), padding=1) == "gemm"
        assert kernel(level, (8, 64, 56, 56), (64, 64, 3, 3), padding=1) == "gemm"
        assert kernel(level, (8, 1024, 14, 14), (256, 1024, 1, 1)) == "gemm"
        assert kernel(level, (8, 56, 56, 64), (64, 64, 3, 3), padding=1,
                      data_format="channels_last") == "cgemm"
        assert kernel(level, (8, 16, 7, 7), (512, 16, 3, 3), padding=1) == "gemm"   # K = 144
        assert kernel(level, (8, 512, 7, 7), (48, 512, 3, 3), padding=1) == "gemm"  # < 64 channels
        # weights whose packed copy would pass the workspace limit stay in place
        assert kernel(level, (8, 2048, 7, 7), (2048, 2048, 3, 3), padding=1) == "gemm"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_tile_blocks_fit_their_cache_targets(dtype):
    """The channel tile's weight blocks (NR channels x K per panel) aim for
    WEIGHT_BLOCK_TARGET_BYTES, its reduction blocks of packed weights for
    CGEMM_KC_TARGET_BYTES, and the sums of a box for CGEMM_TILES_TARGET_BYTES;
    the packed weights are every panel's, NR channels per reduction row."""
    from pyconvx._engine import plan as planner

    size = np.dtype(dtype).itemsize
    for level in dispatch.available_levels():
        with dispatch.forced_simd(level):
            for x_shape, w_shape in [((8, 512, 28, 28), (512, 512, 3, 3)),
                                     ((2, 64, 200, 200), (96, 64, 3, 3)),
                                     ((8, 2048, 7, 7), (520, 2048, 1, 1))]:
                p = pyconvx.plan(x_shape, w_shape, padding=w_shape[-1] // 2, dtype=dtype,
                                 algorithm="cgemm")
                f = p.records[0].fields
                mr, nr, K = f["mr"], f["nr"], f["K"]
                assert p.microkernel == "cgemm" and p.tile == (mr, nr)
                panel = nr * K * size
                assert (f["panels_per_block"] == 1
                        or f["panels_per_block"] * panel <= planner.WEIGHT_BLOCK_TARGET_BYTES)
                assert f["m_blocks"] * f["panels_per_block"] >= f["n_panels"]
                assert f["n_panels"] == -(-w_shape[0] // nr)
                assert f["kc"] * nr * size <= planner.CGEMM_KC_TARGET_BYTES or f["kc"] <= 8
                sums = np.prod(f["box"]) * f["panels_per_block"] * nr * size
                assert sums <= planner.CGEMM_TILES_TARGET_BYTES or np.prod(f["box"]) <= 2 * x_shape[-1]
                assert f["packed_elems"] == f["n_panels"] * K * nr


def test_channel_tile_keeps_a_channels_last_band_where_it_can():
    """2-d, stride 1, a zero or constant border, channels-last x: the channel
    tile's band keeps x's layout (a position's channels together); other
    borders, strides and layouts build the channels-first band."""
    def band_channels_last(x_shape, **kwargs):
        p = pyconvx.plan(x_shape, (64, 16, 3, 3), algorithm="cgemm", **kwargs)
        return p.records[0].fields["band_channels_last"]

    assert band_channels_last((2, 9, 9, 16), padding=1, data_format="channels_last")
    assert band_channels_last((2, 9, 9, 16), padding=1, data_format="channels_last",
                              padding_mode="constant", padding_value=2.0)
    assert not band_channels_last((2, 9, 9, 16), padding=1, data_format="channels_last",
                                  padding_mode="reflect")
    assert not band_channels_last((2, 9, 9, 16), padding=1, stride=2,
                                  data_format="channels_last")
    assert not band_channels_last((2, 16, 9, 9), padding=1)


def test_a_call_wakes_only_the_threads_its_work_pays_for():
    """Waking a sleeping OpenMP thread costs tens to hundreds of microseconds,
    and the call waits for it: a problem gets one thread per PARALLEL_MIN_WORK
    of work (its FLOPs, float64's counted twice, and the bytes it moves), never
    more than it was given nor fewer than one; conv, pyconvx.plan and the
    plan cache agree, and the bits are those of one thread."""
    from pyconvx._engine import plan as _plan
    from pyconvx.shapes import describe_conv

    tiny = describe_conv((1, 192, 14, 14), (64, 192, 1, 1))
    large = describe_conv((1, 256, 56, 56), (256, 256, 3, 3), padding=1)
    assert _plan.threads_worth_waking(tiny, np.float32, 2) == 1
    assert _plan.threads_worth_waking(large, np.float32, 2) == 2
    assert _plan.threads_worth_waking(large, np.float32, 1) == 1
    many = _plan.threads_worth_waking(large, np.float32, 10**6)   # 3.7 GFLOP, 9 MB
    assert large.flops // _plan.PARALLEL_MIN_WORK <= many <= 1.1 * large.flops // _plan.PARALLEL_MIN_WORK
    counts = [_plan.threads_worth_waking(describe_conv((n, 64, 28, 28), (64, 64, 3, 3),
                                                       padding=1), np.float32, 64)
              for n in (1, 2, 4, 8, 16)]
    assert counts == sorted(counts) and counts[0] >= 1 and counts[-1] > counts[0]
    f32 = [_plan.threads_worth_waking(describe_conv((1, c, 14, 14), (c, c, 1, 1)), np.float32, 2)
           for c in range(64, 512, 8)]
    f64 = [_plan.threads_worth_waking(describe_conv((1, c, 14, 14), (c, c, 1, 1)), np.float64, 2)
           for c in range(64, 512, 8)]
    assert f32.count(1) > f64.count(1) > 0   # float64 pays for a thread sooner
    assert pyconvx.plan((1, 192, 14, 14), (64, 192, 1, 1), threads=2).threads == 1
    assert _plan.cached_plan(tiny, np.float32, threads=2).threads == 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 192, 14, 14)).astype(np.float32)
    w = rng.standard_normal((64, 192, 1, 1)).astype(np.float32)
    assert pyconvx.conv(x, w, threads=2).tobytes() == pyconvx.conv(x, w, threads=1).tobytes()
