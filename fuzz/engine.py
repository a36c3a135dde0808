"""Running one target for a number of cases under hypothesis, in this process.

``run_target`` draws cases from the target's strategy, checks each, and
returns what it found.  A finding is identified by its *signature*
``target|kind|key``.  Signatures in ``known`` are counted and not shrunk
(they already have a minimal reproducer); the first new signature of a run
is shrunk by hypothesis to a minimal case, and other new signatures met
during that run are kept as they were first seen (a later run shrinks them).

Hypothesis draws the cases in batches of ``BATCH``: one hypothesis example
is a list of cases, checked in order.  Most of a case's time went to
hypothesis's own work per example (its engine, the random state it saves
and restores around each example), which a batch shares.  A case repeated
within a batch is checked once (hypothesis's first example is the simplest
case, repeated: one example more makes up for it).  While a finding
shrinks, the cases after the one that shows it are not run, and hypothesis
simplifies the ones before it to the simplest cases there are.
"""

import time
import traceback
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from . import checks, values

#: Cases per hypothesis example (see the module docstring).
BATCH = 10


@dataclass
class FoundCase:
    """One finding: its signature's parts, the message and the case that shows it."""

    target: str
    kind: str
    key: str
    message: str
    case: object
    minimized: bool

    @property
    def signature(self):
        return f"{self.target}|{self.kind}|{self.key}"

    def as_dict(self):
        return {"target": self.target, "kind": self.kind, "key": self.key,
                "message": self.message, "case": values.dumps(self.case),
                "minimized": self.minimized}

    @classmethod
    def from_dict(cls, data):
        return cls(data["target"], data["kind"], data["key"], data["message"],
                   values.loads(data["case"]), data["minimized"])


@dataclass
class RunResult:
    """What a run of one target did: cases checked, findings, counts, bound ratios."""

    target: str
    cases: int = 0
    seconds: float = 0.0
    findings: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    worst_ratio: dict = field(default_factory=dict)

    def as_dict(self):
        return {"target": self.target, "cases": self.cases, "seconds": self.seconds,
                "findings": [f.as_dict() for f in self.findings], "counts": self.counts,
                "worst_ratio": self.worst_ratio}

    @classmethod
    def from_dict(cls, data):
        return cls(data["target"], data["cases"], data["seconds"],
                   [FoundCase.from_dict(f) for f in data["findings"]], data["counts"],
                   data["worst_ratio"])


def check_case(target, case):
    """Run ``target.check(case)``; return a Finding or None.

    An exception that is not a Finding escaped the target's own handling (a
    call outside ``checks.call``, or a fault in the reference): it is reported
    as kind 'uncaught' with the place it came from.
    """
    try:
        target.check(case)
    except checks.Finding as finding:
        return finding
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}"
        return checks.Finding("uncaught", f"{type(exc).__name__} at {where}: {str(exc)[:300]}",
                              f"{type(exc).__name__}@{where}")
    return None


class _Hunted(Exception):
    """Raised inside the hypothesis test for the signature being shrunk."""

    def __init__(self, found):
        super().__init__(found.message)
        self.found = found


def run_target(target, *, examples, random_seed=0, known=frozenset(), on_case=None,
               shrink=True, quiet=False):
    """Check ``examples`` cases of ``target`` drawn with ``random_seed``; return a RunResult.

    ``on_case(case)`` is called before each case runs (the worker records it,
    so that a crash can be reported with its case).  ``quiet`` silences
    hypothesis's own report of the failing example.
    """
    result = RunResult(target.name)
    hunting = {}
    first_seen = {}
    checks.WORST_RATIO.clear()
    start = time.perf_counter()

    def check(case):
        result.cases += 1
        if on_case is not None:
            on_case(case)
        finding = check_case(target, case)
        if finding is None:
            return
        found = FoundCase(target.name, finding.kind, finding.key, finding.message, case, False)
        signature = found.signature
        result.counts[signature] = result.counts.get(signature, 0) + 1
        if signature in known:
            return
        first_seen.setdefault(signature, found)
        if shrink and hunting.setdefault("signature", signature) == signature:
            raise _Hunted(found)

    def body(cases):
        checked = set()
        for case in cases:
            text = values.dumps(case)
            if text not in checked:  # the same case twice in a batch gives the same result
                checked.add(text)
                check(case)

    batch = max(1, min(BATCH, examples))
    # one example more than the batches: the first is the simplest case, repeated
    examples_wanted = -(-examples // batch) + (batch > 1)
    test = settings(
        database=None, max_examples=examples_wanted, deadline=None, derandomize=False,
        suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
        phases=(Phase.generate, Phase.shrink) if shrink else (Phase.generate,),
        print_blob=False, verbosity=Verbosity.quiet if quiet else Verbosity.normal,
    )(seed(random_seed)(given(st.lists(target.strategy(), min_size=batch,
                                       max_size=batch))(body)))
    try:
        test()
    except _Hunted as hunted:
        hunted.found.minimized = True
        first_seen[hunted.found.signature] = hunted.found
    except Flaky as exc:  # a failure that did not repeat: keep the case as first seen
        signature = hunting.get("signature")
        if signature in first_seen:
            first_seen[signature].message += (
                f" (not reproducible on a re-run: {type(exc).__name__})")
    result.findings = list(first_seen.values())
    result.seconds = time.perf_counter() - start
    result.worst_ratio = {f"{target.name}|{k}": v for k, v in checks.WORST_RATIO.items()}
    return result
