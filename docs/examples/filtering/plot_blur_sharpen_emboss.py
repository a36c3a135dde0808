"""
Blur, sharpen and emboss side by side
=====================================

Four kernels from :mod:`pyconvx.kernels` on a colour photograph.
:func:`pyconvx.filter2d` takes the ``(H, W, 3)`` image as it comes from the
file and filters each colour channel with the same kernel; the blurs, outer
products of 1-D kernels, run as two 1-D passes.

* ``box_blur(9)``: the average of a 9x9 neighbourhood;
* ``gaussian(9, sigma=2)``: a weighted average, smoother than the box;
* ``sharpen()``: the pixel plus its difference from its four neighbours;
* ``emboss()``: a diagonal gradient added to the pixel, a relief effect.

All four kernels sum to 1, so flat regions keep their brightness and the
results stay on the photograph's 0..255 scale.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

import pyconvx
from pyconvx import kernels

with cbook.get_sample_data("grace_hopper.jpg") as file:
    photo = plt.imread(file).astype(np.float32)   # (H, W, 3), 0..255

filters = {
    "box_blur(9)": kernels.box_blur(9),
    "gaussian(9, sigma=2)": kernels.gaussian(9, sigma=2.0),
    "sharpen()": kernels.sharpen(),
    "emboss()": kernels.emboss(),
}
results = {name: pyconvx.filter2d(photo, kernel.astype(np.float32))
           for name, kernel in filters.items()}
for name, result in results.items():
    print(f"{name:22s} kernel sum {filters[name].sum():.3f}  result {result.shape} {result.dtype}")

# %%
# A crop around the face shows the difference best.  Sharpen and emboss
# overshoot the 0..255 range near strong edges; the picture clips them.

crop = (slice(60, 330), slice(170, 450))
fig, axes = plt.subplots(1, 5, figsize=(14, 3.6))
axes[0].imshow(photo[crop].astype(np.uint8))
axes[0].set_title("original")
for ax, (name, result) in zip(axes[1:], results.items()):
    ax.imshow(np.clip(np.rint(result[crop]), 0, 255).astype(np.uint8))
    ax.set_title(name)
for ax in axes:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# The kernels themselves, as the filters saw them:

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for ax, (name, kernel) in zip(axes, filters.items()):
    limit = np.abs(kernel).max()
    ax.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"{name}, {kernel.shape[0]}x{kernel.shape[1]}")
    ax.axis("off")
fig.tight_layout()
plt.show()
