"""Inputs and outputs in a bucket, against a GCS emulator (fake-gcs-server, started on a free
port for this module): the whole pipeline, and the output commit's promises (a rerun
replaces the output only when complete, a killed one leaves it readable, foreign objects make
the run refuse, the staging prefix goes) where there are no folders and no renames."""
from __future__ import annotations

import collections
import gzip
import hashlib
import itertools
import json
import os
import random
import re
import shutil
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
# the emulator's Go scheduler on one thread: 8-13% less of its CPU on this 2-core machine, a
# run no slower (bench_bucketread.py --requests, two runs of 3: 1.21 -> 1.05, 1.33 -> 1.23 CPU-s)
ONE_THREAD = {"GOMAXPROCS": "1"}


@pytest.fixture(scope="module")
def emulator():
    """The emulator's endpoint (http://127.0.0.1:PORT) with the bucket BUCKET, in its own process
    (fake-gcs-server: bench/bench_bucketread.py's ``gcs_emulator``), stopped after."""
    from test_bench import load_bench

    with load_bench("bench_bucketread").gcs_emulator(BUCKET, env=ONE_THREAD) as endpoint:
        yield endpoint


@pytest.fixture
def gcs(emulator, monkeypatch):
    """(filesystem on the emulator, a fresh gs:// prefix for this test); curate is pointed at
    the emulator the way a user does it: STORAGE_EMULATOR_HOST."""
    monkeypatch.setenv(GCS_EMULATOR, emulator)
    fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=emulator.split("://")[1])
    uri = f"gs://{BUCKET}/t{next(_prefixes)}"
    yield fs, uri
    forget(fs, uri)


def forget(fs, uri: str) -> None:
    """Delete a test's objects: the emulators' requests (a stat too) cost CPU in proportion to
    the objects the bucket holds; the module's tests left thousands in it (measured on
    fake-gcs-server: 100 stats 0.01 CPU-s in an empty bucket, 0.22 beside 3,000 objects)."""
    fs.delete_dir_contents(_path(uri), missing_dir_ok=True)


def _path(uri: str) -> str:
    return uri.split("://", 1)[1]


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


def _demo_in_bucket(fs, uri: str, demo, tmp_path: Path) -> tuple[Path, Path]:
    """(the demo's config with its raw shards uploaded under URI/raw, a copy of its local output):
    the session's `curate demo` is the local run the bucket's is compared with."""
    root = demo[0]
    upload(fs, root / "raw", f"{uri}/raw")
    remote_cfg = tmp_path / "bucket.toml"
    remote_cfg.write_text((root / "demo.toml").read_text().replace(str(root / "raw"), f"{uri}/raw"))
    shutil.copytree(root / "out", tmp_path / "local")
    return remote_cfg, tmp_path / "local"


@pytest.mark.slow
def test_whole_pipeline_in_a_bucket_equals_local(gcs, demo, tmp_path, capsys):
    """`curate run` with every stage, inputs and output in the bucket, then `curate mix`,
    `curate audit` and the loader on it: the same files as a run on local paths (the session's
    `curate demo`, copied: the audit writes into it). It failed at the commit (the staged
    manifest was looked for on the local disk, as `bkt/out/...`)."""
    fs, uri = gcs
    remote_cfg, local_out = _demo_in_bucket(fs, uri, demo, tmp_path)
    assert f"{uri}/raw/web/*.warc.gz" in remote_cfg.read_text()
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
        if rel == "tokens.json":  # its config_hash covers the inputs' globs, which differ
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

    # the audit and the loader read the bucket itself
    assert cli.main(["audit", f"{uri}/out"]) == 0
    assert cli.main(["audit", str(local_out)]) == 0
    capsys.readouterr()
    summary = [read_json(f"{_path(uri)}/out/stats/summary.json"), json.loads((local_out / "stats" / "summary.json").read_text())]
    assert all(c["ok"] for c in summary[0]["checks"])
    for key in set(summary[1]) - {"source", "run"}:  # the folder, and the config's hash (its globs differ)
        assert summary[0][key] == summary[1][key], key
    from curate.loader import TokenLoader

    batches = [[b.tolist() for b in TokenLoader(d, batch_size=4, seq_len=65)] for d in (f"{uri}/out", str(local_out))]
    assert batches[0] and batches[0] == batches[1]


@pytest.mark.slow
def test_a_worker_pool_reads_and_writes_the_bucket(gcs, demo, tmp_path):
    """The offline cluster recipe (README: a worker pool beside the job service) with inputs
    and output in the bucket: the workers read gs:// inputs and write the gs:// output, and
    it equals a DirectRunner run on local paths. The pool's workers reach the emulator as a
    Flink sidecar would: STORAGE_EMULATOR_HOST in their environment."""
    from test_portable import services

    fs, uri = gcs
    remote_cfg, local_out = _demo_in_bucket(fs, uri, demo, tmp_path)
    with services(tmp_path, job_service=False) as args:
        r = subprocess.run([sys.executable, "-m", "curate", "run", str(remote_cfg), "--output", f"{uri}/out", "--progress", "off",
                            *args], capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    got = snapshot(fs, f"{uri}/out")
    want = {str(p.relative_to(local_out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in local_out.rglob("*") if p.is_file()}
    assert set(got) == set(want) and any(rel.startswith("tokens/") for rel in got)
    for rel in set(want) - {output.MANIFEST, "tokens.json"}:  # they name the output and the inputs' globs
        assert got[rel] == want[rel], rel
    assert commit.verify_output(f"{uri}/out")["counts"] == commit.read_manifest(str(local_out))["counts"]


# --- the commit's promises on an object store --------------------------------------------------


def pages(tmp_path: Path, n: int, tag: str) -> Path:
    path = tmp_path / f"{tag}.jsonl"
    rng = random.Random(tag)  # the demo's prose: it passes the filters
    path.write_text("".join(json.dumps({"id": f"{tag}-{i}", "text": "\n\n".join(demo.article(rng, 3)[1])}) + "\n" for i in range(n)))
    return path


def run_args(inp: Path, out: str, *extra: str) -> list[str]:
    stages = [] if "--stages" in extra else ["--stages", "ingest"]  # an option is given once
    return ["run", "--input", str(inp), "--domain", "web", *stages, "--output", out, "--progress", "off", *extra]


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
def test_a_commit_killed_midway_completes_on_next_read(gcs, tmp_path, fault, request):
    """Killed while the objects are being moved into place (a move is a copy and a delete per
    object), or just before: whoever reads the output next rolls the commit forward to the new
    run's output. After the journal: a copy of the module's ``killed_after_journal``."""
    fs, uri = gcs
    if fault == "after_journal":
        out, clean = _killed_after_journal(fs, uri, request.getfixturevalue("killed_after_journal"))
    else:
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


# `python -m moto.server`, less moto's own cost per request: it lists its package folder (a stat
# per service, ~180) twice and matches the host against every service's URL patterns, about
# half the server's CPU a request (measured: 100 small uploads through pyarrow, 1.5 -> 1.05 CPU-s)
MOTO_SERVER = """
import functools, sys
import moto.backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication as app
from moto.server import main
modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: modules
app.get_backend_for_host = functools.lru_cache(maxsize=None)(app.get_backend_for_host)
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def s3_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
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


# --- the audit and the loader read an output where it is -----------------------------------------


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """(filesystem on the S3 server, a fresh s3:// prefix), curate pointed at it by AWS_ENDPOINT_URL."""
    for k, v in {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(k, v)
    uri = f"s3://{BUCKET}/t{next(_prefixes)}"
    fs = pafs.FileSystem.from_uri(uri)[0]
    yield fs, uri
    forget(fs, uri)


@pytest.fixture(params=["gs", "s3"])
def store(request):
    return request.getfixturevalue({"gs": "gcs", "s3": "s3"}[request.param])


@pytest.fixture
def copies(store, demo, tmp_path):
    """(the demo's output in the bucket, a local copy of it: the same bytes)."""
    fs, uri = store
    upload(fs, demo[0] / "out", f"{uri}/out")
    shutil.copytree(demo[0] / "out", tmp_path / "local")
    return f"{uri}/out", str(tmp_path / "local")


def test_audit_of_a_bucket_equals_the_local_copy(store, copies, capsys):
    """`curate audit gs://b/out` (and s3://), --why, --rule and --compare: the same lines, the
    same summary.json and report.html (written into the bucket) as on a local copy. They said
    "curate audit reads a local folder; copy the output to one first"."""
    fs, _ = store
    bucket, local = copies

    def audit(*args):
        rc = cli.main(["audit", *args])
        o = capsys.readouterr()
        return rc, o.out.replace(bucket, "DIR").replace(local, "DIR"), o.err.replace(bucket, "DIR").replace(local, "DIR")

    got, want = audit(bucket), audit(local)
    assert got == want and got[0] == 0 and "98 documents" in got[1]
    with fs.open_input_stream(f"{_path(bucket)}/stats/summary.json", compression=None) as f:
        remote = json.loads(f.read())
    mine = json.loads(Path(local, "stats", "summary.json").read_text())
    assert (remote.pop("source"), mine.pop("source")) == (bucket, local)
    assert remote == mine and all(c["ok"] for c in remote["checks"])
    with fs.open_input_stream(f"{_path(bucket)}/report.html", compression=None) as f:
        assert f.read().decode().replace(bucket, local) == Path(local, "report.html").read_text()
    derived = [[e["file"] for e in commit.read_manifest(d)["derived"]] for d in (bucket, local)]  # a rerun may replace them
    assert derived[0] == derived[1] == ["report.html", "stats/summary.json"]
    text = pq.read_table(Path(local, "text")).column("id").to_pylist()
    ledger = pq.read_table(Path(local, "ledger"))
    quarantined = pq.read_table(Path(local, "quarantine")).column("path").to_pylist()
    rule = ledger.column("rule").to_pylist()[0]
    for args in (["--why", text[0], "--why", ledger.column("id")[0].as_py(), "--why", quarantined[0], "--why", "no-such-id"],
                 ["--rule", rule], ["--rule", "no_such_rule"], ["--compare", local], ["--compare", bucket]):
        got, want = audit(bucket, *args), audit(local, *args)
        assert got == want, args
    assert audit(local, "--compare", bucket)[1] == audit(local, "--compare", local)[1]
    assert "quarantined at ingest" in audit(bucket, "--why", quarantined[0])[1]


def test_a_damaged_output_in_a_bucket_is_audited_as_on_a_disk(store, copies, capsys):
    """A text shard changed in place (same size) and a ledger shard deleted: the bucket's audit
    fails the same check, leaves the same files out of its statistics and writes the same
    summary as the local copy's (a bucket's files are hashed as they are copied for the
    statistics, not read twice)."""
    fs, _ = store
    bucket, local = copies
    text, ledger = "text/part-00000-of-00002.parquet", "ledger/part-00001-of-00002.parquet"
    data = bytearray(Path(local, text).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(local, text).write_bytes(bytes(data))
    Path(local, ledger).unlink()
    with fs.open_output_stream(f"{_path(bucket)}/{text}", compression=None) as f:
        f.write(bytes(data))
    fs.delete_file(f"{_path(bucket)}/{ledger}")
    said = []
    for where in (bucket, local):
        rc = cli.main(["audit", where])
        o = capsys.readouterr()
        said.append((rc, o.out.replace(where, "DIR"), o.err.replace(where, "DIR")))
    assert said[0] == said[1] and said[0][0] == 1
    assert f"({ledger} missing; {text} does not match its sha256)" in said[0][2]
    with fs.open_input_stream(f"{_path(bucket)}/stats/summary.json", compression=None) as f:
        remote = json.loads(f.read())
    mine = json.loads(Path(local, "stats", "summary.json").read_text())
    assert {k: v for k, v in remote.items() if k != "source"} == {k: v for k, v in mine.items() if k != "source"}


def test_audit_corpus_of_a_bucket_glob_or_folder_equals_the_local_one(store, copies, tmp_path, capsys):
    """`curate audit --corpus 'gs://b/out/text/*.parquet'` (and a bucket folder, as a run lists
    an input) read the glob as one file's name: "curate audit: b/out/text/*.parquet" (a folder:
    "not a Parquet or JSONL file"). Listed now: the summary of the local glob's files."""
    bucket, local = copies

    def summary(g, name):
        rc = cli.main(["audit", "--corpus", g, "--output", str(tmp_path / f"audit_{name}")])
        assert rc == 0, capsys.readouterr().err
        s = json.loads((tmp_path / f"audit_{name}" / "stats" / "summary.json").read_text())
        return {k: v for k, v in s.items() if k != "source"}

    want = summary(f"{local}/text/*.parquet", "local")
    assert want["files"] == {"documents": 2} and want["documents"]["total"] == 98
    assert summary(f"{bucket}/text/*.parquet", "glob") == want
    assert summary(f"{bucket}/text/", "folder") == want
    assert cli.main(["audit", "--corpus", f"{bucket}/text/*.jsonl", "--output", str(tmp_path / "none")]) == 2
    assert "matches no files" in capsys.readouterr().err
    fs, _ = store
    rows = pq.read_table(Path(local, "text"), columns=["text", "url"]).to_pylist()
    jsonl = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "a b.jsonl").write_bytes(jsonl)
    with fs.open_output_stream(f"{_path(bucket)}/j/a b.jsonl", compression=None) as f:
        f.write(jsonl)
    assert summary(f"{bucket}/j/*.jsonl", "jsonl") == summary(f"{tmp_path}/j/*.jsonl", "jsonl_local")


def test_an_audit_of_a_bucket_needs_no_local_room(store, copies, tmp_path):
    """The audit copied each of a bucket's shards to a temporary file (hashed on the way, the
    statistics read from the copy), so it needed local room for the largest: with none (a small
    /tmp; a per-file limit here, RLIMIT_FSIZE) it stopped ("cannot be copied to the temporary
    folder"). It reads them in place now, as --why does: the same summary, nothing in TMPDIR.
    A bucket's JSONL file for --corpus is still copied (polars reads it only from a file): with
    no room, one line naming the file and the folder and what to do; nothing left there."""
    fs, _ = store
    bucket, local = copies
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    from tests.test_jsonl_everywhere import SMALL_FILES

    def audit(*args):
        return subprocess.run([sys.executable, "-c", SMALL_FILES, "audit", *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp)})

    r = audit(bucket)
    assert r.returncode == 0, r.stderr[-800:]
    assert not list(tmp.iterdir())
    assert cli.main(["audit", local]) == 0
    with fs.open_input_stream(f"{_path(bucket)}/stats/summary.json", compression=None) as f:
        remote = json.loads(f.read())
    mine = json.loads(Path(local, "stats", "summary.json").read_text())
    assert {k: v for k, v in remote.items() if k != "source"} == {k: v for k, v in mine.items() if k != "source"}

    rows = pq.read_table(Path(local, "text"), columns=["text", "url"]).to_pylist()
    with fs.open_output_stream(f"{_path(bucket)}/j/a.jsonl", compression=None) as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows).encode())
    r = audit("--corpus", f"{bucket}/j/*.jsonl", "--output", str(tmp_path / "report"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr[-800:]
    assert r.stderr.startswith(f"curate audit: {bucket}/j/a.jsonl: cannot be copied to the temporary "
                               f"folder {tmp} (File too large): ") and "set TMPDIR" in r.stderr
    assert not list(tmp.iterdir())


def test_loader_over_a_bucket_equals_the_local_copy(copies):
    """TokenLoader("gs://b/out") (and s3://) reads the row groups in place: the same batches as
    the local copy, epoch after epoch and in any shape, and a state saved on one resumes on
    the other (a resize too). It said "the loader reads a local folder"."""
    from curate.loader import TokenLoader

    bucket, local = copies

    def epochs(path, n=3, **kw):
        loader = TokenLoader(path, **kw)
        return [[b.tolist() for b in loader] for _ in range(n)]

    for kw in (dict(batch_size=4, seq_len=65), dict(batch_size=2, seq_len=33, rank=1, world_size=2, num_workers=2),
               dict(batch_size=3, seq_len=17, num_workers=3, worker=1)):
        got = epochs(bucket, **kw)
        assert got == epochs(local, **kw) and got[0] and got[0] != got[1], kw
        assert {len(b) for e in got for b in e} == {kw["batch_size"]} and {len(r) for e in got for b in e for r in b} == {kw["seq_len"]}
    assert len(TokenLoader(bucket, batch_size=4, seq_len=65)) == len(TokenLoader(local, batch_size=4, seq_len=65)) > 5

    on_bucket = TokenLoader(bucket, batch_size=4, seq_len=65)
    it = iter(on_bucket)
    first = [next(it).tolist() for _ in range(5)]
    state = on_bucket.state_dict()
    for where in (bucket, local):  # the manifest's bytes are the same: a position resumes on either
        rest = TokenLoader(where, batch_size=4, seq_len=65)
        rest.load_state_dict(state)
        assert first + [b.tolist() for b in rest] == epochs(local, 1, batch_size=4, seq_len=65)[0]
    resized = []
    for where in (bucket, local):
        ranks = [TokenLoader(where, batch_size=2, seq_len=65, rank=r, world_size=2) for r in range(2)]
        for r in ranks:
            r.load_state_dict(state)
        resized.append([[b.tolist() for b in r] for r in ranks])
    assert resized[0] == resized[1] and resized[0][0]


def test_torch_dataloader_workers_read_the_bucket(copies):
    """TokenDataLoader's worker processes open the bucket themselves (STORAGE_EMULATOR_HOST and
    AWS_ENDPOINT_URL are inherited): the same tensors as over the local copy."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataLoader

    bucket, local = copies
    got = [[[b.tolist() for b in TokenDataLoader(where, batch_size=4, seq_len=65, num_workers=2)] for _ in range(1)]
           for where in (bucket, local)]
    assert got[0] == got[1] and got[0][0]


@pytest.mark.parametrize("uri", ["gs://b/out", "s3://b/out/"])
def test_a_bucket_out_of_reach_is_one_line_for_audit_loader_and_mix(monkeypatch, capsys, tmp_path, uri):
    """Offline, without credentials or a misspelt bucket: one line naming it, for the audit (and
    `audit --corpus` of a bucket's glob: a traceback before), the loader and `curate mix`, after
    the launch look's time limit for gs:// (not the client's 15 minutes)."""
    from curate.loader import TokenLoader, TokensError
    from curate.readers import common

    asked = []

    def unreachable(u):
        asked.append(u)
        raise OSError("When resolving region for bucket 'b': AWS Error NETWORK_CONNECTION during HeadBucket operation")

    monkeypatch.setattr(common, "fs_path", unreachable)
    named = uri.rstrip("/")
    for args in ([uri], [uri, "--why", "x"], [uri, "--rule", "x"], [uri, "--compare", uri]):
        assert cli.main(["audit", *args]) == 2
        err = capsys.readouterr().err
        assert err == f"curate audit: {named!r} cannot be read by curate audit (When resolving region for bucket 'b': AWS Error " \
                      "NETWORK_CONNECTION during HeadBucket operation): check the bucket's name, the network and the credentials " \
                      "(README: Inputs and outputs in buckets)\n", err
    with pytest.raises(TokensError, match=re.escape(f"{named!r} cannot be read by the loader (When resolving region")):
        TokenLoader(uri, batch_size=1, seq_len=8)
    assert cli.main(["mix", uri]) == 2  # waited the client's 15 minutes before
    err = capsys.readouterr().err
    assert f"{named!r} cannot be read by curate mix (When resolving region" in err and err.count("\n") == 1, err
    corpus = f"{named}/text/*.parquet"
    assert cli.main(["audit", "--corpus", corpus, "--output", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"curate audit: {corpus!r} cannot be read by curate audit (When resolving region") and err.count("\n") == 1, err
    retry = f"?retry_limit_seconds={common.LIST_RETRY_SECONDS}" if uri.startswith("gs") else ""
    assert set(asked) == {named + retry, corpus + retry}


def test_bytes_read_from_the_bucket(gcs, tmp_path):
    """What the audit and the loader read of an output in a bucket (counted by a file system in
    front of the bucket's: bench/bench_bucketread.py, which prints these): the report reads every
    file once for its hash, and the columns its statistics need once more, in place (no local
    copy); --why, --rule and --compare read the columns they need, mostly a small part; an epoch
    of the loader reads the token shards' row groups (and their footers) once."""
    from test_bench import load_bench

    bench = load_bench("bench_bucketread")
    fs, uri = gcs
    local = bench.build(tmp_path / "b", 3000, shards=1)
    upload(fs, local, f"{uri}/out")
    got = bench.measure(f"{uri}/out", str(local))
    size, tokens = got["_sizes"]["output"], got["_sizes"]["tokens"]
    share = {what.split(" (")[0].split(" ")[0]: t["bytes"] / size for what, t in got.items() if what != "_sizes"}
    print(share, f"loader epoch / tokens shards {got['loader epoch (batch 4 x 65)']['bytes'] / tokens:.2f}")
    assert 1 <= share["audit"] < 1.8  # every byte for the hashes, then the statistics' columns (1.63 here)
    assert share["--why"] < 0.25 and share["--rule"] < 0.1 and share["--compare"] < 0.4  # --compare: both sides
    assert tokens <= got["loader epoch (batch 4 x 65)"]["bytes"] < 1.3 * tokens  # footers: 64 KiB each, twice


def test_a_damaged_token_shard_in_a_bucket_is_named(copies, store):
    """A token shard damaged in the bucket (same size): verify="sha256" refuses it at open, and
    the default check names its row group when it is read (its pages' CRCs), as on a disk."""
    from curate.loader import TokenLoader, TokensError

    fs, _ = store
    bucket, local = copies
    assert TokenLoader(bucket, batch_size=4, seq_len=65, verify="sha256").steps > 0
    rel = "tokens/part-00001-of-00002.parquet"
    md = pq.read_metadata(Path(local, rel))
    col = next(md.row_group(0).column(i) for i in range(md.num_columns) if md.row_group(0).column(i).path_in_schema.startswith("input_ids"))
    data = bytearray(Path(local, rel).read_bytes())
    i = (col.dictionary_page_offset or col.data_page_offset) + col.total_compressed_size // 2
    data[i:i + 8] = bytes(b ^ 0x5A for b in data[i:i + 8])
    with fs.open_output_stream(f"{_path(bucket)}/{rel}", compression=None) as f:
        f.write(bytes(data))
    with pytest.raises(TokensError, match=re.escape(f"{bucket}/{rel}: sha256 differs from the manifest")):
        TokenLoader(bucket, batch_size=4, seq_len=65, verify="sha256")
    with pytest.raises(TokensError, match=re.escape(f"{bucket}/{rel}: row group 0 is damaged (") + ".+restore it from a copy"):
        list(TokenLoader(bucket, batch_size=4, seq_len=65))


# --- one file system per bucket and process ------------------------------------------------------


@pytest.fixture
def built(monkeypatch, tmp_path):
    """Every file system built for a bucket, as a line "PID SCHEME://BUCKET?OPTIONS" in a file (the
    constructors wrapped), so that forked DataLoader workers' count too. Returns a Counter of
    (pid, what) read from it; ``.clear()`` empties it."""
    import collections
    import urllib.parse

    log = tmp_path / "built.log"
    real_gcs, real_fs, real_from_uri = pafs.GcsFileSystem, pafs.FileSystem, pafs.FileSystem.from_uri

    def note(what):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {what}\n")

    def gcs(*args, **kw):
        note(f"gs://?{kw.get('endpoint_override')}&{kw.get('retry_time_limit')}")  # the emulator's: built with its endpoint
        return real_gcs(*args, **kw)

    class Real(type):  # isinstance and every other attribute: pyarrow's FileSystem (pyarrow.dataset asks)
        def __instancecheck__(cls, obj):
            return isinstance(obj, real_fs)

        def __subclasscheck__(cls, sub):
            return issubclass(sub, real_fs)

        def __getattr__(cls, name):
            return getattr(real_fs, name)

    class FileSystem(metaclass=Real):
        @staticmethod
        def from_uri(uri):
            parts = urllib.parse.urlsplit(uri)
            if parts.scheme not in ("file", ""):
                note(f"{parts.scheme}://{parts.netloc}?{parts.query}")
            return real_from_uri(uri)

    monkeypatch.setattr(pafs, "GcsFileSystem", gcs)
    monkeypatch.setattr(pafs, "FileSystem", FileSystem)
    from curate.readers import common

    monkeypatch.setattr(common, "_BUCKET_FS", {}, raising=False)  # none built yet, as in a new process

    class Built:
        def __call__(self):
            lines = log.read_text().splitlines() if log.exists() else []
            return collections.Counter(tuple(line.split(" ", 1)) for line in lines)

        def clear(self):
            log.unlink(missing_ok=True)

    return Built()


def test_one_file_system_per_bucket_and_process(copies, built):
    """The audit, `curate mix` and a loader's epoch built a pyarrow file system for every file
    they opened (on a real cloud each may fetch a token or look up the bucket's region, and
    the loader reopens shards past 16 open): one per bucket and options per process now; a
    DataLoader worker, forked, builds its own (one shared across a fork is unsafe)."""
    pytest.importorskip("torch")
    from curate.loader import TokenDataLoader

    bucket, _ = copies
    built.clear()
    for args in (["audit", bucket], ["mix", bucket, "--set", "rebalance.targets={web = 0.9, code = 0.1}"]):
        assert cli.main(args) == 0  # the mix: none more, in the same process
        made = built()
        assert made and set(made.values()) == {1} and {pid for pid, _ in made} == {str(os.getpid())}, (args, made)
        assert len(made) <= 2, made  # gs://: the launch look (its retries limited to 30 s) and the reads
    built.clear()
    assert [b.tolist() for b in TokenDataLoader(bucket, batch_size=4, seq_len=65, num_workers=2)]
    made = built()
    workers = {pid for pid, _ in made} - {str(os.getpid())}
    assert len(workers) == 2 and set(made.values()) == {1}, made


def test_an_escaped_wildcard_in_a_bucket_folder_name_is_a_name(store, tmp_path):
    """A folder literally named ``a[*]b``, globbed as glob.escape writes it (``a[[][*]]b/*.jsonl``):
    the bucket's listing took ``[*]`` for a wildcard when finding the glob's root (not as a
    local glob does), so it listed the whole prefix above and named each file ``a[*]b/x.jsonl``,
    where the local glob names it ``x.jsonl`` (the ids of a run). Now the same names, and each
    listed URI reads its file (on S3 a name with [ ] failed in pyarrow's URI parser)."""
    import glob as globmod

    from curate.readers import list_files

    fs, uri = store
    local = tmp_path / "p"
    for rel in ("a[*]b/x.jsonl", "a[*]b/sub/y.jsonl", "aXb/z.jsonl", "a[*]b.jsonl"):
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_text(json.dumps({"text": rel}) + "\n")
    upload(fs, local, uri)
    name = globmod.escape("a[*]b")  # a[[][*]]b
    for escaped in (f"{name}/*.jsonl", f"{name}/**/*.jsonl", name, f"{name}/sub/y.jsonl", f"{name}.jsonl", f"{name}/s*/y.jsonl"):
        want = [rel for _, rel in list_files(f"{local}/{escaped}")]
        got = list_files(f"{uri}/{escaped}")
        assert want and [rel for _, rel in got] == want, escaped
        for (u, rel), (p, _) in zip(got, list_files(f"{local}/{escaped}")):
            assert output.read_bytes(u) == Path(p).read_bytes(), u


def test_bucketread_bench_counts_the_file_systems_built_before_and_now(gcs, demo):
    """bench_bucketread.py --filesystems: the old behaviour it measures against (a cache that
    keeps nothing) builds more file systems than the cache; the cache's counts are one per
    bucket and options per process (the launcher's two: the launch look and the reads)."""
    pytest.importorskip("torch")
    from test_bench import load_bench

    fs, uri = gcs
    upload(fs, demo[0] / "out", f"{uri}/out")
    got = load_bench("bench_bucketread").filesystems(f"{uri}/out", 1)
    for what in ("audit (report)", "loader epoch, 2 workers"):
        assert got[(what, "per file (before)")]["built"] > got[(what, "per bucket (now)")]["built"] > 0, got
    assert got[("audit (report)", "per bucket (now)")]["built"] == 2
    assert got[("loader epoch, 2 workers", "per bucket (now)")]["built"] == 4, got


def test_an_audit_leaves_a_live_runs_staged_objects_in_a_bucket(gcs, tmp_path, capsys, monkeypatch):
    """A bucket has no lock: an audit of the output while a rerun stages its objects (or after a
    killed run left them) cleared the staging prefix to stage its report, deleting that run's
    objects. Now it leaves the output and the staged objects as they were, and its report goes
    into ./curate-audit, said in one line; an earlier killed audit's leftovers (its report and
    manifest) are cleared as before."""
    fs, uri = gcs
    monkeypatch.chdir(tmp_path)
    out = f"{uri}/out"
    assert cli.main(run_args(pages(tmp_path, 3, "old"), out)) == 0
    staged = {f"{commit.STAGING}/text/part-00000-of-00001.parquet": b"a run's", f"{commit.STAGING}/stats/run.json": b"{}"}
    for rel, data in staged.items():
        with fs.open_output_stream(f"{_path(out)}/{rel}", compression=None) as f:
            f.write(data)
    before = snapshot(fs, out)
    capsys.readouterr()
    assert cli.main(["audit", out]) == 0
    o = capsys.readouterr()
    assert o.err.splitlines() == [f"curate audit: warning: the audit is not written into {out}: {out}/{commit.STAGING}/ holds "
                                  "a run's staged objects (stats/run.json, ...: a run is writing it, or one was "
                                  "killed; a bucket has no lock to tell which): wrote it into curate-audit instead (--output FOLDER "
                                  "chooses where)"], o.err
    assert snapshot(fs, out) == before  # the run's staged objects too
    assert json.loads((tmp_path / "curate-audit" / "stats" / "summary.json").read_text())["source"] == out
    for rel in staged:
        fs.delete_file(f"{_path(out)}/{rel}")
    killed = {f"{commit.STAGING}/report.html": b"<p>curate audit</p>", f"{commit.STAGING}/{output.MANIFEST}": b"{}"}
    for rel, data in killed.items():  # an audit killed before its journal
        with fs.open_output_stream(f"{_path(out)}/{rel}", compression=None) as f:
            f.write(data)
    assert cli.main(["audit", out]) == 0
    files = snapshot(fs, out)
    assert "report.html" in files and not any(rel.startswith(commit.STAGING) for rel in files)


@pytest.mark.parametrize("var, values", [(GCS_EMULATOR, ("127.0.0.1:1", "http://127.0.0.1:2")),
                                         ("GOOGLE_APPLICATION_CREDENTIALS", ("/a.json", "/b.json"))])
def test_a_changed_endpoint_or_credential_is_a_new_file_system(monkeypatch, var, values):
    """A notebook switching from the emulator to another endpoint (or other credentials) in one
    process: the cached file system of the first must not serve the second; the same settings
    again reuse theirs."""
    from curate.readers import common

    monkeypatch.setattr(common, "_BUCKET_FS", {})
    monkeypatch.setenv(GCS_EMULATOR, "127.0.0.1:9")
    built = []
    for v in (*values, values[0]):
        monkeypatch.setenv(var, v)
        built.append(common._bucket_fs("gs", BUCKET, ""))
    assert built[0] is not built[1] and built[2] is built[0]
    if var == GCS_EMULATOR:
        assert not built[0].equals(built[1])  # another endpoint


RANK = r"""
import sys, time
from curate.loader import TokenLoader
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
try:
    print(len(TokenLoader(sys.argv[1], 2, 16).manifest["shards"]))
except Exception as e:
    print(f"{type(e).__name__}: {str(e)[:300]}")
"""


@pytest.fixture(scope="module")
def killed_after_journal(emulator, tmp_path_factory):
    """(an output whose rerun, 3 shards, was killed once its commit was decided, a clean run of
    that rerun): made once for the module (two runs and a `curate` process: ~4 CPU-s a test
    before); each test completing it gets its own copy (``_killed_after_journal``)."""
    tmp, uri = tmp_path_factory.mktemp("killed"), f"gs://{BUCKET}/t{next(_prefixes)}"
    with pytest.MonkeyPatch.context() as m:
        m.setenv(GCS_EMULATOR, emulator)
        fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=emulator.split("://")[1])
        out, clean = f"{uri}/out", f"{uri}/clean"
        new = pages(tmp, 40, "new")
        assert cli.main(run_args(pages(tmp, 30, "old"), out, "--stages", "ingest,tokenize", "--shards", "2")) == 0
        assert cli.main(run_args(new, clean, "--stages", "ingest,tokenize", "--shards", "3")) == 0
        r = run_cli(run_args(new, out, "--stages", "ingest,tokenize", "--shards", "3"), "after_journal")
    assert r.returncode == 137, r.stderr[-2000:]
    assert f"{commit.STAGING}/{commit.JOURNAL}" in snapshot(fs, out)
    return out, clean


def _killed_after_journal(fs, uri, killed_after_journal):
    """(a copy under ``uri`` of ``killed_after_journal``'s killed output, object by object: its
    journal names files relative to the output; the clean run, read only)."""
    src, clean = killed_after_journal
    out = f"{uri}/out"
    for rel in snapshot(fs, src):
        fs.copy_file(f"{_path(src)}/{rel}", f"{_path(out)}/{rel}")
    assert snapshot(fs, out) == snapshot(fs, src) and f"{commit.STAGING}/{commit.JOURNAL}" in snapshot(fs, out)
    return out, clean


def _same_output(fs, out, clean):
    got, want = snapshot(fs, out), snapshot(fs, clean)
    assert set(got) == set(want)
    assert all(got[k] == want[k] for k in want if k != output.MANIFEST)
    commit.verify_output(out)


def test_ranks_completing_a_killed_commit_in_a_bucket_at_once(gcs, killed_after_journal):
    """A bucket has no lock: four ranks started at one instant on an output whose rerun was killed
    after deciding its commit each completed it, racing (a move or delete another had just done
    failed NOT_FOUND): 3 of 4 tries left ranks with "the loader cannot complete it here". Each
    step another process did first is done, not an error: every rank reads the completed output."""
    fs, uri = gcs
    out, clean = _killed_after_journal(fs, uri, killed_after_journal)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    at = time.time() + 3  # past every rank's imports
    ranks = [subprocess.Popen([sys.executable, "-c", RANK, out, str(at)], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    said = [p.communicate(timeout=120)[0].strip() for p in ranks]
    assert said == ["3"] * 4, said
    _same_output(fs, out, clean)


class _Beside:
    """A file system whose delete of ``path`` first lets another process apply the same journal
    whole (``other``): the interleaving of two processes completing one commit, made certain."""

    def __init__(self, fs, path, other):
        self._fs, self._path, self._other = fs, path, other

    def __getattr__(self, name):
        return getattr(self._fs, name)

    def delete_file(self, path):
        if path == self._path and self._other:
            self._other.pop()()
        return self._fs.delete_file(path)


def test_a_process_completing_a_commit_beside_another_keeps_the_new_manifest(gcs, killed_after_journal, monkeypatch):
    """Two processes completing one commit in a bucket: one looked at the output's manifest (the
    old one, to delete), the other completed the whole commit meanwhile (the new manifest in
    place, the staging prefix gone), then the first deleted the new manifest: an output of the
    new files and no manifest.json, unreadable for good. Now the new manifest is put back."""
    fs, uri = gcs
    out, clean = _killed_after_journal(fs, uri, killed_after_journal)
    base = _path(out)
    journal = json.loads(snapshot_bytes(fs, f"{base}/{commit.STAGING}/{commit.JOURNAL}"))
    other = [lambda: commit._apply(fs, base, journal)]
    with monkeypatch.context() as m:
        m.setattr(output, "_fs", lambda root: (_Beside(fs, f"{base}/{output.MANIFEST}", other), base))
        assert commit.recover(out)
    assert not other  # the other process did apply it first
    _same_output(fs, out, clean)


class _Killed(BaseException):
    """The process applying the journal killed (a BaseException: no cleanup of curate's catches it)."""


class _KilledAfter(_Beside):
    """``_Beside``, and this process killed at its first step that changes the bucket (a move, a
    delete, a folder made) after its delete of ``path``: what a kill between two of its writes leaves."""

    def __init__(self, fs, path, other):
        super().__init__(fs, path, other)
        self.deleted = False

    def delete_file(self, path):
        if self.deleted:
            raise _Killed()
        super().delete_file(path)
        self.deleted = path == self._path

    def _step(name):
        def step(self, *a, **k):
            if self.deleted:
                raise _Killed()
            return getattr(self._fs, name)(*a, **k)
        return step

    move, delete_dir, create_dir = _step("move"), _step("delete_dir"), _step("create_dir")


def test_a_process_killed_after_deleting_the_new_manifest_beside_another_puts_it_back_first(gcs, killed_after_journal, monkeypatch):
    """The window docs/datapath.md named: two processes completing one commit in a bucket, one
    deleting the new manifest as the old one just after the other completed the commit (and
    removed the journal with the staging prefix), then killed before writing it back: the new
    files and no manifest.json, for good (the loader read the tokens unchecked against the run's
    record, `curate audit` said "manifest.json is missing", a rerun refused the output as not
    curate's). It wrote it back only after looking at every file of the journal (a request each,
    thousands for a large output) and failing to move the manifest; it now looks whether the
    manifest it read in the staging prefix was moved in meanwhile right after its delete, and
    writes it back before any other step: killed at its next step, the output is whole."""
    fs, uri = gcs
    out, clean = _killed_after_journal(fs, uri, killed_after_journal)
    base = _path(out)
    journal = json.loads(snapshot_bytes(fs, f"{base}/{commit.STAGING}/{commit.JOURNAL}"))
    other = [lambda: commit._apply(fs, base, journal)]
    killed = _KilledAfter(fs, f"{base}/{output.MANIFEST}", other)
    with monkeypatch.context() as m:
        m.setattr(output, "_fs", lambda root: (killed, base))
        with pytest.raises(_Killed):
            commit.recover(out)
    assert not other and killed.deleted  # the other completed it first; this one deleted the new manifest, then was killed
    _same_output(fs, out, clean)


def snapshot_bytes(fs, path: str) -> bytes:
    with fs.open_input_stream(path, compression=None) as f:
        return f.read()


def test_audit_corpus_of_a_bucket_file_says_its_own_name(store, tmp_path, capsys):
    """A bucket's JSONL file is read from a local copy in a temporary folder, and the one line for
    a .jsonl.bz2 named that copy ('/tmp/curate-audit-.../x.jsonl.bz2 is compressed with bzip2 ...
    e.g. bzip2 -dc /tmp/curate-audit-...'), a file gone once the audit stops; it names the
    bucket's file, as the line for a damaged one does."""
    import bz2

    fs, uri = store
    rows = b'# an export\n{"text": "The harbour and the river."}\n'
    with fs.open_output_stream(f"{_path(uri)}/j/x.jsonl.bz2", compression=None) as f:
        f.write(bz2.compress(rows))
    with fs.open_output_stream(f"{_path(uri)}/k/cut.jsonl.gz", compression=None) as f:
        packed = gzip.compress(b"".join(b'{"text": "The river %d."}\n' % i for i in range(5000)))
        f.write(packed[: len(packed) // 2])
    for name, said in (("j/x.jsonl.bz2", " is compressed with bzip2"), ("k/cut.jsonl.gz", ": cannot be read (")):
        assert cli.main(["audit", "--corpus", f"{uri}/{name}", "--output", str(tmp_path / "a")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"curate audit: {uri}/{name}{said}") and "curate-audit-" not in err and err.count("\n") == 1, err


def test_an_eval_set_object_replaced_after_its_hash_is_a_change(gcs, tmp_path):
    """A bucket's evaluation set is hashed at launch and read again by the workers; an object
    replaced in between was not looked at again (`changed_files` passed over URIs), so the run
    committed a config hash of bytes its workers had not read. Its size and update time are
    compared now (one metadata call a file), its bytes read again only where they differ; a
    folder's listing is compared too (an object added)."""
    from curate import config

    fs, uri = gcs

    def write(rel, body):
        with fs.open_output_stream(f"{_path(uri)}/{rel}", compression=None) as f:
            f.write(body)

    write("mmlu.jsonl", b'{"text": "one two three"}\n')
    write("sets/a.jsonl", b'{"text": "four five six"}\n')
    path = tmp_path / "c.toml"
    path.write_text(f'[run]\nstages = ["decontaminate"]\n[[decontaminate.eval_sets]]\nglob = "{uri}/mmlu.jsonl"\n'
                    f'[[decontaminate.eval_sets]]\nglob = "{uri}/sets"\n')
    cfg = config.load(str(path))
    cfg.data_files
    assert cfg.changed_files() == []
    time.sleep(0.01)
    write("mmlu.jsonl", b'{"text": "one two three"}\n')  # the same bytes anew: no change
    assert cfg.changed_files() == []
    write("mmlu.jsonl", b'{"text": "one two four!"}\n')  # the same size, other bytes
    write("sets/b.jsonl", b'{"text": "seven"}\n')
    assert cfg.changed_files() == [f"decontaminate.eval_sets[1]: {uri}/sets (its files)", f"decontaminate.eval_sets[0]: {uri}/mmlu.jsonl"]



@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """(bench_bucketread, a second emulator's endpoint, its access log): requests counted as
    the emulator served them (``requests``), between a test's ``mark`` s."""
    from test_bench import load_bench

    bench, log = load_bench("bench_bucketread"), str(tmp_path_factory.mktemp("gcs-log") / "requests.log")
    with bench.gcs_emulator(BUCKET, log=log, env=ONE_THREAD) as endpoint:
        yield bench, endpoint, log


def served(logged, phase: str, during) -> list[tuple[str, str]]:
    """[(kind, object)] of the requests the emulator served while ``during()`` ran."""
    bench, endpoint, log = logged
    bench.mark(endpoint, BUCKET, phase)
    during()
    bench.mark(endpoint, BUCKET, f"{phase}-end")
    return [(kind, name) for p, kind, name in bench.requests(log) if p == phase]


def test_pieces_of_a_spilled_file_in_a_bucket_are_read_through_one_open(logged, monkeypatch):
    """A spilled file's pieces, read one by one as a shuffle delivers them, cost one request
    each, not an open apiece (counted by the emulator: every open of a GCS object asks for its
    metadata, a request of its own). Before, each piece opened the file: 8 metadata requests."""
    import pyarrow as pa

    from pipelines import spill

    monkeypatch.setenv(GCS_EMULATOR, logged[1])
    batches = [pa.record_batch({"id": [f"d{i}-{j}" for j in range(3)]}) for i in range(8)]
    refs = spill.Spiller(f"gs://{BUCKET}/spilled", "step").pieces(list(enumerate(batches)))
    loaded: list = []
    got = collections.Counter(kind for kind, _ in served(logged, "spill", lambda: loaded.extend(spill.load(r) for _, r in refs)))
    assert loaded == batches
    assert got["stat"] == 1 and got["read"] <= len(batches) + 2, got


def test_a_bucket_input_is_not_asked_each_files_size_at_launch(logged, monkeypatch, tmp_path):
    """`curate run --input gs://...` plans its shards with the sizes its listing gave: no
    metadata request a file (a request each, one after another at launch: 10,000 files took
    minutes). Only the first file is looked into (its first bytes: compression, format).
    Before, every file was asked its size: a stat each of f1..f5."""
    monkeypatch.setenv(GCS_EMULATOR, logged[1])
    fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=logged[1].split("://")[1])
    for i in range(6):
        with fs.open_output_stream(f"{BUCKET}/planned/f{i}.jsonl", compression=None) as f:
            f.write(json.dumps({"id": str(i), "text": f"page {i}"}).encode() + b"\n")
    planned: list = []
    monkeypatch.setattr(cli, "cmd_run", lambda ns, beam_args: planned.append(cli.prepare_run(ns)[1]) or 0)
    run = ["run", "--input", f"gs://{BUCKET}/planned", "--domain", "web", "--output", str(tmp_path / "out"), "--progress", "off"]
    got = served(logged, "plan", lambda: cli.main(run))
    assert sorted(s.rel for s in planned[0]) == [f"f{i}.jsonl" for i in range(6)]
    assert {name for kind, name in got if kind in ("stat", "read") and name.endswith(".jsonl")} == {"planned/f0.jsonl"}, got



def test_the_launch_opens_a_bucket_inputs_first_file_once(logged, monkeypatch, tmp_path):
    """`curate run --input gs://...` looks into the input's first file (compression, archive,
    JSON Lines, its fields) through one open and one read of its first MiB, and into no other
    file, one past limits.split_bytes included (its reader tells by its first bytes whether
    it is compressed after all: test_a_bucket_jsonl_holding_gzip_is_read_once_in_its_ranges).
    Before: the first file opened 6 times (6 metadata requests, 6 reads), every file past
    split_bytes once more."""
    monkeypatch.setenv(GCS_EMULATOR, logged[1])
    fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=logged[1].split("://")[1])
    for i in range(4):
        with fs.open_output_stream(f"{BUCKET}/big/f{i}.jsonl", compression=None) as f:
            f.write(b"".join(json.dumps({"id": f"{i}-{j}", "text": f"page {j}"}).encode() + b"\n" for j in range(40)))
    planned: list = []
    monkeypatch.setattr(cli, "cmd_run", lambda ns, beam_args: planned.append(cli.prepare_run(ns)[1]) or 0)
    run = ["run", "--input", f"gs://{BUCKET}/big", "--domain", "web", "--output", str(tmp_path / "out"), "--progress", "off",
           "--set", "limits.split_bytes=500"]
    got = collections.Counter((kind, name) for kind, name in served(logged, "launch", lambda: cli.main(run)) if name.endswith(".jsonl"))
    assert len(planned[0]) > 8  # every file in ranges
    assert got == {("stat", "big/f0.jsonl"): 1, ("read", "big/f0.jsonl"): 1}, got


def test_a_bucket_jsonl_holding_gzip_is_read_once_in_its_ranges(gcs):
    """A bucket input's file past the first is cut into ranges by its size and name (.jsonl),
    not opened at launch: one holding gzip after all is read whole by its first range, its
    other ranges reading nothing (each of them read the compressed bytes as lines: every range
    a run of not-JSON quarantine rows)."""
    from curate.readers import list_files, plan_shards
    from curate.readers.common import Limits
    from pipelines.io import ReadShardFn

    fs, uri = gcs
    lines = b"".join(json.dumps({"id": f"p-{i}", "text": f"page {i} of the river"}).encode() + b"\n" for i in range(300))
    for name, body in (("a.jsonl", lines[:200]), ("b.jsonl", gzip.compress(lines))):
        with fs.open_output_stream(f"{_path(uri)}/{name}", compression=None) as f:
            f.write(body)
    keys: dict = {}
    shards = plan_shards(list_files(uri, keys=keys), None, "web", "s", {}, Limits(split_bytes=300), keys=keys)
    assert sum(s.rel == "b.jsonl" for s in shards) > 2
    fn = ReadShardFn({}, 1, None)
    fn.setup()
    out = [o for s in shards if s.rel == "b.jsonl" for o in fn.process(s)]
    assert sorted(i for b in out if hasattr(b, "column") for i in b.column("source_id").to_pylist()) == sorted(f"p-{i}" for i in range(300))
    assert not [o for o in out if getattr(o, "tag", "") == "quarantine"]

def test_spilling_into_a_bucket_makes_no_folder(logged, monkeypatch):
    """A step's spilled file goes into the bucket as one upload, with no folder made first: an
    object store has none, and pyarrow's folder markers cost a metadata request for each folder
    above it (and a write): ~8 requests a step and process, ~440 of a demo run's 3,400.
    Before: stats of spilled/tmp/step, spilled/tmp, spilled and a marker written."""
    import pyarrow as pa

    from pipelines import spill

    monkeypatch.setenv(GCS_EMULATOR, logged[1])
    batch = pa.record_batch({"id": ["a", "b"]})
    refs: list = []
    got = served(logged, "mkdir", lambda: refs.extend(spill.Spiller(f"gs://{BUCKET}/spilled", "step").pieces([(0, batch)])))
    assert {name.endswith(".arrow") for _, name in got} == {True}, got
    assert spill.load(refs[0][1]) == batch


def test_spilled_pieces_round_trip_in_either_bucket(store):
    """Spilled files written and read back in GCS and S3 alike (no folder is made first)."""
    import pyarrow as pa

    from pipelines import spill

    _, uri = store
    batches = [pa.record_batch({"id": [f"x{i}"]}) for i in range(3)]
    refs = spill.Spiller(uri, "step").pieces(list(enumerate(batches)))
    assert [spill.load(r) for _, r in refs] == batches


def test_a_bucket_input_file_is_opened_once_to_read_and_fingerprint(logged, monkeypatch, tmp_path):
    """A worker reading a bucket's input file (``ReadShardFn``: its documents, then its
    manifest entry) opens it once (a metadata request and a read): its compression told from
    that open's first bytes, its fingerprint from that open's size and first MiB (a file past
    a MiB: a read of its last 64 KiB), its size for the empty-file check (a .gz) the plan's;
    then one metadata request, whether it is still the file the plan listed. Before: 2 opens
    (stat 2, read 2), a .gz one stat more (buckets50; 4 stats and 3 reads before that). What is
    read is the local copy's, documents and fingerprint alike."""
    from curate.readers import list_files, plan_shards
    from curate.readers.common import Limits
    from curate.readers.warc_writer import write_warc
    from pipelines.io import ReadShardFn

    monkeypatch.setenv(GCS_EMULATOR, logged[1])
    fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=logged[1].split("://")[1])
    files = {"once/book.txt": ("text", b"The harbour at dawn.\n\nThe river ran on.\n" * 50),
             "once/pages.jsonl": ("jsonl", b"".join(b'{"text": "page %d of the river"}\n' % i for i in range(40)))}
    (tmp_path / "once").mkdir()
    write_warc(str(tmp_path / "once/crawl.warc.gz"), [(f"https://site.example/{i}", b"<p>The river at the harbour, page %d.</p>" % i,
                                                       "text/html", 200) for i in range(5)])
    files["once/crawl.warc.gz"] = ("warc", (tmp_path / "once/crawl.warc.gz").read_bytes())
    for rel, (_, body) in files.items():
        (tmp_path / rel).write_bytes(body)
        with fs.open_output_stream(f"{BUCKET}/{rel}", compression=None) as f:
            f.write(body)

    def plan(where, rel, fmt):
        keys: dict = {}
        return plan_shards(list_files(f"{where}/{rel}", keys=keys), fmt, "web", "s", {}, Limits(), keys=keys)

    def read(shards):
        fn = ReadShardFn({}, 1, None)
        fn.setup()
        out = [o for s in shards for o in fn.process(s)]
        return [b.to_pylist() for b in out if hasattr(b, "to_pylist")], [json.loads(o.value) for o in out if getattr(o, "tag", "") == "files"]

    for rel, (fmt, _) in files.items():
        got: list = []
        shards = plan(f"gs://{BUCKET}", rel, fmt)
        kinds = collections.Counter(kind for kind, name in served(logged, "once", lambda: got.append(read(shards))) if name == rel)
        assert got[0] == read(plan(str(tmp_path), rel, fmt)) and got[0][0] and got[0][1][0]["bytes"] == len(files[rel][1])
        assert kinds == {"stat": 2, "read": 1}, (rel, kinds)

@pytest.mark.parametrize("how", ["rewritten_same_size", "deleted"])
def test_a_bucket_file_changed_since_the_plan_is_said_by_its_reader(gcs, how):
    """A bucket's input object replaced (the same size, other bytes) or deleted after the run
    listed it: the worker reading it says so, naming it (its update time, from the listing,
    differs; the check is one metadata request after the read). Before, a replaced object was
    read as the new bytes under the plan's ranges and a deleted one was a read_error row and
    a traceback from its fingerprint."""
    from curate.readers import list_files, plan_shards
    from curate.readers.common import Limits
    from pipelines.io import ReadShardFn

    fs, uri = gcs
    body = b"".join(b'{"text": "page %02d of the river"}\n' % i for i in range(20))
    with fs.open_output_stream(f"{_path(uri)}/in.jsonl", compression=None) as f:
        f.write(body)
    keys: dict = {}
    shards = plan_shards(list_files(f"{uri}/in.jsonl", keys=keys), None, "web", "s", {}, Limits(split_bytes=300), keys=keys)
    assert len(shards) > 2
    fn = ReadShardFn({}, 1, None)
    fn.setup()
    read = lambda: [b for s in shards for b in fn.process(s) if hasattr(b, "num_rows")]  # noqa: E731
    assert sum(b.num_rows for b in read()) == 20
    if how == "deleted":
        fs.delete_file(f"{_path(uri)}/in.jsonl")
    else:
        with fs.open_output_stream(f"{_path(uri)}/in.jsonl", compression=None) as f:
            f.write(body.replace(b"river", b"ocean"))
    said = "was deleted" if how == "deleted" else rf"changed \({len(body):,} bytes then and now: rewritten, replaced or cut\)"
    with pytest.raises(Exception, match=f"input file {re.escape(uri)}/in.jsonl {said} after the run listed it"):  # noqa: PT011
        read()

