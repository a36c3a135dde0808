"""Which input channels each output channel reads, for groups = 1, 2 and 4.

Four input and four output channels; the connections come from
``pyconvx.explain``, which reports the input channels one output sees.
"""

import matplotlib.pyplot as plt
import numpy as np

import pyconvx

CHANNELS = 4
x = np.zeros((CHANNELS, 3, 3))
colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
titles = {1: "groups=1 (dense)", 2: "groups=2", CHANNELS: f"groups={CHANNELS} (depthwise)"}

fig, axes = plt.subplots(1, len(titles), figsize=(10, 3.6))
for ax, (groups, title) in zip(axes, titles.items()):
    weight = np.zeros((CHANNELS, CHANNELS // groups, 3, 3))
    for out_channel in range(CHANNELS):
        seen = pyconvx.explain(x, weight, (out_channel, 0, 0), groups=groups).in_channels
        group = out_channel // (CHANNELS // groups)
        for in_channel in seen:
            ax.plot([0.3, 1.7], [-in_channel, -out_channel], color=colours[group], linewidth=1.6)
    for channel in range(CHANNELS):
        group_of = channel // (CHANNELS // groups)
        for side, label in ((0, "in"), (2, "out")):
            ax.add_patch(plt.Rectangle((side - 0.3, -channel - 0.3), 0.6, 0.6,
                                       facecolor=colours[group_of], alpha=0.25,
                                       edgecolor=colours[group_of]))
            ax.text(side, -channel, f"{label} {channel}", ha="center", va="center", fontsize=8)
    per_out = CHANNELS // groups
    ax.set_title(f"{title}\nweight {(CHANNELS, per_out, 3, 3)}", fontsize=10)
    ax.set_xlim(-0.5, 2.5)
    ax.set_ylim(-CHANNELS + 0.4, 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
fig.tight_layout()
