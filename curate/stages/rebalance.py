"""Domain rebalancing: a token-budgeted mixture of domains (and sources), deterministic by id hash.

Config (``[rebalance]``)::

    targets = {web = 0.6, code = 0.25, books = 0.15}  # token fractions per domain; {} = natural mix
    sources = {web = {c4 = 0.5, cc = 0.5}}            # optional split of a domain's share by source
    languages = {web = {en = 0.5, de = 0.2, fr = 0.2, "*" = 0.1}}  # ... or by langid's language
    budget = 0            # tokens in the mix; 0 = the largest mix that fits under max_epochs
    max_epochs = {code = 4, books = 3}                # per domain; unlisted domains: 1 (no repeats)
    rehydrate = [[2, 2.0], [10, 3.0]]                 # weight by dup_group_size >= n (FineWeb-2 style)
    seed = 0
    tolerance = 0.05      # most a group's achieved token share may miss its target, and the
                          # mix's tokens rebalance.budget (as a share of the budget)

A *group* is a domain, or a (domain, source) pair when ``sources`` splits that domain (label
``web/c4``), or a (domain, language) pair when ``languages`` splits it (label ``web:en``; the
``language`` column langid sets). A domain is split one way: by sources or by languages. Documents
of domains/sources/languages without a share go to the ledger (``not_in_mix``); a language split's
``"*"`` takes every language it does not list (and documents without one). Language codes are
checked where the run is known (``config._rebalance_languages``): labels of the langid model the
run uses (``jpn`` or ``zh-CN`` fails with the label it means), or for code the reader's names.

**A document's copies.** Copy j = 0, 1, 2, ... of a document with weight w (1, or the
rehydration weight of its duplicate group) has a threshold θ_j = (j + u_j) / w, where
u_j = hash(seed, id, j) is uniform in [0, 1). Thresholds grow with j, so the copies kept at a
group rate r (in epochs) are the j with θ_j < r: floor(r·w) or one more, r·w on average. The
decision depends only on (seed, id, weight, the group's rate): never on order, sharding or
worker count. ``max_epochs`` caps r, so a group's capacity (what it gives at the cap; the
feasibility test, ``budget = 0`` and the errors use it) is Σ tokens × w × max_epochs, read off
the histogram, not tokens × max_epochs.

**The rates.** r = target / available would hit the target only in expectation (about ±0.5
percentage point at 10k documents). Instead a combine sums each copy's tokens into a histogram
of θ per group (1/4096-epoch buckets, int64 sums: exact and independent of merge order), and the
rate is the bucket edge where the cumulative tokens meet the target. The achieved mix then
equals the plan to within one bucket's tokens, and the plan knows it exactly. A bucket holds
whole documents, so a group of a few large documents (books) against a small target cannot
come near it: beyond ``tolerance`` (a share of the mix) the plan raises ``InfeasibleMix``
instead of writing books 0% for a 20% target; and the mix's total beyond ``tolerance`` of a
``budget`` asked raises too (the cuts' rounding adds up: 484,152 tokens for 500,000). The
message ends with what the data gives (each group's tokens, the natural mix, the nearest cut).
The plan (one
integer cutoff per group) is the small side input of the selection. What the plan reads of each
document (id, domain, source, language, num_tokens, dup_group_size) is kept as DIR/candidates,
so ``curate mix`` re-plans other settings in seconds with this code (curate/mixplan.py). A mix the data cannot
fill under max_epochs raises ``InfeasibleMix`` when the plan is computed, before any
documents or ledger rows are written; ``check_mix`` runs the same test on known token counts.

**Token counts (measured choice).** Rebalance counts tokens with the [tokenize] tokenizer, sets
``num_tokens`` (EOS included) and drops the ids; tokenize encodes only the selected documents
again, once per document however many copies it has. bench/bench_tokenize.py measures the
alternative of carrying the ids from rebalance to tokenize (2 cores, cl100k): recounting costs
~500 ms per MB of text when everything is kept and ~320 ms at 25% kept, carrying ~260-310 ms;
but carrying makes the documents 2.1x larger (ids are ~4 bytes per token, text ~3.4 bytes per
token) wherever they are materialised: in memory on the DirectRunner, which buffers the whole
counted corpus until the plan is ready, and in the shuffle/spill between the count and the
selection on a distributed runner, where a GB moved costs more than the CPU of encoding it.
Recounting also keeps every stage's documents on the one schema. Estimating tokens from bytes
was rejected: characters per token differ by half between domains (measured on the corpora:
books 4.2, code 3.6, multilingual web 2.8), far beyond a 1-point mix.
"""
from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from curate import hashing, schema
from curate.config import did_you_mean
from curate.schema import DOMAINS

DEFAULTS = {
    "targets": {},  # domain -> token fraction (sum 1); {} = every domain at its natural share
    "sources": {},  # domain -> {source -> fraction of the domain's share (sum 1)}
    "languages": {},  # domain -> {language (or "*": the others) -> fraction of the domain's share (sum 1)}
    "budget": 0,  # total tokens; 0 = the largest mix that fits under max_epochs
    "max_epochs": {},  # domain -> most epochs (average copies); default 1
    "rehydrate": [],  # [[min dup_group_size, weight], ...], ascending
    "seed": 0,
    "tolerance": 0.05,  # most a group's token share may miss its target (whole documents; 5 points), and the mix its budget
}

RESOLUTION = 4096  # histogram buckets per epoch
MAX_EPOCHS = 100  # bounds the histogram: 4096 int64 buckets per epoch per group
SELECT_SALT = 0x5245


class InfeasibleMix(ValueError):
    pass


# --- seeded hashing ---------------------------------------------------------------------

def uniform(seed: int, keys: np.ndarray, j, salt: int = SELECT_SALT) -> np.ndarray:
    """Uniform [0, 1) from the top 53 bits of hash64."""
    return hashing.to_unit(hashing.hash64(seed, keys, j, salt))


# --- config -----------------------------------------------------------------------------


def _fractions(where: str, d: dict, allowed=None) -> dict:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a table of fractions, got {d!r}")
    for k, v in d.items():
        if allowed is not None and k not in allowed:
            raise ValueError(f"{where}.{k}: {k!r} is not one of {', '.join(allowed)}{did_you_mean(k, allowed)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise ValueError(f"{where}.{k}: expected a fraction >= 0, got {v!r}")
    if d and abs(sum(d.values()) - 1) > 1e-6:
        raise ValueError(f"{where}: fractions must sum to 1, got {sum(d.values()):g}")
    return {k: float(v) for k, v in d.items()}


def _splits(cfg: dict, key: str, what: str, hint: str = "") -> dict:
    """rebalance.sources / rebalance.languages: domain -> {name: fraction of the domain's share}."""
    table = cfg[key]
    if not isinstance(table, dict):
        raise ValueError(f"rebalance.{key}: expected a table of domain -> {{{what} = fraction}}, got {table!r}")
    out = {}
    for d, split in table.items():
        if d not in DOMAINS:
            raise ValueError(f"rebalance.{key}.{d}: {d!r} is not one of {', '.join(DOMAINS)}{did_you_mean(d, DOMAINS)}")
        out[d] = _fractions(f"rebalance.{key}.{d}", split)
        if not out[d]:
            raise ValueError(f"rebalance.{key}.{d}: empty; list the {what}s and their fractions{hint}")
    return out


def _check(cfg: dict) -> dict:
    cfg = {**DEFAULTS, **cfg}
    out = dict(cfg)
    out["targets"] = _fractions("rebalance.targets", cfg["targets"], DOMAINS)
    out["sources"] = _splits(cfg, "sources", "source")
    out["languages"] = _splits(cfg, "languages", "language", hint=' ("*" = the others)')
    for d, split in out["languages"].items():
        if d in out["sources"]:
            raise ValueError(f"rebalance.languages.{d}: {d} is split by rebalance.sources too; split a domain by sources or by languages, not both")
    b = cfg["budget"]
    if isinstance(b, bool) or not isinstance(b, (int, float)) or b < 0 or not float(b).is_integer():
        raise ValueError(f"rebalance.budget: expected a whole number of tokens >= 0 (0 = largest mix that fits), got {b!r}")
    out["budget"] = int(b)
    ep = cfg["max_epochs"]
    if not isinstance(ep, dict):
        raise ValueError(f"rebalance.max_epochs: expected a table of domain -> epochs, got {ep!r}")
    for d, v in ep.items():
        if d not in DOMAINS:
            raise ValueError(f"rebalance.max_epochs.{d}: {d!r} is not one of {', '.join(DOMAINS)}{did_you_mean(d, DOMAINS)}")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= MAX_EPOCHS:
            raise ValueError(f"rebalance.max_epochs.{d}: expected a number in (0, {MAX_EPOCHS}], got {v!r}")
    out["max_epochs"] = {d: float(ep.get(d, 1.0)) for d in DOMAINS}
    table = cfg["rehydrate"]
    if not isinstance(table, list):
        raise ValueError(f"rebalance.rehydrate: expected a list of [min_dup_group_size, weight], got {table!r}")
    for i, row in enumerate(table):
        ok = isinstance(row, list) and len(row) == 2 and isinstance(row[0], int) and row[0] >= 1
        if not ok or isinstance(row[1], bool) or not isinstance(row[1], (int, float)) or not 0 <= row[1] <= 100:
            raise ValueError(f"rebalance.rehydrate[{i}]: expected [min_dup_group_size >= 1, weight in 0..100], got {row!r}")
        if i and row[0] <= table[i - 1][0]:
            raise ValueError(f"rebalance.rehydrate[{i}]: sizes must be ascending, got {row[0]} after {table[i - 1][0]}")
    tol = cfg["tolerance"]
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol <= 1:
        raise ValueError(f"rebalance.tolerance: expected a share of the mix in [0, 1], got {tol!r}")
    out["tolerance"] = float(tol)
    if not isinstance(cfg["seed"], int) or isinstance(cfg["seed"], bool):
        raise ValueError(f"rebalance.seed: expected a whole number, got {cfg['seed']!r}")
    return out


def _label(group) -> str:
    d, s = group
    if s is None:
        return d
    return f"{d}:{s[1]}" if isinstance(s, tuple) else f"{d}/{s}"  # ("lang", code): a language group


def _what(g: str) -> str:
    return f"{'source' if '/' in g else 'language' if ':' in g else 'domain'} {g!r}"


def _at_cap(capacity: int, tokens: int, epochs: float) -> str:
    """A group's capacity as messages print it; above tokens x max_epochs it comes from rehydrate
    weights (a reader saw 3x a group's tokens "at max_epochs 1" and took it for a bug)."""
    why = " with rehydrate weights" if capacity > tokens * epochs + 1 else ""
    return f"{capacity:,} at max_epochs {epochs:g}{why}"


def _short_message(short: list) -> str:
    parts = []
    for g, f, b, t, a, c, e in short:
        what = _what(g)
        if c == 0:
            parts.append(f"{what} has no tokens but a target of {f:.2%}")
        else:
            parts.append(
                f"{what} is short by {t - c:,.0f} tokens (target {f:.2%} of {b:,.0f} = {t:,.0f} tokens; "
                f"it has {a:,} tokens, {_at_cap(c, a, e)})"
            )
    return (
        "rebalance: the target mix is infeasible: " + "; ".join(parts)
        + ". Lower the target or rebalance.budget, raise rebalance.max_epochs, or add data."
    )


def solve(fractions: dict, available: dict, capacity: dict, budget: int, epochs: dict) -> tuple[float, dict]:
    """Budget and target tokens per group; raises InfeasibleMix naming every short group.

    ``fractions``/``available``/``capacity``/``epochs`` are keyed by group label; capacity is the
    most tokens a group can give under its max_epochs.
    """
    live = {g: f for g, f in fractions.items() if f > 0}
    if budget <= 0:  # the largest mix that fits: the tightest group at its cap
        budget = min((capacity[g] / f for g, f in live.items()), default=0.0)
    short = []
    for g, f in sorted(live.items()):
        t = f * budget
        if capacity[g] < t * (1 - 1e-12) or capacity[g] == 0:
            short.append((g, f, budget, t, available[g], capacity[g], epochs[g]))
    if short:
        raise InfeasibleMix(_short_message(short))
    return budget, {g: fractions[g] * budget for g in fractions}


def _check_achieved(frac: dict, targets: dict, achieved: dict, docs: dict, avail: dict, cfg: dict, epochs: dict,
                    capacity: dict, step: dict | None = None) -> None:
    """Documents are selected whole, so a group whose documents are large next to its target
    tokens (a few books against a small mix) lands on 0 or on several times its share: raise
    InfeasibleMix when a group's achieved share misses its target by more than ``tolerance``."""
    total, budget, tol = sum(achieved.values()), sum(targets.values()), cfg["tolerance"] + 1e-12
    off = [g for g, f in sorted(frac.items()) if abs((achieved[g] / total if total else 0.0) - f) > tol]
    if not off:
        return
    # name the groups that missed their own tokens, not the ones whose share moved with them
    off = [g for g in off if abs(achieved[g] - targets[g]) > tol * budget] or off
    parts = []
    for g in off:
        what = _what(g)
        share = achieved[g] / total if total else 0.0
        size = f"; its {docs[g]:,} document{'s' * (docs[g] != 1)} average {avail[g] / docs[g]:,.0f} tokens" if docs.get(g) else ""
        if step and step.get(g, 0) > tol * budget:  # one large document (a whole book) where the cut falls: the average hides it
            size += f", but the cut falls among documents of {step[g]:,} tokens together, kept or left out as one"
        parts.append(f"{what} gets {share:.2%} ({achieved[g]:,} tokens; target {frac[g]:.2%} = {targets[g]:,.0f} tokens{size})")
    live = {g: f for g, f in frac.items() if f > 0}
    if cfg["budget"]:
        how = "raise rebalance.budget"
    else:  # the largest mix that fits: the group at its cap sets its size
        tight = min(live, key=lambda g: capacity[g] / live[g])  # capacity counts rehydrate weights: not tokens x max_epochs
        how = (f"the largest mix that fits is {budget:,.0f} tokens ({tight!r} at max_epochs {epochs[tight]:g}): "
               f"a higher max_epochs or more data for {tight!r} makes it larger")
    raise InfeasibleMix(
        f"rebalance: the target mix cannot be met with whole documents: {'; '.join(parts)}. Each document is kept or left "
        f"out whole: {how}, lower the target, or allow a larger miss with rebalance.tolerance (now {cfg['tolerance']:g})."
    )


def check_mix(cfg: dict, tokens: dict[str, int]) -> dict[str, float]:
    """Feasibility of a mix from token counts per group label ("web" or "web/c4"), one epoch each
    (with rehydrate, a group's Σ tokens × weight: capacity is those tokens × max_epochs).

    Returns the target tokens per group; raises InfeasibleMix saying which group is short and by
    how much. (The pipeline runs the same test on the exact, rehydrated histogram.)
    """
    stage = RebalanceStage(cfg)
    fractions = stage.fractions({g: tokens.get(g, 0) for g in stage.labels})
    epochs = {g: stage.cfg["max_epochs"][d] for g, (d, _) in zip(stage.labels, stage.groups)}
    capacity = {g: int(tokens.get(g, 0) * epochs[g]) for g in stage.labels}
    return solve(fractions, {g: tokens.get(g, 0) for g in stage.labels}, capacity, stage.cfg["budget"], epochs)[1]


# --- the stage ----------------------------------------------------------------------------


class RebalanceStage:
    """The per-batch half of rebalancing: histogram a batch, plan the rates, select copies.

    The Beam transform (pipelines/rebalance.py) sums ``histogram`` over all batches with a
    combine, calls ``plan`` once and hands the plan to ``select`` as a side input.
    """

    DEFAULTS = DEFAULTS

    def __init__(self, cfg: dict):
        self.cfg = c = _check(cfg)
        domains = [d for d in DOMAINS if c["targets"].get(d, 0) > 0] if c["targets"] else list(DOMAINS)
        self.split = dict(c["sources"])  # domain -> {source, or ("lang", code): fraction}
        self.split.update({d: {("lang", k): f for k, f in split.items()} for d, split in c["languages"].items()})
        self.groups = [(d, s) for d in domains for s in (sorted(self.split[d], key=str) if d in self.split else [None])]
        self.labels = [_label(g) for g in self.groups]
        self._index = {g: i for i, g in enumerate(self.groups)}
        # buckets of each group's histogram: max_epochs rounded to whole buckets
        self.nb = np.array([max(1, round(c["max_epochs"][d] * RESOLUTION)) for d, _ in self.groups] + [0], dtype=np.int64)
        self.plan_: dict | None = None

    def setup(self):
        pass

    # which group, how heavy, which buckets
    def _key(self, d, s, lang):
        """The group key of a document: its source, or ("lang", its language or "*") where
        rebalance.languages splits its domain."""
        codes = self.cfg["languages"].get(d)
        return (d, ("lang", lang if lang in codes else "*")) if codes else (d, s)

    def group_of(self, batch: pa.RecordBatch) -> np.ndarray:
        """Group index of each document; -1 = not in the mix. Each column is dictionary-encoded,
        so the group is looked up once per distinct (domain, source, language), not per document."""
        i = batch.schema.get_field_index("language")
        cols = [batch.column("domain"), batch.column("source"), batch.column(i) if i >= 0 else pa.nulls(batch.num_rows, pa.string())]
        flat, values = np.zeros(batch.num_rows, dtype=np.int64), []
        for c in cols:
            enc = c if pa.types.is_dictionary(c.type) else c.dictionary_encode()
            values.append(enc.dictionary.to_pylist() + [None])  # the last: null
            codes = enc.indices.fill_null(len(values[-1]) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
            flat = flat * len(values[-1]) + codes
        idx, (nd, ns, nl) = self._index, map(len, values)
        small = nd * ns * nl <= max(1 << 16, 4 * batch.num_rows)  # a table of every combination: no sort
        keys, inverse = (np.flatnonzero(np.bincount(flat, minlength=nd * ns * nl)), None) if small else np.unique(flat, return_inverse=True)
        groups = np.array([idx.get(self._key(d, s, lang), idx.get((d, None), -1)) for d, s, lang in
                           ((values[0][k // (ns * nl)], values[1][k // nl % ns], values[2][k % nl]) for k in keys.tolist())], dtype=np.int64)
        if not small:
            return groups[inverse.reshape(-1)]
        table = np.full(nd * ns * nl, -1, dtype=np.int64)
        table[keys] = groups
        return table[flat]

    def weights(self, batch: pa.RecordBatch) -> np.ndarray:
        table = self.cfg["rehydrate"]
        i = batch.schema.get_field_index("dup_group_size")
        if not table or i < 0:
            return np.ones(batch.num_rows)
        size = batch.column(i).fill_null(1).to_numpy(zero_copy_only=False)
        mins = np.array([r[0] for r in table])
        w = np.array([1.0] + [float(r[1]) for r in table])  # below the first size: weight 1
        return w[np.searchsorted(mins, size, side="right")]

    def buckets(self, batch: pa.RecordBatch):
        """(group, tokens, weight, bucket of θ_j for each copy j as columns; nb[group] where beyond the cap)."""
        g = self.group_of(batch)
        t = batch.column("num_tokens").fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        w = self.weights(batch)
        nb = self.nb[g]  # g = -1 picks the trailing 0: no copies
        reach = nb / RESOLUTION * w  # copies possible under the cap
        ncopies = int(math.ceil(reach.max())) if len(g) else 0
        keys = hashing.id_u64(batch.column("id"))
        b = np.empty((len(g), ncopies), dtype=np.int64)
        for j in range(ncopies):
            with np.errstate(divide="ignore", invalid="ignore"):
                theta = (j + uniform(self.cfg["seed"], keys, j)) / w
            b[:, j] = np.minimum(np.nan_to_num(theta * RESOLUTION, nan=np.inf, posinf=np.inf), 2.0**62)
        return g, t, w, np.minimum(b, nb[:, None])

    def new_accumulator(self) -> dict:
        G, NB = len(self.groups), int(self.nb.max())
        return {"hist": np.zeros((G, NB), dtype=np.int64), "tokens": {}, "docs": {}}

    def histogram(self, acc: dict, batch: pa.RecordBatch) -> dict:
        """Add a batch: each copy's tokens into its θ bucket; raw tokens per domain/source."""
        if batch.num_rows == 0:
            return acc
        g, t, _, b = self.buckets(batch)
        G, NB = acc["hist"].shape
        for j in range(b.shape[1]):
            ok = b[:, j] < self.nb[g]
            flat = np.bincount(g[ok] * NB + b[ok, j], weights=t[ok], minlength=G * NB)
            acc["hist"] += np.rint(flat).astype(np.int64).reshape(G, NB)
        i = batch.schema.get_field_index("language")
        lang = batch.column(i) if i >= 0 else pa.nulls(batch.num_rows, pa.string())
        keys = pa.table({"d": batch.column("domain"), "s": batch.column("source"), "l": lang, "t": pa.array(t)})
        for r in keys.group_by(["d", "s", "l"]).aggregate([("t", "sum"), ("t", "count")]).to_pylist():
            k = (r["d"], r["s"], r["l"])
            acc["tokens"][k] = acc["tokens"].get(k, 0) + r["t_sum"]
            acc["docs"][k] = acc["docs"].get(k, 0) + r["t_count"]
        return acc

    @staticmethod
    def merge(accs) -> dict:
        out = None
        for a in accs:
            if out is None:
                out = {"hist": a["hist"].copy(), "tokens": dict(a["tokens"]), "docs": dict(a.get("docs", {}))}
                continue
            out["hist"] += a["hist"]
            for key in ("tokens", "docs"):
                for s, n in a.get(key, {}).items():
                    out[key][s] = out[key].get(s, 0) + n
        return out

    def available(self, raw: dict) -> dict:
        """One-epoch tokens per group label, from raw tokens per (domain, source, language)."""
        out = {g: 0 for g in self.labels}
        for (d, s, lang), n in raw.items():
            i = self._index.get(self._key(d, s, lang), self._index.get((d, None), -1))
            if i >= 0:
                out[self.labels[i]] += n
        return out

    def fractions(self, available: dict) -> dict:
        """Target fraction per group label; natural shares where targets are not given."""
        c = self.cfg
        dom_tokens = {}
        for g, (d, _) in zip(self.labels, self.groups):
            dom_tokens[d] = dom_tokens.get(d, 0) + available[g]
        total = sum(dom_tokens.values())
        out = {}
        for g, (d, s) in zip(self.labels, self.groups):
            fd = c["targets"][d] if c["targets"] else (dom_tokens[d] / total if total else 0.0)
            if s is None:
                out[g] = fd
            else:
                out[g] = fd * self.split[d][s]
        return out

    def plan(self, acc: dict | None) -> dict:
        """Cutoff bucket per group from the summed histogram, and the mix's stats."""
        acc = acc or self.new_accumulator()
        avail = self.available(acc["tokens"])
        frac = self.fractions(avail)
        epochs = {g: self.cfg["max_epochs"][d] for g, (d, _) in zip(self.labels, self.groups)}
        cums = {g: np.concatenate([[0], np.cumsum(acc["hist"][i, : self.nb[i]])]) for i, g in enumerate(self.labels)}
        capacity = {g: int(c[-1]) for g, c in cums.items()}
        try:
            budget, targets = solve(frac, avail, capacity, self.cfg["budget"], epochs)
        except InfeasibleMix as e:  # what the data can give, so the next try is not blind
            raise InfeasibleMix(f"{e}{self._largest_fit(acc, frac, avail, capacity, epochs, cums)} "
                                f"{self._facts(acc, avail, capacity, epochs)}") from None
        cutoffs, achieved, step = self._cut(cums, targets)
        try:
            _check_achieved(frac, targets, achieved, self.available(acc.get("docs", {})), avail, self.cfg, epochs, capacity, step)
        except InfeasibleMix as e:
            raise InfeasibleMix(f"{e} The nearest whole-document cut of these targets gives {self._shares(achieved)}. "
                                f"{self._facts(acc, avail, capacity, epochs)}") from None
        total, asked, tol = sum(achieved.values()), self.cfg["budget"], self.cfg["tolerance"]
        if asked and abs(total - asked) > tol * asked + 1e-9:  # the shares can be right and the size not
            big = max(self.labels, key=lambda g: step[g])
            raise InfeasibleMix(
                f"rebalance: the mix has {total:,} tokens for rebalance.budget = {asked:,} ({(total - asked) / asked:+.2%}), "
                f"beyond rebalance.tolerance ({tol:g}): each group's cut falls at whole documents (in {big!r} among "
                f"documents of {step[big]:,} tokens together). Change rebalance.budget, or allow a larger miss with "
                f"rebalance.tolerance. {self._facts(acc, avail, capacity, epochs)}")
        self.plan_ = {"cutoffs": cutoffs + [0], "stats": self._stats(budget, frac, avail, achieved)}
        return self.plan_

    def _cut(self, cums: dict, targets: dict) -> tuple[list, dict, dict]:
        """Each group's cutoff bucket: the histogram edge nearest its target tokens; the tokens
        it keeps; the tokens of the bucket the cut could not split."""
        cutoffs, achieved, step = [], {}, {}
        for g in self.labels:
            cum, t = cums[g], targets[g]
            c = int(np.searchsorted(cum, t))  # first edge at or above the target ...
            step[g] = int(cum[c] - cum[c - 1]) if 0 < c < len(cum) else 0  # the tokens the cut cannot split
            if c > 0 and (c >= len(cum) or t - cum[c - 1] < cum[c] - t):
                c -= 1  # ... or the one below, whichever is nearer
            cutoffs.append(c)
            achieved[g] = int(cum[c])
        return cutoffs, achieved, step

    def _shares(self, achieved: dict) -> str:
        total = sum(achieved.values())
        return ", ".join(f"{g} {achieved[g] / total if total else 0:.2%}" for g in self.labels)

    def _largest_fit(self, acc, frac, avail, capacity, epochs, cums) -> str:
        """The largest budget these targets fit under the epoch caps, and whether whole documents
        meet them there (a budget that only moves the failure to the next check is no advice)."""
        live = {g: f for g, f in frac.items() if f > 0}
        if not live or any(capacity[g] == 0 for g in live):
            return ""
        fits = int(min(capacity[g] / f for g, f in live.items()))
        targets = {g: frac[g] * fits for g in frac}
        _, achieved, step = self._cut(cums, targets)
        try:
            _check_achieved(frac, targets, achieved, self.available(acc.get("docs", {})), avail, {**self.cfg, "budget": fits}, epochs, capacity, step)
        except InfeasibleMix:
            return (f" Under the epoch caps these targets fit at most {fits:,} tokens, but there whole documents "
                    f"cannot meet them either (the nearest cut gives {self._shares(achieved)}).")
        return f" These targets fit a budget of at most {fits:,} tokens (--set rebalance.budget={fits})."

    def _facts(self, acc: dict, avail: dict, capacity: dict, epochs: dict) -> str:
        """What the data can give, for a mix that stopped the run: each group's tokens (one epoch,
        and under its max_epochs, rehydrate weights counted), documents and the natural mix over every domain read."""
        docs = self.available(acc.get("docs", {}))
        parts = [f"{g} {avail[g]:,} tokens in {docs[g]:,} document{'s' * (docs[g] != 1)}" + (f" ({_at_cap(capacity[g], avail[g], epochs[g])})" if capacity[g] != avail[g] else "")
                 for g in self.labels]
        per_domain: dict = {}
        for (d, _, _), n in acc.get("tokens", {}).items():
            per_domain[d] = per_domain.get(d, 0) + n
        mixed = {d for d, _ in self.groups}
        # a mixed domain's sources (or languages) no target names: a source misspelt, `cc` for the
        # data's `cc-2024-22`, showed as 0 tokens with the data's own names nowhere said
        left: dict = {}
        for (d, s, lang), n in acc.get("tokens", {}).items():
            if d in mixed and self._index.get(self._key(d, s, lang), self._index.get((d, None), -1)) < 0:
                g = _label(self._key(d, s, lang))
                t, k = left.get(g, (0, 0))
                left[g] = (t + n, k + acc.get("docs", {}).get((d, s, lang), 0))
        parts += [f"{g} {n:,} tokens in {k:,} document{'s' * (k != 1)} (no target: not in the mix)" for g, (n, k) in sorted(left.items())]
        parts += [f"{d} {n:,} tokens (no target)" for d, n in sorted(per_domain.items()) if d not in mixed]
        total = sum(per_domain.values())
        natural = ", ".join(f"{d} {n / total:.2%}" for d, n in sorted(per_domain.items())) if total else "no tokens"
        whole = "--set 'rebalance.targets={}' --set rebalance.budget=0" + "".join(
            f" --set 'rebalance.{k}={{}}'" for k in ("sources", "languages") if self.cfg[k])
        return f"The data after the earlier stages: {'; '.join(parts)}; its natural mix: {natural} (to take it: {whole})."

    def _stats(self, budget, frac, avail, achieved) -> dict:
        """Flat numbers for stats/run.json and the manifest: target vs achieved mix."""
        total = sum(achieved.values())
        out = {"rebalance.budget_tokens": int(round(budget)), "rebalance.mix_tokens": total}
        if self.cfg["budget"]:  # the budget asked for, and how far the whole-document mix is from it
            out["rebalance.budget_miss"] = round((total - self.cfg["budget"]) / self.cfg["budget"], 6)
            out["rebalance.tolerance"] = self.cfg["tolerance"]
        per_domain: dict = {}
        for g, (d, _) in zip(self.labels, self.groups):
            p = per_domain.setdefault(d, [0.0, 0, 0])
            p[0] += frac[g]
            p[1] += avail[g]
            p[2] += achieved[g]
        rows = dict(per_domain)
        if self.split:  # each source's or language's row beside its domain's
            rows.update({g: [frac[g], avail[g], achieved[g]] for g, (_, s) in zip(self.labels, self.groups) if s is not None})
        for key, (f, a, n) in sorted(rows.items()):
            out[f"rebalance.mix.{key}.target"] = round(f, 9)
            out[f"rebalance.mix.{key}.achieved"] = round(n / total, 9) if total else 0.0
            out[f"rebalance.mix.{key}.tokens"] = int(n)
            out[f"rebalance.mix.{key}.available_tokens"] = int(a)
            out[f"rebalance.mix.{key}.epochs"] = round(n / a, 6) if a else 0.0
        return out

    def repeats(self, batch: pa.RecordBatch, plan: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group, copies kept, expected copies at the group's rate) of each document."""
        g, _, w, b = self.buckets(batch)
        cut = np.asarray(plan["cutoffs"], dtype=np.int64)[g]
        reps = (b < cut[:, None]).sum(axis=1) if b.shape[1] else np.zeros(len(g), np.int64)
        return g, reps, cut / RESOLUTION * w

    def select(self, batch: pa.RecordBatch, plan: dict):
        """(kept documents with their repeat count, ledger rows of the left-out ones)."""
        if batch.num_rows == 0:
            return batch, schema.empty(schema.LEDGER_SCHEMA)
        g, reps, rate = self.repeats(batch, plan)
        rule = np.where(g < 0, "not_in_mix", "sampled_out")
        batch = schema.with_column(batch, "repeat", pa.array(reps, type=pa.int32()))
        return schema.split(batch, pa.array(reps > 0), "rebalance", pa.array(rule), value=pa.array(rate))

    def process(self, batch: pa.RecordBatch):
        if self.plan_ is None:
            raise RuntimeError("rebalance needs a plan (the token totals of the whole corpus): run it through the pipeline")
        return self.select(batch, self.plan_)
