"""The full pipeline on Beam's portability layer equals the DirectRunner output.

A local job service and an external SDK worker pool run the job the way a Flink cluster with
a Python worker-pool sidecar does: the pipeline is serialised to protos, DoFns are pickled and
data crosses process boundaries. The test starts and stops both processes itself. Then what
goes wrong on such a cluster, each said in one line: no pool at the address, a worker that
does not see a local input or writes a local output on its own disk (a pool in a mount
namespace of its own: needs `unshare`), a worker killed mid-run.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
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
def services(tmp_path, pool_prefix=(), job_service=True, pythonpath=None):
    """A local job service and an external worker pool; ``pool_prefix`` wraps the pool's
    command (another view of the filesystem: a worker on another machine). Without
    ``job_service`` the job service runs in the launching process (--job_endpoint=embed)."""
    job_port, pool_port = free_port(), free_port()
    # the pool starts workers with `python` from PATH: make that this interpreter
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    if pythonpath:  # a user's rules, where the workers import them
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    logs = open(tmp_path / "services.log", "ab")
    procs = [subprocess.Popen([*pool_prefix, sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={pool_port}"], stdout=logs, stderr=subprocess.STDOUT, env=env)]
    if job_service:
        procs.append(subprocess.Popen([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", f"--port={job_port}"], stdout=logs, stderr=subprocess.STDOUT, env=env))
    try:
        wait_for_port(pool_port, procs[0])
        if job_service:
            wait_for_port(job_port, procs[1])
        yield [
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}" if job_service else "--job_endpoint=embed",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{pool_port}",
        ]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        logs.close()


@pytest.fixture
def portable_services(tmp_path):
    with services(tmp_path) as args:
        yield args


def test_portable_runner_matches_direct_runner(tmp_path, portable_services, demo):
    """The demo's config through the job service and worker pool gives the demo's own
    DirectRunner output (the session's `demo` run: one pipeline run less), file for file."""
    root, _ = demo
    direct, portable = root / "out", tmp_path / "portable"
    assert cli.main(["run", str(root / "demo.toml"), "--output", str(portable), "--progress", "off", *portable_services]) == 0
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
        # ingest alone: the stage that reads the inputs (the later ones cost ~2 CPU-s to build and ship)
        res = subprocess.run([sys.executable, "-m", "curate", "run", cfg, "--output", str(out), "--progress", "off",
                              "--stages", "ingest", *args], capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    err = [line for line in res.stderr.splitlines() if "apitools" not in line]
    assert len(err) == 1, err
    assert re.fullmatch(rf"curate: input file {re.escape(str(tmp_path))}/demo/raw/\S+ was listed at launch but is not on the "
                        r"worker reading it \(host \S+\): deleted since, or a worker on another machine: local paths must be "
                        rf"at the same absolute path on every worker \(mount them there\), or give the inputs as bucket URIs; no output was "
                        rf"written to {re.escape(str(out))}", err[0]), err[0]
    assert not out.exists()


def test_no_worker_pool_at_the_address_is_one_line(tmp_path):
    """--environment_type=EXTERNAL with no pool listening at --environment_config (not started
    yet, a wrong port) was a 61-line traceback ending in grpc's UNAVAILABLE."""
    cfg = demo.write_demo(str(tmp_path / "demo"))
    out, port = tmp_path / "out", free_port()
    res = subprocess.run([sys.executable, "-m", "curate", "run", cfg, "--output", str(out), "--progress", "off", "--stages", "ingest",
                          "--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=EXTERNAL",
                          f"--environment_config=localhost:{port}"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    err = [line for line in res.stderr.splitlines() if "apitools" not in line]
    assert err == [f"curate: no SDK worker pool answers at --environment_config=localhost:{port}: start one there "
                   f"(`python -m apache_beam.runners.worker.worker_pool_main --service_port={port}`, in an environment "
                   f"with curate installed), or fix the address; no output was written to {out}"], err
    assert not out.exists()


KILLER = """
import os, signal

def kill_my_worker(batch):
    os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer or a preempted node does
"""


@pytest.mark.parametrize("where", ["pool", "multi_processing"])
def test_a_worker_killed_mid_run_is_one_line(tmp_path, where):
    """A worker-pool worker killed mid-run failed the run with a 77-line traceback (Beam's
    'Channel closed prematurely'), or, where it died in a step with no output, the launcher
    waited forever (next test); one of the DirectRunner's multi_processing workers killed,
    the launcher waited forever too (the runner sent the next bundles to the dead worker)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "killer.py").write_text(KILLER)
    cfg = Path(demo.write_demo(str(tmp_path / "demo")))
    cfg.write_text(cfg.read_text() + '\n[filter.custom]\nkiller = "killer:kill_my_worker"\n')
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(rules), *filter(None, [os.environ.get("PYTHONPATH")])])}
    # the stages up to the rule's (filter): those after it would be built and shipped, never reached
    cmd = [sys.executable, "-m", "curate", "run", str(cfg), "--output", str(out), "--progress", "off", "--stages", "ingest,filter"]
    with (services(tmp_path, job_service=False, pythonpath=rules) if where == "pool" else contextlib.nullcontext(
            ["--direct_num_workers=2", "--direct_running_mode=multi_processing"])) as args:
        res = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=180, env=env)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    # Beam's multi_processing workers start under `sh -c`, whose "Killed" this is
    err = [line for line in res.stderr.splitlines() if "apitools" not in line and line not in ("Killed", "INFO:__main__:Logging handler created.")]
    assert err == ["curate: an SDK worker of the runner died mid-run (killed, out of memory?) and the job failed; rerun once "
                   f"its cause is fixed; no output was written to {out}"], err
    assert not out.exists()


def test_a_worker_lost_in_a_step_without_output_fails_the_job(tmp_path):
    """Beam's own job service waited forever for a bundle's answer from a worker that had died
    in a step with no output (a write): the launcher hung with it. Now the job fails."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines import pipeline  # noqa: F401 - installs pipelines/worker_loss.py, as every run does

    failed = []

    def job(args):
        try:
            with beam.Pipeline(options=PipelineOptions(args)) as p:
                p | beam.Create([1]) | beam.Map(lambda _: os.kill(os.getpid(), signal.SIGKILL))  # by value: workers cannot import this file
        except Exception as e:  # noqa: BLE001
            failed.append(str(e))

    with services(tmp_path, job_service=False) as args:
        waiting = threading.Thread(target=job, args=(args,), daemon=True)  # a hang fails the test, not the session
        waiting.start()
        waiting.join(120)
        assert not waiting.is_alive(), "the job still waits for the dead worker"
    assert failed and "WorkerLost: an SDK worker of the runner ended (killed, out of memory?) before the job did" in failed[0], failed


def test_a_local_output_the_workers_write_elsewhere_is_one_line(tmp_path):
    """Workers that write a local output on disks of their own (no shared filesystem): the
    launcher found no staged manifest and failed with a traceback from curate.commit."""
    cfg = demo.write_demo(str(tmp_path / "demo"))
    (tmp_path / "outs").mkdir()
    out = tmp_path / "outs" / "corpus"
    with services(tmp_path, hiding(tmp_path / "outs"), job_service=False) as args:
        # ingest alone: the workers write its output as they would any stage's
        res = subprocess.run([sys.executable, "-m", "curate", "run", cfg, "--output", str(out), "--progress", "off",
                              "--stages", "ingest", *args], capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stderr
    err = [line for line in res.stderr.splitlines() if "apitools" not in line]
    assert err == [f"curate: the runner's workers wrote the output where this machine does not see it ({out}/.curate-staging "
                   "has no manifest.json; their files are left on the workers' disks): a local output must be at the same "
                   "absolute path on every worker and this machine (a shared filesystem), or give a bucket URI "
                   f"(gs://BUCKET/...); no output was written to {out}"], err
    assert not out.exists()


WAITER = """
import os, sys, time

def wait_here(batch):
    open(os.environ["CURATE_TEST_MARK"], "a").close()  # a worker is in the step: Ctrl-C now
    time.sleep(120)
"""


def test_ctrl_c_under_multi_processing_is_one_line(tmp_path):
    """Ctrl-C at the terminal reaches the DirectRunner's multi_processing workers too: each
    printed its KeyboardInterrupt traceback twice (its own, and relayed by the runner's log),
    ~85 lines above curate's one. Now the workers end on it silently, as they did; the run says
    its line, exits 130, and leaves no process and no output behind."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "waiter.py").write_text(WAITER)
    cfg = Path(demo.write_demo(str(tmp_path / "demo")))
    cfg.write_text(cfg.read_text() + '\n[filter.custom]\nwaiter = "waiter:wait_here"\n')
    out, mark = tmp_path / "out", tmp_path / "mark"
    env = {**os.environ, "CURATE_TEST_MARK": str(mark),
           "PYTHONPATH": os.pathsep.join([str(rules), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen([sys.executable, "-m", "curate", "run", str(cfg), "--output", str(out), "--progress", "off",
                             "--stages", "ingest,filter", "--direct_num_workers=2", "--direct_running_mode=multi_processing"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not mark.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert mark.exists(), proc.stderr.read() if proc.poll() is not None else "no worker reached the step"
        os.killpg(proc.pid, signal.SIGINT)  # as the terminal sends it: to the whole foreground group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip() and "apitools" not in ln and ln != "INFO:__main__:Logging handler created."]
    assert lines == [f"curate: interrupted; no output was written to {out}"], err[-3000:]  # a first run
    time.sleep(1)
    ps = subprocess.run(["ps", "-o", "stat=,args=", "-s", str(proc.pid)], capture_output=True, text=True).stdout
    assert [ln for ln in ps.splitlines() if not ln.lstrip().startswith("Z")] == [], ps  # dead ones PID 1 has not reaped aside
    assert not out.exists()
