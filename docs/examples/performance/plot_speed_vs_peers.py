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
import bench_results

workloads, extras = bench_results.load()
for row in workloads:
    print(f"{row.name[:44]:44s} {row.pyconvx_ms:7.2f} ms / {row.peer_ms:7.2f} ms"
          f" = {row.ratio:.2f}")

# %%
# One line per workload, from 1 (the peer's speed) to pyconvx's ratio, on a
# logarithmic axis so that "twice as fast" and "twice as slow" are the same
# length; the colour names the peer's library.


def library(peer):
    """The library of a peer ("torch F.conv2d" -> "torch", "scipy.ndimage" -> "scipy")."""
    return peer.split()[0].split(".")[0]


libraries = sorted({library(row.peer) for row in workloads})
colours = dict(zip(libraries, plt.get_cmap("tab10").colors))
labels = [f"{row.name} ({row.dtype})" for row in workloads]
ratios = np.array([row.ratio for row in workloads])

fig, ax = plt.subplots(figsize=(10, 0.42 * len(workloads) + 2.2))
positions = np.arange(len(workloads))[::-1]
for y, row in zip(positions, workloads):
    colour = colours[library(row.peer)]
    ax.plot([1.0, row.ratio], [y, y], color=colour, linewidth=3, solid_capstyle="butt")
    ax.plot(row.ratio, y, "o", color=colour, markersize=7)
    ax.text(row.ratio / 1.12, y + 0.28, f"{row.ratio:.2f}", ha="center", fontsize=8)
ax.axvline(1.0, color="black", linewidth=1)
ax.set_xscale("log")
ax.set_xlim(ratios.min() / 2, max(ratios.max(), 1.0) * 2)
ax.set_ylim(-0.8, len(workloads) - 0.2)
ax.set_yticks(positions, labels, fontsize=8)
ax.set_xlabel("pyconvx time / peer time (log scale; left of 1: pyconvx faster)")
fig.legend(handles=[plt.Line2D([], [], color=colours[name], linewidth=3) for name in libraries],
           labels=libraries, loc="lower center", ncol=len(libraries), fontsize=8,
           title="peer's library")
ax.set_title("Median time ratio against the peer, saved run")
fig.tight_layout(rect=(0, 1.1 / fig.get_figheight(), 1, 1))   # room for the legend below
plt.show()

# %%
# The run's other measurements:

for extra in extras:
    print(f"{extra.name}: {extra.value:.3g} {extra.unit}")
