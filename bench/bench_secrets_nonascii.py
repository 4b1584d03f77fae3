"""The secrets rewrite's speed on non-ASCII text: Russian, Persian and CJK prose from the corpora's UDHR
(../shared/corpora/multilingual/udhr2), each as it is and with what sends it down secrets63's readings (a
look-alike word before a ":", Latin words joined to Persian by a ZWNJ, fullwidth letters beside a secret's
name), Vietnamese with its combining marks (secrets64: read as invisible characters inside a name), and a BOM'd file with one long run of word characters (a hex literal: review88's quadratic case), a line with
"sk-" and a long run of dots (review91's).

Each text is repeated to --mb megabytes (the long run: --run characters) and rewritten as YAML (the config
forms, the most), best of --rounds in one process; MB/s of UTF-8 each. Run it on another tree with
PYTHONPATH=that tree (an archive of main: `git archive REV | tar -x -C /tmp/x`) to compare. With --scan: the scan alone
(``secrets.candidates``, its code points included), CPU seconds (a loaded machine's wall clock hid a kernel's change)."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import curate
from curate.stages.filters.rules import TextDoc
from curate.stages.filters import secrets
from curate.stages.filters.secrets import SECRETS, secrets_rewrite

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
UDHR = CORPORA / "multilingual" / "udhr2"


def _every(text: str, n: int, add) -> str:
    """``text`` with ``add(word)`` in place of each ``n``-th word."""
    words = text.split(" ")
    return " ".join(add(w) if i % n == n - 1 else w for i, w in enumerate(words))


def texts(mb: float, run: int) -> dict:
    rus, pes, jpn, vie = ((UDHR / f).read_text(encoding="utf-8") for f in ("rus.txt", "pes_1.txt", "jpn.txt", "vie.txt"))
    kinds = {
        "russian": rus,
        "russian, 'задача:' lines": _every(rus, 40, lambda w: w + "\nзадача: " + w),
        "persian": pes,
        "persian, 'API\\u200cها' 1 word in 200": _every(pes, 200, lambda w: "API\u200c" + w),
        "persian, 'API\\u200cها' 1 word in 20": _every(pes, 20, lambda w: "API\u200c" + w),
        # secrets64: the reading itself (a secret's name in the text: its words with one are read, for a value)
        "persian, 'API\\u200cها' 1 in 20, 'token:'": _every(pes, 20, lambda w: "API\u200c" + w) + "\ntoken: see the docs\n",
        "vietnamese (combining marks)": vie,  # the UDHR's, decomposed: a mark over an ASCII letter in most words
        "japanese": jpn,
        "japanese, fullwidth, 'token:'": _every(jpn, 5, lambda w: w + "ＯＫ") + "\ntoken: see the docs\n",
    }
    size = int(mb * 1e6)
    out = {k: t * max(1, size // len(t.encode())) for k, t in kinds.items()}
    out[f"BOM, a {run // 1000} KB hex word"] = "\ufeffx = 0x" + "ab12" * (run // 4) + "\n"
    # review91: a provider's prefix and a long run of "."s on one line (a token's `\.*`, taken before it, tried the run from
    # each "." in it: quadratic)
    out[f"'sk-' and {run // 1000} K dots"] = "Chapter sk- " + "." * run + " 5\n"
    return out


def best(fn, text: str, rounds: int) -> float:
    fn(TextDoc(text, "yaml"))  # compiles (or loads) the kernels
    out = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(TextDoc(text, "yaml"))
        out = min(out, time.perf_counter() - t0)
    return out


def best_scan(text: str, rounds: int) -> float:
    """The scan's best CPU seconds on ``text`` (``_LAST`` cleared: each call scans)."""
    secrets.candidates(text)
    out = float("inf")
    for _ in range(rounds):
        secrets._LAST[0] = (None, None)
        t0 = time.process_time()
        secrets.candidates(text)
        out = min(out, time.process_time() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=2.0, help="megabytes of each prose text")
    ap.add_argument("--run", type=int, default=16_000, help="characters of the hex word")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scan", action="store_true", help="the scan alone (secrets.candidates), CPU seconds")
    a = ap.parse_args()
    fn = secrets_rewrite(SECRETS).fn
    getattr(secrets, "warm_up", lambda: None)()  # the kernels, as the filter's warm-up loads them (not the scan's Python)
    print(f"curate from {Path(curate.__file__).parent}")
    for k, t in texts(a.mb, a.run).items():
        s = best_scan(t, a.rounds) if a.scan else best(fn, t, a.rounds)
        print(f"{k:34s} {len(t.encode()) / 1e6:6.2f} MB {len(t.encode()) / s / 1e6:9.2f} MB/s")


if __name__ == "__main__":
    main()
