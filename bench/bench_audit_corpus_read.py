"""What reading JSON Lines as `curate run` does costs `curate audit --corpus`.

    python bench/bench_audit_corpus_read.py [--copies N] [--zst]

The shared Dolma CC sample, decompressed and repeated ``--copies`` times into one clean .jsonl
(no comment line, no BOM: the common case, which polars reads as it is). Measured, best of 3,
wall seconds, each in this process:

* check   -- ``curate.readers.jsonl.as_read``: the one streamed pass that finds a file has no
             comment line or line-start BOM (what the audit added per local JSONL file);
* audit   -- ``curate audit --corpus FILE`` in a subprocess (every statistic, the report), the
             check included.

Prints both and the check's share of the audit. ``--zst``: the file zstd-compressed (level 3),
where the check is also what stops a decompression bomb at ``limits.max_file_bytes``.
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
    args = ap.parse_args()
    from curate.readers.jsonl import as_read

    data = gzip.decompress((CORPORA / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz").read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("corpus.jsonl.zst" if args.zst else "corpus.jsonl")
        if args.zst:
            import zstandard

            frame = zstandard.ZstdCompressor(level=3).compress(data)  # a frame a copy: no match across copies
            path.write_bytes(frame * args.copies)
        else:
            path.write_bytes(data * args.copies)
        mb = len(data) * args.copies / 1e6
        assert as_read(str(path)) is None  # clean: polars reads it as it is
        check = best(lambda: as_read(str(path)))
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        audit = best(lambda: subprocess.run([sys.executable, "-m", "curate", "audit", "--corpus", str(path), "--output",
                                             f"{tmp}/audit"], check=True, env=env, stdout=subprocess.DEVNULL))
    print(f"{mb:.0f} MB of JSONL{' (.zst)' if args.zst else ''} ({args.copies} copies of the Dolma sample), best of 3 (MB/s decompressed):")
    print(f"  check (as_read, one streamed pass)  {check:6.2f} s  {mb / check:7.0f} MB/s")
    print(f"  curate audit --corpus               {audit:6.2f} s  {mb / audit:7.0f} MB/s")
    print(f"  the check's share of the audit: {check / audit:.1%}")


if __name__ == "__main__":
    main()
