"""Language-ID setups compared: accuracy on the shared multilingual data and speed on web pages.

    python bench/bench_lid.py [--corpora ../shared/corpora] [--repeat 3]

Setups: lid.176 alone (the langid stage's default), CLD2 alone (pycld2), py3langid alone,
paragraph voting with lid.176 (one prediction per line of >= 30 chars, votes weighted by
length x probability), the stage's ``detector = "fasttext+cld2"`` (CLD2 overrules the
model where it is reliable and knows the model's language), and both stage setups with
``prior_correction = 1`` (unsure answers re-ranked against the training label counts: the
uniform prior, not chosen on any data; ``bench/select_lid_prior.py`` shows the whole curve).
Two more combinations were tried and not adopted (both better on lingua, both worse on UDHR):
a majority of three with py3langid breaking ties between the stage's answer and CLD2's best
guess, and CLD2's reliable agreement with the model's own top label standing against the
prior correction. ``--vote-check`` asks whether the documented setup should vote over a
document's lines instead of reading its prefix at once: it prints both on lingua's 10-sentence
documents (``derive`` half only, no UDHR). Voting tied there (0.976 vs 0.975, 2 of 1,486
documents), so it was not adopted and never scored on UDHR.

Accuracy (labels compared in lid.176's codes; only documents whose language lid.176 has):
* lingua paragraphs (>= 200 chars), the ``check`` half (thresholds were derived on the other);
* UDHR whole documents (udhr2, ISO 639-3 names mapped with python-iso639), all of them (no
  setup was designed or tuned on UDHR, but it vetoed the two combinations tried afterwards,
  which lingua preferred), and the subset in languages CLD2 knows too. Documents in
  languages lid.176 has no label for are not counted.

Speed: MB/s per core (UTF-8 bytes of the input documents / CPU seconds, best of
``--repeat``) on the Dolma CC documents (526 real web pages, 3.3 kB on average), each setup
given what the stage gives the model (first 4,000 chars, one line); ratios vs lid.176 alone.
"""
from __future__ import annotations

import argparse
import gzip
import json
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

from curate.stages.langid import Cld2, LangID
from curate.stages.multilingual_data import lingua_documents, lingua_paragraphs, udhr_documents

REPO = Path(__file__).resolve().parents[1]


def setups(stage_ft, stage_ens, stage_ft_prior, stage_ens_prior):
    import py3langid

    cld2 = Cld2()

    def prepare(texts):
        return stage_ft.prepare(pa.array(texts, pa.large_string()))

    def vote(texts):
        out = []
        for t in texts:
            lines = [x.strip() for x in t.split("\n") if len(x.strip()) >= 30] or [t.replace("\n", " ")]
            labels, probs = stage_ft.model.predict(lines, k=1, threshold=0.0, on_unicode_error="replace")
            w = Counter()
            for line, lab, p in zip(lines, labels, probs):
                w[lab[0][len("__label__"):]] += len(line) * float(p[0])
            out.append(w.most_common(1)[0][0])
        return out

    def vote3(texts):
        """Majority of three (tried, not adopted): where the stage's fasttext+cld2, prior 1
        answer and CLD2's best guess differ, py3langid breaks the tie."""
        texts = prepare(texts)
        ens, corrected = stage_ens_prior.predict(texts)[0], stage_ft_prior.predict(texts)[0]
        out = []
        for t, e, a in zip(texts, ens, corrected):
            b = cld2_best(cld2, t)
            c = py3langid.classify(t)[0] if b not in (None, a) else None
            out.append(b if c == b and b in labels else a if c == a else e)
        return out

    def confirmed(texts):
        """Tried, not adopted: where CLD2 reliably gives the model's own top label, that label
        stands against the prior correction (and CLD2's overrule tests the model's own label)."""
        texts = prepare(texts)
        ens = stage_ens_prior.predict(texts)[0]
        corrected = stage_ft_prior.predict(texts)[0]
        raw = stage_ft.predict(texts)[0]
        out = []
        for t, e, a, r in zip(texts, ens, corrected, raw):
            b = cld2.reliable_label(t)[0]
            out.append(r if b == r else b if b not in (None, a) and b in labels and r in cld2.languages else e)
        return out

    labels = {x[len("__label__"):] for x in stage_ft.model.get_labels()}
    return {
        "lid.176": lambda texts: stage_ft.predict(prepare(texts))[0],
        "cld2": lambda texts: [cld2.reliable_label(t)[0] or cld2_best(cld2, t) for t in prepare(texts)],
        "py3langid": lambda texts: [py3langid.classify(t)[0] for t in prepare(texts)],
        "lid.176 paragraph vote": vote,
        "fasttext+cld2 (stage)": lambda texts: stage_ens.predict(prepare(texts))[0],
        "lid.176, prior 1": lambda texts: stage_ft_prior.predict(prepare(texts))[0],
        "fasttext+cld2, prior 1": lambda texts: stage_ens_prior.predict(prepare(texts))[0],
        "  + py3langid tie-break": vote3,
        "  + CLD2 confirms model": confirmed,
    }


def line_vote(stage, texts):
    """The stage's label per line (>= 30 chars) of the text's first ``max_chars``, votes
    weighted by length x score, like the lid.176 vote above."""
    out = []
    for t in texts:
        t = t[: stage.cfg["max_chars"]]
        lines = [x.strip() for x in t.split("\n") if len(x.strip()) >= 30] or [t]
        labels, scores = stage.predict(stage.prepare(pa.array(lines, pa.large_string())))
        w = Counter()
        for line, lab, s in zip(lines, labels, scores):
            w[lab] += len(line) * float(s)
        out.append(w.most_common(1)[0][0])
    return out


def vote_check(stage, corpora, labels):
    """Prefix vs line vote for ``stage`` on lingua documents of the derive half."""
    docs = [(g, t) for g, t, h in lingua_documents(corpora) if h == "derive" and g in labels]
    prefix = lambda texts: stage.predict(stage.prepare(pa.array(texts, pa.large_string())))[0]
    for name, fn in (("prefix (the stage)", prefix), ("line vote", lambda texts: line_vote(stage, texts))):
        print(f"lingua documents, derive half ({len(docs)}), fasttext+cld2 prior 1, {name}: {accuracy(fn, docs):.3f}")


def cld2_best(cld2, text):
    """CLD2's top label even where it is not reliable (CLD2 alone has to answer)."""
    import pycld2

    try:
        code = pycld2.detect(text, bestEffort=True)[2][0][1]
    except pycld2.error:
        return None
    return Cld2.ALIAS.get(code, code)


def accuracy(fn, docs):
    pred = fn([t for _, t in docs])
    return sum(p == g for p, (g, _) in zip(pred, docs)) / len(docs)


def speed(fn, texts, repeat):
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    best = min(_cpu(fn, texts) for _ in range(repeat))
    return mb / best


def _cpu(fn, texts):
    t = time.process_time()
    fn(texts)
    return time.process_time() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--vote-check", action="store_true", help="prefix vs line vote on lingua derive documents only")
    args = ap.parse_args()
    stages = [
        LangID({"languages": "all", **cfg})
        for cfg in ({}, {"detector": "fasttext+cld2"}, {"prior_correction": 1.0},
                    {"detector": "fasttext+cld2", "prior_correction": 1.0})
    ]
    for st in stages:
        st.setup()
    ft = stages[0]
    labels = {x[len("__label__"):] for x in ft.model.get_labels()}
    if args.vote_check:
        return vote_check(stages[3], args.corpora, labels)
    lingua = [(g, t) for g, t, h in lingua_paragraphs(args.corpora) if h == "check" and g in labels]
    udhr = [(g, t) for _, g, t in udhr_documents(args.corpora, labels) if g in labels]
    both = [(g, t) for g, t in udhr if g in Cld2().languages]
    web = [json.loads(x)["text"] for x in gzip.open(args.corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
    print(f"lingua check half: {len(lingua)} paragraphs; UDHR: {len(udhr)} documents ({len(both)} in languages "
          f"CLD2 knows too); speed: {len(web)} web pages, {sum(len(t.encode()) for t in web) / 1e6:.2f} MB")
    print(f"{'setup':<24} {'lingua':>7} {'UDHR':>7} {'UDHR both':>9} {'MB/s/core':>10} {'vs lid.176':>10}")
    base = None
    for name, fn in setups(*stages).items():
        mbs = speed(fn, web, args.repeat)
        base = base or mbs
        print(f"{name:<24} {accuracy(fn, lingua):>7.3f} {accuracy(fn, udhr):>7.3f} "
              f"{accuracy(fn, both):>9.3f} {mbs:>10.1f} {mbs / base:>10.2f}")


if __name__ == "__main__":
    main()
