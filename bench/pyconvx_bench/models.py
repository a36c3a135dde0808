"""The convolution layers of a few well-known models, written from their architectures.

Each builder lists a model's convolution layers in order, with the input size
each one sees for one input of the model's usual size; the spatial sizes are
carried from layer to layer with ``pyconvx.output_size``:

* ``resnet50``: ResNet-50 (bottleneck blocks of 3, 4, 6, 3; the stride on the
  3x3 convolution of the first block of a stage; a 1x1 projection on the
  shortcut of each stage's first block), 224x224: 53 convolutions.
* ``mobilenet_v2``: MobileNetV2, width 1.0 (a 3x3 stem of stride 2, 17
  inverted-residual blocks given by expansion t, channels c, repeats n and
  stride s, a 1x1 convolution to 1280 channels), 224x224: 52 convolutions.
* ``vgg16``: VGG-16 (configuration D: thirteen 3x3 convolutions with padding 1
  in five stages separated by 2x2 max pooling), 224x224.
* ``wav2vec2``: the convolutional feature encoder of wav2vec 2.0 (seven conv1d
  layers of 512 channels, kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2) on one
  second of 16 kHz audio, and the transformer's positional convolution (768
  channels, 128 taps, 16 groups, padding 64) on the 49 frames it produces.

Pooling layers and the models' fully connected layers are not convolutions and
are not listed; the pooling layers only change the spatial size carried along.
:func:`distinct_layers` merges layers that are the same problem, keeping how
many times each occurs in the model.
"""

from dataclasses import dataclass

__all__ = ["MODELS", "ConvLayer", "DistinctLayer", "distinct_layers", "model_layers"]


def _output_size(size, kernel, stride, padding):
    # pyconvx is imported here rather than with this module: the command line
    # lists the model names before the measuring environment is in place, and
    # pyconvx reads that environment (PYCONVX_SIMD) when it is imported.
    import pyconvx

    return pyconvx.output_size(size, kernel, stride=stride, padding=padding)


@dataclass(frozen=True)
class ConvLayer:
    """One convolution layer of a model, for one input.

    Attributes
    ----------
    name : str
        The layer's place in the model, e.g. ``layer3.0.conv2``.
    in_channels, out_channels : int
    kernel : tuple of int
    stride, padding, groups : int
        The same along every spatial dimension.
    spatial : tuple of int
        The input's spatial size, ``(H, W)`` or ``(L,)``.
    """

    name: str
    in_channels: int
    out_channels: int
    kernel: tuple
    stride: int
    padding: int
    groups: int
    spatial: tuple

    def x_shape(self, batch):
        """The input's shape for ``batch`` samples."""
        return (batch, self.in_channels) + self.spatial

    @property
    def w_shape(self):
        """The weight's shape, ``(C_out, C_in / groups, *kernel)``."""
        return (self.out_channels, self.in_channels // self.groups) + self.kernel

    @property
    def conv_kwargs(self):
        """Keyword arguments of ``pyconvx.conv`` and ``torch.nn.functional.conv*``."""
        return {"stride": self.stride, "padding": self.padding, "groups": self.groups}

    @property
    def problem(self):
        """What makes two layers the same problem:
        (C_in, C_out, kernel, stride, padding, groups, spatial)."""
        return (self.in_channels, self.out_channels, self.kernel, self.stride,
                self.padding, self.groups, self.spatial)

    def describe(self):
        """E.g. ``64->256 1x1 s1 p0 @56x56`` (``g32`` when grouped).

        Examples
        --------
        >>> ConvLayer("c", 32, 32, (3, 3), 2, 1, 32, (112, 112)).describe()
        '32->32 3x3 s2 p1 g32 @112x112'
        """
        groups = f" g{self.groups}" if self.groups > 1 else ""
        kernel = "x".join(map(str, self.kernel))
        spatial = "x".join(map(str, self.spatial))
        return (f"{self.in_channels}->{self.out_channels} {kernel} s{self.stride} "
                f"p{self.padding}{groups} @{spatial}")


def _square(name, c_in, c_out, kernel, stride, padding, size, groups=1):
    return ConvLayer(name, c_in, c_out, (kernel, kernel), stride, padding, groups, (size, size))


def resnet50(size=224):
    """ResNet-50's 53 convolution layers for a ``size`` x ``size`` image."""
    layers = [_square("conv1", 3, 64, 7, 2, 3, size)]
    size = _output_size(size, 7, 2, 3)
    size = _output_size(size, 3, 2, 1)  # 3x3 max pooling, stride 2, padding 1
    c_in = 64
    for stage, (width, blocks, stride) in enumerate(
            [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], 1):
        for block in range(blocks):
            step = stride if block == 0 else 1
            name = f"layer{stage}.{block}"
            out_size = _output_size(size, 3, step, 1)
            layers += [
                _square(f"{name}.conv1", c_in, width, 1, 1, 0, size),
                _square(f"{name}.conv2", width, width, 3, step, 1, size),
                _square(f"{name}.conv3", width, 4 * width, 1, 1, 0, out_size),
            ]
            if block == 0:  # the shortcut's projection to the block's output
                layers.append(_square(f"{name}.downsample", c_in, 4 * width, 1, step, 0, size))
            c_in, size = 4 * width, out_size
    return layers


#: MobileNetV2's inverted-residual stages: expansion t, channels c, repeats n, stride s.
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(size=224):
    """MobileNetV2's 52 convolution layers for a ``size`` x ``size`` image."""
    layers = [_square("features.0", 3, 32, 3, 2, 1, size)]
    size = _output_size(size, 3, 2, 1)
    c_in, index = 32, 1
    for expansion, channels, repeats, stride in MOBILENET_V2_STAGES:
        for block in range(repeats):
            step = stride if block == 0 else 1
            hidden = c_in * expansion
            name = f"features.{index}"
            if expansion != 1:
                layers.append(_square(f"{name}.expand", c_in, hidden, 1, 1, 0, size))
            layers.append(_square(f"{name}.depthwise", hidden, hidden, 3, step, 1, size,
                                  groups=hidden))
            size = _output_size(size, 3, step, 1)
            layers.append(_square(f"{name}.project", hidden, channels, 1, 1, 0, size))
            c_in, index = channels, index + 1
    layers.append(_square(f"features.{index}", c_in, 1280, 1, 1, 0, size))
    return layers


#: VGG-16 (configuration D): output channels of each 3x3 convolution, "M" a 2x2 max pooling.
VGG16_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                512, 512, 512, "M", 512, 512, 512, "M")


def vgg16(size=224):
    """VGG-16's 13 convolution layers for a ``size`` x ``size`` image."""
    layers = []
    c_in = 3
    for index, item in enumerate(VGG16_CONFIG):
        if item == "M":
            size = _output_size(size, 2, 2, 0)
            continue
        layers.append(_square(f"features.{index}", c_in, item, 3, 1, 1, size))
        size = _output_size(size, 3, 1, 1)
        c_in = item
    return layers


#: wav2vec 2.0's feature encoder: (kernel, stride) of its seven conv1d layers.
WAV2VEC2_ENCODER = ((10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2))


def wav2vec2(samples=16000):
    """wav2vec 2.0's feature encoder and positional convolution for ``samples`` audio samples."""
    layers = []
    length, c_in = samples, 1
    for index, (kernel, stride) in enumerate(WAV2VEC2_ENCODER):
        layers.append(ConvLayer(f"feature_extractor.conv_layers.{index}", c_in, 512,
                                (kernel,), stride, 0, 1, (length,)))
        length = _output_size(length, kernel, stride, 0)
        c_in = 512
    # the encoder's frames are projected to 768 channels before the transformer
    layers.append(ConvLayer("encoder.pos_conv_embed.conv", 768, 768, (128,), 1, 64, 16,
                            (length,)))
    return layers


#: Model name -> (builder, what it is).
MODELS = {
    "resnet50": (resnet50, "ResNet-50, 224x224"),
    "mobilenet_v2": (mobilenet_v2, "MobileNetV2 (width 1.0), 224x224"),
    "vgg16": (vgg16, "VGG-16, 224x224"),
    "wav2vec2": (wav2vec2, "wav2vec 2.0 feature encoder + positional conv, 1 s at 16 kHz"),
}


def model_layers(name):
    """Every convolution layer of model ``name``, in order.

    Examples
    --------
    >>> len(model_layers("resnet50")), len(model_layers("vgg16"))
    (53, 13)
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name][0]()


@dataclass(frozen=True)
class DistinctLayer:
    """A problem that occurs ``count`` times in a model (first at ``layer``)."""

    layer: ConvLayer
    count: int
    names: tuple


def distinct_layers(layers):
    """Merge the layers that are the same problem, in order of first occurrence.

    Examples
    --------
    >>> merged = distinct_layers(model_layers("resnet50"))
    >>> len(merged), sum(d.count for d in merged)
    (23, 53)
    """
    merged = {}
    for layer in layers:
        merged.setdefault(layer.problem, []).append(layer)
    return [DistinctLayer(group[0], len(group), tuple(layer.name for layer in group))
            for group in merged.values()]
