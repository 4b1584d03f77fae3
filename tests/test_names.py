"""File names that are not UTF-8 (a Latin-1 ``caf\\xe9.jsonl``: on Linux a legal name, Python's
surrogateescape str) work end to end through the ``curate`` command line: read, ledger and
quarantine rows, stats/, the audit of that output and ``audit --compare``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curate import cli

REPO = Path(__file__).resolve().parents[1]
LATIN1 = os.fsdecode(b"caf\xe9")  # 'caf\udce9'

PAGE = ("The old library near the harbour opens every morning at nine, and the neighbours often meet there "
        "to read the newspapers and talk about the weather before they go to work.")


def write_pages(path: Path) -> None:
    """One kept page, one empty text (ledger) and one broken line (quarantine); no id field: a
    record's id is made of its file's name and offset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((json.dumps({"text": PAGE}) + "\n" + json.dumps({"text": ""}) + "\n{broken\n").encode())


def run(*args) -> int:
    return cli.main([str(a) for a in args])


def audit(*args) -> int:
    from curate.audit import command

    return command.main([str(a) for a in args])


def paths(out: Path) -> set[str]:
    got = set()
    for kind in ("text", "ledger", "quarantine"):
        if (out / kind).exists():
            got |= set(pq.read_table(out / kind, columns=["path"]).column("path").to_pylist())
    return got


def test_an_input_whose_name_is_not_utf8_runs_end_to_end(tmp_path, monkeypatch, capsys):
    """It failed with only `curate: 'utf-8` (the manifest's JSON could not hold the name)."""
    monkeypatch.chdir(tmp_path)
    write_pages(tmp_path / "sub" / (LATIN1 + ".jsonl"))
    assert run("run", "--input", f"sub/{LATIN1}.jsonl", "--domain", "web", "--stages", "ingest,filter", "--output", "out") == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_bytes())  # UTF-8 JSON, the name escaped
    assert [i["path"] for i in manifest["inputs"]] == [f"{LATIN1}.jsonl"]
    assert paths(tmp_path / "out") == {"caf\\xe9.jsonl"}
    json.loads((tmp_path / "out" / "stats" / "run.json").read_bytes())
    assert audit("out") == 0, capsys.readouterr().err
    assert run("run", "--input", f"sub/{LATIN1}.jsonl", "--domain", "web", "--stages", "ingest", "--output", "out2") == 0
    capsys.readouterr()
    assert audit("out2", "--compare", "out") == 0, capsys.readouterr().err


def test_folder_glob_code_tree_and_config_named_so(tmp_path, monkeypatch, capsys):
    """A folder input holding such a file next to the UTF-8 name ``caf\\xe9.jsonl`` (a backslash,
    an x, e, 9: the path column's form of the other), a glob, a config file and a code tree named
    so. Their ids differ and are stable; the manifest lists both files, each as it is."""
    monkeypatch.chdir(tmp_path)
    write_pages(tmp_path / "sub" / (LATIN1 + ".jsonl"))
    write_pages(tmp_path / "sub" / "caf\\xe9.jsonl")
    (tmp_path / "tree" / "src").mkdir(parents=True)
    (tmp_path / "tree" / "src" / (LATIN1 + ".py")).write_text("def f(x):\n    return x * 2\n\n\nprint(f(21))\n")
    (tmp_path / (LATIN1 + ".toml")).write_text('[run]\nstages = ["ingest"]\n')
    ids = []
    for out in ("a", "b"):
        assert run("run", "--input", "sub", "--domain", "web", "--stages", "ingest", "--output", out) == 0, capsys.readouterr().err
        ids.append(pq.read_table(tmp_path / out / "text", columns=["id"]).column("id").to_pylist())
    assert ids[0] == ids[1] and len(set(ids[0])) == 2  # stable; one per file
    inputs = json.loads((tmp_path / "a" / "manifest.json").read_bytes())["inputs"]
    assert sorted(i["path"] for i in inputs) == sorted([LATIN1 + ".jsonl", "caf\\xe9.jsonl"])
    assert run("run", LATIN1 + ".toml", "--input", "sub/*.jsonl", "--domain", "web", "--output", "g") == 0, capsys.readouterr().err
    assert sorted(pq.read_table(tmp_path / "g" / "text", columns=["id"]).column("id").to_pylist()) == sorted(ids[0])
    assert run("run", "--input", "tree", "--domain", "code", "--stages", "ingest", "--output", "c") == 0, capsys.readouterr().err
    assert paths(tmp_path / "c") == {"src/caf\\xe9.py"}
    capsys.readouterr()
    assert audit("c") == 0 and audit("a", "--compare", "g") == 0, capsys.readouterr().err


def test_an_output_folder_named_so_is_refused_in_one_line_before_the_run(tmp_path, monkeypatch, capsys):
    """pyarrow's file systems take UTF-8 paths alone: the run read every input, then failed with
    `curate: 'utf-8' codec can't encode ...`; the audit of such a folder so too."""
    monkeypatch.chdir(tmp_path)
    write_pages(tmp_path / "in.jsonl")
    assert run("run", "--input", "in.jsonl", "--domain", "web", "--output", "out" + LATIN1[3:]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("curate: config error: run.output $'out\\xe9': a folder name that is not UTF-8")
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl"]
    (tmp_path / LATIN1).mkdir()
    for args in ([LATIN1], ["in.jsonl", "--compare", LATIN1], ["--corpus", "in.jsonl", "--output", LATIN1]):
        assert audit(*args) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith("curate audit: $'caf\\xe9': a folder name that is not UTF-8"), err


def test_a_codec_error_is_said_whole(monkeypatch, capsys):
    """Beam puts the step into a codec error's first word: the message was cut to `curate: 'utf-8`."""
    import pipelines.pipeline

    def fail(*a, **k):
        raise UnicodeEncodeError("utf-8 [while running 'Ingest/Read']", LATIN1, 3, 4, "surrogates not allowed")

    monkeypatch.setattr(cli, "cmd_run", fail)
    assert run("run", "--input", "x.jsonl", "--domain", "web", "--output", "o") == 2
    assert capsys.readouterr().err == "curate: 'utf-8' codec can't encode character '\\udce9' in position 3: surrogates not allowed\n"


def test_compare_prints_a_name_holding_a_newline_as_one_item(tmp_path, monkeypatch, capsys):
    """`curate audit --compare`: each item was escaped line by line after being split at every
    newline, a file's or folder's name's too: `input files: 1 file added (in/x` then `y.jsonl)`."""
    monkeypatch.chdir(tmp_path)
    write_pages(tmp_path / "in" / "a.jsonl")
    assert run("run", "--input", "in", "--domain", "web", "--stages", "ingest", "--output", "old") == 0
    write_pages(tmp_path / "in" / "x\ny.jsonl")
    assert run("run", "--input", "in", "--domain", "web", "--stages", "ingest", "--output", "new\nout") == 0
    capsys.readouterr()
    assert audit("new\nout", "--compare", "old") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "comparing new\\nout (new) with old (old)"
    assert "input files: 1 file added (in/x\\ny.jsonl)" in out
    assert not [line for line in out if line.startswith(("y.jsonl", "out (new)"))]
    assert out[-1] == "look a document up: in bash: curate audit $'new\\x0aout' --why ID (and old for before)"


@pytest.mark.parametrize("name", [LATIN1 + " it's.json", "x\ny.json", "plain it's.json"])
def test_a_convert_hint_says_bash_where_it_quotes_as_bash_does(tmp_path, capsys, name):
    """The convert-it command quotes a name one_line escapes as $'...', which bash, zsh and ksh
    read and dash (Debian's sh) does not: said `convert it in bash (...)` then; a name with no
    such character a POSIX word, said as before and run by dash. Either, run as said, converts."""
    import shutil

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / name).write_text(json.dumps([{"text": PAGE}, {"text": PAGE + " again"}]))
    assert run("run", "--input", folder / name, "--domain", "web", "--output", tmp_path / "o") == 2
    err = capsys.readouterr().err
    bash = name != "plain it's.json"
    lead = "convert it in bash (" if bash else "convert it ("
    assert err.count("\n") == 1 and lead in err, err
    command = err.split(lead, 1)[1].rstrip().removesuffix(")")
    assert command.startswith("jq -c '.[]' " + ("$'" if bash else "'"))
    if not shutil.which("jq"):
        pytest.skip("needs jq to run the command")
    shells = ["bash"] + (["dash"] if not bash and shutil.which("dash") else [])
    for sh in shells:
        for f in folder.iterdir():
            if f.name != name:
                f.unlink()
        subprocess.run([sh, "-c", command], check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
        (made,) = [f for f in folder.iterdir() if f.name != name]
        assert [json.loads(x)["text"] for x in made.read_text().splitlines()] == [PAGE, PAGE + " again"], sh


@pytest.mark.parametrize("stem", [LATIN1, "plain"])
def test_every_kind_of_hint_says_bash_where_it_quotes_as_bash_does(tmp_path, capsys, stem):
    """A gzipped Parquet file, a bzip2 JSONL file, an EPUB book, a tar archive: the command said
    for each is marked `in bash` where a name in it is a $'...' word, and only there."""
    import bz2
    import gzip
    import tarfile

    files = {f"{stem}.parquet.gz": gzip.compress(b"PAR1"), f"{stem}.jsonl.bz2": bz2.compress(b'{"text": "x"}\n'),
             f"{stem}.epub": b"PK\x03\x04", f"{stem}.tar": None}
    for name, data in files.items():
        path = tmp_path / name
        if data is None:
            with tarfile.open(path, "w") as t:
                t.addfile(tarfile.TarInfo("a.jsonl"))
        else:
            path.write_bytes(data)
        assert run("run", "--input", path, "--domain", "web", "--output", tmp_path / "o") == 2
        err = capsys.readouterr().err
        assert ("in bash " in err) == (stem == LATIN1), err
        assert ("$'" in err) == (stem == LATIN1), err


def test_why_takes_a_name_typed_as_its_bytes_and_says_when_it_names_two_files(tmp_path, monkeypatch, capsys):
    """`audit --why` with a path typed as the file's own bytes (caf\\xe9 in Latin-1) failed with
    `curate audit: 'utf-8' codec can't encode character '\\udce9'`; typed as the path column writes
    it, it listed the rows of both caf\\xe9.jsonl files (the Latin-1 one and the one literally so
    named, the README's collision) under one origin, as if one file's. It now reads the bytes as
    the column writes them, and a note says which two files the key names (each quoted as a shell
    word: $'caf\\xe9.jsonl' is the Latin-1 one)."""
    monkeypatch.chdir(tmp_path)
    write_pages(tmp_path / "sub" / (LATIN1 + ".jsonl"))
    write_pages(tmp_path / "sub" / "caf\\xe9.jsonl")
    assert run("run", "--input", "sub", "--domain", "web", "--stages", "ingest,filter", "--output", "out") == 0, capsys.readouterr().err
    capsys.readouterr()
    said = {}
    for key in (LATIN1 + ".jsonl", "caf\\xe9.jsonl", "sub/" + LATIN1 + ".jsonl"):
        assert audit("out", "--why", key) == 0, capsys.readouterr().err
        said[key] = capsys.readouterr()
    for got in said.values():
        assert got.out == said["caf\\xe9.jsonl"].out and "2 input files of sub" in got.err
    lines = said["caf\\xe9.jsonl"].out.splitlines()
    assert len(lines) == 6  # each file's kept page, removed empty text and quarantined line
    err = said["caf\\xe9.jsonl"].err
    assert err.count("\n") == 1 and "2 input files" in err and "('caf\\xe9.jsonl', $'caf\\xe9.jsonl')" in err, err


def _bash_words(command: str) -> list[str]:
    """The words bash makes of ``command`` (ground truth: bash itself, not curate's quoting)."""
    got = subprocess.run(["bash", "-c", f"printf '%s\\0' {command}"], capture_output=True, check=True).stdout
    return [os.fsdecode(w) for w in got.split(b"\0")[:-1]]


def test_every_printed_command_that_quotes_as_bash_does_says_in_bash(tmp_path, monkeypatch, capsys):
    """A command curate prints for the next step that quotes a name as $'...' (a newline in an
    output folder's name) said 'in bash' only in the convert-it hints: --rule's look-up, the
    manifest-given-for-the-folder error, the report's look-up and a folder-input's glob hint
    printed `curate audit $'new\\nout' ...` bare, which dash runs as another name. Each now
    follows "in bash: " (shell.said), and bash reads it back to the name."""
    monkeypatch.chdir(tmp_path)
    write_pages(tmp_path / "in.jsonl")
    name = "new\nout"
    assert run("run", "--input", "in.jsonl", "--domain", "web", "--stages", "ingest", "--output", name) == 0, capsys.readouterr().err
    capsys.readouterr()
    said = []
    assert audit(name, "--rule", "empty_text") == 0
    said.append(capsys.readouterr().out.splitlines()[0].split(" (", 1)[1].rsplit(" for one):", 1)[0])
    assert audit(f"{name}/manifest.json") == 2
    said.append(capsys.readouterr().err.split("give the output directory: ", 1)[1].strip())
    assert audit(name) == 0
    import html
    import re

    said.append(html.unescape(re.search(r"names: <code>(.*?)</code>", (tmp_path / name / "report.html").read_text()).group(1)))
    for s in said:
        assert s.startswith("in bash: curate audit $'") and "new\\x0aout'" in s, s
        words = _bash_words(s.removeprefix("in bash: "))
        assert words[:2] == ["curate", "audit"] and words[2] in (name, str(tmp_path / name)), s
    (tmp_path / "mixed\nin").mkdir()
    write_pages(tmp_path / "mixed\nin" / "a.jsonl")
    (tmp_path / "mixed\nin" / "b.weird").write_text("?")
    assert run("run", "--input", "mixed\nin", "--domain", "web", "--stages", "ingest", "--output", "o3") == 2
    err = capsys.readouterr().err
    assert "leaves it out: in bash: --input $'" in err, err
    glob = err.split("leaves it out: in bash: ", 1)[1].split()[:2]
    assert _bash_words(" ".join(glob))[1] == f"{tmp_path}/mixed\nin/*.jsonl", err


def test_audit_corpus_reads_files_and_globs_whose_names_are_not_utf8(tmp_path, monkeypatch, capsys):
    """`curate audit --corpus $'caf\\xe9*.jsonl'` (or the file itself) died with a traceback,
    polars' "TypeError: Object does not have a .read() method" (it takes UTF-8 names alone); the
    file is read through a link named in UTF-8, a Parquet file too, and the summary's source
    names the glob with the byte as ``\\xe9``. Ground truth: the same files named in ASCII."""
    import pyarrow as pa

    monkeypatch.chdir(tmp_path)
    for name in (LATIN1, "cafe"):
        (tmp_path / "d").mkdir(exist_ok=True)
        (tmp_path / "d" / f"{name}-1.jsonl").write_text("".join(json.dumps({"text": f"{i} {PAGE}"}) + "\n" for i in range(3)))
        buf = pa.BufferOutputStream()  # pyarrow writes to UTF-8 names alone
        pq.write_table(pa.table({"text": [PAGE, PAGE + " Again."]}), buf)
        (tmp_path / "d" / f"{name}-2.parquet").write_bytes(buf.getvalue().to_pybytes())
    for n, given in enumerate([f"d/{LATIN1}*.jsonl", f"d/{LATIN1}-2.parquet", f"d/{LATIN1}*"]):
        got = []
        for name in (LATIN1, "cafe"):
            assert audit("--corpus", given.replace(LATIN1, name), "--output", f"a{n}{name == LATIN1}") == 0, capsys.readouterr().err
            got.append(json.loads((tmp_path / f"a{n}{name == LATIN1}" / "stats" / "summary.json").read_bytes()))
        assert got[0]["source"] == given.replace(LATIN1, "caf\\xe9"), got[0]["source"]
        assert got[0]["documents"] == got[1]["documents"] and got[0]["characters"] == got[1]["characters"], got
        assert got[0]["documents"]["total"] == (3, 2, 5)[n]


def test_audit_corpus_says_a_damaged_file_whose_name_is_not_utf8_by_its_bytes(tmp_path, monkeypatch, capsys):
    """A damaged file named in Latin-1 (``caf\\xe9.jsonl.gz`` cut short, ``caf\\xe9.parquet`` not
    Parquet), now read through a link: its one line named it ``caf\\udce9``, Python's stand-in
    for the byte, a name no shell reads; it is ``caf\\xe9`` as the summary's source writes it
    (the same line as an ASCII name's otherwise)."""
    import gzip

    monkeypatch.chdir(tmp_path)
    for name in (LATIN1, "cafe"):
        (tmp_path / f"{name}.jsonl.gz").write_bytes(gzip.compress(f'{{"text": "{PAGE}"}}\n'.encode() * 50)[:40])
        (tmp_path / f"{name}.parquet").write_bytes(b"PAR1 not a Parquet file")
    for suffix in (".jsonl.gz", ".parquet"):
        said = []
        for name in (LATIN1, "cafe"):
            assert audit("--corpus", name + suffix, "--output", "a") == 2
            said.append(capsys.readouterr().err)
        assert said[0] == said[1].replace("cafe", "caf\\xe9") and "cannot be read" in said[0], said


def test_audit_corpus_reads_a_long_name_that_is_not_utf8(tmp_path, monkeypatch, capsys):
    """A name of 200 Latin-1 bytes (``\\xe9`` each, 206 with ``.jsonl``: the file system takes it)
    was read through a link named with each byte as U+FFFD, three bytes: 606, over the 255 a
    name may have, a traceback (``OSError: [Errno 36] File name too long``). The link's name is
    the name's end, its suffix, as long as a name may be. Ground truth: the file named in ASCII."""
    monkeypatch.chdir(tmp_path)
    long = os.fsdecode(b"\xe9" * 200 + b".jsonl")
    for name in (long, "cafe.jsonl"):
        (tmp_path / name).write_text("".join(json.dumps({"text": f"{i} {PAGE}"}) + "\n" for i in range(3)))
        assert audit("--corpus", name, "--output", f"a{name == long}") == 0, capsys.readouterr().err
    got = [json.loads((tmp_path / f"a{b}" / "stats" / "summary.json").read_bytes()) for b in (True, False)]
    assert got[0]["documents"] == got[1]["documents"] and got[0]["documents"]["total"] == 3, got


_SLOW_READ = """
import sys, time
from curate.audit import scan
as_read = scan._as_read
def slow(*a, **k):
    print("reading", flush=True)
    time.sleep(60)
    return as_read(*a, **k)
scan._as_read = slow
sys.argv = ["curate"] + sys.argv[1:]
from curate import cli
cli.entry()
"""


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_audit_stopped_while_reading_through_a_link_leaves_no_temporary_folder(tmp_path, signal_name):
    """``audit --corpus $'caf\\xe9.jsonl'`` reads the file through a link in a temporary folder
    (TMPDIR). Stopped by SIGTERM (a scheduler, ``kill``), an audit died at once, the folder and its
    link left behind in /tmp (and so a copy without comment lines, which may be GBs): a
    delegated command had no handler, only ``curate run`` did. Either signal is an interrupt:
    the folder removed, ``curate: interrupted``, exit 130."""
    import signal
    import time

    (tmp_path / "tmp").mkdir()
    name = tmp_path / f"{LATIN1}.jsonl"
    name.write_text("".join(json.dumps({"text": f"{i} {PAGE}"}) + "\n" for i in range(3)))
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_READ, "audit", "--corpus", str(name), "--output", str(tmp_path / "a")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        assert proc.stdout.readline() == b"reading\n"
        assert len(os.listdir(tmp_path / "tmp")) == 1  # the link's folder
        proc.send_signal(getattr(signal, signal_name))
        assert proc.wait(timeout=30) == 130, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    assert os.listdir(tmp_path / "tmp") == [] and b"curate: interrupted" in proc.stderr.read()
