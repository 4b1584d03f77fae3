"""Determinism matrix for the whole pipeline: the same records give the same outputs with 1 or 2
workers, with the input files listed in another order, and re-split into another number of files.

Records carry their own `id`, so ids do not depend on the file layout. Outputs are
byte-identical across worker counts and file order. Across a re-split, the provenance columns
(`path`, `offset`: which file and where) legitimately change; everything else is compared
after dropping them, and the token shards (id, domain, input_ids) stay byte-identical.
"""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import polars as pl
import pytest

from curate import cli

pytestmark = [pytest.mark.corpora, pytest.mark.slow]


def records(corpora: Path, web: int = 150, copies: int = 20, code_every: int = 9) -> list[dict]:
    """The first ``web`` pages, near copies of the first ``copies`` of them and every
    ``code_every``-th code file: enough that every stage removes some (langid, filter, quality,
    dedup) and each of 3 shards holds many rows, which an order dependence needs to show (all
    526 pages and every 3rd file cost 4x the CPU and showed nothing more)."""
    out = []
    with gzip.open(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out.append({"id": d["id"], "domain": "web", "text": d["text"], "url": d["metadata"].get("url")})
    out = out[:web]
    dup_rng = random.Random(3)
    for d in list(out[:copies]):  # planted near-duplicates for dedup
        words = d["text"].split(" ")
        for i in dup_rng.sample(range(len(words)), max(1, len(words) // 50)):
            words[i] = "edited"
        out.append({**d, "id": d["id"] + "-copy", "text": " ".join(words)})
    with gzip.open(corpora / "code/code_sample.jsonl.gz", "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i % code_every == 0:
                d = json.loads(line)
                out.append({"id": d["id"], "domain": "code", "text": d["content"], "lang": d["lang"]})
    return out


def write_split(d: Path, recs: list[dict], files: int, seed: int) -> None:
    d.mkdir(parents=True)
    recs = recs[:]
    random.Random(seed).shuffle(recs)
    for domain in ("web", "code"):
        mine = [r for r in recs if r["domain"] == domain]
        for k in range(files):
            with open(d / f"{domain}-{k:03d}.jsonl", "w", encoding="utf-8") as f:
                for r in mine[k::files]:
                    f.write(json.dumps(r) + "\n")


CONFIG = """
[run]
output = "{out}"
shards = 3
[[inputs]]
glob = "{inp}/web-*.jsonl"
domain = "web"
source = "web"
[[inputs]]
glob = "{inp}/code-*.jsonl"
domain = "code"
source = "code"
[langid]
languages = ["en", "es", "it", "fr", "de", "pt"]
[quality.web]
keep = {{top_fraction = 0.8}}
[rebalance]
targets = {{web = 0.7, code = 0.3}}
max_epochs = {{web = 1, code = 3}}
"""


def run(tmp: Path, name: str, inp: Path, *extra, compression: str = "none", run_keys: str = "") -> Path:
    out = tmp / name
    cfg = tmp / f"{name}.toml"
    text = CONFIG.format(out=out, inp=inp).replace("[run]\n", f'[run]\nshuffle_compression = "{compression}"\n{run_keys}', 1)
    assert compression in text
    cfg.write_text(text)
    assert cli.main(["run", str(cfg), "--progress", "off", *extra]) == 0
    return out


def files_of(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def matrix(corpora, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("det")
    recs = records(corpora)
    write_split(tmp / "in3", recs, files=3, seed=1)
    write_split(tmp / "in5", recs, files=5, seed=2)
    return tmp, {
        "base": run(tmp, "base", tmp / "in3"),
        # two worker processes, and shuffled batches zstd-compressed across them
        "workers2": run(tmp, "workers2", tmp / "in3", "--direct_num_workers=2", "--direct_running_mode=multi_processing",
                        compression="zstd"),
        "resplit": run(tmp, "resplit", tmp / "in5"),
        # documents through the shuffles themselves, in one process (the data path before spilling)
        "unspilled": run(tmp, "unspilled", tmp / "in3", run_keys="spill = false\nworkers = 1\n"),
        # three pooled worker processes (pipelines/pool.py) on spilled, lz4-compressed pieces
        "pooled3": run(tmp, "pooled3", tmp / "in3", compression="lz4", run_keys="workers = 3\n"),
    }


def test_two_workers_and_compressed_shuffles_byte_identical(matrix):
    _, runs = matrix
    a, b = files_of(runs["base"]), files_of(runs["workers2"])
    assert a.keys() == b.keys() and any(k.startswith("tokens/") for k in a)
    for k in a:
        assert a[k] == b[k], k
    assert (runs["base"] / "stats/run.json").read_bytes() == (runs["workers2"] / "stats/run.json").read_bytes()


@pytest.mark.parametrize("name", ["unspilled", "pooled3"])
def test_spilled_and_pooled_data_paths_byte_identical(matrix, name):
    """Spilling documents to files around each shuffle, and running the heavy steps in worker
    processes, changes no output byte: the same text, ledger, quarantine and token shards."""
    _, runs = matrix
    a, b = files_of(runs["base"]), files_of(runs[name])
    assert a.keys() == b.keys() and any(k.startswith("tokens/") for k in a)
    for k in a:
        assert a[k] == b[k], k
    assert (runs["base"] / "stats/run.json").read_bytes() == (runs[name] / "stats/run.json").read_bytes()
    staged = [json.loads((runs[n] / "manifest.json").read_text())["staged"]["bytes"] for n in ("base", name)]
    assert staged[0] > 0 and (staged[1] > 0) == (name == "pooled3")
    assert not (runs[name] / ".curate-staging").exists()


def test_resplit_and_reordered_input_same_corpus(matrix):
    _, runs = matrix
    a, b = files_of(runs["base"]), files_of(runs["resplit"])
    tokens = [k for k in a if k.startswith("tokens/")]
    assert tokens and all(a[k] == b[k] for k in tokens)
    for kind in ("text", "ledger"):
        ta = pl.read_parquet(f"{runs['base']}/{kind}/*.parquet").drop("path", "offset").sort("id", "stage" if kind == "ledger" else "id")
        tb = pl.read_parquet(f"{runs['resplit']}/{kind}/*.parquet").drop("path", "offset").sort("id", "stage" if kind == "ledger" else "id")
        assert ta.equals(tb), kind
    removed = pl.read_parquet(f"{runs['base']}/ledger/*.parquet")
    assert {"langid", "filter", "quality", "dedup"} <= set(removed["stage"])
