"""Rows/s reading a Parquet file whose meta column is a map (Spark's), this checkout against a
git ref archived in the same run (default ``5071efe^``: maps read by pyarrow's maps_as_pydicts,
before ``readers/parquet.py _rows`` walked each map by its Arrow type).

Writes one file of ``--rows`` rows (a page of text; a map<string,string> meta of ``--keys``
entries, or map<string,binary> with ``--binary``) and a plain file (the same rows, meta a JSON
string) for scale, then reads each with ``read_shard`` in a fresh process per tree, alternating
trees, ``--rounds`` times; prints the best rows/s of each and their ratio.

    python bench/bench_parquet_meta.py [--rows 200000] [--keys 6] [--binary] [--baseline REF]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from base_tree import export  # bench/ is first on sys.path

REPO = Path(__file__).resolve().parent.parent

READ = """
import sys, time
from curate.readers import read_shard
from curate.readers.common import Limits, Shard
t = time.perf_counter(); n = 0
for kind, b in read_shard(Shard(sys.argv[1], "m.parquet", "parquet", "web", "t", options=(("meta_fields", ("meta.k0",)),)), Limits()):
    assert kind == "docs", b.to_pylist()[:1]
    n += b.num_rows
print(n, time.perf_counter() - t)
"""


def _write(folder: Path, rows: int, keys: int, binary: bool) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    value = pa.binary() if binary else pa.string()
    pairs = [[(f"k{j}", (f"value {i} {j}".encode() if binary else f"value {i} {j}")) for j in range(keys)] for i in range(rows)]
    text = ["A page of text that is long enough to be a document of some sort, with a few words more."] * rows
    ids = [f"d{i}" for i in range(rows)]
    files = {"map": folder / "map.parquet", "plain": folder / "plain.parquet"}
    pq.write_table(pa.table({"id": ids, "text": text, "meta": pa.array(pairs, type=pa.map_(pa.string(), value))}), files["map"])
    plain = [json.dumps({k: (v.decode() if binary else v) for k, v in p}) for p in pairs]
    pq.write_table(pa.table({"id": ids, "text": text, "meta": plain}), files["plain"])
    return files


def _read(tree: Path, path: Path) -> float:
    out = subprocess.run([sys.executable, "-c", READ, str(path)], cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]) / float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--keys", type=int, default=6)
    ap.add_argument("--binary", action="store_true", help="map<string,binary> values")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", default="5071efe^")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = export(a.baseline, tmp / "baseline")
        files = _write(tmp, a.rows, a.keys, a.binary)
        best = {}
        for _ in range(a.rounds):
            for tree_name, tree in (("this", REPO), ("baseline", base)):
                for kind, path in files.items():
                    key = (tree_name, kind)
                    best[key] = max(best.get(key, 0.0), _read(tree, path))
        print(f"{a.rows:,} rows, meta map of {a.keys} {'binary' if a.binary else 'string'} values; best of {a.rounds}")
        for kind in files:
            this, then = best[("this", kind)], best[("baseline", kind)]
            print(f"  {kind:5} this {this:>10,.0f} rows/s  {a.baseline} {then:>10,.0f} rows/s  ratio {this / then:.2f}")
        # the plain file runs the same code in both trees: its ratio is the noise of this machine
        print("  map / plain (the map's own cost, each tree): this {:.2f}  {} {:.2f}".format(
            best[("this", "map")] / best[("this", "plain")], a.baseline, best[("baseline", "map")] / best[("baseline", "plain")]))


if __name__ == "__main__":
    main()
