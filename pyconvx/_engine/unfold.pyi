"""Type stubs of the engine's im2col / col2im (see unfold.pyx)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

CHUNK_VALUES: int

def im2col(
    x: npt.NDArray[np.floating[Any]],
    cols: npt.NDArray[np.floating[Any]],
    kernel: Sequence[int],
    stride: Sequence[int],
    pad_lo: Sequence[int],
    dilation: Sequence[int],
    out_hw: Sequence[int],
    threads: int,
) -> None: ...
def col2im(
    cols: npt.NDArray[np.floating[Any]],
    image: npt.NDArray[np.floating[Any]],
    kernel: Sequence[int],
    stride: Sequence[int],
    pad_lo: Sequence[int],
    dilation: Sequence[int],
    out_hw: Sequence[int],
    threads: int,
) -> None: ...
