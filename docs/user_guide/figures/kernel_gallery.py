"""Every kernel of ``pyconvx.kernels`` (``names()``), with its weights."""

import math

import matplotlib.pyplot as plt
import numpy as np

from pyconvx import kernels

names = kernels.names()
columns = 5
rows = math.ceil(len(names) / columns)
fig, axes = plt.subplots(rows, columns, figsize=(2.3 * columns, 2.7 * rows))
for ax in axes.flat[len(names):]:
    ax.axis("off")
for ax, name in zip(axes.flat, names):
    kernel = kernels.get(name)
    limit = max(np.abs(kernel).max(), 1e-12)
    ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (r, c), value in np.ndenumerate(kernel):
        text = f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"
        strong = abs(value) > 0.6 * limit
        ax.text(c, r, text, ha="center", va="center", fontsize=8,
                color="white" if strong else "black")
    ax.set_title(f'"{name}"', fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("kernels.get(name): red positive, blue negative", fontsize=11)
fig.tight_layout()
