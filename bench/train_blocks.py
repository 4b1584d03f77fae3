"""A learned block decision for the ``blocks`` extractor, trained on the TUNING half of the
trafilatura gold and estimated honestly by cross-fitting against the hand-set rules.

    python bench/train_blocks.py [--columns a,b,...] [--untuned] [--fallback] [--whole] [--interact [COLUMN]]
        [--dom] [--runs] [--relation] [--propagate [neg]] [--splits N] [--aeb] [--write PATH]

Only tuning-half pages (bench_extract.tuning_half) are read: the held-out half stays unseen.

* Blocks: the extractor's own, ``extract.blocks(extract.render(tree))``. Features per block
  (``features``): length, plain (non-link) length, link share, tag, sentence end, boilerplate
  phrase / comment marker / "more ..." marker, prose, relative position, share of the page's
  text, digits, dates or URLs, separators, repeated on the page, in the <title>; the hand-set
  rules' own signals (``extract._rule_signals``: score, navigation, boilerplate, inside the
  region, how far outside it or before its end, after the comment cut, the rules' mask); after
  the page's last prose block; whether the text lies inside an <article>, <main> or an
  aside/footer/nav/header element (the DOM container the flat rendering hides); and
  CONTEXT_FEATURES of the blocks +-1 and +-2 around it.
* Labels from the gold only: a block holding a (whitespace-normalised) ``with`` snippet, or
  held whole by one, is positive; one holding (or held by) a ``without`` snippet negative;
  both or neither: not used.
* Model: L2-regularised logistic regression on standardised features, fitted by Newton's
  method (numpy; deterministic). The bias and the rules' mask are not shrunk, so a strong
  lambda falls back to the rules. A block is kept when its probability >= the threshold.
* Lambda and threshold (LAMBDAS x THRESHOLDS) are chosen by cross-fitting: fit on one half of
  the training pages, score the other half by snippet F1 (bench_extract's scoring), and vice
  versa; the best mean wins and the model is refitted on all training pages.
* Printed: the honest estimate: the whole procedure (its choice made inside by the next md5
  bit) trained on md5 fold 0 and scored on fold 1, and vice versa, beside the rules on the same
  folds (in-sample for the rules: their constants were set on both folds); then the model
  derived from the whole tuning half (its choice by the md5 folds), written with ``--write``.

``--columns a,b,...`` fits on those columns only (COLUMNS names; rule_keep among them).
``--untuned``: the honest estimate (docs/extraction.md): blocks of the rendering without the
skip list, and none of the TUNED columns (phrase lists, the rules' signals, container lookups).
``--dom``: bench/dompath.py's DOM-container features of each block appended. ``--splits
N``: the cross-fitted estimate also on N other halvings of the tuning half (salted md5).
``--aeb``: the article-extraction benchmark's score of the model fitted on the whole tuning half.
``--fallback`` (with ``--untuned``): a rendering shorter than extract.SHORT_CHARS is retried on
the whole page, as extract.render does. ``--aeb-train W``: the AEB pages' blocks, labelled by
their article body (``aeb_labels``), join every fit, each counting W; ``--aeb`` then scores each
AEB half with a model trained on the tuning half and the other AEB half.
``--whole`` (with ``--untuned``): the blocks are always the whole page's (``main_content=False``),
each marked by whether the main-content rendering (the ``--fallback`` one, with that flag) holds
it (WHOLE_FEATURES). ``--interact [COLUMN]``: separate weights where a 0/1 column is 1 and where
it is 0 (``split_by``; default in_main_render, with ``--whole``). ``--runs``: bench/dompath.py's
RUN_FEATURES (runs of blocks in one list or table, after a heading, inside the main container).
``--relation``: its RELATION_FEATURES (how many containers up from the page's main container a
block's container meets it). ``--propagate [neg]``: the training labels (or the negative ones)
spread to the unlabelled blocks of a labelled block's DOM container (``propagate``).

Result with ``--untuned [--dom] --splits 8`` (2026-12-06, branch ex43): md5 folds 0.920 / 0.902
without the DOM features, 0.913 / 0.913 with; on the 8 other halvings every fold gains, +0.008
on average: consistent, but half the +0.015 a new default needs (docs/extraction.md).

Result with ``--untuned --fallback [--dom] [--aeb-train W] --splits 8`` (2026-12-06, branch
ex44): 0.9116 over the 18 folds without the DOM features, 0.9208 with (+0.009, 17 of 18 gain);
with the AEB's blocks as well (first 10 folds) 0.910 (W 1) and 0.917 (W 0.3) against 0.920.

Result with ``--untuned --fallback --dom`` and each of the ex45 options (2026-12-07), against
0.9209 over the 18 folds (md5 0.9246 / 0.9231) without them: ``--whole --interact`` 0.9106 and
``--whole`` 0.9109 over the 18 folds (-0.010 each; md5 0.9095 / 0.9130 and 0.9145 / 0.9054);
md5 screens, not run on 18: ``--runs`` 0.9232 / 0.9238, ``--relation`` 0.9179 / 0.9246,
``--interact dom_under_main`` 0.9221 / 0.9195, ``--propagate`` 0.9144 / 0.9156, ``--propagate
neg`` 0.9030 / 0.9265.
None adopted (docs/extraction.md).

Result (2026-12-03; docs/extraction.md, branch issue17e): all columns: learned 0.951 / 0.936 on the folds
vs the rules' 0.950 / 0.937, a tie; a hand-picked subset (``--columns rule_keep,log_chars,
link_share,tag_h,sentence_end,boiler_phrase,after_last_prose,to_region_end,repeated``)
0.950 / 0.940, but picked after some twenty variants had been scored on these same folds, so
optimistic. Cost per page, beside the rendering's 1.6 ms: the features 0.7 ms (the rules' own
pass 0.1 ms of it), the container lookups 1.5 ms more. The extractor keeps its rules.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAMBDAS = (10.0, 100.0, 1000.0)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
NEWTON_STEPS = 30
FEATURES = (
    "log_chars", "log_plain", "link_share", "tag_h", "tag_p", "tag_li", "sentence_end", "boiler_phrase",
    "end_marker", "more_marker", "prose", "position", "share_of_page", "digit_share", "date_or_url", "separators",
    "repeated", "in_title", "log_blocks", "log_score", "nav", "bad", "in_region", "before_region", "after_region",
    "after_cut", "rule_keep", "content_before", "in_article", "in_main", "in_aside", "has_article",
    "to_region_end", "after_last_prose",
)  # fmt: skip
CONTEXT = (-2, -1, 1, 2)  # neighbours whose features count too (a heading before a paragraph, a list among links)
CONTEXT_FEATURES = ("log_chars", "link_share", "tag_h", "tag_li", "sentence_end", "boiler_phrase", "in_region", "rule_keep")
FALLBACK = False  # --fallback: an untuned rendering shorter than extract.SHORT_CHARS is the whole page's
WHOLE = False  # --whole: the untuned blocks are always the whole page's, WHOLE_FEATURES appended
# --whole: whether Resiliparse's main-content rendering holds the block, and whether that
# rendering is short (then it says little: extract.render would have used the whole page)
WHOLE_FEATURES = ("in_main_render", "main_render_short")
RUNS = False  # --runs: bench/dompath.py's RUN_FEATURES appended (runs of blocks in one list container)
PROPAGATE = ()  # --propagate [neg]: the training labels (both, or 0 only) spread within a labelled block's container
RELATION = False  # --relation: bench/dompath.py's RELATION_FEATURES appended last (where against the main container)
CONTAINERS = {"article": "article, [itemprop=articleBody]", "main": "main, [role=main]", "aside": "aside, footer, nav, header"}
# the columns of ``features``, by name ("log_chars@-1": log_chars of the block before)
COLUMNS = list(FEATURES) + [f"{f}@{d}" for d in CONTEXT for f in (*CONTEXT_FEATURES, "exists")]
_DATE_URL = re.compile(r"\d{1,4}[./-]\s?\d{1,2}[./-]\s?\d{2,4}|https?://|www\.|@\w")
_DIGIT = re.compile(r"\d")
_SEPARATORS = re.compile(r"[|•»·/]")


def md5_bit(url: str, bit: int) -> int:
    """Bit 0 is extract_errors.fold (the md5 folds); bit 1 splits each fold again."""
    return (int(hashlib.md5(url.encode("utf-8")).hexdigest(), 16) >> bit) & 1


def salted_bit(url: str, salt: int) -> int:
    """The fold of ``url`` in the ``salt``-th other halving of the tuning half (--splits)."""
    return int(hashlib.md5(f"{salt}:{url}".encode("utf-8")).hexdigest(), 16) & 1


def container_texts(tree) -> dict:
    """Whitespace-normalised text of CONTAINERS' elements on the page, per kind, joined."""
    doc = tree.document
    if doc is None:
        return {k: "" for k in CONTAINERS}
    return {k: " ".join(" ".join(e.text.split()) for e in doc.query_selector_all(sel)) for k, sel in CONTAINERS.items()}


def features(bl: list, title: str, containers: dict):
    """One row per block: FEATURES, then CONTEXT_FEATURES of each CONTEXT neighbour and whether
    that neighbour exists (zeros past the page's ends)."""
    import numpy as np

    from curate.readers import extract as E

    n, width = len(bl), len(FEATURES) + len(CONTEXT) * (len(CONTEXT_FEATURES) + 1)
    if n == 0:
        return np.zeros((0, width))
    sig = E._rule_signals(bl)
    title = " ".join(title.split())
    seen: dict = {}
    for _, text, _ in bl:
        seen[text] = seen.get(text, 0) + 1
    chars = np.array([len(t) for _, t, _ in bl], dtype=float)
    links = np.array([x for _, _, x in bl], dtype=float)
    score = np.array(sig["score"], dtype=float)
    idx = np.arange(n)
    prose = [i for i, (_, t, x) in enumerate(bl) if E._prose(t, x)]
    last_prose = prose[-1] if prose else n
    col = {
        "log_chars": np.log1p(chars), "log_plain": np.log1p(chars - links), "link_share": links / np.maximum(chars, 1),
        "position": idx / n, "share_of_page": chars / chars.sum(), "log_blocks": np.full(n, np.log1p(n)),
        "log_score": np.sign(score) * np.log1p(np.abs(score)), "nav": sig["nav"], "bad": sig["bad"],
        "in_region": (idx >= sig["lo"]) & (idx < sig["hi"]), "before_region": np.log1p(np.maximum(sig["lo"] - idx, 0)),
        "after_region": np.log1p(np.maximum(idx - sig["hi"] + 1, 0)), "after_cut": idx >= sig["cut"],
        "rule_keep": sig["keep"], "has_article": np.full(n, bool(containers["article"])),
        "to_region_end": np.where(idx < sig["hi"], np.log1p(np.maximum(sig["hi"] - 1 - idx, 0)), -1.0),
        "after_last_prose": idx > last_prose,
        "content_before": (np.maximum(score, 0).cumsum() - np.maximum(score, 0)) / max(np.maximum(score, 0).sum(), 1),
    }  # fmt: skip
    per_block = {k: [] for k in FEATURES if k not in col}
    for tag, text, nlinks in bl:
        flat = " ".join(text.split())
        for k, v in (
            ("tag_h", tag.startswith("h")), ("tag_p", tag == "p"), ("tag_li", tag == "li"),
            ("sentence_end", text.endswith(E._SENTENCE_END)),
            ("boiler_phrase", len(text) < E.BOILER_CHARS and E._BOILER.search(text.lower()) is not None),
            ("end_marker", E._END.match(text[: E.HEAD_CHARS]) is not None),
            ("more_marker", E._MORE.match(text[: E.HEAD_CHARS]) is not None), ("prose", E._prose(text, nlinks)),
            ("digit_share", len(_DIGIT.findall(text)) / len(text)), ("date_or_url", _DATE_URL.search(text) is not None),
            ("separators", min(len(_SEPARATORS.findall(text)), 5)), ("repeated", seen[text] > 1),
            ("in_title", bool(title) and len(flat) >= 10 and (flat in title or title in flat)),
            ("in_article", flat in containers["article"]), ("in_main", flat in containers["main"]),
            ("in_aside", flat in containers["aside"]),
        ):  # fmt: skip
            per_block[k].append(v)
    own = np.column_stack([np.asarray(col[k] if k in col else per_block[k], dtype=float) for k in FEATURES])
    ctx = own[:, [FEATURES.index(f) for f in CONTEXT_FEATURES]]
    parts = [own]
    for d in CONTEXT:  # row i gets block i + d
        shifted = np.zeros((n, ctx.shape[1] + 1))
        shifted[max(-d, 0) : n - max(d, 0), :-1] = ctx[max(d, 0) : n + min(d, 0)]
        shifted[max(-d, 0) : n - max(d, 0), -1] = 1
        parts.append(shifted)
    return np.hstack(parts)


def labels(bl: list, gold: dict, norm) -> list[int]:
    """1 / 0 / -1 (unlabelled) per block (see the module doc)."""
    from curate.readers import extract

    with_, without = [norm(s) for s in gold["with"]], [norm(s) for s in gold["without"]]
    out = []
    for blk in bl:
        t = norm(extract.join_kept([blk], [True]))
        pos = any(s in t or (len(t) >= 5 and t in s) for s in with_)
        neg = any(s in t or (len(t) >= 5 and t in s) for s in without)
        out.append(1 if pos and not neg else 0 if neg and not pos else -1)
    return out


# What --untuned leaves out: the phrase lists and everything the hand-set rules derive (their
# constants and phrase lists were set on the tuning half), and the DOM container lookups (the
# rendering is then made without the skip list too).
TUNED = ("boiler_phrase", "end_marker", "more_marker", "log_score", "nav", "bad", "in_region", "before_region",
         "after_region", "after_cut", "rule_keep", "content_before", "to_region_end", "in_article", "in_main",
         "in_aside", "has_article")  # fmt: skip


def in_main(bl: list, main: list) -> list[bool]:
    """Per block of the whole page's rendering: whether the main-content rendering's blocks
    ``main`` hold its text (one of them is it, or, from 20 characters on, contains it)."""
    texts = {t for _, t, _ in main}
    joined = "\n".join(texts)
    return [t in texts or (len(t) >= 20 and t in joined) for _, t, _ in bl]


def split_by(X, col: int):
    """``X`` twice side by side: the rows where column ``col`` is 1 in the first copy, the others
    in the second (zeros elsewhere), so that a linear model fits separate weights for each."""
    import numpy as np

    inside = X[:, [col]]
    return np.hstack([X * inside, X * (1 - inside)])


def page_blocks(body: bytes, untuned: bool, dom: bool):
    """A page's blocks and their features (as html_to_text decodes and parses it). ``untuned``:
    the rendering without the skip list; ``dom``: bench/dompath.py's FEATURES appended;
    WHOLE (with ``untuned``): the whole page's blocks, WHOLE_FEATURES appended before those."""
    import numpy as np
    from resiliparse.parse.encoding import bytes_to_str
    from resiliparse.parse.html import HTMLTree

    import dompath
    from curate.readers import extract
    from curate.readers.html import _html_encoding

    text = bytes_to_str(body, _html_encoding(body, None), errors="replace")
    tree = HTMLTree.parse(text)
    parts = []
    if untuned and WHOLE:  # every block of the page; the main-content rendering becomes a feature
        mh = extract._render(tree, True)
        whole = extract._render(tree, False)
        main, bl = extract.blocks(whole if FALLBACK and len(mh) < extract.SHORT_CHARS else mh), extract.blocks(whole)
        short = len(mh) < extract.SHORT_CHARS
        parts.append(np.array([(m, short) for m in in_main(bl, main)], dtype=float).reshape(-1, 2))
    elif untuned:
        mh = extract._render(tree, True)
        if FALLBACK and len(mh) < extract.SHORT_CHARS:  # Resiliparse found no main content: the whole page
            mh = extract._render(tree, False)
        bl = extract.blocks(mh)
    else:
        bl = extract.blocks(extract.render(tree))
    X = np.hstack([features(bl, tree.title or "", container_texts(tree)), *parts])
    utf8 = text.encode("utf-8") if dom or RUNS or RELATION else b""
    X = np.hstack([X, dompath.block_features(utf8, bl)]) if dom else X
    X = np.hstack([X, dompath.run_features(utf8, bl)]) if RUNS else X
    return bl, np.hstack([X, dompath.main_relation(utf8, bl)]) if RELATION else X


def propagate(y, cont, spread=(0, 1)) -> list[int]:
    """Labels ``y`` (1 / 0 / -1) spread within containers: an unlabelled block whose container
    (``cont``, -1: none) holds labelled blocks, all of one label among ``spread``, takes that label."""
    seen: dict = {}
    for label, c in zip(y, cont):
        if label >= 0 and c >= 0:
            seen.setdefault(c, set()).add(label)
    one = {c: next(iter(v)) for c, v in seen.items() if len(v) == 1 and next(iter(v)) in spread}
    return [one.get(c, label) if label < 0 else label for label, c in zip(y, cont)]


def block_containers(body: bytes, bl: list) -> list[int]:
    """The dompath container index of each block of ``bl`` (-1 where it could not be aligned)."""
    from resiliparse.parse.encoding import bytes_to_str

    import dompath
    from curate.readers.html import _html_encoding

    text = bytes_to_str(body, _html_encoding(body, None), errors="replace")
    runs, _, rows, hits = dompath._aligned(text.encode("utf-8"), bl)
    cont = [-1] * len(bl)
    for i, k in zip(rows, hits):
        cont[i] = int(runs[k, 2])
    return cont


def load_pages(untuned: bool = False, dom: bool = False) -> list[dict]:
    """The tuning half, each page with its blocks, features (``page_blocks``) and block labels;
    with ``dom``, COLUMNS grows by the DOM features."""
    import numpy as np

    import bench_extract as b
    import dompath

    if untuned and WHOLE:
        COLUMNS.extend(WHOLE_FEATURES)
    if dom:
        COLUMNS.extend(f"dom_{f}" for f in dompath.FEATURES)
    if RUNS:
        COLUMNS.extend(dompath.RUN_FEATURES)
    if RELATION:
        COLUMNS.extend(dompath.RELATION_FEATURES)
    out = []
    for p in b.gold_pages(b.CORPORA, b.TRAF):
        if not b.tuning_half(p["url"]):
            continue  # never the held-out half
        bl, X = page_blocks(p["html"], untuned, dom)
        y = labels(bl, p["gold"], b._norm)
        if PROPAGATE:  # y only trains: the scores are by snippets
            y = propagate(y, block_containers(p["html"], bl), PROPAGATE)
        out.append({"url": p["url"], "gold": p["gold"], "bl": bl, "X": X, "y": np.array(y)})
    return out


def aeb_labels(bl: list, body: str, norm) -> list[int]:
    """1 / 0 / -1 per block of an AEB page from its gold article body alone: positive when the
    block's text lies in the body (or, past five words, 90% of its word 4-grams do), negative
    when at most 10% do and no part of it is the body's, unlabelled between (a caption half in
    the body, a one-word block)."""
    import bench_extract as b
    from curate.readers import extract

    art = norm(body)
    shingles = b._shingles(art)
    out = []
    for blk in bl:
        t = norm(extract.join_kept([blk], [True]))
        own = b._shingles(t)
        share = sum((own & shingles).values()) / max(sum(own.values()), 1)
        words = len(t.split())
        if len(t) >= 5 and t in art or (words > 5 and share >= 0.9):
            out.append(1)
        elif words >= 3 and share <= 0.1 and t not in art:
            out.append(0)
        else:
            out.append(-1)
    return out


def load_aeb(untuned: bool = False, dom: bool = False) -> list[dict]:
    """The AEB pages with blocks, features and ``aeb_labels`` (for --aeb-train)."""
    import numpy as np

    import bench_extract as b

    out = []
    for p in b.gold_pages(b.CORPORA, b.AEB):
        bl, X = page_blocks(p["html"], untuned, dom)
        body = p["gold"].get("articleBody", "")
        out.append({"url": p["url"], "body": body, "bl": bl, "X": X, "y": np.array(aeb_labels(bl, body, b._norm))})
    return out


def aeb_f1(model: dict, untuned: bool, dom: bool, cols: list | None) -> dict:
    """The article-extraction benchmark's score (bench_extract's metric) of ``model``, which
    was not trained on it."""
    import bench_extract as b
    from curate.readers import extract

    pages = []
    for p in b.gold_pages(b.CORPORA, b.AEB):
        bl, X = page_blocks(p["html"], untuned, dom)
        pages.append({"bl": bl, "X": X if cols is None else X[:, cols]})
    masks = keeps(model, pages, model["threshold"])
    texts = [extract.join_kept(p["bl"], k).replace("\ufeff", "").strip() for p, k in zip(pages, masks)]
    return b.shingle_scores(texts, [p["gold"].get("articleBody", "") for p in b.gold_pages(b.CORPORA, b.AEB)])


def fit(pages: list[dict], lam: float, extra: list[dict] = (), weight: float = 1.0) -> dict:
    """Logistic regression on the labelled blocks of ``pages`` and of ``extra`` (another gold's
    pages, each block counting ``weight``; see the module doc), with the standardisation folded
    into the weights (they apply to raw features)."""
    import numpy as np

    both = [*pages, *extra]
    X = np.vstack([p["X"][p["y"] >= 0] for p in both])
    y = np.concatenate([p["y"][p["y"] >= 0] for p in both]).astype(float)
    s = np.concatenate([np.full(int((p["y"] >= 0).sum()), 1.0 if i < len(pages) else weight) for i, p in enumerate(both)])
    mean, std = X.mean(0), X.std(0)
    std[std == 0] = 1.0
    Z = np.hstack([(X - mean) / std, np.ones((len(X), 1))])
    reg = np.full(Z.shape[1], lam)
    reg[[COLUMNS.index(c) for c in ("rule_keep",) if c in COLUMNS] + [-1]] = 0.0  # neither the rules' mask nor the bias is shrunk
    w = np.zeros(Z.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1 / (1 + np.exp(-(Z @ w)))
        hess = (Z * (s * p * (1 - p))[:, None]).T @ Z + np.diag(reg)
        w = w - np.linalg.solve(hess, Z.T @ (s * (p - y)) + reg * w)
    return {"weights": (w[:-1] / std).tolist(), "bias": float(w[-1] - (w[:-1] * mean / std).sum()), "lambda": lam}


def keeps(model: dict, pages: list[dict], threshold: float) -> list:
    import numpy as np

    return [1 / (1 + np.exp(-(p["X"] @ np.array(model["weights"]) + model["bias"]))) >= threshold for p in pages]


def f1(pages: list[dict], masks) -> dict:
    """bench_extract's snippet scores of the text the masks keep (as html_to_text returns it)."""
    import bench_extract as b
    from curate.readers import extract

    texts = [extract.join_kept(p["bl"], k).replace("\ufeff", "").strip() for p, k in zip(pages, masks)]
    return b.prf([b.snippet_counts(t, p["gold"]) for t, p in zip(texts, pages)])


def page_errors(pages: list[dict], masks) -> list[dict]:
    """Per page, most errors first: its url, the ``with`` snippets missed (each marked whether
    it is in the rendering at all, i.e. whether any block decision could have kept it) and the
    ``without`` snippets kept, by bench_extract's matching."""
    import bench_extract as b
    from curate.readers import extract

    rows = []
    for p, k in zip(pages, masks):
        kept = b._norm(extract.join_kept(p["bl"], k).replace("\ufeff", ""))
        whole = b._norm(extract.join_kept(p["bl"], [True] * len(p["bl"])))
        missed = [(s, b._norm(s) in whole) for s in p["gold"]["with"] if b._norm(s) not in kept]
        rows.append({"url": p["url"], "missed": missed, "kept": [s for s in p["gold"]["without"] if b._norm(s) in kept]})
    return sorted(rows, key=lambda r: -(len(r["missed"]) + len(r["kept"])))


def choose_and_fit(pages: list[dict], bit: int, extra: list[dict] = (), weight: float = 1.0) -> dict:
    """Lambda and threshold by cross-fitting on md5 bit ``bit`` of ``pages`` (``extra`` in every
    fit, never scored), then the model refitted on all of them."""
    halves = [[p for p in pages if md5_bit(p["url"], bit) == h] for h in (0, 1)]
    best = None
    for lam in LAMBDAS:
        models = [fit(halves[1 - h], lam, extra, weight) for h in (0, 1)]  # models[h] scores half h
        for th in THRESHOLDS:
            mean = sum(f1(halves[h], keeps(models[h], halves[h], th))["f1"] for h in (0, 1)) / 2
            if best is None or mean > best[0] + 1e-12:
                best = (mean, lam, th)
    return {**fit(pages, best[1], extra, weight), "threshold": best[2], "chosen_by_f1": round(best[0], 6)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", metavar="PATH", help="write the model derived from the whole tuning half (JSON)")
    ap.add_argument("--columns", help="comma-separated COLUMNS to use (rule_keep among them); default: all")
    ap.add_argument("--untuned", action="store_true", help="the honest estimate: no skip list, no TUNED columns")
    ap.add_argument("--splits", type=int, default=0, help="also estimate on this many other halvings (salted md5)")
    ap.add_argument("--aeb", action="store_true", help="score the whole tuning half's model on the AEB")
    ap.add_argument("--dom", action="store_true", help="add bench/dompath.py's DOM-container features")
    ap.add_argument("--fallback", action="store_true", help="--untuned: a short rendering is retried on the whole page")
    ap.add_argument("--runs", action="store_true", help="add bench/dompath.py's RUN_FEATURES (runs of list blocks)")
    ap.add_argument("--propagate", nargs="?", const="both", choices=("both", "neg"),
                    help="train on labels spread within DOM containers (propagate; neg: negative ones only); "
                         "scoring is unchanged")
    ap.add_argument("--relation", action="store_true",
                    help="add bench/dompath.py's RELATION_FEATURES (where a block lies against the main container)")
    ap.add_argument("--interact", nargs="?", const="in_main_render", metavar="COLUMN",
                    help="separate weights for the blocks where COLUMN (a 0/1 column) is 1 and the others; "
                         "default in_main_render (with --whole)")
    ap.add_argument("--whole", action="store_true",
                    help="--untuned: always the whole page's blocks, each marked whether the main rendering holds it")
    ap.add_argument("--errors", type=int, default=0, metavar="N",
                    help="list the N pages with the most out-of-fold errors on the md5 folds")
    ap.add_argument("--aeb-train", type=float, default=0.0, metavar="W",
                    help="add the AEB pages' labelled blocks (aeb_labels) to every fit, each counting W")
    args = ap.parse_args()
    import bench_extract as b
    from curate.readers import extract

    if args.interact and (args.aeb or (args.interact == "in_main_render" and not args.whole)):
        ap.error("--interact does not go with --aeb; its default column needs --whole")
    global FALLBACK, WHOLE, RUNS, RELATION, PROPAGATE
    FALLBACK, WHOLE, RUNS, RELATION, PROPAGATE = args.fallback, args.whole, args.runs, args.relation, \
        {None: (), "both": (0, 1), "neg": (0,)}[args.propagate]
    pages = load_pages(args.untuned, args.dom)
    aeb = load_aeb(args.untuned, args.dom) if args.aeb_train else []
    w = args.aeb_train or 1.0
    if args.untuned and not args.columns:
        args.columns = ",".join(c for c in COLUMNS if c.split("@")[0] not in TUNED)
    cols = None
    if args.columns:
        names = args.columns.split(",")
        cols = [COLUMNS.index(c) for c in names]
        COLUMNS[:] = names
        for p in [*pages, *aeb]:
            p["X"] = p["X"][:, cols]
    if args.interact:  # one set of weights where the column is 1 (in the main-content rendering), one elsewhere
        m = COLUMNS.index(args.interact)
        for p in [*pages, *aeb]:
            p["X"] = split_by(p["X"], m)
        COLUMNS[:] = COLUMNS + [f"out:{c}" for c in COLUMNS]
    labelled = [int(x) for p in pages for x in p["y"] if x >= 0]
    every = []  # the learned F1 of every fold scored
    print(f"tuning half: {len(pages)} pages, {sum(len(p['bl']) for p in pages)} blocks, "
          f"{len(labelled)} labelled ({sum(labelled)} positive)")  # fmt: skip
    errors = []
    for f in (0, 1):
        train = [p for p in pages if md5_bit(p["url"], 0) != f]
        test = [p for p in pages if md5_bit(p["url"], 0) == f]
        m = choose_and_fit(train, 1, aeb, w)
        learned, rules = f1(test, keeps(m, test, m["threshold"])), f1(test, [extract.keep_mask(p["bl"]) for p in test])
        every.append(learned["f1"])
        errors += page_errors(test, keeps(m, test, m["threshold"])) if args.errors else []
        print(f"fold {f} ({len(test)} pages; lambda {m['lambda']:g}, threshold {m['threshold']}): "
              f"learned F1 {learned['f1']:.4f} (P {learned['precision']:.4f} R {learned['recall']:.4f})  "
              f"rules F1 {rules['f1']:.4f} (P {rules['precision']:.4f} R {rules['recall']:.4f})")  # fmt: skip
    errors.sort(key=lambda r: -(len(r["missed"]) + len(r["kept"])))
    for r in errors[: args.errors]:
        print(f"{r['url']}: {len(r['missed'])} missed, {len(r['kept'])} kept")
        for s, rendered in r["missed"]:
            print(f"   missed{'' if rendered else ' (not in the rendering)'}: {b._norm(s)[:100]}")
        for s in r["kept"]:
            print(f"   kept: {b._norm(s)[:100]}")
    for salt in range(args.splits):  # the same estimate on other random halvings of the tuning half
        fs = []
        for f in (0, 1):
            train = [p for p in pages if salted_bit(p["url"], salt) != f]
            test = [p for p in pages if salted_bit(p["url"], salt) == f]
            m = choose_and_fit(train, 1, aeb, w)
            fs.append(f1(test, keeps(m, test, m["threshold"]))["f1"])
        every.extend(fs)
        print(f"split {salt}: learned F1 {fs[0]:.4f} / {fs[1]:.4f}")
    print(f"mean of the {len(every)} folds: {sum(every) / len(every):.4f}")
    m = choose_and_fit(pages, 0, aeb, w)
    print(f"whole tuning half: lambda {m['lambda']:g}, threshold {m['threshold']} (cross-fitted F1 {m['chosen_by_f1']:.4f})")
    if args.aeb and aeb:  # each AEB half scored by a model trained on the tuning half and the other AEB half
        masks = [None] * len(aeb)
        for h in (0, 1):
            mh = choose_and_fit(pages, 0, [p for p in aeb if md5_bit(p["url"], 0) != h], w)
            for i, p in enumerate(aeb):
                if md5_bit(p["url"], 0) == h:
                    masks[i] = keeps(mh, [p], mh["threshold"])[0]
        texts = [extract.join_kept(p["bl"], k).replace("\ufeff", "").strip() for p, k in zip(aeb, masks)]
        a = b.shingle_scores(texts, [p["body"] for p in aeb])
        print(f"AEB (cross-fitted: trained on its other half): F1 {a['f1']:.4f} (P {a['precision']:.4f} R {a['recall']:.4f})")
    elif args.aeb:
        a = aeb_f1(m, args.untuned, args.dom, cols)
        print(f"AEB (not trained on): F1 {a['f1']:.4f} (P {a['precision']:.4f} R {a['recall']:.4f})")
    if args.write:
        model = {"columns": COLUMNS, "threshold": m["threshold"], "lambda": m["lambda"], "bias": round(m["bias"], 8),
                 "weights": [round(x, 8) for x in m["weights"]]}  # fmt: skip
        Path(args.write).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(REPO), str(REPO / "bench")]
    sys.exit(main())
