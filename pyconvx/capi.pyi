"""Type stubs of pyconvx's C API module (see capi.pyx; the C functions are in capi.pxd)."""

from typing import Any

import numpy as np

__all__ = [
    "PARAMS_DTYPE",
    "PCX_CAPI_VERSION",
    "PCX_ERR_ARGUMENT",
    "PCX_ERR_INTERNAL",
    "PCX_ERR_INTERRUPTED",
    "PCX_ERR_NO_MEMORY",
    "PCX_MAX_SPATIAL_DIMS",
    "PCX_OK",
    "PCX_PAD_CIRCULAR",
    "PCX_PAD_CONSTANT",
    "PCX_PAD_REFLECT",
    "PCX_PAD_REPLICATE",
    "PCX_PAD_SYMMETRIC",
    "PCX_PAD_ZEROS",
    "default_params",
    "function_address",
    "get_include",
]
__pyx_capi__: dict[str, Any]

PARAMS_DTYPE: np.dtype[np.void]

PCX_CAPI_VERSION: int
PCX_MAX_SPATIAL_DIMS: int
PCX_OK: int
PCX_ERR_ARGUMENT: int
PCX_ERR_NO_MEMORY: int
PCX_ERR_INTERRUPTED: int
PCX_ERR_INTERNAL: int
PCX_PAD_ZEROS: int
PCX_PAD_REFLECT: int
PCX_PAD_REPLICATE: int
PCX_PAD_CIRCULAR: int
PCX_PAD_SYMMETRIC: int
PCX_PAD_CONSTANT: int

def get_include() -> str: ...
def function_address(name: str) -> int: ...
def default_params() -> np.ndarray[tuple[()], np.dtype[np.void]]: ...
