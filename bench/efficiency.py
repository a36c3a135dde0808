"""One-thread efficiency of pyconvx's direct engine on the layers that decide the sweep.

    python bench/efficiency.py                    # the layers below, float32
    python bench/efficiency.py --isa avx2         # both libraries on their AVX2 code
    python bench/efficiency.py --dtype float64 --only "7x7"

Each layer runs on one thread (``threads=1``; torch with
``torch.set_num_threads(1)``, in the calling thread) and is timed by the
thread's CPU time, the two libraries' calls alternating, best of the calls
made in ``--seconds``: on a machine shared with other processes that is the
speed of the code, not of the scheduler.  Columns: GFLOP/s (the plan's FLOPs
over that time), the share of the FMA peak (``pyconvx.fma_peak_gflops(threads=1)``,
timed the same way), the share of the columns the gemm tiles compute that are
outputs (the rest is the band's border columns and the last tile's padding;
for the channel tile, the output channels over its panels' columns), the
share of the peak on those columns (how well the microkernel itself runs),
torch's GFLOP/s and pyconvx's time over torch's.  ``--isa avx2`` runs both
libraries on their AVX2 code, as ``bench/sweep.py --isa avx2`` does.
"""

import argparse
import functools
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


#: Bytes of a vector of each microkernel set: the gemm tile's narrow variants
#: (one and two vectors wide) compute a box's last, short run of positions.
VECTOR_BYTES = {"avx512": 64, "avx2": 32, "generic": 16}


def useful_columns(plan, simd):
    """The share of what the tiles compute that is output (None for other kernels):
    for the gemm tile, a box's outputs over the columns its tiles compute (whole
    tiles, then a last one of one or two vectors where that is narrower); for
    the channel tile (every position an output), the output channels over the
    panels' columns."""
    if plan.algorithm != "direct" or plan.microkernel not in ("gemm", "cgemm"):
        return None
    fields = plan.records[0].fields
    nr = int(fields["nr"])
    if plan.microkernel == "cgemm":
        return int(fields["cout_g"]) / (int(fields["n_panels"]) * nr)
    whole, rest = divmod(int(fields["qmax"]), nr)
    vl = VECTOR_BYTES[simd] // fields["dtype"].itemsize
    vectors = -(-rest // vl)
    last = vectors * vl if vectors * vl < nr and vectors <= 2 else nr
    return math.prod(int(b) for b in fields["box"]) / (whole * nr + (last if rest else 0))


def best_cpu_times(calls, seconds):
    """Each call's shortest thread CPU time, the calls alternating for ``seconds``."""
    best = [math.inf] * len(calls)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for i, call in enumerate(calls):
            start = time.thread_time()
            call()
            best[i] = min(best[i], time.thread_time() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--seconds", type=float, default=2.0, help="time per layer")
    parser.add_argument("--only", action="append", default=[],
                        help="only the layers whose name contains this (repeatable)")
    parser.add_argument("--isa", choices=("avx2",), default=None,
                        help="cap both libraries at their AVX2 code")
    options = parser.parse_args(argv)
    from pyconvx_bench import environment

    environment.prepare(isa=options.isa)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the in-place build
    import numpy as np
    import torch

    import pyconvx

    torch.set_num_threads(1)

    dtype = np.dtype(options.dtype)
    peak = pyconvx.fma_peak_gflops(double=dtype == np.float64, threads=1)
    simd = pyconvx.show_config(print_=False)["simd_level"]
    print(f"# one thread, {dtype.name}, SIMD {simd}, FMA peak {peak:.1f} GFLOP/s (thread CPU "
          f"time); torch {torch.__version__} (CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()})")
    print("| layer | tile | GFLOP/s | % of peak | useful columns | % of peak on them "
          "| torch GFLOP/s | time / torch |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, kwargs in LAYERS:
        if options.only and not any(part in name for part in options.only):
            continue
        x = rng.standard_normal(x_shape).astype(dtype)
        w = rng.standard_normal(w_shape).astype(dtype)
        plan = pyconvx.plan(x, w, threads=1, **kwargs)
        out = pyconvx.conv(x, w, threads=1, **kwargs)
        peer = torch.nn.functional.conv1d if len(x_shape) == 3 else torch.nn.functional.conv2d
        best = best_cpu_times(
            (functools.partial(pyconvx.conv, x, w, threads=1, out=out, **kwargs),
             functools.partial(peer, torch.from_numpy(x), torch.from_numpy(w), **kwargs)),
            options.seconds)
        rate = plan.flops / best[0] / 1e9
        useful = useful_columns(plan, simd)
        tile = "x".join(map(str, plan.tile)) if plan.tile else "-"
        cells = [name, f"{plan.microkernel} {tile}", f"{rate:.0f}", f"{100 * rate / peak:.0f}",
                 "-" if useful is None else f"{100 * useful:.0f}%",
                 "-" if useful is None else f"{100 * rate / peak / useful:.0f}",
                 f"{plan.flops / best[1] / 1e9:.0f}", f"{best[0] / best[1]:.2f}"]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
