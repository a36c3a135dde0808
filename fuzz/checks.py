"""The comparison rules the targets use, and the Finding they raise.

Rules (constants documented in ``fuzz/README.md``):

* ``within_bound`` — element-wise ``|got - ref| <= bound`` where the target
  computes ``bound`` from its reference (see ``conv_error_bound``); NaN and
  +-Inf must sit exactly where the reference has them.
* ``bitwise_equal`` — same shape, dtype and bits (``-0.0`` vs ``0.0`` and
  NaN payloads count).
* ``call`` — run the function under test; only ``TypeError``,
  ``ValueError`` and ``MemoryError`` may come out of it.
"""

import math
import re

import numpy as np

from .oracle import finite_part
from _reference import EPS, conv_reference

#: Exceptions a public function may raise for bad arguments.
ALLOWED_EXCEPTIONS = (TypeError, ValueError, MemoryError)

#: Element-wise bound factor of the direct paths: |err| <= C * (K + 1) * eps
#: * (|x| conv |w| + |bias|), with eps the machine epsilon of the result dtype.
DIRECT_FACTOR = 1.0

#: FFT: the direct bound plus FFT_FACTOR * eps * log2(L) * max(|x| conv |w|,
#: max|x| * max over output channels of sum|w|), over the whole call (L: the
#: transform's length).
FFT_FACTOR = 8.0


#: Largest error/bound ratio seen per comparison key since the last reset
#: (read by the engine: how close each path comes to its bound).
WORST_RATIO = {}


def record_ratio(key, ratio):
    if ratio > WORST_RATIO.get(key, -1.0):
        WORST_RATIO[key] = ratio


class Finding(Exception):
    """A disagreement between pyconvx and its reference, or a forbidden outcome.

    ``kind`` names the rule that failed; ``key`` is what makes two findings of
    the same kind different (the algorithm, the layout, the exception type...),
    so that ``(target, kind, key)`` identifies a finding across cases.
    """

    def __init__(self, kind, message, key=""):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.key = str(key)
        self.message = message


def _first_index(mask):
    return tuple(int(i) for i in np.argwhere(mask)[0])


def error_ratio(got, ref, bound):
    """Largest ``|got - ref| / bound`` over the outputs where ``ref`` is finite."""
    ref = np.asarray(ref, dtype=np.float64)
    finite = np.isfinite(ref)
    if not finite.any():
        return 0.0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        err = np.abs(np.asarray(got, dtype=np.float64) - ref)
        ratios = err / np.maximum(bound, np.finfo(float).smallest_subnormal)
    return float(np.nanmax(np.where(finite, ratios, 0.0)))


def within_bound(got, ref, bound, *, key="", what="result"):
    """Raise a 'bound' Finding where ``|got - ref| > bound`` (NaN/Inf exact)."""
    got = np.asarray(got)
    ref = np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        raise Finding("shape", f"{what} has shape {got.shape}, the reference {ref.shape}", key)
    got64 = got.astype(np.float64)
    for test, name in ((np.isnan, "NaN"), (np.isposinf, "+Inf"), (np.isneginf, "-Inf")):
        got_mask, ref_mask = test(got64), test(ref)
        if (got_mask != ref_mask).any():
            where = _first_index(got_mask != ref_mask)
            raise Finding(
                "nonfinite", f"{what}: {int((got_mask != ref_mask).sum())} of {got.size} outputs "
                f"disagree on {name}; first at {where}: got {got64[where]!r}, reference "
                f"{ref[where]!r} ({int(got_mask.sum())} {name} in the result, "
                f"{int(ref_mask.sum())} in the reference)", key)
    finite = np.isfinite(ref)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.where(finite, np.abs(got64 - ref), 0.0)
        bad = finite & ~(err <= bound)
    ratio = error_ratio(got, ref, bound)
    record_ratio(key or what, ratio)
    if bad.any():
        where = _first_index(bad)
        raise Finding(
            "bound", f"{what}: {int(bad.sum())} of {got.size} outputs outside the bound; first "
            f"at {where}: got {got64[where]!r}, reference {ref[where]!r}, error "
            f"{err[where]:.3g}, bound {float(np.broadcast_to(bound, ref.shape)[where]):.3g}; "
            f"worst error/bound {ratio:.3g}", key)


def bitwise_equal(got, expected, *, kind="bitwise", key="", what="result"):
    """Raise a Finding unless ``got`` and ``expected`` have the same shape, dtype and bits."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    if got.shape != expected.shape or got.dtype != expected.dtype:
        raise Finding(kind, f"{what}: {got.dtype} {got.shape} vs {expected.dtype} "
                      f"{expected.shape}", key)
    if got.size == 0:
        return
    uint = np.dtype(f"u{got.dtype.itemsize}") if got.dtype.kind in "fiu" else None
    if uint is None:
        same = np.array_equal(got, expected)
        differ = None if same else (got != expected)
    else:
        got_bits = np.ascontiguousarray(got).view(uint)
        exp_bits = np.ascontiguousarray(expected).view(uint)
        differ = got_bits != exp_bits
        same = not differ.any()
    if not same:
        where = _first_index(differ)
        raise Finding(kind, f"{what}: {int(differ.sum())} of {got.size} values differ; first "
                      f"at {where}: {got[where]!r} vs {expected[where]!r}", key)


def check_dtype(got, expected, what="result"):
    if np.asarray(got).dtype != np.dtype(expected):
        raise Finding("dtype", f"{what} has dtype {np.asarray(got).dtype}, the rule says "
                      f"{np.dtype(expected)}", f"{np.asarray(got).dtype}!={np.dtype(expected)}")


def call(function, *args, **kwargs):
    """``(result, None)``, or ``(None, exc)`` for an allowed exception.

    Any other exception becomes an 'exception-type' Finding.
    """
    try:
        return function(*args, **kwargs), None
    except ALLOWED_EXCEPTIONS as exc:
        return None, exc
    except Finding:
        raise
    except Exception as exc:  # the rule under test: nothing else may escape
        name = getattr(function, "__name__", repr(function))
        raise Finding("exception-type",
                      f"{name} raised {type(exc).__name__}: {str(exc)[:300]}",
                      f"{name}:{type(exc).__name__}") from exc


def unexpected_error(exc, what):
    """A Finding for an allowed exception raised where the call should have worked."""
    return Finding("unexpected-error", f"{what} raised {type(exc).__name__}: {str(exc)[:300]}",
                   type(exc).__name__)


def expect_error(exc, allowed, what, names=()):
    """Check that a call that must fail did, with one of ``allowed`` naming one of ``names``."""
    if exc is None:
        raise Finding("accepted-invalid", f"{what} returned instead of raising", what)
    if not isinstance(exc, allowed):
        raise Finding("wrong-error", f"{what} raised {type(exc).__name__} ({exc}), expected "
                      f"{' or '.join(e.__name__ for e in allowed)}", type(exc).__name__)
    if names and not any(re.search(rf"\b{re.escape(n)}\b", str(exc)) for n in names):
        raise Finding("unnamed-parameter", f"{what}: {type(exc).__name__} message does not "
                      f"name {' or '.join(names)}: {str(exc)[:300]}", names[0])


# ----------------------------------------------------------------------------- bounds
def conv_error_bound(x, weight, bias, dtype, algorithm, conv_kwargs, fft_length=None):
    """Element-wise bound on |pyconvx - exact| for one convolution call.

    ``x``, ``weight``, ``bias`` are the values as passed (NaN and Inf count as
    0: the outputs they reach are compared by class, not by value);
    ``conv_kwargs`` the reference's keyword arguments (stride, padding,
    dilation, groups, flip, padding_mode).  See the constants above for the
    rule of each path ("direct" or "fft"; Winograd's is in ``fuzz/winograd.py``).
    """
    if algorithm == "winograd":
        raise ValueError("Winograd's bound is fuzz.winograd.tile_bound")
    x = np.abs(finite_part(x))
    weight = np.abs(finite_part(weight))
    scale = conv_reference(x, weight, None, **conv_kwargs)
    ndim = weight.ndim - 2
    if bias is not None:
        scale = scale + np.abs(finite_part(bias)).reshape((-1,) + (1,) * ndim)
    terms = weight.shape[1] * math.prod(weight.shape[2:]) + 1
    eps = EPS[np.dtype(dtype)]
    # products of subnormals may round to 0: an absolute term per product
    floor = terms * float(np.finfo(dtype).smallest_subnormal)
    bound = DIRECT_FACTOR * terms * eps * scale
    if algorithm == "fft" and scale.size and x.size:
        # the transform's rounding scales with the inputs' norms, not with
        # each output: an output whose taps all read zeros still carries it
        weight_sum = weight.reshape(weight.shape[0], -1).sum(axis=1).max()
        length = max(fft_length or 2, 2)
        bound = bound + FFT_FACTOR * eps * math.log2(length) * max(x.max() * weight_sum,
                                                                  scale.max())
        # subnormal values carry fewer bits than eps says: an absolute term per
        # transform point for them
        bound = bound + FFT_FACTOR * length * max(1.0, weight_sum) * float(
            np.finfo(dtype).smallest_subnormal)
    return bound + floor
