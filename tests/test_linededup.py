"""Line dedup through the CLI: synthetic boilerplate, the shared Common Crawl documents against
an independent plain-Python count, and books and code left alone by default."""
from __future__ import annotations

import gzip
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from curate import cli, config
from curate.readers.extract import plain_unicode
from curate.schema import make_id


def ref_norm(line: str) -> str:
    """Dedup's normalisation, written independently: NFKC, lowercase, drop punctuation,
    symbols and format characters, digit runs -> 0, whitespace collapsed."""
    s = unicodedata.normalize("NFKC", line).lower()
    s = "".join("" if unicodedata.category(c)[0] in "PS" or unicodedata.category(c) in ("Cf", "Cn") else c for c in s)
    s = re.sub(r"\d+", "0", s)
    return " ".join(s.split())


def reference(texts: dict[str, str], max_docs: int) -> dict[str, str]:
    """Each text without the lines whose normalised form is in more than max_docs texts."""
    def counted(n):  # lines without letters are not counted
        return n.strip("0 ") != ""

    count = Counter(n for t in texts.values() for n in {ref_norm(x) for x in t.split("\n")} if counted(n))
    return {i: "\n".join(x for x in t.split("\n") if not (counted(ref_norm(x)) and count[ref_norm(x)] > max_docs))
            for i, t in texts.items()}


def run(tmp: Path, rows_by_domain: dict, toml: str = "", stages: str = "ingest,linededup", extra=()) -> Path:
    inputs = ""
    for domain, rows in rows_by_domain.items():
        p = tmp / f"{domain}.jsonl"
        p.write_text("".join(json.dumps(r) + "\n" for r in rows))
        inputs += f'[[inputs]]\nglob = "{p}"\ndomain = "{domain}"\nsource = "{domain}"\n'
    cfg = tmp / "run.toml"
    cfg.write_text(f'[run]\noutput = "{tmp / "out"}"\nstages = {json.dumps(stages.split(","))}\n{inputs}{toml}')
    # --workers 1: the steps in this process (a pool forked from pytest's costs ~2.5 CPU-s a run;
    # run.workers changes no output byte: test_determinism)
    assert cli.main(["run", str(cfg), "--progress", "off", "--workers", "1", *extra]) == 0
    return tmp / "out"


FOOTER = ["Copyright {y} Example Media Ltd. All rights reserved.", "Home | About | Contact", "Share this: Twitter Facebook"]


def test_repeated_lines_removed_and_counted(tmp_path):
    def body(i):  # distinct after normalisation (digits fold, so letters tell the pages apart)
        return f"This paragraph about topic {'abcdefgh'[i] * 3} is written once and stays a page: " + "more " * 55

    rows = [{"id": f"d{i}", "text": "\n".join([FOOTER[1], body(i), FOOTER[0].format(y=2000 + i), FOOTER[2]])} for i in range(8)]
    rows.append({"id": "short", "text": "\n".join([FOOTER[1], "Only a few words here.", FOOTER[2]])})
    rows.append({"id": "rare", "text": "Home | About | Contact us today\nA line seen once."})  # not the same line
    out = run(tmp_path, {"web": rows}, "[linededup]\nmax_docs = 5\nmin_words = 50\nmin_chars = 0\n")
    text = pl.read_parquet(out / "text/*.parquet")
    got = dict(zip(text["id"], text["text"]))
    for i in range(8):  # the copyright line differs only in its year: the same normalised line
        r = text.filter(pl.col("id") == make_id("web", f"d{i}")).row(0, named=True)
        assert r["text"] == body(i)
        assert r["linededup_lines"] == 3
        assert r["linededup_chars"] == sum(len(x) + 1 for x in (FOOTER[0].format(y=2000 + i), FOOTER[1], FOOTER[2]))
    assert got[make_id("web", "rare")].startswith("Home | About | Contact us today")
    ledger = pl.read_parquet(out / "ledger/*.parquet")
    assert ledger.select("id", "stage", "rule", "value", "threshold").rows() == [
        (make_id("web", "short"), "linededup", "linededup_min_words", 5.0, 50.0)]
    stats = json.loads((out / "manifest.json").read_text())["stats"]
    assert stats["linededup.lines_removed"] == 8 * 3 + 2
    assert stats["linededup.docs_changed"] == 9
    assert stats["linededup.chars_removed"] == int(text["linededup_chars"].sum()) + len(FOOTER[1]) + len(FOOTER[2]) + 2



def test_ledger_chars_of_a_document_too_short_is_its_length_as_read(tmp_path):
    """The ledger's chars is the text's length as the stage that removed it read it; a document
    line dedup removed as too short had the length of what was left after its cut: a page all
    boilerplate lines lost 0 characters, so the audit's characters removed of its source
    missed it."""
    from curate import cli as curate_cli

    rows = [{"id": f"d{i}", "text": "\n".join([FOOTER[1], f"A page of its own, number {'abcdef'[i] * 3}, with words enough to stay.", FOOTER[2]])}
            for i in range(6)]
    rows.append({"id": "all", "text": "\n".join([FOOTER[1], FOOTER[2]])})
    out = run(tmp_path, {"web": rows}, "[linededup]\nmax_docs = 5\nmin_words = 50\nmin_chars = 0\n")
    ledger = pl.read_parquet(out / "ledger/*.parquet")
    assert ledger.height == 7 and set(ledger["rule"]) == {"linededup_min_words"}
    by_id = {make_id("web", r["id"]): len(r["text"]) for r in rows}
    assert dict(zip(ledger["id"], ledger["chars"])) == by_id
    assert curate_cli.main(["audit", str(out)]) == 0
    summary = json.loads((out / "stats/summary.json").read_text())
    assert summary["sources"]["web/web"]["characters_removed"] == sum(by_id.values())


def dolma_rows(corpora: Path) -> list[dict]:
    """The Dolma documents with their text as ingest gives it (NFC, no invisible characters:
    31 of them carry some), so that the reference sees what linededup sees."""
    with gzip.open(corpora / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        return [{"id": d["id"], "text": plain_unicode(d["text"])} for d in map(json.loads, f) if d["text"].strip()]


@pytest.mark.corpora
def test_shared_cc_documents_match_reference(corpora, tmp_path):
    rows = dolma_rows(corpora)
    out = run(tmp_path, {"web": rows}, "[linededup]\nmax_docs = 3\nmin_words = 0\nmin_chars = 0\n")
    text = pl.read_parquet(out / "text/*.parquet")
    want = reference({make_id("web", r["id"]): r["text"] for r in rows}, 3)
    got = dict(zip(text["id"], text["text"]))
    assert got.keys() == want.keys()
    assert [i for i in want if got[i] != want[i]] == []
    removed = sum(len(r["text"]) for r in rows) - sum(len(t) for t in got.values())
    stats = json.loads((out / "manifest.json").read_text())["stats"]
    assert stats["linededup.chars_removed"] == removed > 0
    lines = Counter(n for t in (r["text"] for r in rows) for n in {ref_norm(x) for x in t.split("\n")} if n.strip("0 "))
    assert stats["linededup.frequent_lines"] == sum(c > 3 for c in lines.values())


@pytest.mark.corpora
def test_books_and_code_untouched_by_default(corpora, tmp_path):
    books = sorted((corpora / "books").rglob("*.txt"))
    assert len(books) == 32
    with gzip.open(corpora / "code/code_sample.jsonl.gz", "rt", encoding="utf-8") as f:
        code = [{"id": d["id"], "text": d["content"]} for d in map(json.loads, f)]
    web = dolma_rows(corpora)
    cfg = tmp_path / "run.toml"
    (tmp_path / "code.jsonl").write_text("".join(json.dumps(r) + "\n" for r in code))
    (tmp_path / "web.jsonl").write_text("".join(json.dumps(r) + "\n" for r in web))
    cfg.write_text(f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "linededup"]\n'
                   f'[[inputs]]\nglob = "{corpora / "books"}/**/*.txt"\ndomain = "books"\n'
                   f'[[inputs]]\nglob = "{tmp_path / "code.jsonl"}"\ndomain = "code"\n'
                   f'[[inputs]]\nglob = "{tmp_path / "web.jsonl"}"\ndomain = "web"\n')
    assert cli.main(["run", str(cfg), "--progress", "off", "--workers", "1"]) == 0
    text = pl.read_parquet(tmp_path / "out/text/*.parquet")
    by = text.group_by("domain").agg(pl.len(), pl.col("linededup_lines").sum(), pl.col("linededup_chars").sum()).sort("domain")
    counts = {d: (n, lines, chars) for d, n, lines, chars in by.rows()}
    assert counts["books"][0] == 32 and counts["books"][1:] == (0, 0)
    assert counts["code"][0] > 900 and counts["code"][1:] == (0, 0)
    assert counts["web"][1] > 0  # the same run does remove web boilerplate
    assert not pl.read_parquet(tmp_path / "out/ledger/*.parquet").filter(pl.col("domain") != "web").filter(
        pl.col("stage") == "linededup").height


def test_config():
    assert "linededup" in config.load(overrides={"run": {"output": "o"}, "linededup": {"max_docs": 10}}).run["stages"]
    assert "linededup" not in config.load(overrides={"run": {"output": "o"}}).run["stages"]
    with pytest.raises(config.ConfigError, match="linededup: max_docs: must be >= 1"):
        config.load(overrides={"run": {"output": "o"}, "linededup": {"max_docs": 0}})


def test_audit_shows_what_was_cut(tmp_path):
    ev = tmp_path / "eval.txt"
    item = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
    ev.write_text(item + "\n")
    rows = [{"id": f"d{i}", "text": f"{FOOTER[1]}\nPage {'abcdefg'[i] * 3} says: " + "words " * 60 + (f"\n{item}" if i == 0 else "")}
            for i in range(7)]
    toml = f'[linededup]\nmax_docs = 5\n[decontaminate]\nmode = "cut"\n[[decontaminate.eval_sets]]\nglob = "{ev}"\n'
    out = run(tmp_path, {"web": rows}, toml, stages="ingest,linededup,decontaminate")
    assert cli.main(["audit", str(out)]) == 0
    summary = json.loads((out / "stats/summary.json").read_text())
    inside = summary["inside_documents"]
    assert inside["linededup.lines_removed"] == 7 and inside["linededup.frequent_lines"] == 1
    assert inside["linededup.chars_removed"] == 7 * (len(FOOTER[1]) + 1)
    assert inside["linededup.chars_removed_share"] == inside["linededup.chars_removed"] / inside["linededup.chars_in"]
    assert inside["decontaminate.cut_docs"] == 1 and inside["decontaminate.cut_chars"] == len(item)
    assert inside["decontaminate.eval_items"] == 1
    assert item not in "".join(pl.read_parquet(out / "text/*.parquet")["text"])
    html = (out / "report.html").read_text()
    assert "Inside documents" in html and "boilerplate lines removed" in html and "characters cut" in html


def test_audit_says_what_was_cut_from_the_documents_in_the_output(tmp_path):
    """The stage's counts cover every document it changed, also those it then removed as too
    short; the audit also gives what was cut from the documents in text/ (DuckDB-free here:
    polars over text/'s linededup columns), and the report says which is which."""
    rows = [{"id": f"d{i}", "text": f"{FOOTER[1]}\nPage {'abcdefg'[i] * 3} says: " + "words " * (60 if i < 4 else 30)} for i in range(7)]
    out = run(tmp_path, {"web": rows}, "[linededup]\nmax_docs = 5\n")
    assert cli.main(["audit", str(out)]) == 0
    summary = json.loads((out / "stats/summary.json").read_text())
    text = pl.read_parquet(out / "text/*.parquet")
    ledger = pl.read_parquet(out / "ledger/*.parquet").filter(pl.col("stage") == "linededup")
    assert (text.height, ledger.height) == (4, 3)  # the three short pages fell below min_words
    inside = summary["inside_documents"]
    assert (inside["linededup.docs_changed"], inside["linededup.lines_removed"]) == (7, 7)  # the stage's: all seven
    kept = text.filter(pl.col("linededup_lines") > 0)
    assert summary["linededup_in_output"] == {"docs_changed": kept.height, "lines_removed": int(text["linededup_lines"].sum()),
                                              "chars_removed": int(text["linededup_chars"].sum())} == {
        "docs_changed": 4, "lines_removed": 4, "chars_removed": 4 * (len(FOOTER[1]) + 1)}
    html = (out / "report.html").read_text()
    assert "<td>7 (4 in the output)</td>" in html and "then removed as too short" in html


def test_frequent_rows_wait_for_the_join_as_files(tmp_path, monkeypatch):
    """The (hash, id) rows of frequent lines, a row per frequent line of a document, waited for
    the join in the runner, which holds them in the launching process; spilled, the join gets
    a reference per piece, and the output is the same as unspilled."""
    from pipelines import meter

    rows = [{"id": f"d{i}", "text": "\n".join([FOOTER[1], f"Page {'abcdefghij'[i % 10] * (1 + i // 10)} " + "words " * 60,
                                               FOOTER[0].format(y=2000), FOOTER[2]])} for i in range(600)]
    (tmp_path / "web.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = {}
    for name, keys in (("spilled", ""), ("memory", "spill = false\nworkers = 1\n")):
        folder = tmp_path / f"meter-{name}"
        folder.mkdir()
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(f'[run]\noutput = "{tmp_path / name}"\nstages = ["ingest", "linededup"]\n{keys}'
                       f'[[inputs]]\nglob = "{tmp_path / "web.jsonl"}"\ndomain = "web"\n'
                       "[linededup]\nmax_docs = 5\nmin_words = 0\nmin_chars = 0\n")
        monkeypatch.setenv(meter.ENV, str(folder))
        assert cli.main(["run", str(cfg), "--progress", "off"]) == 0
        monkeypatch.delenv(meter.ENV)
        got[name] = (meter.totals(str(folder))["linededup_join_frequent"], tmp_path / name)
    frequent_rows = 600 * 3
    assert got["memory"][0]["bytes"] / frequent_rows > 30, got  # ~39 B a row
    assert got["spilled"][0]["bytes"] < 0.2 * got["memory"][0]["bytes"], got  # a reference per piece
    for f in sorted((got["spilled"][1] / "text").glob("*.parquet")):
        assert f.read_bytes() == (got["memory"][1] / "text" / f.name).read_bytes()
