"""``langid.prior_correction``: the exponent chosen without UDHR, and UDHR scored untouched.

    python bench/select_lid_prior.py [--corpora ../shared/corpora]

For each exponent a in 0, 0.1, ..., 1.5 the langid stage (``detector = "fasttext+cld2"``,
``prior_correction = a``) labels the lingua paragraphs (>= 200 chars, languages lid.176 has)
and the whole UDHR documents in languages lid.176 has. No choice here looks at UDHR:

* **chosen on lingua**: the exponent with the best accuracy on the lingua ``derive`` half (the
  smaller one on a tie); its ``check`` half is reported beside it.
* **a = 1, the uniform prior**: not chosen on any data. lid.176's probabilities carry the
  label counts of its training data; dividing by them (a = 1) turns the posterior into the
  likelihood, the Bayes decision when every label is equally likely a priori, as it is on a
  test set of one document per language such as UDHR.

UDHR (all documents) is then only scored: its column is printed for every exponent so the
reader sees the whole curve, and the misses of both setups are listed by file.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pyarrow as pa

from curate.stages.langid import LangID
from curate.stages.multilingual_data import lingua_paragraphs, udhr_documents

REPO = Path(__file__).resolve().parents[1]
GRID = [round(0.1 * i, 1) for i in range(16)]
UNIFORM = 1.0


def labelled(stage, texts):
    """Predicted labels and scores of ``texts``."""
    return stage.predict(stage.prepare(pa.array(texts, pa.large_string())))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    args = ap.parse_args()
    base = LangID({"languages": "all"})
    base.setup()
    labels = {x[len("__label__") :] for x in base.model.get_labels()}
    lingua = {"derive": [], "check": []}
    for g, t, h in lingua_paragraphs(args.corpora):
        if g in labels:
            lingua[h].append((g, t))
    udhr = [(s, g, t) for s, g, t in udhr_documents(args.corpora, labels) if g in labels]
    print(f"  a  lingua derive ({len(lingua['derive'])})  lingua check ({len(lingua['check'])})  "
          f"UDHR all ({len(udhr)}; scored only)")
    rows = {}
    for a in GRID:
        stage = LangID({"languages": "all", "detector": "fasttext+cld2", "prior_correction": a})
        stage.setup()
        acc = {h: sum(p == g for p, (g, _) in zip(labelled(stage, [t for _, t in d])[0], d)) / len(d)
               for h, d in lingua.items()}
        pred, score = labelled(stage, [t for *_, t in udhr])
        misses = [(s, g, p, float(sc)) for p, sc, (s, g, _) in zip(pred, score, udhr) if p != g]
        rows[a] = (acc, misses)
        print(f"{a:>4} {acc['derive']:>19.4f} {acc['check']:>18.4f} {1 - len(misses) / len(udhr):>10.3f} "
              f"({len(udhr) - len(misses)}/{len(udhr)})")
    chosen = max(GRID, key=lambda a: (rows[a][0]["derive"], -a))
    for name, a in (("chosen on lingua derive", chosen), ("uniform prior, not chosen", UNIFORM)):
        acc, misses = rows[a]
        print(f"{name}: a = {a}; lingua check {acc['check']:.4f}; UDHR all {1 - len(misses) / len(udhr):.3f} "
              f"({len(udhr) - len(misses)}/{len(udhr)}), misses (file gold -> label score): "
              + ", ".join(f"{s} {g}->{p} {sc:.2f}" for s, g, p, sc in misses))


if __name__ == "__main__":
    main()
