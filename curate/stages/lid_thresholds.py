"""Derive the shipped per-language LID thresholds (``curate/data/lid_thresholds.json``).

    python -m curate.stages.lid_thresholds [--corpora ../shared/corpora] [--output curate/data/lid_thresholds.json]

Why a threshold per language: lid.176's probability for a correct label depends on the
language. It is near 1 for languages unlike any other (Greek, Thai) and low for languages
with close neighbours (Croatian next to Bosnian and Serbian, Nynorsk next to Bokmål), so
FineWeb's single 0.65 removes most correctly labelled Croatian text (FineWeb-2 set a
threshold per language from the score distribution for the same reason).

Rule: for each label, the scores the model gives to *correctly labelled* text of that
language; the threshold is their 5th percentile, rounded down to 0.01, capped at 0.65
(never stricter than FineWeb's value, which stays the value of every language the model is
sure of, English included) and floored at 0.05. Data, in this order of preference:

1. lingua paragraphs (web sentences from the Leipzig corpora, joined to >= 200 chars), only
   the ``derive`` half (``curate.stages.multilingual_data.half``); the ``check`` half is kept for
   the acceptance numbers (tests/test_multilingual.py, bench/bench_lid.py);
2. for labels lingua lacks: UDHR documents cut into pieces of >= 200 chars, ``derive`` half;
3. a label with fewer than 10 correct pieces in either: the lowest score among the pieces of
   both (too few for a percentile; keeps every correct one seen), and with none at all the
   median of the derived thresholds.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from curate.stages.multilingual_data import half, lingua_paragraphs, udhr_documents

QUANTILE, CAP, FLOOR, MIN_SUPPORT = 0.05, 0.65, 0.05, 10
OUTPUT = Path(__file__).resolve().parents[1] / "data" / "lid_thresholds.json"


def udhr_pieces(corpora: Path, labels, min_chars: int = 200) -> list[tuple[str, str, str]]:
    """(label, piece, half): consecutive non-empty lines of each UDHR document joined to >= min_chars."""
    out = []
    for _, label, text in udhr_documents(corpora, labels):
        buf = []
        for line in text.splitlines():
            if line.strip():
                buf.append(line.strip())
            if len(" ".join(buf)) >= min_chars:
                piece = " ".join(buf)
                out.append((label, piece, half(piece)))
                buf = []
    return out


def correct_scores(stage, samples) -> dict[str, list[float]]:
    """label -> the model's scores of the samples it labels correctly."""
    langs, scores = stage.predict(stage.prepare(pa.array([t for _, t, _ in samples], pa.large_string())))
    out = defaultdict(list)
    for (gold, _, _), lang, score in zip(samples, langs, scores.tolist()):
        if lang == gold:
            out[gold].append(score)
    return out


def derive(corpora: Path, model: str = "lid.176.ftz") -> dict:
    from curate.stages.langid import LangID

    stage = LangID({"languages": "all", "model": model, "thresholds": ""})
    stage.setup()
    labels = sorted(x[len("__label__") :] for x in stage.model.get_labels())
    by_source = {
        "lingua": correct_scores(stage, [s for s in lingua_paragraphs(corpora) if s[2] == "derive"]),
        "udhr": correct_scores(stage, [s for s in udhr_pieces(corpora, labels) if s[2] == "derive"]),
    }
    thresholds, source, support = {}, {}, {}
    for label in labels:
        for name, scores in by_source.items():
            if len(scores.get(label, ())) >= MIN_SUPPORT:
                q = float(np.quantile(scores[label], QUANTILE))
                thresholds[label] = max(FLOOR, min(CAP, np.floor(q * 100) / 100))
                source[label], support[label] = name, len(scores[label])
                break
    for label in labels:
        pooled = [x for scores in by_source.values() for x in scores.get(label, ())]
        if label not in thresholds and pooled:
            thresholds[label] = max(FLOOR, min(CAP, np.floor(min(pooled) * 100) / 100))
            source[label], support[label] = "lingua+udhr (minimum)", len(pooled)
    fallback = float(np.floor(np.median(list(thresholds.values())) * 100) / 100)
    for label in labels:
        if label not in thresholds:
            thresholds[label], source[label], support[label] = fallback, "none (median)", 0
    return {
        "model": model,
        "command": "python -m curate.stages.lid_thresholds",
        "rule": f"min({CAP}, max({FLOOR}, {QUANTILE:.0%} quantile of scores of correctly labelled text)), "
        f"rounded down to 0.01; < {MIN_SUPPORT} correct pieces in each source: their minimum; "
        f"none: the median ({fallback})",
        "thresholds": {k: round(v, 2) for k, v in sorted(thresholds.items())},
        "source": dict(sorted(source.items())),
        "support": dict(sorted(support.items())),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "corpora")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument("--model", default="lid.176.ftz")
    args = ap.parse_args(argv)
    out = derive(args.corpora, args.model)
    args.output.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = defaultdict(int)
    for s in out["source"].values():
        counts[s] += 1
    low = sorted(out["thresholds"].items(), key=lambda kv: kv[1])[:15]
    print(f"wrote {args.output}: {len(out['thresholds'])} labels; from {dict(counts)}")
    print("lowest:", " ".join(f"{k}={v}" for k, v in low))


if __name__ == "__main__":
    main()
