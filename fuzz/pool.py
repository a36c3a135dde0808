"""A pool of worker processes that survives crashes and hangs of the code under test.

``Pool.run(next_job, on_result, on_crash)`` keeps every worker busy with
jobs from ``next_job()`` until it returns None and all jobs are back.  A
worker that dies (a signal, a sanitizer abort, any exit) or whose current
case runs longer than ``case_timeout`` seconds is reported through
``on_crash`` with the case it was running and the end of its log, and a new
worker takes its place; the run goes on.
"""

import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import REPO_ROOT, values

#: Lines of a worker's log kept in a crash report.
LOG_TAIL_LINES = 60


@dataclass
class Crash:
    """A worker that died or hung: the case it ran and why it stopped."""

    target: str
    case: object
    cases_done: int
    reason: str        # "SIGSEGV", "exit 1", "hang" ...
    key: str           # what tells two crashes apart (see crash_key)
    report: str        # the key lines of the worker's log
    job: dict


def signal_name(returncode):
    if returncode is not None and returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


_HEX = re.compile(r"0x[0-9a-fA-F]+")
_PATH = re.compile(r"[^\s:]*/(?=[^/\s:]+:\d+)")


def _normalise(line):
    line = _HEX.sub("0x?", line)
    return _PATH.sub("", line).strip()


def crash_key(log, reason):
    """A stable description of a crash from its log: the sanitizer's first
    runtime error or summary line (addresses and directories removed), else
    the signal or exit status."""
    for pattern in (r"\S*:\d+:\d+: runtime error: .*", r"SUMMARY: \w+Sanitizer: .*",
                    r"ERROR: \w+Sanitizer: [\w-]+.*", r"\w+Sanitizer: CHECK failed: \S+"):
        found = re.search(pattern, log)
        if found:
            text = _normalise(found.group(0))
            # keep the kind of error and where, not the address or values it names
            where, sep, what = text.partition("runtime error: ")
            if not sep:
                return re.split(r" (?:on|at pc)\b", text)[0][:160]
            what = re.split(r" (?:address|for type)\b", what)[0]
            return (where + sep + re.sub(r"(?<![\w.])-?\d+\b", "N", what))[:160]
    return reason


def key_lines(log):
    """The lines of a worker log that explain a crash (sanitizer report, tracebacks)."""
    # a refused huge allocation (allocator_may_return_null) is expected, not news
    lines = [line for line in log.splitlines() if "Sanitizer failed to allocate" not in line]
    keep = [i for i, line in enumerate(lines) if re.search(
        r"runtime error|Sanitizer|^\s+#\d+ |Fatal Python error|File \"|Current thread|"
        r"Thread 0x|SUMMARY|ERROR", line)]
    if not keep:
        return "\n".join(lines[-LOG_TAIL_LINES:])
    return "\n".join(lines[i] for i in keep[:LOG_TAIL_LINES])


class Worker:
    """One worker process and the files that outlive it (case file, log)."""

    def __init__(self, index, workdir, env):
        self.index = index
        self.case_path = Path(workdir) / f"worker-{index}.case"
        self.log_path = Path(workdir) / f"worker-{index}.log"
        self.env = env
        self.proc = None
        self.job = None
        self.ready = False

    def start(self):
        self.case_path.unlink(missing_ok=True)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fuzz.worker", str(self.case_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            cwd=str(REPO_ROOT), env=self.env, text=True, bufsize=1)
        self.job = None
        self.ready = False

    def send(self, job):
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        self.job = job

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            self.proc.stdout.close()
        self.log.close()

    def current_case(self):
        """(target, cases done in this job, case) from the case file, or None."""
        try:
            target, done, text = self.case_path.read_text().split("\n", 2)
            return target, int(done), values.loads(text.strip())
        except (OSError, ValueError, SyntaxError):
            return None

    def case_age(self):
        try:
            return time.time() - self.case_path.stat().st_mtime
        except OSError:
            return 0.0

    def log_text(self):
        self.log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def worker_env(extra=None):
    """The environment of a worker: this one's, with the repository first on PYTHONPATH."""
    env = dict(os.environ)
    paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.setdefault("PYTHONHASHSEED", "0")
    env.update(extra or {})
    return env


class Pool:
    """``jobs`` workers; see the module docstring."""

    def __init__(self, jobs, workdir, *, case_timeout=30.0, env=None):
        Path(workdir).mkdir(parents=True, exist_ok=True)
        self.case_timeout = case_timeout
        self.workers = [Worker(i, workdir, env or worker_env()) for i in range(jobs)]

    def run(self, next_job, on_result, on_crash):
        selector = selectors.DefaultSelector()
        for worker in self.workers:
            worker.start()
            selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)
        exhausted = False
        try:
            while True:
                for worker in self.workers:
                    if worker.ready and worker.job is None and not exhausted:
                        job = next_job()
                        if job is None:
                            exhausted = True
                        else:
                            worker.send(job)
                if exhausted and all(w.job is None for w in self.workers):
                    return
                for key, _ in selector.select(timeout=1.0):
                    worker = key.data
                    line = worker.proc.stdout.readline()
                    if not line:
                        selector.unregister(worker.proc.stdout)
                        self._replace(worker, selector, on_crash, hang=False)
                        continue
                    message = json.loads(line)
                    if "ready" in message:
                        worker.ready = True
                    else:
                        job, worker.job = worker.job, None
                        on_result(job, message["result"])
                for worker in self.workers:
                    if worker.job is not None and worker.case_age() > self.case_timeout:
                        selector.unregister(worker.proc.stdout)
                        self._replace(worker, selector, on_crash, hang=True)
        finally:
            for worker in self.workers:
                worker.stop()

    def _replace(self, worker, selector, on_crash, hang):
        if hang:
            worker.proc.kill()
        returncode = worker.proc.wait()
        log = worker.log_text()
        if not worker.ready:
            raise RuntimeError(f"fuzz worker {worker.index} failed to start "
                               f"({signal_name(returncode)}); its log "
                               f"{worker.log_path}:\n{log[-4000:]}")
        reason = f"hang (> {self.case_timeout:.0f} s on one case)" if hang else signal_name(
            returncode)
        current = worker.current_case()
        job = worker.job
        if current is not None and job is not None:
            target, done, case = current
            on_crash(Crash(target, case, done, reason,
                           "hang" if hang else crash_key(log, reason), key_lines(log), job))
        elif job is not None:
            on_crash(Crash(job["target"], None, 0, reason, reason, key_lines(log), job))
        worker.stop()
        worker.start()
        selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)
