"""``curate audit DIR --why KEY``: where a document went and why, by curate's id, the record's own
id, its URL or its input path. Ground truth: records written here whose fate is known (an empty
one, an exact copy, a broken line, a kept one)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.test_audit_verify import curate

BODY = "The river ran past the mill and the children watched the boats drift by in the evening. "



@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("why")
    (base / "in").mkdir()
    recs = [{"id": "keep-1", "text": BODY * 6, "url": "https://example.org/a"},
            {"id": "copy-2", "text": BODY * 6, "url": "https://example.org/b"},  # an exact copy of keep-1
            {"id": "empty-3", "text": "   ", "url": "https://example.org/c"},
            {"id": "other-4", "text": "A different page about the harvest and the weather of that year. " * 6, "url": "https://example.org/d"}]
    lines = [json.dumps(r) for r in recs]
    lines.insert(2, '{"id": "broken-5", "text": "cut off')  # not JSON: quarantined
    (base / "in" / "mine.jsonl").write_text("\n".join(lines) + "\n")
    r = curate("run", "--input", base / "in", "--domain", "web", "--stages", "ingest,dedup", "--output", base / "out", "--progress", "off")
    assert r.returncode == 0, r.stderr
    return base / "out"


def test_why_kept_removed_duplicate_and_quarantined(out):
    text = pl.read_parquet(out / "text" / "*.parquet")
    ledger = pl.read_parquet(out / "ledger" / "*.parquet")
    dup = ledger.filter(pl.col("rule") == "exact_duplicate").row(0, named=True)
    kept = text.filter(pl.col("id") == dup["kept_id"]).row(0, named=True)
    r = curate("audit", out, "--why", dup["source_id"], "--why", kept["url"], "--why", "empty-3", "--why", "other-4")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4, r.stdout
    assert any(line.startswith(f"{dup['id']} (web/in https://example.org/") and "removed at dedup by exact_duplicate" in line
               and f"instead: {dup['kept_id']} (web/in {kept['url']}, your id {kept['source_id']}: kept)" in line for line in lines), lines
    assert any(line.startswith(kept["id"]) and "kept in text/part-" in line for line in lines), lines
    assert any("your id empty-3" in line and "removed at ingest by empty_text" in line for line in lines), lines
    assert any("your id other-4" in line and "kept in text/" in line for line in lines), lines


def test_why_a_quarantined_file_by_its_path(out):
    q = pl.read_parquet(out / "quarantine" / "*.parquet").row(0, named=True)
    r = curate("audit", out, "--why", "mine.jsonl")  # every record of that input file
    assert r.returncode == 0, r.stderr
    assert f"mine.jsonl @ {q['offset']}: quarantined at ingest: {q['reason']}" in r.stdout, r.stdout
    assert len(r.stdout.splitlines()) == 5  # four records and the broken line: each accounted for


def test_why_an_input_file_as_the_run_and_compare_name_it(out):
    """A rerun says "replaced the previous output in DIR, ...: 1 file changed (in/mine.jsonl)"
    and `--compare` lists "in/mine.jsonl" (the input's source, then the file), but `--why
    in/mine.jsonl` said no document has that path: only "mine.jsonl" was a key. Both are now."""
    import re

    from curate import output

    manifest = json.loads((out / "manifest.json").read_text())
    said = output.input_changes([], manifest["inputs"])  # what a run says of this file
    name = re.fullmatch(r"1 file added \((.+)\)", said).group(1)
    assert name == "in/mine.jsonl"
    r = curate("audit", out, "--why", name)
    assert r.returncode == 0, r.stderr
    assert r.stdout == curate("audit", out, "--why", "mine.jsonl").stdout and len(r.stdout.splitlines()) == 5, r.stdout
    assert curate("audit", out, "--why", "out/mine.jsonl").returncode == 1  # another source's: no such file


def test_why_a_key_in_no_table(out):
    r = curate("audit", out, "--why", "keep-1", "--why", "rec-404")
    assert r.returncode == 1
    assert "your id keep-1" in r.stdout
    assert r.stderr.startswith(f"curate audit: rec-404: no document of {out} has this id, source_id, url or path"), r.stderr


def test_why_needs_an_output_dir(tmp_path):
    r = curate("audit", "--corpus", tmp_path / "x.jsonl", "--why", "a")
    assert r.returncode == 2 and "--why reads a curate output DIR, not --corpus" in r.stderr
    r = curate("audit", tmp_path / "none", "--why", "a")
    assert r.returncode == 2 and "no such directory" in r.stderr


def test_why_a_url_in_another_form(out):
    """Dolma's and C4's url fields often lack the scheme a WARC's target URI has: the URL is
    matched without scheme, leading www. and trailing slash; its host in any case (an upper-case
    host was not found)."""
    for key in ("example.org/d", "http://www.example.org/d/", "HTTPS://Example.ORG/d", "WWW.EXAMPLE.ORG/d"):
        r = curate("audit", out, "--why", key)
        assert r.returncode == 0, r.stderr
        assert "https://example.org/d, your id other-4): kept" in r.stdout, r.stdout
    assert curate("audit", out, "--why", "https://example.org/dd").returncode == 1
    assert curate("audit", out, "--why", "https://example.org/D").returncode == 1  # a path's case is its own


def test_rule_sample(out):
    """--rule: the documents one rule removed, to eyeball, smallest ids first."""
    led = pl.read_parquet(out / "ledger" / "*.parquet")
    r = curate("audit", out, "--rule", "exact_duplicate")
    assert r.returncode == 0, r.stderr
    dup = led.filter(pl.col("rule") == "exact_duplicate").row(0, named=True)
    assert r.stdout.splitlines()[0] == f"exact_duplicate: 1 document removed; 1 of smallest id (curate audit {out} --why ID for one):"
    kept = pl.read_parquet(out / "text" / "*.parquet").filter(pl.col("id") == dup["kept_id"]).row(0, named=True)
    # the copy kept instead, and what became of it, as --why says (it gave a bare id to look up)
    assert r.stdout.splitlines()[1].startswith(f"{dup['id']} (web/in ") and (
        f"instead: {dup['kept_id']} (web/in {kept['url']}, your id {kept['source_id']}: kept); text: 'The river ran") in r.stdout, r.stdout
    r = curate("audit", out, "--rule", "ingest/empty_text", "--examples", "0")
    assert r.returncode == 0 and r.stdout.splitlines() == [f"ingest/empty_text: 1 document removed; 0 of smallest id (curate audit {out} --why ID for one):"]
    r = curate("audit", out, "--rule", "exact_duplicates")
    assert r.returncode == 2 and "unknown rule 'exact_duplicates' (did you mean exact_duplicate?)" in r.stderr, r.stderr
    assert "its ledger's rules: " in r.stderr and "dedup/exact_duplicate 1" in r.stderr and "ingest/empty_text 1" in r.stderr


def test_rule_misspelt_or_known_and_removing_nothing(out, tmp_path):
    """`--rule gopher_elipsis_lines` (misspelt) said "no document was removed by" it, as a real
    rule that removed nothing does: the name is said to be unknown, with the closest rule curate
    knows (one of the filter's, not in this run's ledger). A rule of the run's own
    (filter.custom in its manifest's config) is known, as the built-in ones are."""
    r = curate("audit", out, "--rule", "gopher_elipsis_lines")
    assert r.returncode == 2 and "unknown rule 'gopher_elipsis_lines' (did you mean gopher_ellipsis_lines?)" in r.stderr, r.stderr
    for name, stage in (("gopher_ellipsis_lines", "filter"), ("filter/gopher_ellipsis_lines", "filter"), ("near_duplicate", "dedup")):
        r = curate("audit", out, "--rule", name)
        assert r.returncode == 2 and f"no document of {out} was removed by {name!r} (a rule of the {stage} stage)" in r.stderr, r.stderr
        assert "unknown" not in r.stderr and "did you mean" not in r.stderr, r.stderr
    own = tmp_path / "own"
    shutil.copytree(out, own)
    manifest = json.loads((own / "manifest.json").read_text())
    manifest["config"]["filter"] = {"custom": {"emoji_spam": "myrules:too_many_emoji"}}  # as a run with the filter writes it
    (own / "manifest.json").write_text(json.dumps(manifest))
    r = curate("audit", own, "--rule", "emoji_spam")
    assert r.returncode == 2 and "was removed by 'emoji_spam' (a rule of the filter stage)" in r.stderr, r.stderr
    assert "unknown rule 'emoji_spam'" in curate("audit", out, "--rule", "emoji_spam").stderr


def test_printed_commands_run_as_copied_with_spaces_quotes_and_brackets(out, tmp_path):
    """The commands curate prints for the next step (--rule's --why, --compare's, the report's
    two lookups, the manifest-given-for-the-folder error) were not shell-quoted: copied into a
    shell they broke on a path like "my runs/it's [1]". Each is run here as printed."""
    import html
    import re
    import shlex
    import shutil
    import subprocess
    import sys

    from tests.test_audit_verify import REPO

    odd = tmp_path / "my runs" / "it's [1]"
    shutil.copytree(out, odd)
    said = []
    r = curate("audit", odd, "--rule", "exact_duplicate")
    said.append(re.search(r"\((curate audit .*) for one\):", r.stdout.splitlines()[0]).group(1))
    r = curate("audit", odd, "--compare", odd)
    said.append(re.search(r"look a document up: (curate audit .*) \(and", r.stdout).group(1))
    r = curate("audit", odd / "manifest.json")
    assert r.returncode == 2
    said.append(r.stderr.split("give the output directory: ")[1].strip() + " --why ID")
    assert curate("audit", odd).returncode == 0
    page = (odd / "report.html").read_text()
    said.append(html.unescape(re.search(r"names: <code>(.*?)</code>", page).group(1)))
    dup = pl.read_parquet(out / "ledger" / "*.parquet").filter(pl.col("rule") == "exact_duplicate")["id"][0]
    for cmd in said:
        args = shlex.split(cmd.replace("ID", dup))
        assert args[:3] == ["curate", "audit", str(odd)], cmd
        r = curate(*args[1:])
        assert r.returncode == 0 and "removed at dedup by exact_duplicate" in r.stdout, (cmd, r.stderr)
    look = html.unescape(re.search(r"Look one up: <code>(.*?)</code>", page).group(1))
    look = look.replace("'ID'", repr(dup)).replace("python ", f"{shlex.quote(sys.executable)} ", 1)
    r = subprocess.run(look, shell=True, capture_output=True, text=True, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0 and "exact_duplicate" in r.stdout, (look, r.stderr)


def test_printed_commands_run_as_copied_for_a_folder_named_with_a_leading_dash(out, tmp_path, monkeypatch):
    """A relative output folder named -old (given as `-- -old`, or a config's output = "-old"):
    the commands curate printed named it bare, `curate audit -old --why ID`, which the shell
    passes on and curate refuses as an unknown option. Each is run here as printed, in this
    process from that folder (a subprocess each paid Python's and Beam's imports: 9 of them)."""
    import re
    import shlex
    import shutil

    shutil.copytree(out, tmp_path / "-old")
    monkeypatch.chdir(tmp_path)
    said = []
    r = curate("audit", "--rule", "exact_duplicate", "--", "-old")
    said.append(re.search(r"\((curate audit .*) for one\):", r.stdout.splitlines()[0]).group(1))
    r = curate("audit", "--compare=-old", "--", "-old")
    look = re.search(r"look a document up: (curate audit .*) \(and (.*) for before\)", r.stdout)
    said += [look.group(1), f"curate audit {look.group(2)} --why ID"]
    r = curate("audit", "--", "-old/manifest.json")
    said.append(r.stderr.split("give the output directory: ")[1].strip() + " --why ID")
    r = curate("audit", "--", "-old/text")  # not an output: its files by --corpus
    said.append(re.search(r"(--corpus \S+)", r.stderr).group(1).replace("--corpus", "curate audit --output rep --corpus"))
    dup = pl.read_parquet(out / "ledger" / "*.parquet").filter(pl.col("rule") == "exact_duplicate")["id"][0]
    for cmd in said:
        r = curate(*shlex.split(cmd.replace("ID", dup))[1:])
        assert r.returncode == 0, (cmd, r.stderr)
    assert (tmp_path / "rep" / "report.html").exists()


GERMAN = "Der Fluss floss an der Mühle vorbei, und die Kinder sahen abends den Booten zu, die langsam trieben. "


def test_why_and_rule_name_the_label_a_removal_was_decided_under(tmp_path):
    """A page langid removed as not a target language: --why and --rule said only
    `language_not_target (value 0.98, threshold –)`, a score of an unnamed label, so "why was
    this URL dropped?" had no answer (which language?) without reading the ledger by hand."""
    (tmp_path / "in").mkdir()
    recs = [{"id": "en-1", "text": BODY * 6, "url": "https://example.org/en"},
            {"id": "de-2", "text": GERMAN * 6, "url": "https://example.de/seite"}]
    (tmp_path / "in" / "mine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "out"
    r = curate("run", "--input", tmp_path / "in", "--domain", "web", "--stages", "ingest,langid", "--output", out, "--progress", "off")
    assert r.returncode == 0, r.stderr
    row = pl.read_parquet(out / "ledger" / "*.parquet").row(0, named=True)  # ground truth: the ledger's own row
    assert (row["source_id"], row["rule"], row["language"]) == ("de-2", "language_not_target", "de")
    said = f"removed at langid by language_not_target (language de, value {row['value']:.4g}, threshold –)"
    r = curate("audit", out, "--why", "https://example.de/seite")
    assert r.returncode == 0 and said in r.stdout, r.stdout
    r = curate("audit", out, "--rule", "language_not_target")
    assert r.returncode == 0 and said in r.stdout, r.stdout


def test_a_key_pasted_with_spaces_is_found_and_an_empty_one_refused(out):
    """A key copied from a table or a log carries its blanks (' 6211a2cb04b2db3e', 'keep-1\\n'):
    it was said to be in no table. An empty key (a shell variable that was not set) was looked
    up as one, and an empty --rule wrote the report instead of answering."""
    text = pl.read_parquet(out / "text" / "*.parquet")
    kept = text.filter(pl.col("source_id") == "keep-1").row(0, named=True)
    for key in (f" {kept['id']}", "keep-1\n", "\thttps://example.org/a "):
        r = curate("audit", out, "--why", key)
        assert r.returncode == 0 and r.stdout.startswith(f"{kept['id']} (web/in https://example.org/a, your id keep-1): kept"), (key, r.stdout, r.stderr)
    r = curate("audit", out, "--rule", " exact_duplicate\n")  # --rule too (it said: removed by no rule)
    assert r.returncode == 0 and r.stdout.startswith("exact_duplicate: 1 document removed;"), (r.stdout, r.stderr)
    for opt in ("--why", "--rule"):
        r = curate("audit", out, opt, " ")
        assert r.returncode == 2 and f"curate audit: {opt} ' ': an empty key" in r.stderr, r.stderr
    assert not (out / "report.html").exists()


def test_a_key_with_blanks_that_is_a_records_own_id_is_that_record_alone(tmp_path):
    """The key is tried without its blanks only where it is in no table as given: 'keep-1 ' is
    another record's own id in this input, and --why 'keep-1 ' printed keep-1's line beside its
    own (two documents for one asked, the blank not to be seen in 'your id keep-1 ')."""
    (tmp_path / "in.jsonl").write_text(json.dumps({"id": "keep-1", "text": BODY * 3}) + "\n" + json.dumps(
        {"id": "keep-1 ", "text": "A different page about the harvest and the weather of that year. " * 3}) + "\n")
    r = curate("run", "--input", tmp_path / "in.jsonl", "--domain", "web", "--stages", "ingest", "--output", tmp_path / "out", "--progress", "off")
    assert r.returncode == 0, r.stderr
    ids = dict(pl.read_parquet(tmp_path / "out" / "text" / "*.parquet").select("source_id", "id").iter_rows())
    for key, want in (("keep-1 ", "keep-1 "), ("keep-1", "keep-1"), ("\tkeep-1", "keep-1")):
        r = curate("audit", tmp_path / "out", "--why", key)
        (line,) = r.stdout.splitlines() if r.returncode == 0 else [r.stderr]
        assert line.startswith(f"{ids[want]} (web/") and f", your id {want}): kept in text/" in line, (key, r.stdout)


def test_a_kept_copy_removed_as_a_duplicate_in_turn_names_the_copy_that_stayed(tmp_path):
    """urldedup removed x for y (same URL); dedup then removed y as an exact copy of z: --why x
    and --rule url_duplicate said y was 'removed at dedup by exact_duplicate' and stopped there,
    as if x's page were gone; its text lives on in z, now named with its fate."""
    page = "The river ran past the mill and the children watched the boats drift by in the evening. " * 3
    other = "A different page about the harvest and the weather of that year, told at length by the farmers. " * 4
    rows = [{"id": "x", "text": page, "url": "https://example.org/u1"},
            {"id": "y", "text": other, "url": "https://example.org/u1"}]  # longer: urldedup keeps it
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "z", "text": other, "url": "https://example.org/u2"}) + "\n")
    ins = "".join(f'[[inputs]]\nglob = "{tmp_path / f"{s}.jsonl"}"\ndomain = "web"\nsource = "{s}"\n' for s in "ab")
    (tmp_path / "c.toml").write_text(f'[run]\noutput = "{tmp_path / "out"}"\nstages = ["ingest", "urldedup", "dedup"]\n{ins}'
                                     '[urldedup]\n[dedup]\nsource_ranks = ["b", "a"]\n')  # z's copy is kept by dedup
    r = curate("run", tmp_path / "c.toml", "--progress", "off")
    assert r.returncode == 0, r.stderr
    ids = dict(pl.read_parquet(tmp_path / "out" / "ledger" / "*.parquet").select("source_id", "id").iter_rows())
    ids |= dict(pl.read_parquet(tmp_path / "out" / "text" / "*.parquet").select("source_id", "id").iter_rows())
    for args in (["--why", "x"], ["--rule", "url_duplicate"]):
        r = curate("audit", tmp_path / "out", *args)
        assert r.returncode == 0, r.stderr
        line = r.stdout.splitlines()[-1]
        assert f"instead: {ids['y']} (web/" in line and "your id y: removed at dedup by exact_duplicate" in line, line
        assert f"; instead: {ids['z']} (web/b " in line and "your id z: kept))" in line, line
