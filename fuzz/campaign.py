"""Bounded runs and long campaigns: jobs for the pool, checkpoints, progress, findings.

The work is cut into *jobs*: ``JOB_EXAMPLES`` cases of one target drawn
with one random seed.  Job ``k`` always has the same target and seed, so
a campaign can stop at any moment and resume from its checkpoint
(``campaign.json`` in the findings directory): it re-issues the jobs that
were running and goes on from the next one.  Targets take turns in
proportion to their weight.
"""

import json
import os
import tempfile
import time
from pathlib import Path

from .engine import RunResult
from .findings import minimize_crash
from .pool import Pool, worker_env

#: Cases per job (the checkpoint's granularity).
JOB_EXAMPLES = 50

#: Seconds between two progress lines.
PROGRESS_EVERY = 10.0


def schedule(targets):
    """Target names in turn order: each repeated by its weight."""
    return [t.name for t in targets for _ in range(t.weight)]


def job_seed(base_seed, job_id):
    return (base_seed * 1_000_003 + job_id * 7_919) % 2**32


class Campaign:
    """A run of ``total_cases`` cases (or ``budget_seconds``) over ``targets``.

    Parameters
    ----------
    targets : list of Target
    store : FindingStore
    total_cases : int or None
    budget_seconds : float or None
        Stop issuing jobs after this long (in-flight jobs finish).
    jobs : int
        Worker processes.
    base_seed : int
    state_path : Path or None
        Checkpoint file; None for a run that is not resumable.
    job_examples : int
    case_timeout : float
        A case running longer is reported as a hang.
    minimize : bool
        Replay new crashes in fresh processes to shrink them.
    log : callable
        Receives progress lines.
    """

    def __init__(self, targets, store, *, total_cases=None, budget_seconds=None, jobs=2,
                 base_seed=0, state_path=None, job_examples=JOB_EXAMPLES, case_timeout=30.0,
                 minimize=True, log=print, workdir=None):
        self.targets = {t.name: t for t in targets}
        self.turns = schedule(targets)
        self.store = store
        self.total_cases = total_cases
        self.budget_seconds = budget_seconds
        self.jobs = jobs
        self.job_examples = job_examples
        self.case_timeout = case_timeout
        self.minimize = minimize
        self.log = log
        self.state_path = Path(state_path) if state_path else None
        self.workdir = workdir
        self.env = worker_env()
        self.state = {"seed": base_seed, "targets": sorted(self.targets), "cases": 0,
                      "next_job": 0, "pending": [], "per_target": {}, "findings": {},
                      "crashes": 0, "seconds": 0.0, "worst_ratio": {}}
        if self.state_path and self.state_path.exists():
            saved = json.loads(self.state_path.read_text())
            if saved["targets"] != self.state["targets"] or saved["seed"] != base_seed:
                raise ValueError(
                    f"{self.state_path} is a campaign over other targets or another seed; "
                    "pass --fresh to start a new one")
            self.state.update(saved)
        self.redo = list(self.state["pending"])
        self.in_flight = set()
        self.run_cases = 0
        self.run_findings = {}

    # --------------------------------------------------------------- jobs
    def _out_of_budget(self):
        elapsed = time.monotonic() - self.started
        if self.budget_seconds is not None and elapsed > self.budget_seconds:
            return True
        if self.total_cases is None:
            return False
        issued = self.state["cases"] + len(self.in_flight) * self.job_examples
        return issued >= self.total_cases

    def next_job(self):
        if self._out_of_budget():
            return None
        if self.redo:
            job_id = self.redo.pop(0)
        else:
            job_id = self.state["next_job"]
            self.state["next_job"] += 1
        self.in_flight.add(job_id)
        target = self.turns[job_id % len(self.turns)]
        return {"id": job_id, "target": target, "seed": job_seed(self.state["seed"], job_id),
                "examples": self.job_examples, "known": sorted(self.store.minimized()),
                "shrink": True}

    def _finish_job(self, job_id, target, cases):
        self.in_flight.discard(job_id)
        self.state["cases"] += cases
        self.run_cases += cases
        per_target = self.state["per_target"]
        per_target[target] = per_target.get(target, 0) + cases
        self._checkpoint()

    # --------------------------------------------------------------- results
    def _record(self, target, kind, key, message, case, minimized, count=1, report=""):
        entry = self.store.add(target, kind, key, message, case, minimized=minimized,
                               count=count, report=report,
                               describe=self.targets[target].describe
                               if target in self.targets else None)
        signature = entry["signature"]
        self.state["findings"][signature] = entry["count"]
        self.run_findings[signature] = self.run_findings.get(signature, 0) + count
        if entry["new"]:
            self.log(f"NEW  {signature}\n     {message[:300]}\n     -> "
                     f"{os.path.relpath(self.store.directory / entry['file'])}")

    def on_result(self, job, data):
        result = RunResult.from_dict(data)
        reported = set()
        for found in result.findings:
            count = result.counts.get(found.signature, 1)
            self._record(found.target, found.kind, found.key, found.message, found.case,
                         found.minimized, count=count)
            reported.add(found.signature)
        for signature, count in result.counts.items():
            if signature not in reported:  # known signatures: counted only
                target, kind, key = signature.split("|", 2)
                self._record(target, kind, key, "", None, False, count=count)
        for key, ratio in result.worst_ratio.items():
            if ratio > self.state["worst_ratio"].get(key, -1.0):
                self.state["worst_ratio"][key] = ratio
        self._finish_job(job["id"], job["target"], result.cases)
        self._progress()

    def on_crash(self, crash):
        self.state["crashes"] += 1
        signature = f"{crash.target}|crash|{crash.key}"
        case, minimized = crash.case, False
        # a hang is saved as it happened: each replay of it would last the whole timeout
        if (case is not None and self.minimize and crash.key != "hang"
                and signature not in self.store.index):
            self.log(f"crash in {crash.target} ({crash.reason}): minimizing the case...")
            case, minimized = minimize_crash(crash.target, case, crash.key, env=self.env,
                                             timeout=max(60.0, self.case_timeout))
        message = f"the worker died ({crash.reason}) on this case"
        self._record(crash.target, "crash", crash.key, message, case, minimized,
                     report=crash.report)
        self._finish_job(crash.job["id"], crash.job["target"], crash.cases_done + 1)

    # --------------------------------------------------------------- bookkeeping
    def _checkpoint(self):
        if self.state_path is None:
            return
        self.state["pending"] = sorted(self.in_flight | set(self.redo))
        self.state["seconds"] = self.seconds_before + time.monotonic() - self.started
        fd, temporary = tempfile.mkstemp(dir=self.state_path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(self.state, handle, indent=1, sort_keys=True)
        os.replace(temporary, self.state_path)

    def rate(self):
        elapsed = time.monotonic() - self.started
        return self.run_cases / elapsed if elapsed > 0 else 0.0

    def _progress(self, force=False):
        now = time.monotonic()
        if not force and now - self.last_progress < PROGRESS_EVERY:
            return
        self.last_progress = now
        total = f"/{self.total_cases}" if self.total_cases else ""
        self.log(f"[{now - self.started:7.0f} s] cases {self.state['cases']}{total} "
                 f"({self.rate():.1f} cases/s), finding signatures "
                 f"{len(self.state['findings'])}, crashes {self.state['crashes']}")

    def run(self):
        self.started = self.last_progress = time.monotonic()
        self.seconds_before = self.state["seconds"]
        if self.state["cases"]:
            self.log(f"resuming at {self.state['cases']} cases (job {self.state['next_job']})")
        with tempfile.TemporaryDirectory(prefix="pyconvx-fuzz-") as scratch:
            pool = Pool(self.jobs, self.workdir or scratch, case_timeout=self.case_timeout,
                        env=self.env)
            pool.run(self.next_job, self.on_result, self.on_crash)
        self._checkpoint()
        self._progress(force=True)
        return self
