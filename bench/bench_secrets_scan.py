"""The secrets scan's cost at characters that start a non-ASCII password name (Russian "п", 密, 비).

Each such character makes the scan look for a name (contraseña, пароль, 密码, ...); review70 found that
look cost ~100x any other non-ASCII character. This prints the scan's MB/s on a text made only of such
characters and on one made of another non-ASCII character, best of --rounds in one process, and
their ratio (the look's cost; review70 measured ~20x after its fix, ~45x before). Also the scan (``candidates``, its
code points included) over the shared code sample's ASCII files, each a call, and on an ASCII text no pair of which starts
a test (its loop alone): a kernel's change (its signatures, its loop's shape: cold45's ASCII-only signature scanned code
0.55x) shows there, the non-ASCII texts above never take that path."""
from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

from curate.stages.filters import secrets
from curate.stages.filters.redact import code_points

CODE = Path(os.environ.get("CURATE_CORPORA", Path(__file__).resolve().parents[2] / "shared" / "corpora")) / "code" / "code_sample.jsonl.gz"


def best(text: str, rounds: int) -> float:
    cps = code_points(text)
    secrets.candidates(text)  # compiles (or loads) the kernels
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        secrets._candidates(cps, secrets._PAIRS, secrets._WORDS, secrets._UNAMES, secrets._USTARTS)
        out = min(out, time.perf_counter() - t0)
    return out


def best_files(texts: list, rounds: int) -> float:
    """Best of ``rounds`` CPU seconds of ``candidates`` over ``texts``, each a call (its code points made, as the filter does)."""
    secrets.candidates("a b")  # compiles (or loads) the ASCII signature
    out = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        for t in texts:
            secrets._LAST[0] = (None, None)  # not the cached answer
            secrets.candidates(t)
        out = min(out, time.process_time() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chars", type=int, default=210_000, help="characters per text")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    texts = {"name starts (п密비)": "п密비" * (a.chars // 3), "other non-ASCII (ж)": "ж" * a.chars}
    secs = {k: best(t, a.rounds) for k, t in texts.items()}
    for k, t in texts.items():
        print(f"{k:22s} {len(t.encode()) / secs[k] / 1e6:9.1f} MB/s")
    print(f"ratio (name starts / other, time): {secs['name starts (п密비)'] / secs['other non-ASCII (ж)']:.1f}x")
    ascii_texts = {"ASCII, no test's pair (z)": ["z" * a.chars * 2]}
    if CODE.exists():
        with gzip.open(CODE, "rt", encoding="utf-8") as f:
            ascii_texts["code sample's ASCII files"] = [t for t in (json.loads(line)["content"] for line in f) if t.isascii()]
    for k, texts in ascii_texts.items():
        print(f"{k:22s} {sum(map(len, texts)) / best_files(texts, a.rounds) / 1e6:9.1f} MB/s (CPU)")


if __name__ == "__main__":
    main()
