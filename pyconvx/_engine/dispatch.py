"""Which SIMD microkernel set a call uses.

At import the highest set that is compiled in and supported by this CPU is
chosen; the environment variable ``PYCONVX_SIMD`` (``generic``, ``avx2`` or
``avx512``) caps it, e.g. to run the whole suite on the portable kernels.
``forced_simd`` narrows it further for the calls of the current thread only
(used by the tests to cover every compiled set in one process).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

from . import contract, cpu

LEVEL_NAMES = ("generic", "avx2", "avx512")

_forced: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "pyconvx_forced_simd", default=None)


def compiled_levels() -> tuple[str, ...]:
    """Names of the microkernel sets compiled into this build."""
    return tuple(name for level, name in enumerate(LEVEL_NAMES)
                 if contract.ukernel_set_tiles(level) is not None)


def _detect() -> int:
    level = cpu.cpu_level()
    cap = os.environ.get("PYCONVX_SIMD", "").strip().lower()
    if cap:
        if cap not in LEVEL_NAMES:
            raise ImportError(
                f"PYCONVX_SIMD must be one of {', '.join(LEVEL_NAMES)}; got {cap!r}"
            )
        level = min(level, LEVEL_NAMES.index(cap))
    return level


_DEFAULT_LEVEL = _detect()


def available_levels() -> tuple[str, ...]:
    """Microkernel sets this process may use: compiled in, supported, under the cap."""
    return tuple(name for name in compiled_levels()
                 if LEVEL_NAMES.index(name) <= _DEFAULT_LEVEL)


def active_level() -> str:
    """Name of the microkernel set the calls of this thread use now."""
    return LEVEL_NAMES[level_code()]


def level_code() -> int:
    """Code of the microkernel set the calls of this thread use now (see LEVEL_NAMES)."""
    forced = _forced.get()
    return _DEFAULT_LEVEL if forced is None else forced


@contextlib.contextmanager
def forced_simd(name: str) -> Iterator[None]:
    """Make this thread's calls use microkernel set ``name`` (testing aid)."""
    if name not in available_levels():
        raise ValueError(f"SIMD level {name!r} is not available here; "
                         f"available: {', '.join(available_levels())}")
    token = _forced.set(LEVEL_NAMES.index(name))
    try:
        yield
    finally:
        _forced.reset(token)
