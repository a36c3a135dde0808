"""Targets ``unfold.*``: im2col and col2im against the main suite's float64 references.

``tests/_reference.py`` has ``im2col_reference`` and ``col2im_reference``
(torch's unfold/fold semantics, symmetric zero padding).  Every padding form
pyconvx accepts is turned into explicit (low, high) pairs: im2col's
reference runs on the input zero-padded by hand, col2im's folds into the
padded image and crops it.  im2col copies values, so its result must equal
the reference exactly (NaN where it has NaN); col2im adds overlapping
entries, so within ``(kh * kw + 1) * eps * (sum of |entries|)``.  The
result dtype is float32 for float32 input, else float64; a kernel that
does not fit the padded image is a ValueError.  Bits must not depend on
the memory layout or on ``threads``.
"""

import numpy as np
from hypothesis import strategies as st

import pyconvx

from .. import strategies as fs
from .. import values
from ..checks import (
    EPS,
    Finding,
    call,
    check_dtype,
    expect_error,
    unexpected_error,
    within_bound,
)
from ..registry import Target, register
from .conv import padding_spec, same_bits
from _reference import canonical_pads, col2im_reference, im2col_reference, out_length


def _pair(value):
    return (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)


@st.composite
def window_kwargs(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    padding, _ = draw(padding_spec(2, "zeros"))
    return {
        "kernel_size": kernel if draw(st.booleans()) or kernel[0] != kernel[1] else kernel[0],
        "stride": fs.per_dim(draw, (draw(st.integers(1, 3)), draw(st.integers(1, 3)))),
        "padding": padding,
        "dilation": fs.per_dim(draw, (draw(st.integers(1, 2)), draw(st.integers(1, 2)))),
    }


def _geometry(spatial, kwargs):
    """(pads, blocks) of the windows, or None when the kernel does not fit."""
    kernel, stride, dilation = (_pair(kwargs[k]) for k in ("kernel_size", "stride", "dilation"))
    pads = canonical_pads(kwargs["padding"], spatial, kernel, stride, dilation)
    blocks = []
    for n, k, s, (lo, hi), d in zip(spatial, kernel, stride, pads, dilation):
        if d * (k - 1) + 1 > n + lo + hi:
            return pads, None
        blocks.append(out_length(n, k, s, lo, hi, d))
    return pads, tuple(blocks)


@st.composite
def im2col_case(draw):
    kwargs = draw(window_kwargs())
    batch = (draw(st.integers(0, 3)),) if draw(st.booleans()) else ()
    shape = batch + (draw(st.integers(1, 3)), draw(st.integers(1, 10)), draw(st.integers(1, 10)))
    return {"function": "im2col", "x": draw(fs.arrays(shape)), "kwargs": kwargs,
            "threads": draw(fs.threads)}


@st.composite
def col2im_case(draw):
    kwargs = draw(window_kwargs())
    size = (draw(st.integers(1, 10)), draw(st.integers(1, 10)))
    _, blocks = _geometry(size, values.make(kwargs))
    channels = draw(st.integers(1, 3))
    kh, kw = _pair(kwargs["kernel_size"])
    windows = 1 if blocks is None else blocks[0] * blocks[1]
    batch = (draw(st.integers(0, 3)),) if draw(st.booleans()) else ()
    shape = batch + (channels * kh * kw, windows)
    output_size = size if draw(st.booleans()) or size[0] != size[1] else size[0]
    return {"function": "col2im", "cols": draw(fs.arrays(shape)),
            "output_size": output_size, "kwargs": kwargs, "threads": draw(fs.threads)}


def _run_im2col(case):
    x = values.make(case["x"])
    kwargs, threads = values.make(case["kwargs"]), case["threads"]
    got, exc = call(pyconvx.im2col, x, **kwargs, threads=threads)
    pads, blocks = _geometry(x.shape[-2:], kwargs)
    if blocks is None:
        expect_error(exc, (ValueError,), "im2col with a kernel larger than the padded input",
                     names=("kernel", "dilated", "padded"))
        return
    if exc is not None:
        raise unexpected_error(exc, "im2col")
    dtype = fs.result_dtype(x.dtype)
    check_dtype(got, dtype)
    padded = np.pad(np.asarray(x, dtype=np.float64), ((0, 0),) * (x.ndim - 2) + tuple(pads))
    expected = im2col_reference(padded, kwargs["kernel_size"], kwargs["stride"], 0,
                                kwargs["dilation"])
    within_bound(got, expected, 0.0, key=f"im2col/{dtype.name}")
    canon = values.canonical(x)
    same_bits(got, lambda t: pyconvx.im2col(canon, **kwargs, threads=t), threads, "im2col")


def _run_col2im(case):
    cols = values.make(case["cols"])
    kwargs, threads = values.make(case["kwargs"]), case["threads"]
    output_size = case["output_size"]
    got, exc = call(pyconvx.col2im, cols, output_size, **kwargs, threads=threads)
    size = _pair(output_size)
    pads, blocks = _geometry(size, kwargs)
    if blocks is None:
        expect_error(exc, (ValueError,), "col2im with a kernel larger than the padded image",
                     names=("kernel", "dilated", "padded"))
        return
    if exc is not None:
        raise unexpected_error(exc, "col2im")
    dtype = fs.result_dtype(cols.dtype)
    check_dtype(got, dtype)
    padded_size = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    crop = (Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(size, pads))

    def fold(values_):
        return col2im_reference(values_, padded_size, kwargs["kernel_size"], kwargs["stride"],
                                0, kwargs["dilation"])[crop]

    c64 = np.asarray(cols, dtype=np.float64)
    finite = np.where(np.isfinite(c64), c64, 0.0)
    expected = fold(finite)
    # NaN and Inf: an image pixel is non-finite when one of its entries is
    for mask, fill in ((np.isposinf(c64), np.inf), (np.isneginf(c64), -np.inf)):
        expected[fold(mask.astype(np.float64)) > 0] += fill
    expected[fold(np.isnan(c64).astype(np.float64)) > 0] = np.nan
    kh, kw = _pair(kwargs["kernel_size"])
    bound = (kh * kw + 1) * EPS[dtype] * fold(np.abs(finite)) + float(
        np.finfo(dtype).smallest_subnormal)
    if got.shape != expected.shape:
        raise Finding("shape", f"result shape {got.shape}, reference {expected.shape}")
    within_bound(got, expected, bound, key=f"col2im/{dtype.name}")
    canon = values.canonical(cols)
    same_bits(got, lambda t: pyconvx.col2im(canon, output_size, **kwargs, threads=t), threads,
              "col2im")


def _describe(case):
    kw = ", ".join(f"{k}={values.describe(v)}" for k, v in case["kwargs"].items())
    if case["function"] == "im2col":
        return f"pyconvx.im2col({values.describe(case['x'])}, {kw}, threads={case['threads']})"
    return (f"pyconvx.col2im({values.describe(case['cols'])}, {case['output_size']!r}, {kw}, "
            f"threads={case['threads']})")


register(Target(name="unfold.im2col", strategy=im2col_case, check=_run_im2col,
                functions=("im2col",), describe=_describe))
register(Target(name="unfold.col2im", strategy=col2im_case, check=_run_col2im,
                functions=("col2im",), describe=_describe))
