"""
Edge detection on a photograph
==============================

The Sobel kernels measure how fast brightness changes: Sobel-X from left to
right (it lights up on vertical edges), Sobel-Y from top to bottom
(horizontal edges).  :func:`pyconvx.edge_magnitude` combines the two into the
edge strength ``sqrt(Gx**2 + Gy**2)``.

.. _photo-origin:

The photograph is Grace Hopper's official U.S. Navy portrait, a work of the
U.S. government in the public domain; matplotlib ships it as
``grace_hopper.jpg`` in its sample data, so no download is needed.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

import pyconvx
from pyconvx import kernels

with cbook.get_sample_data("grace_hopper.jpg") as file:
    photo = plt.imread(file)                      # (H, W, 3) uint8
gray = photo @ np.array([0.299, 0.587, 0.114])     # luma, float64
print(photo.shape, photo.dtype, "->", gray.shape, gray.dtype)

# %%
# ``filter2d`` filters an ``(H, W)`` or ``(H, W, C)`` image by
# cross-correlation (the kernel is not flipped).  By default it mirrors the
# image at its border (``boundary="symmetric"``), so the frame of the picture
# does not read as an edge.

gx = pyconvx.filter2d(gray, kernels.sobel_x())
gy = pyconvx.filter2d(gray, kernels.sobel_y())
magnitude = pyconvx.edge_magnitude(gray)
print(gx.dtype, gx.shape, float(magnitude.max()))

# %%
# ``edge_magnitude`` is the combination of the two responses (computed in one
# call, so it agrees with them to rounding):

print(np.abs(magnitude - np.hypot(gx, gy)).max() / magnitude.max())

# %%
# Signed responses are drawn with a diverging colour map: red where brightness
# grows to the right (or downwards), blue where it falls.

limit = np.percentile(np.abs(gx), 98)
fig, axes = plt.subplots(1, 4, figsize=(13, 4.4))
axes[0].imshow(gray, cmap="gray")
axes[0].set_title("grayscale photograph")
axes[1].imshow(gx, cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[1].set_title("Sobel-X (vertical edges)")
axes[2].imshow(gy, cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[2].set_title("Sobel-Y (horizontal edges)")
axes[3].imshow(magnitude, cmap="magma", vmax=np.percentile(magnitude, 99))
axes[3].set_title("edge_magnitude")
for ax in axes:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# The same from the command line, on any PNG or JPEG (Pillow needed)::
#
#     pyconvx filter photo.jpg edges.png --kernel sobel_x
