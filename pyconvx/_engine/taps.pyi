"""Type stubs of the tap-rows engine (see taps.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

def correlate_rows(
    x: npt.NDArray[np.floating[Any]],
    weights: npt.NDArray[np.floating[Any]],
    kh: int,
    kw: int,
    row_index: npt.ArrayLike,
    col_index: npt.ArrayLike | None,
    fill: float,
    out: npt.NDArray[np.floating[Any]],
    threads: int,
    level: int,
) -> npt.NDArray[np.floating[Any]]: ...
