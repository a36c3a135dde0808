"""pytest-benchmark suite: one group per workload of issue 3.

    pytest bench/ --benchmark-only
    pytest bench/ --benchmark-only -k img2048_3x3 --benchmark-columns=median,iqr

Each group holds pyconvx and every installed peer of that workload as
separate benchmarks (the correlate2d rows join the group of their image).
A peer that is not installed, or pyconvx without a working conv(), is skipped.
These are ratio benchmarks, not tests: nothing asserts a speed.  For the
interleaved ratio table use bench/run_table.py.
"""

import pytest

pytest.importorskip("pytest_benchmark")

from pyconvx import _benchtable


def _cases():
    cases = []
    seen_pyconvx = set()
    for wl in _benchtable.WORKLOADS:
        if wl.group not in seen_pyconvx:
            seen_pyconvx.add(wl.group)
            cases.append(pytest.param(wl, "pyconvx",
                                      id=f"{wl.group}-pyconvx"))
        cases.append(pytest.param(wl, "peer",
                                  id=f"{wl.group}-{wl.peer.split(' ')[0]}"))
    return cases


def _run(benchmark, fn, slow):
    # warm up outside the timing (first-call costs are bench/run_table.py's)
    fn()
    if slow:
        benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=0)
    else:
        fn()
        benchmark(fn)


@pytest.mark.parametrize("wl,side", _cases())
def test_workload(benchmark, bench_threads, wl, side):
    benchmark.group = wl.group
    benchmark.extra_info["flops"] = wl.flops
    benchmark.extra_info["threads"] = bench_threads
    x, w = wl.make_inputs()
    if side == "pyconvx":
        pyconvx, note = _benchtable._import_pyconvx()
        if pyconvx is None:
            pytest.skip(note)
        fn = wl.pyconvx_call(pyconvx, x, w, bench_threads)
        benchmark.extra_info["name"] = f"pyconvx.conv: {wl.name}"
        _run(benchmark, fn, slow=False)
    else:
        missing = wl.peer_available()
        if missing:
            pytest.skip(missing)
        fn, restore = wl.peer_factory(x, w, bench_threads)
        benchmark.extra_info["name"] = f"{wl.peer}: {wl.name}"
        try:
            _run(benchmark, fn, slow=wl.slow_peer)
        finally:
            restore()
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["gflops_median"] = (
            wl.flops / stats.stats.median / 1e9)
