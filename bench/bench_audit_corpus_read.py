"""What reading JSON Lines as `curate run` does costs `curate audit --corpus`.

    python bench/bench_audit_corpus_read.py [--copies N] [--zst | --gz] [--base main]

The shared Dolma CC sample, decompressed and repeated ``--copies`` times into one clean .jsonl
(no comment line, no BOM: the common case, which polars reads as it is). Measured, best of 3,
wall seconds, each in this process:

* check   -- ``curate.readers.jsonl.as_read``: the one streamed pass that finds a file has no
             comment line or line-start BOM (what the audit added per local JSONL file);
* audit   -- ``curate audit --corpus FILE`` in a subprocess (every statistic, the report), with
             this checkout and with ``--base``'s ``curate/`` (exported with ``git archive``),
             wall and CPU seconds (the child's user + system).

Prints them, the check's share of the base's audit and now's CPU against the base's. An
uncompressed file is checked only once polars stops at a line (never, for a clean one);
``--zst`` (level 3) or ``--gz`` (level 6): the file compressed, where the check runs first, being
also what stops a decompression bomb at ``limits.max_file_bytes``.
"""
from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def best(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--copies", type=int, default=20)
    ap.add_argument("--zst", action="store_true", help="a .jsonl.zst (each copy its own frame) instead of a .jsonl")
    ap.add_argument("--gz", action="store_true", help="a .jsonl.gz (one member) instead of a .jsonl")
    ap.add_argument("--base", default="main", help="the revision whose audit is the baseline")
    args = ap.parse_args()
    from curate.readers.jsonl import as_read

    data = gzip.decompress((CORPORA / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz").read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("corpus.jsonl.zst" if args.zst else "corpus.jsonl.gz" if args.gz else "corpus.jsonl")
        if args.zst:
            import zstandard

            frame = zstandard.ZstdCompressor(level=3).compress(data)  # a frame a copy: no match across copies
            path.write_bytes(frame * args.copies)
        elif args.gz:
            import zlib

            c = zlib.compressobj(6, zlib.DEFLATED, 31)  # one member; copies 2.4 MB apart share no window
            path.write_bytes(b"".join(c.compress(data) for _ in range(args.copies)) + c.flush())
        else:
            path.write_bytes(data * args.copies)
        mb, stored = len(data) * args.copies / 1e6, path.stat().st_size / 1e6
        assert as_read(str(path)) is None  # clean: polars reads it as it is
        check = best(lambda: as_read(str(path)))
        base = export(args.base, Path(tmp) / "base")
        audits = {}
        for name, root in ((args.base, base), ("now", REPO)):
            env = {**os.environ, "PYTHONPATH": str(root)}
            audits[name] = audit(lambda: subprocess.run([sys.executable, "-m", "curate", "audit", "--corpus", str(path), "--output",
                                                         f"{tmp}/audit-{name}"], check=True, env=env, cwd=tmp,
                                                         stdout=subprocess.DEVNULL))  # cwd: not this checkout's curate first
    kind = " (.zst)" if args.zst else " (.gz)" if args.gz else ""
    print(f"{mb:.0f} MB of JSONL{kind} ({args.copies} copies of the Dolma sample; {stored:.0f} MB as stored), "
          "best of 3 (MB/s decompressed):")
    print(f"  check (as_read, one streamed pass)  {check:6.2f} s  {mb / check:7.0f} MB/s")
    for name, (wall, cpu) in audits.items():
        print(f"  curate audit --corpus ({name:>6})     {wall:6.2f} s  {mb / wall:7.0f} MB/s  CPU {cpu:6.2f} s")
    print(f"  the check's share of the {args.base} audit: {check / audits[args.base][0]:.1%}; "
          f"now's CPU / {args.base}'s: {audits['now'][1] / audits[args.base][1]:.2f}")


def audit(fn, n: int = 3) -> tuple[float, float]:
    """Best of ``n`` (wall, CPU of the child processes) of ``fn``, which runs one."""
    import resource

    out = []
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        fn()
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.append((wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
    return min(w for w, _ in out), min(c for _, c in out)

if __name__ == "__main__":
    main()
