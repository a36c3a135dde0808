"""Targets ``signal.*``: correlate, convolve, correlate2d, convolve2d against scipy.signal.

SciPy is the oracle of these SciPy-compatible functions: the same call on
the same arrays must refuse (ValueError) or succeed as SciPy does, with
SciPy's result dtype and shape; integer and bool results must be equal;
float results must lie within ``(K * eps + K * eps64) * (|in1| corr |in2|)``
of SciPy's float64 direct result (SciPy's own float64 rounding is the
second term), K the number of products of an output.  ``method='fft'``, and
``'auto'`` when its result differs from ``method='direct'``, get the FFT
bound of ``fuzz/checks.py``.  Results must have the same bits for every
memory layout of the inputs.  Inputs are float or integer (SciPy refuses
bool inputs that pyconvx computes: there is no oracle).  Values are finite (NaN and Inf are the conv
target's: the same engine computes both).
"""

import math

import numpy as np
from hypothesis import strategies as st

import pyconvx

from .. import strategies as fs
from .. import values
from ..checks import (
    EPS,
    FFT_FACTOR,
    Finding,
    bitwise_equal,
    call,
    check_dtype,
    unexpected_error,
    within_bound,
)
from ..registry import Target, register

MODES = ("full", "same", "valid")
BOUNDARIES = ("fill", "pad", "wrap", "circular", "symm", "symmetric")
#: NaN and Inf are left to the conv target (same engine): SciPy's 1-d direct
#: path is numpy.correlate, whose BLAS dot may skip 0 * Inf.
FINITE_KINDS = st.sampled_from(("normal", "small-int", "wide"))
#: SciPy refuses bool inputs where pyconvx documents computing them: no oracle.
DTYPES = st.one_of(fs.float_dtypes, fs.float_dtypes,
                   st.sampled_from(("int8", "uint8", "int16", "int32", "int64")))


def _scipy_signal():
    import scipy.signal

    return scipy.signal


@st.composite
def nd_case(draw, function):
    ndim = draw(st.integers(1, 3))
    limit = {1: 30, 2: 9, 3: 5}[ndim]
    shape1 = tuple(draw(st.integers(1, limit)) for _ in range(ndim))
    shape2 = tuple(draw(st.integers(1, max(2, limit // 2))) for _ in range(ndim))
    if draw(st.integers(0, 3)) == 0:  # the second input larger ('valid' swaps)
        shape1, shape2 = shape2, shape1
    method = draw(st.sampled_from(("auto", "direct", "fft")))
    return {
        "function": function,
        "in1": draw(fs.arrays(shape1, dtype=draw(DTYPES), kind=draw(FINITE_KINDS))),
        "in2": draw(fs.arrays(shape2, dtype=draw(DTYPES), kind=draw(FINITE_KINDS))),
        "kwargs": {"mode": draw(st.sampled_from(MODES)), "method": method},
    }


@st.composite
def two_d_case(draw, function):
    shape1 = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    shape2 = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    if draw(st.integers(0, 3)) == 0:
        shape1, shape2 = shape2, shape1
    fill = draw(st.sampled_from((0, 0, 0, 1, -2, 0.5, 1.7, "np.float32", "np.int64")))
    if fill == "np.float32":
        fill = values.scalar("float32", 2.5)
    elif fill == "np.int64":
        fill = values.scalar("int64", 3)
    return {
        "function": function,
        "in1": draw(fs.arrays(shape1, dtype=draw(DTYPES), kind=draw(FINITE_KINDS))),
        "in2": draw(fs.arrays(shape2, dtype=draw(DTYPES), kind=draw(FINITE_KINDS))),
        "kwargs": {"mode": draw(st.sampled_from(MODES)),
                   "boundary": draw(st.sampled_from(BOUNDARIES)), "fillvalue": fill},
    }


def _scipy_call(function, in1, in2, kwargs):
    signal = _scipy_signal()
    kwargs = dict(kwargs)
    if "method" in kwargs:
        kwargs["method"] = "direct"
    try:
        return getattr(signal, function)(in1, in2, **kwargs), None
    except ValueError as exc:
        return None, exc


def _float64_reference(function, in1, in2, kwargs, out_dtype):
    """SciPy's direct result on float64 copies (fillvalue cast to the output dtype first)."""
    kwargs = dict(kwargs)
    if "fillvalue" in kwargs:
        kwargs["fillvalue"] = float(np.asarray(kwargs["fillvalue"]).astype(out_dtype))
    first, second = (np.asarray(a, dtype=np.float64) for a in (in1, in2))
    expected, _ = _scipy_call(function, first, second, kwargs)
    if "fillvalue" in kwargs:
        kwargs["fillvalue"] = abs(kwargs["fillvalue"])
    scale, _ = _scipy_call(function, np.abs(first), np.abs(second), kwargs)
    return expected, scale


def run_signal_case(case):
    function = getattr(pyconvx, case["function"])
    in1, in2 = values.make(case["in1"]), values.make(case["in2"])
    kwargs = values.make(case["kwargs"])
    oracle, oracle_exc = _scipy_call(case["function"], in1, in2, kwargs)
    got, exc = call(function, in1, in2, **kwargs)
    if oracle_exc is not None:
        if exc is None:
            raise Finding("accepted-what-scipy-refuses",
                          f"scipy.signal.{case['function']} raised ValueError ({oracle_exc}); "
                          f"pyconvx returned {got.dtype} {got.shape}", case["function"])
        if not isinstance(exc, ValueError):
            raise Finding("wrong-error", f"SciPy raised ValueError, pyconvx "
                          f"{type(exc).__name__}: {exc}", type(exc).__name__)
        return
    if exc is not None:
        raise unexpected_error(exc, f"{case['function']} (SciPy computed it)")
    check_dtype(got, oracle.dtype)
    if got.shape != oracle.shape:
        raise Finding("shape", f"result shape {got.shape}, SciPy's {oracle.shape}")
    if got.dtype.kind in "biu":
        bitwise_equal(got, oracle, kind="value", key="integer", what="integer result")
    else:
        expected, scale = _float64_reference(case["function"], in1, in2, kwargs, got.dtype)
        # an output sums the overlap of the two arrays, at most the smaller one's
        # size, when the border adds zeros; a fill value, a wrapped or a mirrored
        # border gives every tap of the larger array a value of its own
        zero_border = (kwargs.get("boundary", "fill") == "fill"
                       and float(np.asarray(kwargs.get("fillvalue", 0))) == 0)
        terms = (min(in1.size, in2.size) if zero_border else max(in1.size, in2.size)) + 1
        bound = terms * (EPS[got.dtype] + EPS[np.dtype(np.float64)]) * scale
        path = kwargs.get("method", "direct")
        if path == "auto":
            direct = function(in1, in2, **{**kwargs, "method": "direct"})
            try:
                bitwise_equal(got, direct)
                path = "direct"
            except Finding:
                path = "fft"
        if path == "fft" and scale.size:
            length = math.prod(a + b - 1 for a, b in zip(in1.shape, in2.shape))
            finite = np.abs(np.where(np.isfinite(in1), in1, 0)).max() * np.abs(
                np.where(np.isfinite(in2), in2, 0)).sum()
            bound = bound + FFT_FACTOR * EPS[got.dtype] * math.log2(max(length, 2)) * max(
                finite, float(np.nanmax(scale)))
        bound = bound + terms * float(np.finfo(got.dtype).smallest_subnormal)
        within_bound(got, expected, bound, key=f"{path}/{got.dtype.name}")
    again = function(values.canonical(in1), values.canonical(in2), **kwargs)
    bitwise_equal(got, again, kind="bitwise", key=f"layout/{case['function']}",
                  what="result vs the same call on C-contiguous inputs")


def _describe(case):
    kw = ", ".join(f"{k}={values.describe(v)}" for k, v in case["kwargs"].items())
    return (f"pyconvx.{case['function']}({values.describe(case['in1'])}, "
            f"{values.describe(case['in2'])}, {kw})")


for _name, _strategy in (("correlate", nd_case), ("convolve", nd_case),
                         ("correlate2d", two_d_case), ("convolve2d", two_d_case)):
    register(Target(
        name=f"signal.{_name}",
        strategy=(lambda s=_strategy, n=_name: s(n)),
        check=run_signal_case,
        functions=(_name,),
        requires=("scipy",),
        describe=_describe,
    ))
