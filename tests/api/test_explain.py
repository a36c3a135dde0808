"""pyconvx.explain: one output value, step by step; .value agrees with conv."""

import numpy as np
import pytest

import pyconvx
from pyconvx import kernels
from pyconvx.explain import explain

SOBEL_IMAGE = np.array(
    [[10, 20, 30, 40, 50], [20, 40, 60, 80, 100], [30, 60, 90, 120, 150],
     [40, 80, 120, 160, 200], [50, 100, 150, 200, 250]],
    dtype=float,
)


def test_seed_sobel_text():
    steps = explain(SOBEL_IMAGE[None], kernels.sobel_x()[None, None], (0, 0, 0))
    assert steps.value == 160.0
    text = str(steps)
    lines = text.splitlines()
    assert lines[2].startswith("Window at (0,0):") and "Kernel:" in lines[2]
    assert lines[3].startswith("[[10, 20, 30],") and lines[3].endswith("[[-1, 0, 1],")
    assert "×" in lines[4]
    assert "Element-wise multiply:\n[[-10, 0, 30],\n [-40, 0, 120],\n [-30, 0, 90]]" in text
    assert "Sum all elements: -10 + 0 + 30 + (-40) + 0 + 120 + (-30) + 0 + 90 = 160" in text
    assert lines[-1] == "Output[0,0,0] = 160"
    np.testing.assert_array_equal(steps.window[0], SOBEL_IMAGE[:3, :3])
    np.testing.assert_array_equal(steps.products[0], [[-10, 0, 30], [-40, 0, 120], [-30, 0, 90]])
    assert steps.bias is None and steps.channel_sums.tolist() == [160.0]
    # the other rows of the seeds' output
    assert explain(SOBEL_IMAGE[None], kernels.sobel_x()[None, None], (0, 1, 2)).value == 240
    assert explain(SOBEL_IMAGE[None], kernels.sobel_x()[None, None], (0, -1, -1)).value == 320


def test_seed_rgb_channel_sums():
    rgb = np.array(
        [[[255, 200, 150, 100], [220, 180, 140, 80], [180, 140, 100, 60], [140, 100, 60, 40]],
         [[100, 120, 140, 160], [80, 100, 120, 140], [60, 80, 100, 120], [40, 60, 80, 100]],
         [[50, 80, 110, 140], [70, 100, 130, 160], [90, 120, 150, 180], [110, 140, 170, 200]]],
        dtype=float,
    )
    kernel = np.array(
        [[[1, 0, -1], [2, 0, -2], [1, 0, -1]], [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
         [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]],
        dtype=float,
    )
    steps = explain(rgb, kernel[None], (0, 0, 0))
    assert steps.channel_sums.tolist() == [345, 0, 0]
    assert "Total: 345 + 0 + 0 = 345" in str(steps)
    assert [explain(rgb, kernel[None], (0, i, j)).value for i in (0, 1) for j in (0, 1)] == [345, 380, 320, 320]
    patch = np.array([[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]], dtype=float)
    weights = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[1, 1], [1, 1]]], dtype=float)
    steps = explain(patch, weights[None], (0, 0, 0), bias=np.array([0.5]))
    assert steps.channel_sums.tolist() == [5, 13, 42] and steps.value == 60.5
    assert "Total: 5 + 13 + 42 + bias 0.5 = 60.5" in str(steps)


def test_padding_and_flip_shown():
    steps = explain(SOBEL_IMAGE[None], kernels.sobel_x()[None, None], (0, 0, 0), padding=1, flip=True)
    text = str(steps)
    assert "Window at (-1,-1):" in text and "[[pad, pad, pad]," in text
    assert "flip=True" in text and "Kernel (flipped):" in text
    np.testing.assert_array_equal(steps.kernel[0], kernels.sobel_x()[::-1, ::-1])
    assert steps.padded.sum() == 5 and steps.padded[0].all() and steps.padded[:, 0].all()
    reflect = explain(SOBEL_IMAGE[None], kernels.sobel_x()[None, None], (0, 0, 0), padding=1,
                      padding_mode="reflect")
    assert "(40)" in str(reflect) and "padding_mode='reflect'" in str(reflect)
    assert reflect.window[0, 0, 0] == SOBEL_IMAGE[1, 1]
    assert reflect.positions[0, 0].tolist() == [-1, -1]


CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=((2, 0), (1, 2)), padding_mode="zeros"),
    dict(padding=2, padding_mode="reflect", dilation=(1, 2)),
    dict(padding=(1, 3), padding_mode="replicate", stride=(1, 3)),
    dict(padding=((3, 1), (0, 2)), padding_mode="circular"),
    dict(groups=2, dilation=2, padding="same"),
    dict(groups=4, flip=True, padding="full"),
    dict(flip=True, stride=3, padding=1, padding_mode="reflect", groups=2),
]


@pytest.mark.parametrize("kwargs", CASES)
def test_value_matches_conv(kwargs):
    rng = np.random.default_rng(len(str(kwargs)))
    groups = kwargs.get("groups", 1)
    x = rng.standard_normal((2, 4, 7, 8))
    weight = rng.standard_normal((4, 4 // groups, 3, 2))
    bias = rng.standard_normal(4)
    result = pyconvx.conv(x, weight, bias, **kwargs)
    for index in [tuple(int(rng.integers(0, s)) for s in result.shape) for _ in range(12)] + [
        (0, 0, 0, 0), tuple(s - 1 for s in result.shape)
    ]:
        steps = explain(x, weight, index, bias, **kwargs)
        scale = float(np.abs(steps.products).sum() + abs(steps.bias))
        assert steps.value == pytest.approx(float(result[index]), rel=1e-13, abs=1e-14 * scale)
    # unbatched and 1-d / 3-d
    steps = explain(x[1], weight, (3, 1, 1), bias, **kwargs)
    assert steps.value == pytest.approx(float(result[1, 3, 1, 1]), rel=1e-12)
    assert steps.batch is None


@pytest.mark.parametrize("ndim", [1, 3])
def test_other_ranks(ndim):
    rng = np.random.default_rng(ndim)
    x = rng.integers(-5, 5, (2,) + (5,) * ndim).astype(float)
    weight = rng.integers(-3, 3, (3, 2) + (2,) * ndim).astype(float)
    result = pyconvx.conv(x, weight, stride=2, padding=1, padding_mode="replicate")
    for index in np.ndindex(*result.shape):
        steps = explain(x, weight, index, stride=2, padding=1, padding_mode="replicate")
        assert steps.value == result[index]
    assert "Output[" in str(steps)


def test_long_sums_are_shortened():
    steps = explain(np.ones((1, 9, 9)), np.ones((1, 1, 7, 7)), (0, 0, 0))
    assert "more) ..." in str(steps) and steps.value == 49


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: explain(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), (0, 3, 0)), ValueError, "out of range"),
        (lambda: explain(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), (0, 0)), ValueError, "must have 3 entries"),
        (lambda: explain(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), (0, 0.0, 0)), TypeError, "index entries must be ints"),
        (lambda: explain(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), "0"), TypeError, "index must be a tuple"),
        (lambda: explain(np.ones((2, 5, 5)), np.ones((1, 1, 3, 3)), (0, 0, 0)), ValueError, "C_in=2"),
        (lambda: explain(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), (0, 0, 0), stride=0), ValueError, "stride must be >= 1"),
        (lambda: explain(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), (0, 0, 0), flip=1), TypeError, "flip must be a bool"),
        (lambda: explain(np.ones((1, 5, 5)), np.ones((1, 1, 3, 3)), (0, 0, 0), bias=np.ones(2)), ValueError, "bias must have shape"),
        (lambda: explain(np.ones((1, 5, 5), np.complex128), np.ones((1, 1, 3, 3)), (0, 0, 0)), TypeError, "x has dtype complex128"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
