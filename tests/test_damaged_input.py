"""Damaged compressed input: no document whose bytes fail their gzip/zstd check reaches
text/, the damaged part is quarantined with its offset, and what precedes it in members
that passed is kept (issue 13, case 5)."""
from __future__ import annotations

import gzip
import json

import polars as pl
import pytest
import zstandard

from curate import cli, commit
from curate.readers import common, decompress, read_shard

pytestmark = pytest.mark.corpora


def run(inp, out, fmt=None) -> dict:
    args = ["run", "--input", str(inp), "--domain", "web", "--source", "s", *(["--format", fmt] if fmt else []), "--stages", "ingest", "--output", str(out), "--progress", "off"]
    assert cli.main(args) == 0
    return commit.verify_output(str(out))


def damage(data: bytes, at: int, n: int = 64) -> bytes:
    b = bytearray(data)
    for i in range(at, at + n):
        b[i] ^= 0xA5
    return bytes(b)


def texts(out) -> dict[str, str]:
    t = pl.read_parquet(f"{out}/text/*.parquet")
    return dict(zip(t["id"], t["text"]))


def test_xor_in_a_single_member_gzip_leaks_nothing(tmp_path, corpora):
    """The issue's reproduction: 64 bytes XORed in the middle of the Dolma docs."""
    src = corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"
    (tmp_path / "clean" / "src").mkdir(parents=True)  # one source name: the same ids
    (tmp_path / "bad" / "src").mkdir(parents=True)
    (tmp_path / "clean" / "src" / "docs.jsonl.gz").write_bytes(src.read_bytes())
    data = src.read_bytes()
    (tmp_path / "bad" / "src" / "docs.jsonl.gz").write_bytes(damage(data, len(data) // 2))
    run(tmp_path / "clean", tmp_path / "oc")
    clean = texts(tmp_path / "oc")
    m = run(tmp_path / "bad", tmp_path / "ob")
    got = texts(tmp_path / "ob")
    assert all(clean.get(i) == t for i, t in got.items())  # no document differs from the original
    q = pl.read_parquet(f"{tmp_path / 'ob'}/quarantine/*.parquet")
    assert "corrupt_compressed" in set(q["reason"])
    rest = q.filter((pl.col("reason") == "corrupt_compressed") & ~pl.col("detail").str.starts_with("record decoded"))
    first = rest.sort("offset").row(0, named=True)
    assert first["offset"] == 0 and "incorrect data check" in first["detail"]  # the whole file is one member
    c = m["counts"]["ingest"]
    assert c["docs_in"] == c["docs_out"] + sum(c["removed"].values()) + c["quarantined"]


def _members(path) -> list[int]:
    """Compressed start offsets of the gzip members of a per-record gzipped WARC."""
    data = path.read_bytes()
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        d = __import__("zlib").decompressobj(31)
        d.decompress(data[pos:])
        pos = len(data) - len(d.unused_data)
    return starts


def test_damaged_member_of_a_common_crawl_warc(tmp_path, corpora):
    """Common Crawl gzips each record as a member: records in members before the damaged one
    are kept unchanged, nothing from the damaged member on reaches text/."""
    src = corpora / "web" / "cc_main_2020_34_resiliparse_sample.warc.gz"
    starts = _members(src)
    assert len(starts) > 20
    k = len(starts) // 2
    data = src.read_bytes()
    (tmp_path / "clean" / "src").mkdir(parents=True)
    (tmp_path / "bad" / "src").mkdir(parents=True)
    (tmp_path / "clean" / "src" / "a.warc.gz").write_bytes(data)
    (tmp_path / "bad" / "src" / "a.warc.gz").write_bytes(damage(data, (starts[k] + starts[k + 1]) // 2, 16))
    run(tmp_path / "clean", tmp_path / "oc")
    run(tmp_path / "bad", tmp_path / "ob")
    clean, got = texts(tmp_path / "oc"), texts(tmp_path / "ob")
    assert got and all(clean[i] == t for i, t in got.items())
    t = pl.read_parquet(f"{tmp_path / 'ob'}/text/*.parquet")
    q = pl.read_parquet(f"{tmp_path / 'ob'}/quarantine/*.parquet")
    bad = q.filter(pl.col("reason") == "corrupt_compressed")
    assert bad.height >= 1
    assert t["offset"].max() < bad["offset"].min()  # kept: only records before the damage
    # everything before the damaged member is kept
    tc = pl.read_parquet(f"{tmp_path / 'oc'}/text/*.parquet")
    assert set(tc.filter(pl.col("offset") < bad["offset"].min())["id"]) == set(t["id"])


def test_zstd_frame_with_checksum(tmp_path, corpora):
    rows = [json.loads(x) for x in gzip.open(corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
    raw = "".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows).encode()
    z = zstandard.ZstdCompressor(write_checksum=True).compress(raw)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "d.jsonl.zst").write_bytes(damage(z, len(z) // 2))
    run(tmp_path / "bad", tmp_path / "ob")
    assert texts(tmp_path / "ob") == {}
    q = pl.read_parquet(f"{tmp_path / 'ob'}/quarantine/*.parquet")
    assert "corrupt_compressed" in set(q["reason"])


def test_large_member_checked_in_one_pass(tmp_path, corpora, monkeypatch):
    """Past HOLD_BYTES of held text, the file is checked by one extra pass instead of being
    held whole: a clean file gives the same documents, a damaged one none past the damage."""
    src = corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"
    from curate.readers import plan_shards

    def docs(path):
        shards = plan_shards([(str(path), path.name)], "jsonl", "web", "s", {}, common.Limits())
        out = {"docs": [], "quarantine": []}
        for s in shards:
            for kind, b in read_shard(s, common.Limits()):
                if kind in out:
                    out[kind] += b.to_pylist()
        return out

    full = docs(src)
    calls = []
    real = decompress.verify_file
    monkeypatch.setattr(decompress, "verify_file", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(common, "HOLD_BYTES", 100_000)
    assert docs(src) == full and calls
    (tmp_path / "d.jsonl.gz").write_bytes(damage(src.read_bytes(), src.stat().st_size // 2))
    got = docs(tmp_path / "d.jsonl.gz")
    assert not got["docs"] and got["quarantine"]


def test_a_members_held_records_come_out_in_batches(tmp_path):
    """A one-member .gz's records are held until its check at the file's end; they come out as
    batches of batch_size, not as one batch of the whole file, which each step after held at
    once (the launching process's split by id partition: its peak, docs/scale.md). Every
    record comes out once, in order: documents, and skipped ones (empty text) as ledger rows."""
    from curate.readers.common import Limits, Shard

    path = tmp_path / "one.jsonl.gz"
    with gzip.open(path, "wt") as f:  # one member
        for i in range(2500):
            f.write(json.dumps({"id": f"d{i}", "text": " " if i % 2 else f"document {i}"}) + "\n")
    out: dict = {"docs": [], "ledger": []}
    for kind, batch in read_shard(Shard(str(path), path.name, "jsonl", "web", "t"), Limits(batch_size=500)):
        assert batch.num_rows <= 500, (kind, batch.num_rows)
        out[kind].append(batch.column("source_id").to_pylist())
    assert [len(b) for b in out["docs"]] == [500, 500, 250] and [len(b) for b in out["ledger"]] == [500, 500, 250]
    assert sum(out["docs"], []) == [f"d{i}" for i in range(0, 2500, 2)]
    assert sum(out["ledger"], []) == [f"d{i}" for i in range(1, 2500, 2)]
