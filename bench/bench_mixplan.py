"""What a dry run of the mix costs (`curate mix`), against rerunning: the candidates table's
bytes per document, the re-plan's time on 1,000,000 synthetic candidates, and on a corpus small
enough to run in full, the whole run (ingest + rebalance) against the dry run of the same data.

    python bench/bench_mixplan.py [--candidates 1000000] [--run-docs 20000] [--repeat 3] [--baseline ../main]

The 1M candidates are drawn like a web/code/books corpus after dedup (web split by source and
language, lognormal token counts, 1 in 10 documents with a duplicate group). They are written
with the run's own shard writer (``output.write_shard``), so the bytes are what a run keeps. At
that size a full run is not timed here (the DirectRunner on two cores): the part of it that
cannot be skipped, counting the documents' tokens, is measured per document on the small corpus
and scaled, as a lower bound of the rebalance stage's time.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from curate import cli, commit, hashing, mixplan, output, schema  # noqa: E402
from curate.stages.rebalance import RebalanceStage  # noqa: E402

SETTINGS = {  # [rebalance] sections re-planned on the candidates
    "targets": {"targets": {"web": 0.6, "code": 0.25, "books": 0.15}, "tolerance": 0.1},
    "languages + max_epochs": {"targets": {"web": 0.5, "code": 0.3, "books": 0.2}, "max_epochs": {"code": 3},
                               "languages": {"web": {"en": 0.5, "de": 0.2, "*": 0.3}}},
    "rehydrate + budget": {"rehydrate": [[2, 2.0], [5, 3.0]], "tolerance": 0.1},  # budget: half the tokens
}


def synthetic(n: int, seed: int = 0) -> pa.RecordBatch:
    rng = np.random.default_rng(seed)
    dom = rng.choice(np.array(["web", "code", "books"]), n, p=[0.8, 0.198, 0.002])
    src = np.where(dom == "web", rng.choice(np.array(["c4", "cc"]), n), np.where(dom == "code", "github", "gutenberg"))
    lang = np.where(dom == "web", rng.choice(np.array(["en", "de", "fr", "es", "ja"]), n, p=[0.55, 0.15, 0.12, 0.1, 0.08]),
                    np.where(dom == "code", rng.choice(np.array(["python", "javascript", "c"]), n), "en"))
    scale = np.select([dom == "web", dom == "code"], [600.0, 900.0], 60_000.0)
    tokens = np.maximum(1, rng.lognormal(0, 0.8, n) * scale).astype(np.int64)
    dup = np.where(rng.random(n) < 0.1, 1 + rng.geometric(0.3, n), 1).astype(np.int32)
    ids = [f"{x:016x}" for x in rng.integers(0, 2**63, n, dtype=np.int64)]
    return pa.RecordBatch.from_arrays(
        [pa.array(ids), pa.array(dom), pa.array(src), pa.array(lang), pa.array(tokens), pa.array(dup)],
        schema=schema.CANDIDATES_SCHEMA)


def write(batch: pa.RecordBatch, root: str, shards: int) -> dict:
    """As a run writes them: by id hash into shards, sorted, zstd Parquet; the manifest's entries."""
    pieces = output.split_by_shard(batch, "id", shards)
    entries = [output.write_shard(root, "candidates", i, shards, [b], []) for i, b in pieces]
    return {"format": output.FORMAT, "outputs": {"candidates": entries}}


def column_bytes(root: str, manifest: dict) -> dict:
    out: dict = {}
    for e in manifest["outputs"]["candidates"]:
        md = pq.ParquetFile(f"{root}/{e['file']}").metadata
        for g in range(md.num_row_groups):
            for c in range(md.num_columns):
                col = md.row_group(g).column(c)
                out[col.path_in_schema] = out.get(col.path_in_schema, 0) + col.total_compressed_size
    return out


def per_document(stage, batch: pa.RecordBatch) -> np.ndarray:
    """group_of as it was: the group of each document looked up in Python (the baseline)."""
    doms, srcs, langs = (batch.column(c).to_pylist() for c in ("domain", "source", "language"))
    idx = stage._index
    return np.fromiter((idx.get(stage._key(d, s, lang), idx.get((d, None), -1)) for d, s, lang in zip(doms, srcs, langs)),
                       dtype=np.int64, count=batch.num_rows)


def timed(fn, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def small_corpus(root: Path, n: int) -> Path:
    rng = random.Random(0)
    words = "the river town harvest bridge school evening light quiet rain market road field house".split()
    root.mkdir(parents=True)
    for d, share in (("web", 0.8), ("code", 0.15), ("books", 0.05)):
        with open(root / f"{d}.jsonl", "w") as f:
            for i in range(int(n * share)):
                k = rng.randint(40, 160) if d != "books" else rng.randint(2000, 6000)
                f.write(json.dumps({"id": f"{d}-{i}", "text": " ".join(rng.choice(words) for _ in range(k))}) + "\n")
    return root


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidates", type=int, default=1_000_000)
    ap.add_argument("--run-docs", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", help="a checkout without the candidates (e.g. the main branch's): its run of the same corpus "
                    "is timed beside this checkout's, the cost of writing them")
    a = ap.parse_args(argv)
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        # --- 1M synthetic candidates: the table and the re-plan --------------------------------
        batch = synthetic(a.candidates)
        root = f"{tmp}/synthetic"
        t0 = time.perf_counter()
        manifest = write(batch, root, 16)
        write_s = time.perf_counter() - t0
        nbytes = sum(e["bytes"] for e in manifest["outputs"]["candidates"])
        per_col = {k: round(v / a.candidates, 2) for k, v in column_bytes(root, manifest).items()}
        print(f"candidates: {a.candidates:,} documents, {nbytes:,} bytes in 16 files = {nbytes / a.candidates:.1f} bytes per "
              f"document (by column: {', '.join(f'{k} {v}' for k, v in per_col.items())}); written in {write_s:.2f} s")
        read_s, table = timed(lambda: mixplan.table(root, manifest), a.repeat)
        print(f"read the table: {read_s:.2f} s")
        res.update(candidates=a.candidates, bytes_per_doc=nbytes / a.candidates, columns=per_col, read_s=read_s, plan_s={})
        total = int(pa.compute.sum(batch.column("num_tokens")).as_py())
        SETTINGS["rehydrate + budget"]["budget"] = total // 2
        for name, section in SETTINGS.items():
            s, stats = timed(lambda: mixplan.replan(section, table), a.repeat)
            res["plan_s"][name] = s
            print(f"re-plan ({name}): {s:.2f} s (median of {a.repeat}); {stats['rebalance.docs_out']:,} documents kept, "
                  f"{stats['rebalance.mix_tokens']:,} tokens")

        # --- RebalanceStage.group_of: dictionary lookups against one Python call per document ----
        stage = RebalanceStage(SETTINGS["languages + max_epochs"])
        batches = table.to_batches(max_chunksize=mixplan.ROWS)
        old_s, old = timed(lambda: np.concatenate([per_document(stage, b) for b in batches]), a.repeat)
        new_s, new = timed(lambda: np.concatenate([stage.group_of(b) for b in batches]), a.repeat)
        assert (old == new).all()
        print(f"group_of on {a.candidates:,} candidates: {new_s:.3f} s, one lookup per document {old_s:.3f} s "
              f"({old_s / new_s:.1f}x); equal")
        res.update(group_of_s=new_s, group_of_per_document_s=old_s)
        ids = table.column("id")
        old_s, old = timed(lambda: hashing.id_u64(ids.to_pylist()), a.repeat)  # as it was: a Python string per id
        new_s, new = timed(lambda: hashing.id_u64(ids), a.repeat)
        assert (old == new).all()
        print(f"id_u64 on {a.candidates:,} ids: {new_s:.3f} s from the Arrow buffer, {old_s:.3f} s from Python strings "
              f"({old_s / new_s:.1f}x); equal")
        res.update(id_u64_s=new_s, id_u64_strings_s=old_s)

        # --- a corpus run in full: the whole run against the dry run of its candidates ------------
        src = small_corpus(Path(tmp) / "in", a.run_docs)
        out = Path(tmp) / "out"
        cfg = Path(tmp) / "c.toml"
        ins = "".join(f'[[inputs]]\nglob = "{src}/{d}.jsonl"\ndomain = "{d}"\n' for d in ("web", "code", "books"))
        cfg.write_text(f'[run]\noutput = "{out}"\nshards = 4\nworkers = 1\n{ins}[rebalance]\n'
                       'targets = {web = 0.6, code = 0.25, books = 0.15}\ntolerance = 0.1\n')
        t0 = time.perf_counter()
        assert cli.main(["run", str(cfg), "--stages", "ingest,rebalance", "--progress", "off"]) == 0
        run_s = time.perf_counter() - t0
        m = commit.read_manifest(str(out))
        docs = m["counts"]["rebalance"]["docs_in"]
        kept = sum(e["bytes"] for e in m["outputs"]["candidates"])
        text = sum(e["bytes"] for e in m["outputs"]["text"])
        section = {"targets": {"web": 0.5, "code": 0.3, "books": 0.2}, "tolerance": 0.1}
        dry_s, _ = timed(lambda: mixplan.replan(section, mixplan.table(str(out), m)), a.repeat)
        from curate.stages.tokenize import TokenizeStage

        texts = pq.read_table(str(out / "text"), columns=["text"]).column("text").to_pylist()
        tok = TokenizeStage({}).setup()
        count_s, counts = timed(lambda: tok.encoder.count(texts), 1)
        rate = int(counts.sum()) / count_s  # tokens per second, one process
        print(f"run (ingest + rebalance, {docs:,} documents, 1 worker): {run_s:.1f} s; dry run of the same data: {dry_s:.3f} s "
              f"({run_s / dry_s:,.0f}x faster); candidates {kept:,} bytes = {kept / docs:.1f} per document "
              f"({kept / text:.1%} of text/)")
        scaled = total / rate
        best = min(res["plan_s"].values()) + read_s
        print(f"counting tokens alone (what rebalance must do before it can plan): {rate / 1e6:.2f}M tokens/s here, so "
              f"{scaled:,.0f} s for the {total / 1e6:,.0f}M tokens of the {a.candidates:,} candidates; their dry run: {best:.2f} s "
              f"(read + fastest re-plan; >= {scaled / best:,.0f}x)")
        res.update(run_docs=docs, run_s=run_s, dry_s=dry_s, run_candidate_bytes_per_doc=kept / docs, count_tokens_per_s=rate)
        if a.baseline:  # what keeping the candidates costs a run: the same run by a checkout without them
            walls: dict = {"this checkout": [], a.baseline: []}
            for _ in range(a.repeat):
                for who, code in ((a.baseline, a.baseline), ("this checkout", str(REPO))):
                    shutil.rmtree(out, ignore_errors=True)
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "curate.cli", "run", str(cfg), "--stages", "ingest,rebalance", "--progress",
                                    "off"], env={**os.environ, "PYTHONPATH": code}, check=True, capture_output=True)
                    walls[who].append(time.perf_counter() - t0)
            med = {k: statistics.median(v) for k, v in walls.items()}
            print(f"the run, in a fresh process (median of {a.repeat}): this checkout {med['this checkout']:.2f} s, {a.baseline} "
                  f"{med[a.baseline]:.2f} s ({med['this checkout'] / med[a.baseline] - 1:+.1%})")
            res.update(run_this_s=med["this checkout"], run_baseline_s=med[a.baseline])
    return res


if __name__ == "__main__":
    main()
