"""What each padding mode puts around a 4x5 image (padding 2), computed by pyconvx.

A 1x1 kernel holding 1 copies its input, so ``conv`` with it and ``padding=2``
returns the padded input itself: the picture shows pyconvx's own padding.
``symmetric`` repeats the edge value, ``reflect`` does not.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import pyconvx

PAD = 2
image = np.arange(20.0).reshape(4, 5)
copy_kernel = np.ones((1, 1, 1, 1))
panels = [("the input, 4x5", np.pad(image, PAD, constant_values=np.nan))]
panels += [(f'padding_mode="{mode}"', pyconvx.conv(image[None], copy_kernel, padding=PAD,
                                                  padding_mode=mode)[0])
          for mode in ("zeros", "reflect", "symmetric", "replicate", "circular")]
panels.append(('"constant", padding_value=-5',
               pyconvx.conv(image[None], copy_kernel, padding=PAD, padding_mode="constant",
                            padding_value=-5)[0]))

fig, axes = plt.subplots(2, 4, figsize=(13, 7))
axes.flat[-1].axis("off")
for ax, (title, padded) in zip(axes.flat, panels):
    ax.imshow(padded, cmap="Blues", vmin=-8, vmax=45)
    rows, cols = padded.shape
    for r in range(rows):
        for c in range(cols):
            inside = PAD <= r < rows - PAD and PAD <= c < cols - PAD
            if np.isnan(padded[r, c]):
                continue
            ax.text(c, r, f"{padded[r, c]:.0f}", ha="center", va="center", fontsize=10,
                    color="black" if inside else "dimgray",
                    fontweight="bold" if inside else "normal")
    ax.add_patch(Rectangle((PAD - 0.5, PAD - 0.5), image.shape[1], image.shape[0],
                           fill=False, edgecolor="crimson", linewidth=2))
    ax.set_title(title, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("What padding 2 adds around the input (red frame)", fontsize=12)
fig.tight_layout()
