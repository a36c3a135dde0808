"""Read a saved run of the speed table (``python bench/run_table.py --json FILE``).

The one reader of the saved run: the performance page and the speed-chart
example both use it, so a change of the harness's JSON format is handled
here.  The run is a list of records; a workload record has ``pyconvx_ms`` and
``peer_ms``, an extra measurement has ``value`` and ``unit``.
"""

import json
from dataclasses import dataclass
from pathlib import Path

#: The saved run shown in the docs.
DEFAULT_RUN = Path(__file__).resolve().parent.parent / "_data" / "bench_run.json"


@dataclass(frozen=True)
class Workload:
    """One row of the speed table: pyconvx and one peer on the same problem."""

    name: str
    dtype: str
    threads: int
    peer: str
    pyconvx_ms: float
    peer_ms: float
    path: str
    notes: tuple

    @property
    def ratio(self):
        """pyconvx time / peer time (below 1: pyconvx is faster)."""
        return self.pyconvx_ms / self.peer_ms


@dataclass(frozen=True)
class Extra:
    """A measurement that is not a ratio against a peer (scaling, memory...)."""

    name: str
    value: float
    unit: str
    notes: tuple


def load(path=DEFAULT_RUN):
    """The workloads and the extra measurements of a saved run, in run order."""
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    workloads, extras = [], []
    for record in records:
        notes = tuple(record.get("notes") or ())
        if "pyconvx_ms" in record:
            workloads.append(Workload(
                name=record["name"], dtype=record["dtype"], threads=int(record["threads"]),
                peer=record["peer"], pyconvx_ms=float(record["pyconvx_ms"]),
                peer_ms=float(record["peer_ms"]), path=record.get("path", ""), notes=notes))
        elif "value" in record:
            extras.append(Extra(name=record["name"], value=float(record["value"]),
                                unit=record.get("unit", ""), notes=notes))
        else:
            raise ValueError(f"{path}: a record with neither 'pyconvx_ms' nor 'value': {record}")
    if not workloads:
        raise ValueError(f"{path}: no workload records")
    return workloads, extras
