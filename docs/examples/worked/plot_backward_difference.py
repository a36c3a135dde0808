"""
The 1-d backward difference, with and without ``flip``
======================================================

The tutorial's one-dimensional example: the signal ``[1, 2, 3, 4, 5]`` and the
difference kernel ``[1, 0, -1]``.

By default pyconvx computes *cross-correlation*, as deep-learning libraries
do: the kernel slides over the signal as it is written,
``y[n] = x[n] * 1 + x[n+1] * 0 + x[n+2] * (-1) = x[n] - x[n+2]``.
With ``flip=True`` it computes the *true convolution* of signal processing:
the kernel is reversed first, ``y[n] = x[n+2] - x[n]``.  The two answers
differ in sign.
"""

import matplotlib.pyplot as plt
import numpy as np

import pyconvx

signal = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])   # unbatched: (C_in, length)
kernel = np.array([[[1.0, 0.0, -1.0]]])          # (C_out, C_in, taps)

correlation = pyconvx.conv(signal, kernel)
convolution = pyconvx.conv(signal, kernel, flip=True)
print("cross-correlation (flip=False):", correlation[0])
print("true convolution  (flip=True): ", convolution[0])

# %%
# The SciPy-style functions give the same numbers: :func:`pyconvx.correlate`
# is the cross-correlation and :func:`pyconvx.convolve` the true convolution.

print(pyconvx.correlate(signal[0], kernel[0, 0], mode="valid"))
print(pyconvx.convolve(signal[0], kernel[0, 0], mode="valid"))

# %%
# In pictures: the signal on top, and below it, for each output ``y[n]``, the
# weight each sample gets (red +1, blue -1); the output is the sum of the
# weights times the samples above them.

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for ax, flip, output in ((axes[0], False, correlation[0]), (axes[1], True, convolution[0])):
    applied = kernel[0, 0, ::-1] if flip else kernel[0, 0]
    weights = np.full((len(output), signal.shape[1]), np.nan)
    for n in range(len(output)):
        weights[n, n:n + len(applied)] = applied
    ax.imshow(weights, cmap="RdBu_r", vmin=-1.6, vmax=1.6, extent=(-0.5, 4.5, 3.5, 0.5))
    for n in range(len(output)):
        for i in range(signal.shape[1]):
            if not np.isnan(weights[n, i]):
                weight = weights[n, i]
                ax.text(i, n + 1, f"{weight:+.0f}" if weight else "0", ha="center", va="center")
        ax.text(5.0, n + 1, f"= {output[n]:+.0f}", va="center", fontsize=11, fontweight="bold")
    for i, value in enumerate(signal[0]):
        ax.text(i, 0, f"{value:.0f}", ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "square", "facecolor": "#dbe9f6", "edgecolor": "#4a6f9c"})
    ax.set_xlim(-0.6, 6.0)
    ax.set_ylim(3.6, -0.6)
    ax.set_xticks(range(5), [f"x[{i}]" for i in range(5)])
    ax.set_yticks(range(4), ["signal", "y[0]", "y[1]", "y[2]"])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"flip={flip}: kernel applied as {applied.astype(int).tolist()}")
fig.tight_layout()
plt.show()
