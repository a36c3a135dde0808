"""The documented rules of Winograd F(2x2,3x3), per output, from the float64 reference.

The engine computes each 2x2 block of outputs from one 4x4 tile ``d`` of the
padded input (Lavin & Gray): ``V = B^T d B``, ``U = G w G^T`` per pair of
channels, ``M = sum over input channels of U * V`` and ``Y = A^T M A``.  The
blocks are aligned on the output's first row and column (output ``(i, j)``
lies in block ``(i // 2, j // 2)``, whose tile starts at row ``2 * (i // 2)``
and column ``2 * (j // 2)`` of the padded input).  Its documented bound is
that of the tile: ``|error| <= K * eps * (T + |bias|)``, where ``T`` sums,
over the input channels and the output's 4x4 tile, ``|x|`` times the
magnitudes of the transformed weights along the output's own path through
the transforms,

    T = |A^T| (sum over ci of (|G| |w| |G^T|) * (|B^T| |d| |B|)) |A|

at the output's place ``(i % 2, j % 2)`` in its block (``K``: the products of
an output plus one, ``eps``: the machine epsilon).  Every rounding of the
four steps is relative to these magnitudes: ``V`` has two roundings per
entry, ``U`` four (two additions, then a halving, twice), ``M`` ``C_in``
(one fused multiply-add per input channel), ``Y`` four, the bias one: at
most ``(C_in + 11) * eps / 2`` relative to ``T + |bias|``, within
``K * eps = (9 * C_in + 1) * eps``.  Large values next to an output's window
cancel through the transforms, so ``T`` can be far above the output's own
window sum; it is zero only where the tile is.  Per input channel ``T`` is
at most ``16 * max|w| * (sum of |x| over the tile)`` (the coefficient of the
tile's pixel (2, 2) for an output at (0, 0)): the documented "c * K * eps *
sum(|w| |x|) over the whole 4x4 input tile (c about 4-16)" read that way.

NaN and Inf: a non-finite input anywhere in a tile (or in the output
channel's weights or bias) may reach every output of the tile's 2x2 block,
and an Inf may come out as NaN (``Inf - Inf`` inside the transforms).
"""

import numpy as np

from .checks import Finding, within_bound
from .oracle import explicit_pads, finite_part
from _reference import EPS, pad_reference

#: The transforms of F(2x2,3x3) the engine uses.
B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


def _batched(x):
    """``x`` with a batch axis (the reference's unbatched form gets one of 1)."""
    return x if x.ndim == 4 else x[np.newaxis]


def _tiles(padded, out_shape):
    """The 4x4 tiles of ``padded`` (N, C, Hp, Wp): (N, C, TH, TW, 4, 4).

    Past the padded input the tiles read zeros: only the outputs past the
    result (which the engine drops) read there.
    """
    tile_rows, tile_cols = -(-out_shape[0] // 2), -(-out_shape[1] // 2)
    extended = np.zeros(padded.shape[:2] + (2 * tile_rows + 2, 2 * tile_cols + 2),
                        dtype=padded.dtype)
    rows, cols = min(padded.shape[2], extended.shape[2]), min(padded.shape[3], extended.shape[3])
    extended[:, :, :rows, :cols] = padded[:, :, :rows, :cols]
    windows = np.lib.stride_tricks.sliding_window_view(extended, (4, 4), axis=(2, 3))
    return windows[:, :, ::2, ::2]


def _outputs(blocks, out_shape):
    """(..., TH, TW, 2, 2) per block -> (..., H_out, W_out) per output."""
    lead = blocks.shape[:-4]
    tile_rows, tile_cols = blocks.shape[-4], blocks.shape[-3]
    axes = tuple(range(len(lead)))
    n = len(lead)
    grid = blocks.transpose(axes + (n, n + 2, n + 1, n + 3))
    grid = grid.reshape(lead + (2 * tile_rows, 2 * tile_cols))
    return grid[..., :out_shape[0], :out_shape[1]]


def _padded(x, weight, kwargs):
    batched = _batched(np.asarray(x, dtype=np.float64))
    return pad_reference(batched, explicit_pads(batched.shape, weight.shape, kwargs),
                         kwargs["padding_mode"])


def _grouped(per_input_channel, groups):
    """(N, C_in, ...) -> (N, groups, C_in / groups, ...)."""
    n, channels = per_input_channel.shape[:2]
    return per_input_channel.reshape((n, groups, channels // groups)
                                     + per_input_channel.shape[2:])


def tile_bound(x, weight, bias, dtype, kwargs):
    """Element-wise documented bound of Winograd F(2x2,3x3) (see the module docstring).

    ``x``, ``weight``, ``bias`` as passed (NaN and Inf count as 0: the
    outputs they reach are compared by ``nonfinite_rule``), ``kwargs`` the
    reference's keyword arguments of a 2-d 3x3 stride-1 problem.
    """
    weight = np.abs(finite_part(weight))
    padded = np.abs(_padded(finite_part(x), weight, kwargs))
    out_shape = (padded.shape[2] - 2, padded.shape[3] - 2)
    groups = kwargs["groups"]
    if kwargs["flip"]:
        weight = weight[..., ::-1, ::-1]
    abs_bt, abs_g, abs_at = np.abs(B_T), np.abs(G), np.abs(A_T)
    v_bar = np.einsum("kr,nctwrs,ls->nctwkl", abs_bt, _tiles(padded, out_shape), abs_bt)
    v_bar = _grouped(v_bar, groups)                              # (N, g, ci, TH, TW, 4, 4)
    u_bar = np.einsum("kr,oirs,ls->oikl", abs_g, weight, abs_g)
    u_bar = u_bar.reshape((groups, weight.shape[0] // groups) + u_bar.shape[1:])
    m_bar = np.einsum("goikl,ngitwkl->ngotwkl", u_bar, v_bar)    # (N, g, co, TH, TW, 4, 4)
    scale = np.einsum("ak,ngotwkl,bl->ngotwab", abs_at, m_bar, abs_at)
    scale = _outputs(scale.reshape(scale.shape[:1] + (weight.shape[0],) + scale.shape[3:]),
                     out_shape)
    # halving a subnormal weight sum loses up to half its last bit: an absolute
    # error of the transformed weights, times the transformed input
    v_sum = np.einsum("ak,ngitwkl,bl->ngtwab", abs_at, v_bar, abs_at)
    v_sum = _outputs(np.repeat(v_sum, weight.shape[0] // groups, axis=1), out_shape)
    if bias is not None:
        scale = scale + np.abs(finite_part(bias)).reshape(-1, 1, 1)
    terms = weight.shape[1] * 9 + 1
    tiny = float(np.finfo(dtype).smallest_subnormal)
    bound = terms * EPS[np.dtype(dtype)] * scale + 2 * tiny * v_sum + 2 * terms * tiny
    return bound if np.ndim(x) == 4 else bound[0]


def tainted(x, weight, bias, kwargs):
    """Per output: whether a NaN or Inf may reach it (the documented tile rule).

    True where the 4x4 tile of the output's block holds a non-finite input of
    the output's group, or the output channel's weights or bias hold one.
    """
    weight = np.asarray(weight, dtype=np.float64)
    padded = _padded(x, weight, kwargs)
    out_shape = (padded.shape[2] - 2, padded.shape[3] - 2)
    groups = kwargs["groups"]
    in_tile = (~np.isfinite(_tiles(padded, out_shape))).any(axis=(-2, -1))  # (N, C, TH, TW)
    in_tile = _grouped(in_tile, groups).any(axis=2)                         # (N, g, TH, TW)
    blocks = np.repeat(in_tile, weight.shape[0] // groups, axis=1)          # (N, C_out, ...)
    blocks = np.broadcast_to(blocks[..., np.newaxis, np.newaxis], blocks.shape + (2, 2))
    reach = _outputs(blocks, out_shape)
    channel = ~np.isfinite(weight).all(axis=(1, 2, 3))
    if bias is not None:
        channel = channel | ~np.isfinite(np.asarray(bias, dtype=np.float64))
    reach = reach | channel.reshape(-1, 1, 1)
    return reach if np.ndim(x) == 4 else reach[0]


def check_tile_rule(got, expected, bound, reach, nan_operand, key):
    """Raise a Finding unless ``got`` keeps the documented rules of Winograd.

    ``expected``: the definition (NaN and Inf placed by ``conv_expected``);
    ``bound``: ``tile_bound``; ``reach``: ``tainted``; ``nan_operand``:
    ``oracle.nan_operands``.  An output the definition makes non-finite is
    non-finite: NaN where a NaN is among its operands (NaN survives every
    transform), else its Inf or NaN.  An output no NaN or Inf may reach has
    the definition's class.  Every output finite in both lies within the
    bound (an output a NaN or Inf may reach, but did not, included).
    """
    got64 = np.asarray(got, dtype=np.float64)
    definite = np.isfinite(expected)
    with np.errstate(invalid="ignore"):
        wrong_inf = np.isinf(expected) & np.isinf(got64) & (np.sign(got64) != np.sign(expected))
    rules = (
        (~definite & np.isfinite(got64), "finite where the definition is NaN or Inf"),
        (nan_operand & ~np.isnan(got64), "not NaN where a NaN is an operand"),
        (wrong_inf, "an Inf of the other sign"),
        (~reach & (np.isfinite(got64) != definite), "non-finite where no NaN or Inf reaches"),
    )
    for bad, rule in rules:
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise Finding("nonfinite", f"result: {int(bad.sum())} of {got64.size} outputs "
                          f"{rule}; first at {where}: got {got64[where]!r}, reference "
                          f"{expected[where]!r}", key)
    both = definite & np.isfinite(got64)
    within_bound(np.where(both, got64, 0.0), np.where(both, expected, 0.0), bound, key=key)
