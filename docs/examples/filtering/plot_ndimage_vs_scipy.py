"""
Gaussian and Sobel filters: pyconvx.ndimage beside scipy.ndimage
================================================================

:mod:`pyconvx.ndimage` has scipy.ndimage's filters with the same calls and
results.  Here both libraries smooth the photograph with a Gaussian and take
its Sobel derivatives; the differences are float32 rounding, and pyconvx is
timed against SciPy on the machine that built this page.

The photograph is Grace Hopper's U.S. Navy portrait (see
:ref:`the edge-detection example <photo-origin>`).
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
from matplotlib import cbook

from pyconvx import ndimage

with cbook.get_sample_data("grace_hopper.jpg") as file:
    photo = plt.imread(file)
gray = (photo @ np.array([0.299, 0.587, 0.114])).astype(np.float32)   # (H, W) float32
print(gray.shape, gray.dtype)

# %%
# The same call in both libraries.  pyconvx keeps float32 data in float32;
# SciPy computes in float64 and rounds the result to float32.  Measured
# against SciPy's float64 answer (computed from a float64 copy), pyconvx's
# error stays within the float32 bound: 25 taps per pass, two passes, each
# rounding worth 2**-24 of the largest value.

ours = ndimage.gaussian_filter(gray, sigma=3.0)
theirs = scipy.ndimage.gaussian_filter(gray, sigma=3.0)
exact = scipy.ndimage.gaussian_filter(gray.astype(np.float64), sigma=3.0)
bound = 2 * 25 * 2.0**-24 * float(np.abs(gray).max())
assert ours.dtype == theirs.dtype == np.float32
assert np.abs(ours - exact).max() <= bound
print(f"pyconvx - exact: {np.abs(ours - exact).max():.2e}   "
      f"scipy - exact: {np.abs(theirs - exact).max():.2e}   bound {bound:.2e}")

# %%
# Sobel along both axes, and the gradient magnitude they make.

sobel_rows = ndimage.sobel(gray, axis=0)
sobel_cols = ndimage.sobel(gray, axis=1)
magnitude = np.hypot(sobel_rows, sobel_cols)
scipy_magnitude = np.hypot(scipy.ndimage.sobel(gray, axis=0), scipy.ndimage.sobel(gray, axis=1))
print("largest difference from SciPy's Sobel magnitude, relative:",
      float(np.abs(magnitude - scipy_magnitude).max() / scipy_magnitude.max()))

# %%
# Time both on one thread, SciPy's only way of running (medians of a few runs
# in this process: a rough figure; the benchmark's image-filtering rows are
# the careful measurement, with every core).


def median_seconds(function, repeats=5):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


for name, ours_call, scipy_call in [
    ("gaussian_filter sigma=3", lambda: ndimage.gaussian_filter(gray, 3.0, threads=1),
     lambda: scipy.ndimage.gaussian_filter(gray, 3.0)),
    ("sobel axis=0", lambda: ndimage.sobel(gray, axis=0, threads=1),
     lambda: scipy.ndimage.sobel(gray, axis=0)),
]:
    ours_time, scipy_time = median_seconds(ours_call), median_seconds(scipy_call)
    print(f"{name:24s} pyconvx {ours_time * 1e3:7.2f} ms   scipy {scipy_time * 1e3:7.2f} ms   "
          f"ratio {ours_time / scipy_time:.3f}")

# %%
# The pictures: the photograph, its Gaussian blur, the gradient magnitude,
# and the difference from SciPy's blur (float32 rounding, drawn at its own
# scale).

difference = ours - theirs
fig, axes = plt.subplots(1, 4, figsize=(14, 4.4))
axes[0].imshow(gray, cmap="gray")
axes[0].set_title("photograph (float32)")
axes[1].imshow(ours, cmap="gray")
axes[1].set_title("ndimage.gaussian_filter, sigma=3")
axes[2].imshow(magnitude, cmap="magma", vmax=np.percentile(magnitude, 99))
axes[2].set_title("hypot of the two sobel responses")
limit = float(np.abs(difference).max()) or 1.0
axes[3].imshow(difference, cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[3].set_title(f"pyconvx - scipy (within {limit:.1e})")
for ax in axes:
    ax.axis("off")
fig.tight_layout()
plt.show()
