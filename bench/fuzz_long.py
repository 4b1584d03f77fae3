"""The long fuzz run: the checks of tests/test_fuzz.py for as long as you like.

    python bench/fuzz_long.py --minutes 10                 # every target, time shared evenly
    python bench/fuzz_long.py --minutes 2 --targets warc,html,filter --seed 7

Targets: the seven readers (warc, wet, jsonl, parquet, text, source, pages: saved HTML pages; mutated valid seeds, plain
and compressed, mutated-then-gzipped content and random bytes, under default and small
limits), ``html`` (random tag soup, deep and repetitive, as WARC pages under the default
limits) and the text stages (langid, filter, quality, tokenize, dedup: random Unicode).

Each target runs in its own worker process, which writes every input to ``OUT/current-*``
before trying it: a crash (a segfault in native code) or a hang (no progress for
``--hang-seconds``) is caught by the parent, and that input is kept. Every failing input is
saved under ``OUT/failures/`` (the input file as it was read, or the texts as JSON, with a
``.txt`` holding the target, the traceback and how to replay it); inputs slower than
``--slow-seconds`` go to ``OUT/slow/``. Prints the inputs tried per target and the failures.
Exit status 1 when anything failed.

Replay a saved reader input:
    python -c "from tests.test_fuzz import check_reader; ..." (see the .txt next to it)
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READERS = ["warc", "wet", "jsonl", "parquet", "text", "source", "pages"]
FORMAT = {"pages": "html"}  # saved HTML pages; "html" is the tag-soup target below
STAGES = ["langid", "filter", "quality", "tokenize", "dedup"]
TARGETS = READERS + ["html"] + STAGES


def _harness():
    sys.path.insert(0, str(REPO / "tests"))
    import test_fuzz  # the checks, seeds and mutators are the test suite's

    return test_fuzz


# --- input generators (plain RNG twins of the test suite's strategies) ------------------------


def reader_input(tf, fmt: str, rng: random.Random):
    """(file name, bytes, limits, how it was made)."""
    import gzip

    name, seed = rng.choice(tf.SEEDS[fmt])
    limits = rng.choice(tf.LIMITS)
    r = rng.random()
    if r < 0.7:
        how = "mutated seed"
        data = tf.mutate(seed, tf.random_ops(rng, rng.choice([1, 1, 2, 3, 6, 12])))
    elif r < 0.85 and fmt != "parquet":
        how = "mutated content, gzipped"
        plain = gzip.decompress(seed) if seed[:2] == b"\x1f\x8b" else seed
        name = name if name.endswith(".gz") else name + ".gz"
        data = gzip.compress(tf.mutate(plain, tf.random_ops(rng, rng.choice([1, 2, 4]))), mtime=0)
    else:
        how = "random bytes"
        head = {"warc": b"WARC/1.0\r\n", "wet": b"WARC/1.0\r\n", "parquet": b"PAR1", "jsonl": b'{"text": ', "html": b"<!doctype html>"}.get(fmt, b"")
        data = (head if rng.random() < 0.5 else b"") + rng.randbytes(rng.choice([0, 1, 16, 256, 4096]))
    return name, data, limits, how


TAGS = (
    "div p b i u s a span font table tbody tr td th caption colgroup col li ul ol dl dt dd form select option "
    "optgroup template svg math mi mtext foreignObject desc frameset frame iframe script style textarea title "
    "plaintext xmp noscript noembed object applet marquee nobr button h1 h2 pre listing image img br hr input "
    "html head body main article nav aside footer header section code em strong small big tt ruby rt rp"
).split()


def html_input(rng: random.Random) -> bytes:
    """Random tag soup (misnested, unclosed, odd attributes, comments, entities) with up to two
    long runs of one unit, where super-linear parsing or extraction would show."""
    parts = []
    for _ in range(rng.choice([5, 50, 500, 3000])):
        r = rng.random()
        t = rng.choice(TAGS)
        if r < 0.4:
            attrs = rng.choice(["", " class=x", ' id="a b"', " style='x:<y>'", " a=" + "b" * rng.randrange(100), " x" * 20])
            parts.append(f"<{t}{attrs}>")
        elif r < 0.7:
            parts.append(f"</{t}>")
        elif r < 0.95:
            parts.append(rng.choice(["text ", "Some words here. ", "&amp;", "&#x0;", "&#1114112;", "&nbsp" * 5, "\x00", "é", "\u202e", " "]))
        else:
            parts.append(rng.choice(["<!--", "-->", "<!-- c -->", "<![CDATA[", "]]>", "<!doctype html>", "<?xml ?>", "</", "<", ">"]))
    for _ in range(rng.choice([0, 1, 1, 2])):
        t, u = rng.choice(TAGS), rng.choice(TAGS)
        unit = rng.choice([f"<{t}>", f"<{t}></x>", f"</{t}>", f"<{t}><{u}>", f"<{t}><{u}></{t}>", f"<{t}>x</{u}>", "<table><td>", "<a><p>"])
        parts.insert(rng.randrange(len(parts) + 1), unit * rng.choice([10, 100, 1000, 10_000, 50_000]))
    return "".join(parts).encode("utf-8", "surrogatepass")


def text_input(tf, rng: random.Random) -> list[str]:
    def chunk():
        r = rng.random()
        if r < 0.3:
            return "".join(chr(c) if not 0xD800 <= c < 0xE000 else "?" for c in (rng.choice([rng.randrange(128), rng.randrange(0x3000), rng.randrange(0x110000)]) for _ in range(rng.randrange(40))))
        if r < 0.55:
            return rng.choice(tf.SPECIAL)
        if r < 0.75:
            return "".join(rng.choice(tf.SPECIAL) for _ in range(rng.randrange(30)))
        if r < 0.95:
            return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 12))) + rng.choice(["", "", ".", ","]) for _ in range(rng.randrange(60)))
        return rng.choice(tf.REPEATED) * rng.randint(1000, 120_000)

    return ["".join(chunk() for _ in range(rng.randrange(1, 12))) for _ in range(rng.randint(1, 4))]


# --- the worker: one target, for a given time ----------------------------------------------


def worker(target: str, seconds: float, seed: int, out: Path, slow_s: float) -> None:
    tf = _harness()
    from curate.readers.common import Limits

    rng = random.Random(seed)
    current = out / f"current-{target}.pkl"
    (out / "failures").mkdir(parents=True, exist_ok=True)
    (out / "slow").mkdir(parents=True, exist_ok=True)
    tried = failed = slow = 0
    worst = 0.0
    outcomes: dict[str, int] = {}  # reader targets: quarantine reasons, and inputs with documents
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if target in READERS:
            fmt = FORMAT.get(target, target)
            name, data, limits, how = reader_input(tf, fmt, rng)
            case = {"target": target, "fmt": fmt, "name": name, "data": data, "limits": limits, "how": how}
            run = lambda: tf.check_reader(fmt, name, data, limits)  # noqa: E731
        elif target == "html":
            body = html_input(rng)
            from curate.readers.warc_writer import write_warc

            src = out / "html-input.warc.gz"
            write_warc(str(src), [("https://fuzz.example/", body, "text/html", 200)])
            data = src.read_bytes()
            lim = Limits(max_extract_seconds=1.0)  # a runaway page is stopped after 3 s
            case = {"target": target, "fmt": "warc", "name": "soup.warc.gz", "data": data, "limits": lim, "how": "tag soup"}
            run = lambda: tf.check_reader("warc", "soup.warc.gz", data, lim, twice=False)  # noqa: E731
        else:
            texts = text_input(tf, rng)
            s = rng.randrange(4)
            case = {"target": target, "texts": texts, "seed": s}
            run = lambda: tf.TEXT_CHECKS[target](texts, s)  # noqa: E731
        with open(current, "wb") as f:
            pickle.dump(case, f)
        t0 = time.perf_counter()
        try:
            res = run()
            error = None
            if isinstance(res, dict):
                for k, v in res["reasons"].items():
                    outcomes[k] = outcomes.get(k, 0) + v
                if res["docs"]:
                    outcomes["(inputs with docs)"] = outcomes.get("(inputs with docs)", 0) + 1
        except Exception:
            error = traceback.format_exc()
        dt = time.perf_counter() - t0
        tried += 1
        worst = max(worst, dt)
        if error:
            failed += 1
            save(out / "failures", case, f"{target} #{tried}", error)
        elif dt > slow_s:
            slow += 1
            save(out / "slow", case, f"{target} #{tried}", f"took {dt:.1f} s")
    current.unlink(missing_ok=True)
    print(json.dumps({"target": target, "tried": tried, "failed": failed, "slow": slow, "worst_s": round(worst, 3), "outcomes": outcomes}), flush=True)


def save(folder: Path, case: dict, label: str, why: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{case['target']}-{time.strftime('%Y%m%d-%H%M%S')}-{random.randrange(1 << 30):08x}"
    if "data" in case:
        path = folder / f"{stem}-{Path(case['name']).name}"
        path.write_bytes(case["data"])
        replay = (
            f"from test_fuzz import check_reader; from curate.readers.common import Limits\n"
            f"check_reader({case['fmt']!r}, {case['name']!r}, open({str(path)!r}, 'rb').read(), {case['limits']!r})"
        )
    else:
        path = folder / f"{stem}.json"
        path.write_text(json.dumps(case["texts"], ensure_ascii=True))
        replay = (
            f"import json; from test_fuzz import TEXT_CHECKS\n"
            f"TEXT_CHECKS[{case['target']!r}](json.load(open({str(path)!r})), {case['seed']})"
        )
    info = f"{label} ({case.get('how', 'random unicode')})\n\n{why}\n\nreplay (PYTHONPATH=tests):\n{replay}\n"
    Path(str(path) + ".txt").write_text(info)
    return path


# --- the parent: one worker per target, crashes and hangs caught --------------------------------


def supervise(target: str, seconds: float, seed: int, out: Path, hang_s: float, slow_s: float) -> dict:
    total = {"target": target, "tried": 0, "failed": 0, "slow": 0, "crashes": 0, "hangs": 0, "worst_s": 0.0, "outcomes": {}}
    end = time.monotonic() + seconds
    current = out / f"current-{target}.pkl"
    restart = 0
    while (left := end - time.monotonic()) > 1:
        current.unlink(missing_ok=True)
        cmd = [sys.executable, __file__, "--worker", target, "--seconds", str(left), "--seed", str(seed * 1000 + restart),
               "--out", str(out), "--slow-seconds", str(slow_s)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
        hung = False
        while proc.poll() is None:
            time.sleep(0.5)
            try:
                stale = time.time() - current.stat().st_mtime
            except FileNotFoundError:
                stale = 0.0
            if stale > hang_s or time.monotonic() > end + hang_s:
                proc.kill()
                hung = True
        stdout = proc.stdout.read()
        result = next((json.loads(l) for l in stdout.splitlines() if l.startswith("{")), None)
        if result:
            for k in ("tried", "failed", "slow"):
                total[k] += result[k]
            total["worst_s"] = max(total["worst_s"], result["worst_s"])
            total["outcomes"] = result["outcomes"]
            break
        # no summary: the worker died (native crash) or hung on the input in `current`
        total["hangs" if hung else "crashes"] += 1
        total["tried"] += 1  # the fatal input (the worker's own count died with it)
        if current.exists():
            with open(current, "rb") as f:
                case = pickle.load(f)
            why = "no progress (hang)" if hung else f"worker died with exit status {proc.returncode}"
            print(f"  {target}: {why}; input saved to {save(out / 'failures', case, target, why)}", flush=True)
        restart += 1
    current.unlink(missing_ok=True)
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="total run time, shared evenly by the targets")
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated subset of: {', '.join(TARGETS)}")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100_000, help="RNG seed (printed, for reruns)")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "curate-fuzz"), help="where failing and slow inputs go")
    ap.add_argument("--hang-seconds", type=float, default=120.0, help="an input running this long is a hang")
    ap.add_argument("--slow-seconds", type=float, default=10.0, help="inputs slower than this are kept in OUT/slow")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.worker:
        worker(a.worker, a.seconds, a.seed, out, a.slow_seconds)
        return 0
    targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    bad = [t for t in targets if t not in TARGETS]
    if bad:
        ap.error(f"unknown targets {bad}; choose from {', '.join(TARGETS)}")
    per = a.minutes * 60 / len(targets)
    print(f"fuzzing {len(targets)} targets for {a.minutes:g} min ({per:.0f} s each), seed {a.seed}, output {out}", flush=True)
    rows = []
    for i, t in enumerate(targets):
        r = supervise(t, per, a.seed + i, out, a.hang_seconds, a.slow_seconds)
        rows.append(r)
        print(f"  {t:9s} tried {r['tried']:7d}  failed {r['failed']}  crashes {r['crashes']}  hangs {r['hangs']}  "
              f"slow {r['slow']}  slowest {r['worst_s']:.2f} s", flush=True)
        if r["outcomes"]:
            top = sorted(r["outcomes"].items(), key=lambda kv: -kv[1])
            print("            " + ", ".join(f"{k} {v}" for k, v in top), flush=True)
    bad = sum(r["failed"] + r["crashes"] + r["hangs"] for r in rows)
    print(f"total: {sum(r['tried'] for r in rows)} inputs, {bad} failures" + (f" (see {out}/failures)" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
