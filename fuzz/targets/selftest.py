"""Targets ``selftest.*``: the harness's own checks, never part of a default run.

They misbehave on purpose, on cases with ``n >= 3``: ``selftest.crash``
dereferences a NULL pointer (SIGSEGV), ``selftest.hang`` sleeps past any
case timeout, ``selftest.finding`` raises a Finding.  The smoke test runs
them to show that the pool reports a crash or a hang with its case and goes
on, and that hypothesis shrinks a finding to its minimal case (``n == 3``).
"""

import ctypes
import time

from hypothesis import strategies as st

from ..checks import Finding
from ..registry import Target, register


def _cases():
    return st.fixed_dictionaries({"n": st.integers(0, 50)})


def _crash(case):
    if case["n"] >= 3:
        ctypes.string_at(0)  # reads address 0: SIGSEGV


def _hang(case):
    if case["n"] >= 3:
        time.sleep(3600)


def _finding(case):
    if case["n"] >= 3:
        raise Finding("selftest", f"n = {case['n']} >= 3", "n>=3")


for _name, _check in (("crash", _crash), ("hang", _hang), ("finding", _finding)):
    register(Target(name=f"selftest.{_name}", strategy=_cases, check=_check, default=False,
                    describe=lambda case, n=_name: f"selftest.{n}(n={case['n']})"))
