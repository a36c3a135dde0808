"""
Speed against the peer libraries
================================

The speed table of a saved benchmark run (``docs/_data/bench_run.json``,
written by ``python bench/run_table.py --json FILE``), drawn as a chart.
Each workload was timed against one peer (PyTorch, OpenCV, SciPy or NumPy)
in the same process, the two called alternately after a warm-up; the times
are medians.  The ratio is pyconvx's time divided by the peer's: below 1,
pyconvx is faster.

The numbers are those of the machine and the moment of that run (see the
:doc:`performance page </user_guide/performance>`); the chart is not
re-measured when the documentation is built.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

# The docs' reader of saved runs lives in docs/_ext; examples run from their
# own folder (docs/examples/performance), as the gallery builder runs them.
sys.path.insert(0, str(Path.cwd().resolve().parents[1] / "_ext"))
import bench_results  # noqa: E402

workloads, extras = bench_results.load()
for row in workloads:
    print(f"{row.name:48s} {row.pyconvx_ms:8.2f} ms vs {row.peer:28s} {row.peer_ms:8.2f} ms"
          f"  ratio {row.ratio:.2f}")

# %%
# One bar per workload, on a logarithmic axis so that "twice as fast" and
# "twice as slow" are the same length; the colour names the peer.

peers = sorted({row.peer for row in workloads})
colours = dict(zip(peers, plt.get_cmap("tab10").colors))
labels = [f"{row.name} ({row.dtype})" for row in workloads]
ratios = np.array([row.ratio for row in workloads])

fig, ax = plt.subplots(figsize=(10, 0.42 * len(workloads) + 1.6))
positions = np.arange(len(workloads))[::-1]
ax.barh(positions, ratios, color=[colours[row.peer] for row in workloads])
for y, ratio in zip(positions, ratios):
    ax.text(ratio * 1.05, y, f"{ratio:.2f}", va="center", fontsize=8)
ax.axvline(1.0, color="black", linewidth=1)
ax.set_xscale("log")
ax.set_xlim(ratios.min() / 2, max(ratios.max(), 1.0) * 2)
ax.set_yticks(positions, labels, fontsize=8)
ax.set_xlabel("pyconvx time / peer time (log scale; below 1 = pyconvx faster)")
ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=colours[p]) for p in peers], labels=peers,
          loc="lower right", fontsize=8, title="peer")
ax.set_title("Median time ratio against the peer, saved run")
fig.tight_layout()
plt.show()

# %%
# The run's other measurements:

for extra in extras:
    print(f"{extra.name}: {extra.value:.3g} {extra.unit}")
