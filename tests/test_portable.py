"""The full pipeline on Beam's portability layer equals the DirectRunner output.

A local job service and an external SDK worker pool run the job the way a Flink cluster with
a Python worker-pool sidecar does: the pipeline is serialised to protos, DoFns are pickled and
data crosses process boundaries. The test starts and stops both processes itself.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curate import cli, demo

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


@contextlib.contextmanager
def services(tmp_path, pool_prefix=()):
    """A local job service and an external worker pool; ``pool_prefix`` wraps the pool's
    command (another view of the filesystem: a worker on another machine)."""
    job_port, pool_port = free_port(), free_port()
    # the pool starts workers with `python` from PATH: make that this interpreter
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    logs = open(tmp_path / "services.log", "ab")
    job = subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", f"--port={job_port}"], stdout=logs, stderr=subprocess.STDOUT, env=env)
    pool = subprocess.Popen([*pool_prefix, sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={pool_port}"], stdout=logs, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(job_port, job)
        wait_for_port(pool_port, pool)
        yield [
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{pool_port}",
        ]
    finally:
        for p in (pool, job):
            p.terminate()
        for p in (pool, job):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()


@pytest.fixture
def portable_services(tmp_path):
    with services(tmp_path) as args:
        yield args


def test_portable_runner_matches_direct_runner(tmp_path, portable_services):
    cfg = demo.write_demo(str(tmp_path / "demo"))
    direct, portable = tmp_path / "direct", tmp_path / "portable"
    assert cli.main(["run", cfg, "--output", str(direct), "--progress", "off"]) == 0
    assert cli.main(["run", cfg, "--output", str(portable), "--progress", "off", *portable_services]) == 0
    files = sorted(str(p.relative_to(direct)) for p in direct.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(portable)) for p in portable.rglob("*") if p.is_file())
    assert any(f.startswith("text/") for f in files)
    for f in files:
        if f == "manifest.json":  # it records the runner's options; compare the rest
            continue
        assert (direct / f).read_bytes() == (portable / f).read_bytes(), f


def hiding(folder) -> list[str]:
    """A command prefix that runs a process with ``folder`` covered by an empty one (its own
    mount namespace): what a worker on another machine, or in a container without the
    volume, sees of a local input."""
    prefix = ["unshare", "-r", "-m", "sh", "-c", f'mount -t tmpfs none "{folder}" && exec "$@"', "sh"]
    if shutil.which("unshare") is None or subprocess.run([*prefix, "true"], capture_output=True).returncode:
        pytest.skip("needs unshare with user and mount namespaces")
    return prefix


def test_a_worker_that_cannot_see_a_local_input_is_one_line(tmp_path):
    """A worker that does not see a local input path (another machine, a container without the
    volume) failed the run with a 227-line traceback (FileNotFoundError in the manifest's
    fingerprint), after quarantining its records as read_error; and a file split in ranges
    would have been quarantined silently."""
    cfg = demo.write_demo(str(tmp_path / "demo"))
    out = tmp_path / "out"
    with services(tmp_path, hiding(tmp_path / "demo" / "raw")) as args:
        # as a user runs it: Beam logs the job's error on the root logger, outside capsys
        res = subprocess.run([sys.executable, "-m", "curate", "run", cfg, "--output", str(out), "--progress", "off", *args],
                             capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    err = [line for line in res.stderr.splitlines() if "apitools" not in line]
    assert len(err) == 1, err
    assert re.fullmatch(rf"curate: input file {re.escape(str(tmp_path))}/demo/raw/\S+ was listed at launch but is not on the "
                        r"worker reading it \(host \S+\): deleted since, or a worker on another machine: local paths must be "
                        rf"at the same absolute path on every worker \(mount them there\), or give the inputs as bucket URIs; the previous output in "
                        rf"{re.escape(str(out))} is unchanged", err[0]), err[0]
    assert not out.exists()


def test_no_worker_pool_at_the_address_is_one_line(tmp_path):
    """--environment_type=EXTERNAL with no pool listening at --environment_config (not started
    yet, a wrong port) was a 61-line traceback ending in grpc's UNAVAILABLE."""
    cfg = demo.write_demo(str(tmp_path / "demo"))
    out, port = tmp_path / "out", free_port()
    res = subprocess.run([sys.executable, "-m", "curate", "run", cfg, "--output", str(out), "--progress", "off",
                          "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=EXTERNAL",
                          f"--environment_config=localhost:{port}"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    err = [line for line in res.stderr.splitlines() if "apitools" not in line]
    assert err == [f"curate: no SDK worker pool answers at --environment_config=localhost:{port}: start one there "
                   f"(`python -m apache_beam.runners.worker.worker_pool_main --service_port={port}`, in an environment "
                   f"with curate installed), or fix the address; the previous output in {out} is unchanged"], err
    assert not out.exists()
