"""Every computation path of the engine against the float64 reference.

The grid of odd-shaped problems, every ``algorithm=``, every padding mode,
every compiled SIMD set, thread counts, hypothesis-generated problems, and
the path-specific cases (pointwise layers read in place, the depthwise
kernel's widths and boxes, Winograd under "auto").
"""

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pyconvx
from pyconvx._engine import direct, dispatch
from pyconvx._engine.plan import make_plan

from _problems import (
    ALGORITHMS,
    GRID,
    GRID_IDS,
    LAYOUTS,
    applicable,
    conv_or_refusal,
    make_problem,
    mode_allowed,
)
from _reference import (
    PADDING_MODES,
    assert_bitwise_equal,
    assert_matches_reference,
    canonical_pads,
    conv_reference,
    mode_kwargs,
    pad_reference,
    transform_algorithm,
)
from conftest import TESTS_DIR, forced_level, simd_levels


def _probe_case_in_subprocess(case):
    """Run one grid case (float64 and float32) in a child; True if it crashes or corrupts."""
    _name, x_shape, w_shape, kwargs = case
    code = textwrap.dedent(f"""
        import sys, gc
        sys.path.insert(0, {TESTS_DIR!r})
        import numpy as np, pyconvx
        from _reference import assert_matches_reference
        for dtype in (np.float64, np.float32):
            rng = np.random.default_rng(0)
            x = rng.standard_normal({x_shape!r}).astype(dtype)
            w = rng.standard_normal({w_shape!r}).astype(dtype)
            x0, w0 = x.copy(), w.copy()
            got = pyconvx.conv(x, w, **{kwargs!r})
            assert (x == x0).all() and (w == w0).all(), "inputs modified"
            assert_matches_reference(got, x, w, **{kwargs!r})
            del got
            gc.collect()
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return result.returncode != 0 or result.stdout.strip() != "ok"


def _crashing_cases(cases):
    """Large cases are first run in children, so a heap-corrupting core cannot kill the suite."""
    big = [c for c in cases if int(np.prod(c[1])) >= 10_000]
    with ThreadPoolExecutor(max_workers=2) as pool:
        flags = list(pool.map(_probe_case_in_subprocess, big))
    return {case[0] for case, crashed in zip(big, flags) if crashed}


CRASHING = _crashing_cases(GRID)


def test_no_grid_case_crashes_in_a_child_process():
    """Regression: a box-rounding bug once let the engine write past the output."""
    assert not CRASHING, f"grid cases that crash or corrupt memory in a child: {sorted(CRASHING)}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_grid_vs_reference(case, dtype, algorithm, rng):
    _name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
    got = conv_or_refusal(algorithm, x, w, b, **kwargs)
    if got is None:
        return
    assert got.dtype == dtype
    assert got.flags.c_contiguous
    assert_matches_reference(
        got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs
    )


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("case", [c for c in GRID if c[3].get("padding", 0) not in (0, "valid")],
                         ids=[c[0] for c in GRID if c[3].get("padding", 0) not in (0, "valid")])
def test_grid_padding_modes(case, mode, rng):
    _name, x_shape, w_shape, kwargs = case
    if not mode_allowed(mode, x_shape, w_shape, kwargs):
        with pytest.raises(ValueError, match=f"padding_mode='{mode}' needs padding"):
            pyconvx.conv(*make_problem(rng, x_shape, w_shape), **mode_kwargs(mode), **kwargs)
        return
    x, w, b = make_problem(rng, x_shape, w_shape)
    got = pyconvx.conv(x, w, b, **mode_kwargs(mode), **kwargs)
    assert_matches_reference(got, x, w, b, **mode_kwargs(mode), **kwargs)


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("case", GRID[:12] + GRID[15:19] + GRID[30:33], ids=GRID_IDS[:12] + GRID_IDS[15:19] + GRID_IDS[30:33])
def test_grid_modes_every_algorithm(case, mode, algorithm, rng):
    _name, x_shape, w_shape, kwargs = case
    if not mode_allowed(mode, x_shape, w_shape, kwargs):
        return   # the refusal is tested by test_grid_padding_modes
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
    got = conv_or_refusal(algorithm, x, w, b, **mode_kwargs(mode), flip=True, **kwargs)
    if got is None:
        return
    assert_matches_reference(
        got, x, w, b, **mode_kwargs(mode), flip=True,
        normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs,
    )


def test_every_algorithm_accepts_some_grid_problem(rng):
    """Each explicit path must actually run somewhere in the grid (not refuse everything)."""
    for algorithm in ALGORITHMS:
        accepted = []
        for name, x_shape, w_shape, kwargs in GRID:
            x, w, b = make_problem(rng, x_shape, w_shape)
            got = conv_or_refusal(algorithm, x, w, b, **kwargs)
            if got is None:
                continue
            accepted.append(name)
            assert_matches_reference(
                got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs
            )
        assert accepted, f"algorithm {algorithm!r} refused every grid problem"


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("case", GRID[:10] + GRID[30:34], ids=GRID_IDS[:10] + GRID_IDS[30:34])
def test_grid_core_over_simd_levels(case, flip, simd, rng):
    _name, x_shape, w_shape, kwargs = case
    for dtype in (np.float32, np.float64):
        x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
        got = pyconvx.conv(x, w, b, flip=flip, **kwargs)
        assert_matches_reference(
            got, x, w, b, flip=flip, normwise=transform_algorithm("auto", ALGORITHMS), **kwargs
        )


def test_simd_levels_agree_with_each_other(rng):
    levels = simd_levels()
    x, w, b = make_problem(rng, (2, 3, 19, 21), (4, 3, 3, 3), dtype=np.float32)
    results = {}
    for level in levels:
        with forced_level(level):
            results[level] = pyconvx.conv(x, w, b, padding=1)
        assert_matches_reference(results[level], x, w, b, padding=1)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_flip_is_correlation_with_rotated_kernel(case, rng):
    _name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape)
    ndim = len(w_shape) - 2
    rotated = np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim])
    got = pyconvx.conv(x, w, b, flip=True, **kwargs)
    assert_matches_reference(got, x, w, b, flip=True, **kwargs)
    assert_matches_reference(pyconvx.conv(x, rotated, b, **kwargs), x, w, b, flip=True, **kwargs)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_threads_bitwise_equal(case, algorithm, rng):
    _name, x_shape, w_shape, kwargs = case
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=np.float32)
    serial = conv_or_refusal(algorithm, x, w, b, threads=1, **kwargs)
    if serial is None:
        return
    for threads in (2, 3):
        assert_bitwise_equal(pyconvx.conv(x, w, b, threads=threads, algorithm=algorithm, **kwargs), serial)
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=None, algorithm=algorithm, **kwargs), serial)


# ----------------------------------------------------------------------------- hypothesis
import hypothesis  # noqa: E402
from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def problems(draw):
    ndim = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 3))
    c_out = groups * draw(st.integers(1, 3))
    batch = draw(st.integers(1, 3))
    unbatched = draw(st.booleans())
    max_size = {1: 20, 2: 10, 3: 6}[ndim]
    spatial = tuple(draw(st.integers(1, max_size)) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    kind = draw(st.sampled_from(["int", "per-dim", "pairs", "valid", "same", "full"]))
    if kind == "int":
        padding = draw(st.integers(0, 3))
    elif kind == "per-dim":
        padding = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    elif kind == "pairs":
        padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
    else:
        padding = kind
    mode = draw(st.sampled_from(PADDING_MODES))
    pads = canonical_pads(padding, spatial, kernel, stride, dilation)
    for n, (lo, hi) in zip(spatial, pads):
        assume(mode != "reflect" or max(lo, hi) < n)
        assume(mode not in ("circular", "symmetric") or max(lo, hi) <= n)
    for n, k, d, (lo, hi) in zip(spatial, kernel, dilation, pads):
        assume(d * (k - 1) + 1 <= n + lo + hi)
    x_shape = ((c_in,) if unbatched else (batch, c_in)) + spatial
    w_shape = (c_out, c_in // groups) + kernel
    kwargs = dict(
        stride=stride if draw(st.booleans()) else stride[0] if len(set(stride)) == 1 else stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        **mode_kwargs(mode),
        flip=draw(st.booleans()),
    )
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return x_shape, w_shape, kwargs, dtype, bias, seed


@given(problems())
def test_hypothesis_vs_reference(problem):
    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    got = pyconvx.conv(x, w, b, **kwargs)
    assert got.dtype == dtype
    assert_matches_reference(got, x, w, b, normwise=transform_algorithm("auto", ALGORITHMS), **kwargs)
    # output_shape agrees with conv, without arrays
    shape_kwargs = {k: v for k, v in kwargs.items() if k != "flip"}
    assert pyconvx.output_shape(x_shape, w_shape, **shape_kwargs) == got.shape


@given(problems(), st.sampled_from(list(LAYOUTS)))
def test_hypothesis_layouts_and_threads(problem, layout):
    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    expected = pyconvx.conv(x, w, b, threads=1, **kwargs)
    transform = LAYOUTS[layout]
    args = (transform(x), transform(w), None if b is None else transform(b))
    try:
        got = pyconvx.conv(*args, threads=2, **kwargs)
    except TypeError as exc:  # byte-swapped may be refused with a TypeError
        assert layout == "byte-swapped" and "has dtype >" in str(exc), exc
        return
    assert_bitwise_equal(got, expected)


@given(problems(), st.sampled_from(ALGORITHMS))
def test_hypothesis_every_algorithm(problem, algorithm):
    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    got = conv_or_refusal(algorithm, x, w, b, **kwargs)
    if got is None:
        return
    assert_matches_reference(got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS), **kwargs)


@st.composite
def big_problems(draw):
    """Channel counts and sizes that cross the microkernel tiles (remainders everywhere)."""
    ndim = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c_in = groups * draw(st.integers(1, 24))
    c_out = groups * draw(st.integers(1, 40))
    batch = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(8, 300 if ndim == 1 else 40)) for _ in range(ndim))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    padding = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
    mode = draw(st.sampled_from(PADDING_MODES))
    x_shape = (batch, c_in) + spatial
    w_shape = (c_out, c_in // groups) + kernel
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                  **mode_kwargs(mode), flip=draw(st.booleans()))
    return x_shape, w_shape, kwargs, draw(st.sampled_from([np.float32, np.float64])), True, draw(
        st.integers(0, 2**32 - 1))


@hypothesis.settings(max_examples=max(1, hypothesis.settings().max_examples // 2))
@given(big_problems())
def test_hypothesis_big_every_algorithm_and_level(problem):
    x_shape, w_shape, kwargs, dtype, bias, seed = problem
    x, w, b = make_problem(np.random.default_rng(seed), x_shape, w_shape, bias=bias, dtype=dtype)
    reference = None
    for algorithm in ALGORITHMS:
        got = conv_or_refusal(algorithm, x, w, b, threads=2, **kwargs)
        if got is None:
            continue
        assert_matches_reference(got, x, w, b, normwise=transform_algorithm(algorithm, ALGORITHMS),
                                 **kwargs)
        if algorithm == "auto":
            reference = got
    for level in simd_levels():
        with forced_level(level):
            got = pyconvx.conv(x, w, b, threads=3, **kwargs)
        assert_matches_reference(got, x, w, b, **kwargs)
    # one thread gives the same bits as several
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=1, **kwargs), reference)


def _winograd_tile_bound(x, w, bias, padding_kwargs, dtype):
    """The documented bound of Winograd F(2x2,3x3): K * eps * sum over input channels of
    max|w[co, ci]| * sum of |x| over the output's 4x4 input tile (padded as the mode says)."""
    n, c_in, h, wd = x.shape
    pads = ((0, 0), (0, 0), (1, 3), (1, 3))   # padding 1, then whole 2x2 tiles
    mode = padding_kwargs.get("padding_mode", "zeros")
    padded = pad_reference(np.abs(x.astype(np.float64)), ((1, 1), (1, 1)), mode,
                           abs(padding_kwargs.get("padding_value", 0.0)))
    padded = np.pad(padded, ((0, 0), (0, 0), (0, pads[2][1] - 1), (0, pads[3][1] - 1)))
    tiles = np.zeros((n, c_in, h, wd))
    for i in range(h):
        for j in range(wd):
            ti, tj = (i // 2) * 2, (j // 2) * 2
            tiles[:, :, i, j] = padded[:, :, ti:ti + 4, tj:tj + 4].sum(axis=(2, 3))
    w_max = np.abs(w.astype(np.float64)).reshape(w.shape[0], c_in, 9).max(axis=2)
    scale = np.einsum("ncij,oc->noij", tiles, w_max) + np.abs(bias).reshape(1, -1, 1, 1)
    return (c_in * 9 + 1) * np.finfo(dtype).eps * scale


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_fast_takes_winograd_within_its_tile_bound(mode, dtype, rng):
    """'fast' picks Winograd F(2x2,3x3) for large 3x3 layers; it keeps the documented
    tile-wide bound (not the per-output one), and the bits of every thread count."""
    x, w, b = make_problem(rng, (2, 24, 37, 70), (20, 24, 3, 3), dtype=dtype)
    x[:, :, ::3] *= 1e4    # large magnitudes next to small ones: cancellation
    kwargs = dict(padding=1, **mode_kwargs(mode))
    plan = pyconvx.plan(x, w, algorithm="fast", **kwargs)
    assert (plan.algorithm, plan.error_bound) == ("winograd", "tile")
    got = pyconvx.conv(x, w, b, threads=1, algorithm="fast", **kwargs)
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=2, algorithm="fast", **kwargs), got)
    exact = conv_reference(x, w, b, **kwargs)
    assert (np.abs(got - exact) <= _winograd_tile_bound(x, w, b, kwargs, dtype)).all()


def test_auto_keeps_the_window_bound_where_winograd_cannot():
    """Large values next to a window cancel small ones inside Winograd's tile: 'auto'
    stays exact where 'winograd' returns 0 for 1 (a one-tap shift kernel)."""
    x = np.ones((1, 16, 32, 32), np.float32)
    x[..., 2::4] = 1e8
    w = np.zeros((16, 16, 3, 3), np.float32)
    w[np.arange(16), np.arange(16), 0, 0] = 1      # out[i, j] = x[i - 1, j - 1]
    plan = pyconvx.plan(x, w, padding=1)
    assert (plan.algorithm, plan.error_bound) == ("direct", "elementwise")
    got = pyconvx.conv(x, w, padding=1)
    exact = conv_reference(x, w, padding=1)
    np.testing.assert_array_equal(got, exact.astype(np.float32))
    winograd = pyconvx.conv(x, w, padding=1, algorithm="winograd")
    assert (winograd[..., 1:, 1:] != got[..., 1:, 1:]).any()   # why it is opt-in


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_auto_keeps_nonfinite_values_in_their_windows(value):
    """Where 'fast' would take Winograd (inf - inf inside its transforms), 'auto'
    gives inf (or NaN) exactly in the outputs whose window holds the value."""
    x = np.ones((2, 16, 20, 20), np.float32)
    x[0, 3, 9, 11] = value
    w = np.abs(np.random.default_rng(1).standard_normal((16, 16, 3, 3))).astype(np.float32)
    assert pyconvx.plan(x, w, padding=1, algorithm="fast").algorithm == "winograd"
    got = pyconvx.conv(x, w, padding=1)
    window = np.zeros((20, 20), bool)
    window[8:11, 10:13] = True
    for co in range(16):
        if np.isnan(value):
            assert np.isnan(got[0, co][window]).all()
        else:
            assert (got[0, co][window] == value).all()
        assert np.isfinite(got[0, co][~window]).all()
    assert np.isfinite(got[1]).all()


@pytest.mark.parametrize("x_shape, w_shape, groups", [
    ((2, 7, 57), (5, 7, 1), 1),                 # 1-d, a partial last tile
    ((3, 16, 28, 28), (24, 16, 1, 1), 1),       # 784 pixels: tiles end mid-row
    ((1, 6, 5, 3), (10, 3, 1, 1), 2),           # fewer pixels than one tile, groups
    ((2, 4, 3, 5, 7), (11, 4, 1, 1, 1), 1),     # 3-d
    ((1, 3, 1, 1), (2, 3, 1, 1), 1),            # one pixel
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout", ["contiguous", "channel-strided", "batch-strided"])
def test_pointwise_reads_x_in_place(x_shape, w_shape, groups, dtype, layout, rng):
    """1x1 layers read x in place (no band copy); tiles reaching past a box use a
    zero-padded copy, so nothing is read past x.  Any channel or batch stride."""
    x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
    if layout == "channel-strided":   # every other channel of a wider array
        wide = rng.standard_normal((x_shape[0], 2 * x_shape[1]) + x_shape[2:]).astype(dtype)
        x = wide[:, ::2]
    elif layout == "batch-strided":
        x = np.concatenate([x, x], axis=1)[:, :x_shape[1]]
    plan = pyconvx.plan(x, w, groups=groups)
    if plan.algorithm == "direct" and plan.microkernel in ("gemm", "row"):
        assert plan.records[0].fields["inplace"]
    got = {t: pyconvx.conv(x, w, b, groups=groups, threads=t) for t in (1, 2, 3)}
    assert_matches_reference(got[1], x, w, b, groups=groups)
    assert_bitwise_equal(got[2], got[1])
    assert_bitwise_equal(got[3], got[1])
    flipped = pyconvx.conv(x, w, b, groups=groups, flip=True)   # 1x1: flip changes nothing
    assert_bitwise_equal(flipped, got[1])


# (x shape, kernel, conv kwargs): narrow and wide rows around every vector length
# (1..40 columns), kernels 1..7, stride 1 and 2, dilation, asymmetric padding.
DEPTHWISE_CASES = [
    ((2, 3, 5, 1), (1, 1), {}),
    ((1, 4, 6, 2), (3, 3), dict(padding=1)),
    ((2, 5, 9, 7), (3, 3), dict(padding=1)),
    ((1, 3, 8, 8), (3, 3), dict(padding=1, stride=2)),
    ((2, 6, 11, 15), (5, 5), dict(padding=2)),
    ((1, 4, 13, 16), (3, 3), dict(padding=1)),
    ((1, 3, 12, 17), (7, 7), dict(padding=3)),
    ((3, 7, 10, 23), (3, 5), dict(padding=(1, 2), stride=(1, 2))),
    ((1, 5, 14, 28), (3, 3), dict(padding=1)),
    ((1, 4, 9, 31), (3, 3), dict(padding=2, dilation=2)),
    ((2, 3, 16, 33), (5, 5), dict(padding=2, stride=2)),
    ((1, 2, 7, 40), (7, 7), dict(padding=3)),
    ((1, 3, 21, 40), (3, 3), dict(padding=((0, 2), (1, 0)), stride=(2, 1), dilation=(1, 3))),
    ((1, 2, 30, 37), (4, 2), dict(padding="same")),
    ((2, 40, 28, 28), (3, 3), dict(padding=1)),
]


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", DEPTHWISE_CASES,
                         ids=[f"{c[0]}-k{c[1]}-{c[2]}" for c in DEPTHWISE_CASES])
def test_depthwise_kernel_vs_reference(case, dtype, mode, rng):
    """algorithm='depthwise' (and 'auto', which picks it for these shapes unless the
    rows are wide enough for 'rowblock'): every padding mode, bias, flip, threads 1/2/3
    bitwise, every SIMD level."""
    x_shape, kernel, kwargs = case
    channels = x_shape[1]
    kwargs = dict(kwargs, groups=channels)
    if not mode_allowed(mode, x_shape, (channels, 1) + kernel, kwargs):
        pytest.skip("padding too large for this mode")
    kwargs["padding_mode"] = mode
    x, w, b = make_problem(rng, x_shape, (channels, 1) + kernel, dtype=dtype)
    assert pyconvx.plan(x, w, algorithm="depthwise", **kwargs).microkernel == "depthwise"
    for flip, bias in ((False, b), (True, None)):
        got = pyconvx.conv(x, w, bias, flip=flip, threads=1, algorithm="depthwise", **kwargs)
        assert_matches_reference(got, x, w, bias, flip=flip, **kwargs)
        for threads in (2, 3):
            assert_bitwise_equal(pyconvx.conv(x, w, bias, flip=flip, threads=threads,
                                              algorithm="depthwise", **kwargs), got)
    for level in simd_levels():
        with forced_level(level):
            got = pyconvx.conv(x, w, b, threads=2, algorithm="depthwise", **kwargs)
        assert_matches_reference(got, x, w, b, **kwargs)


def test_depthwise_kernel_strided_input_and_boxes(rng):
    """Non-contiguous input (the general band copy) and a plane split into row boxes
    (large image) give the bits of the contiguous, whole-plane run."""
    x, w, b = make_problem(rng, (1, 2, 1500, 100), (2, 1, 3, 3), dtype=np.float32)
    kwargs = dict(padding=1, groups=2, algorithm="depthwise")
    p = pyconvx.plan(x, w, **kwargs)
    assert p.microkernel == "depthwise" and p.work_units > 2
    got = pyconvx.conv(x, w, b, **kwargs)
    assert_matches_reference(got, x, w, b, padding=1, groups=2)
    wide = np.zeros((1, 2, 1500, 200), np.float32)
    wide[..., ::2] = x
    assert_bitwise_equal(pyconvx.conv(wide[..., ::2], w, b, **kwargs), got)
    assert_bitwise_equal(pyconvx.conv(x, w, b, threads=3, **kwargs), got)


@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize("kernel,padding", [((5, 5), 2), ((7, 7), ((3, 3), (1, 5))),
                                            ((3, 5), ((0, 2), (4, 0))), ((4, 4), "same")])
def test_depthwise_in_place_boxes_match_the_band(kernel, padding, mode, rng):
    """Row boxes whose input rows lie inside x read x in place (the band holds only
    the edge columns): every SIMD level, float32 and float64, widths around three
    vectors, bias and flip give the bits of the band path (a strided input) and of
    every thread count, within the reference's bound."""
    for dtype, width in ((np.float32, 47), (np.float32, 48), (np.float64, 24),
                         (np.float64, 51)):
        x, w, b = make_problem(rng, (1, 2, 2000, width), (2, 1) + kernel, dtype=dtype)
        kwargs = dict(padding=padding, groups=2, padding_mode=mode, algorithm="depthwise")
        if not mode_allowed(mode, x.shape, w.shape, kwargs):
            continue
        assert pyconvx.plan(x, w, **kwargs).work_units > 2   # boxes of rows
        strided = np.repeat(x, 2, axis=-1)[..., ::2]
        for level in simd_levels():
            with forced_level(level):
                for flip, bias in ((False, b), (True, None)):
                    got = pyconvx.conv(x, w, bias, flip=flip, threads=2, **kwargs)
                    assert_bitwise_equal(pyconvx.conv(strided, w, bias, flip=flip, threads=1,
                                                      **kwargs), got)
                    assert_bitwise_equal(pyconvx.conv(x, w, bias, flip=flip, threads=3,
                                                      **kwargs), got)
        assert_matches_reference(got, x, w, None, flip=True,
                                 **{k: v for k, v in kwargs.items() if k != "algorithm"})


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("stride,dilation", [((1, 1), 1), ((1, 2), 1), ((2, 2), 1), ((2, 2), 2),
                                             ((1, 3), (1, 2))])
def test_depthwise_every_width_1_to_40(stride, dilation, dtype, rng):
    """Every row width from 1 to 40 (around every vector length, the overlapping
    last vector and band, the partial stores, the strided gathers with their masked
    tails), zero and reflect padding, contiguous and strided input."""
    dil_w = dilation if isinstance(dilation, int) else dilation[1]
    for width in range(max(1, 2 * dil_w - 1), 41):  # the dilated kernel fits the padded row
        x, w, b = make_problem(rng, (1, 3, 9, width), (3, 1, 3, 3), dtype=dtype)
        for mode in ("zeros", "reflect"):
            kwargs = dict(stride=stride, dilation=dilation, padding=1, groups=3,
                          padding_mode=mode)
            if not mode_allowed(mode, x.shape, w.shape, kwargs):
                continue
            got = pyconvx.conv(x, w, b, algorithm="depthwise", threads=2, **kwargs)
            assert_matches_reference(got, x, w, b, **kwargs)
            assert_bitwise_equal(pyconvx.conv(x, w, b, algorithm="depthwise", threads=1,
                                              **kwargs), got)
            wide = np.repeat(x, 2, axis=-1)[..., ::2]
            assert wide.strides[-1] == 2 * x.itemsize
            assert_bitwise_equal(pyconvx.conv(wide, w, b, algorithm="depthwise", **kwargs), got)


LANES_CASES = [
    # (x shape, kernel, conv kwargs): channels that fill a vector's lanes and more (a
    # partial last block), strided along the rows
    ((2, 20, 14, 14), (3, 3), dict(stride=2, padding=1)),
    ((1, 33, 9, 17), (3, 3), dict(stride=(1, 2), padding=(0, 2))),
    ((2, 24, 16, 15), (5, 5), dict(stride=2, padding=2, dilation=(2, 1))),
    ((1, 17, 11, 12), (3, 2), dict(stride=(2, 3), padding=((1, 0), (2, 1)))),
    ((3, 40, 7, 7), (3, 3), dict(stride=2, padding=1, padding_mode="constant",
                                 padding_value=1.5)),
    ((1, 16, 5, 6), (1, 1), dict(stride=2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", LANES_CASES, ids=[f"{c[0]}-k{c[1]}" for c in LANES_CASES])
def test_depthwise_lanes_have_the_bits_of_the_planes_path(case, dtype, rng):
    """Strided depthwise layers with a vector's worth of channels run on lanes (the
    channels side by side): on every SIMD level each output has the bits of the
    planes path (each channel alone), with flip and bias, for 1-3 threads, channels-
    last and strided inputs, and outputs written through a strided ``out``."""
    x_shape, kernel, kwargs = case
    channels = x_shape[1]
    kwargs = dict(kwargs, groups=channels)
    x, w, b = make_problem(rng, x_shape, (channels, 1) + kernel, dtype=dtype)
    one = {k: v for k, v in kwargs.items() if k != "groups"}
    for level in simd_levels():
        with forced_level(level):
            assert "side by side" in pyconvx.plan(x, w, **kwargs).reason
            for flip, bias in ((False, b), (True, None)):
                got = pyconvx.conv(x, w, bias, flip=flip, threads=2, **kwargs)
                planes = np.concatenate([
                    pyconvx.conv(x[:, c:c + 1], w[c:c + 1],
                                 None if bias is None else bias[c:c + 1], flip=flip,
                                 algorithm="depthwise", **one)
                    for c in range(channels)], axis=1)
                assert "side by side" not in pyconvx.plan(x[:, :1], w[:1], **one).reason
                assert_bitwise_equal(got, planes)
                for threads in (1, 3):
                    assert_bitwise_equal(
                        pyconvx.conv(x, w, bias, flip=flip, threads=threads, **kwargs), got)
                last = np.ascontiguousarray(np.moveaxis(x, 1, -1))
                assert_bitwise_equal(np.moveaxis(pyconvx.conv(
                    last, w, bias, flip=flip, data_format="channels_last", **kwargs), -1, 1),
                    got)
                wide = np.repeat(x, 2, axis=-1)[..., ::2]
                assert_bitwise_equal(pyconvx.conv(wide, w, bias, flip=flip, **kwargs), got)
                for out in _strided_outputs(got.shape, dtype):
                    _engine_run(x, w, bias, out, flip, kwargs)
                    assert_bitwise_equal(out, got)
        assert_matches_reference(got, x, w, None, flip=True, **kwargs)


def _strided_outputs(shape, dtype):
    """Output views the engine may be handed (the transposed convolution's phases
    are such views): every second column, and channels-first planes whose rows are
    padded apart."""
    yield np.full(shape[:-1] + (2 * shape[-1],), np.nan, dtype)[..., ::2]
    yield np.full(shape[:-1] + (shape[-1] + 3,), np.nan, dtype)[..., :shape[-1]]


def _engine_run(x, w, bias, out, flip, kwargs):
    """The direct engine's run of a plan made for ``out``'s own element strides."""
    geometry = pyconvx.plan(x, w, **kwargs).geometry
    strides = [[s // a.itemsize for s in a.strides] for a in (x, out)]
    plan = make_plan(geometry, x.dtype, threads=2, flip=flip, x_strides=strides[0],
                     out_strides=strides[1])
    assert "side by side" in plan.reason
    direct.run(x, w, bias, out, plan.records)


# ----------------------------------------------------------------------------- shared border columns
SHARED_BORDER_CASES = [
    # (x shape, w shape, kwargs, border columns the band's rows share)
    ((2, 5, 13, 11), (4, 5, 3, 3), dict(padding=1), 1),
    ((1, 3, 9, 14), (5, 3, 3, 4), dict(padding=((1, 2), (2, 1))), 1),
    ((1, 4, 12, 10), (3, 4, 3, 3), dict(padding=2, dilation=2), 2),
    ((2, 3, 12, 10), (4, 3, 1, 3), dict(padding=(0, 1), stride=(2, 1)), 1),
    ((1, 6, 11, 9), (6, 2, 5, 5), dict(padding=2, groups=3), 2),
    ((1, 32, 64, 64), (32, 32, 3, 3), dict(padding=1), 1),        # several boxes of rows
]


@pytest.mark.parametrize("mode", ["zeros", "constant"])
@pytest.mark.parametrize("case", SHARED_BORDER_CASES,
                         ids=[f"s{i}" for i in range(len(SHARED_BORDER_CASES))])
def test_rows_sharing_border_columns_have_the_bits_of_whole_rows(case, mode, rng):
    """The gemm tile's band whose rows share their border columns (fewer wasted
    columns) gives the bits of the band whose rows lie their full extent apart,
    on every SIMD set, with 1 and 2 threads, both dtypes, bias and flip."""
    x_shape, w_shape, kwargs, shared = case
    kwargs = dict(kwargs, **mode_kwargs(mode))
    geometry = pyconvx.plan(x_shape, w_shape, **kwargs).geometry
    for dtype in (np.float32, np.float64):
        x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
        for name in simd_levels():
            level = dispatch.LEVEL_NAMES.index(name)
            for flip in (False, True):
                outs = []
                for allowed in (False, True):
                    for threads in (1, 2):
                        plan = make_plan(geometry, dtype, threads=threads, algorithm="gemm",
                                         flip=flip, level=level, shared_borders=allowed)
                        fields = plan.records[0].fields
                        assert fields["pitch"][0] == fields["ext"][1] - (shared if allowed else 0)
                        out = np.full(geometry.out_shape, np.nan, dtype)
                        direct.run(x, w, b, out, plan.records)
                        outs.append(out)
                for out in outs[1:]:
                    assert_bitwise_equal(out, outs[0])
                assert_matches_reference(outs[0], x, w, b, flip=flip, **kwargs)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "symmetric", "circular"])
def test_a_border_of_the_inputs_own_values_keeps_whole_rows(mode):
    """Only a border of one fill value can be shared between rows."""
    geometry = pyconvx.plan((1, 4, 12, 12), (4, 4, 3, 3), padding=1,
                            padding_mode=mode).geometry
    fields = make_plan(geometry, np.float32, threads=2, algorithm="gemm").records[0].fields
    assert fields["pitch"][0] == fields["ext"][1]


# ----------------------------------------------------------------------------- reduction blocks
BLOCKED_CASES = [
    # (x shape, w shape, kwargs): channel blocks, and kernel-row blocks of one channel
    ((2, 9, 11, 12), (6, 9, 3, 3), dict(padding=1)),
    ((1, 12, 14, 9), (9, 4, 5, 3), dict(padding=(2, 1), groups=3, stride=(2, 1), dilation=2)),
    ((2, 3, 40, 7), (2, 3, 17, 5), dict(padding=((3, 5), 2))),
    ((1, 2, 200), (3, 2, 61), dict(padding="same", dilation=2)),
    ((1, 4, 9, 8, 7), (5, 4, 5, 3, 2), dict(padding=1)),
    ((3, 5, 16, 16), (1, 5, 7, 7), dict(padding=3)),      # one output channel: the row tile
]


@pytest.mark.parametrize("blocks", ["channels", "kernel-rows"])
@pytest.mark.parametrize("mode", ["zeros", "reflect", "symmetric", "constant"])
@pytest.mark.parametrize("case", BLOCKED_CASES, ids=[f"b{i}" for i in range(len(BLOCKED_CASES))])
def test_reduction_blocks_have_the_bits_of_one_pass(case, mode, blocks, monkeypatch, rng):
    """When one output's window is larger than the scratch limit, the reduction runs
    in blocks that continue each other's sums: the same bits as the unblocked sum.
    The limits are lowered here so that small problems take that path."""
    from pyconvx._engine import plan as planner

    x_shape, w_shape, kwargs = case
    kwargs = dict(kwargs, **mode_kwargs(mode))
    if not mode_allowed(mode, x_shape, w_shape, kwargs):
        return
    geometry = pyconvx.plan(x_shape, w_shape, **kwargs).geometry
    for dtype in (np.float32, np.float64):
        x, w, b = make_problem(rng, x_shape, w_shape, dtype=dtype)
        one_channel = planner._window_band_bytes(geometry, 1, geometry.kernel,
                                                 np.dtype(dtype).itemsize)
        for flip in (False, True):
            expected = {t: pyconvx.conv(x, w, b, flip=flip, threads=t, algorithm="gemm",
                                        **kwargs) for t in (1, 3)}
            with monkeypatch.context() as patch:
                patch.setattr(planner, "_plan_cache", {})
                patch.setattr(planner, "BAND_TARGET_BYTES", 1)    # one-output boxes
                whole = pyconvx.plan(x, w, flip=flip, algorithm="gemm", **kwargs)
                scratch = whole.records[0].fields["scratch"]["bytes_per_thread"]
                patch.setattr(planner, "WORKSPACE_LIMIT_BYTES", scratch - 1)
                patch.setattr(planner, "REDUCTION_BLOCK_BYTES",
                              2 * one_channel if blocks == "channels" else one_channel // 2)
                plan = pyconvx.plan(x, w, flip=flip, algorithm="gemm", **kwargs)
                assert len(plan.records) > 1 and "reduction runs in" in plan.reason
                for threads in (1, 3):
                    got = pyconvx.conv(x, w, b, flip=flip, threads=threads, algorithm="gemm",
                                       **kwargs)
                    assert_bitwise_equal(got, expected[threads])
                if applicable("winograd", x_shape, w_shape, kwargs):   # no blocks for it
                    with pytest.raises(ValueError, match="algorithm='winograd' cannot take "
                                                         "this problem: its smallest box"):
                        pyconvx.conv(x, w, b, flip=flip, algorithm="winograd", **kwargs)
        assert_matches_reference(got, x, w, b, flip=flip, **kwargs)


def test_windows_larger_than_the_scratch_limit_run():
    """Problems whose single output window exceeds 64 MiB compute (they were refused)."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((1500, 1600))
    got = pyconvx.correlate2d(a, a, mode="valid")          # one output, a 19 MiB window
    assert got.shape == (1, 1)
    np.testing.assert_allclose(got[0, 0], np.dot(a.ravel(), a.ravel()), rtol=1e-12)
    x = np.ones((1, 2048, 64, 64))                          # a 64 MiB window in float64
    plan = pyconvx.plan(x, x)
    assert len(plan.records) > 1 and plan.workspace_bytes < 64 * 2**20
    np.testing.assert_array_equal(pyconvx.conv(x, x), np.full((1, 1, 1, 1), 2048 * 64 * 64))


# ----------------------------------------------------------------------------- batch fold
FOLD_CASES = [
    # (x shape, C_out): images of 9, 5 and 13 positions (tiles of 32, 24 and 4
    # columns leave at least 15% of them empty on every SIMD level), few
    # images, single rows
    ((8, 16, 3, 3), 40),
    ((3, 8, 1, 5), 24),
    ((2, 5, 1, 13), 11),
    ((5, 12, 3, 3), 30),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", FOLD_CASES, ids=[f"{c[0]}->{c[1]}" for c in FOLD_CASES])
def test_a_folded_batch_has_the_bits_of_each_image_alone(case, dtype, rng):
    """A pointwise layer whose small images leave tile columns empty runs with the
    images folded into the rows of one (x copied): on every SIMD level each
    output has the bits of its image computed alone (never folded), with bias
    and flip, for 1-3 threads, from a strided or Fortran-ordered x, into out=."""
    x_shape, c_out = case
    x, w, b = make_problem(rng, x_shape, (c_out, x_shape[1], 1, 1), dtype=dtype)
    for level in simd_levels():
        with forced_level(level):
            plan = pyconvx.plan(x, w)
            assert plan.batch_fold and "folded into the rows of one" in plan.reason
            assert not pyconvx.plan(x[:1], w).batch_fold
            for flip, bias in ((False, b), (True, None)):
                alone = np.concatenate([pyconvx.conv2d(x[i:i + 1], w, bias, flip=flip)
                                        for i in range(x.shape[0])])
                for threads in (1, 2, 3):
                    assert_bitwise_equal(pyconvx.conv2d(x, w, bias, flip=flip,
                                                        threads=threads), alone)
                wide = np.repeat(x, 2, axis=-1)[..., ::2]
                assert_bitwise_equal(pyconvx.conv2d(wide, w, bias, flip=flip), alone)
                assert_bitwise_equal(pyconvx.conv2d(np.asfortranarray(x), w, bias, flip=flip),
                                     alone)
                out = np.full(alone.shape, np.nan, dtype=dtype)
                assert pyconvx.conv2d(x, w, bias, flip=flip, out=out) is out
                assert_bitwise_equal(out, alone)
    assert_matches_reference(pyconvx.conv2d(x, w, b), x, w, b)


@pytest.mark.parametrize("x_shape, w_shape, keywords, why", [
    ((8, 16, 7, 7), (24, 16, 1, 1), {}, "widens the channels less than twice"),
    ((8, 16, 8, 8), (64, 16, 1, 1), {}, "64 positions fill whole tiles"),
    ((1, 16, 7, 7), (64, 16, 1, 1), {}, "one image"),
    ((16, 7, 7), (64, 16, 1, 1), {}, "no batch"),
    ((8, 7, 7, 16), (64, 16, 1, 1), {"data_format": "channels_last"}, "channels last"),
    ((8, 16, 7, 7), (64, 16, 1, 1), {"padding": 1}, "padded"),
    ((8, 16, 7, 7), (64, 16, 1, 1), {"stride": 2}, "strided"),
    ((8, 16, 7, 7), (64, 8, 1, 1), {"groups": 2}, "grouped"),
    ((8, 16, 7, 7), (64, 16, 3, 3), {"padding": 1}, "not pointwise"),
    ((8, 16, 49), (64, 16, 1), {}, "1-d"),
    ((2048, 512, 7, 7), (2048, 512, 1, 1), {}, "the copy of x above its limit"),
])
def test_the_batch_folds_only_where_it_pays_and_fits(x_shape, w_shape, keywords, why):
    plan = pyconvx.plan(x_shape, w_shape, **keywords)
    assert not plan.batch_fold, why
    assert "folded" not in plan.reason


def test_a_7x7_pointwise_layer_folds_on_wide_tiles():
    """49 positions fill 64 columns of 32- or 24-wide tiles (23-32% empty): a
    widening 1x1 layer on 7x7 images folds; on the portable set's 4-wide tile
    (52 columns, 6% empty) it does not."""
    for level in simd_levels():
        with forced_level(level):
            plan = pyconvx.plan((8, 512, 7, 7), (2048, 512, 1, 1))
            assert plan.batch_fold == (plan.tile[1] >= 16), (level, plan.tile)


@pytest.mark.parametrize("choice, folds", [
    ("auto", True), ("direct", True), ("fast", True), ("gemm", False), ("row", False)])
def test_the_batch_folds_under_the_algorithms_that_leave_the_choice(choice, folds, rng):
    """auto, direct and fast may fold; a forced microkernel runs the images apart."""
    x, w, _ = make_problem(rng, (4, 8, 3, 3), (24, 8, 1, 1), dtype=np.float64)
    assert pyconvx.plan(x, w, algorithm=choice).batch_fold == folds
    alone = np.concatenate([pyconvx.conv2d(x[i:i + 1], w) for i in range(4)])
    assert_bitwise_equal(pyconvx.conv2d(x, w, algorithm=choice), alone)


def test_the_folded_layout_helpers_refuse_rows_apart():
    from pyconvx._engine.layout import batch_folded, batch_folded_view
    x = np.arange(2 * 3 * 2 * 4, dtype=np.float64).reshape(2, 3, 2, 4)
    folded = batch_folded(x)
    assert folded.shape == (1, 3, 2, 8) and folded.flags.c_contiguous
    np.testing.assert_array_equal(folded[0, :, 1], x[1].reshape(3, 8))
    with pytest.raises(ValueError, match="rows that follow one another"):
        batch_folded_view(np.zeros((2, 3, 2, 8))[..., :4])


# ----------------------------------------------------------------------------- channel tile
CHANNEL_TILE_CASES = [
    # rows of 7 and 14 (whole tiles), 13 and 17 (tiles of unequal sizes), wide rows
    ((2, 24, 7, 7), (70, 24, 3, 3), dict(padding=1)),
    ((2, 16, 13, 17), (64, 16, 3, 3), dict(padding=1)),
    ((1, 8, 6, 61), (65, 8, 3, 3), dict(padding=(1, 2))),
    ((3, 20, 15, 17), (64, 20, 3, 2), dict(stride=2, padding=(1, 0))),
    ((2, 8, 12, 12), (64, 8, 3, 3), dict(dilation=2, padding="same")),
    ((2, 32, 9, 9), (128, 16, 3, 3), dict(groups=2, padding=1)),
    ((2, 12, 9, 9), (64, 12, 3, 3), dict(padding=1, padding_mode="reflect")),
    ((2, 40, 7, 7), (64, 40, 1, 1), {}),                    # pointwise: x read in place
    ((1, 9, 5, 11), (130, 9, 1, 1), {}),
    ((2, 12, 20), (66, 12, 5), dict(padding=2)),           # 1-d
    ((2, 8, 5, 6, 7), (65, 8, 3, 3, 3), dict(padding=1)),  # 3-d
    ((1, 4, 70, 90), (64, 4, 3, 3), dict(padding=1)),      # boxes split to fit the sums
    ((2, 10, 8, 9), (64, 10, 3, 3), dict(padding=(2, 1), padding_mode="constant",
                                         padding_value=1.5)),
]


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CHANNEL_TILE_CASES,
                         ids=[str(i) for i in range(len(CHANNEL_TILE_CASES))])
def test_channel_tile_has_the_bits_of_the_gemm_tile(case, dtype, flip, rng):
    """algorithm='cgemm' sums every output in the gemm tile's order: the same
    bits as algorithm='gemm' on every SIMD set, for one and two threads, for
    channels-first and channels-last input (2-d, stride 1, a zero or constant
    border: its band keeps x's layout), and within the reference's bound."""
    x_shape, w_shape, kwargs = case
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    for level in simd_levels():
        with forced_level(level):
            gemm = pyconvx.conv(x, w, b, algorithm="gemm", flip=flip, **kwargs)
            for threads in (1, 2):
                got = pyconvx.conv(x, w, b, algorithm="cgemm", flip=flip, threads=threads,
                                   **kwargs)
                assert_bitwise_equal(got, gemm)
            x_last = np.ascontiguousarray(np.moveaxis(x, 1, -1))
            last = pyconvx.conv(x_last, w, b, algorithm="cgemm", flip=flip,
                                data_format="channels_last", **kwargs)
            assert_bitwise_equal(np.moveaxis(last, -1, 1), gemm)
    assert_matches_reference(gemm, x, w, b, flip=flip, **kwargs)
