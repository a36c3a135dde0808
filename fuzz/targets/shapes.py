"""Targets ``shapes.*``: output_shape, output_size and plan against the documented formula.

The reference is the output-size formula written from the docstrings
(``tests/_reference.out_length`` with the padding rules of
``canonical_pads``), applied to shapes up to 2**40 as well as small ones.
``output_shape`` must give that shape, or raise ValueError exactly when the
documented rules refuse the problem, and agree with ``conv`` on the same
problem (computed on zero-stride arrays for small shapes).  ``plan`` must
describe the same problem: its output shape and FLOPs
(``2 * N * C_out * C_in/groups * prod(kernel) * prod(out)``), the algorithm
asked for (``'fft'`` and ``'winograd'`` when forced, ``'direct'`` with that
microkernel for the direct ones and ``'auto'``, direct or Winograd under
``'fast'``), the error bound that algorithm keeps, at least one thread and
no more than asked, and a refusal exactly outside a forced algorithm's
documented reach.
"""

import math

import numpy as np
from hypothesis import strategies as st

import pyconvx

from .. import values
from ..checks import Finding, call, expect_error, unexpected_error
from ..registry import Target, register
from .conv import (
    algorithm_refusal,
    conv_problem,
    documented_refusal,
    reference_out_shape,
)
from _reference import canonical_pads, out_length

#: The rounding bound each algorithm of a plan keeps, as ``Plan.error_bound`` names it
#: (per output, over Winograd's 4x4 input tile, over the whole array).
PLAN_ERROR_BOUNDS = {"direct": "elementwise", "winograd": "tile", "fft": "global"}

LARGE_SIZES = st.sampled_from((2**20, 2**31 - 1, 2**31, 2**32 + 3, 2**40))


@st.composite
def shape_problem(draw):
    """A conv problem; sometimes with a spatial size or batch scaled up to 2**40."""
    x_shape, w_shape, kwargs = draw(conv_problem())
    kwargs = {k: v for k, v in kwargs.items() if k != "flip"}
    if draw(st.integers(0, 3)) == 0:
        ndim = len(w_shape) - 2
        batched = len(x_shape) == ndim + 2
        axes = list(range(len(x_shape) - ndim, len(x_shape))) + ([0] if batched else [])
        axis = draw(st.sampled_from(axes))
        x_shape = x_shape[:axis] + (draw(LARGE_SIZES),) + x_shape[axis + 1:]
    return x_shape, w_shape, kwargs


@st.composite
def output_shape_case(draw):
    x_shape, w_shape, kwargs = draw(shape_problem())
    return {"function": "output_shape", "input_shape": x_shape, "weight_shape": w_shape,
            "kwargs": kwargs}


@st.composite
def plan_case(draw):
    x_shape, w_shape, kwargs = draw(shape_problem())
    return {"function": "plan", "x": x_shape, "weight": w_shape, "kwargs": kwargs,
            "algorithm": draw(st.sampled_from(pyconvx.ALGORITHMS)),
            "threads": draw(st.one_of(st.none(), st.integers(1, 64))),
            "flip": draw(st.booleans()),
            "dtype": draw(st.sampled_from((None, "float32", "float64")))}


@st.composite
def output_size_case(draw):
    size = draw(st.one_of(st.integers(1, 40), LARGE_SIZES))
    kernel = draw(st.integers(1, 7))
    stride = draw(st.integers(1, 4))
    dilation = draw(st.integers(1, 3))
    padding = draw(st.one_of(st.integers(0, 5), st.tuples(st.integers(0, 5), st.integers(0, 5)),
                             st.sampled_from(("valid", "same", "full"))))
    return {"function": "output_size", "args": (size, kernel),
            "kwargs": {"stride": stride, "padding": padding, "dilation": dilation}}


def _full_kwargs(kwargs):
    return {"flip": False, **kwargs}


def _group_refusal(x_shape, w_shape, kwargs):
    ndim = len(w_shape) - 2
    channels = x_shape[-ndim - 1]
    groups = kwargs["groups"]
    if channels % groups or w_shape[0] % groups or w_shape[1] * groups != channels:
        return "channels do not match groups"
    return None


def _run_output_shape(case):
    x_shape, w_shape = case["input_shape"], case["weight_shape"]
    kwargs = values.make(case["kwargs"])
    got, exc = call(pyconvx.output_shape, x_shape, w_shape, **kwargs)
    refusal = documented_refusal(x_shape, w_shape, kwargs) or _group_refusal(
        x_shape, w_shape, kwargs)
    if refusal is not None:
        expect_error(exc, (ValueError,), f"output_shape ({refusal})")
        return
    if exc is not None:
        raise unexpected_error(exc, "output_shape")
    expected = reference_out_shape(x_shape, w_shape, _full_kwargs(kwargs))
    if tuple(got) != expected:
        raise Finding("shape", f"output_shape gave {got}, the formula {expected}")
    if max(math.prod(x_shape), math.prod(w_shape), math.prod(expected)) <= 4096:
        x = np.broadcast_to(np.float32(0), x_shape)
        w = np.broadcast_to(np.float32(0), w_shape)
        result, conv_exc = call(pyconvx.conv, x, w, **kwargs)
        if conv_exc is not None:
            raise unexpected_error(conv_exc, "conv of a problem output_shape accepted")
        if result.shape != expected:
            raise Finding("shape", f"conv gave shape {result.shape}, output_shape {expected}")


def _run_output_size(case):
    size, kernel = case["args"]
    kwargs = values.make(case["kwargs"])
    got, exc = call(pyconvx.output_size, size, kernel, **kwargs)
    padding = kwargs["padding"]
    if isinstance(padding, tuple):
        padding = (padding,)
    ((lo, hi),) = canonical_pads(padding, (size,), (kernel,), (kwargs["stride"],),
                                 (kwargs["dilation"],))
    if kwargs["dilation"] * (kernel - 1) + 1 > size + lo + hi:
        expect_error(exc, (ValueError,), "output_size with a kernel larger than the padded input")
        return
    if exc is not None:
        raise unexpected_error(exc, "output_size")
    expected = out_length(size, kernel, kwargs["stride"], lo, hi, kwargs["dilation"])
    if got != expected or type(got) is not int:
        raise Finding("value", f"output_size gave {got!r}, the formula {expected}")


def _run_plan(case):
    x_shape, w_shape = case["x"], case["weight"]
    kwargs = values.make(case["kwargs"])
    algorithm, threads = case["algorithm"], case["threads"]
    got, exc = call(pyconvx.plan, x_shape, w_shape, **kwargs, flip=case["flip"],
                    algorithm=algorithm, threads=threads, dtype=case["dtype"])
    refusal = documented_refusal(x_shape, w_shape, kwargs) or _group_refusal(
        x_shape, w_shape, kwargs)
    if refusal is not None:
        expect_error(exc, (ValueError,), f"plan ({refusal})")
        return
    why_not = algorithm_refusal(algorithm, x_shape, w_shape, kwargs)
    if why_not is not None:
        expect_error(exc, (ValueError,), f"plan(algorithm={algorithm!r}) ({why_not})",
                     names=("algorithm",))
        return
    if isinstance(exc, MemoryError):
        return  # a workspace or output too large for this machine: documented
    if exc is not None:
        raise unexpected_error(exc, f"plan(algorithm={algorithm!r})")
    expected = reference_out_shape(x_shape, w_shape, _full_kwargs(kwargs))
    geometry = got.geometry
    if tuple(geometry.out_shape) != expected:
        raise Finding("shape", f"plan's geometry has out_shape {geometry.out_shape}, "
                      f"the formula {expected}", "plan")
    ndim = len(w_shape) - 2
    batch = x_shape[0] if len(x_shape) == ndim + 2 else 1
    flops = 2 * batch * w_shape[0] * w_shape[1] * math.prod(w_shape[2:]) * math.prod(
        expected[-ndim:])
    if got.flops != flops:
        raise Finding("plan", f"flops {got.flops}, expected {flops}", "flops")
    wanted = {"fft": "fft", "winograd": "winograd"}.get(algorithm, "direct")
    if algorithm == "fast":  # direct summation or, where it pays, Winograd
        if got.algorithm not in ("direct", "winograd"):
            raise Finding("plan", f"algorithm='fast' chose {got.algorithm!r}", "fast")
    elif got.algorithm != wanted:
        raise Finding("plan", f"algorithm={algorithm!r} gave a {got.algorithm!r} plan",
                      algorithm)
    bound_name = PLAN_ERROR_BOUNDS[got.algorithm]
    if got.error_bound != bound_name:
        raise Finding("plan", f"a {got.algorithm!r} plan names its error bound "
                      f"{got.error_bound!r}, not {bound_name!r}", "error_bound")
    if algorithm in ("gemm", "row", "rowblock", "depthwise") and got.microkernel != algorithm:
        raise Finding("plan", f"algorithm={algorithm!r} gave microkernel {got.microkernel!r}",
                      algorithm)
    limit = threads if threads is not None else max(1, got.threads)
    if not 1 <= got.threads <= limit:
        raise Finding("plan", f"plan uses {got.threads} threads, {threads} asked", "threads")
    if got.workspace_bytes < 0 or not str(got):
        raise Finding("plan", f"workspace {got.workspace_bytes} bytes, text {str(got)!r}",
                      "fields")


def _describe(case):
    kw = ", ".join(f"{k}={values.describe(v)}" for k, v in case["kwargs"].items())
    if case["function"] == "output_size":
        return f"pyconvx.output_size{case['args']!r}, {kw})"
    if case["function"] == "plan":
        return (f"pyconvx.plan({case['x']}, {case['weight']}, {kw}, flip={case['flip']}, "
                f"algorithm={case['algorithm']!r}, threads={case['threads']}, "
                f"dtype={case['dtype']!r})")
    return f"pyconvx.output_shape({case['input_shape']}, {case['weight_shape']}, {kw})"


register(Target(name="shapes.output_shape", strategy=output_shape_case, check=_run_output_shape,
                functions=("output_shape",), describe=_describe))
register(Target(name="shapes.output_size", strategy=output_size_case, check=_run_output_size,
                functions=("output_size",), describe=_describe))
register(Target(name="shapes.plan", strategy=plan_case, check=_run_plan, functions=("plan",),
                describe=_describe))
