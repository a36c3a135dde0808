"""The registry of fuzz targets.

A target is one public function (or one family of calls): a hypothesis
strategy that draws a case, and a ``check(case)`` that runs pyconvx on it,
computes the reference and raises :class:`fuzz.checks.Finding` on any
disagreement.  Each module of ``fuzz/targets`` registers the targets of one
family when imported; ``load()`` imports them all, so a new family (a new
module) plugs in with no other change.
"""

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass, field

from . import targets as _targets_package

_REGISTRY = {}


@dataclass(frozen=True)
class Target:
    """One fuzz target (see the module docstring).

    Attributes
    ----------
    name : str
        Unique name, used on the command line and in findings.
    strategy : callable
        No-argument callable returning the hypothesis strategy of cases
        (built lazily: strategies may depend on what is installed).
    check : callable
        ``check(case)``: raises Finding on a disagreement, returns None.
    functions : tuple of str
        The public functions the target calls.
    requires : tuple of str
        Optional modules the oracle needs (the target is skipped without them).
    weight : int
        Relative share of the cases of a run or campaign.
    default : bool
        Whether plain runs include it (the harness self-checks do not).
    describe : callable
        ``describe(case)``: one line naming the call, for reports.
    """

    name: str
    strategy: object
    check: object
    functions: tuple = ()
    requires: tuple = ()
    weight: int = 1
    default: bool = True
    describe: object = field(default=None, compare=False)

    def missing(self):
        """Names of required modules that cannot be imported here."""
        return tuple(m for m in self.requires if importlib.util.find_spec(m) is None)


def register(target):
    """Add ``target`` to the registry (a name may be registered once)."""
    if target.name in _REGISTRY:
        raise ValueError(f"fuzz target {target.name!r} is registered twice")
    _REGISTRY[target.name] = target
    return target


def load():
    """Import every module of ``fuzz.targets``; return the registry (name -> Target)."""
    for module in pkgutil.iter_modules(_targets_package.__path__):
        importlib.import_module(f"{_targets_package.__name__}.{module.name}")
    return dict(_REGISTRY)


def get(name):
    return load()[name]


def select(names=None, *, include_self_checks=False):
    """Targets named in ``names`` (all defaults when None), in registry order.

    A name may be a target or a family (the module name: ``conv`` selects
    every target registered by ``fuzz/targets/conv.py``).
    """
    registry = load()
    if not names:
        return [t for t in registry.values() if t.default or include_self_checks]
    chosen = []
    for name in names:
        matches = [t for t in registry.values()
                   if t.name == name or t.name.split(".")[0] == name]
        if not matches:
            raise KeyError(f"no fuzz target or family {name!r}; known: {', '.join(registry)}")
        chosen += [t for t in matches if t not in chosen]
    return chosen
