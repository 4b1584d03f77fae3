"""Choose ``langid.prior_correction`` on data the acceptance numbers are not measured on.

    python bench/select_lid_prior.py [--corpora ../shared/corpora]

For each exponent a in 0, 0.1, ..., 1.5 the langid stage (``detector = "fasttext+cld2"``,
``prior_correction = a``) labels the lingua paragraphs (>= 200 chars) and the whole UDHR
documents in languages lid.176 has. Both are split in two halves by a hash of the text
(``multilingual_data.half``). The selection score is the mean of the accuracies on the
``derive`` halves (lingua: common web languages, so the correction must not cost them; UDHR:
one document per language, many of them minority varieties); the largest score wins, the
smaller exponent on a tie. The ``check`` halves are only reported: UDHR ``check`` is the
untouched number for acceptance 2. A second line swaps the halves (select on ``check``, score
``derive``) so every UDHR document is also scored once by an exponent chosen without it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from curate.stages.langid import LangID
from curate.stages.multilingual_data import half, lingua_paragraphs, udhr_documents

REPO = Path(__file__).resolve().parents[1]
GRID = [round(0.1 * i, 1) for i in range(16)]


def labelled(stage, docs):
    """Predicted labels of (gold, text) docs."""
    import pyarrow as pa

    return stage.predict(stage.prepare(pa.array([t for _, t in docs], pa.large_string())))[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    args = ap.parse_args()
    base = LangID({"languages": "all"})
    base.setup()
    labels = {x[len("__label__") :] for x in base.model.get_labels()}
    data = {}
    for g, t, h in lingua_paragraphs(args.corpora):
        if g in labels:
            data.setdefault(("lingua", h), []).append((g, t))
    for _, g, t in udhr_documents(args.corpora, labels):
        if g in labels:
            data.setdefault(("udhr", half(t)), []).append((g, t))
    keys = [(c, h) for c in ("lingua", "udhr") for h in ("derive", "check")]
    print("  a  " + " ".join(f"{c}-{h} ({len(data[c, h])})".rjust(20) for c, h in keys) + "  select(derive)  select(check)")
    rows = {}
    for a in GRID:
        stage = LangID({"languages": "all", "detector": "fasttext+cld2", "prior_correction": a})
        stage.setup()
        hits = {k: sum(p == g for p, (g, _) in zip(labelled(stage, data[k]), data[k])) for k in keys}
        acc = {k: hits[k] / len(data[k]) for k in keys}
        rows[a] = (hits, acc)
        sel = {h: (acc["lingua", h] + acc["udhr", h]) / 2 for h in ("derive", "check")}
        print(f"{a:>4} " + " ".join(f"{acc[k]:>20.4f}" for k in keys) + f"  {sel['derive']:>14.4f}  {sel['check']:>13.4f}")
    chosen = {h: max(GRID, key=lambda a: ((rows[a][1]["lingua", h] + rows[a][1]["udhr", h]) / 2, -a)) for h in ("derive", "check")}
    a = chosen["derive"]
    hits, acc = rows[a]
    n_u = len(data["udhr", "derive"]) + len(data["udhr", "check"])
    print(f"chosen on the derive halves: a = {a}; UDHR check half (untouched) {acc['udhr', 'check']:.3f} "
          f"({hits['udhr', 'check']}/{len(data['udhr', 'check'])}), all UDHR "
          f"{(hits['udhr', 'derive'] + hits['udhr', 'check']) / n_u:.3f}; lingua check {acc['lingua', 'check']:.4f} "
          f"(a = 0: UDHR check {rows[0.0][1]['udhr', 'check']:.3f}, all {(rows[0.0][0]['udhr', 'derive'] + rows[0.0][0]['udhr', 'check']) / n_u:.3f})")
    swap = chosen["check"]
    cross = rows[a][0]["udhr", "check"] + rows[swap][0]["udhr", "derive"]
    print(f"swapped: chosen on the check halves a = {swap}; every UDHR document scored by an exponent chosen "
          f"without it (check at {a}, derive at {swap}): {cross}/{n_u} = {cross / n_u:.3f}")


if __name__ == "__main__":
    main()
