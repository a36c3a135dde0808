"""One-thread efficiency of pyconvx's direct engine on the layers that decide the sweep.

    python bench/efficiency.py                    # the layers below, float32
    PYCONVX_SIMD=avx2 python bench/efficiency.py  # on the AVX2 microkernels
    python bench/efficiency.py --dtype float64 --only "7x7"

Each layer runs on one thread (``threads=1``) and is timed by the thread's CPU
time, best of the calls made in ``--seconds``: on a machine shared with other
processes that is the speed of the code, not of the scheduler. Columns: GFLOP/s
(the plan's FLOPs over that time), the share of the FMA peak
(``pyconvx.fma_peak_gflops(threads=1)``, timed the same way), the share of the
columns the gemm tiles compute that are outputs (the rest is the band's halo
columns and the last tile's padding; for the channel tile, the output
channels over its panels' columns), and the share of the peak on those
columns: how well the microkernel itself runs.
"""

import argparse
import math
import sys
import time
from pathlib import Path

#: (name, x shape, weight shape, conv keyword arguments)
LAYERS = (
    ("64->64 3x3 @56x56, N=8", (8, 64, 56, 56), (64, 64, 3, 3), {"padding": 1}),
    ("256->256 3x3 @14x14, N=1", (1, 256, 14, 14), (256, 256, 3, 3), {"padding": 1}),
    ("512->512 3x3 @7x7, N=1", (1, 512, 7, 7), (512, 512, 3, 3), {"padding": 1}),
    ("512->512 3x3 @28x28, N=1", (1, 512, 28, 28), (512, 512, 3, 3), {"padding": 1}),
    ("256->256 3x3 s2 @28x28, N=1", (1, 256, 28, 28), (256, 256, 3, 3),
     {"padding": 1, "stride": 2}),
    ("256->256 1x1 @28x28, N=8", (8, 256, 28, 28), (256, 256, 1, 1), {}),
    ("2048->512 1x1 @7x7, N=1", (1, 2048, 7, 7), (512, 2048, 1, 1), {}),
    ("3->64 7x7 s2 @224x224, N=1", (1, 3, 224, 224), (64, 3, 7, 7), {"padding": 3, "stride": 2}),
    ("256->256 3x3 @56x56, N=8", (8, 256, 56, 56), (256, 256, 3, 3), {"padding": 1}),
    ("512->512 3x3 @28x28, N=8", (8, 512, 28, 28), (512, 512, 3, 3), {"padding": 1}),
    ("512->512 3x3 @14x14, N=8", (8, 512, 14, 14), (512, 512, 3, 3), {"padding": 1}),
    ("512->512 3x3 s2 @14x14, N=8", (8, 512, 14, 14), (512, 512, 3, 3),
     {"padding": 1, "stride": 2}),
    ("512->2048 1x1 @7x7, N=8", (8, 512, 7, 7), (2048, 512, 1, 1), {}),
    ("2048->512 1x1 @7x7, N=8", (8, 2048, 7, 7), (512, 2048, 1, 1), {}),
    ("512->512 k3 s2 conv1d @3199, N=1", (1, 512, 3199), (512, 512, 3), {"stride": 2}),
)


def useful_columns(plan):
    """The share of what the tiles compute that is output (None for other kernels):
    for the gemm tile, a box's outputs over the columns its tiles compute; for
    the channel tile (every position an output), the output channels over the
    panels' columns."""
    if plan.algorithm != "direct" or plan.microkernel not in ("gemm", "cgemm"):
        return None
    fields = plan.records[0].fields
    if plan.microkernel == "cgemm":
        return int(fields["cout_g"]) / (int(fields["n_panels"]) * int(fields["nr"]))
    computed = -(-int(fields["qmax"]) // int(fields["nr"])) * int(fields["nr"])
    return math.prod(int(b) for b in fields["box"]) / computed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--seconds", type=float, default=2.0, help="time per layer")
    parser.add_argument("--only", action="append", default=[],
                        help="only the layers whose name contains this (repeatable)")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the in-place build
    import numpy as np

    import pyconvx

    dtype = np.dtype(options.dtype)
    peak = pyconvx.fma_peak_gflops(double=dtype == np.float64, threads=1)
    simd = pyconvx.show_config(print_=False)["simd_level"]
    print(f"# one thread, {dtype.name}, SIMD {simd}, FMA peak {peak:.1f} GFLOP/s (thread CPU time)")
    print("| layer | tile | GFLOP/s | % of peak | useful columns | % of peak on them |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, kwargs in LAYERS:
        if options.only and not any(part in name for part in options.only):
            continue
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        plan = pyconvx.plan(x, w, threads=1, **kwargs)
        pyconvx.conv(x, w, threads=1, **kwargs)
        best = math.inf
        deadline = time.perf_counter() + options.seconds
        while time.perf_counter() < deadline:
            start = time.thread_time()
            pyconvx.conv(x, w, threads=1, **kwargs)
            best = min(best, time.thread_time() - start)
        rate = plan.flops / best / 1e9
        useful = useful_columns(plan)
        tile = "x".join(map(str, plan.tile)) if plan.tile else "-"
        cells = [name, f"{plan.microkernel} {tile}", f"{rate:.0f}", f"{100 * rate / peak:.0f}",
                 "-" if useful is None else f"{100 * useful:.0f}%",
                 "-" if useful is None else f"{100 * rate / peak / useful:.0f}"]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
