"""What ``pyconvx demo`` shows: the convolution tutorial's worked examples and a picture set.

Every number is computed by pyconvx (``conv``, ``explain``, ``param_count``,
``output_size``, ``edge_magnitude``, ``filter2d``); the tutorial's published
values are kept beside them so the demo shows both.  The picture set is made
from an image the package generates (:func:`demo_image`), written as PNG
through Pillow when it is installed.
"""

import os

import numpy as np

__all__ = [
    "PICTURES",
    "RGB_IMAGE",
    "RGB_KERNEL",
    "SOBEL_IMAGE",
    "demo_image",
    "learn_sobel",
    "to_pixels",
    "to_uint8",
    "worked_examples",
    "write_pictures",
]

#: The tutorial's 5x5 gradient image (rows step by 10, 20, 30, ...).
SOBEL_IMAGE = np.array(
    [
        [10, 20, 30, 40, 50],
        [20, 40, 60, 80, 100],
        [30, 60, 90, 120, 150],
        [40, 80, 120, 160, 200],
        [50, 100, 150, 200, 250],
    ],
    dtype=np.float64,
)

#: The tutorial's 4x4 RGB image, channels first (R, G, B).
RGB_IMAGE = np.array(
    [
        [[255, 200, 150, 100], [220, 180, 140, 80], [180, 140, 100, 60], [140, 100, 60, 40]],
        [[100, 120, 140, 160], [80, 100, 120, 140], [60, 80, 100, 120], [40, 60, 80, 100]],
        [[50, 80, 110, 140], [70, 100, 130, 160], [90, 120, 150, 180], [110, 140, 170, 200]],
    ],
    dtype=np.float64,
)

#: The tutorial's 3x3x3 kernel for the RGB image: Sobel-X on R, Laplacian on G,
#: an 8-neighbour Laplacian on B.
RGB_KERNEL = np.array(
    [
        [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
        [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    ],
    dtype=np.float64,
)

#: File names of the picture set, in the order they are written.
PICTURES = ("input.png", "sobel_x.png", "sobel_y.png", "edge_magnitude.png", "blur.png")


def demo_image(size=96):
    """A generated grayscale test image in [0, 1]: a soft gradient, a bright
    disc, a dark square and a vertical bar, so every filter has edges to
    find.  Deterministic (no randomness)."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64) / (size - 1)
    image = 0.15 + 0.25 * cols
    disc = (rows - 0.35) ** 2 + (cols - 0.32) ** 2 < 0.2**2
    image[disc] = 0.95
    image[int(0.55 * size) : int(0.85 * size), int(0.55 * size) : int(0.85 * size)] = 0.05
    image[int(0.1 * size) : int(0.45 * size), int(0.72 * size) : int(0.8 * size)] = 0.75
    return image


def to_pixels(values, how, bits=8):
    """Map a float result onto ``0 .. 2**bits - 1`` for an 8- or 16-bit picture.

    ``how`` is ``"clip"`` (values already on the picture's scale are rounded
    and clipped), ``"abs"`` (``|v|`` scaled so the largest maps to the top
    of the scale; for signed responses such as edge detectors) or
    ``"minmax"`` (the range ``[min, max]`` stretched onto the scale).  NaN
    becomes 0.  Returns uint8 or uint16.
    """
    top = 2**bits - 1
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    if how == "abs":
        values = np.abs(values)
        peak = values.max() if values.size else 0.0
        values = values * (top / peak) if peak > 0 else values
    elif how == "minmax":
        low, high = (values.min(), values.max()) if values.size else (0.0, 0.0)
        values = (values - low) * (top / (high - low)) if high > low else values * 0.0
    return np.clip(np.rint(values), 0, top).astype(np.uint8 if bits == 8 else np.uint16)


def to_uint8(values, how):
    """:func:`to_pixels` onto 0..255 (an 8-bit picture)."""
    return to_pixels(values, how, 8)


def _matrix(array):
    return np.array2string(np.asarray(array), separator=", ", suppress_small=True)


def _g(value):
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"


def worked_examples():
    """The tutorial's worked examples computed by pyconvx, as (title, text) pairs."""
    import pyconvx
    from pyconvx import kernels
    from pyconvx.explain import explain
    from pyconvx.filters import edge_magnitude

    sections = []

    signal = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    difference = np.array([[[1.0, 0.0, -1.0]]])
    result = pyconvx.conv(signal, difference)[0]
    sections.append(
        (
            "1-d: signal [1, 2, 3, 4, 5] with kernel [1, 0, -1] (backward difference)",
            f"pyconvx.conv -> {_matrix(result.astype(int))}"
            "   (the tutorial's answer: [-2, -2, -2])\n"
            "Each output is signal[n] - signal[n+2]: the signal rises by 2 per step.",
        )
    )

    sobel = kernels.sobel_x()
    result = pyconvx.conv(SOBEL_IMAGE[None], sobel[None, None])[0]
    steps = explain(SOBEL_IMAGE[None], sobel[None, None], (0, 0, 0))
    sections.append(
        (
            "2-d: the 5x5 gradient image with Sobel-X (the tutorial's answer: rows 160, 240, 320)",
            f"Output (3x3):\n{_matrix(result.astype(int))}\n\n{steps}",
        )
    )

    result = pyconvx.conv(RGB_IMAGE, RGB_KERNEL[None])[0]
    steps = explain(RGB_IMAGE, RGB_KERNEL[None], (0, 0, 0))
    sums = " + ".join(_g(s) for s in steps.channel_sums)
    sections.append(
        (
            "RGB: a 4x4x3 image with one 3x3x3 kernel"
            " (the tutorial's answer: [[345, 380], [320, 320]])",
            f"Output (2x2x1):\n{_matrix(result.astype(int))}\n"
            f"At (0, 0): R, G, B channel sums {sums} = {_g(steps.value)}",
        )
    )

    patch = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]], dtype=float)
    weights = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, 1], [1, 1]]], dtype=float)
    steps = explain(patch, weights[None], (0, 0, 0))
    contributions = ", ".join(
        f"{name}={_g(s)}" for name, s in zip("RGB", steps.channel_sums)
    )
    sections.append(
        (
            "RGB: a 2x2x3 patch with one 2x2x3 kernel"
            " (the tutorial's answer: R=5, G=13, B=42, output 60)",
            f"{contributions}, output {_g(pyconvx.conv(patch, weights[None])[0, 0, 0])}",
        )
    )

    counts = [
        ("Conv2d(3, 64, 3)", pyconvx.param_count(3, 64, 3), 1792),
        ("Conv2d(64, 128, 3)", pyconvx.param_count(64, 128, 3), 73856),
        ("Conv2d(3, 32, 5)", pyconvx.param_count(3, 32, 5), 2432),
    ]
    sizes = [
        ("input 224, k=3, s=2, p=1", pyconvx.output_size(224, 3, stride=2, padding=1), 112),
        ("input 64, k=5, s=2, p=2", pyconvx.output_size(64, 5, stride=2, padding=2), 32),
        ("input 10, k=4", pyconvx.output_size(10, 4), 7),
        ("input 128, k=5, s=2, p=2", pyconvx.output_size(128, 5, stride=2, padding=2), 64),
    ]
    lines = [f"{label:<20} {value:>7} parameters   (the tutorial: {answer})"
             for label, value, answer in counts]
    lines += [f"{label:<26} output size {value:>4}   (the tutorial: {answer})"
              for label, value, answer in sizes]
    sections.append(("Parameter counts and output sizes", "\n".join(lines)))

    square = np.zeros((8, 8))
    square[2:6, 2:6] = 1.0
    magnitude = edge_magnitude(square)
    sections.append(
        (
            "Edge detection: sqrt(Gx^2 + Gy^2) of an 8x8 image with a bright 4x4 square",
            "Input:\n" + _matrix(square.astype(int)) + "\n\nEdge magnitude (rounded):\n"
            + _matrix(np.rint(magnitude).astype(int))
            + "\nThe ring of large values is the square's outline; flat areas give 0.",
        )
    )
    sections.append(_learning_section())
    return sections


def learn_sobel(steps=150, learning_rate=1.5, size=64, seed=0):
    """Learn the Sobel-X kernel back from an image and its Sobel-X response.

    The image is :func:`demo_image`, centred on zero, with seeded uniform
    noise added (texture in every direction, so that every weight is
    determined and plain gradient descent converges quickly).  Starting from
    zero weights, plain gradient descent on the mean squared error
    ``L = mean((conv(x, w) - target)**2) / 2`` uses :func:`pyconvx.conv_backward`
    for ``dL/dw``.  Returns ``(losses, weights)``: the loss before each step
    and the learned ``(3, 3)`` kernel.
    """
    import pyconvx
    from pyconvx import kernels

    rng = np.random.default_rng(seed)
    base = demo_image(size)
    image = (base - base.mean() + rng.uniform(-0.5, 0.5, (size, size)))[None, None]
    target = pyconvx.conv(image, kernels.sobel_x()[None, None])
    weight = np.zeros((1, 1, 3, 3))
    losses = []
    for _ in range(steps):
        residual = pyconvx.conv(image, weight) - target
        losses.append(0.5 * float(np.mean(residual**2)))
        grads = pyconvx.conv_backward(image, weight, residual / residual.size,
                                      needs=("weight",))
        weight -= learning_rate * grads.grad_weight
    return losses, weight[0, 0]


def _learning_section():
    from pyconvx import kernels

    losses, weights = learn_sobel()
    shown = [0, 10, 25, 50, 100, len(losses) - 1]
    lines = [f"step {step:>4}: loss {losses[step]:.3e}" for step in shown]
    error = float(np.abs(weights - kernels.sobel_x()).max())
    return (
        "Learning Sobel-X back by gradient descent (pyconvx.conv_backward)",
        "An image and its Sobel-X response; start from zero weights and step\n"
        "against dL/dw of the mean squared error:\n" + "\n".join(lines)
        + f"\n\nLearned 3x3 weights:\n{_matrix(np.round(weights, 4) + 0.0)}\n"
        f"largest difference from Sobel-X: {error:.1e}",
    )


def write_pictures(directory, size=96):
    """Write the picture set of :func:`demo_image` into ``directory`` as PNG.

    Returns the list of paths written.  Needs Pillow (ImportError otherwise).
    """
    from PIL import Image

    from pyconvx import kernels
    from pyconvx.filters import edge_magnitude, filter2d

    image = demo_image(size) * 255.0
    pictures = {
        "input.png": to_uint8(image, "clip"),
        "sobel_x.png": to_uint8(filter2d(image, kernels.sobel_x()), "abs"),
        "sobel_y.png": to_uint8(filter2d(image, kernels.sobel_y()), "abs"),
        "edge_magnitude.png": to_uint8(edge_magnitude(image), "abs"),
        "blur.png": to_uint8(filter2d(image, kernels.gaussian(sigma=2.0)), "clip"),
    }
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name in PICTURES:
        path = os.path.join(directory, name)
        Image.fromarray(pictures[name]).save(path)
        paths.append(path)
    return paths
