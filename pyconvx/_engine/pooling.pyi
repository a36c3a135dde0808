"""Type stubs of pyconvx's compiled pooling core (see pooling.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

def max_pool2d_planes(
    x: npt.NDArray[np.floating[Any]],
    out: npt.NDArray[np.floating[Any]],
    kernel_h: int,
    kernel_w: int,
    stride_h: int,
    stride_w: int,
    pad_h: int,
    pad_w: int,
    dilation_h: int,
    dilation_w: int,
    threads: int,
) -> int: ...
def avg_pool2d_planes(
    x: npt.NDArray[np.floating[Any]],
    out: npt.NDArray[np.floating[Any]],
    kernel_h: int,
    kernel_w: int,
    stride_h: int,
    stride_w: int,
    pad_h: int,
    pad_w: int,
    count_include_pad: bool,
    threads: int,
) -> int: ...
