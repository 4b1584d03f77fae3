"""Data written as code (``code_data_literals``) on the shared code sample: every file whose
share of data lines passes 0.7 (to be looked at: which are hand-written), those the rule
removes, and the code rules' speed without and with it in this run.

    python bench/code_data_literals.py
"""
from __future__ import annotations

import gzip
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from curate.stages.filters import DEFAULTS  # noqa: E402
from curate.stages.filters.code import code_rules, data_literal_frac  # noqa: E402
from curate.stages.filters.rules import TextDoc  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpora", "code", "code_sample.jsonl.gz")


def rate(recs: list, rules: list) -> float:
    """MB/s of ``rules`` over the sample, best of 3 (the machine is shared)."""
    mb, best = sum(len(r["content"]) for r in recs) / 1e6, float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for r in recs:
            doc = TextDoc(r["content"], r["lang"].lower())
            for rule in rules:
                rule.check(doc)
        best = min(best, time.perf_counter() - t)
    return mb / best


def main() -> None:
    recs = [json.loads(line) for line in gzip.open(SAMPLE)]
    cfg = DEFAULTS["code"]
    shares = sorted(((data_literal_frac(r["content"], 0.0), r["lang"], r["path"], len(r["content"])) for r in recs), reverse=True)
    for share, lang, path, n in shares:
        if share > 0.7:
            judged = n >= cfg["data_literal_min_chars"]
            print(f"  {share:.3f} {lang} {path} ({n} chars{'' if judged else ', too short to judge'})")
    removed = [s for s in shares if s[0] > cfg["max_data_literal_frac"] and s[3] >= cfg["data_literal_min_chars"]]
    print(f"removed at {cfg['max_data_literal_frac']}: {len(removed)} of {len(recs)}: {[p for _, _, p, _ in removed]}")
    rules = code_rules(cfg)
    rate(recs[:50], rules)  # compile the numba kernels first
    without = [r for r in rules if r.name != "code_data_literals"]
    print(f"code rules: {rate(recs, without):.1f} MB/s without code_data_literals, {rate(recs, rules):.1f} MB/s with it")


if __name__ == "__main__":
    main()
