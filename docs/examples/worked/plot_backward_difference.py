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
# In pictures: each output ``y[n]`` reads the samples ``x[n]``, ``x[n+1]``
# and ``x[n+2]``; the weight each sample gets is written on its line.

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, flip, output in ((axes[0], False, correlation[0]), (axes[1], True, convolution[0])):
    weights = kernel[0, 0, ::-1] if flip else kernel[0, 0]
    ax.bar(np.arange(5), signal[0], color="#9ecae1", label="signal x")
    ax.bar(np.arange(3) + 1, output, width=0.4, color="#fd8d3c", label="output y (at the window centre)")
    for tap, weight in enumerate(weights):
        ax.annotate(f"{weight:+.0f}", xy=(tap, signal[0, tap]), xytext=(1, 4.6),
                    ha="center", fontsize=9,
                    arrowprops=dict(arrowstyle="-", color="crimson" if weight else "lightgray"))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_title(f"flip={flip}: y = {output[0]:+.0f}, {output[1]:+.0f}, {output[2]:+.0f}")
    ax.set_xticks(range(5))
    ax.set_xlabel("sample index")
    ax.set_ylim(-2.8, 5.4)
axes[0].legend(loc="lower right", fontsize=8)
fig.suptitle("The weights that y[0] gives to x[0], x[1], x[2]")
fig.tight_layout()
plt.show()
