"""Where the `blocks` extractor errs on the TUNING half of the trafilatura gold, by cause, and
what each of its rules is worth there, on two folds.

    python bench/extract_errors.py [--ablate] [--pages]

Only tuning-half pages (bench_extract.tuning_half) are read: the held-out half stays unseen.
The tuning half is split again by md5(url) % 2 into two folds; a rule that generalises should
help both. Text comes from curate's own ``html_to_text`` (the WARC reader's function), so the
tuning F1 printed here is bench_extract's.

* errors: each missed ``with`` snippet is "lost in rendering" (not in Resiliparse's rendering
  with the skip list; split by whether the skip list or ``main_content`` took it, or neither
  rendering has it) or "dropped by scoring" (rendered, not kept); each kept ``without``
  snippet is placed relative to the kept blocks that hold gold text: before the first,
  between, after the last (and whether it is the last kept block: the article's tail).
* ``--ablate``: F1 (all / fold 0 / fold 1) and pages changed with each rule switched off in
  turn (each skip-list selector, and each scoring rule by its constant).
* ``--against trafilatura`` (needs the ``trafilatura`` extra): how far ``blocks`` and another
  extractor err on the same snippets: each snippet by (found by blocks, found by the other),
  and the F1 of keeping a snippet when both find it, or when either does (an upper bound for
  an intersection or a union of the two texts).
"""
from __future__ import annotations

import argparse
import hashlib
import html as html_lib
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def fold(url: str) -> int:
    return int(hashlib.md5(url.encode("utf-8")).hexdigest(), 16) % 2


def score(b, pages, texts) -> tuple[dict, list]:
    counts = [b.snippet_counts(t, p["gold"]) for t, p in zip(texts, pages)]
    out = {"all": b.prf(counts)}
    for f in (0, 1):
        out[f] = b.prf([c for c, p in zip(counts, pages) if fold(p["url"]) == f])
    return out, counts


def extract_all(pages, extractor: str = "blocks") -> list[str]:
    from curate.readers.html import html_to_text

    return [html_to_text(p["html"], extractor=extractor)[0] for p in pages]


def agreement(b, pages, ours: list[str], theirs: list[str]) -> tuple[Counter, dict]:
    """Snippets by (kind, found by ours, found by theirs); F1 of "both find it" and "either does"."""
    cells: Counter = Counter()
    for p, x, y in zip(pages, ours, theirs):
        x, y = b._norm(x), b._norm(y)
        for kind in ("with", "without"):
            for s in p["gold"][kind]:
                s = b._norm(s)
                cells[kind, s in x, s in y] += 1

    def f1(keep) -> dict:
        tp = sum(n for (k, x, y), n in cells.items() if k == "with" and keep(x, y))
        fp = sum(n for (k, x, y), n in cells.items() if k == "without" and keep(x, y))
        fn = sum(n for (k, x, y), n in cells.items() if k == "with") - tp
        return b.prf([(tp, fn, fp, 0)])

    return cells, {"both": f1(lambda x, y: x and y), "either": f1(lambda x, y: x or y)}


def error_causes(b, pages) -> tuple[Counter, Counter]:
    """(missed snippets by cause, kept boilerplate snippets by position); see the module doc."""
    from resiliparse.parse.html import HTMLTree

    from curate.readers import extract
    from curate.readers.html import _html_encoding

    norm = b._norm

    def rendered(tree, main, skip=None):
        return norm(html_lib.unescape(extract._TAG.sub(" ", extract._render(tree, main, skip))))

    missed, kept_bad = Counter(), Counter()
    for p in pages:
        tree = HTMLTree.parse(p["html"].decode(_html_encoding(p["html"], None), errors="replace"))
        text = norm(extract.extract_blocks(tree))
        bl = extract.blocks(extract.render(tree))
        keep = extract.keep_mask(bl)
        btexts = [norm(t) for _, t, _ in bl]
        in_render = " ".join(btexts)
        for s in map(norm, p["gold"]["with"]):
            if s in text:
                continue
            if s in in_render:
                missed["dropped by scoring"] += 1
            elif s in rendered(tree, True):
                missed["lost in rendering: skip list"] += 1
            elif s in rendered(tree, False):
                missed["lost in rendering: main_content"] += 1
            else:
                missed["lost in rendering: in neither rendering"] += 1
        gold_at = [i for i, t in enumerate(btexts) if keep[i] and any(s in t for s in map(norm, p["gold"]["with"]))]
        kept_at = [i for i in range(len(bl)) if keep[i]]
        for s in map(norm, p["gold"]["without"]):
            if s not in text:
                continue
            at = [i for i in kept_at if s in btexts[i] or (len(btexts[i]) > 8 and btexts[i] in s)]
            if not at or not gold_at:
                kept_bad["no gold block kept / spans blocks"] += 1
                continue
            i = at[0]
            where = "after the article" if i > max(gold_at) else "before the article" if i < min(gold_at) else "inside"
            kept_bad[where + (" (last kept block)" if i == kept_at[-1] else "")] += 1
    return missed, kept_bad


def ablations():
    """(name, switch-off, restore) per rule: each skip-list selector and each scoring constant."""
    from curate.readers import extract as E

    def skip_without(sel):
        return ["figcaption"] + [f"{s}:not({E.CONTENT})" for s in E._BOILER_CONTAINERS if s != sel]

    for sel in ["figcaption", *E._BOILER_CONTAINERS]:
        new = [s for s in E.SKIP if s != "figcaption"] if sel == "figcaption" else skip_without(sel)
        yield f"skip {sel}", ("SKIP", new)
    off = {
        "PROSE_CHARS": 10**9, "OUTSIDE_KEEP": 10**9, "CUT_AFTER": 10**9, "MORE_SHARE": 0, "GAP_BLOCKS": 0,
        "TAIL_SHARE": 0, "TAIL_LABEL": 0, "HEAD_CHARS": 0, "HEAD_EXEMPT": (), "SHORT_CHARS": 0, "BAD_COST": 0,
    }  # fmt: skip
    for name, value in off.items():
        yield f"{name} = {value!r}", (name, value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ablate", action="store_true", help="switch each rule off in turn")
    ap.add_argument("--against", metavar="EXTRACTOR", help="where blocks and this extractor err on the same snippets")
    args = ap.parse_args()
    from curate.readers import extract as E

    import bench_extract as b  # the bench's gold loading and scoring, not a copy of them
    pages = [p for p in b.gold_pages(b.CORPORA, b.TRAF) if b.tuning_half(p["url"])]  # never the held-out half
    base, base_counts = score(b, pages, extract_all(pages))

    def line(label, s):
        a = s["all"]
        return f"{label:<44} {a['f1']:.4f} (P {a['precision']:.4f} R {a['recall']:.4f})  fold0 {s[0]['f1']:.4f}  fold1 {s[1]['f1']:.4f}"

    print(f"tuning half: {len(pages)} pages (fold0 {sum(fold(p['url']) == 0 for p in pages)})")
    print(line("blocks", base))
    missed, kept_bad = error_causes(b, pages)
    print(f"\nmissed 'with' snippets: {sum(missed.values())}")
    for k, v in missed.most_common():
        print(f"  {v:4d}  {k}")
    print(f"kept 'without' snippets: {sum(kept_bad.values())}")
    for k, v in kept_bad.most_common():
        print(f"  {v:4d}  {k}")
    if args.against:
        theirs = extract_all(pages, args.against)
        print("\n" + line(args.against, score(b, pages, theirs)[0]))
        cells, combined = agreement(b, pages, extract_all(pages), theirs)
        print(f"snippets by (kind, found by blocks, found by {args.against}):")
        for key, n in sorted(cells.items()):
            print(f"  {key[0]:<8} {'found' if key[1] else 'not found':<10} {'found' if key[2] else 'not found':<10} {n:5d}")
        for how, r in combined.items():
            print(f"kept when {how} finds it: F1 {r['f1']:.4f} (P {r['precision']:.4f} R {r['recall']:.4f})")
    if args.ablate:
        print("\nwith one rule off (pages changed)")
        for label, (name, value) in ablations():
            old = getattr(E, name)
            setattr(E, name, value)
            try:
                s, counts = score(b, pages, extract_all(pages))
            finally:
                setattr(E, name, old)
            print(line(label, s) + f"  {sum(x != y for x, y in zip(counts, base_counts)):3d}")


if __name__ == "__main__":
    sys.path[:0] = [str(REPO), str(REPO / "bench")]
    main()
