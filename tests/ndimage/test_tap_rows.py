"""The tap-rows engine (``pyconvx._engine.taps``) under pyconvx.ndimage's 1-D passes.

Against scipy.ndimage as the oracle: every border name, odd and even
kernels, every legal origin, passes along the first, a middle and the last
axis, float32 (within the float32 rounding bound of SciPy's float64 answer)
and float64, on 1, 2 and 3 threads, bitwise the same on every thread count
and bitwise the same as :func:`pyconvx.conv` (the path these passes took
before, and still take on narrow rows).  The engine itself, on every
compiled SIMD set, against a NumPy float64 reference: kernels of several
rows and columns through its ring of padded rows, row lengths around the
vector length and the unit's width, fill rows and columns, and its refusals.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pyconvx import _ndimage_core
from pyconvx import ndimage as pn
from pyconvx._boundary import extend_indices
from pyconvx._engine import dispatch
from pyconvx._engine.taps import correlate_rows

sn = pytest.importorskip("scipy.ndimage")

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-mirror", "grid-constant",
         "grid-wrap"]
U32 = 2.0**-24
LEVELS = [dispatch.LEVEL_NAMES.index(name) for name in dispatch.available_levels()]
LEVEL_IDS = [dispatch.LEVEL_NAMES[level] for level in LEVELS]


def _data(shape, dtype, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 10).astype(dtype)


def _origins(size):
    return sorted({-(size // 2), 0, (size - 1) // 2})


def _conv_path(monkeypatch):
    """Make :func:`_ndimage_core.correlate` run every pass on :func:`pyconvx.conv`."""
    monkeypatch.setattr(_ndimage_core, "_tap_rows_layout", lambda *args: None)


# shapes whose passes take the engine: rows of 64+ values (axis 0 of the 2-d
# image, axes 0 and 1 of the volume), or 64+ rows (the last axis)
CASES = [((70, 131), 0), ((70, 131), 1), ((5, 9, 80), 0), ((4, 21, 70), 1), ((9, 8, 67), 2)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [2, 3, 4, 7, 25])
@pytest.mark.parametrize("shape,axis", CASES)
def test_correlate1d_float32_within_the_bound_and_thread_invariant(shape, axis, size, mode):
    x = _data(shape, np.float32)
    weights = _data(size, np.float32, seed=size)
    assert _ndimage_core._tap_rows_layout(
        shape, [size if a == axis else 1 for a in range(len(shape))],
        [(1, 1) if a == axis else (0, 0) for a in range(len(shape))]) is not None
    for origin in _origins(size):
        exact = sn.correlate1d(x.astype(np.float64), weights.astype(np.float64), axis=axis,
                               mode=mode, cval=1.5, origin=origin)
        results = [pn.correlate1d(x, weights, axis=axis, mode=mode, cval=1.5, origin=origin,
                                  threads=threads) for threads in (1, 2, 3)]
        scale = float(np.abs(weights).sum()) * max(float(np.abs(x).max()), 1.5)
        assert results[0].dtype == np.float32
        np.testing.assert_allclose(results[0].astype(np.float64), exact, rtol=0,
                                   atol=(size + 2) * U32 * scale)
        for other in results[1:]:
            assert np.array_equal(results[0], other)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [3, 6])
@pytest.mark.parametrize("shape,axis", CASES)
def test_correlate1d_float64_matches_scipy(shape, axis, size, mode):
    x = _data(shape, np.float64)
    weights = _data(size, np.float64, seed=size)
    scale = float(np.abs(weights).sum()) * max(float(np.abs(x).max()), 1.5)
    for origin in _origins(size):
        theirs = sn.correlate1d(x, weights, axis=axis, mode=mode, cval=-2.0, origin=origin)
        for threads in (1, 3):
            ours = pn.correlate1d(x, weights, axis=axis, mode=mode, cval=-2.0, origin=origin,
                                  threads=threads)
            np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,axis", CASES)
def test_passes_have_the_bits_of_conv(shape, axis, mode, dtype, monkeypatch):
    x = _data(shape, dtype)
    weights = _data(5, dtype, seed=3)
    ours = pn.correlate1d(x, weights, axis=axis, mode=mode, cval=0.25, origin=1, threads=2)
    _conv_path(monkeypatch)
    theirs = pn.correlate1d(x, weights, axis=axis, mode=mode, cval=0.25, origin=1, threads=2)
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap"])
def test_separable_filters_have_the_bits_of_conv(mode, dtype, monkeypatch):
    """gaussian, uniform and sobel (passes through the scratch buffers) on both paths."""
    image = _data((96, 150), dtype)
    volume = _data((20, 18, 70), dtype)
    runs = [lambda: pn.gaussian_filter(image, 3.0, mode=mode, cval=0.5, threads=3),
            lambda: pn.uniform_filter(image, 8, mode=mode, origin=-1, threads=2),
            lambda: pn.sobel(volume, 0, mode=mode, threads=2),
            lambda: pn.gaussian_filter1d(volume, 2.0, axis=1, order=1, mode=mode, threads=1)]
    ours = [run() for run in runs]
    _conv_path(monkeypatch)
    for run, mine in zip(runs, ours):
        assert np.array_equal(mine, run())


def test_gaussian_filter_matches_scipy_on_an_image_of_unit_rows():
    """Rows and columns beyond one work unit (32 rows, 2048 columns) and a vector tail."""
    x = _data((150, 2100), np.float32)
    ours = pn.gaussian_filter(x, 3.0, threads=3)
    exact = sn.gaussian_filter(x.astype(np.float64), 3.0)
    assert np.array_equal(ours, pn.gaussian_filter(x, 3.0, threads=1))
    np.testing.assert_allclose(ours.astype(np.float64), exact, rtol=0,
                               atol=(25 + 25 + 1) * U32 * float(np.abs(x).max()))


def test_a_pass_over_a_fortran_ordered_array_is_the_contiguous_one():
    x = _data((80, 90), np.float32)
    weights = _data(7, np.float32, seed=1)
    for axis in (0, 1):
        assert np.array_equal(pn.correlate1d(np.asfortranarray(x), weights, axis=axis),
                              pn.correlate1d(x, weights, axis=axis))


# -- the engine on its own -----------------------------------------------------


def _engine_reference(x, kernel, row_index, col_index, fill):
    """float64 sums of ``kernel`` over the rows and columns the index tables name."""
    kh, kw = kernel.shape
    outer, _, width = x.shape
    cols = np.arange(width) if col_index is None else col_index
    padded = np.full((outer, len(row_index) + 2, len(cols) + 2), fill, dtype=np.float64)
    for i, r in enumerate(row_index):
        if r >= 0:
            for q, c in enumerate(cols):
                if c >= 0:
                    padded[:, i, q] = x[:, r, c]
    rows_out, width_out = len(row_index) - kh + 1, len(cols) - kw + 1
    out = np.zeros((outer, rows_out, width_out))
    for a in range(kh):
        for b in range(kw):
            out += float(kernel[a, b]) * padded[:, a:a + rows_out, b:b + width_out]
    return out


@pytest.mark.parametrize("level", LEVELS, ids=LEVEL_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kh,kw", [(1, 1), (1, 5), (3, 1), (4, 1), (3, 3), (2, 5), (5, 4)])
@pytest.mark.parametrize("width", [1, 7, 16, 33, 130])
def test_engine_against_the_reference_on_every_set(level, dtype, kh, kw, width):
    """Small integers: every product and partial sum is exact, so the bits must match."""
    rng = np.random.default_rng(kh * 100 + kw * 10 + width)
    outer, rows = 2, 11
    x = rng.integers(-8, 9, (outer, rows, width)).astype(dtype)
    kernel = rng.integers(-4, 5, (kh, kw)).astype(dtype)
    row_index = extend_indices(np.arange(-2, rows + kh - 1 - 2 + 3), rows, "symmetric")
    row_index[1] = -1   # a fill row inside the table
    if kw == 1 and width != 7:
        col_index, width_out = None, width
    else:
        col_index = extend_indices(np.arange(-1, width + kw - 1 - 1), width, "reflect"
                                   if width > 1 else "replicate")
        col_index[0] = -1   # a fill column
        width_out = width
    rows_out = len(row_index) - kh + 1
    expected = _engine_reference(x, kernel, row_index, col_index, 3.0)
    outs = []
    for threads in (1, 2, 3):
        out = np.full((outer, rows_out, width_out), np.nan, dtype=dtype)
        correlate_rows(x, np.ascontiguousarray(kernel.T).reshape(-1), kh, kw, row_index,
                       col_index, 3.0, out, threads, level)
        outs.append(out)
    assert np.array_equal(outs[0], expected.astype(dtype))
    for other in outs[1:]:
        assert np.array_equal(outs[0], other)


@pytest.mark.parametrize("level", LEVELS, ids=LEVEL_IDS)
def test_engine_rounding_stays_within_the_sum_bound(level):
    """Random float32: within ``K * 2**-24 * sum|w| * max|x|`` of the float64 sum."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 40, 300)).astype(np.float32)
    for kh, kw in [(25, 1), (1, 25), (5, 5)]:
        kernel = rng.standard_normal((kh, kw)).astype(np.float32)
        row_index = extend_indices(np.arange(-(kh // 2), 40 + kh // 2), 40, "reflect")
        col_index = (None if kw == 1 else
                     extend_indices(np.arange(-(kw // 2), 300 + kw // 2), 300, "wrap"))
        out = np.empty((3, 40, 300), dtype=np.float32)
        correlate_rows(x, np.ascontiguousarray(kernel.T).reshape(-1), kh, kw, row_index,
                       col_index, 0.0, out, 2, level)
        exact = _engine_reference(x.astype(np.float64), kernel.astype(np.float64), row_index,
                                  col_index, 0.0)
        bound = kh * kw * U32 * float(np.abs(kernel).sum()) * float(np.abs(x).max())
        assert float(np.max(np.abs(out - exact))) <= bound


def _engine_args(**change):
    args = {"x": np.zeros((1, 4, 8), np.float32), "weights": np.ones(3, np.float32),
            "kh": 3, "kw": 1, "row_index": np.arange(-1, 5).clip(0, 3), "col_index": None,
            "fill": 0.0, "out": np.zeros((1, 4, 8), np.float32), "threads": 1,
            "level": LEVELS[0]}
    args.update(change)
    return args


@pytest.mark.parametrize("change,message", [
    ({"row_index": np.arange(-1, 5)}, r"row_index holds indices outside \[-1, 4\)"),
    ({"row_index": np.arange(5)}, "row_index must hold 6 indices"),
    ({"col_index": np.arange(7)}, "col_index must hold 8 indices"),
    ({"kw": 2, "weights": np.ones(6, np.float32)}, "col_index may be None only"),
    ({"weights": np.ones(4, np.float32)}, "weights must hold kh \\* kw = 3 \\* 1 taps"),
    ({"out": np.zeros((1, 4, 8), np.float64)}, "one dtype"),
    ({"out": np.zeros((2, 4, 8), np.float32)}, "out must have 1 images"),
    ({"x": np.zeros((1, 8, 4), np.float32).transpose(0, 2, 1)}, "C-contiguous"),
    ({"x": np.zeros((1, 4, 8), np.int32)}, "float32 or float64"),
    ({"threads": 0}, "threads must be at least 1"),
    ({"level": 7}, "SIMD level 7"),
])
def test_engine_refuses_bad_arguments(change, message):
    args = _engine_args(**change)
    with pytest.raises(ValueError, match=message):
        correlate_rows(args["x"], args["weights"], args["kh"], args["kw"], args["row_index"],
                       args["col_index"], args["fill"], args["out"], args["threads"],
                       args["level"])


def test_the_engine_stub_matches_the_compiled_module():
    pytest.importorskip("mypy")
    allowlist = Path(__file__).parent.parent / "stubtest_allowlist.txt"
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "pyconvx._engine.taps", "--allowlist",
         str(allowlist), "--ignore-unused-allowlist"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
