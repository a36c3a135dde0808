"""pyconvx: fast, strict N-d convolution for NumPy.

A Cython core (nogil, OpenMP, float32/float64) over SIMD microkernels chosen
at run time, behind a thin API that validates every argument.

>>> import numpy as np, pyconvx
>>> pyconvx.conv(np.array([[1., 2., 3., 4., 5.]]), np.array([[[1., 0., -1.]]]))
array([[-2., -2., -2.]])
"""

__version__ = "0.1.0"

from . import kernels, ndimage
from ._config import fma_peak_gflops, show_config
from ._engine.plan import ALGORITHMS, Plan, plan
from .backward import (
    ConvGradients,
    conv_backward,
    conv_grad_input,
    conv_grad_weight,
    plan_backward,
    plan_transpose,
)
from .conv import conv, conv1d, conv2d, conv3d
from .explain import Explanation, explain
from .filters import edge_magnitude, filter2d
from .layers import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .pooling import (
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_unpool2d,
)
from .shapes import output_shape, output_size, param_count
from .signal import convolve, convolve2d, correlate, correlate2d
from .transpose import conv_transpose, conv_transpose1d, conv_transpose2d, conv_transpose3d
from .unfold import col2im, im2col

__all__ = [
    "ALGORITHMS",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvGradients",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Explanation",
    "Plan",
    "avg_pool2d",
    "avg_pool2d_backward",
    "col2im",
    "conv",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_backward",
    "conv_grad_input",
    "conv_grad_weight",
    "conv_transpose",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "convolve",
    "convolve2d",
    "correlate",
    "correlate2d",
    "edge_magnitude",
    "explain",
    "filter2d",
    "fma_peak_gflops",
    "im2col",
    "kernels",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool2d",
    "ndimage",
    "output_shape",
    "output_size",
    "param_count",
    "plan",
    "plan_backward",
    "plan_transpose",
    "show_config",
]
