"""Speed of the ``blocks`` extractor against Resiliparse and a base revision, and proof that a
change to it left every output byte as it was.

    python bench/bench_blocks_speed.py [--base main] [--rounds 3] [--core 0] [--profile]

Pages: every HTML page under ``../shared/corpora`` (files whose format curate detects as
``html``, the raw HTML of the cmoncrawl JSONL records) packed into one WARC here (nothing is
committed), and every WARC/ARC file there as it is. Gold files are never opened. Both code
versions read them through ``read_shard`` (curate's WARC reader and its extraction helper
process, as ``curate run``), each in its own process with ``PYTHONPATH`` at its code: the base
revision's ``curate/`` is exported with ``git archive`` into a temporary folder.

* identity: every row (docs: text, meta, ids, offsets; quarantine: reason, detail) of
  ``blocks`` under the base and under this checkout, compared byte for byte. Any difference
  is printed and the exit status is 1.
* speed: pages per CPU-second (this process + its helper, pinned to one core) of ``blocks``
  and of ``resiliparse`` (Resiliparse's ``main_content``) in each version, the best of
  ``--rounds`` interleaved reads; the ratio blocks / resiliparse is taken within one process.
* ``--profile`` (instead of the two above): CPU ms per page of each step of ``html_to_text``
  with ``blocks`` on the saved pages, in-process, in both versions, and the top of a cProfile.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
JSONL_HTML = ["web/cmoncrawl_pypi/cc_main_2023_14_seznam_records.jsonl.gz"]  # records with an "html" field
EXTRACTORS = ("blocks", "resiliparse")


def corpus_inputs(corpora: Path, tmp: Path) -> tuple[list[tuple[str, str]], list[bytes]]:
    """(path, relative name) of every WARC to read: the pages WARC built here, then the
    corpora's own WARC/ARC files, in a fixed order; and the HTML of the pages packed."""
    from curate.readers import detect_format
    from curate.readers.warc_writer import write_warc

    pages, warcs = [], []
    for p in sorted(corpora.rglob("*")):
        if not p.is_file() or p.suffix == ".json":  # gold.json, ground-truth.json: never read
            continue
        fmt = detect_format(str(p), "web")
        rel = str(p.relative_to(corpora))
        if fmt == "html":
            body = p.read_bytes()
            pages.append((f"https://pages.test/{rel}", gzip.decompress(body) if p.name.endswith(".gz") else body))
        elif fmt == "warc":
            warcs.append((str(p), rel))
    for name in (n for n in JSONL_HTML if (corpora / n).exists()):
        with gzip.open(corpora / name, "rt", encoding="utf-8") as f:
            for i, line in enumerate(f):
                pages.append((f"https://pages.test/{name}/{i}", json.loads(line)["html"].encode("utf-8")))
    packed = tmp / "pages.warc.gz"
    write_warc(str(packed), [(url, body, "text/html", 200) for url, body in pages])
    return [(str(packed), "pages.warc.gz"), *warcs], [body for _, body in pages]


def read_all(inputs: list[tuple[str, str]], extractor: str) -> list[tuple]:
    """Every row of every input through ``read_shard``: (input, kind, row) in order."""
    from curate.readers import read_shard
    from curate.readers.common import Limits, Shard

    limits = Limits(extractor=extractor)
    return [
        (rel, kind, row)
        for path, rel in inputs
        for kind, b in read_shard(Shard(path, rel, "warc", "web", "bench"), limits)
        for row in b.to_pylist()
    ]


def worker(inputs: list[tuple[str, str]], pages: list[bytes], mode: str) -> dict:
    """Run in the version under test (its ``curate`` on PYTHONPATH): the rows of ``blocks``
    (mode "rows"), the CPU seconds of one read per extractor (mode "time"), or ``profile``."""
    if mode == "profile":
        return profile(pages)
    if mode == "rows":
        return {"rows": read_all(inputs, "blocks")}
    from bench_extract import _helper_cpu  # this folder is first on sys.path

    cpu = {}
    for ex in EXTRACTORS:
        read_all(inputs, ex)  # warm-up: helper start, imports, caches
        c0, h0 = time.process_time(), _helper_cpu()
        read_all(inputs, ex)
        cpu[ex] = time.process_time() - c0 + _helper_cpu() - h0
    return {"cpu": cpu}


PHASES = ("encoding", "decode", "parse", "depth check", "render", "blocks", "rules", "join", "page hints")


def profile(pages: list[bytes]) -> dict:
    """Where ``blocks`` spends its time on ``pages``, in this process: CPU ms per page of each
    step of ``html_to_text`` (and of Resiliparse's ``main_content`` on the same trees), and the
    top of a cProfile of ``html_to_text``."""
    import cProfile
    import io
    import pstats

    from resiliparse.parse.encoding import bytes_to_str
    from resiliparse.parse.html import HTMLTree

    from curate.readers import extract as E
    from curate.readers.html import _html_encoding, html_depth_over, html_to_text

    ms = dict.fromkeys((*PHASES, "resiliparse main_content"), 0.0)

    def timed(phase, f, *args):
        t0 = time.thread_time()
        out = f(*args)
        ms[phase] += (time.thread_time() - t0) * 1000 / len(pages)
        return out

    for body in pages:
        enc = timed("encoding", _html_encoding, body, None)
        tree = timed("parse", HTMLTree.parse, timed("decode", bytes_to_str, body, enc, "replace"))
        timed("depth check", html_depth_over, tree, 256)
        bl = timed("blocks", E.blocks, timed("render", E.render, tree))
        timed("join", E.join_kept, bl, timed("rules", E.keep_mask, bl))
        timed("page hints", E.page_hints, tree)
        timed("resiliparse main_content", E.extract_resiliparse, tree)
    prof = cProfile.Profile()
    prof.enable()
    for body in pages:
        html_to_text(body, None, 256, "blocks")
    prof.disable()
    top = io.StringIO()
    pstats.Stats(prof, stream=top).sort_stats("tottime").print_stats(12)
    return {"ms": ms, "cprofile": top.getvalue()}


def run_version(code_root: str, inputs_file: Path, mode: str, core: int) -> dict:
    env = dict(os.environ, PYTHONPATH=code_root)
    out = inputs_file.with_suffix(f".{mode}.out")
    cmd = [sys.executable, __file__, "--worker", str(inputs_file), "--mode", mode, "--out", str(out), "--core", str(core)]
    subprocess.run(cmd, env=env, check=True, cwd=code_root)
    with open(out, "rb") as f:
        return pickle.load(f)


def compare(base: list[tuple], head: list[tuple]) -> list[str]:
    """Differences between two versions' rows, one line each (empty: identical)."""
    diffs = []
    if len(base) != len(head):
        diffs.append(f"row count: base {len(base)}, this checkout {len(head)}")
    for (rel, kind, a), (_, _, b) in zip(base, head):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            diffs.append(f"{rel} {kind} {a.get('url') or a.get('offset')}: {', '.join(keys)} differ")
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="main", help="git revision to compare with (its curate/ only)")
    ap.add_argument("--rounds", type=int, default=3, help="timed reads per version, interleaved; the fastest counts")
    ap.add_argument("--core", type=int, default=0, help="CPU core to pin each version's process and helper to")
    ap.add_argument("--corpora", default=str(CORPORA))
    ap.add_argument("--profile", action="store_true", help="instead: where blocks' time goes, per step and by cProfile")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})  # the helper process inherits the one core
    if args.worker:
        with open(args.worker, "rb") as f:
            res = worker(*pickle.load(f), args.mode)
        with open(args.out, "wb") as f:
            pickle.dump(res, f)
        return
    from base_tree import export  # this folder is first on sys.path (here, not on import: tests load this file alone)

    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base_root = export(args.base, tmp / "base")
        inputs, pages = corpus_inputs(Path(args.corpora), tmp)
        inputs_file = tmp / "inputs.pkl"
        with open(inputs_file, "wb") as f:
            pickle.dump((inputs, pages), f)
        versions = {args.base: str(base_root), "this checkout": str(REPO)}
        if args.profile:
            profiles = {name: run_version(root, inputs_file, "profile", args.core) for name, root in versions.items()}
            print(f"CPU ms per page of each step, {len(pages)} saved pages, in-process (no reader, no helper)")
            print(f"{'step':<26}" + "".join(f"{name:>15}" for name in versions))
            for step in (*PHASES, "resiliparse main_content"):
                print(f"{step:<26}" + "".join(f"{p['ms'][step]:15.3f}" for p in profiles.values()))
            print(f"{'blocks, all steps':<26}" + "".join(f"{sum(p['ms'][s] for s in PHASES):15.3f}" for p in profiles.values()))
            for name, p in profiles.items():
                print(f"\ncProfile of html_to_text(extractor='blocks'), {name}:\n" + p["cprofile"].split("\n\n", 1)[-1].strip())
            return
        rows = {name: run_version(root, inputs_file, "rows", args.core)["rows"] for name, root in versions.items()}
        base_rows, head_rows = rows.values()
        diffs = compare(base_rows, head_rows)
        docs = sum(1 for _, kind, _ in head_rows if kind == "docs")
        bad = sum(1 for _, kind, _ in head_rows if kind == "quarantine")
        print(f"identity: {len(inputs)} WARCs (1 packing the saved pages), {len(head_rows)} rows compared "
              f"({docs} docs, {bad} quarantined): {len(diffs)} differences")  # fmt: skip
        for d in diffs[:20]:
            print("  " + d)
        best: dict = {}
        for _ in range(args.rounds):  # interleaved, so load from other processes hits both alike
            for name, root in versions.items():
                cpu = run_version(root, inputs_file, "time", args.core)["cpu"]
                for ex, c in cpu.items():
                    best[name, ex] = min(c, best.get((name, ex), c))
        print(f"\nspeed: {docs} docs per read, one core, best of {args.rounds}; pages/cpu-s = docs / CPU s (reader + helper)")
        print(f"{'version':<14} {'resiliparse':>11} {'blocks':>8} {'blocks/resiliparse':>18}")
        for name in versions:
            r, b = docs / best[name, "resiliparse"], docs / best[name, "blocks"]
            print(f"{name:<14} {r:11.0f} {b:8.0f} {b / r:18.2f}")
        b0, b1 = docs / best[args.base, "blocks"], docs / best["this checkout", "blocks"]
        print(f"blocks, this checkout / {args.base}: {b1 / b0:.2f}x")
        if diffs:
            sys.exit(1)


if __name__ == "__main__":
    main()
