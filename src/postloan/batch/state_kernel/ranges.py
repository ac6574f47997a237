"""How Python hands arrays and work to the compiled loops.

Two small rules shared by every caller: inputs go in as read-only contiguous
views (numba types, compiles and caches a loop per array flavour, so writable
and read-only inputs would cost two compiles), and work is split into ranges of
whole loans, one thread each (the loops release the GIL, and no two ranges touch
the same loan)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def frozen(*arrays: np.ndarray) -> list[np.ndarray]:
    """Read-only, contiguous views of ``arrays`` (copies only if not contiguous)."""
    out = []
    for x in arrays:
        view = np.ascontiguousarray(x).view()
        view.setflags(write=False)
        out.append(view)
    return out


def cuts(size: int, threads: int) -> list[int]:
    """``0 .. size`` cut into at most ``threads`` near-equal ranges (boundaries)."""
    count = max(1, min(threads, size))
    return [size * k // count for k in range(count + 1)]


def in_ranges(boundaries: list[int], work: Callable[[int, int], T]) -> list[T]:
    """``work(lo, hi)`` for each pair of neighbouring ``boundaries``, a thread each."""
    pairs = list(zip(boundaries[:-1], boundaries[1:], strict=True))
    if len(pairs) == 1:
        return [work(*pairs[0])]
    with ThreadPoolExecutor(len(pairs)) as pool:
        return list(pool.map(lambda pair: work(*pair), pairs))
