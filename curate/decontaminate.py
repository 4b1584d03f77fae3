"""The ``decontaminate`` stage: remove documents that share a word n-gram with an evaluation set.

A model's benchmark numbers mean little if the test items were in its pre-training data.
Following GPT-3 and datatrove, every document's word 13-grams (``ngram``) are looked up in the
13-grams of the user's evaluation sets; a document with at least one hit is removed (ledger
rule ``eval_overlap``, ``kept_id`` = the matched item as ``set:item id``, ``snippet`` = the
overlapping n-gram, ``value`` = how many of the document's n-grams matched) or, with
``mode = "cut"``, the overlapping spans are cut out of its text and it is kept.

Normalisation (both sides): punctuation and symbols become spaces, then the dedup
normalisation (NFKC, lowercase, digit runs -> 0, whitespace collapsed). Spaces rather than
removal make tokenized test sets match running text: WikiText's ``guest @-@ starring`` and
``Teddy 's`` meet a page's ``guest-starring`` and ``Teddy's``; in code ``current_depth += 1``
is ``current depth 0``. N-gram hashes are the MinHash shingle hashes (one compiled pass,
``curate.dedup.minhash.shingle_hashes``). Evaluation items shorter than ``ngram`` words can
never match a document's ``ngram``-gram and are counted (``items_too_short``), not used.

The evaluation n-grams are loaded once per worker (``setup``) from the files themselves, a
sorted uint64 array of 12 bytes per n-gram with the item index: small enough to hold on every
worker (docs/scale.md gives the limit), so this is a per-batch stage with no shuffle.
"""
from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import schema
from curate.dedup.minhash import shingle_hashes
from curate.dedup.normalize import normalize

RULE = "eval_overlap"
MODES = ("remove", "cut")
UNITS = ("line", "file")
EVAL_SET_DEFAULTS = {
    "name": "",  # short name, prefixes item ids in the ledger (default: the file name)
    "glob": "",  # file, directory or glob: JSONL (.jsonl, .jsonl.gz), Parquet or text
    "format": "",  # "jsonl", "parquet" or "text"; empty: from the file name
    "text_fields": ["text"],  # JSONL/Parquet: fields joined (newline) into one item
    "id_field": "",  # JSONL/Parquet: the item id; empty: file:row
    "unit": "line",  # text files: one item per non-empty "line" (WikiText paragraphs) or per "file"
}
_PUNCT = r"[\p{P}\p{S}\p{N}]+"


def normalize_words(texts) -> pa.LargeStringArray:
    """The matching normalisation: punctuation and symbols -> spaces, then dedup's ``normalize``."""
    arr = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(list(texts), pa.large_string())
    return normalize(pc.replace_substring_regex(arr, _PUNCT, " "))


@dataclass
class EvalNgrams:
    """The evaluation n-grams: sorted hashes, the (first) item of each, the item names."""

    hashes: np.ndarray  # uint64, sorted, unique
    items: np.ndarray  # int32 index into names
    names: list
    stats: dict

    def lookup(self, h: np.ndarray) -> np.ndarray:
        """Item index of each hash, -1 where it is not an evaluation n-gram."""
        pos = np.searchsorted(self.hashes, h)
        pos = np.minimum(pos, max(len(self.hashes) - 1, 0))
        hit = (self.hashes[pos] == h) if len(self.hashes) else np.zeros(len(h), bool)
        return np.where(hit, self.items[pos] if len(self.items) else -1, -1)


def _texts_of_file(path: str, rel: str, spec: dict, fmt: str):
    """(item id, text) of every item of one evaluation file."""
    from curate.readers.common import open_raw
    from curate.readers.jsonl import get_path

    fields = spec["text_fields"]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with open_raw(path) as f:
            rows = pq.read_table(f).to_pylist()
    elif fmt == "jsonl":
        with open_raw(path) as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    else:
        with open_raw(path) as f:
            data = f.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        text = data.decode("utf-8", "replace")
        if spec["unit"] == "file":
            yield rel, text
        else:
            for i, line in enumerate(text.splitlines()):
                if line.strip():
                    yield f"{rel}:{i + 1}", line
        return
    for i, row in enumerate(rows):
        parts = [get_path(row, f) for f in fields]
        text = "\n".join(str(p) for p in parts if p is not None)
        item = get_path(row, spec["id_field"]) if spec["id_field"] else None
        yield (str(item) if item is not None else f"{rel}:{i}"), text


def _format_of(path: str, given: str) -> str:
    if given:
        return given
    base = path.lower().removesuffix(".gz").removesuffix(".zst")
    if base.endswith(".parquet"):
        return "parquet"
    if base.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    return "text"


def check_eval_sets(sets) -> list[dict]:
    if not isinstance(sets, list):
        raise ValueError(f"eval_sets: expected a list of tables, got {sets!r}")
    out = []
    for i, s in enumerate(sets):
        if not isinstance(s, dict):
            raise ValueError(f"eval_sets[{i}]: expected a table, got {s!r}")
        bad = sorted(set(s) - set(EVAL_SET_DEFAULTS))
        if bad:
            raise ValueError(f"eval_sets[{i}].{bad[0]}: unknown key; allowed keys: {', '.join(EVAL_SET_DEFAULTS)}")
        s = {**EVAL_SET_DEFAULTS, **s}
        if isinstance(s["text_fields"], str):
            s["text_fields"] = [s["text_fields"]]
        if not s["glob"]:
            raise ValueError(f"eval_sets[{i}].glob: required (a path or glob of evaluation files)")
        if s["format"] not in ("", "jsonl", "parquet", "text"):
            raise ValueError(f"eval_sets[{i}].format: {s['format']!r} is not one of jsonl, parquet, text")
        if s["unit"] not in UNITS:
            raise ValueError(f"eval_sets[{i}].unit: {s['unit']!r} is not one of {', '.join(UNITS)}")
        from curate.readers import list_files

        if not list_files(s["glob"]):
            raise ValueError(f"eval_sets[{i}].glob: {s['glob']!r} matches no files")
        out.append(s)
    return out


def load_eval_ngrams(sets: list[dict], n: int, max_ngrams: int = 0) -> EvalNgrams:
    """Hash every n-gram of every evaluation item (files in sorted order, so the item an
    n-gram is attributed to, its first occurrence, never depends on the machine)."""
    from curate.readers import list_files

    names, hs, idx = [], [], []
    stats = {"eval_items": 0, "eval_items_too_short": 0}
    for i, spec in enumerate(sets):
        files = list_files(spec["glob"])
        if not files:
            raise ValueError(f"eval_sets[{i}].glob: {spec['glob']!r} matches no files")
        for path, rel in files:
            name = spec["name"] or rel.split("/")[-1].split(".")[0]
            items = list(_texts_of_file(path, rel, spec, _format_of(path, spec["format"])))
            if not items:
                continue
            h, offs = shingle_hashes(normalize_words([t for _, t in items]), n)
            counts = np.diff(offs)
            words = _word_counts(normalize_words([t for _, t in items]))
            short = words < n
            counts[short] = 0
            keep = np.repeat(~short, np.diff(offs))
            stats["eval_items"] += len(items)
            stats["eval_items_too_short"] += int(short.sum())
            hs.append(h[keep])
            idx.append(np.repeat(np.arange(len(names), len(names) + len(items), dtype=np.int32), counts))
            names += [f"{name}:{item}" for item, _ in items]
    h = np.concatenate(hs) if hs else np.zeros(0, np.uint64)
    it = np.concatenate(idx) if idx else np.zeros(0, np.int32)
    order = np.lexsort((it, h))  # by hash, then item: the first item wins
    h, it = h[order], it[order]
    first = np.concatenate([[True], h[1:] != h[:-1]]) if len(h) else np.zeros(0, bool)
    h, it = h[first], it[first]
    if max_ngrams and len(h) > max_ngrams:
        raise ValueError(f"eval_sets: {len(h):,} distinct {n}-grams exceed max_ngrams = {max_ngrams:,} (see docs/scale.md)")
    stats["eval_ngrams"] = int(len(h))
    return EvalNgrams(h, it, names, stats)


def _word_counts(normalized: pa.Array) -> np.ndarray:
    """Words per normalised text (single spaces between words, none at the ends)."""
    spaces = pc.count_substring(normalized, " ").to_numpy(zero_copy_only=False)
    empty = pc.equal(pc.utf8_length(normalized), 0).to_numpy(zero_copy_only=False)
    return np.where(empty, 0, spaces + 1)


class Decontaminate:
    name = "decontaminate"
    DEFAULTS = {
        "eval_sets": [],  # [[decontaminate.eval_sets]] tables: name, glob, format, text_fields, id_field, unit
        "ngram": 13,  # words per n-gram (GPT-3, datatrove)
        "mode": "remove",  # "remove" the document, or "cut" the overlapping spans out of its text
        "domains": ["web", "code", "books"],
        "max_ngrams": 100_000_000,  # refuse evaluation sets with more distinct n-grams (memory per worker)
    }

    def __init__(self, cfg: dict | None = None):
        c = {**self.DEFAULTS, **(cfg or {})}
        self.sets = check_eval_sets(c["eval_sets"])
        if c["mode"] not in MODES:
            raise ValueError(f"mode: {c['mode']!r} is not one of {', '.join(MODES)}")
        if not isinstance(c["ngram"], int) or c["ngram"] < 1:
            raise ValueError(f"ngram: expected a whole number >= 1, got {c['ngram']!r}")
        self.n, self.mode, self.domains, self.max_ngrams = c["ngram"], c["mode"], list(c["domains"]), c["max_ngrams"]
        self.cfg = c
        self.evals: EvalNgrams | None = None
        self.counters = {"cut_docs": 0, "cut_chars": 0}

    def setup(self) -> "Decontaminate":
        if self.evals is None:
            self.evals = load_eval_ngrams(self.sets, self.n, self.max_ngrams)
        return self

    def matches(self, texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per text: (matched n-grams, item index of the first match or -1, its n-gram position)."""
        h, offs = shingle_hashes(normalize_words(texts), self.n)
        item = self.evals.lookup(h)
        ndoc = len(offs) - 1
        doc = np.repeat(np.arange(ndoc), np.diff(offs))
        hit = item >= 0
        count = np.bincount(doc[hit], minlength=ndoc)
        first_item, first_pos = np.full(ndoc, -1), np.full(ndoc, -1)
        hd = doc[hit][::-1]  # reversed, so the first hit of each document is written last
        first_item[hd] = item[hit][::-1]
        first_pos[hd] = (np.flatnonzero(hit) - offs[doc[hit]])[::-1]
        return count, first_item, first_pos

    def process(self, batch: pa.RecordBatch):
        self.setup()
        n = batch.num_rows
        if n == 0 or not len(self.evals.hashes):
            return batch, schema.empty(schema.LEDGER_SCHEMA)
        on = pc.is_in(batch.column("domain"), value_set=pa.array(self.domains, pa.string())).to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(on)
        count, first_item, first_pos = (np.zeros(n, np.int64), np.full(n, -1), np.full(n, -1))
        if len(rows):
            c, fi, fp = self.matches(batch.column("text").take(pa.array(rows)))
            count[rows], first_item[rows], first_pos[rows] = c, fi, fp
        hit = count > 0
        if not hit.any():
            return batch, schema.empty(schema.LEDGER_SCHEMA)
        if self.mode == "cut":
            return self._cut(batch, hit)
        removed = batch.filter(pa.array(hit))
        idx = np.flatnonzero(hit)
        ledger = schema.ledger_rows(
            removed, self.name, RULE, value=count[idx].astype(float), threshold=float(self.n),
            kept_id=[self.evals.names[first_item[i]] for i in idx],
        )
        grams = self._ngram_text(batch.column("text").take(pa.array(idx)), first_pos[idx])
        ledger = ledger.set_column(ledger.schema.get_field_index("snippet"), "snippet", pa.array(grams, pa.string()))
        return batch.filter(pa.array(~hit)), ledger

    def _ngram_text(self, texts, positions) -> list[str]:
        words = normalize_words(texts).to_pylist()
        return [" ".join(w.split(" ")[p : p + self.n]) for w, p in zip(words, positions.tolist())]

    def _cut(self, batch: pa.RecordBatch, hit: np.ndarray):
        texts = batch.column("text").to_pylist()
        for i in np.flatnonzero(hit).tolist():
            new = self.cut_text(texts[i])
            self.counters["cut_docs"] += 1
            self.counters["cut_chars"] += len(texts[i]) - len(new)
            texts[i] = new
        i = batch.schema.get_field_index("text")
        return batch.set_column(i, batch.schema.field(i), pa.array(texts, pa.large_string())), schema.empty(schema.LEDGER_SCHEMA)

    def cut_text(self, text: str) -> str:
        """The text without the whitespace-separated tokens covered by a matching n-gram (a
        cut that spans a line break leaves one)."""
        tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        norm = normalize_words([text[s:e] for s, e in tokens]).to_pylist()
        owner = [t for t, w in enumerate(norm) for _ in (w.split(" ") if w else [])]
        words = " ".join(w for w in norm if w)
        h, _ = shingle_hashes(pa.array([words], pa.large_string()), self.n)
        if len(owner) < self.n:
            return text
        covered = np.zeros(len(tokens), bool)
        for p in np.flatnonzero(self.evals.lookup(h) >= 0).tolist():
            covered[owner[p] : owner[p + self.n - 1] + 1] = True
        out, pos, t = [], 0, 0
        while t < len(tokens):
            if not covered[t]:
                t += 1
                continue
            u = t
            while u + 1 < len(tokens) and covered[u + 1]:
                u += 1
            s, e = tokens[t][0], tokens[u][1]
            out.append(text[pos:s])
            out.append("\n" if "\n" in text[s:e] else "")
            pos, t = e, u + 1
        out.append(text[pos:])
        return "".join(out)
