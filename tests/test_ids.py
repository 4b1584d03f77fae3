"""Repeated ids, the user's own id, measured conservation and rewrite counts, through the CLI
(issue 13, cases 3, 4 and 6)."""
from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from curate import cli, commit, ids, output, schema
from curate.audit import command, scan


def run(*args) -> int:
    return cli.main([str(a) for a in [*args, "--progress", "off"]])


def read(out: Path, kind: str) -> pl.DataFrame:
    return pl.read_parquet(f"{out}/{kind}/*.parquet")


def digest(root: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.parquet"))}


@pytest.mark.corpora
def test_two_copies_of_a_file_are_one_corpus(tmp_path, corpora):
    """The issue's reproduction: the same JSONL file twice in one folder."""
    src = corpora / "code" / "code_sample.jsonl.gz"
    one, two = tmp_path / "one" / "src", tmp_path / "two" / "src"  # one source name: same ids
    one.mkdir(parents=True), two.mkdir(parents=True)
    shutil.copy(src, one / "a.jsonl.gz")
    shutil.copy(src, two / "a.jsonl.gz")
    shutil.copy(src, two / "b.jsonl.gz")
    assert run("run", "--input", one, "--domain", "code", "--stages", "ingest", "--output", tmp_path / "o1") == 0
    assert run("run", "--input", two, "--domain", "code", "--stages", "ingest", "--output", tmp_path / "o2") == 0
    n = read(tmp_path / "o1", "text").height
    assert n == len(gzip.open(src).read().splitlines())
    text, ledger = read(tmp_path / "o2", "text"), read(tmp_path / "o2", "ledger")
    assert text.height == n and text["id"].n_unique() == n  # never two rows with one id
    dump = lambda paths: set(paths.str.split(":").list.first())  # a code record's path: a.jsonl.gz:its/file.py
    assert dump(text["path"]) == {"a.jsonl.gz"}  # the copy first in (path, offset) order stays
    dups = ledger.filter(pl.col("rule") == ids.RULE)
    assert dups.height == n and dump(dups["path"]) == {"b.jsonl.gz"}
    assert set(dups["kept_id"]) == set(text["id"]) and not set(dups["id"]) & set(text["id"])
    assert set(dups["source_id"]) == set(text["source_id"])
    # same documents, same ids as the single copy
    assert read(tmp_path / "o1", "text").sort("id").drop("path").equals(text.sort("id").drop("path"))
    m = commit.verify_output(str(tmp_path / "o2"))
    assert m["counts"]["ingest"]["removed"] == {ids.RULE: n} and m["counts"]["ingest"]["docs_in"] == 2 * n
    run_json = json.loads((tmp_path / "o2" / "stats" / "run.json").read_text())
    assert run_json["counts"]["ingest"]["removed"][ids.RULE] == n
    s = scan.audit_output(str(tmp_path / "o2"))
    assert s["removed"]["by_stage"]["ingest"]["rules"][ids.RULE]["total"] == n
    assert all(c["ok"] for c in s["checks"])


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _page(words: list[str], seed: int, n: int = 300) -> str:
    import random

    rng = random.Random(seed)
    return " ".join(rng.choice(words) for _ in range(n)) + "."


WORDS = [a + b + c for a in "bdfgklmnprst" for b in "aeiou" for c in "nrs"]  # no digits: dedup folds them


def test_different_records_sharing_an_id_both_survive_dedup(tmp_path):
    """Two unrelated documents under one id: both stay, under distinct ids, and dedup does not
    remove one for resembling the other's near-duplicate."""
    a = _page(WORDS, 1)
    b = _page(WORDS, 2)
    a_longer = a + " " + _page(WORDS, 3, 8)  # a near-duplicate of a, preferred (longer)
    inp = tmp_path / "in"
    inp.mkdir()
    _jsonl(inp / "x.jsonl", [{"id": "7", "text": a}, {"id": "7", "text": b}, {"id": "8", "text": a_longer}])
    out = tmp_path / "out"
    assert run("run", "--input", inp, "--domain", "web", "--stages", "ingest,dedup", "--output", out) == 0
    text, ledger = read(out, "text"), read(out, "ledger")
    assert sorted(text["text"]) == sorted([b, a_longer])
    assert ledger["rule"].to_list() == ["near_duplicate"] and ledger["snippet"][0] == a[:200]
    assert sorted(text["source_id"]) == ["7", "8"]
    m = commit.verify_output(str(out))
    assert m["counts"]["ingest"]["ids_renamed"] == 1
    assert scan.audit_output(str(out))["funnel"][0]["ids_renamed"] == 1
    # the variant that keeps the id does not depend on file order
    _jsonl(inp / "x.jsonl", [{"id": "8", "text": a_longer}, {"id": "7", "text": b}, {"id": "7", "text": a}])
    out2 = tmp_path / "out2"
    assert run("run", "--input", inp, "--domain", "web", "--stages", "ingest,dedup", "--output", out2) == 0
    assert sorted(zip(read(out2, "text")["id"], read(out2, "text")["text"])) == sorted(zip(text["id"], text["text"]))


def test_repeated_ids_same_for_one_and_two_workers(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    rows = [{"id": str(i % 40), "text": _page(WORDS, i % 55, 30)} for i in range(300)]
    _jsonl(inp / "a.jsonl", rows[:150])
    _jsonl(inp / "b.jsonl", rows[150:])
    outs = {}
    for w, extra in {1: [], 2: ["--direct_num_workers=2", "--direct_running_mode=multi_threading"]}.items():
        outs[w] = tmp_path / f"o{w}"
        assert run("run", "--input", inp, "--domain", "web", "--stages", "ingest", "--output", outs[w], *extra) == 0
    assert digest(outs[1]) == digest(outs[2])
    text = read(outs[1], "text")
    assert text["id"].n_unique() == text.height == len({(r["id"], r["text"]) for r in rows})


def test_source_id_column_joins_back(tmp_path, corpora):
    """The user's own id is in text and ledger; null where the input has none."""
    out = tmp_path / "out"
    assert run("run", "--input", corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "--domain", "web",
               "--input", corpora / "web" / "dolma_wget_sample-0000.warc.gz", "--domain", "web",
               "--stages", "ingest,langid", "--output", out) == 0
    text, ledger = read(out, "text"), read(out, "ledger")
    assert text.columns[:2] == ["id", "source_id"] and ledger.columns[:2] == ["id", "source_id"]
    user = {json.loads(x)["id"] for x in gzip.open(corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt")}
    both = pl.concat([text.select("source_id", "path"), ledger.select("source_id", "path")])
    jsonl = both.filter(pl.col("path").str.ends_with(".jsonl.gz"))
    assert set(jsonl["source_id"]) == user and jsonl.height == len(user)
    assert both.filter(pl.col("path").str.ends_with(".warc.gz"))["source_id"].null_count() == both.filter(pl.col("path").str.ends_with(".warc.gz")).height
    rows = text.filter(pl.col("source_id").is_not_null()).select("id", "source", "source_id").iter_rows()
    assert all(schema.make_id(s, k) == i for i, s, k in rows)  # curate's id is a hash of (source, the user's id)


def test_conservation_is_measured_and_checked(tmp_path, demo):
    """docs_in is counted where documents enter each stage, the run checks in = out + ledger,
    and the rewrites of the filter stage are counted in run.json, the manifest and the audit.
    On the session's demo run (tests/conftest.py: every stage), audited in a copy of its own."""
    out = tmp_path / "out"
    shutil.copytree(demo[0] / "out", out)
    m = commit.verify_output(str(out))
    c = m["counts"]
    for st in m["config"]["run"]["stages"]:
        assert c[st]["docs_in"] == c[st]["docs_out"] + sum(c[st]["removed"].values()) + c[st].get("quarantined", 0)
        assert m["stats"].get(f"{st}.docs_in", m["stats"].get("ingest.docs_read")) is not None
    assert c["filter"]["rewrites"]["c4_lines_removed"] > 0 and c["filter"]["rewrites"]["c4_lines_chars_removed"] > 0
    run_json = json.loads((out / "stats" / "run.json").read_text())
    assert run_json["counts"]["filter"]["rewrites"] == c["filter"]["rewrites"]
    assert command.main([str(out)]) == 0
    assert "c4_lines_chars_removed" in (out / "report.html").read_text()


def test_conservation_failure_names_stage_and_numbers():
    counts = {"ingest": {"docs_in": 10, "docs_out": 9, "removed": {}, "quarantined": 1},
              "langid": {"docs_in": 9, "docs_out": 7, "removed": {"language_not_target": 1}}}
    with pytest.raises(output.ConservationError, match=r"langid: 9 in != 7 out \+ 1 in the ledger"):
        output.check_conservation(counts, ["ingest", "langid"])
    counts["langid"]["docs_out"] = 8
    output.check_conservation(counts, ["ingest", "langid"])
