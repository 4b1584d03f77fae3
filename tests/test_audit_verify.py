"""``curate audit DIR`` answers "is this output complete and untampered?": every file against
the manifests' sizes and sha256 (token shards through tokens.json), no file beside
them, a clear word for a damaged file or an output still being written, and exit status 1 when
a check fails (so a script stops). Ground truth: files damaged here on purpose."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]


def curate(*args, cwd=None) -> subprocess.CompletedProcess:
    """`curate ARGS` run in this process (cli.main, its stdout and stderr caught), as test_cli
    runs it: a subprocess paid Python's and Beam's imports each time (2-3 s of CPU); a run with
    --workers 1 unless it names its workers or runner. With a
    cwd (a relative path given as a user would), a subprocess started there."""
    args = [str(a) for a in args]
    if cwd is not None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        return subprocess.run([sys.executable, "-m", "curate.cli", *args], capture_output=True, text=True, cwd=cwd, env=env)
    import contextlib
    import io

    from curate import cli

    if args[:1] == ["run"] and not any(a.startswith(("--workers", "--runner", "--direct")) for a in args):
        # its steps in this process: a pool of workers forked from pytest's costs ~2.5 CPU-s a run,
        # and run.workers changes no output byte (test_determinism) nor the config's content
        args += ["--workers", "1"]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(args)
        except SystemExit as e:  # argparse's --help and usage errors, as the interpreter exits
            code = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
            if not isinstance(e.code, (int, type(None))):
                print(e.code, file=err)
    return subprocess.CompletedProcess(["curate", *args], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("verify")
    (base / "in").mkdir()
    with open(base / "in" / "mine.jsonl", "w") as f:
        for i in range(40):
            f.write(json.dumps({"id": f"rec-{i}", "text": f"Record {i} is about rivers, hills and the spring weather. " * 4}) + "\n")
        f.write(json.dumps({"id": "empty", "text": "  "}) + "\n")
    r = curate("run", "--input", base / "in", "--domain", "web", "--stages", "ingest,tokenize", "--output", base / "out", "--progress", "off")
    assert r.returncode == 0, r.stderr
    return base / "out"


@pytest.fixture
def copy(finished, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    return out


def _first(out: Path, kind: str) -> Path:
    return sorted((out / kind).glob("*.parquet"))[0]


def test_a_finished_output_passes_every_file_check(copy):
    r = curate("audit", copy)
    assert r.returncode == 0, r.stderr
    checks = json.loads((copy / "stats" / "summary.json").read_text())["checks"]
    files = next(c for c in checks if c["check"].startswith("files as the manifest lists"))
    assert files["ok"] and files["expected"] > 8  # text, ledger, quarantine, tokens shards and the JSON files
    assert "every file matches its size and sha256" in (copy / "report.html").read_text()
    assert curate("audit", copy).returncode == 0  # its own report, now listed as derived, is no stranger


def test_a_truncated_shard_is_named_with_its_size_and_the_audit_exits_1(copy):
    f = _first(copy, "text")
    os.truncate(f, 1000)  # an interrupted copy
    r = curate("audit", copy)
    assert r.returncode == 1, r.stderr
    assert f"text/{f.name} has 1,000 bytes, the manifest says" in r.stderr
    assert "File out of specification" not in r.stderr and "Traceback" not in r.stderr
    assert "does not match its manifest" in (copy / "report.html").read_text()


def test_a_same_size_edit_of_a_token_shard_is_caught_by_its_sha256(copy):
    f = _first(copy, "tokens")
    b = bytearray(f.read_bytes())
    b[len(b) // 2] ^= 1
    f.write_bytes(bytes(b))
    r = curate("audit", copy)
    assert r.returncode == 1 and f"tokens/{f.name} does not match its sha256" in r.stderr, r.stderr


def test_an_edited_tokens_manifest_is_caught(copy):
    """Rewriting a token shard and its sha256 in tokens.json (same length) leaves every
    size as it was: the output's manifest holds the tokens manifest's own sha256."""
    m = copy / "tokens.json"
    tok = json.loads(m.read_text())
    s = tok["shards"][0]["sha256"]
    m.write_text(m.read_text().replace(s, s[::-1]))
    r = curate("audit", copy)
    assert r.returncode == 1 and "tokens.json does not match its sha256" in r.stderr, r.stderr


def test_a_file_the_manifest_does_not_list_is_named(copy):
    """A stray shard would be read by every text/*.parquet glob (polars, DuckDB, HF datasets)."""
    stray = copy / "text" / "part-00009-of-00010.parquet"
    shutil.copy(_first(copy, "text"), stray)
    r = curate("audit", copy)
    assert r.returncode == 1, r.stderr
    assert "files the manifest does not list: expected 0, found 1 (text/part-00009-of-00010.parquet)" in r.stderr


def test_an_output_without_manifest_fails_the_audit(copy):
    (copy / "manifest.json").unlink()
    r = curate("audit", copy)
    assert r.returncode == 1 and "manifest.json is missing" in r.stderr, r.stderr


def test_an_unlisted_damaged_file_is_named(copy):
    """Without a manifest there is nothing to check sizes against: the read error names the file."""
    (copy / "manifest.json").unlink()
    f = _first(copy, "ledger")
    os.truncate(f, 100)
    r = curate("audit", copy)
    assert r.returncode == 2 and f"{f.name}: cannot be read" in r.stderr and "damaged or truncated" in r.stderr, r.stderr


def test_an_output_still_being_written_is_said_so(tmp_path):
    """A first run writes only DIR/.curate-staging/ until it commits."""
    out = tmp_path / "out"
    (out / ".curate-staging" / "text").mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a"], "text": ["t"]}), out / ".curate-staging" / "text" / "part-00000-of-00001.parquet")
    r = curate("audit", out)
    assert r.returncode == 2 and "a curate run is writing this output" in r.stderr, r.stderr
    assert "not a curate output" not in r.stderr


def test_a_damaged_manifest_is_named(copy):
    m = copy / "manifest.json"
    m.write_bytes(m.read_bytes()[:300])
    r = curate("audit", copy)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"curate audit: {copy}/manifest.json: not valid JSON (") and "damaged or truncated" in r.stderr, r.stderr


def test_a_damaged_tokens_manifest_fails_its_check_and_the_rest_is_audited(copy):
    m = copy / "tokens.json"
    m.write_bytes(m.read_bytes()[:100])
    r = curate("audit", copy)
    assert r.returncode == 1, r.stderr
    assert f"warning: {copy}/tokens.json: not valid JSON" in r.stderr
    assert "tokens.json has 100 bytes, the manifest says" in r.stderr
    assert json.loads((copy / "stats" / "summary.json").read_text())["documents"]["total"] == 40


def test_the_manifest_given_instead_of_its_folder(copy):
    r = curate("audit", copy / "manifest.json")
    assert r.returncode == 2 and f"the manifest of a curate output; give the output directory: curate audit {copy}" in r.stderr, r.stderr


def test_a_negative_count_is_a_usage_error(finished, tmp_path):
    for opt in ("--examples", "--top"):
        r = curate("audit", finished, opt, "-1", "--output", tmp_path / "a")
        assert r.returncode == 2 and f"curate audit: {opt}: -1: give 0 or more" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_verify_output_catches_an_edited_tokens_manifest(copy):
    """The Python check the README names, as the audit: the tokens manifest's own sha256."""
    from curate import commit

    commit.verify_output(str(copy))
    m = copy / "tokens.json"
    s = json.loads(m.read_text())["shards"][0]["sha256"]
    m.write_text(m.read_text().replace(s, s[::-1]))
    with pytest.raises(commit.OutputError, match="tokens.json does not match its sha256"):
        commit.verify_output(str(copy))


def test_another_tools_manifest_is_not_taken_for_curates(finished, tmp_path):
    """A dataset folder with its own manifest.json: refused, and no report is written into it."""
    other = tmp_path / "dataset"
    (other / "text").mkdir(parents=True)
    shutil.copy(_first(finished, "text"), other / "text" / "a.parquet")
    (other / "manifest.json").write_text('{"name": "my-dataset", "version": 2}')
    r = curate("audit", other)
    assert r.returncode == 2 and f"{other}/manifest.json is not a curate manifest" in r.stderr and "--corpus" in r.stderr, r.stderr
    assert sorted(p.name for p in other.iterdir()) == ["manifest.json", "text"]
