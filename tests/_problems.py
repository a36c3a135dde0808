"""Shared test problems: the grid of convolution cases, input layouts, applicability.

``applicable`` says, from the documented reach of each explicit ``algorithm=``
(written here independently of the planner), whether a forced path must take a
problem; ``conv_or_refusal`` runs it, or checks that it is refused with a
ValueError naming the algorithm.
"""

import numpy as np

import pyconvx

from _reference import canonical_pads

ALGORITHMS = list(pyconvx.ALGORITHMS)


def make_problem(rng, x_shape, w_shape, bias=True, dtype=np.float64, wdtype=None):
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(wdtype or dtype)
    b = rng.standard_normal(w_shape[0]).astype(wdtype or dtype) if bias else None
    return x, w, b


# (id, x shape, weight shape, conv kwargs).  Shapes are odd on purpose.
GRID = [
    ("1d-valid", (2, 3, 11), (4, 3, 3), {}),
    ("1d-s2-p1-d2", (2, 3, 13), (4, 3, 3), dict(stride=2, padding=1, dilation=2)),
    ("1d-asym-pad", (1, 2, 9), (3, 2, 4), dict(padding=((3, 1),))),
    ("1d-same-even-k-s3", (2, 2, 10), (2, 2, 4), dict(padding="same", stride=3)),
    ("1d-full", (1, 1, 6), (1, 1, 3), dict(padding="full")),
    ("1d-unbatched", (3, 12), (2, 3, 5), dict(padding=2)),
    ("1d-long-2048", (1, 2, 2048), (3, 2, 5), dict(padding=2)),
    ("2d-valid", (2, 3, 9, 8), (5, 3, 3, 3), {}),
    ("2d-p1", (3, 4, 10, 7), (6, 4, 3, 3), dict(padding=1)),
    ("2d-stride-pairs", (2, 3, 11, 10), (4, 3, 3, 2), dict(stride=(2, 3), padding=((1, 2), (0, 1)), dilation=(2, 1))),
    ("2d-same-s2-even", (2, 2, 9, 8), (3, 2, 4, 2), dict(padding="same", stride=2)),
    ("2d-same-dil", (1, 2, 9, 10), (3, 2, 3, 3), dict(padding="same", dilation=(2, 3))),
    ("2d-full-dil2", (1, 2, 6, 7), (2, 2, 3, 2), dict(padding="full", dilation=2)),
    ("2d-valid-str", (1, 2, 7, 7), (2, 2, 3, 3), dict(padding="valid", stride=(1, 2))),
    ("2d-mixed-pads", (2, 2, 8, 9), (3, 2, 3, 3), dict(padding=(2, (0, 3)))),
    ("2d-groups2", (2, 4, 8, 9), (6, 2, 3, 3), dict(groups=2, padding=1)),
    ("2d-depthwise", (2, 5, 9, 8), (5, 1, 3, 3), dict(groups=5, padding=1)),
    ("2d-depthwise-mult3", (1, 4, 10, 9), (12, 1, 3, 3), dict(groups=4, padding=1, stride=2)),
    ("2d-depthwise-5x5", (2, 8, 12, 13), (8, 1, 5, 5), dict(groups=8, padding=2)),
    ("2d-1x1", (2, 17, 7, 9), (13, 17, 1, 1), {}),
    ("2d-1x1-s2", (2, 9, 7, 9), (5, 9, 1, 1), dict(stride=2)),
    ("2d-1ch-7x7", (1, 1, 40, 50), (1, 1, 7, 7), dict(padding=3)),
    ("2d-1ch-15x15", (1, 1, 33, 37), (1, 1, 15, 15), {}),
    ("2d-unbatched", (3, 9, 10), (4, 3, 3, 3), dict(padding=1, stride=2)),
    ("2d-kernel-eq-input", (2, 3, 4, 5), (2, 3, 4, 5), {}),
    ("2d-huge-stride", (1, 2, 9, 9), (3, 2, 2, 2), dict(stride=100)),
    ("2d-300ch", (2, 300, 9, 10), (7, 300, 3, 3), dict(padding=1)),
    ("2d-N5-odd", (5, 3, 33, 47), (5, 3, 5, 3), dict(stride=2, padding=(2, 1))),
    ("2d-wide-2048", (1, 3, 5, 2048), (4, 3, 3, 3), dict(padding=1)),
    ("2d-64to64-tile", (2, 64, 14, 15), (64, 64, 3, 3), dict(padding=1)),
    ("3d-p1", (2, 2, 5, 6, 7), (3, 2, 3, 2, 3), dict(padding=1, stride=(1, 2, 1))),
    ("3d-groups-same-dil", (1, 4, 6, 7, 5), (4, 2, 3, 3, 2), dict(groups=2, padding="same", dilation=2)),
    ("3d-unbatched", (2, 5, 5, 5), (2, 2, 2, 2, 2), dict(padding=((1, 0), 1, (0, 2)))),
    ("4d-via-conv", (1, 2, 4, 3, 4, 5), (2, 2, 2, 2, 2, 2), dict(padding=1)),
    ("1d-64taps", (1, 1, 5000), (1, 1, 64), dict(padding="same")),
    ("1d-depthwise-long", (2, 6, 777), (12, 1, 9), dict(groups=6, stride=2, dilation=3)),
    ("2d-s3-d2-phases", (1, 5, 30, 31), (7, 5, 3, 3), dict(stride=3, dilation=2, padding=2)),
    ("2d-stride-gt-kernel-pad", (2, 3, 17, 16), (4, 3, 2, 2), dict(stride=5, padding=3)),
    ("2d-groups2-cout80", (1, 6, 11, 12), (80, 3, 3, 3), dict(groups=2, padding=(1, 0))),
    ("2d-1ch-700x900", (1, 1, 700, 900), (1, 1, 3, 3), dict(padding=1)),
]

GRID_IDS = [case[0] for case in GRID]


def _padding_of(x_shape, w_shape, kwargs):
    ndim = len(w_shape) - 2
    spatial = x_shape[-ndim:]
    pads = canonical_pads(
        kwargs.get("padding", 0), spatial, w_shape[2:],
        _dims(kwargs.get("stride", 1), ndim), _dims(kwargs.get("dilation", 1), ndim),
    )
    return pads, spatial


def _dims(value, ndim):
    return (value,) * ndim if isinstance(value, int) else tuple(value)


def mode_allowed(mode, x_shape, w_shape, kwargs):
    pads, spatial = _padding_of(x_shape, w_shape, kwargs)
    if mode == "reflect":
        return all(max(p) < n for p, n in zip(pads, spatial))
    if mode in ("circular", "symmetric"):
        return all(max(p) <= n for p, n in zip(pads, spatial))
    return True


def _per_dim(value, ndim):
    return (value,) * ndim if isinstance(value, (int, np.integer)) else tuple(value)


def applicable(algorithm, x_shape, w_shape, kwargs):
    """Whether ``algorithm=`` must take this problem (the documented reach of each path).

    "winograd": 2-d 3x3 kernels at stride 1 and dilation 1.  "rowblock": 2-d,
    one input and one output channel per group, stride and dilation 1 along the
    rows.  "depthwise": 2-d, one input and one output channel per group.
    Every other algorithm takes every problem.
    """
    ndim = len(w_shape) - 2
    groups = kwargs.get("groups", 1)
    one_per_group = w_shape[1] == 1 and w_shape[0] == groups
    stride = _per_dim(kwargs.get("stride", 1), ndim)
    dilation = _per_dim(kwargs.get("dilation", 1), ndim)
    if algorithm == "winograd":
        return (ndim == 2 and tuple(w_shape[2:]) == (3, 3) and stride == (1, 1)
                and dilation == (1, 1))
    if algorithm == "rowblock":
        return ndim == 2 and one_per_group and stride[0] == 1 and dilation[0] == 1
    if algorithm == "depthwise":
        return ndim == 2 and one_per_group
    return True


def conv_or_refusal(algorithm, x, w, b=None, **kwargs):
    """``pyconvx.conv`` with ``algorithm``; None after checking a documented refusal."""
    if applicable(algorithm, np.shape(x) if np.ndim(x) == len(np.shape(w)) else
                  (1,) + np.shape(x), np.shape(w), kwargs):
        return pyconvx.conv(x, w, b, algorithm=algorithm, **kwargs)
    try:
        pyconvx.conv(x, w, b, algorithm=algorithm, **kwargs)
    except ValueError as exc:
        assert f"algorithm={algorithm!r} cannot take this problem" in str(exc), exc
        return None
    raise AssertionError(f"algorithm={algorithm!r} took a problem outside its reach")


def _fortran(a):
    return np.asfortranarray(a)


def _transposed(a):
    order = tuple(reversed(range(a.ndim)))
    return np.ascontiguousarray(a.transpose(order)).transpose(order)


def _negative(a):
    flip = tuple(slice(None, None, -1) for _ in range(a.ndim))
    return np.ascontiguousarray(a[flip])[flip]


def _strided(a):
    big = np.zeros(tuple(2 * s + 1 for s in a.shape), dtype=a.dtype)
    view = big[tuple(slice(1, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def _readonly(a):
    a = a.copy()
    a.setflags(write=False)
    return a


def _byteswapped(a):
    return a.astype(a.dtype.newbyteorder("S"))


def _unaligned(a):
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    view = buf[1:].view(a.dtype).reshape(a.shape)
    view[...] = a
    assert not view.flags.aligned
    return view


LAYOUTS = {
    "fortran": _fortran,
    "transposed": _transposed,
    "negative-strides": _negative,
    "non-contiguous": _strided,
    "read-only": _readonly,
    "byte-swapped": _byteswapped,
    "unaligned": _unaligned,
}
