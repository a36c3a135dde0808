"""Replaying one case: what a reproducer script and the crash minimiser run.

``replay_main(target, case)`` prints the call, checks the case in this
process and returns 0 when it passes, 1 when it still shows a finding (a
crash kills the process, as it killed the worker).
"""

import sys

from . import engine, registry


def replay_main(target_name, case, *, quiet=False):
    target = registry.get(target_name)
    if not quiet:
        print(f"target: {target_name}")
        if target.describe is not None:
            print(f"call:   {target.describe(case)}")
        sys.stdout.flush()
    finding = engine.check_case(target, case)
    if finding is None:
        if not quiet:
            print("passes: the finding no longer reproduces")
        return 0
    print(f"finding: {finding.kind} [{finding.key}]: {finding.message}")
    return 1
