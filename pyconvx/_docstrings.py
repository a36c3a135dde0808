"""Shared pieces of the public docstrings, and the decorator that fills them in.

Several public functions take the same arguments (``conv``, ``conv1d/2d/3d``,
the layers, ``plan``...).  Each docstring is written at its ``def``; a line
that holds only ``%(name)s`` is replaced by the piece ``name`` below,
indented like the placeholder.  One text per argument, in one place.
"""

import textwrap
from typing import TypeVar, cast

__all__ = ["DOCS", "docfiller"]

#: The object docfiller is given and returns (a function or a class).
Documented = TypeVar("Documented")

DOCS: dict[str, str] = {
    "x": """\
x : array_like
    Input ``(N, C_in, *spatial)``, or unbatched ``(C_in, *spatial)`` (the
    result is then unbatched too); ``(N, *spatial, C_in)`` with
    ``data_format="channels_last"``.  Any memory layout is accepted.""",
    "weight": """\
weight : array_like
    ``(C_out, C_in / groups, *kernel)``.""",
    "bias": """\
bias : array_like, optional
    ``(C_out,)``, cast to the result dtype, added to every output.""",
    "stride": """\
stride : int or tuple of int, optional
    Step between windows, per spatial dim (>= 1).""",
    "padding": """\
padding : int, tuple or str, optional
    An int (both sides of every dim); one int per dim; one ``(low, high)``
    pair per dim; ``"valid"`` (none); ``"same"`` (output size
    ``ceil(size / stride)``, the odd extra on the high side as in
    TensorFlow); ``"full"`` (``dilation * (k - 1)`` on both sides).""",
    "dilation": """\
dilation : int or tuple of int, optional
    Spacing between kernel taps (>= 1).""",
    "groups": """\
groups : int, optional
    Split channels into this many independent groups; ``groups == C_in``
    is depthwise.  Must divide C_in and C_out.""",
    "flip": """\
flip : bool, optional
    False (default): cross-correlation, ``out[i] = sum_m x[i*s + m*d] w[m]``,
    what PyTorch and TensorFlow call convolution.  True: true (signal
    processing) convolution, the kernel rotated 180 degrees over every
    spatial axis before sliding.""",
    "padding_mode": """\
padding_mode : {"zeros", "reflect", "replicate", "circular", "symmetric", "constant"}, optional
    What the padded border holds.  ``"zeros"``; ``"reflect"`` (mirror about
    the edge sample, PyTorch's and numpy's "reflect", scipy.ndimage's
    "mirror"; padding < the input size); ``"symmetric"`` (mirror repeating the
    edge sample, numpy's "symmetric", scipy.ndimage's "reflect"; padding <=
    the input size); ``"replicate"`` (the edge sample); ``"circular"`` (wrap
    around; padding <= the input size); ``"constant"`` (``padding_value``).""",
    "padding_value": """\
padding_value : float, optional
    The value a ``"constant"`` border holds (default 0); only 0 with the
    other modes.""",
    "data_format": """\
data_format : {"channels_first", "channels_last"}, optional
    Where the channel axis of ``x`` and of the result is: before the
    spatial dims (``(N, C, *spatial)``, NCHW, the default) or after them
    (``(N, *spatial, C)``, NHWC).  The weight is ``(C_out, C_in / groups,
    *kernel)`` either way.  Channels-last input is read through its strides
    (no transposed copy) and gives the same bits as the channels-first call
    on the transposed arrays.""",
    "out": """\
out : ndarray, optional
    Preallocated result: exact shape, result dtype, C-contiguous, aligned,
    writeable.  It may overlap an input.  A call stopped by Ctrl-C
    (KeyboardInterrupt) leaves it partly written.""",
    "threads": """\
threads : int, optional
    Most threads to use; None means OMP_NUM_THREADS if set, else the cores
    this process may use.  Counts above 8 are capped at 4 per usable core (and
    at what a limited address space has room for); a problem too small to pay
    for waking a thread uses fewer.  Results are bitwise identical for every
    count.""",
    "algorithm": """\
algorithm : str, optional
    One of "auto", "fast", "direct", "gemm", "cgemm", "row", "rowblock",
    "depthwise", "winograd", "fft".
    How to compute (see :func:`pyconvx.plan` and Notes).  ``"auto"``
    (default) picks the fastest direct-summation microkernel: every output
    keeps the rounding bound of its own window.  ``"direct"`` is the same.
    ``"fast"`` may also take Winograd F(2x2,3x3) for 3x3 stride-1 layers,
    whose bound is that of the 4x4 input tile (opt in when that is enough).
    ``"gemm"``, ``"cgemm"``, ``"row"``, ``"rowblock"``, ``"depthwise"`` and
    ``"winograd"`` force one path (the last three raise ValueError for problems they cannot
    take).  ``"fft"`` computes through numpy.fft: exact only to the FFT's
    rounding (about 1e-15 of the largest output in float64, 1e-6 in
    float32), with a RuntimeWarning when an input holds NaN or Inf.""",
    "conv_returns": """\
ndarray
    ``(N, C_out, *out_spatial)`` or ``(C_out, *out_spatial)``; float32 if
    x and weight are float32, else float64.""",
    "conv_raises": """\
TypeError
    Wrong argument types or unsupported dtypes (float16, complex, object...).
ValueError
    Wrong shapes or values; the message names the parameter and the value.
MemoryError
    When the output or the workspace cannot be had (checked before
    anything is allocated).""",
    "conv_notes": """\
Rounding: on the default paths (``algorithm="auto"`` or ``"direct"``, and
each forced microkernel) every output is a sum of K = C_in/groups * taps
products plus the bias, formed with one fused multiply-add per product in a
fixed order, so ``|error| <= K * eps * (sum |w| |x| + |bias|)`` over the
output's own window (eps = 2**-23 in float32, 2**-52 in float64), the same
for every thread count.  ``"fast"``/``"winograd"`` keep that bound only over
each 4x4 input tile, ``"fft"`` over the whole array (``Plan.error_bound``).

NaN and Inf: on the default paths padded taps hold what ``padding_mode``
says and are multiplied like any other tap, so a NaN or Inf in the weight
reaches every output, and an Inf input next to a zero weight gives NaN
(IEEE 0 * Inf), exactly as the plain definition does; a NaN or Inf in the
input reaches only the outputs whose window holds it, and Inf stays Inf
where no Inf - Inf occurs.  Winograd spreads a non-finite input to the whole
2x2 output tile (an Inf may become NaN); the FFT spreads it to every output
and warns.""",
}
DOCS.update({
    "pool_x": """\
x : array_like
    ``(N, C, H, W)`` or unbatched ``(C, H, W)`` (``(N, H, W, C)`` or
    ``(H, W, C)`` with ``data_format="channels_last"``); float32 stays
    float32, float64, integer and bool inputs give float64.  Any memory
    layout is accepted.""",
    "pool_window": """\
kernel_size : int or tuple of 1 or 2 ints
    Window size (one int, or a one-element tuple, means a square window).
stride : int or tuple of 1 or 2 ints, optional
    Step between windows; None (or an empty tuple) means ``kernel_size``.""",
    "pool_ceil_mode": """\
ceil_mode : bool, optional
    Round the output size up, keeping a last window only if it starts
    inside the input or the left padding (torch's rule).""",
    "pool_divisor": """\
count_include_pad : bool, optional
    Divide by the window size including padded cells (torch's default) or
    by the number of input cells only.  A ``ceil_mode`` window hanging past
    the padded input is divided by its clipped size, as in torch.
divisor_override : int, optional
    Divide every window's sum by this (nonzero) int instead.""",
    "pool_data_format": """\
data_format : {"channels_first", "channels_last"}, optional
    Where the channel axis of the arrays is: before the spatial dims (the
    default) or after them.  Channels-last arrays are read and written
    through their strides and give the same bits as the channels-first call
    on the transposed arrays.""",
    "pool_threads": """\
threads : int, optional
    Most OpenMP threads to use (None: ``OMP_NUM_THREADS`` or the usable
    cores; counts above 8 are capped at 4 per usable core); small problems
    use fewer.  Results are bitwise identical for every count.""",
    "pool_raises": """\
TypeError
    For non-int sizes, non-bool flags or an unsupported dtype.
ValueError
    For a wrong rank or shape, sizes out of range, padding above half the
    kernel, an empty spatial input or an empty output.
MemoryError
    When the result cannot fit in memory.
KeyboardInterrupt
    On Ctrl-C: the work is done in chunks of a few milliseconds, and each
    window walks only its taps inside the input, whatever the kernel size.""",
    "pool_max_notes": """\
NaN and Inf: padding is ``-inf`` and never wins.  A NaN in a window makes
its output NaN; ``+inf`` gives ``+inf`` exactly in the outputs whose window
holds it (and no NaN); ``-inf`` is an output only where every tap of the
window is ``-inf``.  Ties go to the first maximum in the window's row-major
order, as in torch's CPU kernel.""",
    "pool_avg_notes": """\
NaN and Inf: padding is zero.  A NaN or Inf in the input reaches exactly
the outputs whose window holds it; Inf stays Inf (with its sign) unless the
window also holds the opposite infinity (Inf - Inf is NaN).""",
})
DOCS["layer_parameters"] = """\
in_channels, out_channels : int
    Channel counts (>= 1), both divisible by ``groups``.
kernel_size : int or tuple of int
    Kernel size, one per spatial dim.
stride, padding, dilation, groups, padding_mode
    As for :func:`pyconvx.conv` (padding also accepts "same", "valid", "full").
bias : bool, optional
    Whether the layer has a bias per output channel.
dtype : {numpy.float32, numpy.float64}, optional
    dtype of the parameters.
seed : int, optional
    Seed of the Kaiming-uniform initialisation (PyTorch's default law:
    weight and bias uniform in +-1/sqrt(fan_in)); same seed, same weights.
padding_value : float, optional
    What a ``padding_mode="constant"`` border holds.
data_format : {"channels_first", "channels_last"}, optional
    The layout of the inputs the layer is called on and of its outputs."""
DOCS["layer_attributes"] = """\
weight : ndarray
    ``(out_channels, in_channels / groups, *kernel_size)``.
bias : ndarray or None
    ``(out_channels,)``.
grad_weight, grad_bias : ndarray or None
    The gradients added up by :meth:`backward` since the last
    :meth:`zero_grad`."""
DOCS["transpose_layer_parameters"] = """\
in_channels, out_channels : int
    Channel counts (>= 1), both divisible by ``groups``.
kernel_size : int or tuple of int
    Kernel size, one per spatial dim.
stride, padding, output_padding, groups, dilation
    As for :func:`pyconvx.conv_transpose`.
bias : bool, optional
    Whether the layer has a bias per output channel.
padding_mode : {"zeros"}, optional
    Only zeros, as in PyTorch.
dtype : {numpy.float32, numpy.float64}, optional
    dtype of the parameters.
seed : int, optional
    Seed of the initialisation (PyTorch's default law for transposed layers:
    weight and bias uniform in +-1/sqrt(out_channels / groups * prod(kernel)));
    same seed, same weights.
data_format : {"channels_first", "channels_last"}, optional
    The layout of the inputs the layer is called on and of its outputs."""
DOCS["transpose_layer_attributes"] = """\
weight : ndarray
    ``(in_channels, out_channels / groups, *kernel_size)``.
bias : ndarray or None
    ``(out_channels,)``.
grad_weight, grad_bias : ndarray or None
    The gradients added up by :meth:`backward` since the last
    :meth:`zero_grad`."""
DOCS["conv_parameters"] = "\n".join(DOCS[name] for name in (
    "x", "weight", "bias", "stride", "padding", "dilation", "groups", "flip", "padding_mode",
    "padding_value", "data_format", "out", "threads", "algorithm"))

DOCS["transpose_parameters"] = """\
x : array_like
    Input ``(N, C_in, *spatial)``, or unbatched ``(C_in, *spatial)`` (the
    result is then unbatched too).  Any memory layout is accepted.
weight : array_like
    ``(C_in, C_out / groups, *kernel)`` (PyTorch's layout of a transposed
    convolution: the weight of the convolution it is the adjoint of).
bias : array_like, optional
    ``(C_out,)``, cast to the result dtype, added to every output.
stride : int or tuple of int, optional
    Step between the stamped kernels, per spatial dim (>= 1): the upsampling
    factor.
padding : int or tuple, optional
    An int, one int per dim, or one ``(low, high)`` pair per dim: how many
    outputs are cut from each side of the full result (the padding of the
    convolution it is the adjoint of).
output_padding : int or tuple of int, optional
    Extra outputs on the high side of each dim, smaller than the stride or
    the dilation: picks one of the input sizes that a strided convolution
    maps to the same output size.
groups : int, optional
    Independent channel groups; must divide C_in.
dilation : int or tuple of int, optional
    Spacing between kernel taps (>= 1).
flip : bool, optional
    False (default): the adjoint of cross-correlation (PyTorch's
    ``conv_transpose``).  True: the adjoint of true convolution (the kernel
    rotated 180 degrees over every spatial axis).
out : ndarray, optional
    Preallocated result: exact shape, result dtype, C-contiguous, aligned,
    writeable.  It may overlap an input.
threads : int, optional
    Most threads to use; None means OMP_NUM_THREADS if set, else the cores
    this process may use; a small problem may use fewer.  Results are bitwise
    identical for every count.
data_format : {"channels_first", "channels_last"}, optional
    "channels_last": x is ``(N, *spatial, C_in)`` and the result
    ``(N, *out_spatial, C_out)`` (unbatched: without N), read and written
    through strides with no transposed copy, bitwise equal to the
    channels-first call on the transposed arrays.  The weight's layout is
    the same in both."""
DOCS["transpose_raises"] = """\
TypeError
    Wrong argument types or unsupported dtypes.
ValueError
    Wrong shapes or values (an ``output_padding`` not smaller than the
    stride or the dilation, a padding that leaves no output); the message
    names the parameter and the value.
MemoryError
    When the output cannot be had (checked before anything is allocated)."""
DOCS["transpose_notes"] = """\
How it computes: output position ``i`` of a dim belongs to phase
``(i + pad_low) mod stride``; only the taps ``m`` with ``m * dilation``
in that residue reach it, and on each phase the sum is an ordinary
stride-1 convolution with those taps.  So the ``prod(stride)`` phases run on
the forward engine (its microkernels, bounded scratch, OpenMP over output
tiles), each writing its outputs in place through a strided view: no
scatter, no im2col/col2im buffer, every output summed once over its own
taps in a fixed order (bitwise identical for every thread count).  The
rounding bound is the convolution's, over the output's own products.
:func:`pyconvx.plan_transpose` shows the phases."""
DOCS["grad_parameters"] = """\
stride, padding, dilation, groups, flip, padding_mode, padding_value, data_format
    Those of the forward call :func:`pyconvx.conv` (every padding form and
    padding mode it accepts).
threads : int, optional
    Most threads to use; None means OMP_NUM_THREADS if set, else the cores
    this process may use; a small problem may use fewer.  Results are bitwise
    identical for every count."""
DOCS["grad_output"] = """\
grad_output : array_like
    The gradient of the loss with respect to the convolution's output: the
    output's shape (``pyconvx.output_shape``) and layout convention, the
    dtype of the forward pass."""
DOCS["grad_raises"] = """\
TypeError
    Wrong argument types, unsupported dtypes, or arrays of different
    floating dtypes (float32 with float64): a gradient is computed in the
    dtype of its forward pass.
ValueError
    Wrong shapes or values: a grad_output whose shape is not the forward
    output's, an input_shape or weight_shape inconsistent with it; the
    message names the parameter and the value.
MemoryError
    When the result or the workspace cannot be had."""


def docfiller(obj: Documented) -> Documented:
    """Fill the ``%(name)s`` lines of ``obj.__doc__`` from :data:`DOCS`."""
    lines = []
    # every object given has a docstring to fill
    for line in cast(str, obj.__doc__).split("\n"):
        stripped = line.strip()
        if stripped.startswith("%(") and stripped.endswith(")s"):
            indent = line[:len(line) - len(line.lstrip())]
            lines.append(textwrap.indent(DOCS[stripped[2:-2]], indent))
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
