"""What deciding 'UTF-8 with a few stray bytes' costs on a large book.

``decode_text`` on a UTF-8 book with two stray cp1252 bytes (a pasted Windows quote) counts
the file's UTF-8 letters against its stray bytes (``common._mostly_utf8``). Times, in
alternating rounds on the same bytes:
* today: the letters counted as UTF-8 lead bytes (``bytes.translate``, in C);
* loop: the previous count, a Python generator over every decoded character;
* clean: the same book without the stray bytes (plain ``bytes.decode``), for scale.
Checks both counts agree and the text is the same.

    python bench/bench_decode_text.py [--mb 100] [--rounds 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate.readers import common  # noqa: E402


def _loop_count(data: bytes) -> bool:  # the count before this change
    valid = data.decode("utf-8", errors="ignore")
    stray = len(data) - len(valid.encode("utf-8"))
    return sum(c > "\x7f" for c in valid) > stray


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    line = "Les élèves de l'école, naïfs et curieux, étaient là ; 日本語も少し。\n".encode()
    clean = line * (a.mb * 1_000_000 // len(line))
    stray = clean + b"He said \x93hi\x94.\n"
    today = common._mostly_utf8
    assert today(stray) == _loop_count(stray)
    best = {"today": [], "loop": [], "clean": []}
    texts = {}
    for _ in range(a.rounds):
        for name in best:
            common._mostly_utf8 = _loop_count if name == "loop" else today
            t = time.process_time()
            texts[name] = common.decode_text(clean if name == "clean" else stray)
            best[name].append(time.process_time() - t)
    common._mostly_utf8 = today
    assert texts["today"] == texts["loop"] and texts["today"][1] == "utf-8 (stray bytes as cp1252)"
    print(f"{len(stray) / 1e6:.0f} MB UTF-8 book, 2 stray bytes; decode_text CPU s (best of {a.rounds}):")
    for name, ts in best.items():
        print(f"  {name:6} {min(ts):6.2f}")
    print(f"today vs loop: {min(best['loop']) / min(best['today']):.1f}x faster; today vs clean: {min(best['today']) / min(best['clean']):.1f}x")


if __name__ == "__main__":
    main()
