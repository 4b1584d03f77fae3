"""`curate audit` time and peak RSS on a 100k-document curate output.

    python bench/bench_audit.py [--docs N] [--shards S] [--keep DIR] [--edits]

Builds the output once: `curate run --stages ingest` over the real web JSONL and code samples
in ../shared/corpora (~1.5k documents), whose documents are then repeated with new ids up to N
documents in. The later stages' columns are added (language, quality_score, dup_group_size,
repeat, num_tokens), a fifth of the documents go to the ledger under five rules of four stages,
and S shards per kind are written with a consistent manifest and a tokens manifest with a
target mixture. Then, each phase in a fresh subprocess (so its peak RSS is its own):

* floor -- polars streaming the text column's lengths: the least any audit has to read;
* verify -- the audit's file check alone: every file's size and sha256 against the manifest;
* audit -- `curate audit DIR`: the file check, every statistic, summary.json and report.html;
* compare -- `curate audit DIR --compare DIR`: every id of two outputs joined.

Prints seconds, documents/s, MB/s of text, peak RSS, and the audit's ratio to the floor.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
sys.path.insert(0, str(REPO))
from curate import output  # noqa: E402

RULES = [("langid", "not_target_language"), ("filter", "gopher_min_words"), ("filter", "c4_javascript"),
         ("dedup", "minhash_near_duplicate"), ("quality", "below_threshold")]
STAGES = ["ingest", "langid", "filter", "dedup", "quality", "rebalance", "tokenize"]


def _unit(ids: pl.Series, seed: int) -> np.ndarray:
    return (ids.hash(seed=seed).to_numpy() >> np.uint64(11)).astype(np.float64) / float(1 << 53)


EDIT = pl.Struct({"stage": pl.String, "rule": pl.String, "count": pl.Int64, "chars": pl.Int64, "detail": pl.String})


def edits(text: pl.DataFrame) -> pl.Series:
    """text/'s ``edits`` as a default web run writes it: C4's line cleaning changes nearly every
    page (a c4_lines entry on each web document), PII redaction one in 20; code unchanged."""
    u, web = _unit(text["id"], 6), (text["domain"] == "web").to_list()
    c4 = {"stage": "filter", "rule": "c4_lines", "count": 3, "chars": 120, "detail": "c4_lines_removed 3"}
    pii = {"stage": "filter", "rule": "pii", "count": 1, "chars": 9, "detail": "pii_email 1"}
    return pl.Series("edits", [([c4] + [pii] * bool(x < 0.05)) if w else None for w, x in zip(web, u.tolist())], pl.List(EDIT))


def build(root: Path, docs: int, shards: int, with_edits: bool = False, web: str = "*.jsonl*") -> dict:
    """``web``: the web corpus files ingested (a glob under corpora/web); fewer files, fewer distinct
    documents, the same ``docs`` (the rest are copies under new ids)."""
    base = root.parent / "base"
    subprocess.run([sys.executable, "-m", "curate.cli", "run", "--input", str(CORPORA / "web" / web), "--domain", "web",
                    "--input", str(CORPORA / "code" / "code_sample.jsonl.gz"), "--domain", "code",
                    "--output", str(base), "--stages", "ingest", "--progress", "off"], check=True, cwd=REPO, capture_output=True)
    text = pl.read_parquet(base / "text")
    copies = [text.with_columns(id=pl.Series([f"{x:016x}" for x in text["id"].hash(seed=k).to_list()])) for k in range(math.ceil(docs / text.height))]
    text = pl.concat(copies).head(docs)
    u, web = _unit(text["id"], 1), (text["domain"] == "web").to_numpy()
    text = text.with_columns(
        language=pl.when(pl.col("domain") == "web").then(pl.Series(np.where(u < 0.8, "en", np.where(u < 0.9, "de", "fr")))).otherwise("language"),
        language_score=pl.Series(0.5 + 0.5 * _unit(text["id"], 2)).cast(pl.Float32),
        quality_score=pl.Series(_unit(text["id"], 3)).cast(pl.Float32),
        dup_group_size=pl.Series(np.where(u < 0.7, 1, 1 + (_unit(text["id"], 4) * 12).astype(int))).cast(pl.Int32),
        repeat=pl.Series(np.where(web, 1, 2)).cast(pl.Int32),
        num_tokens=(pl.col("text").str.len_bytes() // 4).cast(pl.Int64),
    )
    if with_edits:
        text = text.with_columns(edits(text))
    rule = (_unit(text["id"], 5) * 25).astype(int)  # 0-4: removed by RULES[i]; else kept
    quarantine = pl.read_parquet(base / "quarantine")
    stats = {"ingest.docs_read": text.height, "ingest.docs_out": text.height, "ingest.quarantined": quarantine.height}
    ledger = []
    for i, (stage, name) in enumerate(RULES):
        gone = text.filter(pl.Series(rule == i))
        stats[f"{stage}.removed.{name}"] = gone.height
        ledger.append(gone.select("id", stage=pl.lit(stage), rule=pl.lit(name), value=pl.col("quality_score").cast(pl.Float64),
                                  threshold=pl.lit(0.5), kept_id=pl.lit(None, pl.String), domain="domain", source="source", url="url",
                                  path="path", offset="offset", language="language", snippet=pl.col("text").str.slice(0, 200)))
    text = text.filter(pl.Series(rule >= len(RULES)))
    prev = stats["ingest.docs_out"]
    for stage in STAGES[1:]:  # each stage's docs_in as the pipeline counts it (output.stage_counts)
        stats[f"{stage}.docs_in"] = prev
        prev -= sum(n for k, n in stats.items() if k.startswith(f"{stage}.removed."))
        stats[f"{stage}.docs_out"] = prev
    outputs = {}
    for kind, df, key in (("text", text, "id"), ("ledger", pl.concat(ledger), "id"), ("quarantine", quarantine, "path")):
        part = pl.Series(output.shard_index(df[key].to_arrow(), shards), dtype=pl.Int64)
        outputs[kind] = []
        for i in range(shards):
            rel = output.shard_name(kind, i, shards)
            (root / kind).mkdir(parents=True, exist_ok=True)
            # as curate writes shards (row groups of 4096), without dictionary-encoding the text:
            # the repeated documents would otherwise shrink to references and flatter the read
            pq.write_table(df.filter(part == i).sort(key).to_arrow(), root / rel, compression="zstd",
                           row_group_size=output.ROW_GROUP_ROWS, use_dictionary=[c for c in df.columns if c not in ("text", "snippet")])
            data = (root / rel).read_bytes()
            outputs[kind].append({"kind": kind, "file": rel, "rows": int((part == i).sum()), "bytes": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest()})
    manifest = json.loads((base / "manifest.json").read_text())
    manifest["config"]["run"]["stages"] = STAGES
    (root / "tokens.json").write_text(json.dumps({"mix": {"web": {"target": 0.7}, "code": {"target": 0.3}}}))
    files = [{"file": e["file"], "bytes": e["bytes"]} for es in outputs.values() for e in es]
    files.append({"file": "tokens.json", "bytes": (root / "tokens.json").stat().st_size})
    manifest.update(counts=output.stage_counts(stats, STAGES), stats=stats, outputs=outputs, files=files)
    (root / "manifest.json").write_text(json.dumps(manifest))
    return {"docs_in": docs, "text_docs": text.height, "ledger_rows": docs - text.height,
            "text_mb": float(text["text"].str.len_bytes().sum()) / 1e6,
            "parquet_mb": sum(p.stat().st_size for p in root.rglob("*.parquet")) / 1e6}


PHASES = {
    "floor": "pl.scan_parquet(f'{ROOT}/text/*.parquet').select(pl.col('text').str.len_chars().sum()).collect(engine='streaming')",
    "verify": "from curate.audit import scan; import json; m = json.load(open(f'{ROOT}/manifest.json')); "
              "assert all(c['ok'] for c in scan.integrity(ROOT, m, None)[0])",
    "audit": "from curate.audit.command import main; assert main([ROOT]) == 0",
    "compare": "from curate.audit.command import main; assert main([ROOT, '--compare', ROOT]) == 0",
}
RUNNER = """
import json, sys, time, io, contextlib
import polars as pl
import pyarrow.parquet as pq
sys.path.insert(0, "bench")
from memory import peak_rss_mb  # not ru_maxrss, which starts at this script's parent's RSS: the output it built
ROOT = sys.argv[1]
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    {code}
print(json.dumps({{"seconds": time.perf_counter() - t, "rss_mb": peak_rss_mb()}}))
"""


def measure(phase: str, root: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", RUNNER.format(code=PHASES[phase]), str(root)], capture_output=True, text=True, cwd=REPO)
    if r.returncode:
        raise SystemExit(f"{phase} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=100_000, help="documents in (text + ledger)")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--keep", help="build the output here and keep it (default: a temporary directory)")
    ap.add_argument("--edits", action="store_true", help="then the same output with text/'s edits column (a c4_lines entry "
                                                         "on every web page, pii on 1 in 20), measured after it")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for with_edits in (False, True)[: 1 + ns.edits]:
            root = Path(ns.keep or tmp) / ("out_edits" if with_edits else "out")
            info = build(root, ns.docs, ns.shards, with_edits)
            print(f"output{' with edits' * with_edits}: {info['docs_in']:,} documents in ({info['text_docs']:,} text, {info['ledger_rows']:,} ledger), "
                  f"{info['text_mb']:,.0f} MB of text, {info['parquet_mb']:,.0f} MB of Parquet, {ns.shards} shards per kind")
            res = {p: measure(p, root) for p in PHASES}
            for p, r in res.items():
                print(f"{p:6s} {r['seconds']:7.2f} s  {info['docs_in'] / r['seconds']:>10,.0f} docs/s  "
                      f"{info['text_mb'] / r['seconds']:7.1f} MB/s of text  peak RSS {r['rss_mb']:6.0f} MB  "
                      f"x{r['seconds'] / res['floor']['seconds']:.1f} of floor")


if __name__ == "__main__":
    main()
