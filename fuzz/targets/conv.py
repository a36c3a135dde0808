"""Targets ``conv.conv``: pyconvx.conv and conv1d/2d/3d against the float64 reference.

A case draws a whole convolution problem: rank 1-3, batched or not (batch
0-3), dense, grouped, depthwise or channel-multiplier channels (sometimes
none at all), kernel, stride and dilation 1-3 in every spelling, every
padding form and mode, flip, bias or not, float32/float64/integer/bool
inputs in any memory layout, every ``algorithm=`` and 1-4 threads, and an
``out=`` array (fresh, or the input itself when the shapes allow).

Checks: a problem the documented rules refuse raises ValueError; a forced
algorithm refuses exactly the problems outside its documented reach; else
the dtype rule, the shape, the values within the path's error bound (NaN
and Inf exactly where the reference has them), the inputs left unchanged,
and the bits equal to those of the same call on C-contiguous native inputs
with one thread.
"""

import math

import numpy as np
from hypothesis import strategies as st

import pyconvx

from .. import strategies as fs
from .. import values, winograd
from ..checks import (
    Finding,
    _first_index,
    bitwise_equal,
    call,
    check_dtype,
    conv_error_bound,
    error_ratio,
    expect_error,
    record_ratio,
    unexpected_error,
    within_bound,
)
from ..oracle import conv_expected, nan_operands
from ..registry import Target, register
from _reference import canonical_pads, out_length

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

#: Multiply-adds of one case, at most (the reference runs twice per case).
MAX_WORK = 3_000_000

# The strategies every case draws from, made once (a strategy made inside a
# draw is validated anew every time: half the cost of drawing from it).
PADDING_FORMS = st.sampled_from(("int", "per-dim", "pairs", "string", "string"))
PADDING_STRINGS = st.sampled_from(("valid", "same", "full"))
SEQUENCE_TYPES = st.sampled_from((tuple, list))
STRUCTURES = st.sampled_from(("dense", "depthwise", "multiplier", "grouped", "empty"))
EMPTY_CHANNELS = st.sampled_from(((0, 1), (1, 0), (0, 0), (2, 0)))
FUNCTIONS = {ndim: st.sampled_from(("conv", f"conv{ndim}d")) for ndim in (1, 2, 3)}
OUT_FORMS = st.sampled_from(("none",) * 6 + ("fresh", "x"))
ALGORITHM_NAMES = st.sampled_from(pyconvx.ALGORITHMS)
MODES = st.sampled_from(PADDING_MODES[:1] * 3 + PADDING_MODES[1:])


@st.composite
def padding_spec(draw, ndim, mode):
    """``(padding argument, per-dim (low, high) pairs or None for a string)``."""
    form = draw(PADDING_FORMS)
    limit = 3
    if form == "string":
        return draw(PADDING_STRINGS), None
    if form == "int":
        p = draw(st.integers(0, limit))
        return (p if draw(st.booleans()) else values.scalar("int64", p)), ((p, p),) * ndim
    if form == "per-dim":
        pads = [draw(st.integers(0, limit)) for _ in range(ndim)]
        return draw(SEQUENCE_TYPES)(pads), tuple((p, p) for p in pads)
    entries, pairs = [], []
    for _ in range(ndim):
        lo, hi = draw(st.integers(0, limit)), draw(st.integers(0, limit))
        if lo == hi and draw(st.booleans()):
            entries.append(lo)
        else:
            entries.append(draw(SEQUENCE_TYPES)((lo, hi)))
        pairs.append((lo, hi))
    return tuple(entries), tuple(pairs)


@st.composite
def conv_problem(draw, ndim=None, large=None, winograd_shaped=False):
    """Shapes and keyword arguments of one convolution (not the arrays).

    ``winograd_shaped``: mostly 2-d 3x3 kernels at stride and dilation 1 (the
    problems ``algorithm='winograd'`` takes).
    """
    if winograd_shaped and draw(st.integers(0, 3)) > 0:
        x_shape, w_shape, kwargs = draw(conv_problem(ndim=2, large=large))
        kwargs.update(stride=1, dilation=1)
        return x_shape, w_shape[:2] + (3, 3), kwargs
    ndim = draw(st.integers(1, 3)) if ndim is None else ndim
    large = (ndim == 2 and draw(st.integers(0, 9)) == 0) if large is None else large
    structure = draw(STRUCTURES)
    if structure == "dense":
        groups, cin_g, cout_g = 1, draw(st.integers(1, 20 if large else 4)), draw(
            st.integers(1, 20 if large else 5))
    elif structure == "depthwise":
        groups, cin_g, cout_g = draw(st.integers(1, 20 if large else 4)), 1, 1
    elif structure == "multiplier":
        groups, cin_g, cout_g = draw(st.integers(1, 4)), 1, draw(st.integers(2, 3))
    elif structure == "grouped":
        groups, cin_g, cout_g = draw(st.integers(2, 4)), draw(st.integers(1, 3)), draw(
            st.integers(1, 3))
    else:  # no input channels, or no output channels
        groups = draw(st.integers(1, 2))
        cin_g, cout_g = draw(EMPTY_CHANNELS)
    kmax = 3 if ndim == 3 else 5
    kernel = [3 if large and draw(st.booleans()) else draw(st.integers(1, kmax))
              for _ in range(ndim)]
    stride = [draw(st.integers(1, 3)) if draw(st.integers(0, 2)) == 0 else 1 for _ in kernel]
    dilation = [draw(st.integers(1, 3)) if draw(st.integers(0, 3)) == 0 else 1 for _ in kernel]
    mode = draw(MODES)
    padding, pairs = draw(padding_spec(ndim, mode))
    extra = {1: 24, 2: 10, 3: 4}[ndim] * (4 if large else 1)
    sizes = []
    for axis, (k, d) in enumerate(zip(kernel, dilation)):
        reach = d * (k - 1) + 1
        if pairs is None:
            low = reach + 1 if mode != "zeros" else 1
        else:
            lo, hi = pairs[axis]
            low = max(1, reach - lo - hi)
            if mode in ("reflect", "circular"):
                low = max(low, max(lo, hi) + (mode == "reflect"))
        sizes.append(draw(st.integers(low, low + extra)))
    batched = draw(st.integers(0, 4)) > 0
    batch = draw(st.integers(0, 3)) if batched else 1
    x_shape = ((batch,) if batched else ()) + (groups * cin_g,) + tuple(sizes)
    w_shape = (groups * cout_g, cin_g) + tuple(kernel)
    work = batch * groups * cout_g * max(cin_g, 1) * math.prod(kernel) * math.prod(sizes)
    if work > MAX_WORK:
        x_shape = x_shape[:-1] + (max(1, x_shape[-1] * MAX_WORK // work),)
    kwargs = {
        "stride": fs.per_dim(draw, stride),
        "padding": padding,
        "dilation": fs.per_dim(draw, dilation),
        "groups": groups,
        "flip": draw(st.booleans()),
        "padding_mode": mode,
    }
    return x_shape, w_shape, kwargs


@st.composite
def conv_case(draw):
    algorithm = draw(ALGORITHM_NAMES)
    x_shape, w_shape, kwargs = draw(conv_problem(
        winograd_shaped=algorithm in ("winograd", "fast")))
    ndim = len(w_shape) - 2
    x_dtype, w_dtype = draw(fs.dtypes), draw(fs.dtypes)
    kind = draw(fs.value_kinds)
    return {
        "function": draw(FUNCTIONS[ndim]),
        "x": draw(fs.arrays(x_shape, dtype=x_dtype, kind=kind)),
        "weight": draw(fs.arrays(w_shape, dtype=w_dtype, kind=draw(fs.value_kinds))),
        "bias": draw(st.none() | fs.arrays((w_shape[0],))),
        "kwargs": kwargs,
        "algorithm": algorithm,
        "threads": draw(fs.threads),
        "out": draw(OUT_FORMS),
    }


# ----------------------------------------------------------------------------- rules
def reference_kwargs(kwargs):
    """The reference's keyword arguments for pyconvx's (same meaning, same spelling)."""
    return {name: kwargs[name] for name in
            ("stride", "padding", "dilation", "groups", "flip", "padding_mode")}


def _per_dim(value, ndim):
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * ndim


def documented_refusal(x_shape, w_shape, kwargs):
    """Why the documented rules refuse this problem (a string), or None.

    Written from the docstrings of pyconvx.conv: the dilated kernel must fit
    in the padded input, ``reflect`` needs padding < the input size,
    ``circular`` padding <= the input size, spatial input and kernel non-empty.
    """
    ndim = len(w_shape) - 2
    spatial = x_shape[-ndim:]
    kernel = w_shape[2:]
    stride, dilation = _per_dim(kwargs["stride"], ndim), _per_dim(kwargs["dilation"], ndim)
    if min(spatial) == 0 or min(kernel) == 0:
        return "empty spatial input or kernel"
    pads = canonical_pads(kwargs["padding"], spatial, kernel, stride, dilation)
    for size, k, d, (lo, hi) in zip(spatial, kernel, dilation, pads):
        if d * (k - 1) + 1 > size + lo + hi:
            return "dilated kernel larger than the padded input"
        if kwargs["padding_mode"] == "reflect" and max(lo, hi) >= size:
            return "reflect padding >= input size"
        if kwargs["padding_mode"] == "circular" and max(lo, hi) > size:
            return "circular padding > input size"
    return None


def algorithm_refusal(algorithm, x_shape, w_shape, kwargs):
    """Why a forced algorithm may not take this problem (its documented reach), or None."""
    ndim = len(w_shape) - 2
    groups = kwargs["groups"]
    cin_g, cout_g = w_shape[1], w_shape[0] // groups
    stride, dilation = _per_dim(kwargs["stride"], ndim), _per_dim(kwargs["dilation"], ndim)
    one_channel = ndim == 2 and cin_g == 1 and cout_g == 1
    if algorithm == "depthwise" and not one_channel:
        return "depthwise: 2-d, one input and one output channel per group"
    if algorithm == "rowblock" and not (one_channel and stride[0] == 1 and dilation[0] == 1):
        return "rowblock: 2-d, one channel per group, stride and dilation 1 along rows"
    if algorithm == "winograd" and not (ndim == 2 and tuple(w_shape[2:]) == (3, 3)
                                        and stride == (1, 1) and dilation == (1, 1)):
        return "winograd: 2-d 3x3, stride 1, dilation 1"
    return None


def reference_out_shape(x_shape, w_shape, kwargs):
    """Shape of the result, from the reference's padding rules and output-size formula."""
    ndim = len(w_shape) - 2
    spatial, kernel = x_shape[-ndim:], w_shape[2:]
    stride, dilation = _per_dim(kwargs["stride"], ndim), _per_dim(kwargs["dilation"], ndim)
    pads = canonical_pads(kwargs["padding"], spatial, kernel, stride, dilation)
    out = tuple(out_length(n, k, s, lo, hi, d) for n, k, s, (lo, hi), d in
                zip(spatial, kernel, stride, pads, dilation))
    return tuple(x_shape[:len(x_shape) - ndim - 1]) + (w_shape[0],) + out


def had_to_refuse(exc, x_shape, w_shape, kwargs, algorithm, what):
    """Check the outcome of a call against the refusal rules.

    True when the problem had to be refused (``exc`` is then checked: a
    ValueError naming the parameter); False when it had to compute (``exc``
    must be None, else an 'unexpected-error' Finding is raised).
    """
    refusal = documented_refusal(x_shape, w_shape, kwargs)
    if refusal is not None:
        expect_error(exc, (ValueError,), f"{what} ({refusal})",
                     names=("padding", "padding_mode", "kernel", "x", "input", "dilation",
                            "dilated"))
        return True
    why_not = algorithm_refusal(algorithm, x_shape, w_shape, kwargs)
    if why_not is not None:
        expect_error(exc, (ValueError,), f"{what} ({why_not})", names=("algorithm",))
        return True
    if exc is not None:
        raise unexpected_error(exc, what)
    return False


def fft_length(x_shape, w_shape, kwargs):
    ndim = len(w_shape) - 2
    spatial, kernel = x_shape[-ndim:], w_shape[2:]
    stride, dilation = _per_dim(kwargs["stride"], ndim), _per_dim(kwargs["dilation"], ndim)
    pads = canonical_pads(kwargs["padding"], spatial, kernel, stride, dilation)
    return math.prod(n + lo + hi + d * (k - 1)
                     for n, (lo, hi), k, d in zip(spatial, pads, kernel, dilation))


def path_of(algorithm, x_shape, w_shape, kwargs, dtype):
    """The arithmetic a call runs: 'fft', 'winograd' or 'direct'.

    ``"auto"`` and ``"fast"`` are the plan's choice (``pyconvx.plan``); by
    contract ``"auto"`` takes direct summation only.
    """
    if algorithm in ("fft", "winograd"):
        return algorithm
    if algorithm in ("auto", "fast"):
        plan, exc = call(pyconvx.plan, tuple(x_shape), tuple(w_shape), dtype=dtype,
                         algorithm=algorithm, **reference_kwargs(kwargs))
        if exc is not None:
            raise unexpected_error(exc, "pyconvx.plan of a problem conv computed")
        if algorithm == "auto" and plan.algorithm != "direct":
            raise Finding("plan", f"algorithm='auto' planned {plan.algorithm!r}, not direct "
                          "summation", "auto")
        return plan.algorithm
    return "direct"


def check_values(got, x, weight, bias, kwargs, algorithm, dtype):
    """Shape, values and non-finite positions of one convolution result."""
    ref_kwargs = reference_kwargs(kwargs)
    expected = conv_expected(x, weight, bias, ref_kwargs)
    if got.shape != expected.shape:
        raise Finding("shape", f"result shape {got.shape}, reference {expected.shape}")
    path = path_of(algorithm, x.shape, weight.shape, kwargs, dtype)
    key = f"{path}/{np.dtype(dtype).name}"
    finite = all(np.isfinite(a).all() for a in (x, weight, bias) if a is not None)
    if path == "winograd":
        bound = winograd.tile_bound(x, weight, bias, dtype, ref_kwargs)
        if finite:
            within_bound(got, expected, bound, key=key)
        else:
            winograd.check_tile_rule(got, expected, bound,
                                     winograd.tainted(x, weight, bias, ref_kwargs),
                                     nan_operands(x, weight, bias, ref_kwargs), key)
    elif path == "fft" and not finite:
        # documented: the FFT spreads a NaN or Inf over the outputs (and warns); the
        # outputs the definition makes non-finite must still be non-finite
        missed = ~np.isfinite(expected) & np.isfinite(got)
        if missed.any():
            raise Finding("nonfinite", f"fft: {int(missed.sum())} outputs finite where the "
                          f"definition gives NaN or Inf; first at {_first_index(missed)}", key)
        return
    else:
        length = fft_length(x.shape, weight.shape, kwargs)
        within_bound(got, expected, conv_error_bound(x, weight, bias, dtype, path, ref_kwargs,
                                                     fft_length=length), key=key)
    if path != "direct":  # how far the direct paths' rule is from holding (reported only)
        strict = conv_error_bound(x, weight, bias, dtype, "direct", ref_kwargs)
        record_ratio(f"{key} (direct rule)", error_ratio(got, expected, strict))


def _unchanged(arrays, originals):
    for name, array, before in zip(("x", "weight", "bias"), arrays, originals):
        if array is not None:
            bitwise_equal(values.canonical(array), before, kind="input-modified", key=name,
                          what=f"{name} after the call")


def run_conv_case(case, function=None):
    """Check one case of ``conv_case`` (``function`` overrides the entry point)."""
    function = function or getattr(pyconvx, case["function"])
    x, weight = values.make(case["x"]), values.make(case["weight"])
    bias = None if case["bias"] is None else values.make(case["bias"])
    kwargs = values.make(case["kwargs"])
    algorithm, threads = case["algorithm"], case["threads"]
    dtype = fs.result_dtype(x.dtype, weight.dtype)
    originals = [None if a is None else values.canonical(a) for a in (x, weight, bias)]

    refusal = documented_refusal(x.shape, weight.shape, kwargs)
    out = None
    if refusal is None and case["out"] != "none":
        shape = reference_out_shape(x.shape, weight.shape, kwargs)
        aliasable = (x.shape == shape and x.dtype == dtype and x.flags.c_contiguous
                     and x.flags.writeable and x.flags.aligned)
        out = x if case["out"] == "x" and aliasable else np.full(shape, np.nan, dtype=dtype)

    got, exc = call(function, x, weight, bias, **kwargs, algorithm=algorithm, threads=threads,
                    out=out)
    if had_to_refuse(exc, x.shape, weight.shape, kwargs, algorithm,
                     f"{case['function']}(algorithm={algorithm!r})"):
        return
    if out is not None and got is not out:
        raise Finding("out", "the result is not the out= array", case["out"])
    check_dtype(got, dtype)
    if out is not x:
        _unchanged((x, weight, bias), originals)
    x_values = originals[0] if out is x else x
    check_values(got, x_values, weight, bias, kwargs, algorithm, dtype)

    canon = [None if a is None else values.canonical(a) for a in (x_values, weight, bias)]
    same_bits(got, lambda t: function(*canon, **kwargs, algorithm=algorithm, threads=t),
              threads, algorithm)


def same_bits(got, run_canonical, threads, label):
    """``got`` must have the bits of the canonical call with one thread.

    ``run_canonical(threads)`` repeats the call on C-contiguous native inputs;
    on a difference, a second run with the case's own thread count tells
    whether the thread count or the layout made it.
    """
    alone = run_canonical(1)
    try:
        bitwise_equal(got, alone)
    except Finding as finding:
        try:
            bitwise_equal(run_canonical(threads), alone)
            cause = "layout"
        except Finding:
            cause = "threads"
        raise Finding("bitwise", f"{cause}: {finding.message}", f"{cause}/{label}") from None


def _describe(case):
    kw = ", ".join(f"{k}={values.describe(v)}" for k, v in case["kwargs"].items())
    bias = values.describe(case["bias"]) if case["bias"] is not None else "None"
    return (f"pyconvx.{case['function']}({values.describe(case['x'])}, "
            f"{values.describe(case['weight'])}, {bias}, {kw}, algorithm={case['algorithm']!r}, "
            f"threads={case['threads']}, out={case['out']})")


register(Target(
    name="conv.conv",
    strategy=lambda: conv_case(),
    check=run_conv_case,
    functions=("conv", "conv1d", "conv2d", "conv3d"),
    weight=6,
    describe=_describe,
))
