"""conv_transpose and conv_transpose1d/2d/3d: the adjoint of the convolution.

This layer validates (``shapes.describe_transpose``), applies the dtype rule,
allocates the result and asks the planner (``_engine.plan_backward``) for
the phases: a transposed convolution of stride ``s`` is ``prod(s)`` stride-1
convolutions of the forward engine, each writing every s-th output through
a strided view of the result (see ``plan_backward``'s module doc).
``run_transposed`` is also the input gradient's engine (``backward.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, Union, overload

import numpy as np
import numpy.typing as npt

from ._docstrings import docfiller
from ._engine import backward as backward_engine
from ._engine import direct
from ._engine.plan_backward import StackedTransposePlan, TransposePlan, make_transpose_plan
from ._normalize import as_array, check_memory, compute_array, prod, resolve_threads, result_dtype
from ._typing import (
    DataFormat,
    Float32Array,
    Float64Array,
    FloatArray,
    IntArg,
    IntTuple,
    TransposedPaddingArg,
)
from .conv import _check_out, _element_strides
from .shapes import ConvGeometry, TransposeGeometry, describe_transpose

__all__ = ["conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]

#: An array in the compute dtype (float32 or float64) the engine reads or writes.
_Array = npt.NDArray[np.floating[Any]]

#: An array whose element type a view keeps.
_ScalarT = TypeVar("_ScalarT", bound=np.generic)

#: The phases of a transposed convolution, one after the other or stacked.
AnyTransposePlan = Union[TransposePlan, StackedTransposePlan]

#: The contiguous sub-kernel of each phase, by its taps' (start, stop, step) per dim.
PhaseTaps = dict[tuple[tuple[Any, Any, Any], ...], _Array]


def forward_weight(weight: npt.NDArray[_ScalarT], groups: int,
                   flip: bool) -> npt.NDArray[_ScalarT]:
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


def batched_channels_first(array: npt.NDArray[_ScalarT],
                           geometry: ConvGeometry | TransposeGeometry) -> npt.NDArray[_ScalarT]:
    """``(N, C, *spatial)`` view of an array in the problem's layout (batched or
    not, ``geometry.data_format``): the engine reads and writes through strides,
    so channels-last arrays need no transposed copy."""
    if not geometry.batched:
        array = array[np.newaxis]
    if geometry.data_format == "channels_last":
        array = np.moveaxis(array, -1, 1)
    return array


def transposed_plan(x: _Array, target: _Array, kernel: Sequence[int], stride: Sequence[int],
                    dilation: Sequence[int], crop: Sequence[int], groups: int,
                    threads: int) -> AnyTransposePlan:
    """The TransposePlan that writes ``target`` (batched, any strides) from ``x``."""
    return make_transpose_plan(
        batch=x.shape[0], in_channels=x.shape[1], out_channels=target.shape[1], groups=groups,
        in_spatial=x.shape[2:], out_spatial=target.shape[2:], kernel=kernel, stride=stride,
        dilation=dilation, crop=crop, dtype=x.dtype, threads=threads,
        x_strides=_element_strides(x), out_strides=_element_strides(target))


def run_transposed(x: _Array, weight: _Array, bias: _Array | None, target: _Array,
                   plan: AnyTransposePlan, taps: PhaseTaps | None = None) -> _Array:
    """Write the transposed convolution of batched ``x`` into ``target``.

    ``weight`` is the forward-layout weight (``forward_weight``) in the compute
    dtype; ``bias`` contiguous or None; ``taps`` a dict that keeps each
    phase's contiguous sub-kernel between calls.  Every element of
    ``target`` is written by exactly one phase.
    """
    taps = {} if taps is None else taps
    _gather_taps(weight, [phase.weight_index for phase in plan.phases], taps, plan.threads)
    if isinstance(plan, StackedTransposePlan):
        return _run_stacked(x, weight, bias, target, plan, taps)
    for phase in plan.phases:
        view = target[(slice(None), slice(None)) + phase.out_index]
        if phase.plan is None or phase.weight_index is None:   # (both None: no tap)
            view[...] = 0 if bias is None else bias.reshape((1, -1) + (1,) * (view.ndim - 2))
            continue
        direct.run(x, taps[_taps_key(phase.weight_index)], bias, view, phase.plan.records)
    return target


def _taps_key(index: tuple[slice, ...]) -> tuple[tuple[Any, Any, Any], ...]:
    return tuple((s.start, s.stop, s.step) for s in index)


def _gather_taps(weight: _Array, indices: Sequence[tuple[slice, ...] | None], taps: PhaseTaps,
                 threads: int) -> None:
    """Add to ``taps`` the contiguous sub-kernel of every index it lacks, all
    from one pass over ``weight`` (a transposed, possibly rotated view, whose
    copy one slice at a time would read it once per phase, element by element)."""
    missing: dict[tuple[tuple[Any, Any, Any], ...], tuple[slice, ...]] = {}
    for index in indices:
        if index is not None and _taps_key(index) not in taps:
            missing[_taps_key(index)] = index
    if missing:
        kernels = backward_engine.phase_kernels(weight, tuple(missing.values()), threads)
        taps.update(zip(missing, kernels))


def _run_stacked(x: _Array, weight: _Array, bias: _Array | None, target: _Array,
                 plan: StackedTransposePlan, taps: PhaseTaps) -> _Array:
    """The stacked phases: one forward convolution per block of images into the
    stacked result, then each phase's outputs copied into place."""
    groups = plan.plan.geometry.groups
    per_group = weight.shape[0] // groups
    count = len(plan.phases)
    subs = [taps[_taps_key(phase.weight_index)].reshape(
        (groups, 1, per_group) + weight.shape[1:2] + plan.plan.geometry.kernel)
        for phase in plan.phases]
    stacked_weight = np.ascontiguousarray(np.concatenate(subs, axis=1).reshape(
        (groups * count * per_group,) + weight.shape[1:2] + plan.plan.geometry.kernel))
    stacked_bias: _Array | None = None
    if bias is not None:
        stacked_bias = np.ascontiguousarray(np.broadcast_to(
            bias.reshape(groups, 1, per_group), (groups, count, per_group)).reshape(-1))
    stacked = np.empty(plan.stacked_shape, dtype=x.dtype)
    spatial = stacked.shape[2:]
    for start in range(0, x.shape[0], plan.block):
        stop = min(start + plan.block, x.shape[0])
        part = stacked[:stop - start]
        # the blocks are whole but the last: the tail plan is there when needed
        block_plan = plan.plan if stop - start == plan.block else plan.tail_plan
        assert block_plan is not None
        records = block_plan.records
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


def transpose_into(x: _Array, weight: _Array, bias: _Array | None, target: _Array,
                   kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
                   crop: Sequence[int], groups: int, threads: int) -> _Array:
    """The transposed convolution of batched ``x`` into ``target`` (the whole
    batch in each phase's call: measured, fewer and larger engine calls beat
    batch blocks that keep the result in cache)."""
    plan = transposed_plan(x, target, kernel, stride, dilation, crop, groups, threads)
    return run_transposed(x, weight, bias, target, plan)


def conv_transpose_impl(x: npt.ArrayLike, weight: npt.ArrayLike,
                        bias: npt.ArrayLike | None = None, stride: IntTuple = 1,
                        padding: TransposedPaddingArg = 0, output_padding: IntTuple = 0,
                        groups: IntArg = 1, dilation: IntTuple = 1, *, flip: bool = False,
                        out: FloatArray | None = None, threads: int | None = None,
                        ndim: int | None = None,
                        data_format: DataFormat = "channels_first") -> FloatArray:
    """The shared implementation of conv_transpose and conv_transpose1d/2d/3d."""
    x_array: npt.NDArray[Any] = as_array(x, "x")
    w_array: npt.NDArray[Any] = as_array(weight, "weight")
    b_array: npt.NDArray[Any] | None = None if bias is None else as_array(bias, "bias")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")
    geometry = describe_transpose(
        x_array.shape, w_array.shape, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation, groups=groups,
        bias_shape=None if b_array is None else b_array.shape, ndim=ndim,
        data_format=data_format)
    dtype: np.dtype[Any] = result_dtype((x_array.dtype, "x"), (w_array.dtype, "weight"))
    thread_count: int = resolve_threads(threads)
    out_shape = geometry.out_shape
    if out is not None:
        _check_out(out, out_shape, dtype)
    else:
        check_memory(prod(out_shape) * dtype.itemsize, f"the output of shape {out_shape}")
    compute_x: _Array = compute_array(x_array, dtype)
    result = out
    if result is None or np.may_share_memory(result, x_array) or np.may_share_memory(
            result, w_array) or (b_array is not None and np.may_share_memory(result, b_array)):
        result = np.empty(out_shape, dtype=dtype)
    compute_x = batched_channels_first(compute_x, geometry)
    target: _Array = batched_channels_first(result, geometry)
    compute_w = forward_weight(compute_array(w_array, dtype), geometry.groups, flip)
    compute_b: _Array | None = (None if b_array is None
                                else compute_array(b_array, dtype, contiguous=True))
    if target.size == 0:
        pass
    elif geometry.in_channels == 0:
        target[...] = 0 if compute_b is None else compute_b.reshape(
            (1, -1) + (1,) * geometry.ndim)
    else:
        transpose_into(compute_x, compute_w, compute_b, target, geometry.kernel,
                       geometry.stride, geometry.dilation, [lo for lo, _ in geometry.pads],
                       geometry.groups, thread_count)
    if out is not None and result is not out:
        out[...] = result
        return out
    return result


@overload
def conv_transpose(x: Float32Array, weight: Float32Array, bias: npt.ArrayLike | None = None,
                   stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                   output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                   flip: bool = False, out: Float32Array | None = None,
                   threads: int | None = None,
                   data_format: DataFormat = "channels_first") -> Float32Array: ...


@overload
def conv_transpose(x: Float64Array, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                   stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                   output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                   flip: bool = False, out: Float64Array | None = None,
                   threads: int | None = None,
                   data_format: DataFormat = "channels_first") -> Float64Array: ...


@overload
def conv_transpose(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                   stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                   output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                   flip: bool = False, out: FloatArray | None = None,
                   threads: int | None = None,
                   data_format: DataFormat = "channels_first") -> FloatArray: ...


@docfiller
def conv_transpose(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                   stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                   output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                   flip: bool = False, out: FloatArray | None = None,
                   threads: int | None = None,
                   data_format: DataFormat = "channels_first") -> FloatArray:
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


@overload
def conv_transpose1d(x: Float32Array, weight: Float32Array, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: Float32Array | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> Float32Array: ...


@overload
def conv_transpose1d(x: Float64Array, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: Float64Array | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> Float64Array: ...


@overload
def conv_transpose1d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: FloatArray | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> FloatArray: ...


@docfiller
def conv_transpose1d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: FloatArray | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> FloatArray:
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


@overload
def conv_transpose2d(x: Float32Array, weight: Float32Array, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: Float32Array | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> Float32Array: ...


@overload
def conv_transpose2d(x: Float64Array, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: Float64Array | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> Float64Array: ...


@overload
def conv_transpose2d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: FloatArray | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> FloatArray: ...


@docfiller
def conv_transpose2d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: FloatArray | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> FloatArray:
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


@overload
def conv_transpose3d(x: Float32Array, weight: Float32Array, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: Float32Array | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> Float32Array: ...


@overload
def conv_transpose3d(x: Float64Array, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: Float64Array | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> Float64Array: ...


@overload
def conv_transpose3d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: FloatArray | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> FloatArray: ...


@docfiller
def conv_transpose3d(x: npt.ArrayLike, weight: npt.ArrayLike, bias: npt.ArrayLike | None = None,
                     stride: IntTuple = 1, padding: TransposedPaddingArg = 0,
                     output_padding: IntTuple = 0, groups: IntArg = 1, dilation: IntTuple = 1, *,
                     flip: bool = False, out: FloatArray | None = None,
                     threads: int | None = None,
                     data_format: DataFormat = "channels_first") -> FloatArray:
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
