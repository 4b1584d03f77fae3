"""DEAL ``window-ranges/2``: the order an earlier curate's loader read each epoch in, kept ONLY
to finish the epoch a state it saved was in (``TokenLoader.load_state_dict``; the epochs after
it are ``window-ranges/3``'s, ``curate.loader._Streams``). Not for new states.

A reader's stream was rounds of its range, epoch after epoch continuing it: round 0 in manifest
order, each later round the units and windows in an order seeded by the round, but for the
windows the epoch across its start read of the round before, put last (its *tail*): a chain
from round 1, walked once (``_last``: a few small steps a round) to reach the saved epoch.
The code as it was at 304d768, unchanged but for the class it sits in.
"""
from __future__ import annotations

import numpy as np


class Rounds:
    """window-ranges/2's ``windows`` for ``curate.loader._Streams`` (its bounds, seed,
    per_epoch and _units): a mix-in, the rounds made kept on the instance."""

    def __init__(self, *args):
        super().__init__(*args)
        self._rounds: dict = {}  # reader -> (round, its order): the last one made
        self._tails: dict = {}  # reader -> {round: the windows it puts last (``_tail``)}: the last few found

    def windows(self, c: int, start: int, stop: int):
        """Reader ``c``'s windows at positions ``start`` to ``stop`` of its stream, as arrays (a round's part each)."""
        lo, hi = self.bounds[c], self.bounds[c + 1]
        total = hi - lo
        rnd, skip = divmod(start, total)
        while start < stop:  # at most a few rounds: an epoch reads no more than a share
            take = min(total - skip, stop - start)
            yield lo + self._round(c, rnd)[skip : skip + take]
            start, rnd, skip = start + take, rnd + 1, 0

    def _round(self, c: int, rnd: int) -> np.ndarray:
        """The order of reader ``c``'s windows (numbered through its range) in round ``rnd``.

        Round 0 is the units' own order (the pipeline's shuffle). Each later round draws the
        units (their parts in the range), and windows in each, in an order seeded by the round,
        except that an epoch spanning the end of the last round and the start of this one must
        not read a window twice: the windows that epoch read at the end of the last round
        (``_tail``) come last in this one, after the rest of the units they are in."""
        made = self._rounds.get(c)
        if made is not None and made[0] == rnd:
            return made[1]
        starts, sizes = self._units(c)
        total = int(sizes.sum())
        if rnd == 0:
            order = np.arange(total)
        else:
            full, part = self._tail(c, rnd)
            read = _members(starts, sizes, full, part)
            unit = np.repeat(np.arange(len(sizes)), sizes)
            group = np.zeros(total, dtype=np.int8)
            group[np.repeat(np.isin(np.arange(len(sizes)), [*full, *part]), sizes)] = 1  # units it read from: after the others
            group[read] = 2  # the windows it read: last
            rng = np.random.default_rng([self.seed, c, rnd])
            rank = rng.permutation(len(sizes))[unit]
            order = np.lexsort((rng.random(total), rank, group))
        self._rounds[c] = (rnd, order)
        return order

    def _tail(self, c: int, rnd: int) -> tuple[np.ndarray, dict]:
        """The windows of round ``rnd - 1`` that the epoch across its end read (its last
        ``rnd * total % per_epoch``), as (units read whole, {unit: windows read of it}).

        Round r's tail is the last windows of round r - 1's order, which puts round r - 1's own
        tail last: a chain from round 1. Each step finds only which windows come last (the
        units by their drawn rank, the windows of the one cut by the boundary by their drawn
        numbers), not the whole order, so reaching round R costs R small steps (sorting every
        round's order, epoch 10,000 cost minutes); the last few found are kept for the next."""
        starts, sizes = self._units(c)
        total, S = int(sizes.sum()), self.per_epoch
        kept = self._tails.setdefault(c, {})
        r = max((k for k in kept if k <= rnd), default=0)
        tail = kept[r] if r else _as_units(starts, sizes, np.arange(total - total % S, total))  # round 1's: the units' own order's
        r = max(r, 1)
        while r < rnd:
            tail, r = _last(self.seed, c, r, starts, sizes, tail, (r + 1) * total % S), r + 1
        kept[r] = tail
        for old in sorted(kept)[:-4]:  # the last few: an epoch reads two rounds, a DataLoader's walk runs ahead
            del kept[old]
        return tail


def _members(starts: np.ndarray, sizes: np.ndarray, full, part: dict) -> np.ndarray:
    """The windows of (units read whole, {unit: windows read of it}), sorted."""
    blocks = [np.arange(starts[u], starts[u] + sizes[u]) for u in full] + list(part.values())
    return np.sort(np.concatenate(blocks)) if blocks else np.zeros(0, np.int64)


def _as_units(starts: np.ndarray, sizes: np.ndarray, windows: np.ndarray) -> tuple[np.ndarray, dict]:
    """Sorted windows as (units they fill, {unit: its windows among them})."""
    unit = np.searchsorted(starts, windows, side="right") - 1
    us, first, n = np.unique(unit, return_index=True, return_counts=True)
    whole = n == sizes[us]
    return us[whole], {int(u): windows[f : f + k] for u, f, k, w in zip(us, first, n, whole) if not w}


def _last(seed: int, c: int, r: int, starts: np.ndarray, sizes: np.ndarray, tail: tuple, k: int) -> tuple[np.ndarray, dict]:
    """The last ``k`` windows of reader ``c``'s round ``r`` (r >= 1), given round r's ``tail``,
    without sorting the round. Its order (``_Streams._round``) sorts by group (2: the tail, 1: the
    rest of the units the tail touches, 0: the other units), then the unit's drawn rank, then the
    window's drawn number (then the window: lexsort is stable). So its last windows are those of
    the highest groups, of the group cut the highest-ranked units', and of the unit cut the
    windows of the highest numbers: only that unit's numbers are drawn (PCG64 skips to them)."""
    full, part = tail
    if k == 0:
        return np.zeros(0, np.int64), {}
    rng = np.random.default_rng([seed, c, r])
    rank = rng.permutation(len(sizes))  # the windows' numbers follow, one 64-bit draw each

    def top(u: int, skip: np.ndarray | None, n: int) -> np.ndarray:
        """Unit u's ``n`` windows of the highest numbers (ties: the later window), ``skip`` aside (once a step)."""
        rng.bit_generator.advance(int(starts[u]))
        drawn = rng.random(int(sizes[u]))
        if skip is not None:
            drawn[skip - starts[u]] = -1.0  # below every number drawn (they are in [0, 1))
        cut = np.partition(drawn, len(drawn) - n)[len(drawn) - n]  # the n-th highest
        above = np.flatnonzero(drawn > cut)
        return starts[u] + np.sort(np.concatenate([above, np.flatnonzero(drawn == cut)[len(above) - n :]]))

    parted = np.fromiter(part, np.int64, len(part))
    touched = np.concatenate([np.asarray(full, np.int64), parted])
    by_rank = np.empty(len(sizes), np.int64)
    by_rank[len(sizes) - 1 - rank] = np.arange(len(sizes))  # the units from the highest rank down
    free = np.ones(len(sizes), bool)
    free[touched] = False
    others = by_rank[free[by_rank]]
    held = np.array([len(part[u]) for u in parted.tolist()], np.int64)
    tiers = [  # group 2, 1, 0: (its units, how many windows of each it holds, (unit -> its windows not in it) for the cut)
        (touched, np.concatenate([sizes[full], held]).astype(np.int64),
         lambda u: np.setdiff1d(np.arange(starts[u], starts[u] + sizes[u]), part[u], assume_unique=True) if u in part else None),
        (parted, sizes[parted] - held, lambda u: part[u]),
        (others, sizes[others], lambda u: None),
    ]
    new_full, new_part = [], {}
    for group, (units, n, skip) in zip((2, 1, 0), tiers):
        if k == 0:
            break
        if group != 0:  # ``others`` are in rank order already
            order = np.argsort(-rank[units], kind="stable")
            units, n = units[order], n[order]
        units = units.tolist()
        cum = np.cumsum(n)
        whole = int(np.searchsorted(cum, k, side="right"))  # the units taken whole
        k -= int(cum[whole - 1]) if whole else 0
        for u in units[:whole]:
            if group == 2 and u in part:
                new_part[u] = part[u]
            else:  # a whole unit of group 2 or 0; group 1's rest of a unit: with its tail, all of it
                new_part.pop(u, None)
                new_full.append(u)
        if k and whole < len(units):  # the unit cut by the boundary: its windows of the highest numbers
            u = units[whole]
            got = top(u, skip(u), k)
            new_part[u] = np.sort(np.concatenate([part[u], got])) if group == 1 else got
            k = 0
    return np.array(sorted(new_full), np.int64), new_part
