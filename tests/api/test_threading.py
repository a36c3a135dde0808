"""The thread count follows the engine's OpenMP runtime (threadpoolctl limits it), and
the runtime's idle threads sleep soon after a call.  Subprocesses where the state of
the OpenMP runtime matters; their timeouts only guard against hangs."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pyconvx

from conftest import child_env

threadpoolctl = pytest.importorskip("threadpoolctl")

pytestmark = pytest.mark.skipif(not pyconvx.show_config(print_=False)["openmp"],
                                reason="the engine was built without OpenMP")

PROBLEM = ((4, 32, 40, 40), (32, 32, 3, 3))


def _run(code, drop=(), **extra):
    env = {k: v for k, v in child_env().items() if k not in drop}
    env.update(extra)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def _runtime_paths():
    """The OpenMP runtimes threadpoolctl finds in this process."""
    return {info["filepath"] for info in threadpoolctl.threadpool_info()
            if info["user_api"] == "openmp"}


def _mapped_openmp_runtimes():
    with open("/proc/self/maps") as maps:
        return {os.path.realpath(line.split()[-1]) for line in maps
                if "libgomp" in line.split()[-1]}


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc")
def test_threadpoolctl_finds_the_engines_runtime():
    found = {os.path.realpath(p) for p in _runtime_paths()}
    assert _mapped_openmp_runtimes() <= found


@pytest.mark.parametrize("limit", [1, 3])
def test_threadpool_limits_sets_the_default_thread_count(limit):
    default = pyconvx.plan(*PROBLEM, padding=1).threads
    with threadpoolctl.threadpool_limits(limit, user_api="openmp"):
        assert pyconvx.show_config(print_=False)["default_threads"] == limit
        assert pyconvx.plan(*PROBLEM, padding=1).threads == limit
        # an explicit count is the caller's choice, whatever the limit
        assert pyconvx.plan(*PROBLEM, padding=1, threads=2).threads == 2
    assert pyconvx.plan(*PROBLEM, padding=1).threads == default


def test_limited_call_runs_on_the_calling_thread_and_gives_the_same_bits():
    code = """
        import os, numpy as np, pyconvx, threadpoolctl
        def tasks():
            return len(os.listdir("/proc/self/task"))
        rng = np.random.default_rng(0)
        x = rng.standard_normal((4, 32, 40, 40)).astype(np.float32)
        w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
        before = tasks()
        with threadpoolctl.threadpool_limits(1):
            limited = pyconvx.conv(x, w, padding=1)
        after = tasks()
        assert pyconvx.conv(x, w, padding=1, threads=2).tobytes() == limited.tobytes()
        print(before, after)
    """
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("needs /proc")
    before, after = map(int, _run(code, drop=("OMP_NUM_THREADS",),
                                  OPENBLAS_NUM_THREADS="1").split())
    assert after == before, "a call limited to one thread started OpenMP workers"


def test_threads_in_a_limited_thread_pool_match_the_reference():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(PROBLEM[0]).astype(np.float32)
    w = rng.standard_normal(PROBLEM[1]).astype(np.float32)
    free = pyconvx.conv(x, w, padding=1)
    with threadpoolctl.threadpool_limits(1):
        limited = pyconvx.conv(x, w, padding=1)
    assert limited.tobytes() == free.tobytes()


IDLE_CODE = """
    import os, time, numpy as np, pyconvx
    def worker_ns():   # run time of every thread but the main one
        total = 0
        for tid in os.listdir("/proc/self/task"):
            if tid != str(os.getpid()):
                with open(f"/proc/self/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
        return total
    x = np.ones((1, 64, 48, 48), np.float32)   # enough work for two threads
    w = np.ones((64, 64, 3, 3), np.float32)
    assert pyconvx.plan(x, w, padding=1, threads=2).threads == 2
    pyconvx.conv(x, w, padding=1, threads=2)
    idle = []
    for _ in range(11):
        pyconvx.conv(x, w, padding=1, threads=2)
        before = worker_ns()
        time.sleep(0.1)
        idle.append(worker_ns() - before)
    print(sorted(idle)[5] / 1e6, os.environ.get("GOMP_SPINCOUNT"),
          pyconvx.show_config(print_=False)["openmp_idle_wait"])
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs /proc")
def test_idle_workers_sleep_soon_after_a_call():
    """By default the runtime's idle threads spin briefly, then sleep: in the median
    of eleven idle pauses of 100 ms they run for a fraction of a millisecond
    (libgomp's own default spins for milliseconds per pause: the same measure with
    that setting shows it). The median, not the sum, so that one pause in which a
    busy machine preempted a worker at the wrong moment does not decide the test."""
    user_settings = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    ours, variable, policy = _run(IDLE_CODE, drop=user_settings).split(maxsplit=2)
    spinning, _, user_policy = _run(IDLE_CODE, drop=user_settings,
                                    GOMP_SPINCOUNT="300000").split(maxsplit=2)
    assert variable == "None", "GOMP_SPINCOUNT was left in the environment"
    assert policy.startswith("GOMP_SPINCOUNT=")
    assert user_policy.strip() == "the environment's GOMP_SPINCOUNT=300000"
    assert float(ours) < 1.0, f"idle workers ran {ours} ms in the median idle pause"
    assert float(spinning) > 4 * float(ours)
