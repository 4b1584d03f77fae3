"""Inputs given as URIs (gs://, s3://, file://...) are listed and read through pyarrow.fs,
with the same result as local paths: what lets Dataflow workers read a bucket directly."""
from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate import cli
from curate.readers import list_files

CONFIG = """
[run]
output = "{out}"
shards = 2
stages = ["ingest", "langid"]
progress = "off"
[limits]
split_bytes = 30000
[[inputs]]
glob = "{root}/web/**/*.warc.gz"
domain = "web"
source = "cc"
[[inputs]]
glob = "{root}/web/*.jsonl*"
domain = "web"
source = "text"
[[inputs]]
glob = "{root}/books"
domain = "books"
source = "pg"
[[inputs]]
glob = "{root}/tables/*.parquet"
domain = "web"
source = "table"
[langid]
languages = []
"""


@pytest.fixture(scope="module")
def tree(corpora, tmp_path_factory):
    """A small input tree: a WARC in a subdirectory, a gzipped JSONL, an uncompressed JSONL
    big enough to be read in byte ranges, a Parquet file of two row groups, two books."""
    root = tmp_path_factory.mktemp("uri") / "in"
    (root / "web" / "crawl").mkdir(parents=True)
    shutil.copy(corpora / "web" / "cc_main_2020_34_resiliparse_sample.warc.gz", root / "web" / "crawl")
    shutil.copy(corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", root / "web")
    shutil.copy(corpora / "web" / "ccnet_cc_en_head-0091.jsonl", root / "web")
    assert (root / "web" / "ccnet_cc_en_head-0091.jsonl").stat().st_size > 60_000  # several ranges
    (root / "books").mkdir()
    for p in sorted((corpora / "books" / "gutenberg_misc").glob("*.txt"))[:2]:
        shutil.copy(p, root / "books")
    (root / "tables").mkdir()
    table = pa.table({"id": [f"r{i}" for i in range(40)], "text": [f"A short document number {i} about rivers and towns." for i in range(40)]})
    pq.write_table(table, root / "tables" / "t.parquet", row_group_size=20)
    return root


def test_listing_a_uri_glob_equals_a_local_glob(tree):
    for pattern in ("web/**/*.warc.gz", "web/*.jsonl*", "books", "**/*.txt", "web/crawl/*.warc.gz", "web/[c]*.jsonl"):
        local = list_files(f"{tree}/{pattern}")
        uri = list_files(f"file://{tree}/{pattern}")
        assert local and [r for _, r in local] == [r for _, r in uri], pattern
        assert all(p.startswith("file://") for p, _ in uri)
    assert list_files(f"file://{tree}/nothing-*.jsonl") == []


def test_pipeline_reads_uris_like_local_paths(tree, tmp_path):
    outs = {}
    for name, root in (("local", str(tree)), ("uri", f"file://{tree}")):
        out = tmp_path / name
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(CONFIG.format(out=out, root=root))
        assert cli.main(["run", str(cfg)]) == 0
        outs[name] = out
    files = sorted(p.relative_to(outs["local"]) for p in outs["local"].rglob("*.parquet"))
    assert files
    for rel in files:
        assert (outs["local"] / rel).read_bytes() == (outs["uri"] / rel).read_bytes(), rel
    text = pq.read_table(outs["uri"] / "text").to_pydict()
    assert {"cc", "text", "pg", "table"} <= set(text["source"])
