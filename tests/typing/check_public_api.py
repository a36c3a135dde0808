"""The static types of pyconvx's public functions, checked by mypy (never run).

``tests/api/test_typing.py`` runs mypy with the project's configuration on
this file.  Each ``assert_type`` states the type mypy must infer for a call.
Each line ending in ``# type: ignore[...]`` is a call mypy must reject: with
``warn_unused_ignores`` a call it accepted would make the comment unused, an
error.
"""

from typing import Any, Literal, assert_type

import dask.array as da
import numpy as np
import numpy.typing as npt

import pyconvx
import pyconvx.dask
from pyconvx import kernels, ndimage
from pyconvx._engine.plan_backward import (
    BackwardPlan,
    StackedTransposePlan,
    TransposePlan,
    WeightGradPlan,
)

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Float = F32 | F64
Indices = npt.NDArray[np.int64]

x32: F32 = np.ones((1, 2, 8, 8), dtype=np.float32)
w32: F32 = np.ones((3, 2, 3, 3), dtype=np.float32)
x64: F64 = np.ones((1, 2, 8, 8))
w64: F64 = np.ones((3, 2, 3, 3))
image32: F32 = np.ones((8, 8), dtype=np.float32)
image64: F64 = np.ones((8, 8))
k32: F32 = np.ones((3, 3), dtype=np.float32)
k64: F64 = np.ones((3, 3))
ints: npt.NDArray[np.int64] = np.ones((1, 2, 8, 8), dtype=np.int64)

# conv and conv1d/2d/3d: float32 with float32 stays float32, a float64 input
# gives float64, anything else one of the two.
assert_type(pyconvx.conv(x32, w32), F32)
assert_type(pyconvx.conv2d(x32, w32, stride=2, padding="same"), F32)
assert_type(pyconvx.conv2d(x64, w64, padding=((1, 0), (0, 1)), padding_mode="reflect"), F64)
assert_type(pyconvx.conv2d(x64, w32, data_format="channels_last", algorithm="winograd"), F64)
assert_type(pyconvx.conv2d(x32, w64), Float)
assert_type(pyconvx.conv2d(ints, w32), Float)
assert_type(pyconvx.conv1d([[[1.0, 2.0, 3.0]]], [[[1.0, -1.0]]]), Float)
assert_type(pyconvx.conv3d(x32, w32, threads=2, flip=True, out=None), F32)
assert_type(pyconvx.conv(x64, w64, bias=[1.0, 2.0, 3.0], groups=1, dilation=(1, 2)), F64)

pyconvx.conv2d(x32, w32, stride="2")  # type: ignore[arg-type]
pyconvx.conv2d(x32, w32, padding="sam")  # type: ignore[arg-type]
pyconvx.conv2d(x32, w32, padding_mode="edge")  # type: ignore[call-overload]
pyconvx.conv2d(x32, w32, algorithm="im2col")  # type: ignore[call-overload]
pyconvx.conv2d(x32, w32, data_format="NHWC")  # type: ignore[call-overload]
pyconvx.conv2d(x32, w32, threads=2.0)  # type: ignore[call-overload]
pyconvx.conv(x32, w32, 1, 1, 0, 1, 1, True)  # type: ignore[call-overload]

# SciPy-compatible functions: float inputs keep their dtype, others get
# SciPy's output dtype.
assert_type(pyconvx.correlate(image32, k32), F32)
assert_type(pyconvx.convolve(image64, k64, mode="same", method="fft"), F64)
assert_type(pyconvx.correlate2d(image64, k64, boundary="symm", fillvalue=0), F64)
assert_type(pyconvx.convolve2d(image32, k32, mode="valid", boundary="wrap"), F32)
assert_type(pyconvx.correlate([1, 2, 3], [1, 1]), npt.NDArray[Any])

pyconvx.correlate(image32, k32, mode="circular")  # type: ignore[call-overload]
pyconvx.convolve(image32, k32, method="winograd")  # type: ignore[call-overload]
pyconvx.convolve2d(image32, k32, boundary="reflect")  # type: ignore[call-overload]

# Image filters.
assert_type(pyconvx.filter2d(image32, k32), F32)
assert_type(pyconvx.filter2d(image64, k32, boundary="reflect", channel_axis=None), F64)
assert_type(pyconvx.filter2d(image32, [[1, 0], [0, 1]], mode="full"), Float)
assert_type(pyconvx.edge_magnitude(image32), F32)
assert_type(pyconvx.edge_magnitude(image64, "wrap", threads=1), Float)

pyconvx.filter2d(image32, k32, boundary="nearest")  # type: ignore[call-overload]
pyconvx.filter2d(image32, k32, mode="sam")  # type: ignore[call-overload]

# Pooling: the result has the input's dtype; return_indices=True adds the
# int64 indices.
assert_type(pyconvx.max_pool2d(x32, 2), F32)
assert_type(pyconvx.max_pool2d(x64, (2, 2), stride=1, ceil_mode=True), F64)
assert_type(pyconvx.max_pool2d(x32, 2, return_indices=True), tuple[F32, Indices])
assert_type(pyconvx.max_pool2d(ints, 2, return_indices=True), tuple[Float, Indices])
assert_type(pyconvx.avg_pool2d(x64, 3, padding=1, divisor_override=4), F64)
assert_type(pyconvx.avg_pool2d([[[1.0, 2.0], [3.0, 4.0]]], 2), Float)
assert_type(pyconvx.max_pool2d_backward(x32, x32, 1), F32)
assert_type(pyconvx.avg_pool2d_backward(x64, (1, 2, 8, 8), 1), F64)
assert_type(pyconvx.max_unpool2d(x32, ints, 1, data_format="channels_last"), F32)

pyconvx.max_pool2d(x32, "2")  # type: ignore[arg-type]
pyconvx.avg_pool2d(x32, 2, data_format="NCHW")  # type: ignore[call-overload]

# im2col and col2im.
assert_type(pyconvx.im2col(x32, 3, padding=1), F32)
assert_type(pyconvx.im2col(x64, (3, 3), stride=(1, 2)), F64)
assert_type(pyconvx.col2im(np.ones((2, 18, 36)), (8, 8), 3), F64)
assert_type(pyconvx.im2col(ints, 3), Float)

pyconvx.im2col(x32, 3, stride=None)  # type: ignore[call-overload]

# explain
explanation = pyconvx.explain(x64, w64, (0, 0, 1, 1), padding=1, padding_mode="circular")
assert_type(explanation, pyconvx.Explanation)
assert_type(explanation.value, float)
assert_type(explanation.kernel, F64)
assert_type(explanation.batch, int | None)
assert_type(str(explanation), str)

pyconvx.explain(x64, w64, (0, 0, 1, 1), padding_mode="mirror")  # type: ignore[arg-type]
pyconvx.explain(x64, w64, "0")  # type: ignore[arg-type]

# The kernel gallery: float64 unless dtype says float32.
assert_type(kernels.sobel_x(), F64)
assert_type(kernels.sobel_y(dtype=np.float32), F32)
assert_type(kernels.gaussian(5, sigma=1.5, dtype=np.float32), F32)
assert_type(kernels.gaussian(sigma=2), F64)
assert_type(kernels.box_blur(3, dtype=np.float64), F64)
assert_type(kernels.laplacian(dtype="float32"), Float)
assert_type(kernels.get("laplacian"), F64)
assert_type(kernels.names(), list[str])

kernels.box_blur("3")  # type: ignore[call-overload]
kernels.gaussian(sigma="1")  # type: ignore[call-overload]

# Transposed convolution: the dtype follows the input as for conv; padding is
# ints or (low, high) pairs (the strings have no transposed meaning).
wt32: F32 = np.ones((2, 3, 4, 4), dtype=np.float32)
wt64: F64 = np.ones((2, 3, 4, 4))
assert_type(pyconvx.conv_transpose(x32, wt32), F32)
assert_type(pyconvx.conv_transpose2d(x32, wt32, stride=2, padding=1, out=None), F32)
assert_type(pyconvx.conv_transpose2d(x64, wt64, stride=2, padding=1, output_padding=1), F64)
assert_type(pyconvx.conv_transpose2d(x64, wt32, padding=((1, 0), (0, 1)), flip=True), F64)
assert_type(pyconvx.conv_transpose2d(x32, wt64, data_format="channels_last", threads=2), Float)
assert_type(pyconvx.conv_transpose1d([[[1.0, 2.0]]], [[[1.0, 1.0]]], stride=2), Float)
assert_type(pyconvx.conv_transpose3d(ints, wt32, groups=1, dilation=(1, 2, 2)), Float)

pyconvx.conv_transpose2d(x32, wt32, padding="same")  # type: ignore[arg-type]
pyconvx.conv_transpose2d(x32, wt32, output_padding="1")  # type: ignore[arg-type]
pyconvx.conv_transpose2d(x32, wt32, data_format="NHWC")  # type: ignore[call-overload]
pyconvx.conv_transpose(x32, wt32, None, 1, 0, 0, 1, 1, True)  # type: ignore[call-overload]

# Gradients: float32 in, float32 out; a float64 input gives float64.
y32: F32 = np.ones((1, 3, 6, 6), dtype=np.float32)
y64: F64 = np.ones((1, 3, 6, 6))
assert_type(pyconvx.conv_grad_input((1, 2, 8, 8), w32, y32), F32)
assert_type(pyconvx.conv_grad_input(x64.shape, w64, y64, padding_mode="reflect"), F64)
assert_type(pyconvx.conv_grad_input((1, 2, 8, 8), [[[[1.0]]]], y64, stride=(1, 1)), F64)
assert_type(pyconvx.conv_grad_input((1, 2, 8, 8), w32, [[[[1.0]]]]), Float)
assert_type(pyconvx.conv_grad_weight(x32, (3, 2, 3, 3), y32, flip=True), F32)
assert_type(pyconvx.conv_grad_weight(x64, w64.shape, y64, padding=0, threads=1), F64)
assert_type(pyconvx.conv_grad_weight(ints, (3, 2, 3, 3), y64), F64)
grads32 = pyconvx.conv_backward(x32, w32, y32)
assert_type(grads32, pyconvx.ConvGradients[np.float32])
assert_type(grads32.grad_input, F32 | None)
assert_type(grads32.grad_weight, F32 | None)
grad_input, grad_weight, grad_bias = grads32
assert_type(grad_bias, F32 | None)
grads64 = pyconvx.conv_backward(x64, w64, y64, padding="valid", needs=("weight", "bias"))
assert_type(grads64, pyconvx.ConvGradients[np.float64])
assert_type(grads64.grad_bias, F64 | None)
assert_type(pyconvx.conv_backward(x64, w64, y64, needs="input").grad_input, F64 | None)
assert_type(pyconvx.conv_backward(ints, ints, y64), pyconvx.ConvGradients[np.float64])

pyconvx.conv_grad_input(x32, w32, y32)  # type: ignore[call-overload]
pyconvx.conv_grad_weight(x32, (3, 2, 3, 3), y32, padding_mode="edge")  # type: ignore[call-overload]
pyconvx.conv_backward(x32, w32, y32, needs=("inputs",))  # type: ignore[arg-type]
pyconvx.conv_backward(x32, w32, y32, needs="all")  # type: ignore[arg-type]

# The plan of a convolution, and the machine it runs on.
conv_plan = pyconvx.plan((8, 64, 56, 56), (64, 64, 3, 3), padding=1, algorithm="fast",
                         dtype=np.float64)
assert_type(conv_plan, pyconvx.Plan)
assert_type(pyconvx.plan(x32, w32, stride=2, padding="same", threads=1), pyconvx.Plan)
assert_type(conv_plan.algorithm, Literal["direct", "winograd", "fft"])
assert_type(conv_plan.error_bound, Literal["elementwise", "tile", "global"])
assert_type(conv_plan.tile, tuple[int, int] | None)
assert_type(conv_plan.workspace_bytes, int)
assert_type(str(conv_plan), str)
assert_type(pyconvx.show_config(), None)
assert_type(pyconvx.show_config(print_=False), dict[str, Any])
assert_type(pyconvx.fma_peak_gflops(double=True, threads=1, seconds=0.01), float)

pyconvx.plan(x32, w32, algorithm="im2col")  # type: ignore[arg-type]
pyconvx.plan(x32, w32, padding_mode="edge")  # type: ignore[arg-type]
pyconvx.plan(x32, w32, threads=2.0)  # type: ignore[arg-type]
pyconvx.fma_peak_gflops(threads="1")  # type: ignore[arg-type]

# Plans of the gradients and of the transposed convolution.
backward_plan = pyconvx.plan_backward((8, 64, 56, 56), (64, 64, 3, 3), padding=1,
                                      needs=("input", "weight"), dtype=np.float64)
assert_type(backward_plan, BackwardPlan)
assert_type(backward_plan.grad_input, TransposePlan | StackedTransposePlan | None)
assert_type(backward_plan.grad_weight, WeightGradPlan | None)
assert_type(backward_plan.workspace_bytes, int)
assert_type(str(backward_plan), str)
assert_type(pyconvx.plan_backward(x32, w32, needs="bias").grad_bias, str | None)
assert_type(pyconvx.plan_transpose((1, 8, 10, 10), (8, 4, 3, 3), stride=2), BackwardPlan)

pyconvx.plan_backward(x32, w32, needs=("gradient",))  # type: ignore[arg-type]
pyconvx.plan_backward(x32, w32, dtype=np.float32, threads="2")  # type: ignore[arg-type]
pyconvx.plan_transpose(x32, wt32, padding="valid")  # type: ignore[arg-type]

# Output shapes and sizes, forward or transposed.
assert_type(pyconvx.output_shape((8, 128, 28, 28), (128, 64, 4, 4), stride=2, padding=1,
                                 transposed=True, output_padding=(1, 1)), tuple[int, ...])
assert_type(pyconvx.output_shape((1, 2, 8, 8), (3, 2, 3, 3), padding="same"), tuple[int, ...])
assert_type(pyconvx.output_size(28, 4, stride=2, padding=1, transposed=True), int)
assert_type(pyconvx.output_size(np.int64(10), 3, padding=(1, 0)), int)
assert_type(pyconvx.param_count(3, 64, (3, 3), bias=False), int)

pyconvx.output_shape((1, 2, 8, 8), (3, 2, 3, 3), transposed="yes")  # type: ignore[arg-type]
pyconvx.output_shape(x32, (3, 2, 3, 3))  # type: ignore[arg-type]
pyconvx.output_size(10.0, 3)  # type: ignore[arg-type]

# Layers: generic over their parameters' dtype (float32 unless dtype says
# float64); calling one follows conv's dtype rule, backward gives the input
# gradient in the layer's dtype.
layer = pyconvx.Conv2d(2, 3, 3, padding=1)
assert_type(layer, pyconvx.Conv2d[np.float32])
assert_type(layer(x32), F32)
assert_type(layer(x64, threads=1, algorithm="direct"), F64)
assert_type(layer([[[[1.0]]]]), Float)
assert_type(layer.backward(y32), F32)
assert_type(layer.weight, F32)
assert_type(layer.bias, F32 | None)
assert_type(layer.grad_weight, F32 | None)
assert_type(layer.grad_bias, F32 | None)
assert_type(layer.zero_grad(), None)
assert_type(layer.output_shape((1, 2, 8, 8)), tuple[int, ...])
assert_type(layer.param_count, int)
assert_type(layer.kernel_size, tuple[int, ...])
layer64 = pyconvx.Conv1d(2, 3, 3, 1, 0, 1, 1, True, "circular", np.float64, seed=0)
assert_type(layer64, pyconvx.Conv1d[np.float64])
assert_type(layer64(x32), F64)
assert_type(layer64(ints), F64)
assert_type(layer64.backward(y64, threads=2), F64)
assert_type(pyconvx.Conv3d(2, 3, 3, dtype=np.dtype(np.float64)), pyconvx.Conv3d[np.float64])
up = pyconvx.ConvTranspose2d(2, 3, 4, stride=2, padding=1, output_padding=0)
assert_type(up, pyconvx.ConvTranspose2d[np.float32])
assert_type(up(x32), F32)
assert_type(up(x64, out=None), F64)
assert_type(up.backward(y32), F32)
assert_type(up.output_shape((1, 2, 8, 8)), tuple[int, ...])
assert_type(up.output_padding, tuple[int, ...])
assert_type(pyconvx.ConvTranspose1d(2, 3, 4, dtype=np.float64)(x32), F64)
assert_type(pyconvx.ConvTranspose3d(2, 3, 4, data_format="channels_last").grad_weight, F32 | None)

pyconvx.Conv2d(2, 3, 3, dtype=np.float16)  # type: ignore[type-var]
pyconvx.Conv2d(2, 3, 3, padding_mode="edge")  # type: ignore[call-overload]
pyconvx.Conv2d(2, 3, "3")  # type: ignore[arg-type]
pyconvx.ConvTranspose2d(2, 3, 4, padding="same")  # type: ignore[arg-type]
pyconvx.ConvTranspose2d(2, 3, 4, padding_mode="reflect")  # type: ignore[call-overload]
layer(x32, algorithm="im2col")  # type: ignore[call-overload]
up(x32, algorithm="auto")  # type: ignore[call-overload]
layer.backward(y32, threads=1.0)  # type: ignore[arg-type]

# pyconvx.ndimage: a float32 or float64 input keeps its dtype when the weights
# are real and no output is given; otherwise (other dtypes, complex weights,
# an output array or dtype) the arguments decide the dtype at run time.
weights_c64: npt.NDArray[np.complex64] = np.ones((3, 3), dtype=np.complex64)
taps32: F32 = np.ones(3, dtype=np.float32)
assert_type(ndimage.gaussian_filter(image32, 1.5), F32)
assert_type(ndimage.gaussian_filter(image64, (1.0, 2.0), order=(0, 1), mode=("reflect", "wrap"),
                                    radius=3, axes=(0, 1), threads=1), F64)
assert_type(ndimage.gaussian_filter1d(image32, 2, axis=0, order=1, truncate=3.0), F32)
assert_type(ndimage.correlate(image32, k64, mode="nearest", origin=(0, 1)), F32)
assert_type(ndimage.convolve(image64, [[1, 2], [3, 4]], mode="grid-constant", cval=2.0), F64)
assert_type(ndimage.correlate1d(image32, [1.0, -1.0], axis=0, origin=-1), F32)
assert_type(ndimage.convolve1d(image64, taps32, mode="mirror"), F64)
assert_type(ndimage.uniform_filter(image32, size=(3, 5), origin=(0, 1)), F32)
assert_type(ndimage.uniform_filter1d(image64, 3, mode="grid-wrap"), F64)
assert_type(ndimage.sobel(image32, axis=0, mode=("constant", "wrap"), cval=1.0), F32)
assert_type(ndimage.prewitt(image64, threads=2), F64)
assert_type(ndimage.laplace(image32, axes=(0,)), F32)
assert_type(ndimage.gaussian_laplace(image64, sigma=(1.0, 2.0)), F64)
assert_type(ndimage.gaussian_gradient_magnitude(image32, 1.0, radius=(2, 2)), F32)
assert_type(ndimage.correlate(image32, weights_c64), npt.NDArray[Any])
assert_type(ndimage.gaussian_filter(image32, 1.5, output=np.float64), npt.NDArray[Any])
assert_type(ndimage.sobel(image32, output=np.empty((8, 8))), npt.NDArray[Any])
assert_type(ndimage.uniform_filter(ints, size=3), npt.NDArray[Any])
assert_type(ndimage.gaussian_filter([[1.0, 2.0], [3.0, 4.0]], 1.0), npt.NDArray[Any])

ndimage.gaussian_filter(image32, "1.5")  # type: ignore[arg-type]
ndimage.gaussian_filter(image32, 1.5, mode="edge")  # type: ignore[arg-type]
ndimage.correlate(image32, k32, mode=("reflect", "wrap"))  # type: ignore[call-overload]
ndimage.uniform_filter1d(image32, 3.0)  # type: ignore[call-overload]
ndimage.sobel(image32, axis="0")  # type: ignore[call-overload]
ndimage.laplace(image32, threads=2.0)  # type: ignore[call-overload]

# pyconvx.dask: a lazy dask array from a dask array or an in-memory one, with
# the arguments of the in-memory functions.
lazy32 = da.from_array(x32, chunks=(1, 2, 4, 4))
lazy_image = da.from_array(image64, chunks=4)
assert_type(pyconvx.dask.conv(lazy32, w32), da.Array)
assert_type(pyconvx.dask.conv2d(lazy32, w32, padding="same", padding_mode="reflect", threads=2),
            da.Array)
assert_type(pyconvx.dask.conv2d(lazy32, w32, bias=[1.0, 2.0, 3.0], stride=(1, 2),
                                padding=((1, 0), (0, 1)), algorithm="winograd"), da.Array)
assert_type(pyconvx.dask.conv1d([[[1.0, 2.0, 3.0]]], [[[1.0, -1.0]]], flip=True), da.Array)
assert_type(pyconvx.dask.conv3d(x64, w64, data_format="channels_last", groups=1), da.Array)
assert_type(pyconvx.dask.correlate(lazy_image, k32, mode="nearest", origin=(0, 1)), da.Array)
assert_type(pyconvx.dask.convolve(lazy_image, k64, output=np.float32, axes=(0, 1)), da.Array)
assert_type(pyconvx.dask.gaussian_filter(lazy_image, 1.5, order=(0, 1), radius=3, threads=1),
            da.Array)
assert_type(pyconvx.dask.uniform_filter(lazy_image, size=(3, 5), mode=("reflect", "wrap")),
            da.Array)
assert_type(pyconvx.dask.sobel(image64, axis=0, cval=1.0), da.Array)

pyconvx.dask.conv2d(lazy32, w32, padding_mode="edge")  # type: ignore[arg-type]
pyconvx.dask.conv2d(lazy32, w32, algorithm="im2col")  # type: ignore[arg-type]
pyconvx.dask.conv2d(lazy32, w32, threads=2.0)  # type: ignore[arg-type]
pyconvx.dask.gaussian_filter(lazy_image, "1.5")  # type: ignore[arg-type]
pyconvx.dask.uniform_filter(lazy_image, size=3.0)  # type: ignore[arg-type]
pyconvx.dask.sobel(lazy_image, mode=0)  # type: ignore[arg-type]
