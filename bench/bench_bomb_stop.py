"""What the bomb stop saves, and the real ratios its threshold is measured against.

A compressed input decoding at ``common.BOMB_STOP`` to 1 or more once ``bomb_judged`` bytes
(``max_file_bytes``/64, 1 MiB at least) are read is read no further (``common.BombWatch``); a bomb
was read on to ``max_file_bytes`` before. Printed:
* the highest decompressed/compressed ratios of the files under ``--corpora`` (default
  ../shared/corpora): the .gz/.zst as stored, and every file of 4 KiB or more (decompressed)
  recompressed with zstd -19 and gzip -9;
* three bombs read through ``read_shard`` at ``max_file_bytes`` = ``--limit-mb`` MiB, with the stop
  and without it (BOMB_STOP made unreachable): the decoded bytes read (counted, not timed), CPU
  seconds and the quarantine's reason: a zstd one (one line repeated, ~10,900 to 1), gzip -9 of
  one byte (1,027 to 1) and gzip -1 of zeros (229 to 1: under the stop, read to the limit).

    python bench/bench_bomb_stop.py [--limit-mb 256] [--corpora ../shared/corpora]
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
import time
import zlib

import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from curate.readers import common, read_shard  # noqa: E402
from curate.readers.common import Limits, Shard  # noqa: E402


def corpora_ratios(root: str, top: int = 3) -> None:
    stored, recompressed = [], []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                raw = f.read()
            try:
                if raw[:2] == common.GZIP_MAGIC:
                    data = gzip.decompress(raw)
                elif raw[:4] == common.ZSTD_MAGIC:
                    data = zstandard.ZstdDecompressor().stream_reader(raw).read()
                else:
                    data = None
            except (OSError, EOFError, zlib.error, zstandard.ZstdError):
                continue
            if data is not None:
                stored.append((len(data) / len(raw), path))
            data = raw if data is None else data
            if len(data) >= 4096:
                z, g = zstandard.ZstdCompressor(level=19).compress(data), gzip.compress(data, 9)
                recompressed.append((len(data) / len(z), len(data) / len(g), len(data), path))
    print(f"{len(stored)} compressed files as stored, highest ratios: "
          + "; ".join(f"{r:.1f} {os.path.relpath(p, root)}" for r, p in sorted(stored, reverse=True)[:top]))
    print(f"{len(recompressed)} files >= 4 KiB recompressed, highest (zstd -19 / gzip -9, decoded bytes): "
          + "; ".join(f"{z:.1f} / {g:.1f}, {n:,} {os.path.relpath(p, root)}" for z, g, n, p in sorted(recompressed, reverse=True)[:top]))


def bombs(mb: int) -> dict[str, bytes]:
    row = b'{"text": "' + b"all work and no play " * 40 + b'"}\n'
    piece = row * (2**20 // len(row))
    c = zstandard.ZstdCompressor(level=3).compressobj()
    zst = b"".join(c.compress(piece) for _ in range(mb)) + c.flush()
    g9, g1 = zlib.compressobj(9, zlib.DEFLATED, 31), zlib.compressobj(1, zlib.DEFLATED, 31)
    one, zeros = b"a" * 2**20, bytes(2**20)
    gz9 = g9.compress(b'{"text": "') + b"".join(g9.compress(one) for _ in range(mb)) + g9.flush()
    gz1 = b"".join(g1.compress(zeros) for _ in range(mb)) + g1.flush()
    return {"bomb.jsonl.zst": zst, "one-byte.jsonl.gz": gz9, "zeros.jsonl.gz": gz1}


def read(path: str, limit: int) -> tuple[int, float, list]:
    """(decoded bytes read, CPU s, quarantine reasons) of reading ``path`` whole."""
    n, readinto = [0], common._Capped.readinto

    def counted(self, b):
        k = readinto(self, b)
        n[0] += k
        return k

    common._Capped.readinto = counted
    try:
        t = time.process_time()
        reasons = [r for kind, t_ in read_shard(Shard(path, os.path.basename(path), "jsonl", "web", "b"), Limits(max_file_bytes=limit))
                   if kind == "quarantine" for r in t_.column("reason").to_pylist()]
        return n[0], time.process_time() - t, reasons
    finally:
        common._Capped.readinto = readinto


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-mb", type=int, default=256)
    ap.add_argument("--corpora", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "corpora"))
    a = ap.parse_args()
    if os.path.isdir(a.corpora):
        corpora_ratios(a.corpora)
    limit, stop = a.limit_mb << 20, common.BOMB_STOP
    print(f"max_file_bytes {limit:,}: judged past {common.bomb_judged(limit):,} decoded bytes at {stop:,} to 1")
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in bombs(2 * a.limit_mb).items():
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            for label, value in (("stop", stop), ("no stop", 10**12)):
                common.BOMB_STOP = value
                try:
                    n, cpu, reasons = read(path, limit)
                finally:
                    common.BOMB_STOP = stop
                print(f"{name} ({len(data):,} B -> {2 * a.limit_mb} MiB, {(2 * a.limit_mb << 20) / len(data):,.0f} to 1), {label}: "
                      f"read {n:,} B in {cpu:.2f} s CPU, {reasons}")


if __name__ == "__main__":
    main()
