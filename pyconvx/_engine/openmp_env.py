"""How the engine's OpenMP runtime waits between parallel regions.

GNU OpenMP (libgomp) keeps a team's idle threads spinning after a parallel
region, 300000 iterations by default (milliseconds, longer under a
hypervisor), before they sleep.  In a process shared with other libraries
(PyTorch with its own OpenMP copy, NumPy's BLAS, OpenCV), those spinning
threads hold the cores the next library's threads need: on a 2-core machine
a small PyTorch convolution right after a pyconvx call took tens of
milliseconds instead of half of one.  libgomp offers no call to change its
wait policy once loaded; it reads GOMP_SPINCOUNT and OMP_WAIT_POLICY once,
when it loads.  So while the engine's first extension loads it, and only when
the user set neither variable, GOMP_SPINCOUNT holds ``SPIN_COUNT``; the
environment is restored right after (a process started later, or another
library's own OpenMP copy, sees the user's environment).  A runtime that was
already loaded (by another library linked against the same libgomp) keeps
its own setting, and ``spin_policy()`` says so.
"""

import contextlib
import ctypes
import os
from collections.abc import Iterator

__all__ = ["SPIN_COUNT", "bounded_spin_while_loading", "spin_policy"]

#: Spin iterations of an idle OpenMP thread before it sleeps: about ten
#: microseconds, enough for back-to-back parallel regions of one call, and
#: libgomp's own count for an oversubscribed machine (OMP_WAIT_POLICY=active).
SPIN_COUNT = 1000

#: The variables through which a user chooses the wait policy.
USER_SETTINGS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")

#: The runtime's shared object, as the engine's extensions name it.
RUNTIME_LIBRARY = "libgomp.so.1"

_policy = "not loaded yet"


def _runtime_loaded() -> bool:
    """Whether libgomp is already loaded in this process (Linux, glibc)."""
    mode = getattr(os, "RTLD_NOLOAD", None)
    if mode is None:
        return False
    try:
        ctypes.CDLL(RUNTIME_LIBRARY, mode=mode | os.RTLD_LAZY)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def bounded_spin_while_loading() -> Iterator[None]:
    """Load the engine's extensions inside this block (see the module's text)."""
    global _policy
    chosen = [name for name in USER_SETTINGS if name in os.environ]
    if chosen:
        _policy = "the environment's " + ", ".join(f"{n}={os.environ[n]}" for n in chosen)
        yield
        return
    if _runtime_loaded():
        _policy = "the runtime's own (it was loaded before pyconvx)"
        yield
        return
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        yield
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)
    if _runtime_loaded():
        _policy = f"GOMP_SPINCOUNT={SPIN_COUNT} (pyconvx's default while the runtime loaded)"
    else:
        _policy = f"no {RUNTIME_LIBRARY} loaded"


def spin_policy() -> str:
    """How the engine's idle OpenMP threads wait, in words (for show_config)."""
    return _policy
