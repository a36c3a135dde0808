"""Type stubs of the direct engine's executor (see direct.pyx)."""

from typing import Any, Optional

import numpy as np
import numpy.typing as npt

from .contract import DirectPlan

def run(
    x: npt.NDArray[np.floating[Any]],
    weight: npt.NDArray[np.floating[Any]],
    bias: Optional[npt.NDArray[np.floating[Any]]],
    out: npt.NDArray[np.floating[Any]],
    plan: DirectPlan,
) -> npt.NDArray[np.floating[Any]]: ...
