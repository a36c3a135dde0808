"""Type stubs of pyconvx's compiled engine (see _core.pyx)."""

from typing import Any, Optional, Sequence

import numpy as np
import numpy.typing as npt


def openmp_enabled() -> bool: ...
def cpu_level() -> int: ...
def kernel_set_info(level: int) -> Optional[dict[str, Any]]: ...
def fma_probe(level: int, double_precision: bool, threads: int, iterations: int) -> int: ...
def conv_direct(
    x: np.ndarray,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    out: np.ndarray,
    plan: dict[str, Any],
    level: int,
    threads: int,
) -> np.ndarray: ...
def im2col_kernel(
    x: npt.NDArray[np.floating[Any]],
    cols: npt.NDArray[np.floating[Any]],
    kernel: Sequence[int],
    stride: Sequence[int],
    pad_lo: Sequence[int],
    dilation: Sequence[int],
    out_hw: Sequence[int],
    threads: int,
) -> None: ...
def col2im_kernel(
    cols: npt.NDArray[np.floating[Any]],
    image: npt.NDArray[np.floating[Any]],
    kernel: Sequence[int],
    stride: Sequence[int],
    pad_lo: Sequence[int],
    dilation: Sequence[int],
    out_hw: Sequence[int],
    threads: int,
) -> None: ...
