"""The layouts of the direct engine and the plan record that carries them.

``pyconvx._engine.layout`` is the one home of the band and scratch arithmetic;
``DirectPlan`` is the one gate between the planner and the compiled code.
These tests check the arithmetic against brute force and that the gate
refuses every inconsistent plan or array before anything runs.
"""

import itertools
import math

import numpy as np
import pytest

import pyconvx
from pyconvx._engine import direct, layout
from pyconvx._engine.contract import FIELDS, DirectPlan, Kind, ukernel_set_tiles
from pyconvx.shapes import describe_conv


@pytest.mark.parametrize("box, kernel, stride, dilation", [
    ((5,), (3,), (1,), (1,)),
    ((4, 7), (3, 2), (2, 3), (1, 2)),
    ((2, 3, 4), (2, 2, 3), (1, 2, 3), (3, 1, 2)),
])
def test_band_layout(box, kernel, stride, dilation):
    ext, pitch, plane = layout.band_layout(box, kernel, stride, dilation)
    for b, k, s, d, e in zip(box, kernel, stride, dilation, ext):
        # the last output of the box reads tap k-1 at (b-1)*s + (k-1)*d: in its
        # phase plane that is position b-1 + ((k-1)*d)//s, the extent minus one
        assert e == b + ((k - 1) * d) // s
    assert pitch == [math.prod(ext[i + 1:]) for i in range(len(ext))]
    assert plane >= math.prod(ext) and plane % layout.PLANE_ALIGN == 0
    assert plane - math.prod(ext) < layout.PLANE_ALIGN


@pytest.mark.parametrize("box, kernel, dilation, shared", [
    ((4, 7), (3, 3), (1, 1), 1),
    ((3, 5), (5, 5), (1, 2), 6),
    ((1, 9), (1, 3), (1, 1), 2),
])
def test_band_layout_with_shared_border_columns(box, kernel, dilation, shared):
    ext, pitch, plane = layout.band_layout(box, kernel, (1, 1), dilation, shared)
    assert ext == layout.band_layout(box, kernel, (1, 1), dilation)[0]
    # rows ``shared`` columns closer; the plane ends where the last row does
    assert pitch == [ext[1] - shared, 1]
    span = (ext[0] - 1) * pitch[0] + ext[1]
    assert plane >= span and plane % layout.PLANE_ALIGN == 0
    assert plane - span < layout.PLANE_ALIGN


@pytest.mark.parametrize("box, shared", [((5,), 1), ((2, 3, 4), 1), ((4, 3), 4), ((4, 3), -1)])
def test_band_layout_refuses_shared_columns_it_cannot_hold(box, shared):
    kernel = (2,) * len(box)
    with pytest.raises(ValueError, match="shared border columns need a 2-d band"):
        layout.band_layout(box, kernel, (1,) * len(box), (1,) * len(box), shared)


@pytest.mark.parametrize("args, expected", [
    # (out_width, box_width, kernel_width, stride, dilation_width, pads, fill_border)
    ((28, 28, 3, (1, 1), 1, (1, 1), True), 1),        # "same" 3x3: one column
    ((28, 28, 7, (2, 1), 1, (3, 3), True), 3),        # row stride does not matter
    ((28, 28, 5, (1, 1), 2, (4, 2), True), 2),        # the narrower side decides
    ((30, 30, 3, (1, 1), 1, (0, 0), True), 0),        # no border
    ((28, 28, 3, (1, 1), 1, (5, 5), True), 2),        # never more than the kernel's reach
    ((28, 14, 3, (1, 1), 1, (1, 1), True), 0),        # a box of part of the row
    ((14, 14, 3, (1, 2), 1, (1, 1), True), 0),        # stride along the row
    ((28, 28, 3, (1, 1), 1, (1, 1), False), 0),       # reflect, replicate, symmetric
    ((28, 28, 3, (1,), 1, (1, 1), True), 0),          # not 2-d
])
def test_shared_border_columns(args, expected):
    assert layout.shared_border_columns(*args) == expected


@pytest.mark.parametrize("x_shape, w_shape, kwargs", [
    ((1, 3, 19), (2, 3, 4), dict(stride=2, dilation=3)),
    ((1, 2, 8, 9), (4, 2, 3, 2), dict(stride=(2, 3), dilation=(1, 2))),
    ((1, 2, 6, 7, 5), (2, 2, 2, 3, 2), dict(stride=(1, 2, 2), dilation=(2, 1, 1))),
])
@pytest.mark.parametrize("reverse", [False, True])
def test_tap_offsets_match_brute_force(x_shape, w_shape, kwargs, reverse):
    g = describe_conv(x_shape, w_shape, **kwargs)
    residues = layout.phase_residues(g.kernel, g.stride, g.dilation)
    _ext, pitch, plane = layout.band_layout(g.out_spatial, g.kernel, g.stride, g.dilation)
    offsets, n_phase = layout.tap_offsets(g, residues, pitch, plane, reverse_taps=reverse)
    assert n_phase == math.prod(len(r) for r in residues)
    taps = list(itertools.product(*[range(k) for k in g.kernel]))
    expected = []
    for channel in range(g.in_per_group):
        for tap in (reversed(taps) if reverse else taps):
            phase = 0
            position = 0
            for t, s, d, res, p in zip(tap, g.stride, g.dilation, residues, pitch):
                phase = phase * len(res) + res.index((t * d) % s)
                position += (t * d) // s * p
            expected.append(channel * n_phase * plane + phase * plane + position)
    np.testing.assert_array_equal(offsets, expected)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_scratch_layout_parts_are_aligned_ordered_and_disjoint(ndim):
    residues = [[0, 1], [0], [0, 1, 2]][:ndim]
    ext = [7, 5, 9][:ndim]
    s = layout.scratch_layout(ndim=ndim, residues=residues, ext=ext, band_bytes=1000,
                              tile_bytes=300, winograd_v_bytes=130, winograd_m_bytes=0)
    parts = [layout.SCRATCH_ALIGN, s["band"], s["tile"], s["index"], s["winograd_v"],
             s["winograd_m"], s["bytes_per_thread"]]
    assert parts == sorted(parts) and all(p % layout.SCRATCH_ALIGN == 0 for p in parts)
    assert s["tile"] - s["band"] >= 1000 and s["index"] - s["tile"] >= 300
    assert s["winograd_m"] - s["winograd_v"] >= 130
    assert s["winograd_v"] - s["index"] >= 8 * s["index_elems"]
    # the index area: every slot its own, all inside index_elems
    lengths = {"origin": ndim, "blen": ndim, "o": ndim, "o0": ndim, "counter": ndim,
               "res_idx": ndim, "tab_base": ndim, "run_lo": len(residues[-1]),
               "run_hi": len(residues[-1]), "run_src": len(residues[-1]),
               "table": sum(len(r) * e for r, e in zip(residues, ext))}
    used = np.zeros(s["index_elems"], int)
    for name, length in lengths.items():
        used[s[name]:s[name] + length] += 1
    assert (used == 1).all()


# ----------------------------------------------------------------------------- the record
def _fields(*shapes, **kwargs):
    return dict(pyconvx.plan(*shapes, **kwargs).records[0].fields)


def test_plan_record_is_built_from_exactly_its_fields():
    fields = _fields((2, 16, 20, 20), (32, 16, 3, 3), padding=1, algorithm="gemm")
    assert fields.keys() == FIELDS
    DirectPlan(fields)   # a complete, consistent plan is accepted
    missing = dict(fields)
    del missing["kc"]
    with pytest.raises(ValueError, match=r"missing fields \['kc'\]"):
        DirectPlan(missing)
    with pytest.raises(ValueError, match=r"unexpected fields \['wino_extra'\]"):
        DirectPlan({**fields, "wino_extra": 0})


@pytest.mark.parametrize("change, message", [
    (dict(mr=3), "is not the GEMM tile"),
    (dict(n_units=7), "work units do not cover the output"),
    (dict(box_count=2), "work units do not cover the output"),
    (dict(box=[1, 1]), "boxes do not cover the output"),
    (dict(level=9), "SIMD level 9 is not compiled in"),
    (dict(threads=0), "threads and chunk must be >= 1"),
    (dict(in_size=[20]), "in_size has 1 entries, expected 2"),
    (dict(off=[0, 1]), "off has 2 entries"),
    (dict(pitch=[20, 1]), "band rows 20 apart for 22 columns"),   # shares more than the border
    (dict(pitch=[23, 1]), "band rows 23 apart for 22 columns"),   # rows overlap nothing
    (dict(pitch=[21, 2]), r"band pitches \[21, 2\]"),
    (dict(mode=1), "band rows 21 apart"),                         # a border of x's own values
])
def test_plan_record_refuses_inconsistent_plans(change, message):
    fields = _fields((2, 16, 20, 20), (32, 16, 3, 3), padding=1, algorithm="gemm")
    with pytest.raises(ValueError, match=message):
        DirectPlan({**fields, **change})


def test_plan_record_refuses_a_broken_scratch_layout():
    fields = _fields((1, 8, 12, 12), (8, 8, 3, 3), padding=1, algorithm="gemm")
    scratch = dict(fields["scratch"])
    scratch["tile"] += 8          # not aligned
    with pytest.raises(ValueError, match="not aligned and in order"):
        DirectPlan({**fields, "scratch": scratch})
    scratch = dict(fields["scratch"])
    scratch["tile"] = scratch["band"]   # the band would overlap the tiles
    with pytest.raises(ValueError, match="band overlaps the scratch tiles"):
        DirectPlan({**fields, "scratch": scratch})


@pytest.mark.parametrize("forced", ["gemm", "row", "rowblock", "depthwise", "winograd"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_plan_tile_is_the_tile_of_its_microkernel_set(forced, dtype):
    plan = pyconvx.plan((1, 1, 64, 64), (1, 1, 3, 3), algorithm=forced, dtype=dtype)
    tiles = ukernel_set_tiles(["generic", "avx2", "avx512"].index(plan.simd))[dtype]
    fields = plan.records[0].fields
    assert plan.microkernel == {"winograd": "gemm"}.get(forced, forced)
    assert Kind(fields["kind"]).name == forced.upper()
    if forced == "depthwise":   # rows per pass x vector lanes
        assert plan.tile == tiles["depthwise"] and fields["nr"] == tiles["depthwise"][1]
    else:
        assert plan.tile == tiles[plan.microkernel] == (fields["mr"], fields["nr"])


def test_executor_refuses_arrays_that_are_not_the_plans(rng):
    x = rng.standard_normal((2, 4, 10, 10)).astype(np.float32)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    plan = pyconvx.plan(x, w, padding=1).records
    out = np.empty((2, 6, 10, 10), np.float32)
    direct.run(x, w, None, out, plan)
    np.testing.assert_array_equal(out, pyconvx.conv(x, w, padding=1))
    with pytest.raises(ValueError, match="x has dtype float64"):
        direct.run(x.astype(np.float64), w, None, out, plan)
    with pytest.raises(ValueError, match="x does not match the plan"):
        direct.run(x[:1], w, None, out, plan)
    with pytest.raises(ValueError, match="x does not match the plan"):
        direct.run(np.asfortranarray(x), w, None, out, plan)
    with pytest.raises(ValueError, match="weight does not match the plan"):
        direct.run(x, w[:5], None, out, plan)
    with pytest.raises(ValueError, match="out does not match the plan"):
        direct.run(x, w, None, out[:, :, :9], plan)
    with pytest.raises(ValueError, match="bias does not match the plan"):
        direct.run(x, w, np.zeros(5, np.float32), out, plan)
    misaligned = np.zeros(x.nbytes + 1, np.uint8)[1:].view(np.float32).reshape(x.shape)
    misaligned[...] = x
    with pytest.raises(ValueError, match="x does not match the plan"):
        direct.run(misaligned, w, None, out, plan)
