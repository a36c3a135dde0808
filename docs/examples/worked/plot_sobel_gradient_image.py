"""
Sobel-X on the 5x5 gradient image
=================================

The tutorial's first two-dimensional example: a 5x5 image whose brightness
grows to the right and downwards, filtered with the Sobel-X kernel, the
classic detector of vertical edges (brightness changing from left to right).

Without padding a 3x3 kernel fits in 3x3 positions, so the output is 3x3.
Each output is the sum of the nine products of the kernel with the window
under it.
"""

import matplotlib.pyplot as plt
import numpy as np

import pyconvx

image = np.array([[10, 20, 30, 40, 50],
                  [20, 40, 60, 80, 100],
                  [30, 60, 90, 120, 150],
                  [40, 80, 120, 160, 200],
                  [50, 100, 150, 200, 250]], dtype=np.float32)
sobel_x = pyconvx.kernels.sobel_x().astype(np.float32)

# conv works on batches of multi-channel images: (N, C, H, W) for the image,
# (C_out, C_in, kh, kw) for the kernel.
result = pyconvx.conv(image[None, None], sobel_x[None, None])[0, 0]
print(result)

# %%
# Every row of the result is constant: along a row of the image the
# brightness grows by the same step, and the step grows by 10 from one row to
# the next (10, 20, 30, ... per pixel), so the horizontal gradient the kernel
# measures grows from 160 to 240 to 320.
#
# :func:`pyconvx.explain` shows how one output is formed, step by step:

print(pyconvx.explain(image[None], sobel_x[None, None], (0, 0, 0)))

# %%
# The three arrays side by side; the window of ``result[0, 0]`` is framed.


def show_matrix(ax, values, title, cmap, symmetric=False):
    low, high = values.min(), values.max()
    if symmetric:
        low, high = -np.abs(values).max(), np.abs(values).max()
    ax.imshow(values, cmap=cmap, vmin=low, vmax=high)
    for (row, col), value in np.ndenumerate(values):
        # White on the darkest third of each colour map, black elsewhere.
        strength = abs(value) / high if symmetric else (value - low) / (high - low)
        ax.text(col, row, f"{value:.0f}", ha="center", va="center", fontsize=11,
                color="white" if strength > 0.66 else "black")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


fig, axes = plt.subplots(1, 3, figsize=(10, 3.8),
                         gridspec_kw={"width_ratios": [5, 3, 3]})
show_matrix(axes[0], image, "5x5 gradient image", "Greys")
axes[0].add_patch(plt.Rectangle((-0.5, -0.5), 3, 3, fill=False, edgecolor="crimson",
                                linewidth=2.5))
show_matrix(axes[1], sobel_x, "Sobel-X kernel", "RdBu_r", symmetric=True)
show_matrix(axes[2], result, "conv(image, sobel_x)", "Oranges")
fig.tight_layout()
plt.show()
