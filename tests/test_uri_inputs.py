"""Inputs given as URIs (gs://, s3://, file://...) are listed and read through pyarrow.fs,
with the same result as local paths: what lets Dataflow workers read a bucket directly."""
from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from curate import cli
from curate.readers import list_files

pytestmark = pytest.mark.usefixtures("one_process_runs")  # ~30 in-process runs of a few documents each

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


def test_file_uris_with_spaces_and_percent_signs(tmp_path):
    """`--input "file:///data/my data/a.jsonl"` failed ("Cannot parse URI ... at character ' '"),
    and so did a folder URI holding a file with a space in its name, even percent-encoded: the
    files listed were named by unencoded URIs. Both spellings name the same file now, and so
    do outputs."""
    folder = tmp_path / "my data"
    (folder / "sub dir").mkdir(parents=True)
    for name in ("a.jsonl", "sub dir/100% b.jsonl"):
        (folder / name).write_text(json.dumps({"text": f"A page called {name}, about rivers and towns."}) + "\n")
    base = f"file://{tmp_path}"
    local = pq.read_table(_ingest(str(folder), tmp_path / "local"))
    assert sorted(local.column("path").to_pylist()) == ["a.jsonl", "sub dir/100% b.jsonl"]
    for i, given in enumerate([f"{base}/my data/", f"{base}/my%20data/", f"{base}/my data/**/*.jsonl", f"{base}/my%20data/*/*"]):
        got = pq.read_table(_ingest(given, f"{base}/out {i}"))
        want = local if not given.endswith("/*/*") else local.filter(pc.field("path") != "a.jsonl")
        assert got.sort_by("id").select(["id", "path", "text"]) == want.sort_by("id").select(["id", "path", "text"]), given
    single = pq.read_table(_ingest(f"{base}/my%20data/sub%20dir/100%25%20b.jsonl", tmp_path / "one"))
    assert single.column("path").to_pylist() == ["100% b.jsonl"] and single.column("source").to_pylist() == ["sub dir"]


def test_a_folder_uri_without_its_slash_is_the_folder(tmp_path):
    """`--input file:///data/crawl` took its source name from `data` (the URI's parent), so the
    same folder gave other ids than `--input /data/crawl`, whose source is `crawl`. A file://
    URI is on this machine: it is looked at as the path is."""
    folder = tmp_path / "crawl"
    folder.mkdir()
    (folder / "a.jsonl").write_text(json.dumps({"text": "A page about rivers, towns and the bridges between them."}) + "\n")
    local = pq.read_table(_ingest(str(folder), tmp_path / "local"))
    assert local.column("source").to_pylist() == ["crawl"]
    for i, given in enumerate([f"file://{folder}", f"file://{folder}/"]):
        got = pq.read_table(_ingest(given, tmp_path / f"uri{i}"))
        assert got.select(["id", "source", "path", "text"]) == local.select(["id", "source", "path", "text"]), given


def _ingest(given: str, out) -> str:
    """Ingest ``given`` into ``out`` (a path or a file:// URI); the text folder's local path."""
    assert cli.main(["run", "--input", given, "--domain", "web", "--stages", "ingest", "--output", str(out), "--progress", "off"]) == 0
    return str(out).removeprefix("file://") + "/text"


@pytest.mark.parametrize("given, source", [
    ("gs://bucket/crawl", "crawl"), ("gs://bucket/crawl/", "crawl"),
    ("s3://bucket/dumps/v1.2", "v1.2"), ("s3://bucket/dumps/v1.2/", "v1.2"),
    ("gs://bucket", "bucket"), ("gs://bucket/", "bucket"),  # was "gs:" without the slash
    ("gs://bucket/my%20data", "my data"),
    ("gs://bucket/crawl/a.warc.gz", "crawl"), ("s3://bucket/dumps/part-0.jsonl.zst", "dumps"),  # a file: its folder
    ("gs://bucket/crawl/*.warc.gz", "crawl"),
])
def test_a_remote_folder_with_or_without_its_slash_is_one_source(given, source):
    """`--input gs://bucket/crawl` took its source name from the bucket, `gs://bucket/crawl/`
    from crawl: one folder, two sets of ids. Decided from the URI alone: the config is read
    without a call to the bucket."""
    from curate import config

    cfg = config.load(overrides={"inputs": [{"glob": given, "domain": "web"}]})
    assert cfg.inputs[0]["source"] == source


def test_a_remote_folder_without_its_slash_gives_the_same_ids(tmp_path, monkeypatch):
    """End to end, with gs://bucket/ served from a local folder (no network)."""
    import pyarrow.fs as pafs

    from curate.readers import common

    real = common.fs_path

    def fake(uri):
        if uri.startswith("gs://bucket"):  # options (?retry_limit_seconds=) are the filesystem's, not the path's
            return pafs.LocalFileSystem(), str(tmp_path / "bucket") + uri[len("gs://bucket"):].split("?")[0]
        return real(uri)

    monkeypatch.setattr(common, "fs_path", fake)
    folder = tmp_path / "bucket" / "crawl"
    folder.mkdir(parents=True)
    (folder / "a.jsonl").write_text(json.dumps({"text": "A page about rivers, towns and the bridges between them."}) + "\n")
    local = pq.read_table(_ingest(str(folder), tmp_path / "local")).select(["id", "source", "path", "text"])
    assert local.column("source").to_pylist() == ["crawl"]
    for i, given in enumerate(["gs://bucket/crawl", "gs://bucket/crawl/"]):
        assert pq.read_table(_ingest(given, tmp_path / f"uri{i}")).select(["id", "source", "path", "text"]) == local, given


def test_a_bucket_that_cannot_be_listed_is_one_line(tmp_path, monkeypatch, capsys):
    """`--input s3://bucket/crawl` with no network (or a wrong bucket, no credentials) ended in
    pyarrow's traceback from FileSystem.from_uri; `gs://...` sat silent for 15 minutes, Ctrl-C
    ignored, in the GCS client's default retries. Listing a gs:// input now gives up after
    LIST_RETRY_SECONDS, and either is one line naming the input."""
    from curate import readers
    from curate.readers import common

    asked = []

    def unreachable(uri):  # as pyarrow says it offline
        asked.append(uri)
        raise OSError("When resolving region for bucket 'b': AWS Error NETWORK_CONNECTION during HeadBucket operation")

    monkeypatch.setattr(common, "fs_path", unreachable)
    for given in ("s3://b/crawl", "gs://b/crawl/*.warc.gz"):
        assert cli.main(["run", "--input", given, "--domain", "web", "--output", str(tmp_path / "o"), "--progress", "off"]) == 2
        err = capsys.readouterr().err
        assert f"curate: config error: inputs[0]: {given!r} cannot be listed: When resolving region" in err, err
        assert "Traceback" not in err and not (tmp_path / "o").exists()
    assert asked == ["s3://b/crawl", f"gs://b/crawl?retry_limit_seconds={readers.LIST_RETRY_SECONDS}"]


def test_an_output_bucket_that_cannot_be_reached_is_one_line(tmp_path, monkeypatch, capsys):
    """`--output s3://bucket/corpus` offline was pyarrow's traceback; gs:// hung for 15 minutes."""
    from curate import readers
    from curate.readers import common

    pages = tmp_path / "p.jsonl"
    pages.write_text(json.dumps({"text": "A page about rivers, towns and the bridges between them."}) + "\n")
    asked = []
    real = common.fs_path

    def unreachable(uri):
        if "://" in uri and not uri.startswith("file://"):
            asked.append(uri)
            raise OSError("When resolving region for bucket 'b': AWS Error NETWORK_CONNECTION during HeadBucket operation")
        return real(uri)

    monkeypatch.setattr(common, "fs_path", unreachable)
    for given in ("s3://b/out", "gs://b/out"):
        assert cli.main(["run", "--input", str(pages), "--domain", "web", "--stages", "ingest", "--output", given, "--progress", "off"]) == 2
        err = capsys.readouterr().err
        assert err == f"curate: output {given!r} cannot be created or written (When resolving region for bucket 'b': " \
                      "AWS Error NETWORK_CONNECTION during HeadBucket operation); choose another --output\n", err
    # the look at launch is time-limited, and made once: a gs:// output out of reach waited its
    # 30 s twice (for the previous output's manifest, then for the output itself)
    assert asked == ["s3://b/out", f"gs://b/out?retry_limit_seconds={readers.LIST_RETRY_SECONDS}"]


def test_a_hash_sign_in_a_uri_is_part_of_the_name(tmp_path):
    """A '#' in a URI was taken as a fragment and the path cut there: `--input file:///code/c#/`
    read the folder `code/c` (or said it matches nothing), and a loader or audit given such an
    output said "no such directory". A '#' is part of the name, as a space is (either spelling)."""
    folder = tmp_path / "c#"
    folder.mkdir()
    (folder / "notes #1.jsonl").write_text(json.dumps({"text": "A page about rivers, towns and the bridges between them."}) + "\n")
    local = pq.read_table(_ingest(str(folder), tmp_path / "local"))
    assert local.column("source").to_pylist() == ["c#"] and local.column("path").to_pylist() == ["notes #1.jsonl"]
    for i, given in enumerate([f"file://{folder}/", f"file://{tmp_path}/c%23", f"file://{folder}/*.jsonl",
                               f"file://{folder}/notes #1.jsonl"]):
        got = pq.read_table(_ingest(given, f"file://{tmp_path}/out#{i}"))
        assert got.select(["id", "source", "path", "text"]) == local.select(["id", "source", "path", "text"]), given


def test_a_file_beside_its_copy_in_a_file_uri_folder_is_read_once(tmp_path):
    """`--input d/` holding x.jsonl.gz and the x.jsonl `gunzip -k` leaves read it once (review99's
    readers.copies), but `--input file:///.../d/`, the same local folder, read every record twice:
    a URI's files were not compared (a bucket's would be downloaded to be). A file:// URI's are
    on this disk: read once, the compressed one, as the path's are."""
    import gzip

    d = tmp_path / "my d"
    d.mkdir()
    lines = "".join(json.dumps({"text": f"record {i} of the harbour master's log"}) + "\n" for i in range(20))
    (d / "x.jsonl").write_text(lines)
    (d / "x.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    local = pq.read_table(_ingest(str(d), tmp_path / "local"))
    got = pq.read_table(_ingest(f"file://{d}/", tmp_path / "uri"))
    assert got.num_rows == local.num_rows == 20 and set(got.column("path").to_pylist()) == {"x.jsonl.gz"}, got.column("path")
    assert got.sort_by("id").select(["id", "path", "text"]) == local.sort_by("id").select(["id", "path", "text"])
    rows = pq.read_table(tmp_path / "uri" / "quarantine").select(["path", "reason"]).to_pylist()
    assert rows == [{"path": "x.jsonl", "reason": "same_file"}], rows


def test_an_output_inside_a_file_uri_input_folder_is_not_read_back(tmp_path, capsys):
    """`--input d/ --output d/out` never reads d/out's files back as inputs, but `--input
    file:///.../d/` did, its output written there by an earlier run: 'out/ledger/...parquet has
    no text column ... give --text-field' (advice that would have read a run's ledger as data)."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.jsonl").write_text("".join(json.dumps({"text": f"page {i} about rivers and the towns beside them"}) + "\n"
                                       for i in range(5)))
    first = pq.read_table(_ingest(str(d), d / "out"))
    for given, out in ((f"file://{d}/", str(d / "out")), (f"file://{d}/", f"file://{d}/out"), (str(d), f"file://{d}/out")):
        again = pq.read_table(_ingest(given, out))
        assert again.sort_by("id").select(["id", "text"]) == first.sort_by("id").select(["id", "text"]), (given, out)
