"""``curate audit NEW --compare OLD``: what changed between two runs. Ground truth: two runs over
records written here, whose changes (an edited record, a new file, a setting) are known, and the
id sets read back from both outputs with polars."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tests.test_audit_verify import curate

BODY = "The river ran past the mill and the children watched the boats drift by in the evening. " * 6
OTHER = "A different page about the harvest and the weather of that year, told by the farmer. " * 6


def write(path: Path, recs: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))


def fates(out: Path) -> dict[str, str]:
    """source_id -> kept or stage/rule, read back independently of the audit."""
    t = pl.read_parquet(out / "text" / "*.parquet")
    led = pl.read_parquet(out / "ledger" / "*.parquet")
    return {**{r: "kept" for r in t["source_id"]}, **dict(zip(led["source_id"], led["stage"] + "/" + led["rule"]))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("compare")
    inp = base / "in"
    inp.mkdir()
    write(inp / "a.jsonl", [{"id": "keep-1", "text": BODY}, {"id": "copy-2", "text": BODY},
                            {"id": "other-4", "text": OTHER}, {"id": "short-5", "text": "  "}])
    old = base / "yesterday"
    r = curate("run", "--input", inp, "--domain", "web", "--stages", "ingest,dedup", "--output", old, "--progress", "off")
    assert r.returncode == 0, r.stderr
    write(inp / "a.jsonl", [{"id": "keep-1", "text": BODY}, {"id": "copy-2", "text": BODY},
                            {"id": "other-4", "text": " "}, {"id": "short-5", "text": OTHER.replace("harvest", "orchard")}])
    write(inp / "b.jsonl", [{"id": "new-6", "text": OTHER.replace("farmer", "miller")}])
    new = base / "today"
    r = curate("run", "--input", inp, "--domain", "web", "--stages", "ingest,dedup", "--output", new, "--progress", "off",
               "--set", "dedup.verify=0.8")
    assert r.returncode == 0, r.stderr
    return old, new


def test_compare_says_what_changed(runs):
    old, new = runs
    a, b = fates(old), fates(new)
    assert a == {"keep-1": "kept", "copy-2": "dedup/exact_duplicate", "other-4": "kept", "short-5": "ingest/empty_text"}
    assert b == {"keep-1": "kept", "copy-2": "dedup/exact_duplicate", "other-4": "ingest/empty_text", "short-5": "kept", "new-6": "kept"}
    r = curate("audit", new, "--compare", old)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "config: 1 setting differs\n  dedup.verify: 0.75 -> 0.8\n" in out, out
    assert "input files: 1 file added (in/b.jsonl), 1 file changed (in/a.jsonl)" in out, out
    kept_a = sum(v == "kept" for v in a.values())
    kept_b = sum(v == "kept" for v in b.values())
    both = sum(a.get(k) == "kept" and b[k] == "kept" for k in b)
    assert f"documents kept: {kept_a} -> {kept_b} ({both} in both)" in out, out
    ids = dict(pl.read_parquet(new / "text" / "*.parquet").select("source_id", "id").iter_rows())
    gone = pl.read_parquet(new / "ledger" / "*.parquet").filter(pl.col("source_id") == "other-4")["id"][0]
    assert (f"  newly kept: 2; before: ingest/empty_text 1 (e.g. {ids['short-5']}); not among the inputs 1 (e.g. {ids['new-6']})"
            in out), out
    assert f"  no longer kept: 1; now: ingest/empty_text 1 (e.g. {gone})" in out, out
    assert "removed by rule: \n" not in out and "  ingest/empty_text 1 -> 1 (+0)" not in out  # unchanged counts are not listed


def test_compare_with_a_run_of_fewer_stages_names_the_stage_and_no_line_ends_in_a_space(runs, tmp_path):
    """Against a run with one stage fewer, --compare listed every setting of that stage as
    changed from null (`langid.detector: null -> "fasttext"`, ...: 8 lines for langid, 75 for
    filter), burying what did change. A stage one run did not run is one line.

    With removals that changed, the heading was "removed by rule: " (a trailing space before
    the list), which a diff of two reports or an editor flags. No printed line ends in a space.
    (One run without dedup shows both: a run with langid added cost another ~3 CPU-s.)"""
    _, new = runs
    fewer = tmp_path / "fewer"
    r = curate("run", "--input", new.parent / "in", "--domain", "web", "--stages", "ingest", "--output", fewer, "--progress", "off")
    assert r.returncode == 0, r.stderr
    for a, b, said in ((fewer, new, "not run -> run"), (new, fewer, "run -> not run")):
        r = curate("audit", b, "--compare", a)
        assert r.returncode == 0, r.stderr
        stages = ['["ingest"]', '["ingest", "dedup"]'][:: 1 if a == fewer else -1]
        assert f"config: 2 settings differ\n  dedup: {said}\n  run.stages: {stages[0]} -> {stages[1]}\ninput files:" in r.stdout, r.stdout
        assert [line for line in r.stdout.splitlines() if line != line.rstrip()] == []
    r = curate("audit", new, "--compare", fewer)
    assert "removed by rule:\n  dedup/exact_duplicate 0 -> 1 (+1)\n" in r.stdout, r.stdout


def test_compare_of_an_output_with_itself_and_wrong_inputs(runs, tmp_path):
    old, _ = runs
    r = curate("audit", old, "--compare", old)
    assert r.returncode == 0, r.stderr
    assert "config: the same settings" in r.stdout and "  newly kept: 0" in r.stdout and "removed by rule: the same counts" in r.stdout
    r = curate("audit", old, "--compare", tmp_path / "nope")
    assert r.returncode == 2 and "nope: no such directory" in r.stderr, r.stderr
    (tmp_path / "half" / "text").mkdir(parents=True)
    r = curate("audit", old, "--compare", tmp_path / "half")
    assert r.returncode == 2 and "half: no manifest.json: not a finished curate output; --compare needs two" in r.stderr, r.stderr
    r = curate("audit", old, "--compare", old, "--why", "x")
    assert r.returncode == 2 and "give one" in r.stderr


def test_compare_says_which_input_tables_differ_and_how(runs, tmp_path):
    """"What changed since last week?" An input given another source, one added: --compare said
    only `inputs: the [[inputs]] tables differ (globs, formats, sources or fields)`, leaving the
    reviewer to diff two manifests' JSON by hand. Each differing field is a line, as settings are."""
    old, _ = runs
    books = tmp_path / "books"
    books.mkdir()
    (books / "b.txt").write_text(BODY)
    new = tmp_path / "new"
    r = curate("run", "--input", old.parent / "in", "--domain", "web", "--source", "mydump", "--input", books, "--domain", "books",
               "--stages", "ingest,dedup", "--output", new, "--progress", "off")
    assert r.returncode == 0, r.stderr
    a, b = (json.loads((o / "manifest.json").read_text())["config"]["inputs"] for o in (old, new))
    assert len(a) == 1 and len(b) == 2 and a[0]["glob"] == b[0]["glob"]  # ground truth: the two manifests' tables
    r = curate("audit", new, "--compare", old)
    assert r.returncode == 0, r.stderr
    assert f"  inputs[0].source: {json.dumps(a[0].get('source'))} -> \"mydump\"\n" in r.stdout, r.stdout
    assert f"  inputs[1]: added {json.dumps(b[1], sort_keys=True)}\n" in r.stdout, r.stdout
    assert "the [[inputs]] tables differ" not in r.stdout
    r = curate("audit", old, "--compare", new)
    assert f"  inputs[1]: removed {json.dumps(b[1], sort_keys=True)}\n" in r.stdout, r.stdout


def test_an_input_table_given_twice_is_numbered_where_it_is(tmp_path):
    """A table the same as another was numbered as the first of them (list.index): the second
    input given again was 'inputs[0]: added', and the first of the two was said changed or removed."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text(json.dumps({"id": "a", "text": BODY}) + "\n")
    args = ["--input", tmp_path / "in", "--domain", "web"]
    for name, inputs in (("once", args), ("twice", args + args)):
        r = curate("run", *inputs, "--stages", "ingest", "--output", tmp_path / name, "--progress", "off")
        assert r.returncode == 0, r.stderr
    (table,) = json.loads((tmp_path / "once" / "manifest.json").read_text())["config"]["inputs"]
    r = curate("audit", tmp_path / "twice", "--compare", tmp_path / "once")
    assert r.returncode == 0 and f"  inputs[1]: added {json.dumps(table, sort_keys=True)}\n" in r.stdout, r.stdout
    r = curate("audit", tmp_path / "once", "--compare", tmp_path / "twice")
    assert r.returncode == 0 and f"  inputs[1]: removed {json.dumps(table, sort_keys=True)}\n" in r.stdout, r.stdout


def test_compare_gives_tokens_by_source_as_by_domain(tmp_path):
    """Two sources of one domain: --compare gave tokens per domain only, so a source that lost its
    documents while another grew read as the same web. Now a line per source that changed (old ->
    new, and the difference), and how many are the same. Ground truth: text/'s num_tokens summed
    per domain/source of each output."""
    inp = tmp_path / "in"
    inp.mkdir()
    write(inp / "blog.jsonl", [{"id": "b1", "text": BODY}, {"id": "b2", "text": OTHER}])
    write(inp / "news.jsonl", [{"id": "n1", "text": OTHER.replace("farmer", "miller")}])
    write(inp / "wiki.jsonl", [{"id": "w1", "text": BODY.replace("river", "canal")}])

    def run(name: str) -> Path:
        r = curate("run", "--input", inp / "blog.jsonl", "--domain", "web", "--source", "blog", "--input", inp / "news.jsonl",
                   "--domain", "web", "--source", "news", "--input", inp / "wiki.jsonl", "--domain", "web", "--source", "wiki",
                   "--stages", "ingest,tokenize", "--output", tmp_path / name, "--progress", "off")
        assert r.returncode == 0, r.stderr
        return tmp_path / name

    def tokens(out: Path) -> dict:
        t = pl.read_parquet(out / "text" / "*.parquet").group_by("domain", "source").agg(pl.col("num_tokens").sum())
        return {f"{d}/{s}": n for d, s, n in t.iter_rows()}

    old = run("old")
    write(inp / "blog.jsonl", [{"id": "b1", "text": BODY}])  # the blog loses a page
    write(inp / "news.jsonl", [{"id": "n1", "text": OTHER.replace("farmer", "miller")}, {"id": "n2", "text": OTHER}])  # news gains it
    new = run("new")
    a, b = tokens(old), tokens(new)
    assert a["web/wiki"] == b["web/wiki"] and a["web/blog"] > b["web/blog"] and a["web/news"] < b["web/news"]
    r = curate("audit", new, "--compare", old)
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("tokens by source:"))
    assert line == (f"tokens by source: web/blog {a['web/blog']:,} -> {b['web/blog']:,} ({b['web/blog'] - a['web/blog']:+,}), "
                    f"web/news {a['web/news']:,} -> {b['web/news']:,} ({b['web/news'] - a['web/news']:+,}); 1 source the same"), r.stdout
    r = curate("audit", new, "--compare", new)
    assert "tokens by source: the same (3 sources)" in r.stdout, r.stdout


def test_tokens_by_source_of_a_manifest_without_them_is_not_said():
    """A tokens.json written before ``per_source``: its sources are not known, not 0 (every
    source of the other output would read as new); an output without tokens/ is 0."""
    from curate.audit.compare import source_lines

    now = {"total": 30, "per_domain": {"web": 30}, "per_source": {"web": {"blog": 10, "news": 20}}}
    assert source_lines({"total": 30, "per_domain": {"web": 30}}, now) == []
    assert source_lines({}, now) == ["tokens by source: web/blog 0 -> 10 (+10), web/news 0 -> 20 (+20)"]


def test_inputs_reordered_are_said_by_the_rerun_and_by_compare(tmp_path):
    """[[inputs]] tables given in another order: the rerun said 'written with another config
    (inputs)' while --compare said 'config: the same settings'. The order matters where two globs
    match a file (the first input reads it: its source and ids; ground truth: the two outputs'
    text read back with polars), so both say 'inputs reordered'."""
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        write(tmp_path / d / "x.jsonl", [{"id": f"{d}1", "text": BODY.replace("mill", f"mill {d}")}])
    both, only_b = str(tmp_path / "*" / "x.jsonl"), str(tmp_path / "b" / "x.jsonl")
    tables = {"web": f'[[inputs]]\nglob = "{both}"\ndomain = "web"\nsource = "web"\n',
              "b": f'[[inputs]]\nglob = "{only_b}"\ndomain = "web"\nsource = "b"\n'}
    for name, order in (("web_first", ("web", "b")), ("b_first", ("b", "web"))):
        (tmp_path / f"{name}.toml").write_text('[run]\nstages = ["ingest"]\nprogress = "off"\n' + "\n".join(tables[t] for t in order))
        r = curate("run", tmp_path / f"{name}.toml", "--output", tmp_path / name)
        assert r.returncode == 0, r.stderr
    sources = {name: sorted(pl.read_parquet(tmp_path / name / "text" / "*.parquet")["source"]) for name in ("web_first", "b_first")}
    assert sources == {"web_first": ["web", "web"], "b_first": ["b", "web"]}  # the order changed the output
    r = curate("audit", tmp_path / "b_first", "--compare", tmp_path / "web_first")
    assert r.returncode == 0, r.stderr
    assert f"  inputs reordered: {json.dumps([both, only_b])} -> {json.dumps([only_b, both])} (a file more than one glob matches" in r.stdout, r.stdout
    r = curate("run", tmp_path / "b_first.toml", "--output", tmp_path / "web_first")  # a rerun into the other output
    assert r.returncode == 0 and "made with another config (inputs reordered)" in r.stderr, r.stderr


def test_compare_of_a_config_an_older_curate_spelt_otherwise_says_no_setting(tmp_path, monkeypatch):
    """An output of an older curate records a word list and an input as typed (`./bad.txt`,
    `./in/`), which config.load now spells `bad.txt` and `in`: a rerun takes it as the same config
    (cli.config_changes reads it respelt), but audit --compare said both as settings changed."""
    from curate import cli, config
    from curate.audit.compare import config_lines

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.txt").write_text("darn\n")
    (tmp_path / "c.toml").write_text('[run]\nstages = ["filter"]\n[[inputs]]\nglob = "./in/"\ndomain = "web"\n'
                                     '[filter.badwords.lists]\nen = "./bad.txt"\n')
    new = json.loads(json.dumps(config.load("c.toml").to_dict()))
    old = json.loads(json.dumps(new))
    old["filter"]["badwords"]["lists"]["en"], old["inputs"][0]["glob"] = "./bad.txt", "./in/"  # as the older curate wrote them
    assert cli.config_changes(old, new) == []
    assert config_lines(old, new) == []
    old["filter"]["badwords"]["lists"]["en"] = "other.txt"
    assert config_lines(old, new) == ['filter.badwords.lists.en: "other.txt" -> "bad.txt"']
