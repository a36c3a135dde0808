"""Targets ``layers.*``: Conv1d, Conv2d, Conv3d against the float64 reference.

A layer is built from a drawn convolution problem (channels, kernel_size,
stride, padding, dilation, groups, bias, padding_mode, dtype, seed) and
called on an input of any layout with any ``threads=`` and ``algorithm=``.
Checks: the weight has shape ``(out, in/groups, *kernel_size)`` and the
layer's dtype, the same seed gives the same bits, ``param_count`` counts
the weight and bias, the call equals the reference within the path's bound
(as for ``conv``), ``output_shape`` gives the call's shape, and a problem
the documented rules refuse (reflect/circular padding too large for the
input, a kernel larger than the padded input) raises ValueError.
"""

import numpy as np
from hypothesis import strategies as st

import pyconvx

from .. import strategies as fs
from .. import values
from ..checks import Finding, bitwise_equal, call, unexpected_error
from ..registry import Target, register
from .conv import (
    check_values,
    conv_problem,
    had_to_refuse,
    same_bits,
)


@st.composite
def layer_case(draw, ndim):
    x_shape, w_shape, kwargs = draw(conv_problem(ndim=ndim))
    groups = kwargs["groups"]
    if w_shape[1] == 0 or w_shape[0] == 0:  # layers need >= 1 channel each way
        w_shape = (max(w_shape[0], groups), max(w_shape[1], 1)) + w_shape[2:]
        x_shape = x_shape[:-ndim - 1] + (w_shape[1] * groups,) + x_shape[-ndim:]
    kernel_size = w_shape[2:]
    return {
        "layer": f"Conv{ndim}d",
        "init": {
            "in_channels": x_shape[-ndim - 1], "out_channels": w_shape[0],
            "kernel_size": kernel_size[0] if len(set(kernel_size)) == 1 and draw(
                st.booleans()) else tuple(kernel_size),
            "stride": kwargs["stride"], "padding": kwargs["padding"],
            "dilation": kwargs["dilation"], "groups": groups, "bias": draw(st.booleans()),
            "padding_mode": kwargs["padding_mode"],
            "dtype": draw(fs.float_dtypes), "seed": draw(st.integers(0, 2**31)),
        },
        "x": draw(fs.arrays(x_shape)),
        "algorithm": draw(st.sampled_from(pyconvx.ALGORITHMS)),
        "threads": draw(fs.threads),
    }


def run_layer_case(case):
    init = values.make(case["init"])
    layer_class = getattr(pyconvx, case["layer"])
    layer, exc = call(layer_class, **init)
    if exc is not None:
        raise unexpected_error(exc, f"{case['layer']}(...) construction")
    ndim = layer_class.ndim
    kernel = init["kernel_size"]
    kernel = tuple(kernel) if isinstance(kernel, tuple) else (kernel,) * ndim
    w_shape = (init["out_channels"], init["in_channels"] // init["groups"]) + kernel
    if layer.weight.shape != w_shape or layer.weight.dtype != np.dtype(init["dtype"]):
        raise Finding("layer", f"weight {layer.weight.dtype} {layer.weight.shape}, expected "
                      f"{init['dtype']} {w_shape}", "weight")
    if (layer.bias is None) == init["bias"]:
        raise Finding("layer", f"bias={init['bias']} but layer.bias is {layer.bias!r}", "bias")
    again = layer_class(**init)
    bitwise_equal(again.weight, layer.weight, kind="layer", key="seed",
                  what="weight of a second layer with the same seed")
    count = layer.weight.size + (0 if layer.bias is None else layer.bias.size)
    if layer.param_count != count:
        raise Finding("layer", f"param_count {layer.param_count}, weight and bias have {count}",
                      "param_count")

    x = values.make(case["x"])
    algorithm, threads = case["algorithm"], case["threads"]
    kwargs = {"stride": init["stride"], "padding": init["padding"],
              "dilation": init["dilation"], "groups": init["groups"], "flip": False,
              "padding_mode": init["padding_mode"]}
    got, exc = call(layer, x, threads=threads, algorithm=algorithm)
    if had_to_refuse(exc, x.shape, w_shape, kwargs, algorithm,
                     f"{case['layer']} call (algorithm={algorithm!r})"):
        return
    dtype = fs.result_dtype(x.dtype, layer.weight.dtype)
    if got.dtype != dtype:
        raise Finding("dtype", f"layer result {got.dtype}, the rule says {dtype}", "layer")
    if tuple(layer.output_shape(x.shape)) != got.shape:
        raise Finding("shape", f"output_shape {layer.output_shape(x.shape)}, result "
                      f"{got.shape}", "layer")
    check_values(got, x, layer.weight, layer.bias, kwargs, algorithm, dtype)
    canon = values.canonical(x)
    same_bits(got, lambda t: layer(canon, threads=t, algorithm=algorithm), threads,
              case["layer"])


def _describe(case):
    init = ", ".join(f"{k}={values.describe(v)}" for k, v in case["init"].items())
    return (f"pyconvx.{case['layer']}({init})({values.describe(case['x'])}, "
            f"threads={case['threads']}, algorithm={case['algorithm']!r})")


for _ndim in (1, 2, 3):
    register(Target(
        name=f"layers.Conv{_ndim}d",
        strategy=(lambda n=_ndim: layer_case(n)),
        check=run_layer_case,
        functions=(f"Conv{_ndim}d",),
        describe=_describe,
    ))
