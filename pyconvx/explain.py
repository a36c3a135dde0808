"""``explain``: the step-by-step computation of one output value of ``conv``.

A teaching tool in the manner of the convolution tutorial's interactive
calculator: for one index into the result of :func:`pyconvx.conv` it gathers
the input window (padded cells marked), the kernel as applied (rotated 180
degrees when ``flip=True``), the element-wise products, the sum per input
channel and the total plus bias.  It takes exactly the arguments of ``conv``
and validates them with the same rules (``shapes.describe_conv``).

Only one output value is computed, in plain NumPy float64 (with an exactly
rounded sum), so ``.value`` equals ``conv``'s result at ``index`` to float64
rounding.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._boundary import source_index
from ._normalize import as_array, result_dtype
from ._typing import Algorithm, IntArg, IntTuple, PaddingArg, PaddingMode, RealNumber
from .shapes import describe_conv

#: An index into an array: one int per axis.
_Index = tuple[int, ...]

#: The text of one cell of a rendered array, from its index.
_Cell = Callable[[_Index], str]

__all__ = ["Explanation", "explain"]

#: Sums with more terms than this are shortened in the text.
_MAX_TERMS = 36


def _fmt(value: float | np.floating[Any]) -> str:
    """A number as the tutorial writes it: integers without a decimal point."""
    number = float(value)
    if math.isfinite(number) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6g}"


def _nested_lines(array: npt.NDArray[Any], cell: _Cell) -> list[str]:
    """Lines of a nested-list rendering (``[[1, 2],`` / `` [3, 4]]``)."""
    if array.ndim == 1:
        return ["[" + ", ".join(cell(index) for index in np.ndindex(array.shape)) + "]"]

    def render(sub_index: _Index, depth: int) -> list[str]:
        sub = array[sub_index]
        if sub.ndim == 1:
            return ["[" + ", ".join(cell(sub_index + (j,)) for j in range(sub.shape[0])) + "]"]
        lines = []
        for i in range(sub.shape[0]):
            child = render(sub_index + (i,), depth + 1)
            if i < sub.shape[0] - 1:
                child[-1] += ","
            lines.extend(child)
        lines = ["[" + lines[0]] + [" " + line for line in lines[1:]]
        lines[-1] += "]"
        return lines

    return render((), 0)


def _side_by_side(blocks: Sequence[Sequence[str]], joiner_row: int, joiner: str = " × "
                  ) -> list[str]:
    """Place blocks of lines next to each other, ``joiner`` on one row."""
    height = max(len(block) for block in blocks)
    widths = [max(len(line) for line in block) for block in blocks]
    lines = []
    for row in range(height):
        parts = []
        for number, (block, width) in enumerate(zip(blocks, widths)):
            text = block[row] if row < len(block) else ""
            parts.append(text.ljust(width))
            if number < len(blocks) - 1:
                parts.append(joiner if row == joiner_row else " " * len(joiner))
        lines.append("".join(parts).rstrip())
    return lines


def _sum_text(terms: Sequence[float | np.floating[Any]]) -> str:
    if len(terms) > _MAX_TERMS:
        head = [_fmt(v) if i == 0 or v >= 0 else f"({_fmt(v)})" for i, v in enumerate(terms[:24])]
        tail = [_fmt(v) if v >= 0 else f"({_fmt(v)})" for v in terms[-3:]]
        return " + ".join(head) + f" + ... ({len(terms) - 27} more) ... + " + " + ".join(tail)
    return " + ".join(
        _fmt(v) if i == 0 or v >= 0 else f"({_fmt(v)})" for i, v in enumerate(terms)
    )


def _index_text(index: Sequence[int]) -> str:
    return "[" + ",".join(str(i) for i in index) + "]"


class Explanation:
    """How one output value of :func:`pyconvx.conv` is computed.

    Attributes
    ----------
    index : tuple of int
        The (normalised, non-negative) index into the conv result.
    value : float
        The output value: ``sum(channel_sums) + bias``.
    batch : int or None
        The image of the batch (None for unbatched input).
    out_channel : int
        The output channel (the kernel ``weight[out_channel]``).
    group : int
        The channel group of that output channel.
    in_channels : tuple of int
        The input channels of ``x`` the kernel sees.
    origin : tuple of int
        Input coordinates of the window's first tap (negative inside the
        low padding).
    positions : numpy.ndarray
        ``(*kernel, ndim)`` int64: the input coordinates of every tap, before
        padding (may lie outside the input).
    padded : numpy.ndarray
        ``(*kernel,)`` bool: True where the tap lies in the padding.
    window : numpy.ndarray
        ``(C_in/groups, *kernel)`` float64: the values under the kernel
        (a padded cell holds what ``padding_mode`` puts there).
    kernel : numpy.ndarray
        ``(C_in/groups, *kernel)`` float64: ``weight[out_channel]`` as applied
        (rotated 180 degrees when ``flip`` is True).
    products : numpy.ndarray
        ``window * kernel``.
    channel_sums : numpy.ndarray
        ``(C_in/groups,)``: the sum of the products of each input channel.
    bias : float or None
        The bias added, if any.
    flip, padding_mode, stride, dilation, pads
        The canonical convolution parameters.
    """

    index: _Index
    value: float
    batch: int | None
    out_channel: int
    group: int
    in_channels: tuple[int, ...]
    origin: tuple[int, ...]
    positions: npt.NDArray[np.int64]
    padded: npt.NDArray[np.bool_]
    window: npt.NDArray[np.float64]
    kernel: npt.NDArray[np.float64]
    products: npt.NDArray[np.float64]
    channel_sums: npt.NDArray[np.float64]
    bias: float | None
    flip: bool
    padding_mode: PaddingMode
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]

    def __init__(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        return (
            f"Explanation(index={self.index}, value={self.value!r}, "
            f"in_channels={self.in_channels}, kernel_shape={self.kernel.shape[1:]})"
        )

    def _window_cell(self, channel: int) -> _Cell:
        window, padded = self.window[channel], self.padded
        zeros = self.padding_mode == "zeros"

        def cell(position: _Index) -> str:
            if padded[position]:
                return "pad" if zeros else f"({_fmt(window[position])})"
            return _fmt(window[position])

        return cell

    def _kernel_cell(self, channel: int) -> _Cell:
        return lambda position: _fmt(self.kernel[channel][position])

    def _product_cell(self, channel: int) -> _Cell:
        return lambda position: _fmt(self.products[channel][position])

    def __str__(self) -> str:
        spatial = self.kernel.shape[1:]
        origin = "(" + ",".join(str(o) for o in self.origin) + ")"
        lines = []
        multi = len(self.in_channels) > 1
        header = [f"Output{_index_text(self.index)}: kernel weight[{self.out_channel}]"]
        if multi:
            header.append(f"over input channels {', '.join(map(str, self.in_channels))}")
        if self.batch is not None:
            header.append(f"of image {self.batch}")
        lines.append(" ".join(header))
        settings = []
        if any(s != 1 for s in self.stride):
            settings.append(f"stride {self.stride}")
        if any(d != 1 for d in self.dilation):
            settings.append(f"dilation {self.dilation} (taps every {self.dilation} cells)")
        if any(low or high for low, high in self.pads):
            settings.append(f"padding {self.pads} ({self.padding_mode})")
        if settings:
            lines.append("with " + ", ".join(settings))
        if self.flip:
            lines.append(
                "Note: flip=True (true convolution): the kernel is rotated 180 degrees, "
                "so it is shown flipped."
            )
        if self.padded.any():
            if self.padding_mode == "zeros":
                lines.append("'pad' marks a padded cell (value 0).")
            elif self.padding_mode == "constant":
                lines.append("(v) marks a padded cell holding the padding value v.")
            else:
                lines.append(
                    f"(v) marks a padded cell holding v, taken from the input by "
                    f"padding_mode={self.padding_mode!r}."
                )
        lines.append("")
        for number, channel in enumerate(self.in_channels):
            if multi:
                lines.append(f"Input channel {channel}:")
            window_lines = [f"Window at {origin}:"] + _nested_lines(
                np.empty(spatial), self._window_cell(number)
            )
            kernel_lines = ["Kernel (flipped):" if self.flip else "Kernel:"] + _nested_lines(
                np.empty(spatial), self._kernel_cell(number)
            )
            joiner_row = 1 + (len(window_lines) - 1) // 2
            lines.extend(_side_by_side([window_lines, kernel_lines], joiner_row))
            lines.append("")
            lines.append("Element-wise multiply:")
            lines.extend(_nested_lines(np.empty(spatial), self._product_cell(number)))
            lines.append("")
            terms = list(self.products[number].ravel())
            label = "Sum all elements" if not multi else f"Sum for channel {channel}"
            lines.append(f"{label}: {_sum_text(terms)} = {_fmt(self.channel_sums[number])}")
            lines.append("")
        if multi or self.bias is not None:
            parts = [_fmt(s) for s in self.channel_sums]
            if self.bias is not None:
                parts.append(f"bias {_fmt(self.bias)}")
            lines.append(f"Total: {' + '.join(parts)} = {_fmt(self.value)}")
            lines.append("")
        lines.append(f"Output{_index_text(self.index)} = {_fmt(self.value)}")
        return "\n".join(lines)


def _exact_sum(values: Sequence[float | np.floating[Any]]) -> float:
    """The correctly rounded sum (plain summation when Inf/NaN or overflow)."""
    numbers = [float(v) for v in values]
    try:
        return math.fsum(numbers)
    except (ValueError, OverflowError):
        return float(np.sum(numbers))


def _normalize_index(index: object, out_shape: tuple[int, ...]) -> _Index:
    if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
        index = (index,)
    if not isinstance(index, (tuple, list)):
        raise TypeError(
            f"index must be a tuple of ints into the conv result of shape {out_shape}, "
            f"got {type(index).__name__} {index!r}"
        )
    if len(index) != len(out_shape):
        raise ValueError(
            f"index must have {len(out_shape)} entries for a conv result of shape "
            f"{out_shape}, got {index!r}"
        )
    normalised = []
    for entry, size in zip(index, out_shape):
        if isinstance(entry, (bool, np.bool_)):
            raise TypeError(f"index entries must be ints, got bool in {index!r}")
        try:
            entry = operator.index(entry)
        except TypeError:
            raise TypeError(
                f"index entries must be ints, got {type(entry).__name__} {entry!r} in {index!r}"
            ) from None
        if not -size <= entry < size:
            raise ValueError(
                f"index {index!r} is out of range for a conv result of shape {out_shape}")
        normalised.append(entry % size)
    return tuple(normalised)


def explain(
    x: npt.ArrayLike,
    weight: npt.ArrayLike,
    index: IntArg | Sequence[IntArg],
    bias: npt.ArrayLike | None = None,
    stride: IntTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntTuple = 1,
    groups: IntArg = 1,
    *,
    flip: bool = False,
    padding_mode: PaddingMode = "zeros",
    padding_value: RealNumber = 0.0,
    threads: int | None = None,
    algorithm: Algorithm = "auto",
) -> Explanation:
    """Explain, step by step, how ``conv(x, weight, ...)[index]`` is computed.

    Parameters
    ----------
    x, weight, bias, stride, padding, dilation, groups, flip, padding_mode, padding_value
        Exactly as for :func:`pyconvx.conv` (same validation, same errors).
    index : tuple of int
        An index into the conv result: ``(n, c_out, *position)`` for batched
        input, ``(c_out, *position)`` for unbatched input.  Negative entries
        count from the end.
    threads, algorithm
        Accepted for symmetry with :func:`pyconvx.conv`; they do not change
        the value.

    Returns
    -------
    Explanation
        With ``.value``, ``.window``, ``.kernel``, ``.products``,
        ``.channel_sums``, ``.bias`` and more; ``str()`` of it is the readable
        step-by-step text.

    Raises
    ------
    TypeError
        As :func:`pyconvx.conv`; or a non-integer ``index``.
    ValueError
        As :func:`pyconvx.conv`; or an ``index`` of the wrong length or out of
        range.

    Examples
    --------
    The tutorial's Sobel-X example on the 5x5 gradient image, output[0, 0]:

    >>> import numpy as np
    >>> import pyconvx
    >>> image = np.array([[10, 20, 30, 40, 50], [20, 40, 60, 80, 100],
    ...                   [30, 60, 90, 120, 150], [40, 80, 120, 160, 200],
    ...                   [50, 100, 150, 200, 250]], dtype=float)
    >>> steps = pyconvx.explain(image[None], pyconvx.kernels.sobel_x()[None, None], (0, 0, 0))
    >>> steps.value
    160.0
    >>> print(steps)
    Output[0,0,0]: kernel weight[0]
    <BLANKLINE>
    Window at (0,0):   Kernel:
    [[10, 20, 30],     [[-1, 0, 1],
     [20, 40, 60],   ×  [-2, 0, 2],
     [30, 60, 90]]      [-1, 0, 1]]
    <BLANKLINE>
    Element-wise multiply:
    [[-10, 0, 30],
     [-40, 0, 120],
     [-30, 0, 90]]
    <BLANKLINE>
    Sum all elements: -10 + 0 + 30 + (-40) + 0 + 120 + (-30) + 0 + 90 = 160
    <BLANKLINE>
    Output[0,0,0] = 160
    """
    array: npt.NDArray[Any] = as_array(x, "x")
    kernel_array: npt.NDArray[Any] = as_array(weight, "weight")
    bias_array: npt.NDArray[Any] | None = None if bias is None else as_array(bias, "bias")
    result_dtype((array.dtype, "x"), (kernel_array.dtype, "weight"))
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be a bool, got {type(flip).__name__} {flip!r}")
    geometry = describe_conv(
        array.shape,
        kernel_array.shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        padding_mode=padding_mode,
        padding_value=padding_value,
        bias_shape=None if bias_array is None else bias_array.shape,
    )
    out_shape = geometry.out_shape
    if 0 in out_shape:
        raise ValueError(
            f"the conv result of shape {out_shape} is empty; there is nothing to explain")
    index = _normalize_index(index, out_shape)
    if geometry.batched:
        batch, out_channel, position = index[0], index[1], index[2:]
        image = array[batch]
    else:
        batch, out_channel, position = None, index[0], index[1:]
        image = array
    group = out_channel // geometry.out_per_group
    first_in = group * geometry.in_per_group
    in_channels = tuple(range(first_in, first_in + geometry.in_per_group))

    kernel = np.array(kernel_array[out_channel], dtype=np.float64)
    if flip:
        kernel = kernel[(slice(None),) + (slice(None, None, -1),) * geometry.ndim].copy()

    # Input coordinate of every tap, per spatial dim, and where it reads from.
    axes_coords = []
    axes_sources = []
    for out_pos, size, k, s, d, (pad_low, _) in zip(
        position, geometry.in_spatial, geometry.kernel, geometry.stride, geometry.dilation,
        geometry.pads,
    ):
        coords = [out_pos * s - pad_low + tap * d for tap in range(k)]
        axes_coords.append(coords)
        axes_sources.append([source_index(c, size, geometry.padding_mode) for c in coords])
    grids = np.meshgrid(*[np.array(c, dtype=np.int64) for c in axes_coords], indexing="ij")
    positions = np.stack(grids, axis=-1)
    padded = np.zeros(geometry.kernel, dtype=bool)
    window = np.zeros((len(in_channels),) + geometry.kernel, dtype=np.float64)
    channel_block = np.asarray(image[first_in : first_in + geometry.in_per_group], dtype=np.float64)
    for tap in np.ndindex(*geometry.kernel):
        sources = [axes_sources[axis][t] for axis, t in enumerate(tap)]
        padded[tap] = any(
            not 0 <= axes_coords[axis][t] < size
            for axis, (t, size) in enumerate(zip(tap, geometry.in_spatial))
        )
        if any(source is None for source in sources):
            window[(slice(None),) + tap] = geometry.padding_value
            continue
        window[(slice(None),) + tap] = channel_block[(slice(None),) + tuple(sources)]

    products = window * kernel
    channel_sums = np.array([_exact_sum(p.ravel()) for p in products], dtype=np.float64)
    bias_value = None if bias_array is None else float(bias_array[out_channel])
    total = _exact_sum(list(products.ravel()) + ([bias_value] if bias_value is not None else []))
    return Explanation(
        index=index,
        value=float(total),
        batch=batch,
        out_channel=out_channel,
        group=group,
        in_channels=in_channels,
        origin=tuple(coords[0] for coords in axes_coords),
        positions=positions,
        padded=padded,
        window=window,
        kernel=kernel,
        products=products,
        channel_sums=channel_sums,
        bias=bias_value,
        flip=bool(flip),
        padding_mode=geometry.padding_mode,
        stride=geometry.stride,
        dilation=geometry.dilation,
        pads=geometry.pads,
    )
