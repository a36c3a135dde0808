"""Which input samples each output reads, for stride and dilation (1-d, 3 taps).

The tap positions come from ``pyconvx.explain``, which reports the input
coordinates of every tap of one output; the highlighted output is the second.
"""

import matplotlib.pyplot as plt
import numpy as np

import pyconvx

LENGTH = 11
signal = np.arange(LENGTH, dtype=float)[None]  # (C_in=1, length)
kernel = np.ones((1, 1, 3))                    # (C_out=1, C_in=1, taps)
cases = [
    ("stride 1, dilation 1", {"stride": 1, "dilation": 1}),
    ("stride 2", {"stride": 2, "dilation": 1}),
    ("dilation 2", {"stride": 1, "dilation": 2}),
    ("stride 2, dilation 2, padding 2", {"stride": 2, "dilation": 2, "padding": 2}),
]

fig, axes = plt.subplots(len(cases), 1, figsize=(8, 1.9 * len(cases)))
for ax, (title, options) in zip(axes, cases):
    n_out = pyconvx.output_shape(signal.shape, kernel.shape, **options)[-1]
    pad = options.get("padding", 0)
    for i in range(-pad, LENGTH + pad):
        inside = 0 <= i < LENGTH
        ax.add_patch(plt.Rectangle((i - 0.45, -0.45), 0.9, 0.9,
                                   facecolor="#dbe9f6" if inside else "white",
                                   edgecolor="#4a6f9c" if inside else "#b0b0b0",
                                   linestyle="-" if inside else "--"))
        ax.text(i, 0, str(i) if inside else "pad", ha="center", va="center", fontsize=8)
    # Outputs sit above the input, spread over the same width.
    out_x = np.linspace(-pad, LENGTH + pad - 1, n_out) if n_out > 1 else np.array([LENGTH / 2])
    for j in range(n_out):
        taps = pyconvx.explain(signal, kernel, (0, j), **options).positions[:, 0]
        highlight = j == 1
        colour = "crimson" if highlight else "#c8c8c8"
        for tap in taps:
            ax.plot([out_x[j], tap], [1.55, 0.45], color=colour,
                    linewidth=1.6 if highlight else 0.8, zorder=3 if highlight else 1)
        ax.add_patch(plt.Rectangle((out_x[j] - 0.45, 1.55), 0.9, 0.9, facecolor="#fde3c8",
                                   edgecolor="#c0662b", zorder=4))
        ax.text(out_x[j], 2.0, f"y{j}", ha="center", va="center", fontsize=8, zorder=5)
    ax.set_title(f"{title}: {LENGTH} inputs, 3 taps -> {n_out} outputs", fontsize=10, loc="left")
    ax.set_xlim(-pad - 0.7, LENGTH + pad - 0.3)
    ax.set_ylim(-0.6, 2.6)
    ax.set_aspect("equal")
    ax.axis("off")
fig.tight_layout()
