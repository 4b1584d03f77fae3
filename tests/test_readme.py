"""The README's examples run as written, on the demo's output and raw shards.

Every fenced block of README.md must be claimed by exactly one entry of EXAMPLES (run here,
or set aside with the reason), so a new example without a test fails this file.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from curate import cli, config

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", README, re.M | re.S)]

pytestmark = pytest.mark.usefixtures("one_process_runs")  # the in-process runs that make an example's input

# block marker -> how it is tested (test name) or why it is not run
EXAMPLES = {
    ".venv/bin/curate demo": "demo fixture (the install steps before it need a network)",
    "pytest -q": "not run: it is this test suite",
    "curate run --input 'crawl/*.warc.gz'": "test_run_example",
    "import polars as pl; print": "test_ledger_query_example",
    "select('source_id'": "test_source_id_join_example",
    'mine = "rec-17"': "test_kept_copy_example",
    "[run]\noutput": "test_config_example",
    "curate audit corpus/": "test_audit_example",
    "curate mix corpus --set": "test_mix_example",
    "from curate.loader import TokenLoader": "test_loader_example",
    "ds.set_epoch(epoch)": "test_set_epoch_example",
    "from curate.stages.tokenize import Encoder": "test_decode_example",
    "curate train-quality": "not run: trains on ../shared/corpora (tests/test_quality.py runs the command)",
    "--runner=FlinkRunner": "test_runner_examples_pass_the_option_check",
    "worker_pool_main --service_port=50000": "test_worker_pool_example",
    "def too_many_emoji(batch)": "test_custom_rules_example",
    "[filter.custom]\nemoji_spam": "test_custom_rules_example",
    "PYTHONPATH=. curate run rules.toml": "test_custom_rules_example",
    "[curate] done in": "output sample, not a command",
    "removed at filter by fineweb_line_punct": "output sample of --why, not a command (test_audit_why.py checks the lines)",
    "documents kept: 255 -> 127": "output sample of --compare, not a command (test_audit_compare.py checks the lines)",
    "DIR/text/part-00000": "output layout, not a command",
}


def block(marker: str) -> str:
    return next(text for _, text in BLOCKS if marker in text)


def test_every_readme_block_is_claimed():
    for lang, text in BLOCKS:
        claims = [m for m in EXAMPLES if m in text]
        assert len(claims) == 1, f"README block needs exactly one entry in EXAMPLES, has {claims}:\n{text}"
    assert all(any(m in text for _, text in BLOCKS) for m in EXAMPLES), "EXAMPLES names a block the README lost"


@pytest.fixture
def shell(tmp_path):
    """Run a README shell block in a fresh folder, `curate` and `python` being this checkout's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, cmd in (("curate", f'"{sys.executable}" -m curate.cli'), ("python", f'"{sys.executable}"')):
        # this checkout first, also where an example sets PYTHONPATH (an installed curate needs none)
        (bin_dir / name).write_text(f'#!/bin/sh\nexport PYTHONPATH="{REPO}:${{PYTHONPATH:-}}"\nexec {cmd} "$@"\n')
        (bin_dir / name).chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}

    def run(script: str) -> subprocess.CompletedProcess:
        r = subprocess.run(["bash", "-euc", script], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"{script}\n{r.stdout}\n{r.stderr}"
        return r

    run.cwd = work
    return run


def corpus_copy(demo, work: Path) -> Path:
    shutil.copytree(demo[0] / "out", work / "corpus")
    return work / "corpus"


def test_run_example(demo, shell):
    raw, work = demo[0] / "raw", shell.cwd
    (work / "crawl").mkdir()
    shutil.copy(next((raw / "web").glob("*.warc.gz")), work / "crawl" / "demo.warc.gz")
    (work / "dumps").mkdir()
    with open(next((raw / "web").glob("*.jsonl")), "rb") as f, gzip.open(work / "dumps" / "c4-00000.jsonl.gz", "wb") as g:
        g.write(f.read())
    shutil.copytree(raw / "code", work / "the-stack")
    shutil.copytree(raw / "books", work / "books")
    shell(block("curate run --input 'crawl/*.warc.gz'"))
    text = pq.read_table(work / "corpus" / "text")
    assert set(text.column("domain").to_pylist()) == {"web", "code", "books"}
    assert "c4" in text.column("source").to_pylist()


def removed_id(corpus: Path) -> tuple[str, str]:
    ledger = pq.read_table(corpus / "ledger").sort_by("id")
    return ledger.column("id")[0].as_py(), ledger.column("rule")[0].as_py()


def test_ledger_query_example(demo, shell):
    corpus = corpus_copy(demo, shell.cwd)
    doc_id, rule = removed_id(corpus)
    out = shell(block("import polars as pl; print").replace("'...'", f"'{doc_id}'")).stdout
    assert rule in out


def test_source_id_join_example(tmp_path, shell):
    """Your own ids, next to why each record was removed."""
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "mine.jsonl").write_text('{"id": "rec-1", "text": "   "}\n{"id": "rec-2", "text": "kept text here."}\n')
    assert cli.main(["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", str(shell.cwd / "corpus"), "--progress", "off"]) == 0
    out = shell(block("select('source_id'")).stdout
    assert "rec-1" in out and "empty_text" in out and "rec-2" not in out


def test_kept_copy_example(tmp_path, shell):
    """An auditor's question by their own id: which rule, and which copy was kept (and its fate)."""
    inp = tmp_path / "in"
    inp.mkdir()
    body = " ".join(f"word{i % 97} plain sentence number {i} about gardens and rivers." for i in range(60))
    rows = [{"id": "rec-16", "text": body}, {"id": "rec-17", "text": body}, {"id": "rec-18", "text": "Another page. " + body[:200]}]
    (inp / "mine.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["run", "--input", str(inp), "--domain", "web", "--stages", "ingest,dedup",
            "--output", str(shell.cwd / "corpus"), "--progress", "off"]
    assert cli.main(args) == 0
    removed = pq.read_table(shell.cwd / "corpus" / "ledger").column("source_id").to_pylist()
    assert len(removed) == 1 and removed[0] in ("rec-16", "rec-17")
    other = ({"rec-16", "rec-17"} - set(removed)).pop()
    script = block('mine = "rec-17"').replace('"rec-17"', repr(removed[0]))
    out = shell(f"python - <<'EOF'\n{script}EOF\n").stdout
    assert "exact_duplicate" in out and other in out and "kept" in out and "mine.jsonl" in out


def test_ledger_query_with_duckdb(demo, shell):
    """The DuckDB form the same paragraph gives (duckdb is a test dependency)."""
    query = re.search(r'`(duckdb\.sql\(.*?\))`', README).group(1)
    corpus = corpus_copy(demo, shell.cwd)
    doc_id, rule = removed_id(corpus)
    out = shell(f"python -c {shlex.quote('import duckdb; print(' + query.replace(chr(39) + '...' + chr(39), repr(doc_id)) + ')')}").stdout
    assert rule in out


def test_config_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example's evaluation set, where its relative glob looks
    with gzip.open(tmp_path / "HumanEval.jsonl.gz", "wt") as f:
        f.write(json.dumps({"task_id": "t/0", "prompt": "def f():", "canonical_solution": "    return 1"}) + "\n")
    path = tmp_path / "my.toml"
    path.write_text(block("[run]\noutput"))
    cfg = config.load(str(path))
    assert cfg.stages["langid"]["languages"] == ["en", "de"] and cfg.inputs[0]["format"] == "warc"
    assert cfg.inputs[1]["meta_fields"] == ["stars"] and cfg.inputs[1]["carry_meta"] is True


def test_custom_rules_example(shell):
    """The README's rules of your own: its module and config as written, its commands run; each
    rule removes what it says, in its domains, under its name."""
    work = shell.cwd
    (work / "myrules.py").write_text(block("def too_many_emoji(batch)"))
    (work / "rules.toml").write_text(block("[filter.custom]\nemoji_spam"))
    import codecs
    import this  # a page the built-in web rules keep: the Zen of Python (prints it once, to the captured stdout)

    page = codecs.decode(this.s, "rot13")
    pages = {"spam": "🙂" * 6 + " " + page, "ok": "🙂" * 5 + " " + page, "titled": "Untitled Document\n" + page, "plain": page}
    (work / "pages").mkdir()
    (work / "pages" / "a.jsonl").write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in pages.items()))
    (work / "src").mkdir()
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(20))
    (work / "src" / "licensed.py").write_text("# SPDX-License-Identifier: MIT\n" + body)
    (work / "src" / "bare.py").write_text(body)
    (work / "src" / "Untitled Document.py").write_text("# Copyright 2024\n" + body)  # a title rule for web only
    out = shell(block("PYTHONPATH=. curate run rules.toml")).stdout
    assert "emoji_spam: 1 document removed" in out, out
    ledger = pq.read_table(work / "corpus" / "ledger").to_pylist()
    got = sorted((r["source_id"] or r["path"], r["rule"], r["value"]) for r in ledger)
    assert got == [("bare.py", "no_licence", None), ("spam", "emoji_spam", 6.0), ("titled", "title_listed", None)], got


def test_audit_example(demo, shell):
    corpus_copy(demo, shell.cwd)
    (shell.cwd / "downloaded").mkdir()
    rows = pq.read_table(demo[0] / "out" / "text", columns=["id", "text", "url"]).to_pylist()  # a well-formed JSONL corpus
    with gzip.open(shell.cwd / "downloaded" / "a.jsonl.gz", "wt", encoding="utf-8") as g:
        g.writelines(json.dumps(r) + "\n" for r in rows)
    removed = pq.read_table(demo[0] / "out" / "ledger").sort_by("id").to_pylist()[0]
    kept = next(r for r in rows if r["url"])
    script = block("curate audit corpus/").replace("# any Parquet/JSONL corpus", "")
    shutil.copytree(shell.cwd / "corpus", shell.cwd / "yesterday")
    out = shell(script.replace("rec-17", removed["id"]).replace("https://example.org/a", kept["url"])).stdout
    assert (shell.cwd / "corpus" / "report.html").is_file() and (shell.cwd / "audit" / "report.html").is_file()
    assert f"{removed['id']} (" in out and f"removed at {removed['stage']} by {removed['rule']}" in out, out
    assert f"{kept['id']} (" in out and "kept in text/" in out, out
    assert f"documents kept: {len(rows):,} -> {len(rows):,} ({len(rows):,} in both)" in out, out
    led = pq.read_table(demo[0] / "out" / "ledger")
    near = led.filter(pc.equal(led["rule"], "near_duplicate"))
    assert f"near_duplicate: {near.num_rows} documents removed; {min(5, near.num_rows)} of smallest id" in out, out


def test_mix_example(demo, shell):
    """The README's `curate mix` block prints what its comments say (the time apart)."""
    corpus_copy(demo, shell.cwd)
    lines = block("curate mix corpus --set").splitlines()
    got = shell(lines[0]).stdout.splitlines()
    said = [line.removeprefix("# ") for line in lines[1:]]
    assert re.sub(r"in [\d.]+ s\.", "", got[0]) == re.sub(r"in [\d.]+ s\.", "", said[0])
    assert got[1:len(said)] == said[1:]


def mix_rows() -> list[tuple[str, str]]:
    """The README's table of `curate mix` examples: (command, a line it prints or its error)."""
    part = README.split("### A dry run of the mix", 1)[1].split("<!-- tests/test_readme.py runs each row", 1)[1].split("\n\n", 1)[0]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^\| `(curate mix .*?)` \| (.*?) \|$", part, re.M)]


def test_mix_table_is_read():
    rows = mix_rows()
    assert len(rows) >= 6 and sum(r.startswith("error:") for _, r in rows) >= 3


@pytest.mark.parametrize("command, result", mix_rows())
def test_mix_examples(demo, tmp_path, monkeypatch, capsys, command, result):
    """Each `curate mix` row of the README on a copy of the demo's output: a line it prints, or its one-line error."""
    corpus_copy(demo, tmp_path)
    monkeypatch.chdir(tmp_path)
    code = cli.main(shlex.split(command)[1:])
    out, err = capsys.readouterr()
    if result.startswith("error: "):
        assert code == 2 and len(err.strip().splitlines()) == 1 and result.split("`")[1] in err, err
    else:
        assert code == 0 and result.strip("`") in out.splitlines(), out + err


def test_loader_example(demo, shell):
    corpus_copy(demo, shell.cwd)
    # `state` exists only if the loop ran; batches counted must match len(loader)
    code = "rank, world_size = 0, 1\n" + block("from curate.loader import TokenLoader") + "print(state['batch'], len(loader))\n"
    (shell.cwd / "train.py").write_text(code)
    batches, length = shell("python train.py").stdout.split()
    assert int(batches) == int(length) >= 1


def test_set_epoch_example(demo, shell):
    """The set_epoch block with the demo's small corpus (smaller windows and fewer workers, so
    each reader has batches): both loops of an epoch read the same batches, epochs differ."""
    corpus_copy(demo, shell.cwd)
    code = block("ds.set_epoch(epoch)")
    code = code.replace("batch_size=8, seq_len=2049, num_workers=4", "batch_size=2, seq_len=128, num_workers=2")
    code = code.replace("num_workers=4, persistent_workers=True", "num_workers=2, persistent_workers=True")
    code = code.replace("for batch in dl: ...      # epoch", "for batch in dl: train[epoch].append(batch.tolist())  #")
    code = code.replace("for batch in dl: ...      # the same", "for batch in dl: evals[epoch].append(batch.tolist())  #")
    assert code.count(".append(") == 2 and "num_workers=4" not in code
    head = ("import collections, json, torch\nfrom curate.loader import TokenDataset\n"
            "epoch0, batch0, epochs = 0, 0, 2\ntrain, evals = collections.defaultdict(list), collections.defaultdict(list)\n")
    (shell.cwd / "epochs.py").write_text(head + code + "print(json.dumps([train, evals]))\n")
    train, evals = json.loads(shell("python epochs.py").stdout.splitlines()[-1])
    assert train == evals and len(train) == 2 and train["0"] and train["0"] != train["1"]


def test_decode_example(demo, shell):
    corpus_copy(demo, shell.cwd)
    (shell.cwd / "decode.py").write_text(block("from curate.stages.tokenize import Encoder") + "print('ok', row['num_tokens'])\n")
    out = shell("python decode.py").stdout.split()
    assert out[0] == "ok" and int(out[1]) > 1


def test_runner_examples_pass_the_option_check():
    text = block("--runner=FlinkRunner").replace("\\\n", " ")
    commands = [shlex.split(line, comments=True) for line in text.splitlines() if line.startswith("curate run")]
    assert len(commands) == 3
    _, parsers = cli._parser()
    for argv in commands:
        ns, rest = parsers["run"].parse_known_args(argv[2:])
        assert ns.config == "my.toml"
        assert cli.check_rest("run", parsers["run"], rest) == [], argv


@pytest.mark.slow
def test_worker_pool_example(demo, shell):
    """The offline cluster recipe, as written: a worker pool beside the job service in curate's
    process gives the demo's DirectRunner output, byte for byte (the manifest aside)."""
    import socket

    work = shell.cwd
    shutil.copy(demo[0] / "demo.toml", work / "my.toml")
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "activate").write_text("# this checkout's curate and python are on PATH already\n")
    with socket.socket() as s:  # a port of our own: 50000 may be taken on a shared machine
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    script = block("worker_pool_main --service_port=50000").replace("50000", str(port))
    shell("trap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + script)  # the pool goes with the shell
    direct, portable = demo[0] / "out", work / "corpus-portable"
    files = sorted(str(p.relative_to(direct)) for p in direct.rglob("*.parquet"))
    assert files and files == sorted(str(p.relative_to(portable)) for p in portable.rglob("*.parquet"))
    for f in [*files, "stats/run.json", "tokens.json"]:
        assert (direct / f).read_bytes() == (portable / f).read_bytes(), f


def test_config_reference_table_is_generated():
    """docs/configuration.md's table of checked options (the README links to it) is
    config.reference_table(): the checks config.load applies."""
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert "(docs/configuration.md)" in README
    start = "<!-- generated by curate.config.reference_table(); tests/test_readme.py keeps it equal -->\n"
    table = doc.split(start, 1)[1].split("<!-- end of generated table -->", 1)[0]
    assert table == config.reference_table()
    assert "| `dedup.scheme` | `\"affine32\"` | `affine32`, `affine64`, `legacy` |" in table


def set_rows() -> list[tuple[str, str]]:
    """The README's table of --set examples: (command-line words, the run's config or the error)."""
    part = README.split("### Overrides with --set", 1)[1].split("\n\n", 3)[2]  # the comment and table
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^\| `(.*?)` \| (.*?) \|$", part, re.M)]


def test_set_table_is_read():
    rows = set_rows()
    assert len(rows) >= 10 and sum(r.startswith("error:") for _, r in rows) >= 5


@pytest.mark.parametrize("args, result", set_rows())
def test_set_examples(tmp_path, capsys, args, result):
    """Each --set row of the README through `curate run`: the config it gives, or its one-line error."""
    import tomllib

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"id": "1", "text": "a web page"}\n')
    path = tmp_path / "team.toml"
    path.write_text(f'[run]\noutput = "{tmp_path}/out"\n[[inputs]]\nglob = "{tmp_path}/in/*.jsonl"\ndomain = "web"\n'
                    "[rebalance]\ntargets = {web = 0.6, code = 0.25, books = 0.15}\nmax_epochs = {books = 3}\n")
    argv = ["run", str(path), *shlex.split(args)]
    if result.startswith("error: "):
        message = result.split("`")[1]
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert len([line for line in err.splitlines() if message in line]) == 1
        return
    _, parsers = cli._parser()
    ns, rest = parsers["run"].parse_known_args(argv[1:])
    assert rest == []
    cfg = cli.prepare_run(ns)[0]
    key, value = result.split("`")[1].split(" = ", 1)
    section, name = key.split(".")
    got = cfg.run if section == "run" else cfg.stages[section]
    assert got[name] == tomllib.loads(f"v = {value}")["v"]
