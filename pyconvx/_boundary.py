"""What the padded border of an input holds: the padding modes, in one place.

``PADDING_MODES`` lists the modes in the order of the engine's integer codes
(``contract.PaddingMode``).  For an input axis of ``size`` samples and a padded
coordinate ``i`` (relative to the first sample):

========== ============================================ ==============================
mode       sample read                                  numpy.pad / other names
========== ============================================ ==============================
zeros      0                                            "constant" with 0
constant   ``padding_value``                            "constant"
reflect    mirror about the edge sample, not repeating  "reflect"; ndimage "mirror";
           it: -1 -> 1, size -> size - 2                OpenCV BORDER_REFLECT_101
symmetric  mirror repeating the edge sample: -1 -> 0,   "symmetric"; ndimage
           size -> size - 1                             "reflect"; OpenCV BORDER_REFLECT
replicate  the nearest edge sample                      "edge"; ndimage "nearest"
circular   ``i mod size``                               "wrap"; ndimage "wrap"
========== ============================================ ==============================

The engine implements one reflection: ``reflect`` needs padding < size,
``symmetric`` and ``circular`` padding <= size (``padding_limit``).  Wider
borders are the caller's to extend first (``extend_indices`` computes any
width, as SciPy does).  The compiled engine has the same rules in C
(``stage.pyx``, ``map_index``); the tests check the two agree.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._typing import PaddingMode

__all__ = [
    "NUMPY_PAD_MODES",
    "PADDING_MODES",
    "extend_indices",
    "padding_limit",
    "source_index",
]

#: padding_mode values, in the order of their integer codes in the engine.
PADDING_MODES = ("zeros", "reflect", "replicate", "circular", "symmetric", "constant")

#: The numpy.pad name of each mode (``constant`` takes ``constant_values``).
NUMPY_PAD_MODES = {"zeros": "constant", "constant": "constant", "reflect": "reflect",
                   "symmetric": "symmetric", "replicate": "edge", "circular": "wrap"}


def padding_limit(mode: PaddingMode, size: int) -> int | None:
    """The widest padding (per side) the engine's ``mode`` takes for an axis of ``size``."""
    if mode == "reflect":
        return size - 1
    if mode in ("symmetric", "circular"):
        return size
    return None   # zeros, constant, replicate: any width


def source_index(index: int, size: int, mode: PaddingMode) -> int | None:
    """The input sample a padded coordinate reads (None: the fill value).

    ``index`` is relative to the first sample; within one reflection of the
    edges (see ``padding_limit``).
    """
    if 0 <= index < size:
        return index
    if mode in ("zeros", "constant"):
        return None
    if mode == "replicate":
        return min(max(index, 0), size - 1)
    if mode == "circular":
        return index % size
    if mode == "symmetric":
        return -index - 1 if index < 0 else 2 * size - 1 - index
    return -index if index < 0 else 2 * (size - 1) - index   # reflect


def extend_indices(positions: npt.ArrayLike, size: int, mode: PaddingMode) -> npt.NDArray[np.int64]:
    """Vectorised ``source_index`` of any width (periodic extension), -1 for the fill.

    ``reflect`` and ``symmetric`` repeat with period ``2 * size - 2`` and
    ``2 * size``, ``circular`` with ``size``; SciPy's ``boundary="symm"`` is
    ``symmetric``.
    """
    indices = np.asarray(positions, dtype=np.int64)
    if mode in ("zeros", "constant"):
        return np.where((indices >= 0) & (indices < size), indices, -1)
    if mode == "replicate":
        return np.clip(indices, 0, size - 1)
    if mode == "circular":
        return np.mod(indices, size)
    if mode == "symmetric":
        folded = np.mod(indices, 2 * size)
        return np.where(folded >= size, 2 * size - 1 - folded, folded)
    if size == 1:   # reflect of one sample: the sample itself
        return np.zeros_like(indices)
    folded = np.mod(indices, 2 * size - 2)
    return np.where(folded >= size, 2 * size - 2 - folded, folded)
