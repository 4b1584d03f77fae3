"""Inputs and outputs in a bucket, against a GCS emulator (gcp-storage-emulator, started on a
free port for this module): the whole pipeline, and the output commit's promises (a rerun
replaces the output only when complete, a killed one leaves it readable, foreign objects make
the run refuse, the staging prefix goes) where there are no folders and no renames."""
from __future__ import annotations

import hashlib
import itertools
import json
import os
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
    """The emulator's endpoint (http://127.0.0.1:PORT), in its own process, stopped after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port", str(port),
                             "--in-memory", "--default-bucket", BUCKET], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(endpoint + "/", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, "the GCS emulator did not start"
                time.sleep(0.05)
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
