"""Target ``backward.conv_backward``: the gradients of a convolution against the float64 reference.

A case draws a whole convolution problem as ``conv.conv`` does (rank 1-3,
every channel structure, kernel, stride, dilation, padding form and mode,
flip, batched or not), one floating dtype for x, weight and grad_output (the
gradients' rule), finite values in any memory layout, the gradients asked
for and 1-4 threads.

Checks: a problem the documented rules refuse raises ValueError; else the
dtype and the shapes of the three products, their values within the direct
summation bound of the sums they are (every input gradient a sum over output
channels and taps, folded borders included; every weight gradient a sum over
the batch and the output positions; the bias gradient a sum of grad_output),
the inputs left unchanged, and the bits equal to those of the same call on
C-contiguous inputs with one thread.
"""

import math

import numpy as np
from _gradient_reference import conv_grads_reference
from hypothesis import strategies as st

import pyconvx

from .. import strategies as fs
from .. import values
from ..checks import DIRECT_FACTOR, EPS, Finding, call, check_dtype, within_bound
from ..registry import Target, register
from .conv import (
    _unchanged,
    conv_problem,
    documented_refusal,
    reference_kwargs,
    reference_out_shape,
    same_bits,
)

NEEDS = st.sampled_from((("input", "weight", "bias"), ("input",), ("weight",),
                         ("weight", "bias"), ("input", "weight")))


@st.composite
def backward_case(draw):
    x_shape, w_shape, kwargs = draw(conv_problem())
    made = values.make(kwargs)
    if documented_refusal(x_shape, w_shape, made) is None:
        out_shape = reference_out_shape(x_shape, w_shape, made)
    else:   # refused whatever grad_output is
        ndim = len(w_shape) - 2
        out_shape = x_shape[:-ndim - 1] + (w_shape[0],) + (1,) * ndim
    dtype = draw(fs.float_dtypes)
    return {
        "x": draw(fs.arrays(x_shape, dtype=dtype, kind="normal")),
        "weight": draw(fs.arrays(w_shape, dtype=dtype, kind="normal")),
        "grad_output": draw(fs.arrays(out_shape, dtype=dtype, kind="normal")),
        "kwargs": kwargs,
        "needs": draw(NEEDS),
        "threads": draw(fs.threads),
    }


def gradient_bounds(x, weight, g, kwargs, dtype):
    """Element-wise bounds on |pyconvx - exact| of (grad_input, grad_weight, grad_bias).

    Each gradient is a sum of products: its bound is the direct summation rule
    (``DIRECT_FACTOR`` x terms x eps x the sum of the products' magnitudes,
    which is the reference gradient of |x|, |weight| and |grad_output|) plus
    an absolute term per product for subnormals.
    """
    scale_x, scale_w, scale_b = conv_grads_reference(np.abs(x), np.abs(weight), np.abs(g),
                                                     **kwargs)
    ndim = weight.ndim - 2
    groups = kwargs["groups"]
    taps = math.prod(weight.shape[2:])
    # an input element's gradient: its output channels' taps, once per border it
    # is copied to (a reflected or circular element up to twice per dim)
    terms_x = max(1, weight.shape[0] // groups) * taps * 3 ** ndim
    positions = math.prod(g.shape[-ndim:]) * (g.shape[0] if g.ndim == ndim + 2 else 1)
    terms_w = max(1, positions)
    eps = EPS[np.dtype(dtype)]
    tiny = float(np.finfo(dtype).smallest_subnormal)
    return tuple(DIRECT_FACTOR * terms * eps * scale + terms * tiny
                 for terms, scale in ((terms_x, scale_x), (terms_w, scale_w), (terms_w, scale_b)))


def run_backward_case(case):
    x, weight = values.make(case["x"]), values.make(case["weight"])
    g = values.make(case["grad_output"])
    kwargs = values.make(case["kwargs"])
    needs, threads = case["needs"], case["threads"]
    dtype = fs.result_dtype(x.dtype, weight.dtype)
    originals = [values.canonical(a) for a in (x, weight, g)]
    got, exc = call(pyconvx.conv_backward, x, weight, g, **kwargs, needs=needs, threads=threads)
    refusal = documented_refusal(x.shape, weight.shape, kwargs)
    if refusal is not None:
        if not isinstance(exc, ValueError):
            raise Finding("refusal", f"conv_backward of a problem conv refuses ({refusal}) "
                          f"gave {type(exc).__name__ if exc else 'a result'}", "refusal")
        return
    if exc is not None:
        raise Finding("unexpected-error", f"conv_backward: {type(exc).__name__}: {exc}",
                      type(exc).__name__)
    _unchanged((x, weight, g), originals)
    ref_kwargs = reference_kwargs(kwargs)
    expected = conv_grads_reference(originals[0], originals[1], originals[2], **ref_kwargs)
    bounds = gradient_bounds(originals[0], originals[1], originals[2], ref_kwargs, dtype)
    products = (got.grad_input, got.grad_weight, got.grad_bias)
    for name, product, reference, bound in zip(("input", "weight", "bias"), products, expected,
                                               bounds):
        if name not in needs:
            if product is not None:
                raise Finding("needs", f"grad_{name} computed though not asked for", name)
            continue
        check_dtype(product, dtype)
        if product.shape != reference.shape:
            raise Finding("shape", f"grad_{name} shape {product.shape}, reference "
                          f"{reference.shape}", name)
        within_bound(product, reference, bound, key=f"grad_{name}/{np.dtype(dtype).name}")
    canon = [values.canonical(a) for a in (x, weight, g)]

    def canonical_call(t):
        grads = pyconvx.conv_backward(*canon, **kwargs, needs=needs, threads=t)
        return np.concatenate([p.ravel() for p in grads if p is not None])

    same_bits(np.concatenate([p.ravel() for p in products if p is not None]), canonical_call,
              threads, "conv_backward")


def _describe_backward(case):
    kw = ", ".join(f"{k}={values.describe(v)}" for k, v in case["kwargs"].items())
    return (f"pyconvx.conv_backward({values.describe(case['x'])}, "
            f"{values.describe(case['weight'])}, {values.describe(case['grad_output'])}, "
            f"{kw}, needs={case['needs']}, threads={case['threads']})")


register(Target(
    name="backward.conv_backward",
    strategy=lambda: backward_case(),
    check=run_backward_case,
    functions=("conv_backward",),
    weight=2,
    describe=_describe_backward,
))
