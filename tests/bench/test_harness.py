"""The benchmark harness (pyconvx_bench): the sweep's layer tables and the docstring examples.

The layer tables are checked against facts published for the models, not
against themselves: the parameter counts of the reference implementations
(every weight of every layer), the multiply-adds, the output shapes through
``pyconvx.output_shape``, and that each layer reads what the layer before it
wrote.  No timing is asserted anywhere.
"""

import doctest
import importlib
import importlib.util
import math
import os
import sys

import pytest

import pyconvx

# The harness sits beside pyconvx: installed in the same site-packages, or in
# bench/ of the source tree next to an in-place build.
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(pyconvx.__file__))),
                             "bench"))

models = importlib.import_module("pyconvx_bench.models")
report = importlib.import_module("pyconvx_bench.report")


def output_shape(layer, batch=1):
    return pyconvx.output_shape(layer.x_shape(batch), layer.w_shape, **layer.conv_kwargs)


def conv_weights(layers):
    return sum(math.prod(layer.w_shape) for layer in layers)


def multiply_adds(layers):
    return sum(pyconvx.plan(layer.x_shape(1), layer.w_shape, **layer.conv_kwargs).flops // 2
               for layer in layers)


def assert_chain(layers):
    """Each layer reads the channels and the spatial size the previous one wrote."""
    for before, after in zip(layers, layers[1:]):
        produced = output_shape(before)[1:]
        assert (after.in_channels,) + after.spatial == produced, (before.name, after.name)


def test_resnet50_layers():
    layers = models.model_layers("resnet50")
    assert len(layers) == 53
    assert [layer.name for layer in layers if layer.name.endswith("downsample")] == [
        "layer1.0.downsample", "layer2.0.downsample", "layer3.0.downsample", "layer4.0.downsample"]
    # torchvision's ResNet-50: 25,557,032 parameters = the convolutions' weights, a batch
    # norm (scale and shift per channel) after every convolution, the 2048 -> 1000 classifier
    bn = 2 * sum(layer.out_channels for layer in layers)
    assert conv_weights(layers) + bn + 2048 * 1000 + 1000 == 25_557_032
    # 4.09 G multiply-adds per image, the classifier's 2.05 M included
    assert round((multiply_adds(layers) + 2048 * 1000) / 1e9, 2) == 4.09
    shapes = {layer.name: output_shape(layer) for layer in layers}
    assert shapes["conv1"] == (1, 64, 112, 112)
    for stage, (last, channels, size) in enumerate(
            [(2, 256, 56), (3, 512, 28), (5, 1024, 14), (2, 2048, 7)], 1):
        assert shapes[f"layer{stage}.{last}.conv3"] == (1, channels, size, size)
        # the shortcut's projection lands on the block's output
        assert shapes[f"layer{stage}.0.downsample"] == shapes[f"layer{stage}.0.conv3"]
    main_path = [layer for layer in layers[1:] if not layer.name.endswith("downsample")]
    assert main_path[0].spatial == (56, 56)  # after the 3x3/2 max pooling
    assert_chain(main_path)
    distinct = models.distinct_layers(layers)
    assert len(distinct) == 23
    assert sum(d.count for d in distinct) == 53
    counts = {d.layer.describe(): d.count for d in distinct}
    assert counts["64->256 1x1 s1 p0 @56x56"] == 4  # three conv3 and the projection
    assert counts["256->256 3x3 s1 p1 @14x14"] == 5
    assert counts["1024->256 1x1 s1 p0 @14x14"] == 5


def test_mobilenet_v2_layers():
    layers = models.model_layers("mobilenet_v2")
    assert len(layers) == 52
    # torchvision's MobileNetV2: 3,504,872 parameters, a batch norm after every
    # convolution and the 1280 -> 1000 classifier
    bn = 2 * sum(layer.out_channels for layer in layers)
    assert conv_weights(layers) + bn + 1280 * 1000 + 1000 == 3_504_872
    assert round((multiply_adds(layers) + 1280 * 1000) / 1e9, 2) == 0.30
    assert_chain(layers)
    assert output_shape(layers[-1]) == (1, 1280, 7, 7)
    depthwise = [layer for layer in layers if layer.groups > 1]
    assert len(depthwise) == 17
    assert all(layer.groups == layer.in_channels == layer.out_channels for layer in depthwise)
    distinct = models.distinct_layers(layers)
    assert len(distinct) == 30
    assert sum(d.count for d in distinct) == 52
    counts = {d.layer.describe(): d.count for d in distinct}
    assert counts["384->384 3x3 s1 p1 g384 @14x14"] == 4
    assert counts["960->960 3x3 s1 p1 g960 @7x7"] == 3


def test_vgg16_layers():
    layers = models.model_layers("vgg16")
    assert len(layers) == 13
    # torchvision's VGG-16: 138,357,544 parameters, a bias per output channel,
    # then 25088 -> 4096 -> 4096 -> 1000
    bias = sum(layer.out_channels for layer in layers)
    classifier = 25088 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000
    assert conv_weights(layers) + bias + classifier == 138_357_544
    assert round((multiply_adds(layers) + 25088 * 4096 + 4096 * 4096 + 4096 * 1000) / 1e9, 2) == 15.47
    # within a stage each layer reads the previous one's output; pooling halves between stages
    for before, after in zip(layers, layers[1:]):
        _, channels, height, width = output_shape(before)
        assert after.in_channels == channels
        assert after.spatial in ((height, width), (height // 2, width // 2))
    assert [layer.spatial[0] for layer in layers] == [224] * 2 + [112] * 2 + [56] * 3 + [28] * 3 + [14] * 3
    assert output_shape(layers[-1]) == (1, 512, 14, 14)
    distinct = models.distinct_layers(layers)
    assert [d.count for d in distinct] == [1, 1, 1, 1, 1, 2, 1, 2, 3]


def test_wav2vec2_layers():
    layers = models.model_layers("wav2vec2")
    encoder, positional = layers[:7], layers[7]
    assert all(layer.out_channels == 512 and layer.groups == 1 for layer in encoder)
    assert [layer.kernel[0] for layer in encoder] == [10, 3, 3, 3, 3, 2, 2]
    assert_chain(encoder)
    # the published figures: 49 frames for one second at 16 kHz, a hop of 320
    # samples (20 ms) and a receptive field of 400 samples (25 ms)
    assert output_shape(encoder[-1]) == (1, 512, 49)
    assert math.prod(layer.stride for layer in encoder) == 320
    field, hop = 1, 1
    for layer in encoder:
        field += (layer.kernel[0] - 1) * hop
        hop *= layer.stride
    assert field == 400
    # 4.2 M weights in the encoder (no biases)
    assert conv_weights(encoder) == 512 * 10 + 4 * 512 * 512 * 3 + 2 * 512 * 512 * 2 == 4_199_424
    # the positional convolution: 768 channels in 16 groups, 128 taps, padding 64
    # (one frame more than its input, which the model drops)
    assert positional.w_shape == (768, 48, 128)
    assert positional.spatial == (49,)
    assert output_shape(positional) == (1, 768, 50)
    assert len(models.distinct_layers(layers)) == 8


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model 'resnet51'; known: resnet50"):
        models.model_layers("resnet51")


def test_path_label_reads_the_plan_fields():
    plan = pyconvx.plan((8, 64, 56, 56), (64, 64, 3, 3), padding=1, algorithm="winograd")
    assert report.path_label(plan) == f"winograd/gemm {plan.tile[0]}x{plan.tile[1]}"
    plan = pyconvx.plan((1, 8, 30, 30), (8, 1, 3, 3), padding=1, groups=8, algorithm="depthwise")
    assert report.path_label(plan).startswith("direct/depthwise ")
    assert report.path_label(pyconvx.plan((1, 1, 100), (1, 1, 9), algorithm="fft")) == "fft"


def test_human_bytes():
    assert report.human_bytes(0) == "0 B"
    assert report.human_bytes(1023) == "1023 B"
    assert report.human_bytes(1024) == "1.0 KiB"
    assert report.human_bytes(64 * 2**20) == "64.0 MiB"
    assert report.human_bytes(3 * 2**30 // 2) == "1.5 GiB"


@pytest.mark.slow
def test_cluster_measure_on_a_tiny_image():
    """The Dask rows' measurement runs end to end (on 128x128 in 32x32 chunks), both sides agree."""
    pytest.importorskip("distributed")
    pytest.importorskip("dask_image")
    cluster = importlib.import_module("pyconvx_bench.cluster")
    result = cluster.measure(1, size=128, chunk=32, taps=5)
    assert result["check"] is None
    assert result["chunk_bytes"] == 32 * 32 * 4
    assert result["workers"] == [1, 1]
    for setting in ("stored", "streamed"):
        for side in ("pyconvx", "dask-image", "input"):
            part = result[setting]
            assert len(part["seconds"][side]) == len(part["peaks"][side]) == 1
            assert part["seconds"][side][0] > 0
            assert part["peaks"][side][0] >= 0
    assert cluster.time_ratio(result) > 0
    assert cluster.peak_chunks(result) >= 0
    note = cluster.describe(result)
    assert note.startswith("image stored on the workers: pyconvx.dask ")
    assert ". Image generated while filtered: pyconvx.dask " in note
    assert "Medians of 1 interleaved rounds each; 2 workers x 1 thread" in note


def _sweep_row(auto_ms, forced, same_as_auto=()):
    """A sweep row as measure_layer returns it, every forced plan summing directly."""
    return {"name": "layer", "shape": "8->8 3x3", "count": 1, "path": "direct/gemm 8x32",
            "pyconvx_ms": auto_ms, "torch_ms": 1.0, "ratio": auto_ms,
            "forced": dict(forced), "bounds": dict.fromkeys(forced, "elementwise"),
            "same_as_auto": list(same_as_auto), "aliases": {}, "notes": []}


@pytest.mark.parametrize("auto_ms, forced, same, expected, best, slower", [
    # auto's plan is forced too and nothing else: auto is the best by definition
    (1.0, {}, ["gemm", "direct"], 1.0, None, False),
    # another plan 20% faster: flagged against it
    (1.2, {"row": 1.0}, ["gemm"], 1.2, "row", True),
    # another plan slower: auto's own plan is the best
    (1.0, {"row": 1.3}, ["gemm"], 1.0, None, False),
    # auto's plan never forced: the ratio may fall below 1
    (0.9, {"row": 1.0}, [], 0.9, "row", False),
])
def test_sweep_auto_against_forced_plans(auto_ms, forced, same, expected, best, slower):
    """auto against the best direct-summation plan: a forced algorithm whose plan is
    auto's own counts with auto's time (never a second timing of the same call)."""
    sweep = importlib.import_module("pyconvx_bench.sweep")
    runs = [[{"model": "m", "batch": 1, "pyconvx_total_ms": auto_ms, "torch_total_ms": 1.0,
              "total_ratio": auto_ms, "complete": True,
              "layers": [_sweep_row(auto_ms, forced, same)]}]]
    (result,) = sweep.combine_runs(runs)
    (row,) = result["layers"]
    assert row["auto_vs_best"] == pytest.approx(expected)
    assert row["best_forced"] == best
    assert (result["auto_slower"] == ["layer"]) is slower
    table = report.format_sweep_model(dict(result, title="t", dtype="float32", conv_layers=1),
                                      algorithms=True)
    if best is None:
        assert f"auto's plan ({', '.join(same)})" in table
    else:
        assert f"| {best} (" in table


@pytest.mark.parametrize("name", ["environment", "timing", "report", "models", "machine",
                                  "workloads", "sweep",
                                  pytest.param("cluster", marks=pytest.mark.skipif(
                                      importlib.util.find_spec("dask") is None,
                                      reason="dask is not installed"))])
def test_docstring_examples(name):
    module = importlib.import_module(f"pyconvx_bench.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
