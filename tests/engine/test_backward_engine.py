"""The backward engine (_engine/backward.pyx) and its planner (plan_backward).

Every compiled microkernel set on both weight-gradient paths, the masked
tails of the dot path (a NaN or Inf read past a row reaches no weight), the
phase decomposition of the transposed convolution, the checks of the
engine's arguments.
"""

import dataclasses
import itertools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _gradient_reference import conv_grads_reference

import pyconvx
from pyconvx._engine import backward, dispatch
from pyconvx._engine.plan_backward import make_weight_grad_plan, phase_dims
from pyconvx.shapes import describe_conv

from _reference import assert_bitwise_equal
from conftest import TESTS_DIR, child_env

CASES = {
    "gemm": dict(x=(2, 16, 9, 21), w=(12, 16, 3, 3), padding=1),
    "gemm_short_panels": dict(x=(2, 11, 7, 19), w=(26, 11, 2, 3), stride=(2, 1), padding=1),
    "dot_depthwise": dict(x=(3, 5, 11, 37), w=(5, 1, 3, 3), groups=5, padding=1),
    "dot_multiplier": dict(x=(2, 4, 33), w=(8, 1, 5), groups=4, dilation=2, padding=3,
                           padding_mode="reflect"),
    "dot_pointwise": dict(x=(2, 6, 5, 18), w=(6, 2, 1, 1), groups=3),
    "gemm_3d": dict(x=(1, 12, 5, 6, 17), w=(10, 12, 2, 3, 3), padding=(1, 0, 1),
                    padding_mode="circular"),
    "wide_64": dict(x=(2, 20, 6, 9), w=(64, 20, 3, 3), padding=1, stride=(1, 2)),
    "wide_short_rows": dict(x=(2, 7, 5, 30), w=(30, 7, 1, 3), padding=(0, 2)),
}


def _plan_path(case, dtype):
    geometry = describe_conv(case["x"], case["w"], **{k: v for k, v in case.items()
                                                      if k not in ("x", "w")})
    plan = make_weight_grad_plan(geometry, np.dtype(dtype), threads=2,
                                 x_strides=[int(np.prod(case["x"][i + 1:]))
                                            for i in range(len(case["x"]))])
    return plan.path


@pytest.mark.parametrize("level", dispatch.available_levels())
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_set_and_path(level, dtype, name):
    case = dict(CASES[name])
    rng = np.random.default_rng(11)
    x = rng.standard_normal(case.pop("x")).astype(dtype)
    w = rng.standard_normal(case.pop("w")).astype(dtype)
    g = rng.standard_normal(pyconvx.output_shape(x.shape, w.shape, **case)).astype(dtype)
    with dispatch.forced_simd(level):
        assert _plan_path(CASES[name], dtype) in ("gemm", "wide", "dot")
        got = pyconvx.conv_grad_weight(x, w.shape, g, threads=1, **case)
        again = pyconvx.conv_grad_weight(x, w.shape, g, threads=3, **case)
    assert_bitwise_equal(again, got)
    expected = conv_grads_reference(x, w, g, **case)[1]
    tolerance = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(got, expected, rtol=0,
                               atol=tolerance * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_cases_cover_both_paths(dtype):
    paths = {_plan_path(case, dtype) for case in CASES.values()}
    assert paths >= {"dot"} and paths & {"gemm", "wide"}


def test_wide_tile_matches_the_planner():
    from pyconvx._engine.plan_backward import WIDE_TILES
    assert backward.wide_tile(4) == WIDE_TILES["float32"]
    assert backward.wide_tile(8) == WIDE_TILES["float64"]


@pytest.mark.parametrize("groups", [1, 24])
def test_non_finite_input_reaches_only_the_taps_that_read_it(groups):
    # rows of 37 outputs: two full vectors and a masked tail of 5 on the dot path
    x = np.ones((1, 24, 4, 39))
    x[0, :, 1, 38] = np.inf   # read only by the last column of taps (kw == 2)
    g = np.ones((1, 24, 2, 37))
    w_shape = (24, 24 // groups, 3, 3)
    gw = pyconvx.conv_grad_weight(x, w_shape, g, groups=groups)
    assert np.all(np.isinf(gw[:, :, :2, 2]))
    assert np.all(np.isfinite(gw[:, :, :, :2]))
    assert np.all(np.isfinite(gw[:, :, 2, 2]))


def _engine_problem(case, dtype):
    """x, grad_output, weight shape and geometry of ``case`` as the engine sees
    them: a border other than zeros is padded into x first (as the public call
    does), the geometry then has no padding."""
    case = dict(case)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(case.pop("x")).astype(dtype)
    w_shape = case.pop("w")
    g = rng.standard_normal(pyconvx.output_shape(x.shape, w_shape, **case)).astype(dtype)
    geometry = describe_conv(x.shape, w_shape, **case)
    if geometry.padding_mode != "zeros":
        x = np.pad(x, [(0, 0), (0, 0)] + list(geometry.pads), mode="reflect")
        geometry = describe_conv(x.shape, w_shape, **dict(case, padding=0,
                                                          padding_mode="zeros"))
    return x, g, w_shape, geometry


GRID_CASES = [
    # x and weight shapes and conv keywords: every grid shape, a dilation (two
    # band rows between tap rows), rows shorter than the kernel, one row, a
    # tail-only row, several full vectors with a tail, whole vectors, a channel
    # multiplier, a reflected border, 3-d with a kernel of one plane, many
    # input channels a group (several boxes a plane)
    dict(x=(2, 3, 9, 37), w=(3, 1, 3, 3), groups=3, padding=1),
    dict(x=(1, 2, 6, 16), w=(2, 1, 2, 2), groups=2),
    dict(x=(2, 2, 7, 53), w=(2, 1, 2, 3), groups=2, padding=(1, 0)),
    dict(x=(1, 2, 5, 21), w=(2, 1, 3, 2), groups=2, padding=(0, 1)),
    dict(x=(1, 2, 4, 12), w=(4, 1, 2, 4), groups=2, padding=1),
    dict(x=(1, 3, 9, 70), w=(3, 1, 4, 2), groups=3, padding=2),
    dict(x=(2, 2, 11, 19), w=(2, 1, 3, 3), groups=2, dilation=2, padding=2),
    dict(x=(1, 2, 2, 30), w=(2, 1, 3, 3), groups=2, padding=1),
    dict(x=(1, 2, 3, 9), w=(2, 1, 3, 3), groups=2, padding=(0, 1)),
    dict(x=(2, 4, 8, 64), w=(4, 1, 3, 3), groups=4, padding=1, padding_mode="reflect"),
    dict(x=(1, 2, 3, 8, 20), w=(2, 1, 1, 3, 3), groups=2, padding=(0, 1, 1)),
    dict(x=(1, 128, 64, 64), w=(1, 128, 3, 3), padding=1),
]


@pytest.mark.parametrize("level", dispatch.available_levels())
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", GRID_CASES, ids=[f"{c['x']}*{c['w']}" for c in GRID_CASES])
def test_taps_on_a_grid_have_the_bits_of_a_load_per_tap(level, dtype, case):
    """The dot path walks the band's rows once for a grid of taps (one load of a
    band vector per row of taps), over a band of x's rows copied into a zero
    border (2-d, stride 1): the same bits as a load per tap and as the band
    builder's copy, on every SIMD level, for 1 and 3 threads, and the true
    gradient."""
    x, g, w_shape, geometry = _engine_problem(case, dtype)
    strides = [s // x.itemsize for s in x.strides]
    results = []
    boxes = set()
    with dispatch.forced_simd(level):
        for threads in (1, 3):
            plan = make_weight_grad_plan(geometry, np.dtype(dtype), threads=threads,
                                         x_strides=strides)
            assert plan.path == "dot"
            assert (plan.fields["grid_rows"], plan.fields["grid_cols"]) == w_shape[-2:]
            assert plan.fields["grid_step"] == geometry.dilation[-2]
            assert "walking the band row by row" in plan.describe()
            per_tap = dataclasses.replace(plan, fields=dict(
                plan.fields, grid_rows=0, grid_cols=0, grid_step=0))
            copied = dataclasses.replace(per_tap, fields=dict(per_tap.fields, band_rows=0))
            boxes.add(plan.band.records[0].fields["box_count"])
            for p, flip in itertools.product((plan, per_tap, copied), (False, True)):
                gw = np.full(w_shape, np.nan, dtype=dtype)
                backward.weight_grad(x, g, gw, p.band.records[0], p, flip)
                results.append((flip, gw))
    for flip, gw in results:
        assert_bitwise_equal(gw, results[int(flip)][1])
    assert len(boxes) == 1
    if case["x"] == (1, 128, 64, 64):
        assert boxes.pop() > 1   # the border cleared again for each box
    expected = conv_grads_reference(x, np.zeros(w_shape), g, **_keywords(geometry))[1]
    tolerance = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(results[0][1], expected, rtol=0,
                               atol=tolerance * max(1.0, np.abs(expected).max()))


def _keywords(geometry):
    """The conv keywords of an engine geometry."""
    return dict(stride=geometry.stride, dilation=geometry.dilation, groups=geometry.groups,
                padding=list(geometry.pads))


@pytest.mark.parametrize("kernel, keywords, why", [
    ((3, 3), dict(stride=(2, 1), padding=1), "rows split into phases"),
    ((5, 5), dict(padding=2), "no kernel for 25 taps"),
    ((1, 3), dict(padding=(0, 1)), "one row of taps"),
    ((3, 1), dict(padding=(1, 0)), "one column of taps"),
])
def test_taps_off_a_grid_keep_a_load_per_tap(kernel, keywords, why):
    geometry = describe_conv((2, 4, 12, 20), (4, 1) + kernel, groups=4, **keywords)
    plan = make_weight_grad_plan(geometry, np.dtype(np.float32), threads=2,
                                 x_strides=[960, 240, 20, 1])
    assert plan.path == "dot" and plan.fields["grid_rows"] == 0, why
    assert "walking the band" not in plan.describe()


def test_engine_refuses_a_grid_that_is_not_the_bands():
    x = np.ones((1, 2, 8, 20))
    g = np.ones((1, 2, 6, 18))
    geometry = describe_conv(x.shape, (2, 1, 3, 3), groups=2)
    plan = make_weight_grad_plan(geometry, np.dtype(np.float64), threads=1,
                                 x_strides=[320, 160, 20, 1])
    for rows, cols, step in ((3, 3, 2), (9, 1, 1), (3, 2, 1), (3, 3, 0)):
        bad = dataclasses.replace(plan, fields=dict(plan.fields, grid_rows=rows,
                                                    grid_cols=cols, grid_step=step))
        with pytest.raises(ValueError, match="inconsistent plan"):
            backward.weight_grad(x, g, np.empty((2, 1, 3, 3)), bad.band.records[0], bad, False)


@pytest.mark.parametrize("name", ["dot_depthwise", "dot_multiplier", "gemm_short_panels"])
def test_runs_steps_and_blocks_do_not_change_the_bits(name):
    """However the plan cuts the work (steps between checks, items a step, units
    a block; several steps of one unit in one run) on 1-3 threads: the same bits."""
    x, g, w_shape, geometry = _engine_problem(CASES[name], np.float64)
    strides = [s // 8 for s in x.strides]
    plan = make_weight_grad_plan(geometry, np.dtype(np.float64), threads=1, x_strides=strides)
    expected = np.full(w_shape, np.nan)
    backward.weight_grad(x, g, expected, plan.band.records[0], plan, False)
    assert np.isfinite(expected).all()
    for threads in (1, 2, 3):
        plan = make_weight_grad_plan(geometry, np.dtype(np.float64), threads=threads,
                                     x_strides=strides)
        units = plan.work_units
        assert units > 1
        for steps, items, block in ((1, 1, 1), (7, 1, 3), (units, 2, units),
                                    (3 * units + 1, 1, 2), (10**6, 3, 1)):
            cut = dataclasses.replace(plan, fields=dict(
                plan.fields, steps_per_check=steps, step_items=items, block_units=block))
            got = np.full(w_shape, np.nan)
            backward.weight_grad(x, g, got, cut.band.records[0], cut, False)
            assert_bitwise_equal(got, expected)


@pytest.mark.parametrize("x_shape, w_shape, keywords", [
    ((1, 2, 9, 20), (2, 1, 3, 3), dict(groups=2, stride=2, padding=1)),
    ((1, 2, 4, 6, 20), (2, 1, 3, 3, 3), dict(groups=2, padding=1)),
    ((1, 2, 9, 20), (2, 1, 3, 3), dict(groups=2, padding=1, padding_mode="reflect")),
])
def test_engine_refuses_a_band_of_rows_off_its_case(x_shape, w_shape, keywords):
    """x's rows copied into a zero border: only for 2-d, stride 1, zero padding."""
    geometry = describe_conv(x_shape, w_shape, **keywords)
    x = np.ones(x_shape)
    plan = make_weight_grad_plan(geometry, np.dtype(np.float64), threads=1,
                                 x_strides=[s // 8 for s in x.strides])
    assert plan.fields["band_rows"] == 0
    bad = dataclasses.replace(plan, fields=dict(plan.fields, band_rows=1))
    g = np.ones(pyconvx.output_shape(x_shape, w_shape, **keywords))
    with pytest.raises(ValueError, match="inconsistent plan: a band of x's rows"):
        backward.weight_grad(x, g, np.empty(w_shape), bad.band.records[0], bad, False)


def _grad_output_layouts(g):
    """``g``'s values in layouts the engine reads differently: C order; rows
    inside wider rows whose gaps hold NaN (read in place: the dot path's
    whole-vector reads past a row meet them); at the very end of a buffer;
    rows in reverse memory order; channels last (both packed)."""
    n, c, h, w = g.shape
    wide = np.full((n, c, h, w + 11), np.nan, dtype=g.dtype)
    wide[..., :w] = g
    tail = np.full(g.size + 5, np.nan, dtype=g.dtype)
    tail[5:] = g.ravel()
    return {"wide rows": wide[..., :w],
            "buffer end": tail[5:].reshape(g.shape),
            "reversed rows": np.ascontiguousarray(g[:, :, ::-1])[:, :, ::-1],
            "channels last": np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)}


@pytest.mark.parametrize("layout", ["wide rows", "buffer end", "reversed rows",
                                    "channels last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    dict(x=(3, 6, 7, 37), w=(6, 1, 3, 3), groups=6, padding=1),    # dot, masked tails
    dict(x=(2, 4, 5, 12), w=(8, 1, 3, 3), groups=4, padding=1),    # dot, rows < a vector
    dict(x=(3, 20, 7, 37), w=(24, 20, 1, 1)),                      # gemm, rows merged
])
def test_grad_output_layout_does_not_change_the_bits(layout, dtype, case):
    case = dict(case)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(case.pop("x")).astype(dtype)
    w_shape = case.pop("w")
    g = rng.standard_normal(pyconvx.output_shape(x.shape, w_shape, **case)).astype(dtype)
    expected = pyconvx.conv_grad_weight(x, w_shape, g, threads=1, **case)
    assert np.all(np.isfinite(expected))
    view = _grad_output_layouts(g)[layout]
    np.testing.assert_array_equal(view, g)
    for threads in (1, 2):
        got = pyconvx.conv_grad_weight(x, w_shape, view, threads=threads, **case)
        assert_bitwise_equal(got, expected)


def test_reads_of_grad_output_stop_at_its_end():
    """grad_output ends right before an unmapped page: a read past its end (the
    dot path's whole-vector reads of rows read in place) kills the child."""
    script = textwrap.dedent("""
        import numpy as np, pyconvx
        from _guarded import guarded_array
        cases = [((2, 6, 7, 37), (6, 1, 3, 3), 6, 1), ((1, 4, 5, 12), (8, 1, 3, 3), 4, 1),
                 ((2, 3, 40), (3, 1, 5), 3, 2), ((2, 20, 7, 37), (24, 20, 1, 1), 1, 0)]
        for x_shape, w_shape, groups, padding in cases:
            for dtype in (np.float32, np.float64):
                x = np.ones(x_shape, dtype)
                g_shape = pyconvx.output_shape(x_shape, w_shape, padding=padding, groups=groups)
                g = guarded_array(g_shape, dtype, fill=1)
                for threads in (1, 2):
                    gw = pyconvx.conv_grad_weight(x, w_shape, g, padding=padding,
                                                  groups=groups, threads=threads)
                    assert np.isfinite(gw).all() and (gw > 0).all(), (x_shape, w_shape)
        print("ok")
        """)
    paths = [p for p in (os.environ.get("PYTHONPATH"), TESTS_DIR) if p]
    env = child_env(PYTHONPATH=os.pathsep.join(paths))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", (
        f"child exited with {result.returncode}: {result.stderr[-2000:]}")


def test_phases_partition_the_output():
    for size, kernel, stride, dilation, crop, length in [(5, 4, 2, 1, 1, 10), (7, 3, 3, 2, 2, 17),
                                                         (4, 5, 2, 3, 0, 19), (3, 2, 4, 1, 3, 6)]:
        covered = []
        for phase in phase_dims(size, kernel, stride, dilation, crop, length):
            covered += list(range(phase.first, length, stride))[:phase.count]
            assert phase.count == len(range(phase.first, length, stride))
        assert sorted(covered) == list(range(length))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, indices", [
    ((512, 37, 4, 4), [(slice(a, None, 2), slice(b, None, 2)) for a in (0, 1) for b in (0, 1)]),
    ((9, 70, 3, 3), [(slice(0, None, 2), slice(1, None, 2)), (slice(1, 2), slice(None))]),
    ((3, 5, 16), [(slice(j, None, 8),) for j in range(8)]),
    ((6, 4, 3, 2, 5), [(slice(None), slice(1, None), slice(0, None, 3))]),
    ((0, 4, 3), [(slice(None),)]),
])
@pytest.mark.parametrize("view", ["contiguous", "transposed", "rotated"])
def test_phase_kernels_are_the_sliced_sub_kernels(dtype, shape, indices, view):
    rng = np.random.default_rng(3)
    # the (C_out, C_in, *kernel) weight as a transposed convolution sees it:
    # a swapped (and possibly rotated) view of (C_in, C_out, *kernel)
    base = rng.standard_normal((shape[1], shape[0]) + shape[2:]).astype(dtype)
    weight = {"contiguous": np.ascontiguousarray(base.swapaxes(0, 1)),
              "transposed": base.swapaxes(0, 1),
              "rotated": base.swapaxes(0, 1)[(Ellipsis,) + (slice(None, None, -1),)
                                             * (len(shape) - 2)]}[view]
    for threads in (1, 2):
        kernels = backward.phase_kernels(weight, tuple(indices), threads)
        assert len(kernels) == len(indices)
        for kernel, index in zip(kernels, indices):
            expected = weight[(slice(None), slice(None)) + index]
            assert kernel.flags.c_contiguous and kernel.dtype == dtype
            assert_bitwise_equal(kernel, expected)


def test_engine_refuses_arrays_that_do_not_match_the_plan():
    x = np.ones((2, 4, 10))
    geometry = describe_conv(x.shape, (3, 4, 3))
    plan = make_weight_grad_plan(geometry, np.dtype(np.float64), threads=1, x_strides=[40, 10, 1])
    g = np.ones((2, 3, 8))
    with pytest.raises(ValueError, match="grad_output does not match the plan"):
        backward.weight_grad(x, np.ones((2, 3, 7)), np.empty((3, 4, 3)),
                             plan.band.records[0], plan, False)
    with pytest.raises(ValueError, match="gw does not match the plan"):
        backward.weight_grad(x, g, np.empty((3, 4, 2)), plan.band.records[0], plan, False)
    with pytest.raises(ValueError, match="has dtype float32"):
        backward.weight_grad(x.astype(np.float32), g, np.empty((3, 4, 3)),
                             plan.band.records[0], plan, False)
    with pytest.raises(ValueError, match="fold_padded"):
        backward.fold_padded(np.ones((1, 1, 4)), np.ones((1, 1, 2, 2)), [np.arange(4)], 1)
