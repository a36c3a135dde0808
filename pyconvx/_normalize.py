"""Canonical form of every argument a convolution accepts.

Each accepted spelling of a parameter (an int, a tuple, ``(low, high)`` pairs,
``"same"``, a dtype, a thread count) is turned into one canonical value here,
and every error a user can trigger with a wrong value is raised here, so that
conv, output_shape, the layers, plan and the scipy-style entry points share one
rule each.  Nothing in this module touches array data.
"""

from __future__ import annotations

import functools
import math
import operator
import os
from collections.abc import Collection, Iterable, Sequence
from types import ModuleType
from typing import Any, Literal, SupportsInt, TypeVar, overload

import numpy as np
import numpy.typing as npt

from ._boundary import PADDING_MODES
from ._engine import cpu
from ._typing import IntArg

resource: ModuleType | None
try:
    import resource
except ImportError:  # not POSIX
    resource = None

__all__ = [
    "PADDING_MODES",
    "PADDING_STRINGS",
    "as_array",
    "as_int",
    "as_int_tuple",
    "as_padding_value",
    "cap_threads",
    "check_choice",
    "check_size",
    "compute_array",
    "format_bytes",
    "normalize_padding",
    "padding_mode_code",
    "resolve_threads",
    "result_dtype",
]


#: The padding strings accepted besides explicit sizes.
PADDING_STRINGS = ("valid", "same", "full")

SUPPORTED_DTYPES = (
    "float32 or float64 (integer and bool inputs are computed in float64)"
)

#: Every size and index handled by the core is an int64; we keep all of them,
#: and the products of them that the core forms, below this bound.
SIZE_LIMIT = 2**62

#: The type of a checked choice: the value is returned as given.
_Choice = TypeVar("_Choice")


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def as_int(value: object, name: str) -> int:
    """Return ``value`` as a Python int, refusing bools, floats and None.

    NumPy integer scalars are accepted.  Raises TypeError naming ``name``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, got bool {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]  # index() decides
    except TypeError:
        raise TypeError(f"{name} must be an int, got {_describe(value)}") from None


@overload
def as_int_tuple(value: object, name: str, ndim: Literal[1], minimum: int) -> tuple[int]: ...


@overload
def as_int_tuple(value: object, name: str, ndim: Literal[2], minimum: int) -> tuple[int, int]: ...


@overload
def as_int_tuple(value: object, name: str, ndim: Literal[3], minimum: int
                 ) -> tuple[int, int, int]: ...


@overload
def as_int_tuple(value: object, name: str, ndim: int, minimum: int) -> tuple[int, ...]: ...


def as_int_tuple(value: object, name: str, ndim: int, minimum: int) -> tuple[int, ...]:
    """Return ``value`` (an int or a sequence of ``ndim`` ints) as a tuple.

    Each entry must be an int ``>= minimum``.  A wrong length, an empty tuple
    or a value below ``minimum`` is a ValueError; a wrong type a TypeError.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(
            f"{name} must be an int or a tuple of {ndim} ints, got {_describe(value)}"
        )
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (tuple, list, np.ndarray)):
        items = list(value)
        if len(items) != ndim:
            raise ValueError(
                f"{name} must be an int or a tuple of {ndim} ints (one per spatial "
                f"dim), got {len(items)} entries: {value!r}"
            )
        result = tuple(as_int(item, name) for item in items)
    else:
        result = (as_int(value, name),) * ndim
    for item in result:
        if item < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
        if item >= SIZE_LIMIT:
            raise ValueError(f"{name} is too large ({item} >= 2**62): got {value!r}")
    return result


def _as_pad_pair(entry: object, padding: object) -> tuple[int, int]:
    if isinstance(entry, (tuple, list, np.ndarray)):
        if len(entry) != 2:
            raise ValueError(
                "padding entries must be an int or a (low, high) pair, got "
                f"{entry!r} in padding={padding!r}"
            )
        low, high = (as_int(side, "padding") for side in entry)
    else:
        low = high = as_int(entry, "padding")
    if low < 0 or high < 0:
        raise ValueError(f"padding must be >= 0 on every side, got padding={padding!r}")
    if max(low, high) >= SIZE_LIMIT:
        raise ValueError(f"padding is too large (>= 2**62): got padding={padding!r}")
    return (low, high)


@overload
def normalize_padding(padding: object, kernel: tuple[int], stride: Sequence[int],
                      dilation: Sequence[int], in_spatial: Sequence[int]
                      ) -> tuple[tuple[int, int]]: ...


@overload
def normalize_padding(padding: object, kernel: tuple[int, int], stride: Sequence[int],
                      dilation: Sequence[int], in_spatial: Sequence[int]
                      ) -> tuple[tuple[int, int], tuple[int, int]]: ...


@overload
def normalize_padding(padding: object, kernel: tuple[int, int, int], stride: Sequence[int],
                      dilation: Sequence[int], in_spatial: Sequence[int]
                      ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]: ...


@overload
def normalize_padding(padding: object, kernel: Sequence[int], stride: Sequence[int],
                      dilation: Sequence[int], in_spatial: Sequence[int]
                      ) -> tuple[tuple[int, int], ...]: ...


def normalize_padding(padding: object, kernel: Sequence[int], stride: Sequence[int],
                      dilation: Sequence[int], in_spatial: Sequence[int]
                      ) -> tuple[tuple[int, int], ...]:
    """Return padding as one ``(low, high)`` pair per spatial dim.

    Accepted spellings: an int; one int per dim; one ``(low, high)`` pair per
    dim (entries may mix ints and pairs); ``"valid"`` (no padding); ``"same"``
    (output size ``ceil(size / stride)``, the odd extra on the high side as in
    TensorFlow); ``"full"`` (``dilation * (k - 1)`` on both sides).

    ``kernel``, ``stride`` and ``dilation`` are canonical tuples; ``in_spatial``
    gives the input sizes, needed only by ``"same"``.
    """
    ndim = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * ndim
        if padding == "full":
            return tuple((d * (k - 1),) * 2 for k, d in zip(kernel, dilation))
        if padding == "same":
            pads: list[tuple[int, int]] = []
            for size, k, s, d in zip(in_spatial, kernel, stride, dilation):
                wanted_out = -(-size // s)
                total = max((wanted_out - 1) * s + d * (k - 1) + 1 - size, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(
            f"padding must be an int, a tuple, or one of {', '.join(map(repr, PADDING_STRINGS))};"
            f" got {padding!r}"
        )
    if isinstance(padding, np.ndarray) and padding.ndim == 0:
        padding = padding[()]
    if padding is None or isinstance(padding, bytes):
        raise TypeError(
            "padding must be an int, a tuple of ints or (low, high) pairs, or one of "
            f"{', '.join(map(repr, PADDING_STRINGS))}; got {_describe(padding)}"
        )
    if isinstance(padding, (tuple, list, np.ndarray)):
        entries = list(padding)
        if len(entries) != ndim:
            hint = ""
            if ndim == 1 and len(entries) == 2:
                hint = f"; for an asymmetric 1-d padding write (({entries[0]!r}, {entries[1]!r}),)"
            raise ValueError(
                f"padding must have {ndim} entries (one int or (low, high) pair per "
                f"spatial dim), got {len(entries)}: {padding!r}{hint}"
            )
        return tuple(_as_pad_pair(entry, padding) for entry in entries)
    return (_as_pad_pair(padding, padding),) * ndim


def check_choice(value: _Choice, name: str, choices: Collection[str]) -> _Choice:
    """Return ``value`` if it is one of the strings ``choices``.

    A non-string is a TypeError, an unknown string a ValueError; both list the
    valid values and name ``name``.
    """
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be one of {', '.join(map(repr, choices))}; "
            f"got {type(value).__name__} {value!r}"
        )
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def padding_mode_code(padding_mode: object) -> int:
    """Return the engine's integer code for ``padding_mode`` (see ``_boundary``)."""
    return PADDING_MODES.index(check_choice(padding_mode, "padding_mode", PADDING_MODES))


def as_padding_value(value: object, padding_mode: str) -> float:
    """``padding_value`` as a float: any real number with ``padding_mode="constant"``.

    With another mode only 0 is accepted (the border holds what the mode says).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"padding_value must be a real number, got {_describe(value)}")
    value = float(value)
    if value != 0.0 and padding_mode != "constant":
        raise ValueError(f"padding_value={value!r} is used only with padding_mode='constant' "
                         f"(got padding_mode={padding_mode!r})")
    return value


def _native(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """The dtype in native byte order (byte-swapped data is converted, not refused)."""
    return dtype.newbyteorder("=") if dtype.byteorder not in "=|" else dtype


def _check_dtype(dtype: np.dtype[Any], name: str) -> None:
    kind = dtype.kind
    if kind in "biu" or _native(dtype) in (np.float32, np.float64):
        return
    raise TypeError(f"{name} has dtype {dtype}; supported dtypes are {SUPPORTED_DTYPES}")


def result_dtype(*dtypes_and_names: tuple[npt.DTypeLike, str]) -> np.dtype[Any]:
    """The dtype rule: the dtype a computation on these inputs produces.

    Arguments are ``(dtype, name)`` pairs.  float32 with float32 stays
    float32; any float64 makes float64; integer and bool inputs compute in
    float64 (float32 with an integer input is float64 as well, so no integer
    is silently rounded to 24 bits).  float16, complex, object, string and
    other dtypes raise TypeError naming the supported ones.
    """
    for dtype, name in dtypes_and_names:
        _check_dtype(np.dtype(dtype), name)
    if all(_native(np.dtype(dtype)) == np.float32 for dtype, _ in dtypes_and_names):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_array(value: object, name: str) -> npt.NDArray[Any]:
    """``np.asarray(value)`` with a TypeError naming ``name`` on failure.

    The dtype is checked (not converted) with the rule of ``result_dtype``.
    """
    if value is None:
        raise TypeError(f"{name} must be an array, got None")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array, got {_describe(value)}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None
    _check_dtype(array.dtype, name)
    return array


_FORKED_CHILD = False


def _mark_forked_child() -> None:
    global _FORKED_CHILD
    _FORKED_CHILD = True


# libgomp's thread pool does not survive fork(): a child that starts a parallel
# region after its parent used one can hang.  Children of a fork run serially.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked_child)


def default_threads() -> int:
    """The thread count of a call made with ``threads=None``.

    The engine's OpenMP runtime decides, as it does for every OpenMP library
    in the process: ``omp_get_max_threads()``, which is the usable cores by
    default, OMP_NUM_THREADS when that is set as the runtime loads, and what
    ``omp_set_num_threads`` made it for the calling thread (threadpoolctl's
    ``threadpool_limits`` does that).  A build without OpenMP reports
    OMP_NUM_THREADS when set to a positive int, else the usable cores (its
    calls run on one thread whatever the count).
    """
    count = cpu.omp_max_threads()
    if count is not None:
        return max(1, count)
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) >= 1:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve_threads(threads: IntArg | None) -> int:
    """The thread count of one call: ``None`` means ``default_threads()``.

    In a process forked from one that may have used OpenMP the answer is 1
    (results do not depend on the thread count, only the speed does).
    """
    if threads is None:
        count = default_threads()
    else:
        count = as_int(threads, "threads")
        if count < 1:
            raise ValueError(f"threads must be >= 1 or None, got {threads!r}")
    count = cap_threads(count)
    return 1 if _FORKED_CHILD else count


#: Thread counts up to this many are always honoured (their stacks fit any
#: address space Python itself runs in).
THREADS_ALWAYS_ALLOWED = 8

#: Above that, at most this many threads per usable core.  Results do not
#: depend on the count; threads beyond the cores only wait their turn, and
#: each one reserves a stack: thousands of them can exhaust a limited address
#: space, and the OpenMP runtime aborts the whole process when it cannot start
#: a thread.
THREADS_PER_CORE = 4

#: ... and at most as many as have their stacks in this share of a limited
#: address space (``ulimit -v``).
STACK_SHARE_OF_ADDRESS_SPACE = 1 / 16

#: A thread's stack when the stack limit is unlimited (glibc's default then).
DEFAULT_STACK_BYTES = 8 * 2**20


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _threads_the_address_space_allows() -> float:
    """How many thread stacks fit in STACK_SHARE_OF_ADDRESS_SPACE of RLIMIT_AS."""
    if resource is None:  # not POSIX
        return math.inf
    space: int = resource.getrlimit(resource.RLIMIT_AS)[0]
    if space == resource.RLIM_INFINITY:
        return math.inf
    stack: int = resource.getrlimit(resource.RLIMIT_STACK)[0]
    if stack == resource.RLIM_INFINITY or stack <= 0:
        stack = DEFAULT_STACK_BYTES
    return int(space * STACK_SHARE_OF_ADDRESS_SPACE) // stack


def cap_threads(count: int) -> int:
    """``count`` capped to what this machine can honour.

    Counts up to ``THREADS_ALWAYS_ALLOWED`` are kept; larger ones are capped
    at ``THREADS_PER_CORE`` threads per usable core and, under an
    address-space limit (``ulimit -v``), at as many threads as have their
    stacks in ``STACK_SHARE_OF_ADDRESS_SPACE`` of it (never below
    ``THREADS_ALWAYS_ALLOWED``).  Results do not depend on the thread count,
    so the cap changes only the speed, never the bits.
    """
    if count <= THREADS_ALWAYS_ALLOWED:
        return count
    honoured = min(THREADS_PER_CORE * _usable_cores(), _threads_the_address_space_allows())
    return int(min(count, max(THREADS_ALWAYS_ALLOWED, honoured)))  # inf is never the minimum


def compute_array(array: npt.NDArray[Any], dtype: npt.DTypeLike, *,
                  contiguous: bool = False) -> npt.NDArray[Any]:
    """``array`` as the engine reads it: ``dtype``, native byte order, aligned.

    No copy when it already is; otherwise a C-contiguous copy.  Without
    ``contiguous`` any layout (negative, zero or Fortran strides) is kept, as
    long as every stride is a whole number of elements.  A misaligned array is
    always copied: ``np.ascontiguousarray`` returns an already contiguous
    misaligned array unchanged, and the compiled code must never read one.
    """
    result = np.asarray(array, dtype=dtype)
    usable = (result.dtype.isnative and result.flags.aligned
              and all(s % result.itemsize == 0 for s in result.strides)
              and (result.flags.c_contiguous or not contiguous))
    return result if usable else np.array(result, dtype=dtype, order="C", copy=True)


def check_size(count: int, what: str) -> int:
    """Raise ValueError when a derived element count is too large for int64."""
    if count >= SIZE_LIMIT:
        raise ValueError(
            f"{what} has {count} elements, more than 64-bit arithmetic can index"
        )
    return count


def format_bytes(nbytes: int) -> str:
    """A byte count for people: "512 bytes", "3.9 MiB", "1.0 TiB" (binary units).

    >>> format_bytes(1100585369600)
    '1.0 TiB'
    """
    if nbytes < 1024:
        return f"{nbytes} bytes"
    value = float(nbytes)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        value /= 1024
        if value < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} ZiB"


@functools.cache
def physical_memory() -> int:
    """The machine's physical memory in bytes (2**48 where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX
        return 2**48


def check_memory(nbytes: int, what: str) -> int:
    """Raise MemoryError, before allocating, when ``nbytes`` cannot be had.

    The bound is the machine's physical memory: a request above it could only
    end in the process being killed once the pages are touched.
    """
    physical = physical_memory()
    if nbytes > physical:
        raise MemoryError(
            f"{what} needs {nbytes} bytes ({format_bytes(nbytes)}), more than this "
            f"machine's {physical} bytes ({format_bytes(physical)}) of memory"
        )
    return nbytes


def prod(values: Iterable[SupportsInt]) -> int:
    """Product of Python ints (exact, never overflows)."""
    return math.prod(int(v) for v in values)
