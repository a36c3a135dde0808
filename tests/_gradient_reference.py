"""Independent float64 references for gradients and transposed convolution.

Written from the definitions, with nothing from pyconvx:

* the transposed convolution: every input value x[n, ci, o] adds
  ``x * w[ci, co, m]`` at position ``o * stride + m * dilation`` of the full
  output, which is then cropped by the padding (``pad_low`` from the start,
  the length from the transposed size formula);
* the gradients of ``y = conv(x, w)`` with ``y[o] = sum_m xpad[o*s + m*d] w[m]``:
  ``dL/dxpad[o*s + m*d] += g[o] * w[m]`` (then every border position's
  gradient goes to the input element the padding mode copied there, a
  zero or constant border's nowhere), ``dL/dw[m] = sum_o g[o] * xpad[o*s + m*d]``.
"""

import itertools

import numpy as np

from _reference import _per_dim, canonical_pads, pad_reference, source_index


def _taps(kernel):
    return itertools.product(*(range(k) for k in kernel))


def _window(tap, dilation, out_spatial, stride):
    return (slice(None), slice(None)) + tuple(
        slice(m * d, m * d + (o - 1) * s + 1, s)
        for m, d, o, s in zip(tap, dilation, out_spatial, stride))


def conv_grads_reference(x, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                         flip=False, padding_mode="zeros", padding_value=0.0):
    """(dL/dx, dL/dw, dL/db) of ``conv`` in float64, batched or not."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    g = np.asarray(grad_output, dtype=np.float64)
    ndim = weight.ndim - 2
    batched = x.ndim == ndim + 2
    if not batched:
        x, g = x[np.newaxis], g[np.newaxis]
    kernel = weight.shape[2:]
    stride, dilation = _per_dim(stride, ndim), _per_dim(dilation, ndim)
    pads = canonical_pads(padding, x.shape[2:], kernel, stride, dilation)
    w = weight[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim] if flip else weight
    xpad = pad_reference(x, pads, padding_mode, padding_value)
    gxpad = np.zeros_like(xpad)
    gw = np.zeros_like(w)
    cin_g, cout_g = w.shape[1], w.shape[0] // groups
    out_spatial = g.shape[2:]
    for tap in _taps(kernel):
        window = _window(tap, dilation, out_spatial, stride)
        for grp in range(groups):
            gs = g[:, grp * cout_g:(grp + 1) * cout_g]
            ws = w[(slice(grp * cout_g, (grp + 1) * cout_g), slice(None)) + tap]
            xs = xpad[window][:, grp * cin_g:(grp + 1) * cin_g]
            axes = (0,) + tuple(range(2, 2 + ndim))
            gw[(slice(grp * cout_g, (grp + 1) * cout_g), slice(None)) + tap] = np.tensordot(
                gs, xs, axes=(axes, axes))
            contribution = np.tensordot(gs, ws, axes=([1], [0]))   # (N, *out, cin_g)
            contribution = np.moveaxis(contribution, -1, 1)
            target = gxpad[window]
            target[:, grp * cin_g:(grp + 1) * cin_g] += contribution
    gx = np.zeros_like(x)
    for padded_index in itertools.product(*(range(n) for n in xpad.shape[2:])):
        source = []
        for i, (lo, _), size in zip(padded_index, pads, x.shape[2:]):
            s = source_index(i - lo, size, padding_mode) if 0 <= i - lo < size or padding_mode \
                not in ("zeros", "constant") else None
            source.append(s)
        if any(s is None for s in source):
            continue
        gx[(slice(None), slice(None)) + tuple(source)] += gxpad[
            (slice(None), slice(None)) + padded_index]
    if flip:
        gw = gw[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim]
    gb = g.sum(axis=(0,) + tuple(range(2, 2 + ndim)))
    return (gx if batched else gx[0]), gw, gb


def conv_transpose_reference(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                             groups=1, dilation=1, *, flip=False):
    """float64 transposed convolution from its definition, batched or not."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    ndim = weight.ndim - 2
    batched = x.ndim == ndim + 2
    if not batched:
        x = x[np.newaxis]
    kernel = weight.shape[2:]
    stride, dilation = _per_dim(stride, ndim), _per_dim(dilation, ndim)
    output_padding = _per_dim(output_padding, ndim)
    pads = canonical_pads(padding, x.shape[2:], kernel, stride, dilation)
    if flip:
        weight = weight[(slice(None), slice(None)) + (slice(None, None, -1),) * ndim]
    cin_g, cout_g = x.shape[1] // groups, weight.shape[1]
    in_spatial = x.shape[2:]
    full = tuple((n - 1) * s + d * (k - 1) + 1 + op + hi for n, s, d, k, op, (_, hi)
                 in zip(in_spatial, stride, dilation, kernel, output_padding, pads))
    y = np.zeros((x.shape[0], groups * cout_g) + full)
    for tap in _taps(kernel):
        window = _window(tap, dilation, in_spatial, stride)
        for grp in range(groups):
            xs = x[:, grp * cin_g:(grp + 1) * cin_g]
            ws = weight[(slice(grp * cin_g, (grp + 1) * cin_g), slice(None)) + tap]
            contribution = np.moveaxis(np.tensordot(xs, ws, axes=([1], [0])), -1, 1)
            y[window][:, grp * cout_g:(grp + 1) * cout_g] += contribution
    lengths = tuple((n - 1) * s - lo - hi + d * (k - 1) + op + 1 for n, s, d, k, op, (lo, hi)
                    in zip(in_spatial, stride, dilation, kernel, output_padding, pads))
    y = y[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for (lo, _), n
                                              in zip(pads, lengths))]
    if bias is not None:
        y = y + np.asarray(bias, dtype=np.float64).reshape((1, -1) + (1,) * ndim)
    return y if batched else y[0]
