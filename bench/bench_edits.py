"""What recording ``edits`` costs the filter stage (web and code, default config, one process).

    python bench/bench_edits.py [--corpora ../shared/corpora] [--repeat 5]

A/B in one run on the same batches: the filter as shipped, and the same filter with
``schema.add_edits`` reduced to adding a null column (no entries: the baseline). Prints CPU
seconds (best of ``--repeat``, interleaved), their ratio, the kept documents with an entry and
the ``edits`` column's share of the text shards' Parquet bytes (zstd, as the output writes).
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_filters import REPO, load_code, load_web, rows_to_batch  # noqa: E402

from curate import schema  # noqa: E402
from curate.stages.filters import Filter  # noqa: E402


def parquet_bytes(table: pa.Table) -> int:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return len(buf.getvalue())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    real = schema.add_edits
    off = lambda batch, *args, **kw: schema.with_edits(batch)  # noqa: E731
    for name, rows in (("web", load_web(a.corpora)), ("code", load_code(a.corpora))):
        batches = rows_to_batch(rows)
        f = Filter({})
        f.setup()
        times, kept = {"edits": [], "no entries": []}, []
        for _ in range(a.repeat):
            for label, fn in (("edits", real), ("no entries", off)):
                schema.add_edits = fn
                t = time.process_time()
                out = [f.process(b)[0] for b in batches]
                times[label].append(time.process_time() - t)
                kept = out if label == "edits" else kept
        schema.add_edits = real
        table = pa.Table.from_batches(kept)
        changed = sum(1 for e in table.column("edits").to_pylist() if e)
        share = parquet_bytes(table.select(["edits"])) / parquet_bytes(table)
        on, base = min(times["edits"]), min(times["no entries"])
        print(f"{name:5s} {len(rows):6d} docs  edits {on:6.2f} s  no entries {base:6.2f} s  ratio {on / base:5.3f}  "
              f"kept {table.num_rows}, with an entry {changed}  edits column {100 * share:.2f}% of the Parquet bytes")


if __name__ == "__main__":
    main()
