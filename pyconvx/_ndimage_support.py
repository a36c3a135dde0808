"""Arguments of :mod:`pyconvx.ndimage`, read the way ``scipy.ndimage`` reads them.

Each rule lives here once: the border names and what they mean to the engine,
per-axis sequences, ``axes``, ``origin``, ``output`` (an array or a dtype),
the dtype that computes, and the C cast by which ``scipy.ndimage`` stores a
float result in an integer output.  Where ``scipy.ndimage`` raises
``RuntimeError`` for a bad argument, the errors raised here derive from both
the Python exception pyconvx raises elsewhere (``ValueError`` or
``TypeError``) and ``RuntimeError``, and their messages contain SciPy's
text, so code written for either library keeps working.  Nothing here touches
array data except :func:`store`, which casts a finished result.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "MODES",
    "NdimageTypeError",
    "NdimageValueError",
    "check_axes",
    "check_origin",
    "compute_dtype",
    "expand_to_rank",
    "input_array",
    "is_integral",
    "normalize_sequence",
    "output_spec",
    "padding_mode",
    "store",
]


class NdimageValueError(ValueError, RuntimeError):
    """A bad argument: ``ValueError`` for pyconvx, ``RuntimeError`` as in ``scipy.ndimage``."""


class NdimageTypeError(TypeError, RuntimeError):
    """An unsupported dtype: ``TypeError`` for pyconvx, ``RuntimeError`` as in ``scipy.ndimage``."""


#: scipy.ndimage border names -> pyconvx padding_mode.  In a filter the
#: "grid-" names mean the same as their plain partners.
MODES = {
    "reflect": "symmetric",
    "grid-mirror": "symmetric",
    "mirror": "reflect",
    "nearest": "replicate",
    "wrap": "circular",
    "grid-wrap": "circular",
    "constant": "constant",
    "grid-constant": "constant",
}

_Entry = TypeVar("_Entry")

#: dtype kinds scipy.ndimage filters (bool, integers, floats, complex).
_SUPPORTED = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
              "float32", "float64", "complex64", "complex128")


def padding_mode(mode: object) -> str:
    """The pyconvx ``padding_mode`` of a ``scipy.ndimage`` border name."""
    if not isinstance(mode, str) or mode not in MODES:
        raise NdimageValueError(
            f"boundary mode not supported: mode must be one of {', '.join(map(repr, MODES))}; "
            f"got {mode!r}")
    return MODES[mode]


def normalize_sequence(value: Any, rank: int, name: str) -> list[Any]:
    """``value`` repeated ``rank`` times, or its entries if it is a sequence of ``rank``."""
    if not isinstance(value, str) and np.iterable(value):
        entries = list(value)
        if len(entries) != rank:
            raise NdimageValueError(
                f"sequence argument must have length equal to input rank: {name} has "
                f"{len(entries)} entries for {rank} filtered axes")
        return entries
    return [value] * rank


def check_axes(axes: object, ndim: int) -> tuple[int, ...]:
    """The filtered axes as a tuple of non-negative ints (all axes for None)."""
    if axes is None:
        return tuple(range(ndim))
    listed: tuple[int, ...]
    if np.isscalar(axes):
        listed = (operator.index(axes),)  # type: ignore[arg-type]  # a scalar: index() decides
    elif isinstance(axes, Iterable):
        listed = tuple(operator.index(axis) for axis in axes)
    else:
        raise ValueError("axes must be an integer, iterable of integers, or None; "
                         f"got {type(axes).__name__} {axes!r}")
    for axis in listed:
        if not -ndim <= axis < ndim:
            raise ValueError(f"specified axis: {axis} is out of range for an input of "
                             f"{ndim} dimensions")
    listed = tuple(axis % ndim for axis in listed)
    if len(set(listed)) != len(listed):
        raise ValueError(f"axes must be unique, got {listed}")
    return listed


def expand_to_rank(values: Iterable[_Entry], axes: Sequence[int], ndim: int,
                   fill: _Entry) -> list[_Entry]:
    """Per-axis ``values`` of the filtered ``axes`` spread over all ``ndim`` axes."""
    full = [fill] * ndim
    for axis, value in zip(axes, values):
        full[axis] = value
    return full


def check_origin(origin: object, size: int, name: str = "origin") -> int:
    """``origin`` as an int in the range that keeps the kernel over its pixel."""
    if isinstance(origin, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, got bool {origin!r}")
    try:
        shift = operator.index(origin)  # type: ignore[arg-type]  # index() decides
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(origin).__name__} {origin!r}") from None
    if not -(size // 2) <= shift <= (size - 1) // 2:
        raise ValueError(
            f"Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= origin[k] <= "
            f"(weights.shape[k]-1) // 2: got {name}={shift} for a kernel of size {size}")
    return shift


def _check_dtype(dtype: np.dtype[Any], what: str) -> None:
    if dtype.name not in _SUPPORTED:
        raise NdimageTypeError(
            f"array type not supported: {what} has dtype {dtype}; supported are bool, "
            "integers, float32, float64, complex64 and complex128")


def input_array(value: npt.ArrayLike) -> npt.NDArray[Any]:
    """``np.asarray(value)`` with a supported dtype, in native byte order."""
    array = np.asarray(value)
    _check_dtype(array.dtype, "input")
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def output_spec(output: object, shape: Sequence[int], input_dtype: np.dtype[Any],
                complex_output: bool = False) -> tuple[npt.NDArray[Any] | None, np.dtype[Any]]:
    """``(array or None, dtype)`` of the result for ``output`` (None, a dtype or an array).

    A given array must have ``shape``; the result of a complex computation must
    be complex: a real dtype is promoted with a warning (as SciPy does), a
    real array is refused.
    """
    if output is None:
        dtype = np.dtype(input_dtype.name)
        if complex_output:
            dtype = np.promote_types(dtype, np.complex64)
        return None, dtype
    if isinstance(output, (type, np.dtype, str)):
        try:
            dtype = np.dtype(output)
        except TypeError:
            raise NdimageTypeError(f"output must have numeric dtype, got {output!r}") from None
        if isinstance(output, str) and not issubclass(dtype.type, np.number):
            raise NdimageTypeError(f"output must have numeric dtype, got {output!r}")
        if complex_output and dtype.kind != "c":
            import warnings

            warnings.warn("promoting specified output dtype to complex", stacklevel=4)
            dtype = np.promote_types(dtype, np.complex64)
        _check_dtype(dtype, "output")
        return None, dtype
    if not isinstance(output, np.ndarray):
        raise TypeError(f"output must be None, a dtype or a numpy.ndarray, got "
                        f"{type(output).__name__}")
    if output.shape != tuple(shape):
        raise NdimageValueError(
            f"output shape not correct: expected {tuple(shape)}, got {output.shape}")
    if complex_output and output.dtype.kind != "c":
        raise NdimageValueError(
            f"output must have complex dtype for a complex result, got {output.dtype}")
    if not output.flags.writeable:
        raise ValueError("output must be writeable (got a read-only array)")
    _check_dtype(output.dtype, "output")
    return output, output.dtype


def compute_dtype(source_dtype: np.dtype[Any], out_dtype: np.dtype[Any]
                  ) -> np.dtype[np.float32] | np.dtype[np.float64]:
    """The dtype a pass computes in: float32 when it reads and writes float32 data.

    float32 (complex64) data stored as float32 (complex64) stays in float32;
    everything else computes in float64, as SciPy does for every dtype.
    """
    single = (np.dtype(np.float32), np.dtype(np.complex64))
    if source_dtype in single and out_dtype in single:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _convert(values: npt.NDArray[np.float64], bits: int) -> npt.NDArray[np.signedinteger[Any]]:
    """x86-64's truncating conversion of doubles to a signed integer of ``bits``.

    Values outside the integer's range, and NaN, give its most negative value.
    """
    limit = 2.0 ** (bits - 1)
    inside = (values >= -limit) & (values < limit)
    itype = np.int64 if bits == 64 else np.int32
    with np.errstate(invalid="ignore"):
        converted = np.trunc(np.where(inside, values, 0.0)).astype(itype)
    return np.where(inside, converted, itype(np.iinfo(itype).min))


def store(values: npt.NDArray[Any], dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """``values`` (a float result) as ``dtype``, cast as ``scipy.ndimage``'s C code casts.

    Floats are rounded to the nearest.  Integers are truncated toward zero
    and, out of range, follow the C conversion of an x86-64 build of SciPy:
    int64 and int32 convert directly (out of range: their most negative
    value); uint32 is the low half of the int64 conversion; 8- and 16-bit
    types (and bool, an unsigned byte then nonzero) the low bits of the int32
    conversion; uint64 converts values from 2**63 up by an offset.  So -10
    becomes 246 in uint8, as in SciPy.
    """
    target = np.dtype(dtype)
    if values.dtype == target:
        return values
    if target.kind not in "biu":
        return values.astype(target)
    if target == np.int64:
        return _convert(values, 64)
    if target == np.uint64:
        high = values >= 2.0**63
        result = _convert(np.where(high, values - 2.0**63, values), 64).view(np.uint64)
        result[high] ^= np.uint64(2**63)
        return result
    if target == np.int32:
        return _convert(values, 32)
    if target == np.uint32:
        return _convert(values, 64).astype(np.uint32)
    if target.kind == "b":
        nonzero: npt.NDArray[np.bool_] = _convert(values, 32).astype(np.uint8) != 0
        return nonzero
    return _convert(values, 32).astype(target)


def is_integral(value: object) -> bool:
    """Whether ``value`` is an integer (a Python or NumPy int, not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
