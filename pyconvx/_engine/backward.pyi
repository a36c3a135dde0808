"""Type stubs of the backward engine (see backward.pyx)."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .contract import DirectPlan
from .plan_backward import WeightGradPlan

def weight_grad(
    x: npt.NDArray[np.floating[Any]],
    grad_output: npt.NDArray[np.floating[Any]],
    gw: npt.NDArray[np.floating[Any]],
    band: DirectPlan,
    plan: WeightGradPlan,
    flip: bool,
) -> npt.NDArray[np.floating[Any]]: ...
def fold_padded(
    padded: npt.NDArray[np.floating[Any]],
    dst: npt.NDArray[np.floating[Any]],
    maps: Sequence[npt.NDArray[np.int64]],
    threads: int,
) -> npt.NDArray[np.floating[Any]]: ...
def bias_grad(
    grad_output: npt.NDArray[np.floating[Any]],
    out: npt.NDArray[np.floating[Any]],
    threads: int,
) -> npt.NDArray[np.floating[Any]]: ...
def wide_tile(itemsize: int) -> tuple[int, int]: ...
def phase_kernels(
    weight: npt.NDArray[np.floating[Any]],
    indices: tuple[tuple[slice, ...], ...],
    threads: int,
) -> list[npt.NDArray[np.floating[Any]]]: ...
