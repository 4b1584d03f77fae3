"""Every output folder (text/, ledger/, quarantine/, candidates/, tokens/) reads as one dataset in
the tools a user has, given the folder or a glob: pyarrow (``pq.read_table``, which pandas'
``read_parquet`` calls, and ``pyarrow.dataset``), polars, DuckDB; and it holds nothing but
``*.parquet`` (Hugging Face ``datasets`` picks a folder's format by its files' extensions and
skips only names starting with "." or "__"; Spark skips "_" and "."). Also an output with no
document and one whose columns are null in a shard. Row counts are checked against each file's
own Parquet footer, read one file at a time.

Earlier outputs kept the token manifest inside tokens/ (tokens/manifest.json, which every folder
reader tried to read as Parquet); they are still read by the loader, the audit and verify."""
from __future__ import annotations

import io
import json
import os
import re
import types
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from curate import cli, commit, demo, output
from curate.loader import TokenLoader
from curate.stages import tokenize as tok

KINDS = ("text", "ledger", "quarantine", "candidates", "tokens")
READERS = {
    "pq.read_table(folder)": lambda d: pq.read_table(d).num_rows,
    "pyarrow.dataset(folder)": lambda d: pads.dataset(d, format="parquet").to_table().num_rows,
    "pl.read_parquet(folder)": lambda d: pl.read_parquet(d).height,
    "pl.scan_parquet(folder/*.parquet)": lambda d: pl.scan_parquet(f"{d}/*.parquet").collect().height,
    "duckdb folder/*.parquet": lambda d: duckdb.sql(f"select count(*) from read_parquet('{d}/*.parquet')").fetchall()[0][0],
    "duckdb folder/**/*.parquet": lambda d: duckdb.sql(f"select count(*) from read_parquet('{d}/**/*.parquet')").fetchall()[0][0],
}


def run(*args) -> None:
    assert cli.main(["run", *map(str, args), "--progress", "off"]) == 0


@pytest.fixture(scope="module")
def demo_out(demo) -> Path:
    """The demo's whole pipeline: every kind of output, tokens included (the session's `demo`
    run, shared with other tests: read it, copy it before changing anything)."""
    return demo[0] / "out"


@pytest.fixture(scope="module")
def empty_out(tmp_path_factory) -> Path:
    """A run that kept no document and quarantined nothing: 0-row shards."""
    tmp = tmp_path_factory.mktemp("empty")
    (tmp / "in.jsonl").write_text('{"text": "  "}\n{"text": ""}\n')
    run("--input", tmp / "in.jsonl", "--domain", "web", "--stages", "ingest,tokenize", "--output", tmp / "out")
    return tmp / "out"


def footer_rows(folder: Path) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.glob("*.parquet")))


def legacy(out: Path, to: Path) -> Path:
    """A copy of ``out`` as curate before 2026-12-05 wrote it: tokens/manifest.json, listed so."""
    shutil.copytree(out, to)
    (to / tok.MANIFEST).rename(to / "tokens" / "manifest.json")
    m = json.loads((to / output.MANIFEST).read_text())
    for e in m["files"]:
        e["file"] = "tokens/manifest.json" if e["file"] == tok.MANIFEST else e["file"]
    (to / output.MANIFEST).write_text(json.dumps(m))
    return to


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_output_folder_reads_as_one_dataset(demo_out, kind, reader):
    folder = demo_out / kind
    want = footer_rows(folder)
    assert want > 0, kind  # the demo writes rows of every kind
    assert READERS[reader](str(folder)) == want


@pytest.mark.parametrize("kind", KINDS)
def test_an_output_folder_holds_only_parquet(demo_out, kind):
    """What Hugging Face datasets and Spark read of a folder: each file whose name does not start
    with "." (datasets) or "_"/"." (Spark), its format by extension."""
    assert all(n.endswith(".parquet") and not n.startswith(("_", ".")) for n in os.listdir(demo_out / kind))


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("kind", ("text", "quarantine", "tokens"))  # the ledger holds the 2 empty records
def test_an_output_without_documents_reads_as_empty_tables_with_their_columns(empty_out, kind, reader):
    assert footer_rows(empty_out / kind) == 0 and len(list((empty_out / kind).glob("*.parquet"))) > 0
    assert READERS[reader](str(empty_out / kind)) == 0
    assert "id" in pl.read_parquet(empty_out / kind).columns or kind == "quarantine"


def test_a_column_null_in_one_shard_has_the_same_type_in_every_shard(tmp_path):
    """source_id and url given for one record of 40: the other shards' columns are all null, and
    still typed as the one that holds them (not Arrow's null type), so the folder reads as one."""
    rows = [{"text": f"Record {i} tells of rivers, hills and the spring weather in the valley. " * 3} for i in range(40)]
    rows[0].update(id="only-one", url="https://example.org/one")
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run("--input", tmp_path / "in.jsonl", "--domain", "web", "--stages", "ingest", "--output", tmp_path / "out")
    text = tmp_path / "out" / "text"
    schemas = [pq.read_schema(f) for f in sorted(text.glob("*.parquet"))]
    nulls = [pq.read_table(f, columns=["url"]).column("url").null_count == pq.ParquetFile(f).metadata.num_rows
             for f in sorted(text.glob("*.parquet"))]
    assert len(schemas) > 1 and sum(nulls) == len(schemas) - 1  # the case: a column null in whole shards
    assert all(s.equals(schemas[0]) for s in schemas)
    assert all(str(t) not in ("null",) and not str(t).startswith("dictionary") for t in schemas[0].types)
    for reader in READERS.values():
        assert reader(str(text)) == 40
    assert pl.read_parquet(text).filter(pl.col("url").is_not_null())["source_id"].to_list() == ["only-one"]


def test_parquet_metadata_fits_streaming_and_skipping(demo_out):
    """Row groups of at most output.ROW_GROUP_ROWS rows (tokens: tok.ROW_GROUP_ROWS), and id's
    min/max in every row group, so a reader filtering on id skips the groups without it."""
    for kind in ("text", "ledger", "candidates", "tokens"):
        cap = tok.ROW_GROUP_ROWS if kind == "tokens" else output.ROW_GROUP_ROWS
        for f in sorted((demo_out / kind).glob("*.parquet")):
            md = pq.ParquetFile(f).metadata
            i = md.schema.to_arrow_schema().get_field_index("id")
            for g in range(md.num_row_groups):
                assert md.row_group(g).num_rows <= cap
                s = md.row_group(g).column(i).statistics
                assert s is not None and s.has_min_max, (f, g)


def test_an_output_written_before_the_manifest_moved_is_still_read(demo_out, tmp_path):
    """tokens/manifest.json (earlier outputs): the loader, the audit, verify_output, curate mix
    and curate audit --compare read it; a rerun into such an output removes it."""
    from curate.audit import command

    old = legacy(demo_out, tmp_path / "old")
    assert not (old / tok.MANIFEST).exists()
    new_batches = list(TokenLoader(str(demo_out), 2, 32))
    for path in (old, old / "tokens"):
        lo = TokenLoader(str(path), 2, 32)
        assert lo.manifest == json.loads((demo_out / tok.MANIFEST).read_text())
        got = list(lo)
        assert len(got) == len(new_batches) and all((a == b).all() for a, b in zip(got, new_batches))
    commit.verify_output(str(old), deep=True)
    assert command.main([str(old)]) == 0  # every file checked against the manifests: none extra
    summary = json.loads((old / "stats" / "summary.json").read_text())
    assert all(c["ok"] for c in summary["checks"]), summary["checks"]
    assert any(c["check"].startswith("tokens in tokens/") for c in summary["checks"])  # the tokens manifest was read
    assert summary["tokens_written"] == json.loads((demo_out / tok.MANIFEST).read_text())["tokens"]["total"]
    assert cli.main(["mix", str(old)]) == 0
    assert command.main(["--compare", str(old), str(demo_out), "--output", str(tmp_path / "cmp")]) == 0

    m = (old / "tokens" / "manifest.json")
    m.write_text(m.read_text().replace('"shards"', '"shards" ', 1))  # edited: its sha256 is in manifest.json
    with pytest.raises(commit.OutputError, match="tokens/manifest.json does not match its sha256"):
        commit.verify_output(str(old), deep=True)

    again = legacy(demo_out, tmp_path / "again")  # a rerun into it: the old name goes, the folder reads
    run(demo.write_demo(str(tmp_path / "d")), "--output", again)
    assert not (again / "tokens" / "manifest.json").exists() and (again / tok.MANIFEST).is_file()
    assert pq.read_table(again / "tokens").num_rows == footer_rows(demo_out / "tokens")


def test_a_tokens_folder_copied_alone_says_to_copy_its_manifest_beside_it(demo_out, tmp_path):
    """cp -r DIR/tokens elsewhere (as before the manifest moved beside it): the loader said the
    run "did not complete?"; it names the file to copy, and reads the copy once it is there,
    under a folder of another name too (its manifest then named after it)."""
    want = [b.tolist() for b in TokenLoader(str(demo_out), 2, 32)]
    for name in ("tokens", "mytok"):
        shutil.copytree(demo_out / "tokens", tmp_path / name)
        hint = "copy the run's tokens.json beside it" + ("" if name == "tokens" else f" as {name}.json")
        with pytest.raises(ValueError, match=re.escape(f"{tmp_path / name}: no {name}.json beside it: ") + ".*" + re.escape(hint) + "$"):
            TokenLoader(str(tmp_path / name), 2, 32)
        shutil.copy(demo_out / tok.MANIFEST, tmp_path / f"{name}.json")
        assert [b.tolist() for b in TokenLoader(str(tmp_path / name), 2, 32)] == want


def test_the_readme_folder_examples_read_the_demo_output(demo_out):
    """The README's "Output layout" names folder reads: each runs as written on the demo's output
    (pandas' read_parquet is pyarrow's read_table; pandas is not a dependency)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    bullet = readme.split("## Output layout", 1)[1].split("\n* Row groups", 1)[0]
    examples = re.findall(r"`((?:pq|pl|pd|pyarrow\.dataset)\.\w+\(\"corpus/(\w+)\"[^`]*\))`", bullet)
    assert len(examples) >= 4, examples
    import pyarrow
    import pyarrow.dataset  # noqa: F401

    pd = types.SimpleNamespace(read_parquet=pq.read_table)
    for code, kind in examples:
        got = eval(code.replace('"corpus/', f'"{demo_out}/'), {"pq": pq, "pl": pl, "pd": pd, "pyarrow": pyarrow})
        rows = got.count_rows() if hasattr(got, "count_rows") else len(got)  # a pyarrow Dataset: not read yet
        assert rows == footer_rows(demo_out / kind) > 0, code


def test_row_groups_of_long_documents_are_bounded_in_bytes(monkeypatch):
    """4,096 rows per group held 4,096 books whole (GBs, which a streaming reader holds at once):
    a group also ends at ROW_GROUP_BYTES of strings, a longer document alone in its own. A
    table under the bound is written as before, in one write_table call."""
    import pyarrow as pa

    monkeypatch.setattr(output, "ROW_GROUP_BYTES", 1 << 20, raising=False)
    sizes = [300_000] * 7 + [2_500_000] + [50_000] * 30 + [900_000] * 3  # bytes of each text
    texts = [(f"doc {i} " + "word " * n)[:n] for i, n in enumerate(sizes)]
    table = pa.table({"id": [f"{i:04d}" for i in range(len(texts))], "text": texts, "url": [None] * len(texts)})
    pf = pq.ParquetFile(pa.BufferReader(output.parquet_bytes(table)))
    assert pf.read().equals(table)
    groups = [pf.read_row_group(g).column("text").to_pylist() for g in range(pf.metadata.num_row_groups)]
    held = [sum(len(t.encode()) + len(i) for t, i in zip(g, pf.read_row_group(n).column("id").to_pylist()))
            for n, g in enumerate(groups)]
    assert all(h <= 1 << 20 or len(g) == 1 for h, g in zip(held, groups)), held
    assert [len(g) for g in groups if sum(map(len, g)) > 1 << 20] == [1]  # the 2.5 MB one, alone
    assert [len(g) for g in groups] == [3, 3, 1, 1, 20, 10, 1, 1, 1]  # counted by hand from sizes
    small = table.slice(8, 15)  # 750 KB
    want = io.BytesIO()
    pq.write_table(small, want, compression="zstd", row_group_size=output.ROW_GROUP_ROWS, write_statistics=True)
    assert output.parquet_bytes(small) == want.getvalue()
