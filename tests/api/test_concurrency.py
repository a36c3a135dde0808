"""Threads, forks, OMP_NUM_THREADS and SIMD selection.  No timing anywhere:
subprocess timeouts only guard against hangs."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pyconvx

from _problems import conv_or_refusal
from _reference import assert_bitwise_equal, assert_matches_reference

PROBLEMS = [
    ((4, 16, 23, 21), (32, 16, 3, 3), dict(padding=1)),
    ((2, 8, 30, 31), (8, 1, 3, 3), dict(padding=1, groups=8)),
    ((3, 32, 9, 11), (24, 32, 1, 1), {}),
    ((1, 1, 120, 130), (1, 1, 7, 7), dict(padding=3, padding_mode="reflect")),
    ((2, 3, 200), (5, 3, 9), dict(stride=2, padding="same")),
    ((1, 2, 9, 10, 11), (3, 2, 3, 3, 3), dict(padding=1)),
]


from conftest import child_env as _env  # noqa: E402


def _run(code, timeout=120, **env):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=timeout, env=_env(**env))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def _inputs(seed, x_shape, w_shape, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype),
            rng.standard_normal(w_shape[0]).astype(dtype))


# ----------------------------------------------------------------------------- Python threads
@pytest.mark.parametrize("inner_threads", [1, 2, None])
def test_many_python_threads_get_serial_results(inner_threads):
    jobs = []
    for repeat in range(3):
        for i, (xs, ws, kw) in enumerate(PROBLEMS):
            jobs.append((i * 10 + repeat, xs, ws, kw))
    serial = {}
    for seed, xs, ws, kw in jobs:
        x, w, b = _inputs(seed, xs, ws)
        serial[seed] = pyconvx.conv(x, w, b, threads=1, **kw)

    def work(job):
        seed, xs, ws, kw = job
        x, w, b = _inputs(seed, xs, ws)
        return seed, pyconvx.conv(x, w, b, threads=inner_threads, **kw)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, jobs * 2))
    for seed, got in results:
        assert_bitwise_equal(got, serial[seed])


def test_threads_share_input_arrays():
    x, w, b = _inputs(5, (3, 16, 40, 41), (16, 16, 3, 3))
    x.flags.writeable = False
    expected = pyconvx.conv(x, w, b, padding=1, threads=1)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda t: pyconvx.conv(x, w, b, padding=1, threads=t), [1, 2, 3] * 6))
    for got in results:
        assert_bitwise_equal(got, expected)


def test_threads_with_out_buffers():
    x, w, b = _inputs(6, (2, 8, 33, 34), (8, 8, 3, 3))
    expected = pyconvx.conv(x, w, b, padding=1)
    outs = [np.empty_like(expected) for _ in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        returned = list(pool.map(lambda o: pyconvx.conv(x, w, b, padding=1, out=o, threads=2), outs))
    for out, ret in zip(outs, returned):
        assert ret is out
        assert_bitwise_equal(out, expected)


def test_forced_simd_is_per_thread():
    from pyconvx._engine import dispatch as _dispatch

    levels = list(_dispatch.available_levels())
    default = _dispatch.active_level()
    x, w, b = _inputs(7, (2, 8, 20, 21), (8, 8, 3, 3))

    def work(level):
        with _dispatch.forced_simd(level):
            assert _dispatch.active_level() == level
            got = pyconvx.conv(x, w, b, padding=1)
        return level, got

    with ThreadPoolExecutor(max_workers=len(levels) + 1) as pool:
        results = list(pool.map(work, levels * 4))
    assert _dispatch.active_level() == default
    for _level, got in results:
        assert_matches_reference(got, x, w, b, padding=1)
    with pytest.raises(ValueError, match="not available"):
        with _dispatch.forced_simd("sse9"):
            pass


# ----------------------------------------------------------------------------- thread counts
@pytest.mark.parametrize("problem", PROBLEMS, ids=[f"p{i}" for i in range(len(PROBLEMS))])
def test_thread_counts_bitwise(problem, algorithm):
    xs, ws, kw = problem
    for dtype in (np.float32, np.float64):
        x, w, b = _inputs(11, xs, ws, dtype)
        one = conv_or_refusal(algorithm, x, w, b, threads=1, **kw)
        if one is None:
            continue
        for threads in (2, 5):
            assert_bitwise_equal(pyconvx.conv(x, w, b, threads=threads, algorithm=algorithm, **kw), one)


# ----------------------------------------------------------------------------- processes
def test_fork_after_parallel_conv_does_not_hang():
    code = """
        import multiprocessing as mp, numpy as np, pyconvx
        rng = np.random.default_rng(0)
        x = rng.standard_normal((4, 32, 40, 40)).astype(np.float32)
        w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
        parent = pyconvx.conv(x, w, padding=1, threads=2)   # OpenMP pool now alive

        def child(threads, queue):
            queue.put(pyconvx.conv(x, w, padding=1, threads=threads).tobytes())

        ctx = mp.get_context("fork")
        for threads in (1, 2, None, 3):
            queue = ctx.Queue()
            p = ctx.Process(target=child, args=(threads, queue))
            p.start()
            try:
                data = queue.get(timeout=20)  # read first: a large payload blocks the child's exit
            except Exception:
                p.kill(); p.join()
                raise SystemExit("forked child hung with threads=%r" % (threads,))
            p.join(20)
            assert p.exitcode == 0, p.exitcode
            assert data == parent.tobytes(), "child result differs"
        # and the parent still works after forking
        assert pyconvx.conv(x, w, padding=1, threads=2).tobytes() == parent.tobytes()
        print("ok")
    """
    assert _run(code, timeout=180).strip().endswith("ok")


def test_omp_num_threads_respected_and_not_set():
    code = """
        import os, numpy as np
        before = os.environ.get("OMP_NUM_THREADS")
        import pyconvx
        from pyconvx import _normalize
        x = np.random.default_rng(0).standard_normal((2, 16, 64, 64)).astype(np.float32)
        w = np.ones((16, 16, 3, 3), np.float32)
        a = pyconvx.conv(x, w, padding=1)
        b = pyconvx.conv(x, w, padding=1, threads=1)
        assert a.tobytes() == b.tobytes()
        assert os.environ.get("OMP_NUM_THREADS") == before, "OMP_NUM_THREADS changed"
        print(_normalize.resolve_threads(None))
    """
    assert _run(code, OMP_NUM_THREADS="3").strip() == "3"
    assert _run(code, OMP_NUM_THREADS="1").strip() == "1"
    env_without = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=120, env={**env_without, "PYTHONPATH": _env()["PYTHONPATH"]})
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout.strip()) == len(os.sched_getaffinity(0))


def test_omp_num_threads_one_starts_no_worker_threads():
    """threads=None under OMP_NUM_THREADS=1 runs on the calling thread only."""
    code = """
        import os, numpy as np, pyconvx
        def tasks():
            return len(os.listdir("/proc/self/task"))
        x = np.random.default_rng(0).standard_normal((4, 32, 64, 64)).astype(np.float32)
        w = np.ones((32, 32, 3, 3), np.float32)
        before = tasks()
        pyconvx.conv(x, w, padding=1)
        print(before, tasks())
    """
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("needs /proc")
    before, after = map(int, _run(code, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1").split())
    assert after == before


def test_pyconvx_simd_env_generic():
    code = """
        import numpy as np, pyconvx
        from pyconvx._engine import dispatch as _dispatch
        assert _dispatch.active_level() == "generic", _dispatch.active_level()
        assert _dispatch.available_levels() == ("generic",), _dispatch.available_levels()
        rng = np.random.default_rng(3)
        x = rng.standard_normal((2, 5, 17, 19)).astype(np.float32)
        w = rng.standard_normal((7, 5, 3, 3)).astype(np.float32)
        np.save("x.npy", x); np.save("w.npy", w)
        np.save("got.npy", pyconvx.conv(x, w, padding=1, stride=(1, 2)))
        print("ok")
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                                text=True, timeout=120, cwd=tmp, env=_env(PYCONVX_SIMD="generic"))
        assert result.returncode == 0, result.stderr[-3000:]
        x, w, got = (np.load(os.path.join(tmp, f)) for f in ("x.npy", "w.npy", "got.npy"))
    assert_matches_reference(got, x, w, padding=1, stride=(1, 2))


def test_pyconvx_simd_env_bad_value_is_clear():
    result = subprocess.run([sys.executable, "-c", "import pyconvx"], capture_output=True, text=True,
                            timeout=120, env=_env(PYCONVX_SIMD="sse9"))
    assert result.returncode != 0
    assert "PYCONVX_SIMD" in result.stderr and "generic" in result.stderr


def test_show_config_smoke(capsys):
    pyconvx.show_config()
    text = capsys.readouterr().out
    assert "version" in text and pyconvx.__version__ in text and len(text.splitlines()) >= 2


# ----------------------------------------------------------------------------- Ctrl-C
@pytest.mark.parametrize("path", ["auto", "direct"])
def test_ctrl_c_stops_a_long_call(path):
    """SIGINT during one long conv call raises KeyboardInterrupt from inside it (the
    engine checks for signals between chunks of work units), long before it could end."""
    code = f"""
        import sys, numpy as np, pyconvx
        x = np.ones((512, 64, 64, 64), np.float32)      # ~300 GFLOP: seconds of work
        w = np.ones((64, 64, 3, 3), np.float32)
        pyconvx.conv(x[:1], w, padding=1, algorithm={path!r})   # warm up, plan
        print("started", flush=True)
        try:
            pyconvx.conv(x, w, padding=1, algorithm={path!r})
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(0)
        print("finished", flush=True)
    """
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "started"
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert out.strip() == "interrupted", (out, err[-2000:])
    assert child.returncode == 0
