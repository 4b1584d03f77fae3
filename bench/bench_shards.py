"""What the output shard count costs: one corpus run with several ``run.shards``.

    python bench/bench_shards.py [--docs 16000] [--shards 4,16,64] [--repeat 2] [--keep DIR]

More output shards mean more id partitions after ingest (P = ``output.id_partitions``, 4 per
shard), so more and smaller batches, and more pieces at every shuffle by key (batches x
shards: ingest's id partitions, dedup's bucket shards, edge groups, join). The text and the
work on it are the same whatever the shard count; what grows with it is overhead. The corpus is
bench/bench_pipeline.py's mix (web JSONL, WARC, code, books, planted duplicates) at ``--docs``
documents, built once; each shard count runs ``curate run`` in a fresh subprocess on the
DirectRunner with its defaults (worker processes, spilled data path), ``--repeat`` rounds
interleaved, the least CPU counting (the launching process, its workers and HTML-extraction
helpers). Printed per shard count: CPU-s, wall, the tree's peak PSS, bytes spilled and files
written to the staging folder (the manifest's ``staged`` entry), and each against the fewest
shards, measured in the same run. Every shard count's output has the same documents.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_pipeline as bp  # noqa: E402


def config_with_shards(base: str, root: Path, shards: int) -> tuple[str, str]:
    """A copy of the corpus's config with ``run.shards`` and its own output folder."""
    out = root / f"out-{shards}"
    text = Path(base).read_text()
    text = re.sub(r"(?m)^shards = \d+$", f"shards = {shards}", text, count=1)
    text = re.sub(r'(?m)^output = .*$', f"output = {json.dumps(str(out))}", text, count=1)
    path = root / f"shards-{shards}.toml"
    path.write_text(text)
    return str(path), str(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=16000, help="documents in the corpus")
    ap.add_argument("--shards", default="4,16,64", help="comma-separated run.shards to compare; the fewest is the baseline")
    ap.add_argument("--repeat", type=int, default=2, help="runs per shard count, interleaved; the least CPU counts")
    ap.add_argument("--keep", help="build the corpus and outputs here and keep them")
    args = ap.parse_args(argv)
    counts = sorted({int(s) for s in args.shards.split(",") if s.strip()})
    with bp.workdir(args.keep, "curate-shards-") as tmp:
        t = time.perf_counter()
        run = bp.build_corpus(bp.load_pools(), tmp / "corpus", args.docs, 1)
        print(f"corpus: {args.docs:,} documents, {run['disk_bytes'] / 1e6:.1f} MB on disk ({time.perf_counter() - t:.1f} s)", flush=True)
        configs = {n: config_with_shards(run["config"], tmp, n) for n in counts}
        results: dict = {n: [] for n in counts}
        for r in range(max(1, args.repeat)):
            for n in counts:
                cfg, out = configs[n]
                res = bp.run_child("pipeline", cfg, out)
                staged = json.loads((Path(out) / "manifest.json").read_text()).get("staged", {})
                res.update(spilled=staged.get("bytes", 0), files=staged.get("files", 0))
                results[n].append(res)
                print(f"round {r + 1}: {n} shards {res['cpu']:.1f} CPU-s, {res['wall']:.1f} s wall", flush=True)
        best = {n: min(rs, key=lambda x: x["cpu"]) for n, rs in results.items()}
        base = best[counts[0]]
        docs = {json.dumps(b["counts"], sort_keys=True) for b in best.values()}
        print(f"\n{base['docs']:,} documents in, {base['text_bytes'] / 1e6:.1f} MB of text; same counts at every shard "
              f"count: {'yes' if len(docs) == 1 else 'NO'}")
        print("| run.shards | id partitions | CPU-s | vs fewest | wall s | peak PSS MB | spilled MB | vs fewest | staged files |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        from curate import output

        for n in counts:
            b = best[n]
            print(f"| {n} | {output.id_partitions(n)} | {b['cpu']:.1f} | {b['cpu'] / base['cpu']:.2f}x | {b['wall']:.1f} | "
                  f"{b['pss_mb']:.0f} | {b['spilled'] / 1e6:.0f} | {b['spilled'] / max(1, base['spilled']):.2f}x | {b['files']:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
