"""What reading zstd one block at a time costs, and what it saves on a bomb.

curate's readers feed a zstd stream to its decoder a block at a time
(``curate.readers.decompress.ZstdBlocks``), so no read decodes more than 1 MiB. Measured in one
run, one core, alternating rounds, on the same files:
* blocks: today's ``decompress.Members``;
* before: ``decompress.Members`` of another commit (``--baseline``, default ``main``), which fed
  64 KiB of compressed bytes per call;
* zstandard: ``ZstdDecompressor().stream_reader`` (no member bookkeeping: the fastest known way).

Inputs: the shared Dolma documents as JSON Lines, repeated to ``--mb`` MB, compressed as one
streamed frame, as one frame a MiB (pzstd-style) and as a stream flushed a line at a time (a
block a line, as a streaming writer that flushes each record writes it); and a bomb (one line repeated to
``--bomb-mb`` MB, a few KB on disk), whose first read's size and the peak traced memory of reading
it to ``max_file_bytes`` (64 MiB) are printed.

    python bench/bench_zstd_read.py [--rounds 5] [--mb 200] [--baseline main]
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import zstandard

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate.readers import decompress  # noqa: E402

CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def module_at(rev: str, folder: str, source: str = "curate/readers/decompress.py"):
    """``source`` as it is at ``rev``, imported as a module of its own, NAME_before (curate's
    other modules as they are now; decompress.py imports none of them)."""
    src = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{source}"],
                         check=True, capture_output=True).stdout
    name = f"{Path(source).stem}_before"
    path = Path(folder) / f"{name}.py"
    path.write_bytes(src)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def drain(read) -> int:
    n = 0
    while True:
        b = read(1 << 16)
        if not b:
            return n
        n += len(b)


def members(mod):
    return lambda z: drain(mod.Members(io.BytesIO(z), "zstd").read)


def stream_reader(z: bytes) -> int:
    return drain(zstandard.ZstdDecompressor().stream_reader(io.BytesIO(z), read_across_frames=True).read)


def inputs(mb: int) -> dict[str, bytes]:
    with gzip.open(CORPORA / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz") as f:
        text = f.read()
    data = (text * (mb * 2**20 // len(text) + 1))[: mb * 2**20]
    one = zstandard.ZstdCompressor(level=3).compressobj()
    streamed = b"".join(one.compress(data[i:i + 2**20]) for i in range(0, len(data), 2**20)) + one.flush()
    c = zstandard.ZstdCompressor(level=3, write_checksum=True)
    framed = b"".join(c.compress(data[i:i + 2**20]) for i in range(0, len(data), 2**20))
    lines = zstandard.ZstdCompressor(level=3).compressobj()
    flushed = b"".join(lines.compress(line) + lines.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for line in data.splitlines(True))
    return {"one streamed frame": streamed, "a frame a MiB, checksums": framed, "a block a line": flushed + lines.flush()}


def bomb(mb: int) -> bytes:
    row = b'{"text": "' + b"all work and no play " * 40 + b'"}\n'
    piece = row * (2**20 // len(row))
    c = zstandard.ZstdCompressor(level=3).compressobj()
    return b"".join(c.compress(piece) for _ in range(mb)) + c.flush()


def bomb_read(mod, z: bytes, limit: int) -> tuple[int, int]:
    """(first read's size, peak traced bytes reading to ``limit`` decoded bytes)."""
    tracemalloc.start()
    try:
        m = mod.Members(io.BytesIO(z), "zstd")
        first = n = len(m.read(1 << 16))
        while n <= limit:
            b = m.read(1 << 16)
            if not b:
                break
            n += len(b)
        return first, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--bomb-mb", type=int, default=1024)
    ap.add_argument("--baseline", default="main")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = module_at(a.baseline, tmp)
        ways = {"blocks": members(decompress), "before": members(before), "zstandard": stream_reader}
        for name, z in inputs(a.mb).items():
            want = stream_reader(z)
            best = {w: float("inf") for w in ways}
            for _ in range(a.rounds):
                for w, f in ways.items():
                    t = time.process_time()
                    assert f(z) == want, w
                    best[w] = min(best[w], time.process_time() - t)
            mbs = {w: want / 2**20 / s for w, s in best.items()}
            print(f"{name}: {len(z) / 2**20:.1f} MB -> {want / 2**20:.0f} MB, best of {a.rounds} (CPU s): "
                  + ", ".join(f"{w} {best[w]:.3f} ({mbs[w]:.0f} MB/s)" for w in ways)
                  + f"; blocks/before {best['blocks'] / best['before']:.3f}x, blocks/zstandard {best['blocks'] / best['zstandard']:.3f}x")
        z = bomb(a.bomb_mb)
        for w, mod in (("blocks", decompress), ("before", before)):
            first, peak = bomb_read(mod, z, 64 << 20)
            print(f"bomb {len(z) / 1024:.0f} KB -> {a.bomb_mb} MB, read to 64 MiB: {w} first read {first / 2**20:.2f} MiB, "
                  f"peak traced {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
