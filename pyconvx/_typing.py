"""The types of pyconvx's public API, in one place.

The ``Literal`` aliases spell the string options the functions accept; the
tuples the functions validate against at run time (``PADDING_MODES``,
``ALGORITHMS``, ``DATA_FORMATS``, the ``MODES`` and ``BOUNDARIES`` of
``signal`` and ``filters``) hold the same strings, which the test suite checks.
The aliases are built with ``typing.Union`` so that they can be evaluated on
every Python version pyconvx supports.
"""

from collections.abc import Sequence
from typing import Any, Literal, TypeVar, Union

import numpy as np
import numpy.typing as npt

__all__ = [
    "Algorithm",
    "DataFormat",
    "FilterBoundary",
    "Float32Array",
    "Float64Array",
    "FloatArray",
    "FloatT",
    "GradientName",
    "IntArg",
    "IntTuple",
    "PaddingArg",
    "PaddingMode",
    "PaddingString",
    "RealNumber",
    "SignalBoundary",
    "SignalMethod",
    "SignalMode",
    "TransposedPaddingArg",
]

#: Arrays of the two dtypes pyconvx computes in.
Float32Array = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]

#: An array in one of the two dtypes pyconvx computes in.
FloatArray = Union[Float32Array, Float64Array]

#: The dtype of a result that has the dtype of its float input.
FloatT = TypeVar("FloatT", np.float32, np.float64)

#: An integer argument: a Python int or a NumPy integer scalar.
IntArg = Union[int, np.integer[Any]]

#: A size per spatial dim (stride, dilation, kernel_size...): one int for
#: every dim, or one per dim.
IntTuple = Union[IntArg, Sequence[IntArg]]

#: The padding sizes spelled by a name.
PaddingString = Literal["valid", "same", "full"]

#: ``padding``: one int for every side, one int or ``(low, high)`` pair per
#: spatial dim, or a :data:`PaddingString`.
PaddingArg = Union[IntArg, PaddingString, Sequence[Union[IntArg, Sequence[IntArg]]]]

#: ``padding`` of a transposed convolution: one int for every side, one int
#: or ``(low, high)`` pair per spatial dim (the strings have no transposed
#: meaning).
TransposedPaddingArg = Union[IntArg, Sequence[Union[IntArg, Sequence[IntArg]]]]

#: What the padded border holds (``_boundary.PADDING_MODES``).
PaddingMode = Literal["zeros", "reflect", "replicate", "circular", "symmetric", "constant"]

#: The ``algorithm`` of :func:`pyconvx.conv` (``_engine.plan.ALGORITHMS``).
Algorithm = Literal["auto", "fast", "direct", "gemm", "cgemm", "row", "rowblock",
                    "depthwise", "winograd", "fft"]

#: A gradient :func:`pyconvx.conv_backward` can compute (``backward.NEEDS``).
GradientName = Literal["input", "weight", "bias"]

#: The layout of a batch of images (``shapes.DATA_FORMATS``).
DataFormat = Literal["channels_first", "channels_last"]

#: A real scalar: Python or NumPy, integer or floating.
RealNumber = Union[int, float, np.integer[Any], np.floating[Any]]

#: The output size of the SciPy-compatible functions (``signal.MODES``).
SignalMode = Literal["full", "same", "valid"]

#: ``method`` of ``signal.correlate`` and ``signal.convolve`` (``signal.METHODS``).
SignalMethod = Literal["auto", "direct", "fft"]

#: ``boundary`` of ``signal.correlate2d`` and ``signal.convolve2d``, SciPy's
#: spellings (``signal.BOUNDARIES``).
SignalBoundary = Literal["fill", "pad", "wrap", "circular", "symm", "symmetric"]

#: ``boundary`` of ``filters.filter2d`` and ``filters.edge_magnitude``: pyconvx's
#: padding modes and SciPy's spellings (``filters.BOUNDARIES``).
FilterBoundary = Literal["symmetric", "reflect", "replicate", "circular", "zeros", "fill",
                         "pad", "wrap", "symm"]
