"""Quality classifier scoring: the ``quality`` stage.

A fastText supervised classifier scores each document of a domain: ``quality_score`` is the
probability of the configured positive label. Any fastText classifier drops in by path and
label (e.g. DCLM's ``__label__hq`` vs ``__label__cc``); ``model = "default"`` is the shipped
``models/quality_default.ftz`` (see its card). The model input is what DCLM's classifier
sees: the text on one line (newlines folded to spaces), cut to ``prefix_chars`` characters
back to a word boundary; a book's, as many characters spread across it (``prepare``). One
``predict`` call per batch.

Config, one table per domain (a domain with ``model = ""`` passes through unscored, its
``quality_score`` null)::

    [quality.web]
    model = "default"                 # "default", a path to a .bin/.ftz, or "" (not scored)
    positive_label = "__label__hq"
    prefix_chars = 10000
    keep = {top_fraction = 0.3}       # or {threshold = 0.5}, or {} (score only, keep all)
    per_language = true               # top_fraction: the best share of each language, not of the domain
    # a table decides the languages it lists and keeps the others: {threshold = {en = 0.5}}

Keep rules. ``threshold``: a document stays when its score >= the threshold, decided per
batch. ``top_fraction``: the best share of the domain over the whole corpus; with
``per_language`` (the default) of each language of the domain (the ``language`` column; a
document without one is ranked with the others that lack it). A classifier's score is not
comparable across languages (the shipped model scores nearly all non-English text near 0), so
one ranking over several languages removes whole languages; this is FineWeb-2's and DCLM's
practice of ranking within a language. With one language, or none labelled, it is the same
cutoff as ranking the whole domain. Either rule may be a table of languages
(``{threshold = {en = 0.5, de = 0.3}}``, ``{top_fraction = {en = 0.3}}``): each listed
language gets its own number, the documents of languages it does not list are all kept (so
an English-only model can filter English and leave the rest alone). The cutoff comes
from a histogram of scores (fixed bins in logit space, summed by a Beam combine: integer
counts merge in any order, so the cutoff never depends on bundling or worker count; a group's
histogram is sparse until it fills, so it costs what its documents' distinct bins do). Docs in
bins above the cutoff bin stay; in the cutoff bin itself, which holds ties and near-ties, a
hash of the id picks the share needed, so ties are broken the same way on any runner.
Cutoffs are keyed by group: ``web`` for a domain ranked whole (or its documents without a
language), ``web.de`` for a language of it. ``process(batch)`` on its own (no cutoffs) takes
the top fraction of that batch.

Ledger rules: ``quality_below_threshold`` and ``quality_below_top_fraction`` (value = score,
threshold = the threshold, or the score at its group's cutoff bin's lower edge: a document the
hash left out of the cutoff bin has a value at or a hair above it).
"""
from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import hashing, schema
from curate.config import files_spelt, merge_section, one_file

DEFAULT_MODEL = "quality_default.ftz"

DOMAIN_DEFAULTS = {
    "model": "",  # "default" (the shipped model), a path to a fastText classifier, or "" (not scored)
    "positive_label": "__label__hq",
    "prefix_chars": 10000,  # characters of each text given to the model
    "keep": {},  # {threshold = P} | {top_fraction = F} | {} (score only)
    "per_language": True,  # top_fraction within each language of the domain (scores differ by language)
}
# Web is what the default model was made for; books and code are not scored unless configured.
DEFAULTS = {d: {**DOMAIN_DEFAULTS, "model": "default" if d == "web" else ""} for d in schema.DOMAINS}

# Languages the shipped model was trained on (models/quality_default.md, "Known biases").
DEFAULT_MODEL_LANGUAGES = frozenset({"en"})

# Histogram of scores for top_fraction: bins over logit(score) in [-LOGIT_MAX, LOGIT_MAX]. fastText
# probabilities crowd near 0 and 1; logit bins keep them apart (bin width 6e-4 in logit units).
NBINS = 1 << 16
LOGIT_MAX = 20.0


def _check_keep(where: str, keep) -> dict:
    """{threshold = P} / {top_fraction = F}, P or F a number or a table {LANG = number}."""
    if not isinstance(keep, dict) or len(keep) > 1 or (keep and next(iter(keep)) not in ("threshold", "top_fraction")):
        raise ValueError(f"{where}: expected {{threshold = P}}, {{top_fraction = F}} or {{}}, got {keep!r}")
    out = {}
    for k, v in keep.items():
        if isinstance(v, dict) and not v:
            raise ValueError(f"{where}.{k}: expected a number or a table of languages ({{en = 0.5}}), got an empty table")
        checked = {}
        for lang, x in v.items() if isinstance(v, dict) else [(None, v)]:
            at = f"{where}.{k}" if lang is None else f"{where}.{k}.{lang}"
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise ValueError(f"{at}: expected a number, got {x!r}")
            lo_ok = x >= 0 if k == "threshold" else x > 0
            if not (lo_ok and x <= 1):
                allowed = "[0, 1]" if k == "threshold" else "(0, 1]"
                raise ValueError(f"{at}: expected a number in {allowed}, got {x!r}")
            checked[lang] = float(x)
        out[k] = checked if isinstance(v, dict) else checked[None]
    return out


def rule_value(value, lang: str) -> float | None:
    """A keep rule's number for a language: the number, or the language's entry of a table
    (None: a language the table does not list, whose documents the rule keeps)."""
    return value.get(lang) if isinstance(value, dict) else value


def model_path(name: str, where: str = "quality.model") -> str:
    """A config ``model`` value -> file path ("default" is the shipped model)."""
    if name == "default":
        import curate.models

        try:
            return curate.models.path(DEFAULT_MODEL)
        except FileNotFoundError as e:
            raise ValueError(f"{where}: {e}") from None
    if not os.path.isfile(name):
        from curate.config import relative_from

        raise ValueError(f"{where}: no model file at {name!r}{relative_from(name)}: give \"default\", a path to a fastText model, or \"\"")
    return name


def load_model(path: str):
    """One copy per process, shared by domains, DoFns and langid, read again when the file changes."""
    from curate.models import fasttext_model

    return fasttext_model(path)


def prepare(texts, prefix_chars: int, books: bool = False) -> list[str]:
    """Model input: the first ``prefix_chars`` characters, cut back to a word, on one line. A
    book (``books``) longer than that is read as langid reads one, ``prefix_chars`` characters
    in runs spread across it: its start is a title page and contents (bench/quality_books.py)."""
    if books:
        from curate.stages.langid import spread

        texts = texts.to_pylist() if isinstance(texts, (pa.Array, pa.ChunkedArray)) else list(texts)
        # its runs joined into one line, scored as one text (langid reads them apart and votes on
        # the language; a book's quality is one score of them all: bench/quality_books.py)
        texts = [" ".join(spread(t, prefix_chars)) if t and len(t) > prefix_chars else t for t in texts]
    texts = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.large_string())
    short = pc.utf8_slice_codeunits(texts, 0, prefix_chars + 1)  # one extra char tells "was cut"
    # str.splitlines' line breaks, as DCLM folds them; fastText reads all other whitespace itself
    out = pc.replace_substring_regex(short, "[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]", " ").to_pylist()
    for i, t in enumerate(out):
        if len(t) > prefix_chars:
            head = t[:prefix_chars]
            cut = head.rfind(" ")
            out[i] = head[:cut].rstrip() if cut > 0 else head
    return out


def positive_probs(model, lines: list[str], label: str) -> np.ndarray:
    """P(label) for each prepared line: one ``predict`` call for all of them."""
    if not lines:
        return np.zeros(0, dtype=np.float32)
    labels, probs = model.predict(lines, k=-1, threshold=0.0, on_unicode_error="replace")
    out = np.fromiter(
        (p[ls.index(label)] if label in ls else 0.0 for ls, p in zip(labels, probs)), dtype=np.float32, count=len(lines)
    )
    return np.clip(out, 0.0, 1.0)  # fastText's softmax can round to 1.00001


def score_bins(scores: np.ndarray) -> np.ndarray:
    """Histogram bin of each score (monotone in the score)."""
    p = np.clip(scores.astype(np.float64), 1e-12, 1 - 1e-12)
    z = np.clip(np.log(p) - np.log1p(-p), -LOGIT_MAX, LOGIT_MAX)
    return np.minimum(((z + LOGIT_MAX) * (NBINS / (2 * LOGIT_MAX))).astype(np.int64), NBINS - 1)


def bin_floor_score(b: int) -> float:
    """The lowest score that falls in bin ``b``."""
    z = b * (2 * LOGIT_MAX / NBINS) - LOGIT_MAX
    return float(1 / (1 + np.exp(-z)))


def tie_uniform(ids) -> np.ndarray:
    """Uniform [0, 1) per id: breaks ties at the cutoff the same way on any runner.

    Ids are blake2b hex already; a salted re-hash (splitmix64 finaliser) decorrelates this
    choice from other stages that also select by id.
    """
    keys = hashing.id_u64(ids, fallback_source="quality")
    return hashing.to_unit(hashing.splitmix64(keys ^ np.uint64(0x5175616C69747921)))  # salt: "Quality!"


# A group's histogram while it is summed: sparse, (bins, counts) sorted by bin, until it has
# DENSE_AT distinct bins, then int64[NBINS] (512 KB). Sparse it costs 16 B per distinct bin, so
# a language with a few documents holds a few bins, not 512 KB (fastText's 176 languages would
# make ~90 MB of dense accumulators per bundle); dense, an add is an index, not a merge.
DENSE_AT = NBINS // 16


def _sum_sparse(bins: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of repeated bins added up: (unique bins ascending, their int64 counts)."""
    if not len(bins):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(bins, kind="stable")
    b, c = bins[order].astype(np.int64, copy=False), counts[order].astype(np.int64, copy=False)
    starts = np.flatnonzero(np.concatenate([[True], b[1:] != b[:-1]]))
    return b[starts], np.add.reduceat(c, starts)


def add_counts(acc, other):
    """The sum of two group histograms, each None, sparse (bins, counts) or dense int64[NBINS]
    (integer counts: the same sum in any order). A dense ``acc`` is added to in place."""
    if other is None:
        return acc
    if isinstance(other, np.ndarray) and not isinstance(acc, np.ndarray):
        acc, other = other.copy(), acc  # the dense one takes the other's counts
    if isinstance(acc, np.ndarray):
        if isinstance(other, np.ndarray):
            return np.add(acc, other, out=acc)
        if other is not None:
            bins, counts = _sum_sparse(*other)
            acc[bins] += counts
        return acc
    bins, counts = _sum_sparse(*other) if acc is None else _sum_sparse(
        np.concatenate([acc[0], other[0]]), np.concatenate([acc[1], other[1]]))
    if len(bins) < DENSE_AT:
        return bins, counts
    dense = np.zeros(NBINS, dtype=np.int64)
    dense[bins] = counts
    return dense


def cutoff(hist, fraction: float) -> dict:
    """Where the top ``fraction`` of a histogram (dense int64[NBINS], or sparse (bins, counts))
    starts: keep bins > bin, and a ``take`` share of bin.

    ``kept`` is ``fraction * total`` unrounded: the hash of the id takes the fractional part,
    so a group of one document at 0.5 is kept half the time, not never (per-language ranking
    makes many such groups). Only non-empty bins can hold the cutoff, so a histogram gives the
    same result dense or sparse."""
    if isinstance(hist, np.ndarray):
        nonzero = np.flatnonzero(hist)
        bins, counts = nonzero, hist[nonzero].astype(np.int64)
    else:
        bins, counts = _sum_sparse(*hist)
        bins, counts = bins[counts > 0], counts[counts > 0]
    total = int(counts.sum())
    k = fraction * total
    above = np.cumsum(counts[::-1])[::-1] - counts  # docs in bins strictly above each bin
    if k <= 0:
        return {"bin": NBINS, "take": 0.0, "score": 1.0, "total": total, "kept": 0}
    i = int(np.flatnonzero((above < k) & (above + counts >= k)).max())
    b = int(bins[i])
    take = min(1.0, (k - int(above[i])) / int(counts[i]))
    return {"bin": b, "take": take, "score": bin_floor_score(b), "total": total, "kept": k}


def groups(batch: pa.RecordBatch, d: str, per_language: bool) -> list[tuple[str, np.ndarray]]:
    """(key, rows) of domain ``d``'s documents in a batch: one group ``d``, or with
    ``per_language`` one per language, ``d.LANG`` (documents without a language: ``d``)."""
    rows = np.flatnonzero(pc.equal(batch.column("domain"), d).to_numpy(zero_copy_only=False))
    if not len(rows) or not per_language or "language" not in batch.schema.names:
        return [(d, rows)] if len(rows) else []
    langs = pc.fill_null(batch.column("language").take(pa.array(rows)), "").to_numpy(zero_copy_only=False)
    names, inverse = np.unique(langs.astype(str), return_inverse=True)
    return [(f"{d}.{lang}" if lang else d, rows[inverse == i]) for i, lang in enumerate(names)]


def key_domain(key: str) -> str:
    """The domain of a group key (``web.de`` -> ``web``)."""
    return key.split(".", 1)[0]


def key_language(key: str) -> str:
    """The language of a group key (``web.de`` -> ``de``; ``web`` -> "")."""
    return key.partition(".")[2]


def group_fraction(fractions: dict, key: str) -> float | None:
    """The top fraction of a group (None: not ranked, all kept)."""
    return rule_value(fractions[key_domain(key)], key_language(key))


def histogram(batch: pa.RecordBatch, domains, per_language=()) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Sparse (bins, counts) of a scored batch's scores, per group (see ``groups``) of each
    domain of ``domains`` in it; domains in ``per_language`` are split by language. Given a
    mapping domain -> top fraction, groups it does not rank (a table's unlisted languages) are left out."""
    out = {}
    scores = batch.column("quality_score").to_numpy(zero_copy_only=False)
    for d in domains:
        for key, rows in groups(batch, d, d in per_language):
            if isinstance(domains, dict) and group_fraction(domains, key) is None:
                continue
            out[key] = np.unique(score_bins(scores[rows]), return_counts=True)
    return out


class QualityStage:
    """The ``quality`` stage."""

    name = "quality"
    DEFAULTS = DEFAULTS

    @staticmethod
    def normalize(section: dict) -> dict:
        """The files the section names spelt one way (config.files_spelt: ./m.bin is m.bin)."""
        return files_spelt("quality", section, QualityStage.data_files(section))

    @staticmethod
    def data_files(section: dict) -> dict:
        """Each domain's model given by path (not "default", curate's), by option (config.load hashes its bytes)."""
        return {f"quality.{d}.model": one_file(c["model"]) for d, c in section.items()
                if isinstance(c, dict) and isinstance(c.get("model"), str) and c["model"] not in ("default", "")}

    def __init__(self, cfg: dict | None = None):
        self.cfg = merge_section("quality", DEFAULTS, cfg or {})
        for d, c in self.cfg.items():
            where = f"quality.{d}"
            if not isinstance(c["model"], str):
                raise ValueError(f'{where}.model: expected "default", a path to a fastText model, or "", got {c["model"]!r}')
            if c["model"]:
                model_path(c["model"], f"{where}.model")
            if not c["positive_label"]:
                raise ValueError(f"{where}.positive_label: expected a label such as __label__hq")
            c["prefix_chars"] = int(c["prefix_chars"])
            if c["prefix_chars"] < 1:
                raise ValueError(f"{where}.prefix_chars: expected an integer >= 1, got {c['prefix_chars']!r}")
            c["keep"] = _check_keep(f"{where}.keep", c["keep"])
            if not isinstance(c["per_language"], bool):
                raise ValueError(f"{where}.per_language: expected true or false, got {c['per_language']!r}")
            if c["keep"] and not c["model"]:
                raise ValueError(f'{where}.keep: domain {d} has no model (model = ""), so nothing to keep by')
        self.scored = {d: c for d, c in self.cfg.items() if c["model"]}
        self.models: dict = {}

    def top_fractions(self) -> dict[str, float]:
        return {d: c["keep"]["top_fraction"] for d, c in self.scored.items() if "top_fraction" in c["keep"]}

    def per_language(self) -> frozenset[str]:
        """Domains whose keep rule is decided per language: a top fraction with
        ``per_language``, or a rule given as a table of languages."""
        out = set()
        for d, c in self.scored.items():
            for rule, v in c["keep"].items():
                if isinstance(v, dict) or (rule == "top_fraction" and c["per_language"]):
                    out.add(d)
        return frozenset(out)

    def check(self) -> None:
        """Config check of a stage that runs: each model loads and has its positive label,
        before anything runs rather than mid-run (loaded models are kept for the run)."""
        self.setup()

    def setup(self) -> "QualityStage":
        """Load each domain's model, once a process (a pool's workers inherit the one
        config.load's check loaded), and check its positive label."""
        for d, c in self.scored.items():
            if d in self.models:
                continue
            path = model_path(c["model"], f"quality.{d}.model")
            try:
                m = load_model(path)
            except ValueError as e:  # fastText: "... has wrong file format!"
                raise ValueError(f"quality.{d}.model: {path} is not a fastText model ({e})") from None
            if c["positive_label"] not in m.get_labels():
                raise ValueError(
                    f"quality.{d}.positive_label: {c['positive_label']!r} is not a label of model {c['model']!r} "
                    f"(its labels: {m.get_labels()[:8]})"
                )
            self.models[d] = m
        return self

    def score(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Add ``quality_score`` (null for domains without a model)."""
        self.setup()
        scores = np.full(batch.num_rows, np.nan, dtype=np.float32)
        domain = batch.column("domain")
        for d, c in self.scored.items():
            rows = np.flatnonzero(pc.equal(domain, d).to_numpy(zero_copy_only=False))
            if len(rows) == 0:
                continue
            texts = batch.column("text")
            texts = texts if len(rows) == batch.num_rows else texts.take(pa.array(rows))
            scores[rows] = positive_probs(self.models[d], prepare(texts, c["prefix_chars"], d == "books"), c["positive_label"])
        values = pa.array(scores, type=pa.float32(), mask=np.isnan(scores))
        return schema.with_column(batch, "quality_score", values)

    def histogram(self, batch: pa.RecordBatch) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return histogram(batch, self.top_fractions(), self.per_language())

    def keep(self, batch: pa.RecordBatch, cutoffs: dict | None = None) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """Apply the keep rules to a scored batch: (kept, ledger).

        ``cutoffs`` (group key -> ``cutoff(...)``, see ``groups``) come from the whole corpus;
        without them the top fraction is taken of this batch alone.
        """
        n = batch.num_rows
        if cutoffs is None:
            cutoffs = {}
            for key, hist in self.histogram(batch).items():
                cutoffs[key] = cutoff(hist, group_fraction(self.top_fractions(), key))
        scores = batch.column("quality_score").to_numpy(zero_copy_only=False)
        keep = np.ones(n, dtype=bool)
        rule = np.full(n, None, dtype=object)
        threshold = np.full(n, np.nan)
        per_language = self.per_language()
        for d, c in self.scored.items():
            if not c["keep"]:
                continue
            (how, value), = c["keep"].items()
            for key, rows in groups(batch, d, d in per_language):
                limit = rule_value(value, key_language(key))
                if limit is None:
                    continue  # a language the rule's table does not list: kept
                s = scores[rows]
                if how == "threshold":
                    thr = limit
                    ok, name = s >= thr, "quality_below_threshold"
                else:
                    cut = cutoffs[key]
                    b = score_bins(s)
                    u = tie_uniform(batch.column("id").take(pa.array(rows)))
                    ok = (b > cut["bin"]) | ((b == cut["bin"]) & (u < cut["take"]))
                    thr, name = cut["score"], "quality_below_top_fraction"
                drop = rows[~ok]
                keep[drop], rule[drop], threshold[drop] = False, name, thr
        if keep.all():
            return batch, schema.empty(schema.LEDGER_SCHEMA)
        value = pa.array(scores, type=pa.float64(), from_pandas=True)
        return schema.split(batch, pa.array(keep), self.name, rule.tolist(), value, pa.array(threshold, from_pandas=True))

    def process(self, batch: pa.RecordBatch, cutoffs: dict | None = None) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        return self.keep(self.score(batch), cutoffs)


def language_warnings(cfg) -> list[str]:
    """One line per domain whose keep rule decides languages other than English by the shipped
    (English-only) model: its score means little there (models/quality_default.md)."""
    stages = cfg.run["stages"]
    if "quality" not in stages:
        return []
    kept = None  # the languages langid keeps; None: not known (langid does not run)
    if "langid" in stages:
        langs = cfg.stages["langid"]["languages"]
        kept = "all" if langs in ("all", [], {}) else set(langs)
    out = []
    for d, c in cfg.stages["quality"].items():
        if c["model"] != "default" or not c["keep"]:
            continue
        (rule, value), = c["keep"].items()
        decided = set(value) if isinstance(value, dict) else kept  # a table decides its languages only
        if decided is None:
            continue  # nothing sure to say
        others = "all languages" if decided == "all" else ", ".join(sorted(decided - DEFAULT_MODEL_LANGUAGES))
        if not others:
            continue
        if isinstance(value, dict):
            how = "outside English its scores are mostly ties near 0"
            shown = "{" + ", ".join(f"{k} = {x:g}" for k, x in value.items()) + "}"
        else:
            shown = f"{value:g}"
            if rule == "threshold":
                how = "one threshold for all languages removes most documents of the others, however good"
            elif c["per_language"]:
                how = "each language is ranked within itself, but outside English its scores are mostly ties near 0"
            else:
                how = "ranked over all languages together (per_language = false), the others fall to the bottom"
        out.append(
            f"quality.{d}: the default model was trained on English text only, and keep = {{{rule} = {shown}}} "
            f"decides {others} by it: {how} (keep = {{{rule} = {{en = ...}}}} decides English only; "
            f"or use a model trained on those languages)"
        )
    return out
