"""Conv1d, Conv2d, Conv3d: small layer objects shaped like torch.nn.ConvNd.

A layer holds its weight and bias and validates its hyper-parameters once, at
construction, with the same rules as :func:`pyconvx.conv` (it asks
``shapes.describe_conv`` on a probe shape); calling it runs ``conv``.
"""

import numpy as np

from ._docstrings import docfiller
from ._normalize import (
    PADDING_STRINGS,
    as_int,
    as_int_tuple,
    as_padding_value,
    check_choice,
    padding_mode_code,
)
from .conv import conv_impl
from .shapes import DATA_FORMATS, describe_conv, param_count

__all__ = ["Conv1d", "Conv2d", "Conv3d"]


class _ConvNd:
    #: Number of spatial dims; set by each concrete layer.
    ndim: int = 0

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=np.float32,
                 seed=None, *, padding_value=0.0, data_format="channels_first"):
        self.in_channels = as_int(in_channels, "in_channels")
        self.out_channels = as_int(out_channels, "out_channels")
        if self.in_channels < 1 or self.out_channels < 1:
            raise ValueError(f"in_channels and out_channels must be >= 1, got "
                             f"{self.in_channels} and {self.out_channels}")
        self.kernel_size = as_int_tuple(kernel_size, "kernel_size", self.ndim, 1)
        self.stride = as_int_tuple(stride, "stride", self.ndim, 1)
        self.dilation = as_int_tuple(dilation, "dilation", self.ndim, 1)
        self.groups = as_int(groups, "groups")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be a bool, got {type(bias).__name__} {bias!r}")
        padding_mode_code(padding_mode)
        self.padding = padding
        self.padding_mode = padding_mode
        self.padding_value = as_padding_value(padding_value, padding_mode)
        self.data_format = check_choice(data_format, "data_format", DATA_FORMATS)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        self.dtype = dtype
        in_per_group = self.in_channels // max(self.groups, 1)
        weight_shape = (self.out_channels, in_per_group) + self.kernel_size
        # Validate every hyper-parameter now, on the smallest input that fits.
        probe = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))
        describe_conv((1, self.in_channels) + probe, weight_shape, stride=self.stride,
                      padding=self._probe_padding(padding), dilation=self.dilation,
                      groups=self.groups, padding_mode="zeros")
        self.seed = seed
        rng = np.random.default_rng(seed)
        fan_in = (self.in_channels // self.groups) * int(np.prod(self.kernel_size))
        # PyTorch's default: kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in),
        # and the bias is uniform in the same bound.
        bound = 1.0 / np.sqrt(fan_in)
        self.weight = rng.uniform(-bound, bound, weight_shape).astype(dtype)
        self.bias = rng.uniform(-bound, bound, self.out_channels).astype(dtype) if bias else None

    @staticmethod
    def _probe_padding(padding):
        # "same"/"valid"/"full" and explicit sizes are all valid on the probe;
        # explicit padding is checked as given.
        return "valid" if isinstance(padding, str) and padding in PADDING_STRINGS else padding

    def __call__(self, x, *, out=None, threads=None, algorithm="auto"):
        """Apply the layer: :func:`pyconvx.conv` with the layer's weight and settings."""
        return conv_impl(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                         self.groups, padding_mode=self.padding_mode,
                         padding_value=self.padding_value, data_format=self.data_format,
                         out=out,
                         threads=threads, algorithm=algorithm, ndim=self.ndim)

    @property
    def param_count(self):
        """Number of parameters (weights plus biases)."""
        return param_count(self.in_channels, self.out_channels, self.kernel_size,
                           bias=self.bias is not None, groups=self.groups)

    def output_shape(self, input_shape):
        """Shape of ``self(x)`` for an input of shape ``input_shape``."""
        return describe_conv(input_shape, self.weight.shape, stride=self.stride,
                             padding=self.padding, dilation=self.dilation, groups=self.groups,
                             padding_mode=self.padding_mode, padding_value=self.padding_value,
                             data_format=self.data_format, ndim=self.ndim).out_shape

    def __repr__(self):
        parts = [f"{self.in_channels}", f"{self.out_channels}",
                 f"kernel_size={self.kernel_size}", f"stride={self.stride}"]
        if self.padding != 0:
            parts.append(f"padding={self.padding!r}")
        if self.dilation != (1,) * self.ndim:
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        if self.padding_value != 0:
            parts.append(f"padding_value={self.padding_value!r}")
        if self.data_format != "channels_first":
            parts.append(f"data_format={self.data_format!r}")
        parts.append(f"dtype={self.dtype.name}")
        return f"{type(self).__name__}({', '.join(parts)})"


@docfiller
class Conv1d(_ConvNd):
    """1-d convolution layer, like ``torch.nn.Conv1d``.

    Parameters
    ----------
    %(layer_parameters)s

    Attributes
    ----------
    %(layer_attributes)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> layer = pyconvx.Conv1d(3, 8, 3, padding=1, seed=0)
    >>> layer.param_count
    80
    >>> layer(np.zeros((2, 3, 16), dtype=np.float32)).shape
    (2, 8, 16)
    """

    ndim = 1


@docfiller
class Conv2d(_ConvNd):
    """2-d convolution layer, like ``torch.nn.Conv2d``.

    Parameters
    ----------
    %(layer_parameters)s

    Attributes
    ----------
    %(layer_attributes)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> layer = pyconvx.Conv2d(3, 8, 3, padding=1, seed=0)
    >>> layer.param_count
    224
    >>> layer(np.zeros((2, 3, 16, 16), dtype=np.float32)).shape
    (2, 8, 16, 16)
    """

    ndim = 2


@docfiller
class Conv3d(_ConvNd):
    """3-d convolution layer, like ``torch.nn.Conv3d``.

    Parameters
    ----------
    %(layer_parameters)s

    Attributes
    ----------
    %(layer_attributes)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> layer = pyconvx.Conv3d(3, 8, 3, padding=1, seed=0)
    >>> layer.param_count
    656
    >>> layer(np.zeros((2, 3, 16, 16, 16), dtype=np.float32)).shape
    (2, 8, 16, 16, 16)
    """

    ndim = 3
