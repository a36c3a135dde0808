"""Type stubs of the engine's plan contract (see contract.pyx)."""

import enum
from typing import Any

import numpy as np
from typing_extensions import disjoint_base

class Kind(enum.IntEnum):
    GEMM = 0
    ROW = 1
    ROWBLOCK = 2
    WINOGRAD = 3
    DEPTHWISE = 4
    CGEMM = 5

class PaddingMode(enum.IntEnum):
    ZEROS = 0
    REFLECT = 1
    REPLICATE = 2
    CIRCULAR = 3
    SYMMETRIC = 4
    CONSTANT = 5

class SimdLevel(enum.IntEnum):
    GENERIC = 0
    AVX2 = 1
    AVX512 = 2

SCALAR_FIELDS: tuple[str, ...]
TABLE_FIELDS: tuple[str, ...]
SCRATCH_BYTE_FIELDS: tuple[str, ...]
SCRATCH_INDEX_FIELDS: tuple[str, ...]
FIELDS: frozenset[str]
SCRATCH_ALIGN: int

def ukernel_set_tiles(level: int) -> dict[str, Any] | None: ...

@disjoint_base
class DirectPlan:
    dtype: np.dtype[Any]
    fields: dict[str, Any]
    def __init__(self, fields: dict[str, Any]) -> None: ...
