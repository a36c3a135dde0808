"""The static types of pyconvx's public functions, checked by mypy (never run).

``tests/api/test_typing.py`` runs mypy with the project's configuration on
this file.  Each ``assert_type`` states the type mypy must infer for a call.
Each line ending in ``# type: ignore[...]`` is a call mypy must reject: with
``warn_unused_ignores`` a call it accepted would make the comment unused, an
error.
"""

from typing import Any, assert_type

import numpy as np
import numpy.typing as npt

import pyconvx
from pyconvx import kernels

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
