"""A fuzz worker: a child process that runs jobs sent by the pool (``fuzz/pool.py``).

Protocol: one JSON object per line.  The worker answers ``{"ready": pid}``
once its targets are loaded, then reads jobs ``{"id", "target", "seed",
"examples", "known", "shrink"}`` from stdin and writes ``{"id", "result"}``
to stdout after each.  Before every case it writes the case to the file
named by its argument (target name, cases done so far, the case), so that
if the process dies the pool knows which case killed it.  Everything else
the process prints (warnings, a sanitizer's report, faulthandler's Python
traceback on a fatal signal) goes to stderr, which the pool keeps in a log.
"""

import ctypes
import faulthandler
import json
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1

#: Address-space cap of a worker without AddressSanitizer: a case that
#: would allocate more fails with MemoryError instead of swapping the
#: machine (ASan reserves terabytes of shadow memory, so it is left alone).
ADDRESS_SPACE_LIMIT = 16 * 2**30


def _limit_memory():
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = ADDRESS_SPACE_LIMIT if hard == resource.RLIM_INFINITY else min(hard,
                                                                          ADDRESS_SPACE_LIMIT)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _die_with_the_pool():
    """Linux: be killed when the pool's process dies (no orphans finishing a job)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker stops at the end of its job
        pass
    if os.getppid() == 1:  # the pool died before prctl took effect
        os._exit(1)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    case_path = argv[0]
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints go to the log, not into the protocol
    faulthandler.enable()
    _die_with_the_pool()
    _limit_memory()

    from . import engine, registry, values

    registry.load()
    protocol.write(json.dumps({"ready": os.getpid()}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        target = registry.get(job["target"])
        done = [0]

        def record(case, target_name=target.name, done=done):
            with open(case_path, "w") as handle:
                handle.write(f"{target_name}\n{done[0]}\n{values.dumps(case)}\n")
            done[0] += 1

        result = engine.run_target(target, examples=job["examples"], random_seed=job["seed"],
                                   known=frozenset(job["known"]), on_case=record,
                                   shrink=job.get("shrink", True), quiet=True)
        protocol.write(json.dumps({"id": job["id"], "result": result.as_dict()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
