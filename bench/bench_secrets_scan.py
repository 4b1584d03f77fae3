"""The secrets scan's cost at characters that start a non-ASCII password name (Russian "п", 密, 비).

Each such character makes the scan look for a name (contraseña, пароль, 密码, ...); review70 found that
look cost ~100x any other non-ASCII character. This prints the scan's MB/s on a text made only of such
characters and on one made of another non-ASCII character, best of --rounds in one process, and
their ratio (the look's cost; review70 measured ~20x after its fix, ~45x before)."""
from __future__ import annotations

import argparse
import time

from curate.stages.filters import secrets
from curate.stages.filters.redact import code_points


def best(text: str, rounds: int) -> float:
    cps = code_points(text)
    secrets.candidates(text)  # compiles (or loads) the kernels
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        secrets._candidates(cps, secrets._PAIRS, secrets._WORDS, secrets._UNAMES, secrets._USTARTS)
        out = min(out, time.perf_counter() - t0)
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


if __name__ == "__main__":
    main()
