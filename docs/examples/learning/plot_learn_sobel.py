"""
Learning the Sobel-X kernel by gradient descent
===============================================

An image and its Sobel-X response are all we give; the kernel is learned
back.  The model is one 3x3 convolution ``y = conv(x, w)`` starting from
zero weights; the loss is the mean squared error
``L = mean((y - target)**2) / 2``, whose gradient with respect to ``y`` is
``(y - target) / y.size``.  :func:`pyconvx.conv_backward` turns that into
``dL/dw``, and each step moves ``w`` against it.

The image is the package's demo image, centred on zero, with seeded noise
added: texture in every direction determines every one of the nine weights
and keeps the problem well conditioned, so plain gradient descent converges
geometrically.
"""

import matplotlib.pyplot as plt
import numpy as np

import pyconvx
from pyconvx import kernels
from pyconvx._demo import demo_image

rng = np.random.default_rng(0)
base = demo_image(64)
image = (base - base.mean() + rng.uniform(-0.5, 0.5, base.shape))[None, None]
target = pyconvx.conv(image, kernels.sobel_x()[None, None])

weight = np.zeros((1, 1, 3, 3))
learning_rate = 1.5
losses = []
for step in range(150):
    residual = pyconvx.conv(image, weight) - target
    losses.append(0.5 * np.mean(residual**2))
    grads = pyconvx.conv_backward(image, weight, residual / residual.size,
                                  needs=("weight",))
    weight -= learning_rate * grads.grad_weight
    if step % 25 == 0:
        print(f"step {step:3d}: loss {losses[-1]:.3e}")

learned = weight[0, 0]
print("learned kernel:\n", np.round(learned, 4) + 0.0)
print("largest difference from Sobel-X:", np.abs(learned - kernels.sobel_x()).max())

# %%
# The loss falls geometrically; the three panels show the data, the target
# and the response of the learned kernel, which matches it.

fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
axes[0].semilogy(losses)
axes[0].set_xlabel("step")
axes[0].set_title("loss")
axes[1].imshow(image[0, 0], cmap="gray")
axes[1].set_title("image")
axes[2].imshow(target[0, 0], cmap="RdBu")
axes[2].set_title("target: Sobel-X response")
axes[3].imshow(pyconvx.conv(image, weight)[0, 0], cmap="RdBu")
axes[3].set_title("learned kernel's response")
for ax in axes[1:]:
    ax.set_axis_off()
fig.tight_layout()
plt.show()
