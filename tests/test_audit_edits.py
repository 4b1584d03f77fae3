"""Kept documents a stage changed: text/'s ``edits`` column, ``curate audit``'s summary and
``--why``. Ground truth is independent of the stages: the fixture's own texts, and what a plain
character diff (difflib) of each input and its output removed."""
from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.test_audit_verify import curate

ITEM = ("the copper lantern swung above a quiet harbor where seven fishing boats waited for dawn while old "
        "sailors argued about tides")
# a short item (13-25 words) copied with two words changed: no 13-word window holds fewer than two
# of them, so it is found as a near copy
SHORT = "a small grey heron stood very still in the reeds and watched the silver fish swim"
SHORT_EDITED = SHORT.replace("heron", "zqxxa").replace(" the silver", " zqyyb silver")
CHAPTER = "The miller's daughter walked to the river every evening and counted the geese on the far bank.\n\n"
SENTENCES = ["The {} harvest came early that year and the barns were full by the end of August.",
             "Our {} village held a fair where the children raced their ponies along the river road.",
             "Every {} family brought bread, cheese and apples to share with their neighbours.",
             "The old {} bridge was mended with stones carried down from the quarry on the hill.",
             "In the {} evenings the church bell rang twice and the lamps were lit along the lane."]
BOILER = "Sign up for our weekly letter about village news and events."


def page(word: str, extra: str = "", at: int = 5) -> str:
    """Five sentences of a page's own (``word`` in each: no line is shared with another page),
    ``extra`` inserted before the one at ``at``."""
    lines = [s.format(word) for s in SENTENCES]
    return "\n".join(lines[:at] + [extra] * bool(extra) + lines[at:])


PAGES = {
    "plain": page("plain"),  # nothing to change
    "menu": page("menu", "Home | About | Contact", 2),  # C4 drops the menu line
    "mail": page("mail", "Write to the parish clerk at clerk.parish@example.org about the fair."),
    "key": page("key", 'The config said api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc" in plain view.'),
    "boiler1": page("red", BOILER, 2),  # line dedup (max_docs = 1) removes the line both have
    "boiler2": page("blue", BOILER, 0),
}


def run(base: Path, stages: str, name: str) -> Path:
    """A run over the fixture through the CLI: web pages (C4 line cleaning, secrets and PII
    rewrites, line dedup) and a book holding an evaluation item (cut, the books' default)."""
    cfg = base / f"{name}.toml"
    cfg.write_text(f'[run]\noutput = "{base / name}"\nstages = [{", ".join(repr(s) for s in stages.split(","))}]\n'
                   f'[[inputs]]\nglob = "{base / "pages.jsonl"}"\ndomain = "web"\n'
                   f'[[inputs]]\nglob = "{base / "book*.txt"}"\ndomain = "books"\n'
                   '[filter.domains]\nweb = ["c4", "secrets", "pii"]\nbooks = []\n'
                   '[linededup]\nmax_docs = 1\nmin_words = 0\nmin_chars = 0\n'
                   f'[[decontaminate.eval_sets]]\nname = "ev"\nglob = "{base / "eval.txt"}"\n')
    r = curate("run", cfg, "--progress", "off")
    assert r.returncode == 0, r.stderr
    return base / name


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("edits")
    (base / "pages.jsonl").write_text("".join(json.dumps({"id": k, "text": t}) + "\n" for k, t in PAGES.items()))
    (base / "book.txt").write_text(CHAPTER * 40 + ITEM + "\n\n" + CHAPTER * 40)
    (base / "book2.txt").write_text(CHAPTER * 20 + SHORT_EDITED + "\n\n" + CHAPTER * 20)
    (base / "eval.txt").write_text(ITEM + "\n" + SHORT + "\n")
    return base


@pytest.fixture(scope="module")
def out(base) -> Path:
    return run(base, "ingest,filter,linededup,decontaminate", "out")


@pytest.fixture(scope="module")
def ingest_only(base) -> Path:
    """An output written before the edits column (a run of ingest alone, which has none): one run
    for the three tests that read it (a test that writes into it works on a copy)."""
    return run(base, "ingest", "old")


def removed_by_diff(before: str, after: str) -> str:
    """The characters of ``before`` a diff finds missing from ``after``."""
    ops = difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    return "".join(before[a:b] for op, a, b, _, _ in ops if op in ("delete", "replace"))


def test_each_changed_kept_document_says_by_whom_and_how_much(base, out):
    inputs = {**PAGES, **{b: (base / b).read_text() for b in ("book.txt", "book2.txt")}}
    text = pl.read_parquet(out / "text" / "*.parquet")
    assert text.height == len(inputs)  # every document kept: each change is inside one
    got = {}
    for r in text.iter_rows(named=True):
        before = inputs[r["source_id"] or r["path"]]
        edits = r["edits"] or []
        # the entries' characters are what the document lost, and a document without entries is unchanged
        assert sum(e["chars"] for e in edits) == len(before) - len(r["text"]), (r["source_id"], edits)
        assert (r["text"] == before) == (not edits), (r["source_id"], edits)
        got[r["source_id"] or r["path"]] = [(e["stage"], e["rule"]) for e in edits], before, r["text"], edits
    assert {k: v[0] for k, v in got.items()} == {
        "plain": [], "menu": [("filter", "c4_lines")], "mail": [("filter", "pii")], "key": [("filter", "secrets")],
        "boiler1": [("linededup", "boilerplate_lines")], "boiler2": [("linededup", "boilerplate_lines")],
        "book.txt": [("decontaminate", "eval_overlap")], "book2.txt": [("decontaminate", "eval_near_copy")]}
    _, before, after, (e,) = got["menu"]
    assert removed_by_diff(before, after).strip() == "Home | About | Contact" and e["count"] == 1
    _, before, after, (e,) = got["boiler2"]
    assert removed_by_diff(before, after).strip() == BOILER and e["count"] == 1 and e["chars"] == len(BOILER) + 1
    _, before, after, (e,) = got["book.txt"]  # the item's line goes with its break and one of the blank lines around it
    assert after == before.replace(ITEM + "\n\n", "") and e["chars"] == len(ITEM) + 2 and e["detail"] == "ev:eval.txt:1"  # the set, its file and line
    assert e["count"] >= len(ITEM.split()) - 12  # at least the item's own 13-word windows
    _, before, after, (e,) = got["book2.txt"]
    assert after == before.replace(SHORT_EDITED + "\n\n", "") and e["count"] == 1 and e["detail"] == "ev:eval.txt:2"
    _, _, _, (e,) = got["mail"]
    assert e["detail"] == "pii_email 1" and e["count"] == 1


def test_audit_sums_the_edits_and_why_names_them(base, out):
    r = curate("audit", out)
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "stats" / "summary.json").read_text())
    text = pl.read_parquet(out / "text" / "*.parquet").explode("edits").unnest("edits").drop_nulls("stage")
    truth = text.group_by("stage", "rule").agg(documents=pl.len(), count=pl.col("count").sum(), chars=pl.col("chars").sum())
    edits = summary["edits_in_output"]
    assert edits["documents"] == 7
    assert sorted(edits["by_rule"], key=lambda e: (e["stage"], e["rule"])) == truth.sort("stage", "rule").to_dicts()
    assert "kept documents changed" in (out / "report.html").read_text()
    book = pl.read_parquet(out / "text" / "*.parquet").filter(pl.col("path") == "book.txt").row(0, named=True)
    (e,) = book["edits"]
    r = curate("audit", out, "--why", book["id"], "--why", "plain")
    assert r.returncode == 0, r.stderr
    why = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert why[book["id"]].endswith(f"; cut by decontaminate eval_overlap (ev:eval.txt:1: {e['count']} windows, {len(ITEM) + 2} chars)"), r.stdout
    assert "cut by" not in why[next(k for k in why if k != book["id"])]  # an unchanged page: kept, nothing more


def test_an_output_without_the_column_still_audits(ingest_only, out, tmp_path):
    """An output written before the column (here: a run of ingest alone, which has none)
    audits, is compared and answers --why."""
    old = tmp_path / "old"
    shutil.copytree(ingest_only, old)  # the audit writes its report into it
    assert "edits" not in pl.read_parquet(old / "text" / "*.parquet").columns
    r = curate("audit", old)
    assert r.returncode == 0, r.stderr
    assert json.loads((old / "stats" / "summary.json").read_text())["edits_in_output"] is None
    r = curate("audit", old, "--why", "plain")
    assert r.returncode == 0 and "kept in text/" in r.stdout, r.stderr
    r = curate("audit", out, "--compare", old)
    assert r.returncode == 0, r.stderr
    assert "changed inside kept documents: not recorded before (no edits column" in r.stdout, r.stdout


def test_older_and_newer_text_files_read_together_as_the_readme_says(ingest_only, out):
    """text/ files without the column beside files with it: the README's three readers keep
    every row and every entry (an older file first, where the first file's columns would rule)."""
    import duckdb
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    old = ingest_only
    files = sorted(map(str, (old / "text").glob("*.parquet"))) + sorted(map(str, (out / "text").glob("*.parquet")))
    new = pl.read_parquet(out / "text" / "*.parquet")
    rows, entries = len(pl.read_parquet(old / "text" / "*.parquet")) + new.height, new["edits"].list.len().sum()
    got = duckdb.sql(f"select count(*), sum(len(edits)) from read_parquet({files!r}, union_by_name = true)").fetchall()[0]
    assert got == (rows, entries)
    both = pl.concat([pl.scan_parquet(f) for f in files], how="diagonal_relaxed").collect()
    assert (both.height, both["edits"].list.len().sum()) == (rows, entries)
    assert "edits" not in ds.dataset(files).schema.names  # the README's warning: the first file's columns
    with pytest.raises(pl.exceptions.SchemaError):
        pl.read_parquet(files)
    t = ds.dataset(files, schema=pq.read_schema(files[-1])).to_table()
    assert (t.num_rows, pl.from_arrow(t)["edits"].list.len().sum()) == (rows, entries)


def test_compare_names_the_documents_changed_inside_by_another_rule(base, out):
    """The same documents kept with and without line dedup: no fate differs, and --compare says
    which rule now changes which documents (read back here from both outputs' edits)."""
    before = run(base, "ingest,filter,decontaminate", "no_linededup")
    r = curate("audit", out, "--compare", before)
    assert r.returncode == 0, r.stderr

    def rules(o: Path) -> dict:
        t = pl.read_parquet(o / "text" / "*.parquet").explode("edits").drop_nulls("edits")
        return {(e["stage"] + "/" + e["rule"], i) for i, e in zip(t["id"], t["edits"])}

    a, b = rules(before), rules(out)
    changed = sorted({r for r, _ in a ^ b})
    assert changed == ["linededup/boilerplate_lines"]
    ids = sorted(i for _, i in a ^ b)
    assert "removed by rule: the same counts" in r.stdout, r.stdout
    assert (f"changed inside kept documents (edits), documents per rule:\n  linededup/boilerplate_lines 0 -> {len(ids)} "
            f"(+{len(ids)}; e.g. {', '.join(ids)})\n") in r.stdout, r.stdout
    r = curate("audit", out, "--compare", out)
    assert "changed inside kept documents (edits): the same documents by the same rules" in r.stdout, r.stdout


def test_another_corpus_field_named_edits_is_not_curates(tmp_path):
    """`--corpus` audits any JSONL: a field of its own called "edits" (a wiki's edit count) is
    neither curate's column nor an error."""
    f = tmp_path / "wiki.jsonl"
    f.write_text("".join(json.dumps({"text": f"Page {i} about the river.", "edits": i}) + "\n" for i in range(3)))
    r = curate("audit", "--corpus", f, "--output", tmp_path / "audit")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "audit" / "stats" / "summary.json").read_text())["edits_in_output"] is None


def cut_pages(tmp_path: Path, pages: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``pages`` (source id: text) through ingest and decontaminate in cut mode, ITEM the
    evaluation set, by the CLI: (text/, ledger)."""
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps({"id": k, "text": t}) + "\n" for k, t in pages.items()))
    (tmp_path / "eval.txt").write_text(ITEM + "\n")
    cfg = tmp_path / "cut.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "decontaminate"]\n'
                   f'[[inputs]]\nglob = "{tmp_path / "pages.jsonl"}"\ndomain = "web"\n'
                   f'[decontaminate]\nmode = "cut"\n[[decontaminate.eval_sets]]\nname = "ev"\nglob = "{tmp_path / "eval.txt"}"\n')
    r = curate("run", cfg, "--progress", "off")
    assert r.returncode == 0, r.stderr
    return (pl.read_parquet(tmp_path / "out" / "text" / "*.parquet"), pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet"))


def test_a_document_the_cut_leaves_empty_is_removed_not_kept_empty(tmp_path):
    """Cut mode on a page that is nothing but an evaluation item: nothing of it is left, so it is
    removed under the rule "remove" mode names (a ledger row with the item), not kept in text/
    as an empty document with an edits entry; a page with words left is kept and cut."""
    text, ledger = cut_pages(tmp_path, {"all": ITEM, "spaced": f"\n  {ITEM}  \n", "most": ITEM + "\nThanks for reading.",
                                        "plain": PAGES["plain"]})
    assert sorted(text["source_id"]) == ["most", "plain"], text.select("source_id", "text").to_dicts()
    assert sorted(ledger.select("source_id", "stage", "rule", "kept_id").rows()) == [
        ("all", "decontaminate", "eval_overlap", "ev:eval.txt:1"), ("spaced", "decontaminate", "eval_overlap", "ev:eval.txt:1")]
    assert set(ledger["snippet"]) == {" ".join(ITEM.split()[:13])}  # the n-gram, read from the text as it came in
    most = text.filter(pl.col("source_id") == "most").row(0, named=True)
    (e,) = most["edits"]
    assert most["text"].strip() == "Thanks for reading." and e["chars"] == len(ITEM + "\nThanks for reading.") - len(most["text"])
    stats = json.loads((tmp_path / "out" / "manifest.json").read_text())["stats"]
    assert stats["decontaminate.cut_docs"] == 1 and stats["decontaminate.cut_chars"] == e["chars"]  # the removed pages' are not cuts


def test_a_placeholder_longer_than_what_it_replaced_reads_as_chars_added(tmp_path):
    """`<EMAIL>` (7 characters) for `a@b.io` and `c@d.io` (6 each): the entry's chars is -2, and
    --why said "-2 chars", the report's card "-2"; now "2 chars added", "2 added"."""
    (tmp_path / "pages.jsonl").write_text(json.dumps({"id": "short", "text": page("short", "Write to a@b.io or c@d.io.")}) + "\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "filter"]\n'
                   f'[[inputs]]\nglob = "{tmp_path / "pages.jsonl"}"\ndomain = "web"\n[filter.domains]\nweb = ["pii"]\n')
    assert curate("run", cfg, "--progress", "off").returncode == 0
    (e,) = pl.read_parquet(tmp_path / "out" / "text" / "*.parquet")["edits"][0]
    assert (e["rule"], e["count"], e["chars"]) == ("pii", 2, -2)  # len("a@b.io") - len("<EMAIL>"), twice
    assert curate("audit", tmp_path / "out").returncode == 0
    report = (tmp_path / "out" / "report.html").read_text()
    assert "1, 2, 2 added" in report and "1, 2, -2" not in report
    r = curate("audit", tmp_path / "out", "--why", "short")
    assert r.returncode == 0, r.stderr
    assert r.stdout.rstrip().endswith("rewritten by filter pii (pii_email 2, 2 chars added)"), r.stdout


def test_a_document_the_cut_leaves_no_letter_is_removed(tmp_path):
    """A page that is an evaluation item under a list marker or a number ("1. <item>", "* <item>"
    and a "* * *" break): the cut left "1." / "* * *", kept in text/ as a document of
    punctuation with an edits entry; nothing with a letter is left, so it is removed as a blank
    one is. A page whose remainder has a word ("Thanks.") is kept and cut."""
    pages = {"numbered": f"1. {ITEM}", "bullet": f"* {ITEM}\n\n* * *\n", "quoted": f"« {ITEM} » — 2024",
             "thanks": f"1. {ITEM}\nThanks."}
    text, ledger = cut_pages(tmp_path, pages)
    assert text["source_id"].to_list() == ["thanks"], text.select("source_id", "text").to_dicts()
    assert text["text"][0] == "Thanks."  # the line's list marker goes with the item (review50), the line with its break
    assert sorted(ledger.select("source_id", "rule").rows()) == [("bullet", "eval_overlap"), ("numbered", "eval_overlap"),
                                                                 ("quoted", "eval_overlap")]


def test_a_second_run_over_curates_own_text_keeps_what_the_first_one_said(tmp_path):
    """Re-curating an output (text/*.parquet as the input of a stricter run): each document's
    ``meta`` (its licence here) is the second output's metadata too, and the first run's ``edits``
    are carried in ``meta.earlier_edits`` (a third run appends its input's after them), so
    ``--why`` on the second output says what both runs changed. Both were dropped: the second
    output's documents had no licence (a licence filter over them found none) and no trace of the
    first run's rewrites."""
    menu = "Home | About | Contact"
    (tmp_path / "pages.jsonl").write_text("".join(json.dumps({"id": k, "text": t, "license": "cc-by-4.0"}) + "\n" for k, t in
                                                  {"menu": page("menu", menu, 2),
                                                   "both": page("both", menu, 2) + "\nWrite to the clerk at clerk.parish@example.org."}.items()))

    def run_over(glob: Path, name: str, rules: str) -> dict:
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(f'[run]\noutput = "{tmp_path / name}"\nstages = ["ingest", "filter"]\n'
                       f'[[inputs]]\nglob = "{glob}"\ndomain = "web"\n[filter.domains]\nweb = [{rules}]\n')
        r = curate("run", cfg, "--progress", "off")
        assert r.returncode == 0, r.stderr
        return {r["id"]: r for r in pl.read_parquet(tmp_path / name / "text" / "*.parquet").iter_rows(named=True)}

    def rules(edits) -> list:
        return [(e["stage"], e["rule"]) for e in edits or []]

    first = run_over(tmp_path / "pages.jsonl", "first", '"c4"')
    assert sorted(rules(r["edits"]) for r in first.values()) == [[("filter", "c4_lines")]] * 2
    second = run_over(tmp_path / "first" / "text" / "*.parquet", "second", '"pii"')
    assert sorted(r["source_id"] for r in second.values()) == sorted(first)  # the first run's ids are the records' own
    for r in second.values():
        before, meta = first[r["source_id"]], json.loads(r["meta"])
        assert meta.pop("earlier_edits", None) == before["edits"], (meta, before["edits"])
        assert meta == json.loads(before["meta"]) == {"license": "cc-by-4.0"}
    assert sorted(rules(r["edits"]) for r in second.values()) == [[], [("filter", "pii")]]  # this run's own, in its column
    third = run_over(tmp_path / "second" / "text" / "*.parquet", "third", "")
    assert sorted(rules(json.loads(r["meta"])["earlier_edits"]) for r in third.values()) == [
        [("filter", "c4_lines")], [("filter", "c4_lines"), ("filter", "pii")]]  # in the order the runs made them
    both = next(r for r in second.values() if r["edits"])
    r = curate("audit", tmp_path / "second", "--why", both["id"])
    assert r.returncode == 0, r.stderr
    (c4,) = first[both["source_id"]]["edits"]
    assert r.stdout.rstrip().endswith(f"; rewritten by filter pii (pii_email 1, {both['edits'][0]['chars']} chars); before this run "
                                      f"(meta.earlier_edits): rewritten by filter c4_lines (c4_lines_removed 1, {c4['chars']} chars)"), r.stdout


def test_a_corpus_of_old_and_new_text_files_counts_the_old_ones_unknown(ingest_only, out, tmp_path):
    """`--corpus` over text/ files with the edits column and older ones without it: the older
    files' documents are not known to be unchanged (their run recorded no changes), so they are
    counted apart (``documents_not_recorded``) and the report says so; they read as unchanged."""
    old = ingest_only
    new_text = pl.read_parquet(out / "text" / "*.parquet")
    old_rows = pl.read_parquet(old / "text" / "*.parquet").height
    r = curate("audit", "--corpus", old / "text" / "*.parquet", "--corpus", out / "text" / "*.parquet", "--output", tmp_path / "a")
    assert r.returncode == 0, r.stderr
    edits = json.loads((tmp_path / "a" / "stats" / "summary.json").read_text())["edits_in_output"]
    assert edits["documents"] == int((new_text["edits"].list.len().fill_null(0) > 0).sum()) == 7
    assert edits["documents_not_recorded"] == old_rows == 8
    report = (tmp_path / "a" / "report.html").read_text()
    assert f"kept documents not recorded (no edits column: unknown, not unchanged)</td><td>{old_rows}" in report
    r = curate("audit", "--corpus", out / "text" / "*.parquet", "--output", tmp_path / "b")  # every file has the column
    assert json.loads((tmp_path / "b" / "stats" / "summary.json").read_text())["edits_in_output"]["documents_not_recorded"] == 0
    assert "not recorded" not in (tmp_path / "b" / "report.html").read_text()
