"""Crashes, reruns, hostile input, and runs with the network blocked."""
from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from curate import commit, cli, output


def make_inputs(d: Path, files: int = 6, rows: int = 4000) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with gzip.open(d / f"part-{f}.jsonl.gz", "wt", encoding="utf-8") as fh:
            for i in range(rows):
                fh.write(json.dumps({"id": f"{f}-{i}", "text": f"record {i} of file {f}. " * 20}) + "\n")


def files_of(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sigkill_midway_then_rerun_is_identical_to_a_clean_run(tmp_path):
    inp = tmp_path / "in"
    make_inputs(inp)
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    args = ["run", "--input", str(inp / "*.jsonl.gz"), "--domain", "web", "--stages", "ingest", "--progress", "off"]
    assert cli.main([*args, "--output", str(clean)]) == 0

    # a first run killed part-way: the directory must not look finished
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", *args, "--output", str(crashed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not (crashed / commit.STAGING / "text").exists() and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with pytest.raises(commit.OutputError):
        commit.verify_output(str(crashed))

    # a finished run, killed before the rerun's manifest: still never a stale manifest
    assert cli.main([*args, "--output", str(crashed)]) == 0
    commit.verify_output(str(crashed))
    a, b = files_of(clean), files_of(crashed)
    a.pop("manifest.json"), b.pop("manifest.json")
    assert a == b
    ma, mb = commit.read_manifest(str(clean)), commit.read_manifest(str(crashed))
    ma["config"]["run"].pop("output"), mb["config"]["run"].pop("output")
    ma.pop("config_hash"), mb.pop("config_hash")
    assert ma == mb


def test_manifest_listing_a_changed_file_is_refused(tmp_path):
    inp = tmp_path / "in"
    make_inputs(inp, files=1, rows=50)
    out = tmp_path / "out"
    assert cli.main(["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", str(out)]) == 0
    commit.verify_output(str(out))
    victim = next((out / "text").iterdir())
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(commit.OutputError, match="bytes, the manifest says"):
        commit.verify_output(str(out))


def gzip_of_zeros(path: Path, mib: int) -> None:
    """``mib`` MiB of zeros as one gzip member, deflated in 2 MiB: each MiB ends in a full flush,
    which empties the compressor's window, so every MiB after the first deflates to the same
    bytes (gzip.open deflating the whole GiB took 1.6 CPU-s, this 0.3); the trailer's CRC-32 and
    length are the whole stream's (`gzip -t` passes it)."""
    chunk = bytes(1 << 20)
    c = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)  # after the header
    again = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert again == c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    with open(path, "wb") as f:
        f.write(first)
        for _ in range(mib - 1):
            f.write(again)
        f.write(c.flush()[:-8] + struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF))  # the last block, then our trailer


def test_gzip_of_zeros_is_the_zeros(tmp_path):
    """The helper above: a gzip stream that decompresses to its MiBs of zeros, its CRC and
    length checked by the gzip module as it reaches the end."""
    gzip_of_zeros(tmp_path / "z.gz", 3)
    assert gzip.decompress((tmp_path / "z.gz").read_bytes()) == bytes(3 << 20)


def test_gigabyte_of_zeros_is_quarantined_within_limits(tmp_path):
    """1 GB of zeros gzipped (~5 MB on disk): quarantined at the configured limit, memory bounded."""
    bomb = tmp_path / "in" / "zeros.jsonl.gz"
    bomb.parent.mkdir()
    gzip_of_zeros(bomb, 1024)
    out = tmp_path / "out"
    code = (
        "import sys\n"
        "from curate import cli\n"
        f"rc = cli.main(['run', '--input', {str(bomb)!r}, '--domain', 'web', '--stages', 'ingest', '--output', {str(out)!r}])\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from a
        # large pytest process would report the parent's peak
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) // 1024)\n"
        "sys.exit(rc)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    peak_mb = int(res.stdout.strip().splitlines()[-1])
    assert peak_mb < 600, f"peak RSS {peak_mb} MB"
    import polars as pl

    q = pl.read_parquet(f"{out}/quarantine/*.parquet")
    assert q.height == 1 and q["reason"][0] == "record_too_large"  # the zeros are one 1 GB "line"
    assert pl.read_parquet(f"{out}/text/*.parquet").height == 0


def test_demo_runs_with_the_network_blocked(tmp_path, monkeypatch):
    """No network at run time: every socket creation fails, the demo still completes."""

    def refuse(*a, **k):
        raise OSError("network access attempted during the demo")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert cli.main(["demo", "--output", str(tmp_path / "demo")]) == 0
    commit.verify_output(str(tmp_path / "demo" / "out"))
