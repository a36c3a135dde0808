"""Targets ``pooling.*``: max_pool2d and avg_pool2d against torch.nn.functional.

PyTorch is the oracle (the functions are documented to have its semantics),
run in float64 on the same values.  A call torch refuses must raise
ValueError; otherwise the shape must be torch's, max pooling must give
torch's values exactly (NaN where torch has NaN), average pooling must lie
within ``(kh * kw + 2) * eps * mean|x|`` of torch's float64 result.  The
result dtype is float32 for float32 input, else float64.  Bits must not
depend on the memory layout or on ``threads``.
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
from .conv import same_bits


def _pair_or_int(draw, low, high):
    if draw(st.booleans()):
        return draw(st.integers(low, high))
    return (draw(st.integers(low, high)), draw(st.integers(low, high)))


def _as_pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@st.composite
def pool_case(draw, function):
    kernel = _pair_or_int(draw, 1, 4)
    kh, kw = _as_pair(kernel)
    if draw(st.booleans()):
        padding = draw(st.integers(0, min(kh, kw) // 2))
    else:
        padding = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    if draw(st.integers(0, 9)) == 0:  # above half the kernel: refused by both
        padding = (kh // 2 + 1, kw // 2)
    batched = draw(st.booleans())
    shape = ((draw(st.integers(0, 3)),) if batched else ()) + (
        draw(st.integers(1, 4)), draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    kwargs = {
        "kernel_size": kernel,
        "stride": None if draw(st.booleans()) else _pair_or_int(draw, 1, 3),
        "padding": padding,
        "ceil_mode": draw(st.booleans()),
    }
    if function == "max_pool2d":
        kwargs["dilation"] = _pair_or_int(draw, 1, 2)
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
    return {"function": function, "x": draw(fs.arrays(shape)), "kwargs": kwargs,
            "threads": draw(fs.threads)}


def _torch_pool(function, x, kwargs):
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.asarray(x, dtype=np.float64).copy())
    try:
        return getattr(F, function)(tensor, **kwargs).numpy(), None
    except RuntimeError as exc:
        return None, exc


def run_pool_case(case):
    function = getattr(pyconvx, case["function"])
    x = values.make(case["x"])
    kwargs = values.make(case["kwargs"])
    threads = case["threads"]
    expected, torch_exc = _torch_pool(case["function"], x, kwargs)
    got, exc = call(function, x, **kwargs, threads=threads)
    if torch_exc is not None:
        expect_error(exc, (ValueError,), f"{case['function']} (torch refuses: "
                     f"{str(torch_exc).splitlines()[0][:200]})")
        return
    if exc is not None:
        raise unexpected_error(exc, f"{case['function']} (torch computed it)")
    dtype = fs.result_dtype(x.dtype)
    check_dtype(got, dtype)
    if got.shape != expected.shape:
        raise Finding("shape", f"result shape {got.shape}, torch's {expected.shape}")
    if case["function"] == "max_pool2d":
        within_bound(got, expected, 0.0, key=f"max/{dtype.name}")
    else:
        scale, _ = _torch_pool(case["function"], np.abs(np.asarray(x, dtype=np.float64)), kwargs)
        kh, kw = _as_pair(kwargs["kernel_size"])
        bound = (kh * kw + 2) * EPS[dtype] * scale + float(np.finfo(dtype).smallest_subnormal)
        within_bound(got, expected, bound, key=f"avg/{dtype.name}")
    canon = values.canonical(x)
    same_bits(got, lambda t: function(canon, **kwargs, threads=t), threads, case["function"])


def _describe(case):
    kw = ", ".join(f"{k}={values.describe(v)}" for k, v in case["kwargs"].items())
    return (f"pyconvx.{case['function']}({values.describe(case['x'])}, {kw}, "
            f"threads={case['threads']})")


for _name in ("max_pool2d", "avg_pool2d"):
    register(Target(
        name=f"pooling.{_name}",
        strategy=(lambda n=_name: pool_case(n)),
        check=run_pool_case,
        functions=(_name,),
        requires=("torch",),
        describe=_describe,
    ))
