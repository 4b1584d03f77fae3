"""Should the quality stage read a book as langid does (runs spread across it) or by its start?

    python bench/quality_books.py [--model default|PATH] [--prefix-chars N]

The books of ../shared/corpora/books (Project Gutenberg, read by `curate run --stages ingest`:
header and licence removed) are scored by the quality model with the README's quality config
(``model = "default"``, ``prefix_chars`` 10,000) given to ``[quality.books]``, three ways:

* prefix -- a web document's input (a book's too before this was measured): the first
            ``prefix_chars`` characters;
* spread -- the stage's input for a book (``langid.spread``): ``prefix_chars`` characters as 4 runs
            at 1/8, 3/8, 5/8, 7/8 of it;
* runs   -- the 4 runs scored each alone, their mean (as langid reads them apart, then votes);
* whole  -- the reference, independent of both: the mean score of every ``prefix_chars`` piece
            the whole book is cut into (what the classifier says of all of it).

Printed: each book's three scores, and for prefix and spread the Spearman correlation of their
ranking of the books with the whole-book ranking, the mean absolute error against it, and the
overlap of their top 30% (a ``top_fraction = 0.3`` rule) with the whole-book top 30%.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--prefix-chars", type=int, default=10000)
    args = ap.parse_args()

    from curate.stages.langid import spread
    from curate.stages.quality import load_model, model_path, positive_probs, prepare

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-m", "curate", "run", "--input", str(CORPORA / "books" / "*" / "*.txt"),
                        "--domain", "books", "--stages", "ingest", "--progress", "off", "--output", f"{tmp}/out"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        books = pl.read_parquet(f"{tmp}/out/text/*.parquet").select("path", "text").sort("path")
    model = load_model(model_path(args.model, "quality.books.model"))
    n, label = args.prefix_chars, "__label__hq"
    texts = books["text"].to_list()
    prefix = positive_probs(model, prepare(texts, n), label)
    spreads = positive_probs(model, prepare(texts, n, books=True), label)  # the stage's input for a book
    runs = np.array([positive_probs(model, prepare(spread(t, n) if len(t) > n else [t], n), label).mean() for t in texts])
    whole = np.array([positive_probs(model, prepare([t[i:i + n] for i in range(0, len(t), n)], n), label).mean()
                      for t in texts])
    print(f"{len(texts)} books, {sum(map(len, texts)):,} characters; model {args.model}, prefix_chars {n:,}")
    print(f"{'book':34} {'chars':>9} {'prefix':>7} {'spread':>7} {'runs':>7} {'whole':>7}")
    for p, t, a, b, r, w in zip(books["path"], texts, prefix, spreads, runs, whole):
        print(f"{p.rsplit('/', 1)[-1][:34]:34} {len(t):9,} {a:7.3f} {b:7.3f} {r:7.3f} {w:7.3f}")
    k = max(1, round(0.3 * len(texts)))
    top = lambda s: set(np.argsort(-s, kind="stable")[:k].tolist())  # noqa: E731
    for name, s in (("prefix", prefix), ("spread", spreads), ("runs", runs)):
        rho = np.corrcoef(ranks(s), ranks(whole))[0, 1]
        print(f"{name}: Spearman with whole {rho:.3f}; mean |score - whole| {np.abs(s - whole).mean():.3f}; "
              f"top 30% ({k}) shared with whole's: {len(top(s) & top(whole))}")
    print(f"prefix vs spread: Spearman {np.corrcoef(ranks(prefix), ranks(spreads))[0, 1]:.3f}; "
          f"top 30% shared {len(top(prefix) & top(spreads))} of {k}")


if __name__ == "__main__":
    main()
