"""The loader's rounds as they were made before ``_Streams._tail`` (each round sorted whole,
from the one before it): the reference that tests/test_loader.py and bench/bench_loader.py
compare the loader's order and speed against."""
from __future__ import annotations

import numpy as np


def sorted_round(self, c: int, rnd: int) -> np.ndarray:
    """``_Streams._round`` before: the order of reader ``c``'s windows in round ``rnd``, every
    round from the last one kept (or round 0) to ``rnd`` sorted whole."""
    lo, hi = self.bounds[c], self.bounds[c + 1]
    total, S = hi - lo, self.per_epoch
    r, order = self._rounds.get(c, (0, None))
    if r > rnd or order is None:
        r, order = 0, np.arange(total)
    if r < rnd:
        counts = np.diff(np.clip(self.offsets, lo, hi))
        counts = counts[counts > 0]
        unit = np.repeat(np.arange(len(counts)), counts)
    while r < rnd:
        r += 1
        rng = np.random.default_rng([self.seed, c, r])
        group = np.zeros(total, dtype=np.int8)
        tail = r * total % S
        if tail:
            read = order[total - tail :]
            group[np.isin(unit, unit[read])] = 1
            group[read] = 2
        rank = rng.permutation(len(counts))[unit]
        order = np.lexsort((rng.random(total), rank, group))
    self._rounds[c] = (rnd, order)
    return order
