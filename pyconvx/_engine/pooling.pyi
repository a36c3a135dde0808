"""Type stubs of pyconvx's compiled pooling core (see pooling.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

CHUNK_TAPS: int

def max_pool(
    x: npt.NDArray[np.floating[Any]],
    out: npt.NDArray[np.floating[Any]],
    indices: npt.NDArray[np.int64] | None,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    dilation_h: int,
    dilation_w: int,
    threads: int,
) -> None: ...
def avg_pool(
    x: npt.NDArray[np.floating[Any]],
    out: npt.NDArray[np.floating[Any]],
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    count_include_pad: bool,
    divisor: float,
    threads: int,
) -> None: ...
def max_pool_backward(
    x: npt.NDArray[np.floating[Any]],
    grad: npt.NDArray[np.floating[Any]],
    grad_x: npt.NDArray[np.floating[Any]],
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    dilation_h: int,
    dilation_w: int,
    threads: int,
) -> None: ...
def avg_pool_backward(
    grad: npt.NDArray[np.floating[Any]],
    grad_x: npt.NDArray[np.floating[Any]],
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    count_include_pad: bool,
    divisor: float,
    threads: int,
) -> None: ...
def max_unpool(
    x: npt.NDArray[np.floating[Any]],
    indices: npt.NDArray[np.int64],
    out: npt.NDArray[np.floating[Any]],
    threads: int,
) -> None: ...
