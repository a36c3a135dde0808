"""Type stubs of the direct engine's executor (see direct.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

from .contract import DirectPlan

def run(
    x: npt.NDArray[np.floating[Any]],
    weight: npt.NDArray[np.floating[Any]],
    bias: npt.NDArray[np.floating[Any]] | None,
    out: npt.NDArray[np.floating[Any]],
    records: tuple[DirectPlan, ...],
) -> npt.NDArray[np.floating[Any]]: ...
