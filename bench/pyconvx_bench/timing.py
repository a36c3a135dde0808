"""Interleaved timing: the sides of a comparison called in turn, medians kept.

Each side is called a few times to warm up (thread pools, caches, plans), then
the sides are called alternately, the order reversed every round (A B, B A,
A B, ...), so that drift in the clock or in the load of other processes hits
them alike.  With more than two sides the order also turns by one place every
second round (A B C, C B A, B C A, A C B, ...), so that no side keeps the same
neighbours.  Every call is timed with ``time.perf_counter``; the garbage
collector is off during the timed rounds; the medians are compared.
"""

import gc
import statistics
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["GAP_SECONDS", "Budget", "agreement_note", "interleave", "median_ms", "pause"]

#: Pause between two timed calls (seconds), spent busy-waiting.  After a
#: parallel region an OpenMP runtime spins for a while before its threads
#: sleep; pyconvx and torch each bring their own, so on 2 cores the spinning
#: pool of one side would steal the cores of the other's next call (measured:
#: both burn 1-5 ms of CPU after a call).  Busy rather than asleep: after a
#: sleep the next call pays for waking the idle core (about 0.7 ms more on a
#: 3 ms call here).  The pause is not part of any timed interval.
GAP_SECONDS = 0.005


@dataclass(frozen=True)
class Budget:
    """How long one comparison is timed.

    Attributes
    ----------
    warmup : int
        Untimed calls of each side first.
    rounds : int
        Timed rounds aimed at (one call of each side per round).
    min_rounds : int
        Rounds always run.
    seconds : float
        After this many seconds no new round starts once ``min_rounds`` ran.
    """

    warmup: int
    rounds: int
    min_rounds: int
    seconds: float


def pause(seconds):
    """Busy-wait ``seconds`` (see :data:`GAP_SECONDS`)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def interleave(calls, budget, gap=GAP_SECONDS, counts=None):
    """Time zero-argument callables alternately; return their per-call seconds.

    Parameters
    ----------
    calls : sequence of callable
        The sides of the comparison.
    budget : Budget
    gap : float, optional
        Busy pause before every timed call.
    counts : sequence of int, optional
        Calls of each side in a row per round (default 1 each): a fast side
        next to a peer that takes a second gets more samples.

    Returns
    -------
    list of list of float
        One list of seconds per callable.

    Examples
    --------
    >>> times = interleave([lambda: None, lambda: None], Budget(1, 3, 3, 0.0), gap=0)
    >>> [len(t) for t in times]
    [3, 3]
    >>> order = []
    >>> _ = interleave([lambda s=s: order.append(s) for s in "ABC"], Budget(0, 4, 4, 0.0), gap=0)
    >>> "".join(order)
    'ABCCBABCAACB'
    """
    counts = list(counts or [1] * len(calls))
    for _ in range(budget.warmup):
        for call in calls:
            call()
    times = [[] for _ in calls]
    sides = list(range(len(calls)))
    start = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()
    try:
        rounds = 0
        while rounds < budget.rounds:
            turn = rounds // 2 % len(sides) if len(sides) > 2 else 0
            order = sides[turn:] + sides[:turn]
            if rounds % 2:
                order.reverse()
            for index in order:
                for _ in range(counts[index]):
                    if gap:
                        pause(gap)
                    begin = time.perf_counter()
                    calls[index]()
                    times[index].append(time.perf_counter() - begin)
            rounds += 1
            if rounds >= budget.min_rounds and time.perf_counter() - start > budget.seconds:
                break
    finally:
        if collecting:
            gc.enable()
    return times


def median_ms(seconds):
    """Median of per-call seconds, in milliseconds (None for no samples).

    Examples
    --------
    >>> median_ms([0.001, 0.003, 0.002])
    2.0
    """
    return statistics.median(seconds) * 1e3 if seconds else None


def _as_numpy(value):
    """``value`` as one flat NumPy array: a torch tensor through NumPy, a tuple or
    list (a call's several products, e.g. two gradients) joined in order."""
    if isinstance(value, (tuple, list)):
        return np.concatenate([_as_numpy(part) for part in value])
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().numpy()
    return np.asarray(value).reshape(-1)


def agreement_note(ours, theirs, dtype):
    """A note if two results differ beyond a loose tolerance, else None.

    Guards the like-for-like claim of a comparison (same padding, same
    orientation of the kernel); it is not an accuracy test.  A result may be
    a tuple of arrays (a call's products, compared in order as one).  The error is the
    largest difference relative to the largest value of ``theirs``; the
    tolerance is 1e-3 for float32 and 1e-8 for float64.

    Examples
    --------
    >>> agreement_note(np.ones(3), np.ones(3), "float64") is None
    True
    >>> agreement_note(np.ones(3), np.ones(4), "float64")
    'CHECK: output sizes differ (3 vs 4)'
    >>> agreement_note((np.ones(2), np.zeros(2)), np.array([1.0, 1.0, 0.0, 0.0]), "float64")
    """
    a = _as_numpy(ours).astype(np.float64)
    b = _as_numpy(theirs).astype(np.float64)
    if a.shape != b.shape:
        return f"CHECK: output sizes differ ({a.size} vs {b.size})"
    scale = float(np.max(np.abs(b))) if b.size else 1.0
    error = float(np.max(np.abs(a - b))) / (scale or 1.0) if a.size else 0.0
    tolerance = 1e-3 if np.dtype(dtype) == np.float32 else 1e-8
    if not error <= tolerance:
        return f"CHECK: results differ (max error {error:.2g} of the largest peer value)"
    return None
