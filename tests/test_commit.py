"""Output commits through the CLI: curate never deletes or overwrites what it did not write,
and an interrupted, killed or failed rerun leaves the previous output verifying and
byte-identical (issue 13, cases 1 and 2)."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curate import cli, commit, demo, output
from curate.audit import command

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def run_here(capsys):
    """`curate ARGS` in this process (no interpreter start nor Beam import, ~2-3 s a call): what
    these tests check (exit code, stderr) does not depend on the process boundary."""
    def run(*args) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = cli.main(list(map(str, args)))
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)
    return run


def test_foreign_files_survive_and_run_refuses(tmp_path, corpora, run_here):
    """The issue's reproduction: files at depth 1 and 2 in a folder curate did not write."""
    warc = corpora / "web" / "dolma_wget_sample-0000.warc.gz"
    f = tmp_path / "f"
    (f / "text").mkdir(parents=True)
    (f / "stats").mkdir()
    (f / "text" / "mydata.parquet").write_text("mine\n")
    (f / "stats" / "notes.json").write_text("{}\n")
    before = snapshot(f)
    r = run_here("run", "--input", warc, "--domain", "web", "--stages", "ingest", "--output", f)
    assert r.returncode == 2
    assert "stats/notes.json" in r.stderr and "text/mydata.parquet" in r.stderr
    assert r.stderr.splitlines() == [f"curate: output '{f}' is not empty and is not a curate output (no manifest.json; it holds "
                                     "stats/notes.json, text/mydata.parquet); choose another --output"]  # its brackets closed
    assert snapshot(f) == before


@pytest.mark.parametrize("command", ["audit", "run"])
def test_nothing_is_written_inside_another_curate_output(tmp_path, finished_demo, command, run_here):
    """`curate audit corpus --output corpus/audit` (the report kept beside the corpus), or a run
    with `--output corpus/sample`, wrote files corpus's manifest does not list: its audit then
    failed ("files the manifest does not list: expected 0, found 2") and its next run refused
    ("holds files curate did not write"). Refused, naming the output it would be inside."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    inner = out / "stats" / "sub"
    if command == "audit":
        r = run_here("audit", out, "--output", inner)
    else:
        r = run_here("run", *args[1:2], "--stages", "ingest", "--output", inner, "--progress", "off")
    assert r.returncode == 2, r.stderr
    assert r.stderr == (f"curate{' audit' * (command == 'audit')}: output {str(inner)!r} is inside the "
                        f"curate output {str(out)!r}, whose manifest would not list its files (that output's audit would fail "
                        f"and its next run refuse): choose an --output outside it\n"), r.stderr
    assert snapshot(out) == before
    assert run_here("audit", out).returncode == 0


def test_foreign_manifest_is_not_overwritten(tmp_path, corpora, run_here):
    f = tmp_path / "f"
    f.mkdir()
    (f / "manifest.json").write_text("{}\n")
    r = run_here("run", "--input", corpora / "web" / "dolma_wget_sample-0000.warc.gz", "--domain", "web", "--stages", "ingest", "--output", f)
    assert r.returncode == 2 and "not a curate manifest" in r.stderr
    assert (f / "manifest.json").read_text() == "{}\n"


def test_rerun_refuses_foreign_files_in_a_finished_output(tmp_path, finished_demo):
    """A file of the user's at depth 0, 1 or 2 (in a folder the output has, or not) of a
    finished output: its rerun refuses, nothing changed. One finished output for the three
    (a refusal changes nothing), and one rerun once they are gone."""
    out, args, _ = _demo_rerun(tmp_path, finished_demo)
    for rel in ["mine.txt", "text/mine.parquet", "tokens/deeper/mine.bin"]:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text("mine\n")
        before = snapshot(out)
        assert cli.main(args) == 2, rel
        assert snapshot(out) == before, rel
        (out / rel).unlink()
    assert cli.main([*args, "--stages", "ingest"]) == 0  # without them, the rerun replaces the output
    commit.verify_output(str(out))


def test_rerun_replaces_only_its_own_files_and_the_audit(tmp_path, finished_demo, clean_rerun):
    """Every file of a run is listed in its manifest; a rerun with fewer stages removes the
    files the old run wrote (tokens) and the audit's report, and nothing else is left."""
    out = tmp_path / "out"
    cfg = finished_demo[0]
    copy_output(clean_rerun, out)  # a whole run's output (every stage)
    assert command.main([str(out)]) == 0
    m = commit.verify_output(str(out))
    listed = {e["file"] for e in m["files"]} | {e["file"] for e in m["derived"]} | {"manifest.json"}
    assert listed == set(snapshot(out))
    assert {"report.html", "stats/summary.json", "tokens.json", "stats/run.json"} <= listed
    assert cli.main(["run", cfg, "--output", str(out), "--stages", "ingest,langid", "--progress", "off"]) == 0
    m2 = commit.verify_output(str(out))
    assert set(snapshot(out)) == {e["file"] for e in m2["files"]} | {"manifest.json"}
    assert not (out / "tokens").exists() and not (out / "report.html").exists()


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory) -> tuple[str, Path]:
    """The demo's config, and a finished output of it (ingest, langid, filter): run once for
    the module, each test getting its own copy (_demo_rerun); nothing writes the demo's folder."""
    base = tmp_path_factory.mktemp("finished")
    out = base / "out"
    cfg = demo.write_demo(str(base / "d"))
    assert cli.main(["run", cfg, "--output", str(out), "--stages", "ingest,langid,filter", "--progress", "off"]) == 0
    return cfg, out


def _demo_rerun(tmp_path, finished_demo) -> tuple[Path, list[str], dict]:
    """A finished output (a copy of ``finished_demo``'s), and the arguments of a rerun that
    would change it."""
    cfg, finished = finished_demo
    out = tmp_path / "out"
    copy_output(finished, out)
    commit.verify_output(str(out))
    return out, ["run", cfg, "--output", str(out), "--progress", "off"], snapshot(out)


def copy_output(src: Path, dst: Path) -> None:
    """A copy of an output as a commit leaves it, its manifest renamed in last (a copy's files
    changed after its manifest would be hashed by the next run's same-size check)."""
    shutil.copytree(src, dst, ignore=lambda d, names: [output.MANIFEST] if Path(d) == src else [])
    shutil.copy2(src / output.MANIFEST, dst / output.MANIFEST)


def _wait_for(cond, proc, timeout=120.0):
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, "the run ended before the planned interrupt"
        assert time.monotonic() - t0 < timeout
        time.sleep(0.02)


# points of the rerun: its staging folder is made; a step has written its batches (not a
# fixed wait, which a loaded machine may spend still building the pipeline); it is writing
# output shards
def _holds(folder: Path, suffix: str) -> bool:
    try:
        return any(p.suffix == suffix for p in folder.rglob("*"))
    except FileNotFoundError:  # the run deleted a folder while it was listed
        return False


POINTS = {
    "staging": lambda staging: staging.exists(),
    "running": lambda staging: _holds(staging / commit.TMP, ".arrow"),
    "writing": lambda staging: _holds(staging, ".parquet"),
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("point", list(POINTS))
def test_interrupted_rerun_keeps_previous_output(tmp_path, finished_demo, sig, point):
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    staging = out / commit.STAGING
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: POINTS[point](staging), proc)
        t0 = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        stopped = time.monotonic() - t0
    finally:
        proc.kill()
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines == [f"curate: interrupted; the previous output in {out} is unchanged"], err
        assert stopped < 10, f"took {stopped:.1f} s to stop"
        assert not staging.exists()
    else:
        assert proc.returncode == -signal.SIGKILL
    commit.verify_output(str(out))
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(commit.STAGING)} == before
    if sig == signal.SIGINT:
        return  # the output as it was, nothing left: its next run is any rerun's (not run again here)
    # the next run clears what the killed one left and completes (ingest alone: what it clears is the staging folder)
    assert cli.main([*args, "--stages", "ingest"]) == 0
    m = commit.verify_output(str(out))
    assert not staging.exists() and m["config"]["run"]["stages"] == ["ingest"]


def test_interrupt_inside_a_step_is_an_interrupt(tmp_path, finished_demo):
    """Beam re-raises a Ctrl-C that lands inside a DoFn's setup as a RuntimeError; it is
    still reported as an interrupt, with the previous output unchanged."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    env = dict(os.environ, CURATE_FAULT="sigint_in_filter_setup")  # the filter's stages: ~0.8 CPU-s less to build than all
    r = subprocess.run([sys.executable, "-m", "curate.cli", *args, "--stages", "ingest,filter"], cwd=REPO, capture_output=True,
                       text=True, env=env)
    assert r.returncode == 130, r.stderr
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == [f"curate: interrupted; the previous output in {out} is unchanged"]
    assert snapshot(out) == before


# Runs `curate ARGS...` with Ctrl-C pressed as the module named first is imported: where the
# first seconds of a command go (Beam's imports), or where `curate audit` starts its work.
CTRL_C_AT_IMPORT = """
import importlib.abc, os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal (a background job ignores it)
at = sys.argv.pop(1)
class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == at:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, CtrlC())
from curate.cli import entry
entry()
"""


@pytest.mark.parametrize("module, command", [("apache_beam", "run"), ("curate.audit.command", "audit")])
def test_interrupt_while_a_command_starts_is_one_line(tmp_path, finished_demo, module, command):
    """Ctrl-C in the first two seconds of `curate run` (while Beam is imported, before the run
    handles an interrupt), or at any time in `curate audit`, printed a Python traceback
    ending in KeyboardInterrupt. Now one line, exit status 130, as for a run interrupted later."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    args = args if command == "run" else ["audit", str(out)]
    r = subprocess.run([sys.executable, "-c", CTRL_C_AT_IMPORT, module, *args], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 130, r.stderr
    said = "curate: interrupted; the previous output is unchanged" if command == "run" else "curate: interrupted"
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == [said], r.stderr
    assert snapshot(out) == before


@pytest.mark.parametrize("where", ["render", "report.html"])
def test_an_interrupted_audit_leaves_the_output_replaceable(tmp_path, finished_demo, monkeypatch, where):
    """`curate audit DIR` interrupted (or failing) while it rendered report.html, after it had
    written stats/summary.json, left that file unlisted in DIR's manifest: the next `curate
    run` into DIR refused ("holds files curate did not write: stats/summary.json") until the
    user deleted it by hand. The report is rendered before anything is written, and what was
    written is listed whatever stops the audit."""
    from curate.audit import report

    out, args, _ = _demo_rerun(tmp_path, finished_demo)

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    if where == "render":
        monkeypatch.setattr(report, "render", interrupted)
    else:
        write = output.write_atomic
        monkeypatch.setattr(output, "write_atomic", lambda root, rel, data: interrupted() if rel == where else write(root, rel, data))
    with pytest.raises(KeyboardInterrupt):
        cli.main(["audit", str(out)])
    commit.check_owned(str(out))  # every file in DIR is one its manifest lists
    monkeypatch.undo()
    # ingest alone: a rerun refuses unlisted files as it begins, whatever its stages
    assert cli.main([*args, "--stages", "ingest"]) == 0
    commit.verify_output(str(out))


def test_stopped_first_run_leaves_no_empty_output_folder(tmp_path):
    """A first run into a new output that failed or was interrupted (a Flink job server that
    could not be started, Ctrl-C) left the output folder behind, empty."""
    cfg = demo.write_demo(str(tmp_path / "d"))
    out = tmp_path / "out"
    env = dict(os.environ, CURATE_FAULT="sigint_in_filter_setup")
    r = subprocess.run([sys.executable, "-m", "curate.cli", "run", cfg, "--output", str(out), "--stages", "ingest,filter",
                        "--progress", "off"], cwd=REPO, capture_output=True, text=True, env=env)  # the fault's stage, as above
    assert r.returncode == 130, r.stderr
    assert not out.exists()


@pytest.fixture(scope="module")
def clean_rerun(tmp_path_factory, finished_demo) -> Path:
    """What the rerun of ``_demo_rerun`` writes into a new output: run once for the module."""
    clean = tmp_path_factory.mktemp("clean") / "out"
    assert cli.main(["run", finished_demo[0], "--output", str(clean), "--progress", "off"]) == 0
    return clean


@pytest.fixture(scope="module")
def killed_during_moves(tmp_path_factory, finished_demo) -> Path:
    """``_demo_rerun``'s rerun killed (os._exit(137), as kill -9) as it moved its files into
    place, its commit decided: run once for the module (a process start and a whole run, ~5
    CPU-s); each test reading what it left gets its own copy (_killed_rerun)."""
    out, args, _ = _demo_rerun(tmp_path_factory.mktemp("killed"), finished_demo)
    r = subprocess.run([sys.executable, "-m", "curate.cli", *args], cwd=REPO, capture_output=True, text=True,
                       env=dict(os.environ, CURATE_FAULT="during_moves"))
    assert r.returncode == 137, r.stderr
    return out


def _killed_rerun(tmp_path, finished_demo, killed_during_moves) -> tuple[Path, list[str]]:
    """A copy of what ``killed_during_moves`` left (its journal, no manifest: half its files
    moved), and the rerun's arguments for the copy."""
    out = tmp_path / "out"
    shutil.copytree(killed_during_moves, out)
    assert (out / commit.STAGING / commit.JOURNAL).exists() and not (out / output.MANIFEST).exists()
    return out, ["run", finished_demo[0], "--output", str(out), "--progress", "off"]


@pytest.mark.parametrize("fault", ["after_journal", "during_moves"])
def test_commit_killed_midway_completes_on_next_read(tmp_path, finished_demo, clean_rerun, killed_during_moves, fault):
    """A kill after the commit was decided is rolled forward by whoever reads the output next:
    the result is the new run's output, whole."""
    clean = clean_rerun
    if fault == "during_moves":
        out, args = _killed_rerun(tmp_path, finished_demo, killed_during_moves)
    else:
        out, args, before = _demo_rerun(tmp_path, finished_demo)
        env = dict(os.environ, CURATE_FAULT=fault)
        r = subprocess.run([sys.executable, "-m", "curate.cli", *args], cwd=REPO, capture_output=True, text=True, env=env)
        assert r.returncode == 137, r.stderr
    assert (out / commit.STAGING / commit.JOURNAL).exists()
    m = commit.verify_output(str(out))  # completes the commit
    assert not (out / commit.STAGING).exists()
    got, want = snapshot(out), snapshot(clean)
    assert set(got) == set(want)
    for k in want:
        if k != "manifest.json":
            assert got[k] == want[k], k
    assert m["counts"] == commit.read_manifest(str(clean))["counts"]


def test_failed_run_keeps_previous_output(tmp_path, finished_demo, run_here):
    """A run that fails once the pipeline is being built (here: a broken tokenizer file)
    leaves the old output and no staging folder."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json")
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(args[1]).read_text() + f"\n[tokenize]\ntokenizer = {str(broken)!r}\n".replace("'", '"'))
    r = run_here("run", bad, "--output", out, "--progress", "off")
    assert r.returncode != 0
    commit.verify_output(str(out))
    assert snapshot(out) == before


def test_dead_worker_fails_the_run_instead_of_hanging(tmp_path, finished_demo):
    """A worker process that dies midway (killed for memory, a crash in native code) held
    tasks that multiprocessing.Pool never answers: the run stops with an error within seconds
    instead of waiting forever, and the previous output is unchanged."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    cfg = tmp_path / "two-workers.toml"
    cfg.write_text(Path(args[1]).read_text().replace("[run]\n", "[run]\nworkers = 2\n", 1))
    assert "workers = 2" in cfg.read_text()
    env = dict(os.environ, CURATE_FAULT="worker_exit")
    t0 = time.monotonic()
    # ingest alone: its reads are the pool's first tasks (the later stages' ~2 CPU-s to build were never reached)
    r = subprocess.run([sys.executable, "-m", "curate.cli", "run", str(cfg), *args[2:], "--stages", "ingest"], cwd=REPO,
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 1, r.stderr[-2000:]
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == [
        "curate: a worker process ended with exit code 137 while the run was going (killed for memory, or a crash"
        f" in native code); the run is stopped; the previous output in {out} is unchanged"], r.stderr[-2000:]
    assert time.monotonic() - t0 < 120
    assert snapshot(out) == before and not (out / commit.STAGING).exists()


def test_full_disk_is_said_in_one_line(tmp_path, finished_demo, monkeypatch, capsys):
    """The disk filling up while the run writes its files (it needs several times its text
    beside the output) stops the run with one line saying so, not Beam's traceback; its
    staging files are removed and the previous output is unchanged."""
    import errno

    from pipelines import spill

    out, args, before = _demo_rerun(tmp_path, finished_demo)

    def full(self, keyed):
        raise OSError(errno.ENOSPC, "No space left on device", self.folder)

    monkeypatch.setattr(spill.Spiller, "pieces", full)
    capsys.readouterr()
    assert cli.main(args) == 1
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("curate: the disk is full: a run needs free disk"), lines
    assert lines[0].endswith(f"the previous output in {out} is unchanged")
    assert snapshot(out) == before and not (out / commit.STAGING).exists()


# Runs `curate ARGS...` killed (os._exit(137), as kill -9 would) at its N-th change to the files
# of an output (a file opened for writing, a rename, a deletion, a folder made): every point at
# which a kill leaves the disk in another state, whatever writes them.
KILL_AT_CHANGE = """
import os, sys
from curate import output
import curate.audit.command  # imported once: each try is a fork of this process (an interpreter's start
from curate.cli import entry  # and imports were most of a try's 2-3 s)
fs_of = output._fs
for line in sys.stdin:  # N: a `curate audit DIR` killed (os._exit) at its Nth change to DIR; its exit code back
    pid = os.fork()
    if pid:
        print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
        continue
    os.dup2(2, 1)  # the audit's own output to stderr: stdout is the exit codes
    n, count = int(line), [0]
    class Dying:
        def __init__(self, fs):
            self.fs = fs
        def __getattr__(self, name):
            call = getattr(self.fs, name)
            if name not in ("open_output_stream", "move", "delete_file", "delete_dir", "create_dir"):
                return call
            def dying(*a, **kw):
                count[0] += 1
                if count[0] == n and name != "open_output_stream":
                    os._exit(137)
                result = call(*a, **kw)
                if count[0] == n:  # the file made, nothing in it yet
                    os._exit(137)
                return result
            return dying
    output._fs = lambda root: (Dying(fs_of(root)[0]), fs_of(root)[1])
    sys.argv = ["curate", *sys.argv[1:]]
    entry()  # exits the child as `curate` exits, atexit and all
"""


def test_audit_killed_at_any_point_leaves_the_output_replaceable(tmp_path, finished_demo):
    """`curate audit DIR` killed (kill -9, out of memory) while it wrote report.html and
    stats/summary.json left a temporary file (stats/.tmp-summary.json-PID) or a report its
    manifest did not list in DIR: the next `curate run` into DIR refused ("holds files curate
    did not write") until the user deleted them by hand, and the audit's own check failed. Killed
    at each of its changes to DIR's files, the output verifies, its audit passes, and the next
    run replaces it."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    pristine = tmp_path / "pristine"
    shutil.copytree(out, pristine)
    err = tmp_path / "audits.err"
    with open(err, "w") as e:
        audits = subprocess.Popen([sys.executable, "-c", KILL_AT_CHANGE, "audit", str(out)], cwd=REPO, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=e)
    try:
        for n in range(1, 40):
            shutil.rmtree(out)
            shutil.copytree(pristine, out)
            audits.stdin.write(f"{n}\n")
            audits.stdin.flush()
            code = int(audits.stdout.readline() or -1)
            if code == 0:  # the audit made fewer changes: all were tried
                break
            assert code == 137, err.read_text()[-3000:]
            commit.verify_output(str(out))
            commit.check_owned(str(out))  # what the next run checks first: nothing it did not write
            assert command.main([str(out)]) == 0, f"killed at change {n}"
    finally:
        audits.kill()
        audits.communicate()
    assert n > 3, "the audit was not killed while it wrote"
    assert cli.main([*args, "--stages", "ingest"]) == 0
    commit.verify_output(str(out))


def test_audit_while_a_run_writes_the_output_is_refused_and_ctrl_c_stops_busy_workers_at_once(tmp_path, finished_demo, run_here):
    """One run held busy (a worker in a minute-long task) for two things. `curate audit DIR`
    while a run was writing DIR wrote report.html into DIR and rewrote DIR's manifest (read,
    then written back with the report listed): landing while the run committed, it put the old
    manifest back over the new output's. And the run's commit then deleted the report. The
    audit now takes the output's lock to write: refused while a run holds it, DIR untouched.
    Then Ctrl-C while the worker processes held long tasks waited for those tasks to finish
    (110 s with tasks of a minute; seconds on a loaded machine, which made the 10 s bound of
    test_interrupted_rerun_keeps_previous_output flaky): the workers are now ended at once."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    busy = tmp_path / "busy"  # written by a worker as it starts its minute-long task
    env = dict(os.environ, CURATE_FAULT="worker_stall", CURATE_STALL_MARK=str(busy))
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        _wait_for(busy.exists, proc)
        r = run_here("audit", out)  # the lock is the other process's
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        stopped = time.monotonic() - t0
    finally:
        proc.kill()
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[-1] == (f"curate audit: output {str(out)!r} is being written by another curate command "
                                         f"(process {proc.pid}); wait for it to end or choose another --output"), r.stderr
    assert proc.returncode == 130, err
    assert stopped < 10, f"took {stopped:.1f} s to stop"
    assert snapshot(out) == before
    assert run_here("audit", out).returncode == 0


HOLD_LOCK = """
import fcntl, os, sys, time
staging = sys.argv[1]
os.makedirs(staging, exist_ok=True)
fd = os.open(os.path.join(staging, "lock"), os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX)
open(os.path.join(staging, "staged.arrow"), "w").write("a live run's data")
print("held", flush=True)
time.sleep(120)
"""


def test_interrupted_second_run_leaves_the_first_runs_files(tmp_path, finished_demo, monkeypatch, capsys):
    """A second run into an output another run is writing, interrupted (Ctrl-C, SIGTERM) before
    it was refused, removed the staging folder: the first run's staged files, under it. Only
    the run that holds the output's lock removes it."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    staging = out / commit.STAGING
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(staging)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"

        def ctrl_c(root):
            raise KeyboardInterrupt

        monkeypatch.setattr(commit, "check_owned", ctrl_c)  # the Ctrl-C lands as the run looks at the output
        assert cli.main(args) == cli.INTERRUPTED
        assert (staging / "staged.arrow").read_text() == "a live run's data"
        assert (staging / "lock").exists()
    finally:
        holder.kill()
    assert {k: v for k, v in snapshot(out).items() if not k.startswith(commit.STAGING)} == before


def test_commit_killed_as_the_next_run_begins_is_completed(tmp_path, finished_demo, killed_during_moves, monkeypatch):
    """A run killed while it moved its files into place, its journal written after the next
    run's `recover` had looked (between that and the next run's lock): the next run deleted the
    staging folder with the journal in it, leaving an output with no manifest and half its files
    moved, which nothing could complete. The journal is now looked for again under the lock."""
    out, args = _killed_rerun(tmp_path, finished_demo, killed_during_moves)
    monkeypatch.setattr(commit, "recover", lambda root, **_: False)  # it looked before the journal was there
    monkeypatch.setattr(commit, "check_owned", lambda root: {})
    commit.begin(str(out))
    commit.abort(str(out))  # the next run stopped at once
    monkeypatch.undo()
    m = commit.verify_output(str(out))  # the killed run's commit, completed
    assert "tokens.json" in snapshot(out) and m["config"]["run"]["stages"][-1] == "tokenize"


@pytest.mark.parametrize("cause", ["disk_full", "foreign_file"])
def test_run_failing_as_it_commits_removes_its_staging_folder(tmp_path, finished_demo, monkeypatch, capsys, cause):
    """A run that failed in its last step, before its commit was decided (the disk full as it
    wrote its manifest or journal; a file of the user's put into DIR while it ran), said the
    previous output was unchanged but left its staging folder: the whole new output, the disk
    kept full until the next run into DIR."""
    import errno

    out, args, before = _demo_rerun(tmp_path, finished_demo)
    if cause == "disk_full":
        write = output.write_atomic

        def full(root, rel, data):
            if rel == commit.JOURNAL:
                raise OSError(errno.ENOSPC, "No space left on device", rel)
            write(root, rel, data)

        monkeypatch.setattr(output, "write_atomic", full)
    else:
        finish = commit.finish

        def dropped(root):
            (out / "notes.txt").write_text("mine\n")
            before["notes.txt"] = hashlib.sha256(b"mine\n").hexdigest()
            return finish(root)

        monkeypatch.setattr(commit, "finish", dropped)
    capsys.readouterr()
    assert cli.main([*args, "--stages", "ingest"]) == (1 if cause == "disk_full" else 2)
    err = capsys.readouterr().err
    assert ("the disk is full" if cause == "disk_full" else "holds files curate did not write: notes.txt") in err, err
    assert not (out / commit.STAGING).exists()
    assert snapshot(out) == before


def test_audit_completes_a_commit_killed_midway(tmp_path, finished_demo, killed_during_moves, run_here):
    """After a run killed while it moved its files into place, `curate audit DIR` said "no
    manifest.json: a curate run is writing this output" (exit 2), though the journal lets any
    read complete the commit (as the next run and verify_output do). It completes it, and audits
    the new output."""
    out, _ = _killed_rerun(tmp_path, finished_demo, killed_during_moves)
    r = run_here("audit", out)
    assert r.returncode == 0, r.stderr
    assert not (out / commit.STAGING).exists()
    assert commit.verify_output(str(out))["config"]["run"]["stages"][-1] == "tokenize"


def test_file_size_limit_is_said_in_one_line(tmp_path, finished_demo):
    """A file grown past the largest size allowed (`ulimit -f`; FAT32's 4 GiB) stopped the run
    with Beam's traceback ("RuntimeError: OSError: [Errno 27] Error writing bytes to file");
    one line now, as for a full disk, the previous output unchanged and no staging left."""
    import resource

    out, args, before = _demo_rerun(tmp_path, finished_demo)
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # noqa: E731
    r = subprocess.run([sys.executable, "-m", "curate.cli", *args, "--stages", "ingest"], cwd=REPO, capture_output=True, text=True,
                       preexec_fn=limit)
    assert r.returncode == 1, r.stderr[-2000:]
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == [
        "curate: a file grew past the largest size allowed (the file system's limit, or the shell's file-size limit, "
        f"`ulimit -f`): raise the limit, or write the output to another file system; the previous output in {out} is unchanged"], r.stderr[-2000:]
    assert snapshot(out) == before and not (out / commit.STAGING).exists()


def test_lock_taken_on_a_lock_file_just_deleted_is_taken_again(tmp_path, monkeypatch):
    """A run that opened the lock file as the run before it finished (its commit deletes the
    staging folder, the lock file with it) then locked the deleted file: a third run, making a
    new lock file, was not refused, and two runs wrote one output, each deleting the other's
    staged files. The lock is taken again until it is on the file its path names."""
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    lockf = fcntl.lockf
    deleted = []

    def finished_meanwhile(fd, op):  # the run before ends between this run's open and its lock
        if not deleted:
            shutil.rmtree(out / commit.STAGING)
            deleted.append(True)
        return lockf(fd, op)

    monkeypatch.setattr(fcntl, "lockf", finished_meanwhile)
    commit._lock(str(out), str(out))
    monkeypatch.undo()
    try:
        third = subprocess.run([sys.executable, "-c", "import fcntl, os, sys; os.makedirs(sys.argv[1], exist_ok=True); "
                                "fcntl.lockf(os.open(os.path.join(sys.argv[1], 'lock'), os.O_RDWR | os.O_CREAT), "
                                "fcntl.LOCK_EX | fcntl.LOCK_NB)", str(out / commit.STAGING)], capture_output=True, text=True)
        assert deleted and third.returncode != 0, "a third run took the lock"
    finally:
        commit._unlock(str(out))


# Runs `curate ARGS...` where this process may not change the folder named first (as for a
# folder of the output owned by another user, or read-only): a deletion or rename in it fails,
# and os.access says so, as it would.
DENIED_FOLDER = """
import errno, os, sys
from curate import output
denied = os.path.abspath(sys.argv.pop(1))
access = os.access
os.access = lambda path, mode, **kw: False if os.path.abspath(path) == denied and mode & os.W_OK else access(path, mode, **kw)
class Denying:
    def __init__(self, fs):
        self.fs = fs
    def __getattr__(self, name):
        call = getattr(self.fs, name)
        if name not in ("delete_file", "move", "open_output_stream", "delete_dir"):
            return call
        def denied_call(*paths, **kw):
            if any(os.path.dirname(os.path.abspath(p)) == denied for p in paths if isinstance(p, str)):
                raise PermissionError(errno.EACCES, "Permission denied", paths[0])
            return call(*paths, **kw)
        return denied_call
fs_of = output._fs
output._fs = lambda root: (Denying(fs_of(root)[0]), fs_of(root)[1])
from curate.cli import entry
entry()
"""


def test_rerun_into_an_output_it_may_not_change_keeps_the_previous_one(tmp_path, finished_demo):
    """A rerun whose commit could not delete an old shard (a folder of the output owned by
    another user, or read-only) failed with a traceback after it had deleted the previous
    manifest: the previous output unreadable (no manifest.json) until the permissions were
    fixed. Now refused before anything is changed, in one line, naming the folder."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    r = subprocess.run([sys.executable, "-c", DENIED_FOLDER, str(out / "text"), *args], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 2, r.stderr[-3000:]
    assert [ln for ln in r.stderr.splitlines() if ln.strip()] == [
        f"curate: output {str(out)!r}: curate may not change the folder text (permissions): it could not replace the "
        "previous output there; fix its permissions or choose another --output"], r.stderr[-3000:]
    assert snapshot(out) == before and not (out / commit.STAGING).exists()
    commit.verify_output(str(out))


@pytest.mark.parametrize("listed", ["../victim.txt", "{victim}", "text/../../victim.txt"])
def test_manifest_listing_a_path_outside_the_output_is_refused(tmp_path, finished_demo, listed, run_here):
    """A manifest (edited by hand, or damaged) that listed a path outside DIR: the next run
    deleted that file, which curate had not written (`../victim.txt` beside DIR, an absolute
    path). Refused, naming it, nothing deleted."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    listed = listed.format(victim=victim)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["derived"] = [{"file": listed, "bytes": 9}]
    (out / "manifest.json").write_text(json.dumps(manifest))
    r = run_here(*args)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (f"curate: output {str(out)!r}: {output.MANIFEST} lists {listed!r}, which is not a path inside it: "
                        "not a manifest curate wrote; move the output away or choose another --output\n"), r.stderr
    assert victim.read_text() == "precious\n"


def test_audit_of_an_output_replaced_meanwhile_is_not_listed_in_the_new_one(tmp_path, finished_demo, monkeypatch, capsys):
    """`curate audit DIR` while a run into DIR finished: the report, of the output the audit had
    read, was committed into the new output and listed in its manifest, describing other files
    (its checks passed on files no longer there). Refused: audit it again."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    audit_output = command.audit_output

    def rerun_meanwhile(*a, **kw):
        summary = audit_output(*a, **kw)
        assert cli.main([*args, "--stages", "ingest"]) == 0  # the run ends while the audit reads
        return summary

    monkeypatch.setattr(command, "audit_output", rerun_meanwhile)
    capsys.readouterr()
    assert command.main([str(out)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (f"curate audit: output {str(out)!r} was replaced while it was "
                                                       "audited (a run ended meanwhile): audit it again")
    assert not (out / "report.html").exists() and "derived" not in commit.verify_output(str(out))


def test_an_output_on_a_file_system_without_locks_is_written(tmp_path, monkeypatch, capsys):
    """NFS mounted without a lock manager (nolock) and other file systems answer a POSIX lock
    with ENOLCK (or EOPNOTSUPP): every run and audit of an output there was refused as "being
    written by another curate run", which no run was. They go on, saying once that a second run
    at the same time would not be refused; a lock another process holds still refuses."""
    import errno
    import fcntl

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"text": f"document {i} " + "words of prose here " * 20}) + "\n" for i in range(3)))
    out = tmp_path / "out"
    args = ["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", str(out), "--progress", "off"]
    monkeypatch.setattr(fcntl, "lockf", no_locks)
    assert cli.main(args) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "lock" in ln]
    assert err == [f"curate: warning: output {str(out)!r}: its file system takes no locks ({os.strerror(errno.ENOLCK)}): "
                   "a second run or audit into it at the same time would not be refused"], err
    commit.verify_output(str(out))
    assert cli.main(["audit", str(out)]) == 0 and (out / "report.html").exists()
    monkeypatch.undo()
    (out / commit.STAGING).mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
                               "fcntl.lockf(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
                               str(out / commit.STAGING / commit.LOCK)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        assert cli.main(args) == 2
        assert "is being written by another curate command;" in capsys.readouterr().err  # a holder that wrote no pid
    finally:
        holder.communicate("")


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """os.fsync, os.replace and os.rename recorded in order, into a file (the run's forked
    workers write shards too): ("fsync", "dir"|"file", path) and ("rename", src, dst, listed),
    ``listed`` being the files a manifest or a commit's journal names (relative to its folder)
    as it is renamed into place. A power cut cannot be made in a test; what one would keep can
    be read from this order."""
    import stat

    log = tmp_path / "ops.log"
    real = {"fsync": os.fsync, "replace": os.replace, "rename": os.rename}

    def note(*event):
        with open(log, "a") as f:
            f.write(json.dumps(event) + "\n")

    def fsync(fd):
        real["fsync"](fd)
        note("fsync", "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file", os.readlink(f"/proc/self/fd/{fd}"))

    def moved(name):
        def move(src, dst, *a, **kw):
            real[name](src, dst, *a, **kw)
            dst, listed = os.path.realpath(dst), None
            if os.path.basename(dst) == commit.JOURNAL:
                listed = [*json.loads(Path(dst).read_text())["files"], output.MANIFEST]
            elif os.path.basename(dst) == output.MANIFEST:
                m = json.loads(Path(dst).read_text())
                listed = [e["file"] for e in m.get("files", []) + m.get("derived", [])]
            note("rename", os.path.join(os.path.realpath(os.path.dirname(src)), os.path.basename(src)), dst, listed)
        return move

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", moved("replace"))
    monkeypatch.setattr(os, "rename", moved("rename"))
    return lambda: [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def check_durable(events: list, root: Path) -> int:
    """What a power cut at any point would keep is a finished output, or one whose journal a
    read completes: when a manifest or a journal is renamed into place, every file it lists that
    was renamed into place meanwhile has had its bytes fsynced (files written under a temporary
    name here; the others were written before, by a killed run), the folder it was renamed into
    fsynced after, and every folder from there up to the manifest's fsynced since the last
    commit step; a manifest renamed into ``root`` has ``root`` fsynced after. Returns how many
    manifests were renamed into ``root``."""
    synced, pending, dirty, since, moved_in, commits = set(), set(), set(), set(), set(), 0
    root = os.path.realpath(root)
    for event in events:
        if event[0] == "fsync":
            if event[1] == "dir":
                dirty.discard(event[2])
                since.add(event[2])
            else:
                synced.add(event[2])
                pending.discard(event[2])
            continue
        _, src, dst, listed = event
        folder = os.path.dirname(dst)
        for rel in listed or []:  # as they are just before this rename
            path = os.path.join(folder, rel)
            if path not in moved_in:
                continue  # there before (an earlier commit's)
            assert path not in pending, f"{path} listed by {dst} before its bytes were fsynced"
            assert os.path.dirname(path) not in dirty, f"{path} listed by {dst} before its rename was fsynced"
            d = os.path.dirname(path)
            while len(d) >= len(folder):
                assert d in since, f"{d} (holding {rel}) not fsynced before {dst} was renamed into place"
                d = os.path.dirname(d)
        fresh = os.path.basename(src).startswith(".tmp-") and src not in synced
        (pending.add if src in pending or fresh else pending.discard)(dst)
        pending.discard(src)
        dirty.update({os.path.dirname(src), folder})
        moved_in.add(dst)
        if dst == os.path.join(root, output.MANIFEST):
            commits += 1
        if os.path.basename(dst) == commit.JOURNAL or dst == os.path.join(root, output.MANIFEST):
            since = set()  # a new step: the folders it lists must be fsynced again
    assert root not in dirty, f"{root}: the rename of its manifest was never fsynced"
    return commits


@pytest.mark.parametrize("cmd", ["run", "audit", "mix", "stopped"])
def test_an_output_that_looks_finished_is_durable(tmp_path, finished_demo, killed_during_moves, recorded, cmd):
    """curate wrote each file under a temporary name and renamed it, and committed a run by a
    journal and a manifest, but never called fsync: after a power cut the manifest could be on
    disk before the shards it lists (empty files), or a rename be lost. Through a real `curate
    run` into DIR (a rerun replacing its files), `curate audit DIR` (its report committed into
    DIR) and `curate mix DIR` (completing the commit of a run killed midway, as every read
    does), and a run its mix stops (its candidates kept in DIR/.curate-candidates/ for `curate
    mix`, with a manifest of their own): every file a manifest lists is fsynced, and its folder,
    before the manifest's rename; the manifest's folder after."""
    if cmd == "mix":
        out, _ = _killed_rerun(tmp_path, finished_demo, killed_during_moves)
    else:
        out, args, before = _demo_rerun(tmp_path, finished_demo)
    if cmd == "run":
        assert cli.main(args) == 0
    elif cmd == "audit":
        assert command.main([str(out)]) == 0
    elif cmd == "mix":
        assert cli.main(["mix", str(out)]) == 0
        assert not (out / commit.STAGING).exists()
    else:
        assert cli.main([*args, "--set", "rebalance.budget=100000000"]) == 2  # more tokens than there are
        kept = out / commit.KEPT
        assert check_durable(recorded(), kept) == 1
        assert set(snapshot(out)) == set(before) | {f"{commit.KEPT}/{k}" for k in snapshot(kept)}
        return
    assert check_durable(recorded(), out) == 1
    commit.verify_output(str(out))


def test_the_folders_a_rerun_deletes_files_from_are_synced(tmp_path, finished_demo, clean_rerun, recorded):
    """The commit fsyncs the folders it deleted files from as well as those it renamed files
    into (a power cut must not keep the new manifest and bring back a deleted shard), but no test
    saw it: every folder a run had deleted from also got new files. A rerun without tokenize
    deletes tokens/part-*; tokens/ stays (an empty folder of the user's in it, which the
    ownership check lets be) and gets no new file: it must be fsynced after the journal is
    written (the deletes follow it) and before the manifest is renamed in."""
    cfg, _ = finished_demo
    out = tmp_path / "out"
    copy_output(clean_rerun, out)  # a whole run's output, tokens/part-* in it
    (out / "tokens" / "notes").mkdir()
    before = set(snapshot(out))
    skip = len(recorded())  # the first run's events: the rerun's follow them
    assert cli.main(["run", cfg, "--output", str(out), "--stages", "ingest", "--progress", "off"]) == 0
    events = recorded()[skip:]
    deleted = before - set(snapshot(out))
    assert {os.path.dirname(rel) for rel in deleted} >= {"tokens"} and (out / "tokens").is_dir()
    journal = max(i for i, e in enumerate(events) if e[0] == "rename" and os.path.basename(e[2]) == commit.JOURNAL)
    manifest = next(i for i, e in enumerate(events) if e[0] == "rename" and e[2] == str(out.resolve() / output.MANIFEST))
    synced = {e[2] for e in events[journal:manifest] if e[:2] == ["fsync", "dir"]}
    for rel in sorted(deleted):
        d = out.resolve() / os.path.dirname(rel)
        while not d.is_dir():  # a folder the commit emptied and removed: its entry is in the folder above
            d = d.parent
        assert str(d) in synced, f"{d} (a file deleted from it: {rel}) not fsynced before the manifest was renamed in"
    assert check_durable(events, out) == 1


@pytest.mark.parametrize("refused", [False, True])
def test_where_fsync_does_not_reach_the_disk_f_fullfsync_does(tmp_path, finished_demo, recorded, monkeypatch, refused):
    """On macOS fsync hands the bytes to the drive, whose cache a power cut may still lose;
    fcntl(F_FULLFSYNC) asks the drive to write them, and curate called fsync alone. With an
    F_FULLFSYNC (simulated: Linux has none), a real rerun's commit is durable by F_FULLFSYNC calls
    alone, no plain fsync besides; where a file system refuses it (some network ones), by fsync."""
    import errno
    import fcntl

    full, real = 51, fcntl.fcntl  # 51: macOS's F_FULLFSYNC

    def fake(fd, cmd, *arg):
        if cmd != full:
            return real(fd, cmd, *arg)
        if refused:
            raise OSError(errno.ENOTSUP, "F_FULLFSYNC not supported")
        with open(tmp_path / "ops.log", "a") as f:  # the recorded fixture's log, in the order made
            kind = "dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"
            f.write(json.dumps(["full", kind, os.readlink(f"/proc/self/fd/{fd}")]) + "\n")
        return 0

    monkeypatch.setattr(fcntl, "F_FULLFSYNC", full, raising=False)
    monkeypatch.setattr(fcntl, "fcntl", fake)
    out, args, _ = _demo_rerun(tmp_path, finished_demo)
    assert cli.main(args) == 0
    events = recorded()
    kinds = {e[0] for e in events}
    assert kinds == ({"fsync", "rename"} if refused else {"full", "rename"}), kinds
    assert check_durable([["fsync", *e[1:]] if e[0] == "full" else e for e in events], out) == 1


@pytest.mark.parametrize("how", ["fsync", "F_FULLFSYNC"])
def test_a_file_whose_bytes_could_not_be_made_durable_fails_the_commit(tmp_path, finished_demo, monkeypatch, capsys, how):
    """A file's fsync failing with EIO (the disk could not write its bytes) fails the commit and
    the previous output stays, as a folder that cannot be fsynced (EINVAL, EBADF) does not. Where
    there is F_FULLFSYNC (macOS; simulated) its EIO was taken for 'not supported' and fsync was
    called instead: fsync hands the bytes to the drive's cache and may well succeed after the
    error, so the commit went on with bytes the disk said it could not write."""
    import errno
    import fcntl
    import stat

    full, real = 51, fcntl.fcntl  # 51: macOS's F_FULLFSYNC
    real_fsync = os.fsync

    def eio(fd):
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path))

    def fake(fd, cmd, *arg):
        if cmd != full:
            return real(fd, cmd, *arg)
        if eio(fd):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return 0

    def fsync(fd):
        if how == "fsync" and eio(fd):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    if how == "F_FULLFSYNC":
        monkeypatch.setattr(fcntl, "F_FULLFSYNC", full, raising=False)
        monkeypatch.setattr(fcntl, "fcntl", fake)
    monkeypatch.setattr(os, "fsync", fsync)
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    with pytest.raises(Exception, match="Input/output error"):  # OSError, or Beam's RuntimeError from a worker
        cli.main([*args, "--stages", "ingest"])
    assert snapshot(out) == before


@pytest.mark.parametrize("how", ["dangling", "loop"])
@pytest.mark.parametrize("where", ["output", "folder above"])
def test_an_output_given_as_a_dangling_link_is_named(tmp_path, corpora, capsys, where, how):
    """A --output that is a symbolic link to a folder not there (an unmounted disk, a folder
    since deleted), or one inside such a link, was refused in pyarrow's words ("Cannot create
    directory ...: non-directory entry exists. Detail: [errno 17] File exists"): one line
    naming the link and its missing target. A loop of links (out -> back -> out: ELOOP) was
    told to "create that folder", a link of the loop: it is said to be a loop."""
    link, target = tmp_path / "out", tmp_path / ("gone/data" if how == "dangling" else "back")
    link.symlink_to(target)
    if how == "loop":
        target.symlink_to(link)
    out = link if where == "output" else link / "corpus"
    args = ["run", "--input", str(corpora / "web" / "dolma_wget_sample-0000.warc.gz"), "--domain", "web",
            "--stages", "ingest", "--output", str(out), "--progress", "off"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    why = ("which does not exist: create that folder (or mount its disk)" if how == "dangling" else
           "a loop of symbolic links that leads to no folder: point one of them at a folder")
    assert err == f"curate: output {str(out)!r}: {str(link)!r} is a symbolic link to {str(target)!r}, {why}, or choose another --output\n", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["back"] * (how == "loop") + ["out"] and link.is_symlink()  # nothing made


@pytest.mark.parametrize("which", ["text", "stats/run.json"])
def test_a_same_size_edit_of_a_listed_file_is_not_deleted(tmp_path, finished_demo, capsys, which):
    """A user's edit that kept a listed file's size (a byte changed in a shard, a number in
    stats/run.json) was not seen: the commit compared sizes only, and the next run deleted the
    edit. The files whose sha256 the manifest holds are hashed before a run replaces them."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    rel = commit.read_manifest(str(out))["outputs"]["text"][0]["file"] if which == "text" else which
    data = bytearray((out / rel).read_bytes())
    data[len(data) // 2] ^= 1
    (out / rel).write_bytes(bytes(data))
    edited = snapshot(out)
    assert cli.main(args) == 2
    assert capsys.readouterr().err == (f"curate: output {str(out)!r}: {rel} changed since curate wrote it; move it away "
                                       "or choose another --output\n")
    assert snapshot(out) == edited


class _Stat:
    """A stat result whose times are all one instant: a file system that keeps coarse times
    (HFS+ 1 s, FAT 2 s), seen within one of its ticks."""

    def __init__(self, st, times=("st_mtime_ns", "st_ctime_ns"), at=1_700_000_000 * 10**9):
        self._st, self._times, self._at = st, times, at

    def __getattr__(self, name):
        return self._at if name in self._times else getattr(self._st, name)


def _coarse_stat(monkeypatch, out, times=("st_mtime_ns", "st_ctime_ns")) -> None:
    """os.stat of the files under ``out`` as a file system keeping seconds gives them within one
    tick: this second (an edit now has it)."""
    real, at = os.stat, time.time_ns() // 10**9 * 10**9
    monkeypatch.setattr(os, "stat", lambda p, *a, **kw: _Stat(real(p, *a, **kw), times, at) if str(p).startswith(str(out))
                        else real(p, *a, **kw))


@pytest.mark.parametrize("how", ["touch -r", "restored from a backup", "coarse times", "touch -r, coarse times"])
def test_a_same_size_edit_that_keeps_an_older_mtime_is_not_deleted(tmp_path, finished_demo, monkeypatch, capsys, how):
    """The same-size check hashed only files whose mtime was strictly after the manifest's: an
    edit whose mtime was put back (``touch -r``, ``cp -p``, ``rsync -t``), a file restored from a
    backup with its older mtime, and an edit made in the manifest's second on a file system
    keeping seconds were not hashed, and the next run deleted them. The file's ctime (set by the
    kernel at every change) after the manifest's, or its mtime at the manifest's or after, has it
    hashed."""
    out, args, _ = _demo_rerun(tmp_path, finished_demo)
    rel = commit.read_manifest(str(out))["outputs"]["text"][0]["file"]
    path = out / rel
    old = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    if how == "restored from a backup":
        backup = tmp_path / "backup.parquet"
        backup.write_bytes(bytes(data))
        os.utime(backup, ns=(old.st_atime_ns, old.st_mtime_ns - 86_400 * 10**9))  # a day older
        shutil.copy2(backup, path)
    else:
        path.write_bytes(bytes(data))
    if how.startswith("touch -r"):
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))
    if how == "coarse times":
        _coarse_stat(monkeypatch, out)
    if how == "touch -r, coarse times":  # the edit's ctime in the manifest's second: not after it
        _coarse_stat(monkeypatch, out, ("st_ctime_ns",))
    edited = snapshot(out)
    assert cli.main(args) == 2
    assert capsys.readouterr().err == (f"curate: output {str(out)!r}: {rel} changed since curate wrote it; move it away "
                                       "or choose another --output\n")
    assert snapshot(out) == edited


def test_an_edit_between_a_runs_start_and_its_commit_on_coarse_times_is_seen(tmp_path, finished_demo, monkeypatch):
    """A file hashed by a run's start was not hashed again by its commit while its stat (inode,
    size, mtime, ctime) was the same: on a file system keeping seconds (HFS+, ext3, some NFS;
    FAT 2 s) a same-size rewrite in place within the second has the same stat, and the commit
    took the start's hash, then deleted the edit. A hash is kept only where the times are fine
    enough to tell such an edit (below a millisecond)."""
    out, _, _ = _demo_rerun(tmp_path, finished_demo)
    _coarse_stat(monkeypatch, out)
    commit.check_owned(str(out))  # the run's start: every file's times at the manifest's, hashed
    rel = commit.read_manifest(str(out))["outputs"]["text"][0]["file"]
    data = bytearray((out / rel).read_bytes())
    data[len(data) // 2] ^= 1
    (out / rel).write_bytes(bytes(data))  # in place: the same inode and size, times in the same second
    with pytest.raises(commit.ForeignFiles, match=f"{rel} changed since curate wrote it"):
        commit.check_owned(str(out))  # the commit's look


def test_a_rerun_on_coarse_times_hashes_a_settled_output_once(tmp_path, finished_demo, monkeypatch):
    """On a file system keeping seconds, a commit renames its files in within its manifest's
    second, so the same-size check hashes them all (a ctime at or after the manifest's); its hash
    was kept for the commit only where times are finer than a ms: an untouched output of GBs was
    read twice a rerun (start and commit). Kept now where the file's times are settled (older
    than any file system's tick, commit.SETTLED_NS, when hashed): a rewrite since then has
    other times."""
    out, _, _ = _demo_rerun(tmp_path, finished_demo)
    _coarse_stat(monkeypatch, out)
    real_now = time.time_ns
    monkeypatch.setattr(commit, "_now_ns", lambda: real_now() + 60 * 10**9, raising=False)  # the rerun a minute after the files' times
    hashed = []
    real = output.sha256_file
    monkeypatch.setattr(output, "sha256_file", lambda root, rel: hashed.append(rel) or real(root, rel))
    commit.check_owned(str(out))  # the run's start
    commit.check_owned(str(out))  # its commit
    assert hashed and len(hashed) == len(set(hashed)), sorted(hashed)


def test_an_untouched_output_is_not_hashed_again_before_a_rerun(tmp_path, finished_demo, monkeypatch):
    """The same-size check hashes only files modified after the run wrote its manifest: hashing
    every listed file cost ~1 s a GB, twice a rerun, for an output nobody touched."""
    out, args, _ = _demo_rerun(tmp_path, finished_demo)
    hashed = []
    real = output.sha256_file
    monkeypatch.setattr(output, "sha256_file", lambda root, rel: hashed.append(rel) or real(root, rel))
    commit.check_owned(str(out))
    assert hashed == []
    rel = commit.read_manifest(str(out))["outputs"]["text"][0]["file"]
    os.utime(out / rel)  # touched (saved unchanged by an editor): hashed, and found the same
    commit.check_owned(str(out))
    assert hashed == [rel]


def test_a_copied_output_is_hashed_once_by_its_rerun(tmp_path, finished_demo, monkeypatch):
    """A copy of an output (cp -a, rsync -a: each file's ctime is the copy's) has its listed
    files hashed by its next rerun's same-size check, ~1 s a GB: twice, at the run's start and
    again at its commit, though no file had changed in between. Once now (by the file's stat,
    its ctime included: a file changed in between is hashed again)."""
    cfg, finished = finished_demo
    out = tmp_path / "out"
    shutil.copytree(finished, out, copy_function=shutil.copy2)  # the manifest not last: files copied after it are hashed
    os.utime(out / output.MANIFEST, ns=(0, (out / output.MANIFEST).stat().st_mtime_ns))
    before = (out / output.MANIFEST).stat().st_ctime_ns
    time.sleep(0.05)  # past the kernel's clock tick
    for p in out.rglob("*"):  # every file's ctime after the manifest's, as a copy that wrote it first leaves them
        if p.is_file() and p.name != output.MANIFEST:
            os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns))
    assert all(p.stat().st_ctime_ns > before for p in out.rglob("*.parquet"))
    # the copy done more than a tick before the run hashes it (as a real copy is): a file whose
    # ctime is within commit.TICK_NS of its hash is rightly hashed again by the commit (it failed
    # in CI so: the --stages ingest rerun reached its start check within 20 ms of these utimes)
    time.sleep(2 * commit.TICK_NS / 1e9)
    hashed = []
    real = output.sha256_file
    monkeypatch.setattr(output, "sha256_file", lambda root, rel: hashed.append((root, rel)) or real(root, rel))
    assert cli.main(["run", cfg, "--output", str(out), "--stages", "ingest", "--progress", "off"]) == 0
    mine = [rel for root, rel in hashed if root == str(out)]
    assert mine and len(mine) == len(set(mine)), sorted(mine)


def test_a_runs_hashes_are_not_kept_past_its_end(tmp_path, finished_demo):
    """The same-size check's hashes (kept by stat between a run's start and its commit) were kept
    for the life of the process: a notebook or service running the API on copied outputs held
    ~456 bytes a listed file for good (45.6 MB for 100,000 files, each rerun of a copy adding
    its own). A run's hashes are dropped when it commits or fails, and a new run starts afresh."""
    cfg, finished = finished_demo
    out = tmp_path / "out"

    def copied():  # every listed file's ctime after the manifest's, as a copy leaves them: each hashed at a run's start
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(finished, out, copy_function=shutil.copy2)
        time.sleep(0.05)  # past the kernel's clock tick
        for p in out.rglob("*"):
            if p.is_file() and p.name != output.MANIFEST:
                os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns))
        time.sleep(0.05)  # a hash taken within the kernel's tick of the change is not kept (commit.TICK_NS)

    def kept():
        return [k for k in commit._HASHED if str(out) in repr(k)]

    copied()
    commit.check_owned(str(out))
    assert kept()  # what the cache holds between a run's start and its commit
    assert cli.main(["run", cfg, "--output", str(out), "--stages", "ingest", "--progress", "off"]) == 0
    assert not kept()
    copied()
    commit.check_owned(str(out))
    (out / "stray.txt").write_text("x")  # refused at its start: nothing kept either
    assert cli.main(["run", cfg, "--output", str(out), "--stages", "ingest", "--progress", "off"]) != 0
    assert not kept()


@pytest.mark.parametrize("call, err", [("fsync", "EBADF"), ("fsync", "EINVAL"), ("open", "EACCES")])
def test_an_output_whose_folders_cannot_be_fsynced_is_written(tmp_path, monkeypatch, capsys, call, err):
    """Some file systems cannot fsync a folder (SMB, 9p, FUSE mounts: EINVAL, or EBADF for a
    folder opened read-only) or open one to fsync it (EACCES): a run there failed in its workers
    with a traceback (only EINVAL was let through), and a rerun would have failed in its commit
    after deleting the previous manifest. Runs, a rerun replacing files and an audit go on."""
    import errno
    import stat

    code = getattr(errno, err)
    real_fsync, real_open = os.fsync, os.open

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    def open_(path, flags, *a, **kw):
        if os.path.isdir(path) and str(path).startswith(str(tmp_path)):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(os, call, fsync if call == "fsync" else open_)
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"text": f"document {i} " + "words of prose here " * 20}) + "\n" for i in range(3)))
    out = tmp_path / "out"
    args = ["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", str(out), "--progress", "off"]
    assert cli.main([*args, "--shards", "2"]) == 0
    assert cli.main([*args, "--shards", "3"]) == 0  # deletes the 2-shard files, renames the new ones in
    assert cli.main(["audit", str(out)]) == 0
    m = commit.verify_output(str(out))
    assert len(m["outputs"]["text"]) == 3 and (out / "report.html").exists()
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("holder", ["left by a dead process", "on another machine"])
def test_the_process_named_as_the_lock_holder_is_the_holder(tmp_path, holder, capsys):
    """A refused command named the pid written in the lock file: one left by a command that died
    (the holder had not written its own yet, or is an older curate, which writes none) was named
    as the holder; and on a disk shared by several machines a pid of another one was named as if
    it were of this machine (where `kill 4242` ends some other process). A dead pid is not named;
    another machine's is named with the machine."""
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"text": "a document of a few words " * 10}) + "\n")
    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    lock = out / commit.STAGING / commit.LOCK
    if holder == "left by a dead process":
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        lock.write_text(f"{dead.pid}\n")
        hold = ("import fcntl, os, sys; fd = os.open(sys.argv[1] + '/.curate-staging/lock', os.O_RDWR); "
                "fcntl.lockf(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()")
    else:  # a curate command there: its host name is another
        hold = ("import sys; from curate import commit; commit._hostname = lambda: 'node-7'; commit.begin(sys.argv[1]); "
                "print('held', flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", hold, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        assert cli.main(["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", str(out),
                         "--progress", "off"]) == 2
        named = "" if holder == "left by a dead process" else f" (process {proc.pid} on node-7)"
        assert capsys.readouterr().err == (f"curate: output {str(out)!r} is being written by another curate command{named}; "
                                           "wait for it to end or choose another --output\n")
    finally:
        proc.communicate("", timeout=60)


@pytest.mark.parametrize("end", ["folder", "nothing", "file"])
@pytest.mark.parametrize("where", ["output", "folder above"])
def test_an_output_through_a_long_chain_of_links_is_not_called_a_loop(tmp_path, corpora, capsys, where, end):
    """A chain of more links than the system follows (ELOOP past 40 on Linux: out -> l39 -> ...
    -> l0 -> data) that is no loop was said to be 'a loop of symbolic links that leads to no
    folder', to a folder that is there. It is said as a chain too long, and where it ends; one
    ending at a file was said to end at one 'which does not exist' (the file is there), and
    to 'point it at that folder'."""
    target = tmp_path / "data"
    if end == "folder":
        target.mkdir()
    elif end == "file":
        target.write_text("a file, not a folder")
    prev = target
    for i in range(41):
        (tmp_path / f"l{i}").symlink_to(prev.name)
        prev = tmp_path / f"l{i}"
    link = tmp_path / "out"
    link.symlink_to(prev.name)
    with pytest.raises(OSError) as e:
        os.stat(link)
    assert e.value.errno == errno.ELOOP  # the system's limit, else this test tests nothing
    out = link if where == "output" else link / "corpus"
    args = ["run", "--input", str(corpora / "web" / "dolma_wget_sample-0000.warc.gz"), "--domain", "web",
            "--stages", "ingest", "--output", str(out), "--progress", "off"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    said = {"folder": ": point it at that folder directly, or", "nothing": ", which does not exist: point it at that folder "
            "directly, or", "file": ", a file, not a folder:"}[end]
    assert err == (f"curate: output {str(out)!r}: {str(link)!r} leads through more symbolic links than the system follows "
                   f"to {str(target)!r}{said} choose another --output\n"), err
    assert not target.exists() or target.is_file() or not any(target.iterdir())  # nothing made
    assert not target.is_file() or target.read_text() == "a file, not a folder"


# A reader (a DataLoader worker, a rank) that found the journal of a commit another process is
# completing, and takes the lock just as that process deletes the staging folder: _lock makes
# the folder and a new lock file (the holder's is deleted); it then finds no journal and removes
# them (``recover``), or dies first. Since 6 Dec a reader looks under a shared hold of the lock
# file there, making none (tests/test_commit_locks.py); it takes it with _lock where it found
# none beside the journal (a journal copied, an older curate's): its two looks say so here.
READER = """
import os, sys
from curate import commit
looked = []
def exists(fs, path):  # the journal was there when it looked, before the holder deleted it
    if len(looked) < 2:
        looked.append(path)
        return True
    return real(fs, path)
def locked(base):
    print("locked", flush=True)
    if sys.stdin.readline() == "die\\n":
        os._exit(9)
    remove(base)
real, remove = commit._exists, commit._remove_lock_folder
commit._exists, commit._remove_lock_folder = exists, locked
print(commit.recover(sys.argv[1]))
"""


@pytest.mark.parametrize("reader", ["removes its lock", "dies holding it"])
def test_a_reader_locking_as_the_commit_removes_its_staging_folder_does_not_fail_it(tmp_path, monkeypatch, reader):
    """A process completing a commit (a reader, or the run itself) deletes the staging folder
    last: pyarrow deletes its files, then the folder. A reader that looked at the journal before
    and takes the lock between the two made the folder's removal fail ("Directory not empty"):
    the commit, complete, was reported failed (a DataLoader worker crashed; CI's flaky
    test_a_commit_another_reader_completes_or_already_finished_is_read). The folder then holds
    only the reader's lock file: the reader's to remove, and harmless if it dies first (no
    journal, the manifest there: a finished output, which the next run's staging clears)."""
    out = _decided(tmp_path)
    staging = out / commit.STAGING
    manifest = json.loads((staging / output.MANIFEST).read_text())
    procs = []
    delete_dir = commit._delete_dir

    def files_then_folder(fs, path):  # as pyarrow's delete_dir does it, the reader taking the lock in between
        if path != str(staging):
            return delete_dir(fs, path)
        fs.delete_dir_contents(path)
        procs.append(subprocess.Popen([sys.executable, "-c", READER, str(out)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, cwd=REPO))
        assert procs[0].stdout.readline() == "locked\n"
        os.rmdir(path)

    monkeypatch.setattr(commit, "_delete_dir", files_then_folder)
    try:
        assert commit.recover(str(out)) is True
    finally:
        for p in procs:
            out_, _ = p.communicate("die\n" if reader == "dies holding it" else "go on\n", timeout=60)
    monkeypatch.undo()
    assert (out / "a.txt").read_text() == "new\n" and json.loads((out / output.MANIFEST).read_text()) == manifest
    if reader == "removes its lock":
        assert (procs[0].returncode, out_) == (0, "False\n") and not staging.exists()
    else:
        assert procs[0].returncode == 9 and [p.name for p in staging.iterdir()] == [commit.LOCK]
        assert not commit.held(str(out)) and commit.read_manifest(str(out)) == manifest
        assert commit.begin(str(out)) == str(staging)  # the next run: its staging folder, the lock file its own
        commit.abort(str(out))
        assert not staging.exists() and (out / "a.txt").exists()


def test_a_lock_taken_as_another_process_removes_the_staging_folder_is_taken(tmp_path, monkeypatch):
    """_lock makes the staging folder, then opens the lock file in it: a commit ending (or a
    reader removing its lock folder) removed the folder between the two, and the open's ENOENT
    failed a run beginning ("output cannot be created or written (No such file or
    directory)"). The folder is made again."""
    out = tmp_path / "out"
    out.mkdir()
    makedirs, removed = os.makedirs, []

    def then_removed(path, *a, **k):
        makedirs(path, *a, **k)
        if not removed:
            removed.append(os.rmdir(path))

    monkeypatch.setattr(os, "makedirs", then_removed)
    try:
        commit._lock(str(out), str(out))
        monkeypatch.undo()
        assert removed and commit._holder(str(out / commit.STAGING / commit.LOCK)) == f" (process {os.getpid()})"
    finally:
        commit._unlock(str(out))


def test_a_run_clearing_a_staging_folder_its_last_holder_deletes_begins(tmp_path):
    """A run that took the lock as the process before it deleted the staging folder of its
    completed commit (after the old lock file) lists what is there and deletes it, beside that
    process: a file deleted by the other between the listing and this run's delete failed the
    run ("cannot be created or written (No such file or directory)")."""
    import pyarrow.fs as pafs

    staging = tmp_path / "out" / commit.STAGING
    (staging / "stats").mkdir(parents=True)
    (staging / ".tmp-x").write_text("left")
    (staging / commit.LOCK).write_text("")
    real = pafs.LocalFileSystem()

    class Beside:  # the listing, then the other process deletes the file
        def get_file_info(self, sel):
            infos = real.get_file_info(sel)
            if isinstance(sel, pafs.FileSelector):
                os.remove(staging / ".tmp-x")
            return infos

        def __getattr__(self, name):
            return getattr(real, name)

    commit._clear_staging(Beside(), str(staging.parent))
    assert [p.name for p in staging.iterdir()] == [commit.LOCK]


def test_an_abort_after_the_journal_rolls_the_commit_forward(tmp_path):
    """A Ctrl-C (or SIGTERM) while a run's commit moved its files in (or while a run beginning
    completed a killed one's) made the run abort: it deleted the staging folder, the journal with
    it, half way. The old manifest and the files the new run drops were deleted, the new files
    not yet moved in were lost, and nothing told how to complete it: an output with no manifest,
    said to be 'the previous output, unchanged'. The journal decides the commit: abort completes
    it (True), never undoes it."""
    out = tmp_path / "out"
    staging = out / commit.STAGING
    staging.mkdir(parents=True)
    (out / "old.txt").write_text("old\n")
    old = {"format": output.FORMAT, "files": [{"file": "old.txt", "bytes": 4}]}
    (out / output.MANIFEST).write_text(json.dumps(old))
    new = {"format": output.FORMAT, "files": [{"file": "a.txt", "bytes": 4}, {"file": "b.txt", "bytes": 4}]}
    for name in ("a.txt", "b.txt"):
        (staging / name).write_text("new\n")
    (staging / output.MANIFEST).write_text(json.dumps(new))
    (staging / commit.JOURNAL).write_text(json.dumps({"delete": ["old.txt"], "files": ["a.txt", "b.txt"]}))
    commit._lock(str(out), str(out))  # the run's, since its begin
    (out / output.MANIFEST).unlink()  # interrupted after the first move: the old manifest and file deleted, a.txt in
    (out / "old.txt").unlink()
    os.rename(staging / "a.txt", out / "a.txt")
    done = commit.abort(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", output.MANIFEST]
    assert json.loads((out / output.MANIFEST).read_text()) == new and commit.verify_output(str(out)) == new
    assert done is True
    assert commit.abort(str(out)) is None  # nothing decided: nothing to say


def test_a_failed_journal_write_is_undone_by_the_run_failing(tmp_path, monkeypatch):
    """The journal renamed in and its folder's fsync failing (EIO): the run fails, and says the
    previous output is unchanged, so the commit is undone, not completed (abort, called with the
    journal there, would now roll it forward)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old\n")
    old = {"format": output.FORMAT, "files": [{"file": "old.txt", "bytes": 4}]}
    (out / output.MANIFEST).write_text(json.dumps(old))
    staged = commit.begin(str(out))
    Path(staged, "a.txt").write_text("new\n")
    output.write_manifest(staged, {"format": output.FORMAT})
    sync, calls = output.sync, []

    def fails_after_the_journal(fs, path):
        if path == staged:
            calls.append(path)
            if os.path.exists(os.path.join(staged, commit.JOURNAL)):
                raise OSError(errno.EIO, "Input/output error", path)
        return sync(fs, path)

    monkeypatch.setattr(output, "sync", fails_after_the_journal)
    with pytest.raises(OSError):
        commit.finish(str(out))
    monkeypatch.undo()
    assert calls and json.loads((out / output.MANIFEST).read_text()) == old
    assert sorted(p.name for p in out.iterdir()) == [output.MANIFEST, "old.txt"]


def test_ctrl_c_during_the_commit_leaves_the_new_output_whole(tmp_path, finished_demo):
    """Ctrl-C as a rerun moved its files in: the run deleted its staging folder, the journal with
    it, and said 'the previous output in OUT is unchanged' over an output with no manifest, the
    previous run's dropped files deleted and the new ones not moved in lost. The commit is
    completed, and said so."""
    out, args, before = _demo_rerun(tmp_path, finished_demo)
    env = dict(os.environ, CURATE_FAULT="sigint_during_moves")
    r = subprocess.run([sys.executable, "-m", "curate.cli", *args, "--stages", "ingest,langid"], cwd=REPO,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 130, r.stderr
    assert [ln for ln in r.stderr.splitlines() if ln.strip()][-1] == (
        f"curate: interrupted as the output in {out} was committed: the commit was decided, and is completed (the output is whole)")
    assert not (out / commit.STAGING).exists()
    m = commit.verify_output(str(out))
    assert m["config"]["run"]["stages"] == ["ingest", "langid"] and snapshot(out) != before


def test_a_full_disk_during_the_commit_is_not_said_to_leave_the_output_unchanged(tmp_path):
    """The disk filling up as a commit moved its files in (a folder made for them: ENOSPC) was said
    '...; the previous output in OUT is unchanged' over an output whose old manifest and dropped
    files were gone: the journal stays, and the next read completes the commit; said so."""
    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    (out / commit.STAGING / commit.JOURNAL).write_text(json.dumps({"delete": [], "files": []}))
    cfg = type("Cfg", (), {"run": {"output": str(out)}})()

    def fills(cfg):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "text"))

    with pytest.raises(cli.RunFailed) as e:
        cli._interruptible(fills, cfg)
    assert str(e.value).endswith(f"; the commit of {out} was decided and stopped midway: the next command reading it "
                                 f"completes it (`curate audit {out}`)"), str(e.value)
    assert (out / commit.STAGING / commit.JOURNAL).exists()


def _decided(tmp_path) -> Path:
    """An output whose commit is decided, nothing of it applied: a.txt staged, its journal written."""
    out = tmp_path / "out"
    staging = out / commit.STAGING
    staging.mkdir(parents=True)
    (staging / "a.txt").write_text("new\n")
    (staging / output.MANIFEST).write_text(json.dumps({"format": output.FORMAT, "files": [{"file": "a.txt", "bytes": 4}]}))
    (staging / commit.JOURNAL).write_text(json.dumps({"delete": [], "files": ["a.txt"]}))
    return out


def test_the_staging_folder_goes_after_the_journal_and_a_real_failure_there_is_raised(tmp_path, monkeypatch):
    """_apply deletes the journal before the staging folder (a reader taking the lock the holder's
    deleted lock file left free must find no commit to complete), and the staging folder's removal
    fails the commit only where no other process's lock file is in it: a failure with this
    process's own lock file still there (permission denied) is raised, not taken for a reader's."""
    out = _decided(tmp_path)
    seen = []

    def denied(fs, path):
        if path == str(out / commit.STAGING):
            seen.append(sorted(p.name for p in Path(path).iterdir()))
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return delete_dir(fs, path)

    delete_dir = commit._delete_dir
    monkeypatch.setattr(commit, "_delete_dir", denied)
    with pytest.raises(PermissionError):
        commit.recover(str(out))
    assert seen == [[commit.LOCK]]  # the journal gone first; the lock file this process's
    assert (out / "a.txt").read_text() == "new\n" and (out / output.MANIFEST).exists()


KILLED_BEGUN = """
import os, signal, sys
from curate import commit
staged = commit.begin(sys.argv[1])
os.makedirs(os.path.join(staged, "text"))
for rel in ("text/part-00007.parquet", "COMMIT.json.tmp-1"):
    open(os.path.join(staged, rel), "w").write("the killed run's")
os.kill(os.getpid(), signal.SIGKILL)  # the OOM killer, a preempted node: no cleanup runs
"""


def test_a_run_beginning_clears_what_a_killed_one_staged(tmp_path):
    """A run killed by SIGKILL leaves its staging folder: staged shards, temporary files, the
    lock file (its lock gone with the process). The next run's begin deletes all of it but the
    lock it takes; kept, a shard the killed run staged would be committed with the new run's."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", KILLED_BEGUN, str(out)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    staging = out / commit.STAGING
    assert (staging / "text" / "part-00007.parquet").exists()
    try:
        assert commit.begin(str(out)).endswith(commit.STAGING)
        assert [p.name for p in staging.iterdir()] == [commit.LOCK]
    finally:
        commit.abort(str(out))
    assert not staging.exists()
