"""conv_transpose and conv_transpose1d/2d/3d: the adjoint of the convolution.

This layer validates (``shapes.describe_transpose``), applies the dtype rule,
allocates the result and asks the planner (``_engine.plan_backward``) for
the phases: a transposed convolution of stride ``s`` is ``prod(s)`` stride-1
convolutions of the forward engine, each writing every s-th output through
a strided view of the result (see ``plan_backward``'s module doc).
``run_transposed`` is also the input gradient's engine (``backward.py``).
"""

import numpy as np

from ._docstrings import docfiller
from ._engine import direct
from ._engine.plan_backward import StackedTransposePlan, make_transpose_plan
from ._normalize import as_array, check_memory, compute_array, prod, resolve_threads, result_dtype
from .conv import _check_out, _element_strides
from .shapes import describe_transpose

__all__ = ["conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def forward_weight(weight, groups, flip):
    """The transposed convolution's weight ``(C_in, C_out/groups, *k)`` as the
    forward engine's ``(C_out, C_in/groups, *k)`` (a view), rotated when
    ``flip``: the adjoint of true convolution slides the rotated kernel."""
    c_in, per_group = weight.shape[:2]
    kernel = weight.shape[2:]
    result = weight.reshape((groups, c_in // groups, per_group) + kernel).swapaxes(1, 2)
    result = result.reshape((groups * per_group, c_in // groups) + kernel)
    if flip:
        result = result[(Ellipsis,) + (slice(None, None, -1),) * len(kernel)]
    return result


def batched_channels_first(array, geometry):
    """``(N, C, *spatial)`` view of an array in the problem's layout (batched or
    not, ``geometry.data_format``): the engine reads and writes through strides,
    so channels-last arrays need no transposed copy."""
    if not geometry.batched:
        array = array[np.newaxis]
    if geometry.data_format == "channels_last":
        array = np.moveaxis(array, -1, 1)
    return array


def transposed_plan(x, target, kernel, stride, dilation, crop, groups, threads):
    """The TransposePlan that writes ``target`` (batched, any strides) from ``x``."""
    return make_transpose_plan(
        batch=x.shape[0], in_channels=x.shape[1], out_channels=target.shape[1], groups=groups,
        in_spatial=x.shape[2:], out_spatial=target.shape[2:], kernel=kernel, stride=stride,
        dilation=dilation, crop=crop, dtype=x.dtype, threads=threads,
        x_strides=_element_strides(x), out_strides=_element_strides(target))


def run_transposed(x, weight, bias, target, plan, taps=None):
    """Write the transposed convolution of batched ``x`` into ``target``.

    ``weight`` is the forward-layout weight (``forward_weight``) in the compute
    dtype; ``bias`` contiguous or None; ``taps`` a dict that keeps each
    phase's contiguous sub-kernel between calls.  Every element of
    ``target`` is written by exactly one phase.
    """
    taps = {} if taps is None else taps
    if isinstance(plan, StackedTransposePlan):
        return _run_stacked(x, weight, bias, target, plan)
    for phase in plan.phases:
        view = target[(slice(None), slice(None)) + phase.out_index]
        if phase.plan is None:
            view[...] = 0 if bias is None else bias.reshape((1, -1) + (1,) * (view.ndim - 2))
            continue
        key = tuple((s.start, s.stop, s.step) for s in phase.weight_index)
        if key not in taps:
            taps[key] = np.ascontiguousarray(
                weight[(slice(None), slice(None)) + phase.weight_index])
        direct.run(x, taps[key], bias, view, phase.plan.records)
    return target


def _run_stacked(x, weight, bias, target, plan):
    """The stacked phases: one forward convolution per block of images into the
    stacked result, then each phase's outputs copied into place."""
    groups = plan.plan.geometry.groups
    per_group = weight.shape[0] // groups
    count = len(plan.phases)
    subs = [weight[(slice(None), slice(None)) + phase.weight_index].reshape(
        (groups, 1, per_group) + weight.shape[1:2] + plan.plan.geometry.kernel)
        for phase in plan.phases]
    stacked_weight = np.ascontiguousarray(np.concatenate(subs, axis=1).reshape(
        (groups * count * per_group,) + weight.shape[1:2] + plan.plan.geometry.kernel))
    stacked_bias = None
    if bias is not None:
        stacked_bias = np.ascontiguousarray(np.broadcast_to(
            bias.reshape(groups, 1, per_group), (groups, count, per_group)).reshape(-1))
    stacked = np.empty(plan.stacked_shape, dtype=x.dtype)
    spatial = stacked.shape[2:]
    for start in range(0, x.shape[0], plan.block):
        stop = min(start + plan.block, x.shape[0])
        part = stacked[:stop - start]
        records = (plan.plan if stop - start == plan.block else plan.tail_plan).records
        direct.run(x[start:stop], stacked_weight, stacked_bias, part, records)
        phases_view = part.reshape((stop - start, groups, count, per_group) + spatial)
        block = target[start:stop]   # channels split into groups: always a view
        out_view = np.lib.stride_tricks.as_strided(
            block, (stop - start, groups, per_group) + block.shape[2:],
            (block.strides[0], per_group * block.strides[1]) + block.strides[1:])
        for phase in plan.phases:
            out_view[(slice(None),) * 3 + phase.out_index] = phases_view[
                (slice(None), slice(None), phase.number, slice(None)) + phase.z_index]
    return target


def transpose_into(x, weight, bias, target, kernel, stride, dilation, crop, groups, threads):
    """The transposed convolution of batched ``x`` into ``target`` (the whole
    batch in each phase's call: measured, fewer and larger engine calls beat
    batch blocks that keep the result in cache)."""
    plan = transposed_plan(x, target, kernel, stride, dilation, crop, groups, threads)
    return run_transposed(x, weight, bias, target, plan)


def conv_transpose_impl(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                        dilation=1, *, flip=False, out=None, threads=None, ndim=None,
                        data_format="channels_first"):
    """The shared implementation of conv_transpose and conv_transpose1d/2d/3d."""
    x = as_array(x, "x")
    weight = as_array(weight, "weight")
    if bias is not None:
        bias = as_array(bias, "bias")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")
    geometry = describe_transpose(
        x.shape, weight.shape, stride=stride, padding=padding, output_padding=output_padding,
        dilation=dilation, groups=groups, bias_shape=None if bias is None else bias.shape,
        ndim=ndim, data_format=data_format)
    dtype = result_dtype((x.dtype, "x"), (weight.dtype, "weight"))
    threads = resolve_threads(threads)
    out_shape = geometry.out_shape
    if out is not None:
        _check_out(out, out_shape, dtype)
    else:
        check_memory(prod(out_shape) * dtype.itemsize, f"the output of shape {out_shape}")
    compute_x = compute_array(x, dtype)
    result = out
    if result is None or np.may_share_memory(result, x) or np.may_share_memory(
            result, weight) or (bias is not None and np.may_share_memory(result, bias)):
        result = np.empty(out_shape, dtype=dtype)
    compute_x = batched_channels_first(compute_x, geometry)
    target = batched_channels_first(result, geometry)
    compute_w = forward_weight(compute_array(weight, dtype), geometry.groups, flip)
    compute_b = None if bias is None else compute_array(bias, dtype, contiguous=True)
    if target.size == 0:
        pass
    elif geometry.in_channels == 0:
        target[...] = 0 if compute_b is None else compute_b.reshape(
            (1, -1) + (1,) * geometry.ndim)
    else:
        transpose_into(compute_x, compute_w, compute_b, target, geometry.kernel,
                       geometry.stride, geometry.dilation, [lo for lo, _ in geometry.pads],
                       geometry.groups, threads)
    if out is not None and result is not out:
        out[...] = result
        return out
    return result


@docfiller
def conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                   dilation=1, *, flip=False, out=None, threads=None,
                   data_format="channels_first"):
    """N-d transposed convolution: the adjoint of :func:`pyconvx.conv`.

    ``y[i] = sum of x[o] * w[m] over o * stride + m * dilation - pad_low == i``
    per spatial dim, summed over the input channels of each group: every
    input value scatters a scaled copy of the kernel, ``stride`` apart
    (``torch.nn.functional.conv_transposeNd``).  It is the gradient of a
    convolution with respect to its input, and the usual learned upsampling.
    The number of spatial dims is taken from ``weight``.

    Parameters
    ----------
    %(transpose_parameters)s

    Returns
    -------
    ndarray
        ``(N, C_out, *out_spatial)`` or ``(C_out, *out_spatial)``, each size
        ``(in - 1) * stride - pad_low - pad_high + dilation * (k - 1) +
        output_padding + 1`` (:func:`pyconvx.output_size` with
        ``transposed=True``); float32 if x and weight are float32, else
        float64.

    Raises
    ------
    %(transpose_raises)s

    Notes
    -----
    %(transpose_notes)s

    Examples
    --------
    A 2x upsampling: every input value stamps the 2x2 kernel.

    >>> import numpy as np, pyconvx
    >>> x = np.array([[[[1., 2.], [3., 4.]]]])
    >>> pyconvx.conv_transpose(x, np.ones((1, 1, 2, 2)), stride=2)[0, 0]
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.],
           [3., 3., 4., 4.],
           [3., 3., 4., 4.]])

    It is the adjoint of the convolution: ``<conv(u, w), v> == <u, conv_transpose(v, w)>``.

    >>> rng = np.random.default_rng(0)
    >>> u, w = rng.standard_normal((1, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))
    >>> v = rng.standard_normal((1, 4, 4, 4))
    >>> lhs = np.vdot(pyconvx.conv(u, w, stride=2), v)
    >>> rhs = np.vdot(u, pyconvx.conv_transpose(v, w, stride=2))
    >>> bool(np.isclose(lhs, rhs))
    True
    """
    return conv_transpose_impl(x, weight, bias, stride, padding, output_padding, groups,
                               dilation, flip=flip, out=out, threads=threads,
                               data_format=data_format)


@docfiller
def conv_transpose1d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, flip=False, out=None, threads=None,
                     data_format="channels_first"):
    """1-d transposed convolution: :func:`conv_transpose` checking for 1 spatial dim.

    Parameters
    ----------
    %(transpose_parameters)s

    Returns
    -------
    ndarray
        ``(N, C_out, length)`` or ``(C_out, length)``.

    Raises
    ------
    %(transpose_raises)s

    Examples
    --------
    An audio decoder's upsampling by 4 with an 8-tap kernel:

    >>> import numpy as np, pyconvx
    >>> x = np.ones((1, 2, 10), dtype=np.float32)
    >>> pyconvx.conv_transpose1d(x, np.ones((2, 3, 8), dtype=np.float32), stride=4,
    ...                          padding=2).shape
    (1, 3, 40)
    """
    return conv_transpose_impl(x, weight, bias, stride, padding, output_padding, groups,
                               dilation, flip=flip, out=out, threads=threads, ndim=1,
                               data_format=data_format)


@docfiller
def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, flip=False, out=None, threads=None,
                     data_format="channels_first"):
    """2-d transposed convolution: :func:`conv_transpose` checking for 2 spatial dims.

    Parameters
    ----------
    %(transpose_parameters)s

    Returns
    -------
    ndarray
        ``(N, C_out, H, W)`` or ``(C_out, H, W)``.

    Raises
    ------
    %(transpose_raises)s

    Examples
    --------
    The decoder step of a segmentation network: 4x4 kernel, stride 2, padding 1
    doubles the size.

    >>> import numpy as np, pyconvx
    >>> x = np.ones((2, 16, 28, 28), dtype=np.float32)
    >>> pyconvx.conv_transpose2d(x, np.ones((16, 8, 4, 4), dtype=np.float32), stride=2,
    ...                          padding=1).shape
    (2, 8, 56, 56)
    """
    return conv_transpose_impl(x, weight, bias, stride, padding, output_padding, groups,
                               dilation, flip=flip, out=out, threads=threads, ndim=2,
                               data_format=data_format)


@docfiller
def conv_transpose3d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, flip=False, out=None, threads=None,
                     data_format="channels_first"):
    """3-d transposed convolution: :func:`conv_transpose` checking for 3 spatial dims.

    Parameters
    ----------
    %(transpose_parameters)s

    Returns
    -------
    ndarray
        ``(N, C_out, D, H, W)`` or ``(C_out, D, H, W)``.

    Raises
    ------
    %(transpose_raises)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> x = np.ones((1, 4, 5, 5, 5))
    >>> pyconvx.conv_transpose3d(x, np.ones((4, 2, 3, 3, 3)), stride=2, padding=1,
    ...                          output_padding=1).shape
    (1, 2, 10, 10, 10)
    """
    return conv_transpose_impl(x, weight, bias, stride, padding, output_padding, groups,
                               dilation, flip=flip, out=out, threads=threads, ndim=3,
                               data_format=data_format)
