"""What checking every gzip member costs at ingest, on clean files.

Reads the same shards through curate's readers twice, in alternating rounds, one core:
* checked: today's path (``curate.readers.decompress.Members``: member by member, records
  held until their member's CRC passed; a big single member checked by one extra pass);
* unchecked: the previous path (Python's ``gzip.GzipFile`` stream, records released as read).

Inputs: the shared Common Crawl WARCs (one member per record), the Dolma JSONL (one member),
and generated single-member JSONL.gz files below and above ``HOLD_BYTES`` (held whole; the
extra-pass path).
Prints CPU seconds per input and the overhead of the check (target: under 5% of ingest CPU).

    python bench/bench_gzip_check.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate.readers import common, plan_shards, read_shard  # noqa: E402
from curate.readers import decompress  # noqa: E402

CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def unchecked_open_bytes(path, limits):
    """The reader stream before the check: gzip.GzipFile, no holding."""
    import io

    kind = common.compression(path)
    raw = common.open_raw(path)
    stream = gzip.GzipFile(fileobj=raw) if kind == "gzip" else raw
    return io.BufferedReader(common._Capped(stream, limits.max_file_bytes, path), buffer_size=1 << 20)


class UncheckedMembers:
    """For the WARC reader: the same interface as Members over gzip.GzipFile."""

    def __init__(self, raw, kind, path=""):
        self._g = gzip.GzipFile(fileobj=raw)
        self.read = self._g.read1

    def close(self):
        self._g.close()


def ingest_cpu(files, fmt, limits) -> tuple[float, int]:
    """CPU seconds of reading ``files``, the HTML-extraction helper processes included."""
    from bench.bench_pipeline import _helpers_cpu

    t0, h0, n = time.process_time(), _helpers_cpu(), 0
    for path in files:
        for s in plan_shards([(str(path), path.name)], fmt, "web", "b", {}, limits):
            for kind, b in read_shard(s, limits):
                n += b.num_rows if kind == "docs" else 0
    return time.process_time() - t0 + _helpers_cpu() - h0, n


def big_jsonl(tmp: str, mb: int, name: str) -> Path:
    rows = [json.loads(x) for x in gzip.open(CORPORA / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
    path = Path(tmp) / f"{name}.jsonl.gz"
    with gzip.open(path, "wt", compresslevel=6) as f:  # one member
        written, i = 0, 0
        while written < mb << 20:
            r = rows[i % len(rows)]
            line = json.dumps({"id": f"{i}", "text": r["text"]}) + "\n"
            f.write(line)
            written += len(line)
            i += 1
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big-mb", type=int, default=96)
    ap.add_argument("--huge-mb", type=int, default=320)
    a = ap.parse_args()
    limits = common.Limits()
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {
            "CC WARC (member per record)": ([CORPORA / "web" / "cc_main_2020_34_resiliparse_sample.warc.gz", CORPORA / "web" / "dolma_wget_sample-0000.warc.gz"] * 5, "warc"),
            "Dolma JSONL.gz (one member)": ([CORPORA / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"] * 10, "jsonl"),
            f"JSONL.gz {a.big_mb} MB (one member, held)": ([big_jsonl(tmp, a.big_mb, "held")], "jsonl"),
            f"JSONL.gz {a.huge_mb} MB (one member > HOLD_BYTES: extra pass)": ([big_jsonl(tmp, a.huge_mb, "pass")], "jsonl"),
        }
        print(f"{'input':44s} {'checked s':>10s} {'unchecked s':>12s} {'overhead':>9s} docs")
        worst = 0.0
        for name, (files, fmt) in inputs.items():
            cpu = {"checked": [], "unchecked": []}
            docs = {}
            for r in range(a.rounds):
                for mode in ("checked", "unchecked") if r % 2 == 0 else ("unchecked", "checked"):
                    saved = common.open_bytes, decompress.Members
                    if mode == "unchecked":
                        common.open_bytes = unchecked_open_bytes
                        import curate.readers.jsonl as jr
                        import curate.readers.warc as wr

                        jr.open_bytes = unchecked_open_bytes
                        wr.decompress.Members = UncheckedMembers
                    try:
                        c, n = ingest_cpu(files, fmt, limits)
                    finally:
                        common.open_bytes, decompress.Members = saved
                        import curate.readers.jsonl as jr

                        jr.open_bytes = saved[0]
                    cpu[mode].append(c)
                    docs[mode] = n
            assert docs["checked"] == docs["unchecked"], docs
            best = {k: min(v) for k, v in cpu.items()}
            over = best["checked"] / best["unchecked"] - 1
            worst = max(worst, over)
            print(f"{name:44s} {best['checked']:10.3f} {best['unchecked']:12.3f} {over:+9.1%} {docs['checked']}")
        print(f"worst overhead of the check: {worst:+.1%} (target < +5%)")


if __name__ == "__main__":
    main()
