"""The convolution oracle: the main suite's float64 reference, made safe for NaN and Inf.

``tests/_reference.conv_reference`` sums each kernel tap with
``numpy.tensordot``, whose BLAS call may skip a product by a zero weight or
input (``np.dot([[0.]], [[inf, 1.]])`` is ``[[0., 0.]]``, not NaN).  So the
reference is used here on finite values only, and where NaN and +-Inf land
is worked out separately, by counting the non-finite products of every
window with the same reference on 0/1 indicator arrays (exact small
integers): an output is NaN when some product is NaN (a NaN operand, or
0 * Inf) or when +Inf and -Inf products meet; +Inf or -Inf when only
products of that sign are infinite.
"""

import numpy as np

from _reference import canonical_pads, conv_reference, pad_reference

#: Codes of ``nonfinite_classes``.
FINITE, NAN, POS_INF, NEG_INF = 0, 1, 2, 3


def _per_dim(value, ndim):
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * ndim


def explicit_pads(x_shape, w_shape, kwargs):
    """The (low, high) pairs of ``kwargs['padding']`` for these shapes."""
    ndim = len(w_shape) - 2
    return canonical_pads(kwargs["padding"], x_shape[-ndim:], w_shape[2:],
                          _per_dim(kwargs["stride"], ndim), _per_dim(kwargs["dilation"], ndim))


def _window_counter(x, weight, kwargs):
    """``(padded x, count)``: ``count(x_mask, w_mask)`` counts, per output, the
    products whose input is in ``x_mask`` (over the padded input) and whose
    weight is in ``w_mask``."""
    x = np.asarray(x, dtype=np.float64)
    pads = explicit_pads(x.shape, np.shape(weight), kwargs)
    padded = pad_reference(x, pads, kwargs["padding_mode"])
    geometry = {"stride": kwargs["stride"], "dilation": kwargs["dilation"],
                "groups": kwargs["groups"], "flip": kwargs["flip"], "padding": 0}

    def count(x_mask, w_mask):
        return conv_reference(x_mask.astype(np.float64), w_mask.astype(np.float64), **geometry)

    return padded, count


def nan_operands(x, weight, bias, kwargs):
    """Per output: whether one of its products or its bias has a NaN operand."""
    weight = np.asarray(weight, dtype=np.float64)
    padded, count = _window_counter(x, weight, kwargs)
    ones_x, ones_w = np.ones_like(padded, dtype=bool), np.ones_like(weight, dtype=bool)
    nan = count(np.isnan(padded), ones_w) + count(ones_x, np.isnan(weight))
    if bias is not None:
        nan = nan + np.isnan(np.asarray(bias, dtype=np.float64)).reshape(
            (-1,) + (1,) * (weight.ndim - 2))
    return nan > 0


def nonfinite_classes(x, weight, bias, kwargs):
    """Per output: FINITE, NAN, POS_INF or NEG_INF (see the module docstring)."""
    weight = np.asarray(weight, dtype=np.float64)
    padded, count = _window_counter(x, weight, kwargs)

    def sides(a):
        inf, pos, neg = np.isinf(a), a > 0, a < 0
        return {"nan": np.isnan(a), "zero": a == 0, "pos_inf": inf & pos, "neg_inf": inf & neg,
                "pos_fin": ~inf & pos, "neg_fin": ~inf & neg}

    xs, ws = sides(padded), sides(weight)
    ones_x, ones_w = np.ones_like(padded, dtype=bool), np.ones_like(weight, dtype=bool)
    x_inf, w_inf = xs["pos_inf"] | xs["neg_inf"], ws["pos_inf"] | ws["neg_inf"]
    nan = (count(xs["nan"], ones_w) + count(ones_x, ws["nan"])
           + count(x_inf, ws["zero"]) + count(xs["zero"], w_inf))
    positive = (count(xs["pos_inf"], ws["pos_inf"] | ws["pos_fin"])
                + count(xs["neg_inf"], ws["neg_inf"] | ws["neg_fin"])
                + count(xs["pos_fin"], ws["pos_inf"]) + count(xs["neg_fin"], ws["neg_inf"]))
    negative = (count(xs["pos_inf"], ws["neg_inf"] | ws["neg_fin"])
                + count(xs["neg_inf"], ws["pos_inf"] | ws["pos_fin"])
                + count(xs["pos_fin"], ws["neg_inf"]) + count(xs["neg_fin"], ws["pos_inf"]))
    if bias is not None:
        b = np.asarray(bias, dtype=np.float64).reshape((-1,) + (1,) * (weight.ndim - 2))
        nan = nan + np.isnan(b)
        positive = positive + np.isposinf(b)
        negative = negative + np.isneginf(b)
    classes = np.full(nan.shape, FINITE, dtype=np.int8)
    classes[positive > 0] = POS_INF
    classes[negative > 0] = NEG_INF
    classes[(nan > 0) | ((positive > 0) & (negative > 0))] = NAN
    return classes


def finite_part(a):
    """``a`` in float64 with every NaN and Inf replaced by 0."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, 0.0)


def conv_expected(x, weight, bias, kwargs):
    """The exact result in float64: the reference, with NaN/Inf placed by their classes."""
    finite = all(np.isfinite(np.asarray(a, dtype=np.float64)).all()
                 for a in (x, weight, bias) if a is not None)
    if finite:
        return conv_reference(x, weight, bias, **kwargs)
    expected = conv_reference(finite_part(x), finite_part(weight),
                              None if bias is None else finite_part(bias), **kwargs)
    classes = nonfinite_classes(x, weight, bias, kwargs)
    expected[classes == NAN] = np.nan
    expected[classes == POS_INF] = np.inf
    expected[classes == NEG_INF] = -np.inf
    return expected
