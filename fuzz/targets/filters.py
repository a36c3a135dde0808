"""Targets ``filters.*``: filter2d and edge_magnitude against scipy.signal.correlate2d.

``filter2d(image, kernel, mode, boundary)`` is documented equal to
``scipy.signal.correlate2d(image[..., c], kernel, mode, boundary)`` for
every channel ``c``; ``edge_magnitude`` to ``hypot`` of the Sobel-X and
Sobel-Y responses (``pyconvx.kernels``) with ``mode='same'``.  Bounds: the
direct one, ``(K + 1) * (eps + eps64) * (|image| corr |kernel|)``; for the
magnitude the sum of the two gradients' bounds plus one rounding of the
result.  The dtype is float32 when image and kernel are float32, else
float64.  Results must have the same bits for every memory layout.
"""

import numpy as np
from hypothesis import strategies as st

import pyconvx

from .. import strategies as fs
from .. import values
from ..checks import (
    EPS,
    Finding,
    bitwise_equal,
    call,
    check_dtype,
    expect_error,
    unexpected_error,
    within_bound,
)
from ..registry import Target, register
from .signal import BOUNDARIES, FINITE_KINDS, MODES

_CANONICAL_BOUNDARY = {"fill": "fill", "pad": "fill", "wrap": "wrap", "circular": "wrap",
                       "symm": "symm", "symmetric": "symm"}


@st.composite
def image_case(draw, function):
    shape = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    if draw(st.booleans()):
        shape += (draw(st.integers(1, 4)),)
    case = {
        "function": function,
        "image": draw(fs.arrays(shape, kind=draw(FINITE_KINDS))),
        "kwargs": {"boundary": draw(st.sampled_from(BOUNDARIES))},
    }
    if len(shape) == 3:
        # said explicitly: a (3 or 4, H, W) image with W larger is refused as
        # ambiguous without it (a documented refusal, not the arithmetic checked here)
        case["kwargs"]["channel_axis"] = -1
    if function == "filter2d":
        kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
        case["kernel"] = draw(fs.arrays(kernel, kind=draw(FINITE_KINDS)))
        case["kwargs"]["mode"] = draw(st.sampled_from(MODES))
    return case


def _planes(image):
    image = np.asarray(image, dtype=np.float64)
    return [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]


def _stack(planes, colour):
    return np.stack(planes, axis=-1) if colour else planes[0]


def _correlate(planes, kernel, mode, boundary):
    from scipy.signal import correlate2d

    return [correlate2d(p, kernel, mode=mode, boundary=boundary) for p in planes]


def run_filter_case(case):
    image = values.make(case["image"])
    kwargs = values.make(case["kwargs"])
    colour = image.ndim == 3
    boundary = _CANONICAL_BOUNDARY[kwargs["boundary"]]
    if case["function"] == "filter2d":
        kernel = values.make(case["kernel"])
        got, exc = call(pyconvx.filter2d, image, kernel, **kwargs)
        dtype = fs.result_dtype(image.dtype, kernel.dtype)
        mode = kwargs["mode"]
        if mode == "valid" and (kernel.shape[0] > image.shape[0]
                                or kernel.shape[1] > image.shape[1]):
            expect_error(exc, (ValueError,), "filter2d mode='valid' with a larger kernel",
                         names=("mode", "kernel"))
            return
        k64 = np.asarray(kernel, dtype=np.float64)
        kernels = [k64]
    else:
        got, exc = call(pyconvx.edge_magnitude, image, **kwargs)
        dtype = fs.result_dtype(image.dtype, "float32")
        mode = "same"
        kernels = [pyconvx.kernels.sobel_x().astype(np.float64),
                   pyconvx.kernels.sobel_y().astype(np.float64)]
    if exc is not None:
        raise unexpected_error(exc, case["function"])
    check_dtype(got, dtype)
    planes = _planes(image)
    abs_planes = [np.abs(p) for p in planes]
    responses = [_stack(_correlate(planes, k, mode, boundary), colour) for k in kernels]
    scales = [_stack(_correlate(abs_planes, np.abs(k), mode, boundary), colour) for k in kernels]
    eps = EPS[np.dtype(dtype)] + EPS[np.dtype(np.float64)]
    bounds = [(k.size + 1) * eps * s for k, s in zip(kernels, scales)]
    if case["function"] == "filter2d":
        expected, bound = responses[0], bounds[0]
    else:
        expected = np.hypot(*responses)
        bound = bounds[0] + bounds[1] + eps * expected
    if got.shape != expected.shape:
        raise Finding("shape", f"result shape {got.shape}, SciPy's {expected.shape}")
    bound = bound + 10 * float(np.finfo(dtype).smallest_subnormal)
    within_bound(got, expected, bound, key=f"{case['function']}/{np.dtype(dtype).name}")
    again = (pyconvx.filter2d(values.canonical(image), values.canonical(kernel), **kwargs)
             if case["function"] == "filter2d"
             else pyconvx.edge_magnitude(values.canonical(image), **kwargs))
    bitwise_equal(got, again, key=f"layout/{case['function']}",
                  what="result vs the same call on C-contiguous inputs")


def _describe(case):
    kw = ", ".join(f"{k}={values.describe(v)}" for k, v in case["kwargs"].items())
    kernel = f", {values.describe(case['kernel'])}" if "kernel" in case else ""
    return f"pyconvx.{case['function']}({values.describe(case['image'])}{kernel}, {kw})"


for _name in ("filter2d", "edge_magnitude"):
    register(Target(
        name=f"filters.{_name}",
        strategy=(lambda n=_name: image_case(n)),
        check=run_filter_case,
        functions=(_name,),
        requires=("scipy",),
        describe=_describe,
    ))
