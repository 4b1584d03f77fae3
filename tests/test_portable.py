"""The full pipeline on Beam's portability layer equals the DirectRunner output.

A local job service and an external SDK worker pool run the job the way a Flink cluster with
a Python worker-pool sidecar does: the pipeline is serialised to protos, DoFns are pickled and
data crosses process boundaries. The test starts and stops both processes itself.
"""
from __future__ import annotations

import os
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


@pytest.fixture
def portable_services(tmp_path):
    job_port, pool_port = free_port(), free_port()
    # the pool starts workers with `python` from PATH: make that this interpreter
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    logs = open(tmp_path / "services.log", "wb")
    job = subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", f"--port={job_port}"], stdout=logs, stderr=subprocess.STDOUT, env=env)
    pool = subprocess.Popen([sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={pool_port}"], stdout=logs, stderr=subprocess.STDOUT, env=env)
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
