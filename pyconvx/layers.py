"""Conv1d/2d/3d and ConvTranspose1d/2d/3d: layer objects shaped like torch.nn's.

A layer holds its weight and bias and validates its hyper-parameters once, at
construction, with the same rules as :func:`pyconvx.conv` (it asks
``shapes.describe_conv`` on a probe shape); calling it runs ``conv`` (or
``conv_transpose``) and remembers the input, so that ``backward(grad_output)``
returns the input's gradient and adds the weight's and the bias's to
``grad_weight`` and ``grad_bias`` (cleared by ``zero_grad()``).
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
from .backward import conv_backward, transposed_gradients
from .conv import conv_impl
from .shapes import DATA_FORMATS, describe_conv, describe_transpose, param_count
from .transpose import conv_transpose_impl

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]


def _parameter_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


class _Learning:
    """What every layer shares: its sizes, the last input, the stored gradients."""

    #: Number of spatial dims; set by each concrete layer.
    ndim: int = 0
    _last_input = None
    grad_weight = None
    grad_bias = None

    def _set_sizes(self, in_channels, out_channels, kernel_size, stride, dilation, groups,
                   bias):
        """Check and keep the arguments every layer takes."""
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

    def _repr(self, extra):
        """``Name(in, out, kernel_size=..., stride=..., <extra>, dtype=...)``."""
        parts = [f"{self.in_channels}", f"{self.out_channels}",
                 f"kernel_size={self.kernel_size}", f"stride={self.stride}"]
        if self.padding != 0:
            parts.append(f"padding={self.padding!r}")
        parts += extra
        if self.dilation != (1,) * self.ndim:
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        parts.append(f"dtype={self.dtype.name}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def zero_grad(self):
        """Clear the stored gradients (``grad_weight`` and ``grad_bias`` become None)."""
        self.grad_weight = None
        self.grad_bias = None

    def _remember(self, x):
        self._last_input = x

    def _last(self):
        if self._last_input is None:
            raise RuntimeError(f"{type(self).__name__}.backward needs the input of a forward "
                               "call: call the layer on a batch first")
        return self._last_input

    def _store(self, grad_weight, grad_bias):
        """Add the gradients of one backward pass to the stored ones."""
        self.grad_weight = grad_weight if self.grad_weight is None else (
            self.grad_weight + grad_weight)
        if grad_bias is not None:
            self.grad_bias = grad_bias if self.grad_bias is None else self.grad_bias + grad_bias


class _ConvNd(_Learning):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=np.float32,
                 seed=None, *, padding_value=0.0, data_format="channels_first"):
        self._set_sizes(in_channels, out_channels, kernel_size, stride, dilation, groups, bias)
        padding_mode_code(padding_mode)
        self.padding = padding
        self.padding_mode = padding_mode
        self.padding_value = as_padding_value(padding_value, padding_mode)
        self.data_format = check_choice(data_format, "data_format", DATA_FORMATS)
        self.dtype = _parameter_dtype(dtype)
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
        """Apply the layer: :func:`pyconvx.conv` with the layer's weight and settings.

        The input is remembered for :meth:`backward`.
        """
        result = conv_impl(x, self.weight, self.bias, self.stride, self.padding,
                           self.dilation, self.groups, padding_mode=self.padding_mode,
                           padding_value=self.padding_value, data_format=self.data_format,
                           out=out, threads=threads, algorithm=algorithm, ndim=self.ndim)
        self._remember(x)
        return result

    def backward(self, grad_output, *, threads=None):
        """Gradients of the last call: return ``dL/dx``; add ``dL/dweight`` to
        ``grad_weight`` and ``dL/dbias`` to ``grad_bias``.

        ``grad_output`` is ``dL/dy`` for ``y = self(x)`` of the last call
        (:func:`pyconvx.conv_backward` with the layer's settings).
        """
        grads = conv_backward(self._last(), self.weight, grad_output, self.stride,
                              self.padding, self.dilation, self.groups,
                              padding_mode=self.padding_mode,
                              padding_value=self.padding_value, data_format=self.data_format,
                              needs=("input", "weight") + (("bias",) if self.bias is not None
                                                          else ()), threads=threads)
        self._store(grads.grad_weight, grads.grad_bias)
        return grads.grad_input

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
        extra = []
        if self.padding_mode != "zeros":
            extra.append(f"padding_mode={self.padding_mode!r}")
        if self.padding_value != 0:
            extra.append(f"padding_value={self.padding_value!r}")
        if self.data_format != "channels_first":
            extra.append(f"data_format={self.data_format!r}")
        return self._repr(extra)


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
    >>> layer.backward(np.ones((2, 8, 16), dtype=np.float32)).shape
    (2, 3, 16)
    >>> layer.grad_weight.shape, layer.grad_bias.tolist() == [32.0] * 8
    ((8, 3, 3), True)
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


class _ConvTransposeNd(_Learning):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=np.float32, seed=None, *, data_format="channels_first"):
        self._set_sizes(in_channels, out_channels, kernel_size, stride, dilation, groups, bias)
        self.data_format = check_choice(data_format, "data_format", DATA_FORMATS)
        self.output_padding = as_int_tuple(output_padding, "output_padding", self.ndim, 0)
        # PyTorch's transposed layers take only zero padding
        check_choice(padding_mode, "padding_mode", ("zeros",))
        self.padding_mode = padding_mode
        self.padding = padding
        self.dtype = _parameter_dtype(dtype)
        if self.groups <= 0:
            raise ValueError(f"groups must be >= 1, got {self.groups}")
        if self.out_channels % self.groups:
            raise ValueError(f"groups={self.groups} must divide out_channels="
                             f"{self.out_channels}")
        weight_shape = ((self.in_channels, self.out_channels // self.groups)
                        + self.kernel_size)
        # Validate every hyper-parameter now, on an input large enough for the padding.
        probe = tuple(1 + sum(pair) if isinstance(pair, tuple) else 1 + 2 * pair
                      for pair in self._pads())
        describe_transpose((1, self.in_channels) + probe, weight_shape, stride=self.stride,
                           padding=padding, output_padding=self.output_padding,
                           dilation=self.dilation, groups=self.groups)
        self.seed = seed
        rng = np.random.default_rng(seed)
        # PyTorch's default for transposed layers: fan_in from the weight's
        # second axis (C_out / groups) times the kernel
        fan_in = (self.out_channels // self.groups) * int(np.prod(self.kernel_size))
        bound = 1.0 / np.sqrt(fan_in)
        self.weight = rng.uniform(-bound, bound, weight_shape).astype(dtype)
        self.bias = rng.uniform(-bound, bound, self.out_channels).astype(dtype) if bias else None

    def _pads(self):
        """The padding as one entry per dim (validation happens in describe_transpose)."""
        padding = self.padding
        if isinstance(padding, (tuple, list)) and len(padding) == self.ndim:
            return tuple(tuple(p) if isinstance(p, (tuple, list)) else as_int(p, "padding")
                         for p in padding)
        if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
            return (int(padding),) * self.ndim
        return (0,) * self.ndim

    def __call__(self, x, *, out=None, threads=None):
        """Apply the layer: :func:`pyconvx.conv_transpose` with the layer's weight.

        The input is remembered for :meth:`backward`.
        """
        result = conv_transpose_impl(x, self.weight, self.bias, self.stride, self.padding,
                                     self.output_padding, self.groups, self.dilation, out=out,
                                     threads=threads, ndim=self.ndim,
                                     data_format=self.data_format)
        self._remember(x)
        return result

    def backward(self, grad_output, *, threads=None):
        """Gradients of the last call: return ``dL/dx``; add ``dL/dweight`` to
        ``grad_weight`` and ``dL/dbias`` to ``grad_bias``.

        A transposed convolution is the adjoint of the convolution with the
        same weight, so ``dL/dx`` is that convolution of grad_output and
        ``dL/dweight`` its weight gradient with the roles of x and
        grad_output exchanged.
        """
        needs = ("input", "weight") + (("bias",) if self.bias is not None else ())
        grads = transposed_gradients(self._last(), self.weight, grad_output, self.stride,
                                     self.padding, self.output_padding, self.groups,
                                     self.dilation, needs=needs, threads=threads,
                                     data_format=self.data_format, ndim=self.ndim)
        self._store(grads.grad_weight, grads.grad_bias)
        return grads.grad_input

    @property
    def param_count(self):
        """Number of parameters (weights plus biases)."""
        return int(np.prod(self.weight.shape)) + (self.out_channels if self.bias is not None
                                                  else 0)

    def output_shape(self, input_shape):
        """Shape of ``self(x)`` for an input of shape ``input_shape``."""
        return describe_transpose(input_shape, self.weight.shape, stride=self.stride,
                                  padding=self.padding, output_padding=self.output_padding,
                                  dilation=self.dilation, groups=self.groups,
                                  ndim=self.ndim, data_format=self.data_format).out_shape

    def __repr__(self):
        extra = [f"output_padding={self.output_padding}"] if any(self.output_padding) else []
        if self.data_format != "channels_first":
            extra.append(f"data_format={self.data_format!r}")
        return self._repr(extra)


@docfiller
class ConvTranspose1d(_ConvTransposeNd):
    """1-d transposed convolution layer, like ``torch.nn.ConvTranspose1d``.

    Parameters
    ----------
    %(transpose_layer_parameters)s

    Attributes
    ----------
    %(transpose_layer_attributes)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> layer = pyconvx.ConvTranspose1d(64, 32, 16, stride=8, padding=4, seed=0)
    >>> y = layer(np.zeros((4, 64, 100), dtype=np.float32))
    >>> y.shape
    (4, 32, 800)
    >>> layer.backward(np.ones_like(y)).shape
    (4, 64, 100)
    """

    ndim = 1


@docfiller
class ConvTranspose2d(_ConvTransposeNd):
    """2-d transposed convolution layer, like ``torch.nn.ConvTranspose2d``.

    Parameters
    ----------
    %(transpose_layer_parameters)s

    Attributes
    ----------
    %(transpose_layer_attributes)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> layer = pyconvx.ConvTranspose2d(128, 64, 4, stride=2, padding=1, seed=0)
    >>> layer(np.zeros((1, 128, 28, 28), dtype=np.float32)).shape
    (1, 64, 56, 56)
    >>> layer.param_count
    131136
    """

    ndim = 2


@docfiller
class ConvTranspose3d(_ConvTransposeNd):
    """3-d transposed convolution layer, like ``torch.nn.ConvTranspose3d``.

    Parameters
    ----------
    %(transpose_layer_parameters)s

    Attributes
    ----------
    %(transpose_layer_attributes)s

    Examples
    --------
    >>> import numpy as np, pyconvx
    >>> layer = pyconvx.ConvTranspose3d(8, 4, 3, stride=2, padding=1, output_padding=1, seed=0)
    >>> layer(np.zeros((1, 8, 5, 5, 5))).shape
    (1, 4, 10, 10, 10)
    """

    ndim = 3
