"""pytest-benchmark suite: one group per workload of the ratio table.

    pytest bench/ --benchmark-only
    pytest bench/ --benchmark-only -k img2048_3x3 --benchmark-columns=median,iqr

Each group holds pyconvx and every installed peer of that workload as
separate benchmarks (the correlate2d rows join the group of their image).
A peer that is not installed is skipped.  These are benchmarks, not tests:
nothing asserts a speed.  For interleaved ratios use bench/run_table.py.
"""

import pytest

pytest.importorskip("pytest_benchmark")

from pyconvx_bench.workloads import WORKLOADS


def _cases():
    cases = []
    seen = set()
    for workload in WORKLOADS:
        if workload.group not in seen:
            seen.add(workload.group)
            cases.append(pytest.param(workload, "pyconvx", id=f"{workload.group}-pyconvx"))
        cases.append(pytest.param(workload, "peer",
                                  id=f"{workload.group}-{workload.peer.split(' ')[0]}"))
    return cases


def _run(benchmark, call, slow):
    # warm up outside the timing (first-call costs are the ratio table's extra row)
    call()
    if slow:
        benchmark.pedantic(call, rounds=3, iterations=1, warmup_rounds=0)
    else:
        call()
        benchmark(call)


@pytest.mark.parametrize(("workload", "side"), _cases())
def test_workload(benchmark, bench_threads, workload, side):
    benchmark.group = workload.group
    benchmark.extra_info["flops"] = workload.flops
    benchmark.extra_info["threads"] = bench_threads
    x, w = workload.make_inputs()
    if side == "pyconvx":
        call = workload.pyconvx_call(x, w, bench_threads)
        benchmark.extra_info["name"] = f"pyconvx: {workload.name}"
        _run(benchmark, call, slow=False)
    else:
        missing = workload.peer_available()
        if missing:
            pytest.skip(missing)
        call, restore = workload.peer_factory(x, w, bench_threads)
        benchmark.extra_info["name"] = f"{workload.peer}: {workload.name}"
        try:
            _run(benchmark, call, slow=workload.slow_peer)
        finally:
            restore()
    stats = getattr(benchmark, "stats", None)
    if workload.flops and stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["gflops_median"] = workload.flops / stats.stats.median / 1e9
