"""The output's lock (curate/commit.py): who holds it, and readers of a commit under way."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from curate import commit, output

REPO = Path(__file__).resolve().parent.parent


def test_a_staging_folder_that_keeps_vanishing_is_said_not_retried_forever(tmp_path, monkeypatch):
    """_lock made the staging folder and opened its lock file, again as long as the open said
    ENOENT (the folder removed in between by a commit ending): a folder removed every time
    (another process deleting it in a loop, a file system that drops it) hung the run for good.
    The retries are bounded and end in one clear error."""
    out = tmp_path / "out"
    out.mkdir()
    makedirs, made = os.makedirs, []

    def removed_at_once(path, *a, **k):
        made.append(path)
        assert len(made) < 10_000, "retried without bound"
        makedirs(path, *a, **k)
        os.rmdir(path)

    monkeypatch.setattr(os, "makedirs", removed_at_once)
    with pytest.raises(ValueError) as e:
        commit._lock(str(out), str(out))
    monkeypatch.undo()
    assert len(made) == commit.LOCK_TRIES
    assert str(e.value) == (f"output {str(out)!r}: its {commit.STAGING} folder was removed {commit.LOCK_TRIES} times as "
                            f"curate made it to take the lock (another process deleting it?); retry, or choose another --output")
    assert str(out) not in commit._LOCKS


def test_a_file_uri_output_is_locked_and_checked_as_its_path(tmp_path, capsys):
    """`--output file:///data/out` (README: outputs may be URIs) took no lock: commit.py took
    every '://' for a bucket, so a second run into it ran beside the first (deleting its staged
    files), and one inside another output was not refused. A file:// output is its local path."""
    from curate import cli

    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"text": "a document of a few words " * 10}) + "\n")
    out = tmp_path / "out"
    uri = f"file://{out}"
    hold = "import sys; from curate import commit; commit.begin(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", hold, uri], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline() == "held\n"
        assert cli.main(["run", "--input", str(inp), "--domain", "web", "--stages", "ingest", "--output", uri,
                         "--progress", "off"]) == 2
        assert capsys.readouterr().err == (f"curate: output {uri!r} is being written by another curate command (process "
                                           f"{proc.pid}); wait for it to end or choose another --output\n")
    finally:
        proc.communicate("", timeout=60)
    (out / output.MANIFEST).write_text(json.dumps({"format": output.FORMAT}))
    assert commit.enclosing_output(f"file://{out}/inner") == str(out)



def test_a_file_uri_through_a_link_then_up_is_checked_where_it_lands(tmp_path):
    """pyarrow hands a file:// URI's path to the system as it is, which takes `link/..` as the
    folder above where the link leads (a plain path is made absolute first, `link/..` dropped):
    `--output file:///data/link/../new`, the link into a curate output, wrote its files inside
    that output (its next run refuses them), not refused as the same folder given as a path is.
    Where pyarrow writes is the ground truth here."""
    outer = tmp_path / "outer"
    (outer / "sub").mkdir(parents=True)
    (outer / output.MANIFEST).write_text(json.dumps({"format": output.FORMAT}))
    (tmp_path / "link").symlink_to(outer / "sub")
    uri = f"file://{tmp_path}/link/../new"
    fs, path = output._fs(uri)
    fs.create_dir(path)
    assert (outer / "new").is_dir() and not (tmp_path / "new").exists()  # where the run's files would go
    assert commit.enclosing_output(uri) == str(outer)
    assert commit.enclosing_output(f"{tmp_path}/link/../new") is None  # a path: ./new, beside the link


def test_the_lock_file_is_as_writable_as_the_umask_lets(tmp_path):
    """The lock file was made 0644 whatever the umask: in a group's shared output (umask 002,
    every staged file group-writable) another member could not open it for writing, so could
    neither complete a commit a member's killed run left ('cannot complete it here (Permission
    denied)') nor run into the output at all ('cannot be created or written') until its owner
    came back. Made as the audit's claim is, 0666 less the umask (022 still gives 0644)."""
    out = tmp_path / "out"
    out.mkdir()
    modes = []
    for umask in (0o002, 0o022):
        old = os.umask(umask)
        try:
            commit._lock(str(out), str(out))
        finally:
            os.umask(old)
            commit._unlock(str(out))
        lock = out / commit.STAGING / commit.LOCK
        modes.append(oct(lock.stat().st_mode & 0o777))
        lock.unlink()
    assert modes == ["0o664", "0o644"]

def _decided(tmp_path) -> Path:
    """An output whose commit is decided, nothing of it applied: a.txt staged, its journal written."""
    out = tmp_path / "out"
    staging = out / commit.STAGING
    (staging / "stats").mkdir(parents=True)  # a folder the run's files were moved out of
    (staging / "a.txt").write_text("new\n")
    (staging / output.MANIFEST).write_text(json.dumps({"format": output.FORMAT, "files": [{"file": "a.txt", "bytes": 4}]}))
    (staging / commit.JOURNAL).write_text(json.dumps({"delete": [], "files": ["a.txt"]}))
    return out


NFS = ".nfs000000000a3b0c1d00000001"  # the name NFS gives a file deleted while a process holds it open


def test_an_nfs_leftover_in_the_staging_folder_leaves_the_commit_complete(tmp_path, monkeypatch):
    """On NFS a file deleted while open (the lock file, held by the process completing the
    commit) is renamed .nfsXXXX until closed, and cannot be deleted: the staging folder's removal
    failed ("Directory not empty", or EBUSY) after a complete commit, which was reported failed
    (a run's last step; a loader's read). Such a leftover is the file system's, as another's lock
    file is: not an error. The next run leaves it (deleting it fails while it is open), and does
    not take it for a file of its own."""
    out = _decided(tmp_path)
    staging = out / commit.STAGING
    delete_dir = commit._delete_dir

    def on_nfs(fs, path):  # pyarrow's delete_dir stopped at the silly-renamed lock file
        if path != str(staging):
            return delete_dir(fs, path)
        left = f"{NFS[:-1]}{len(list(staging.glob('.nfs*'))) + 1}"
        os.rename(staging / commit.LOCK, staging / left)
        raise OSError(errno.EBUSY, "Device or resource busy", str(staging / left))

    monkeypatch.setattr(commit, "_delete_dir", on_nfs)
    assert commit.recover(str(out)) is True
    manifest = json.loads((out / output.MANIFEST).read_text())
    assert commit.verify_output(str(out)) == manifest and (out / "a.txt").read_text() == "new\n"
    assert sorted(p.name for p in staging.iterdir()) == [NFS, "stats"]
    staged = commit.begin(str(out))  # the next run: the leftover is not its to delete, nor to commit
    assert sorted(p.name for p in staging.iterdir()) == [NFS, commit.LOCK]
    Path(staged, "b.txt").write_text("b\n")
    output.write_manifest(staged, {"format": output.FORMAT})
    assert [e["file"] for e in commit.finish(str(out))["files"]] == ["b.txt"]
    assert sorted(p.name for p in out.iterdir()) == [commit.STAGING, "b.txt", output.MANIFEST]
    assert sorted(p.name for p in staging.iterdir()) == [NFS, NFS[:-1] + "2"]  # this run's lock file, left so


# A reader of the output (the loader, the audit, verify_output) in another process, stopped at
# the moment it holds the lock (its first lockf), until told to go on: the instant a run
# beginning then may meet, made as long as the test needs.
PAUSED = """
import fcntl, sys
from curate import commit
real, paused = fcntl.lockf, []
def lockf(fd, op, *a):
    out = real(fd, op, *a)
    if op != fcntl.LOCK_UN and not paused:
        paused.append(op)
        print("held", flush=True)
        sys.stdin.readline()
    return out
fcntl.lockf = lockf
print(getattr(commit, sys.argv[1])(sys.argv[2]), flush=True)
"""


def _paused_reader(call: str, out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, call, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=REPO)
    assert proc.stdout.readline() == "held\n"
    return proc


def _finished(tmp_path) -> Path:
    """A finished output whose staging folder holds only a lock file no one holds (a reader's, left)."""
    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    (out / commit.STAGING / commit.LOCK).write_text("")
    (out / "a.txt").write_text("old\n")
    (out / output.MANIFEST).write_text(json.dumps({"format": output.FORMAT, "files": [{"file": "a.txt", "bytes": 4}]}))
    return out


def _go_on_at_first_pause(monkeypatch, proc) -> list:
    """commit._pause, the wait before the lock is tried again: the reader goes on then, and ends."""
    pauses = []

    def pause(seconds):
        if not pauses:
            assert proc.communicate("go\n", timeout=60)[0] in ("False\n", "True\n")
        pauses.append(seconds)

    monkeypatch.setattr(commit, "_pause", pause, raising=False)
    return pauses


@pytest.mark.parametrize("reader", ["held", "recover"])
def test_a_run_beginning_as_a_reader_looks_at_the_lock_is_not_refused(tmp_path, monkeypatch, reader):
    """commit.held (a loader watching a commit) and a reader's recover took the output's lock
    for an instant: a run beginning in that instant was refused, 'being written by another
    curate command', while no command was writing it. A reader's look holds the lock shared,
    a writer's exclusively: a run meeting only shared holds tries again (and the reader that
    found a journal completes it first); a writer's hold is still refused (the tests of
    test_cli.py and test_commit.py)."""
    if reader == "held":
        out = _finished(tmp_path)
    else:  # a commit killed midway: the reader completes it, the run begins on the whole output
        out = _decided(tmp_path)
        (out / commit.STAGING / commit.LOCK).write_text("")
    with _begun_beside(monkeypatch, _paused_reader(reader, out), out):
        assert commit._holder(str(out / commit.STAGING / commit.LOCK)) == f" (process {os.getpid()})"
        assert json.loads((out / output.MANIFEST).read_text())["files"][0]["file"] == "a.txt"
        assert (out / "a.txt").read_text() == ("old\n" if reader == "held" else "new\n")


@contextlib.contextmanager
def _begun_beside(monkeypatch, proc, out: Path):
    """A run begun while the paused reader ``proc`` holds the lock: waited for (it goes on at the
    run's first pause, and ends), not refused; aborted at the end."""
    try:
        pauses = _go_on_at_first_pause(monkeypatch, proc)
        staged = commit.begin(str(out))
        assert pauses and proc.returncode == 0
        assert sorted(p.name for p in Path(staged).iterdir()) == [commit.LOCK]
        yield
    finally:
        commit.abort(str(out))
        if proc.returncode is None:
            proc.kill()
            proc.wait()


def test_a_reader_holding_the_lock_for_long_is_said_as_one(tmp_path, monkeypatch):
    """A reader's shared hold that does not end (a stopped process) is waited for a bounded
    time, then said as a reader's, not as 'another curate command' writing the output; and it
    is no writer's hold to ``held`` (a loader watching a commit)."""
    out = _finished(tmp_path)
    proc = _paused_reader("held", out)
    try:
        pauses = []
        monkeypatch.setattr(commit, "_pause", pauses.append, raising=False)
        assert not commit.held(str(out))
        with pytest.raises(commit.Held) as e:
            commit.begin(str(out))
        assert len(pauses) == commit.SHARED_TRIES
        assert str(e.value) == (f"output {str(out)!r} is being read by another process, which has held its lock for "
                                f"{commit.SHARED_TRIES * commit.PAUSE:.0f} s (stopped?); retry when it is done, or choose another --output")
    finally:
        proc.kill()
        proc.wait()
    assert str(out) not in commit._LOCKS


def _interrupted(tmp_path, state: str) -> Path:
    """A rerun's commit, decided (its journal written) and stopped: before its first step (the
    previous output whole), or midway (its first step deleted the previous manifest)."""
    out = _decided(tmp_path)
    (out / commit.STAGING / commit.LOCK).write_text("")
    (out / "old.txt").write_text("old\n")
    if state == "before its first step":
        (out / output.MANIFEST).write_text(json.dumps({"format": output.FORMAT, "files": [{"file": "old.txt", "bytes": 4}]}))
    return out


@pytest.mark.parametrize("state", ["before its first step", "midway"])
def test_a_reader_that_may_not_write_reads_a_whole_output_or_says_who_completes_it(tmp_path, deny_writes, capsys, state):
    """A reader that may not write in the output (another user's, a read-only mount) found a
    commit stopped after its journal: verify_output said 'no manifest.json; not a finished
    curate output' and `curate audit` 'a curate run is writing this output (or one was stopped
    ...: run it again)', of a commit that only a user who may write there can complete, by
    reading it once. Said so; and an output whose manifest is there (nothing of the commit done)
    is read as it is, nothing written."""
    from curate.audit import command

    out = _interrupted(tmp_path, state)
    before = sorted((str(p), p.stat().st_mtime_ns) for p in out.rglob("*"))
    writable = deny_writes(out, errno.EACCES)
    try:
        if state == "before its first step":
            assert commit.verify_output(str(out))["files"] == [{"file": "old.txt", "bytes": 4}]
            return
        said = (f"{out}: a run's commit was stopped midway (its journal, {commit.STAGING}/{commit.JOURNAL}, is there) "
                f"and curate cannot complete it here (Permission denied): run `curate audit {out}` where the output is "
                "writable (it completes the commit), then retry")
        with pytest.raises(commit.OutputError) as e:
            commit.verify_output(str(out))
        assert str(e.value) == said
        assert command.main([str(out)]) == 2
        assert capsys.readouterr().err == f"curate audit: {said.replace('and curate cannot', 'and curate audit cannot')}\n"
    finally:
        writable()
        assert sorted((str(p), p.stat().st_mtime_ns) for p in out.rglob("*")) == before  # nothing made, changed or deleted


def test_a_reader_that_may_not_write_waits_for_a_commit_under_way(tmp_path, monkeypatch, deny_writes):
    """A commit under way (its writer holding the lock, the previous manifest deleted) was taken
    by a reader that may not write there for one stopped midway: the loader said 'cannot
    complete it here (Permission denied): run curate audit ...' instead of waiting for it, as
    a reader that may write does (and verify_output 'not a finished curate output'). Its look
    at the lock needs no write access: it sees the writer, and waits (or says it holds it)."""
    from curate import loader

    out = _interrupted(tmp_path, "midway")
    hold = "import sys; from curate import commit; commit._lock(sys.argv[1], sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", hold, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline() == "held\n"
        writable = deny_writes(out, errno.EACCES)
        with pytest.raises(commit.Held, match=rf"being written by another curate command \(process {proc.pid}\)"):
            commit.verify_output(str(out))
        monkeypatch.setattr(loader, "COMMIT_WAIT", 0.1)
        with pytest.raises(loader.TokensError, match=rf"being completed by another process \(process {proc.pid}\) for over"):
            loader._complete_commit(str(out))
    finally:
        monkeypatch.undo()
        writable()
        proc.communicate("", timeout=60)


def test_a_file_uri_output_s_commit_holder_is_named_by_the_loader(tmp_path, monkeypatch):
    """The loader named the process holding a commit it waited on past COMMIT_WAIT by the lock
    file at os.path.join(root, ...): of a file:// output, a path that is no file, so never named."""
    from curate import loader

    out = _decided(tmp_path)
    (out / commit.STAGING / commit.LOCK).write_text(f"{os.getpid()} {commit._hostname()}\n")

    def held(root):
        raise commit.Held("held")

    monkeypatch.setattr(commit, "recover", held)
    monkeypatch.setattr(commit, "held", lambda root: True)
    monkeypatch.setattr(loader, "COMMIT_WAIT", 0.0)
    with pytest.raises(loader.TokensError, match=rf"by another process \(process {os.getpid()}\) for over"):
        loader._complete_commit(f"file://{out}")


# A reader stopped after it opened the lock file, before its first lockf (a process stopped,
# swapped out), until told to go on.
OPENED = """
import fcntl, sys
from curate import commit
real, paused = fcntl.lockf, []
def lockf(fd, op, *a):
    if not paused:
        paused.append(op)
        print("opened", flush=True)
        sys.stdin.readline()
    return real(fd, op, *a)
fcntl.lockf = lockf
try:
    print(commit.recover(sys.argv[1]), flush=True)
except ValueError as e:
    print(type(e).__name__, e, flush=True)
"""


def test_a_reader_holding_a_lock_file_deleted_since_does_not_apply_a_new_commit(tmp_path):
    """A reader opens the lock file, then takes it shared, finds a journal and turns its hold
    exclusive. Between its open and its hold, the commit it saw may have been completed (the
    lock file deleted with the staging folder) and a new run begun and reached its own commit
    (a new lock file, held): the reader's hold, on the deleted file, excludes no one. It must
    not apply that run's journal beside it (two processes moving files, the run's staging
    folder deleted under it): it takes the lock file there now, held, and is refused."""
    out = _decided(tmp_path)
    (out / commit.STAGING / commit.LOCK).write_text("")
    proc = subprocess.Popen([sys.executable, "-c", OPENED, str(out)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline() == "opened\n"
        assert commit.recover(str(out)) is True  # the old commit, completed here: its lock file deleted
        staged = Path(commit.begin(str(out)))  # a new run, holding a new lock file, at its commit
        (staged / "b.txt").write_text("b\n")
        output.write_manifest(str(staged), {"format": output.FORMAT, "files": [{"file": "b.txt", "bytes": 2}]})
        (staged / commit.JOURNAL).write_text(json.dumps({"delete": ["a.txt"], "files": ["b.txt"]}))
        said = proc.communicate("go\n", timeout=60)[0]
        assert said == (f"Held output {str(out)!r} is being written by another curate command (process {os.getpid()}); "
                        "wait for it to end and retry\n")  # a reader's recover: it has no --output
        assert sorted(p.name for p in staged.iterdir()) == sorted([commit.JOURNAL, commit.LOCK, output.MANIFEST, "b.txt"])
        assert commit._LOCKS[str(out)] and commit._holder(str(staged / commit.LOCK)) == f" (process {os.getpid()})"
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        commit.abort(str(out))  # completes this run's commit
    assert (out / "b.txt").read_text() == "b\n" and not (out / "a.txt").exists()


# A reader completing a stopped commit (commit.recover), stopped the moment it holds the lock
# exclusively, until told to go on: the instant a run beginning then meets.
COMPLETING = """
import fcntl, sys
from curate import commit
real = fcntl.lockf
def lockf(fd, op, *a):
    out = real(fd, op, *a)
    if op & fcntl.LOCK_EX:
        fcntl.lockf = real
        print("held", flush=True)
        sys.stdin.readline()
    return out
fcntl.lockf = lockf
print(commit.recover(sys.argv[1]), flush=True)
"""


@pytest.mark.parametrize("lock", ["a killed run's", "none"])
def test_a_run_beginning_as_a_reader_completes_a_commit_waits_for_it(tmp_path, monkeypatch, lock):
    """A reader completing a stopped commit holds the lock exclusively for the milliseconds of the
    moves: a run beginning then was refused, 'being written by another curate command (process
    <the reader>)'. The reader marks its hold as a reader's completion (before it holds it
    exclusively, so a run never meets it unmarked): the run waits for it, as for a reader's look,
    and begins on the completed output. Also where the commit left no lock file (an older
    curate's, a copied output): the reader makes one, marked too."""
    out = _decided(tmp_path)
    if lock != "none":
        (out / commit.STAGING / commit.LOCK).write_text("999999999 elsewhere\n")
    proc = subprocess.Popen([sys.executable, "-c", COMPLETING, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=REPO)
    assert proc.stdout.readline() == "held\n"
    assert commit.held(str(out))  # a loader watching: held, it waits for the commit to be complete
    with _begun_beside(monkeypatch, proc, out):
        assert commit.held(str(out)) is False  # the run's own: not another's
        assert (out / "a.txt").read_text() == "new\n" and commit.verify_output(str(out))["files"][0]["file"] == "a.txt"
    assert not (out / commit.STAGING).exists()


def test_a_writer_s_hold_is_refused_whatever_mark_a_reader_left(tmp_path, monkeypatch):
    """A lock file marked by a reader's completion that ended (its process gone), now held by a
    writer that has not written its pid yet: the writer is refused, not waited for."""
    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    lock = out / commit.STAGING / commit.LOCK
    hold = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX); "
            "print('held', flush=True); sys.stdin.read()")
    lock.write_text("")
    proc = subprocess.Popen([sys.executable, "-c", hold, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        lock.write_text(f"999999999 {commit._hostname()} completing\n")
        pauses = []
        monkeypatch.setattr(commit, "_pause", pauses.append, raising=False)
        with pytest.raises(commit.Held, match="is being written by another curate command; wait"):
            commit.begin(str(out))
        assert pauses == []
    finally:
        proc.communicate("", timeout=60)


def test_two_threads_taking_one_output_s_lock_are_two_holders(tmp_path):
    """POSIX locks are a process's: a second thread of the process holding an output's lock took
    it too (_LOCKS said 'this process holds it already'), and a thread's look (commit.held, a
    loader watching) took the holder's lock for its own and dropped it on closing its file. A
    thread holding it is to the others what another process holding it is: a writer refused,
    a look told it is held, its holder named without opening the file; the holder's lock stays held, as another process sees, and the
    folder its run made is its own to remove (the refused thread's abort forgot it)."""
    import threading

    out = tmp_path / "out"  # a first run's: made by the holder's begin
    began, done, failed = threading.Event(), threading.Event(), []

    def run():
        try:
            commit.begin(str(out))
            began.set()
            done.wait(60)
        except BaseException as e:  # noqa: BLE001
            failed.append(e)
        finally:
            commit.abort(str(out))
            began.set()

    holder = threading.Thread(target=run, daemon=True)
    holder.start()
    try:
        assert began.wait(60) and not failed
        assert commit.held(str(out))
        with pytest.raises(commit.Held, match=rf"is being written by another thread of this process \(process {os.getpid()}\)"):
            commit.begin(str(out))
        assert commit.abort(str(out)) is None  # this thread's abort leaves the holder's lock and staging folder
        assert commit._holder(commit.lock_file(str(out))) == f" (process {os.getpid()})"  # the loader's, after a wait
        look = "import sys; from curate import commit; print(commit.held(sys.argv[1]))"
        seen = subprocess.run([sys.executable, "-c", look, str(out)], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert seen.stdout == "True\n", seen.stderr
        assert (out / commit.STAGING / commit.LOCK).exists()
    finally:
        done.set()
        holder.join(60)
    assert not failed and str(out) not in commit._LOCKS
    assert not out.exists()  # the holder's abort removed the folder its begin made
    commit.begin(str(out))  # the holder gone: this thread takes it
    commit.abort(str(out))


@pytest.fixture
def group_umask():
    """A group's output: files made group-writable (umask 002), as its members run."""
    old = os.umask(0o002)
    yield
    os.umask(old)


def _older_curate_s(lock: Path, monkeypatch) -> None:
    """The lock file ``lock``, made 0644 by another user's older curate: this user may read it and
    (the folder being the group's) remove it, not open it for writing. As root (CI) simulated:
    an open of it for writing is refused (EACCES) while it is not group-writable."""
    lock.write_text("4242 elsewhere\n")
    lock.chmod(0o644)
    real = os.open

    def refused(path, flags, *a, **kw):
        if str(path) == str(lock) and flags & (os.O_WRONLY | os.O_RDWR) and os.path.exists(lock) \
                and not os.stat(lock).st_mode & stat.S_IWGRP:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path, flags, *a, **kw)

    monkeypatch.setattr(os, "open", refused)


def test_an_older_curate_s_read_only_lock_file_does_not_stop_a_group_member(tmp_path, monkeypatch, group_umask):
    """An older curate made the lock file 0644: in a group's output (its folders group-writable)
    another member's run was refused 'cannot be created or written (Permission denied)', and its
    reader could not complete a commit stopped midway ('cannot complete it here'). The file is
    not held (a shared look, opened for reading, says so) and the folder is theirs to change:
    it is replaced by one of their own."""
    out = _decided(tmp_path)
    lock = out / commit.STAGING / commit.LOCK
    _older_curate_s(lock, monkeypatch)
    assert commit.recover(str(out)) is True  # a reader completes the commit
    assert (out / "a.txt").read_text() == "new\n" and json.loads((out / output.MANIFEST).read_text())["files"]
    (out / commit.STAGING).mkdir()
    monkeypatch.undo()
    _older_curate_s(lock, monkeypatch)
    staged = commit.begin(str(out))  # a run
    try:
        assert sorted(p.name for p in Path(staged).iterdir()) == [commit.LOCK]
        assert commit._holder(str(lock)) == f" (process {os.getpid()})"
    finally:
        commit.abort(str(out))


def test_an_older_curate_s_read_only_lock_file_held_names_its_holder(tmp_path, monkeypatch, group_umask):
    """The same file held by its owner's run: refused as a run's, naming it, not 'Permission denied'."""
    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    lock = out / commit.STAGING / commit.LOCK
    hold = "import sys; from curate import commit; commit._lock(sys.argv[1], sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", hold, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout.readline() == "held\n"
        _older_curate_s(lock, monkeypatch)
        lock.write_text(f"{proc.pid} {commit._hostname()}\n")
        with pytest.raises(commit.Held, match=rf"being written by another curate command \(process {proc.pid}\)"):
            commit.begin(str(out))
        assert lock.exists()
    finally:
        proc.communicate("", timeout=60)


def test_a_forked_child_does_not_take_its_parent_s_lock_for_its_own(tmp_path):
    """A forked child inherits no POSIX lock, but it inherited _LOCKS: a child of a process
    holding an output's lock (a worker forked by a run; a notebook's DataLoader) took it as held
    by itself, and would complete or commit beside its parent. It is another process to it."""
    out = tmp_path / "out"
    out.mkdir()
    commit._lock(str(out), str(out))
    try:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its verdicts down the pipe, then out at once
            try:
                said = [str(commit.held(str(out)))]
                try:
                    commit._lock(str(out), str(out))
                    said.append("taken")
                except commit.Held as e:
                    said.append(str(e))
                os.write(write, "\n".join(said).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as f:
            said = f.read()
        os.waitpid(pid, 0)
        assert said == (f"True\noutput {str(out)!r} is being written by another curate command (process {os.getpid()}); "
                        "wait for it to end or choose another --output")
    finally:
        commit._unlock(str(out))


def test_a_staging_folder_this_user_may_not_write_in_is_said_so(tmp_path, deny_writes):
    """No lock file, and a staging folder this user may not make one in (another user's output):
    said as before, not taken for a lock file vanishing 100 times (the replacement of an older
    curate's read-only lock file looks for it)."""
    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    deny_writes(out, errno.EACCES)
    with pytest.raises(PermissionError):
        commit._lock(str(out), str(out))
    assert str(out) not in commit._LOCKS


REPLACER = """
import errno, os, stat, sys
from curate import commit
os.umask(0o002)
lock = sys.argv[1] + "/" + commit.STAGING + "/" + commit.LOCK
real_open, real_replace = os.open, os.replace
def refused(path, flags, *a, **kw):  # as _older_curate_s: another user's 0644 file, not opened for writing
    if str(path) == lock and flags & (os.O_WRONLY | os.O_RDWR) and os.path.exists(lock) \\
            and not os.stat(lock).st_mode & stat.S_IWGRP:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    return real_open(path, flags, *a, **kw)
def replace(src, dst):  # paused as it is about to rename its new lock file over the old one
    os.replace = real_replace
    print("renaming", flush=True)
    sys.stdin.readline()
    return real_replace(src, dst)
os.open, os.replace = refused, replace
try:
    commit._lock(sys.argv[1], sys.argv[1])
    print("held", flush=True)
except commit.Held as e:
    print("refused", flush=True)
sys.stdin.readline()
"""


def test_two_members_replacing_an_older_curate_s_lock_file_are_not_two_holders(tmp_path, monkeypatch, group_umask):
    """Two group members' runs meeting an older curate's 0644 lock file: each held it shared
    (no writer holds it) and renamed a new one over it. The second renamed its file over the
    first's, which the first held already: two runs writing one output, each holding "the"
    lock (two files). The replacement is made where the old file is still the lock file, one
    replacement at a time: the second finds the first's file, held, and is refused."""
    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    lock = out / commit.STAGING / commit.LOCK
    _older_curate_s(lock, monkeypatch)
    other = subprocess.Popen([sys.executable, "-c", REPLACER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=REPO)
    said = []

    def go_on():  # the other run renames, and says whether it holds the lock
        if not said:
            other.stdin.write("go\n")
            other.stdin.flush()
            said.append(other.stdout.readline())

    try:
        assert other.stdout.readline() == "renaming\n"  # it holds the old file shared, its new one made
        monkeypatch.setattr(commit, "_pause", lambda seconds: go_on(), raising=False)
        try:
            commit._lock(str(out), str(out))
            mine = "held"
        except commit.Held:
            mine = "refused"
        go_on()
        assert sorted([mine, said[0].strip()]) == ["held", "refused"]
    finally:
        commit._unlock(str(out))
        other.communicate("\n", timeout=60)


def test_a_look_at_a_lock_file_replaced_as_it_looks_sees_the_new_one_s_holder(tmp_path, monkeypatch):
    """commit.held (a loader watching a commit) opened the lock file, which a member's run then
    replaced (an older curate's 0644 one, renamed over) and held: its shared lock of the old file,
    which no one holds now, said 'not held' while that run wrote. A look is of the file there
    once it holds it (its inode), as a writer's hold is."""
    import fcntl

    out = tmp_path / "out"
    (out / commit.STAGING).mkdir(parents=True)
    lock = out / commit.STAGING / commit.LOCK
    lock.write_text("4242 elsewhere\n")
    hold = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX); "
            "print('held', flush=True); sys.stdin.read()")
    real, procs = fcntl.lockf, []

    def lockf(fd, op, *a):
        if not procs:  # between the look's open and its lock: the file replaced, the new one held by a run
            new = lock.with_name("new")
            new.write_text("")
            os.replace(new, lock)
            procs.append(subprocess.Popen([sys.executable, "-c", hold, str(lock)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True))
            assert procs[0].stdout.readline() == "held\n"
        return real(fd, op, *a)

    monkeypatch.setattr(fcntl, "lockf", lockf)
    try:
        assert commit.held(str(out)) is True
    finally:
        for proc in procs:
            proc.communicate("", timeout=60)


CLAIM_HELD = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
              "try:\n    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('free')\nexcept OSError:\n    print('held')")


def _claim_seen(folder: Path) -> str:
    """What another process finds of the audit's claim of ``folder``: 'held', 'free' or 'gone'."""
    from curate.audit import command

    claim = folder / "stats" / command.CLAIM
    if not claim.exists():
        return "gone"
    return subprocess.run([sys.executable, "-c", CLAIM_HELD, str(claim)], capture_output=True, text=True,
                          timeout=60).stdout.strip()


@pytest.mark.parametrize("through", ["curate-audit", "link"])
def test_two_threads_claiming_one_audit_folder_are_two_claimants(tmp_path, through):
    """The audit's claim of a curate-audit folder (a POSIX lock, as a run's): a second thread of
    the process claiming it took it too (two audits written into one folder), and its release
    unlinked the first's claim and dropped its lock. Another thread's claim is to it what another
    process's is (the next folder), and a thread releases only its own (commit's owner registry).
    The same where the first names the folder through a link: the claims were keyed by the name
    given, so the second found none and took the process's lock as its own (keyed as commit's)."""
    import threading

    from curate.audit import command

    folder = tmp_path / "curate-audit"
    (folder / "stats").mkdir(parents=True)
    (tmp_path / "link").symlink_to(folder)
    claimed, done, said = threading.Event(), threading.Event(), []

    def audit():
        said.append(command._claim(str(tmp_path / through)))
        claimed.set()
        done.wait(60)
        command._release(str(tmp_path / through))

    other = threading.Thread(target=audit, daemon=True)
    other.start()
    try:
        assert claimed.wait(60) and said == [True]
        assert command._claim(str(folder)) is False
        command._release(str(folder))  # not this thread's: the other's claim stays
        assert _claim_seen(folder) == "held"
    finally:
        done.set()
        other.join(60)
    assert _claim_seen(folder) == "gone"


def _in_a_forked_child(call) -> None:
    """``call()`` in a forked child of this process, which then ends at once (no exit handler)."""
    pid = os.fork()
    if pid == 0:
        try:
            call()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def test_a_forked_child_does_not_release_its_parent_s_audit_claim(tmp_path):
    """A forked child inherited the claims of its parent's audit: its release unlinked the
    parent's claim (a third audit then claims the folder and writes beside the parent's)."""
    from curate.audit import command

    folder = tmp_path / "curate-audit"
    (folder / "stats").mkdir(parents=True)
    assert command._claim(str(folder)) is True
    try:
        _in_a_forked_child(lambda: command._release(str(folder)))
        assert _claim_seen(folder) == "held"
    finally:
        command._release(str(folder))


def test_a_forked_worker_s_abort_leaves_its_parent_s_staging_folder(tmp_path):
    """A worker forked by a run holding its output's lock (pipelines/pool.py) holds nothing of its
    parent's (the fork hook empties the registries): an abort there is another process's, refused
    by the parent's lock, and removes neither the staging folder nor the output folder the parent's
    run made. (Passes before: pins what the reset must not allow.)"""
    out = tmp_path / "out"  # made by the parent's begin
    staged = Path(commit.begin(str(out)))
    try:
        (staged / "part-0.parquet").write_bytes(b"staged")
        _in_a_forked_child(lambda: commit.abort(str(out)))
        assert (staged / "part-0.parquet").read_bytes() == b"staged" and commit._mine(str(out))
    finally:
        commit.abort(str(out))
    assert not out.exists()


def test_a_thread_that_ended_holding_the_lock_holds_nothing(tmp_path):
    """A thread that began a run and ended without its abort (a notebook's thread, a library
    caller's) kept the output for good: every other thread of the process was refused '...
    another thread of this process' until the process ended, as no process that ends is. A
    thread that ended holds nothing (its hold dropped, as the kernel drops a dead process's)."""
    import threading

    out = tmp_path / "out"
    out.mkdir()
    began = []
    ended = threading.Thread(target=lambda: began.append(commit.begin(str(out))))
    ended.start()
    ended.join(60)
    assert began
    assert commit.held(str(out)) is False
    try:
        assert commit.begin(str(out)) == began[0]
        assert commit._mine(str(out))
    finally:
        commit.abort(str(out))


def test_a_thread_that_ended_holding_an_audit_claim_holds_nothing(tmp_path):
    """The audit's claim likewise: a thread that ended holding it sent every later audit of the
    process to the next folder; its claim is left as a killed audit's (taken over)."""
    import threading

    from curate.audit import command

    folder = tmp_path / "curate-audit"
    (folder / "stats").mkdir(parents=True)
    said = []
    ended = threading.Thread(target=lambda: said.append(command._claim(str(folder))))
    ended.start()
    ended.join(60)
    assert said == [True]
    try:
        assert command._claim(str(folder)) is True
    finally:
        command._release(str(folder))
    assert _claim_seen(folder) == "gone"


def test_two_readers_marking_at_once_leave_a_whole_mark(tmp_path, monkeypatch):
    """Two readers completing a commit mark the lock file at once (both hold it shared): one's
    line written over the other's, then cut to the first's shorter length, left
    '<pid> HOST comple': the one that then held it exclusively was a writer to a run beginning
    (refused, naming it). Marks are of one length: a cut leaves the last written whole."""
    fd = os.open(tmp_path / "lock", os.O_RDWR | os.O_CREAT)
    real, cuts = os.ftruncate, []

    def ftruncate(f, length):  # the short mark's cut waits until the other reader has written its own
        if not cuts:
            cuts.append(length)
            monkeypatch.setattr(os, "getpid", lambda: 4194304)
            commit._write_pid(fd, completing=True)
        return real(f, length)

    monkeypatch.setattr(os, "getpid", lambda: 1)  # init's: alive
    monkeypatch.setattr(os, "ftruncate", ftruncate)
    try:
        commit._write_pid(fd, completing=True)
        monkeypatch.undo()
        assert os.pread(fd, 300, 0).split(b"\n")[0].split() == [b"4194304", commit._hostname().encode(), b"completing"]
    finally:
        os.close(fd)


def test_a_reader_completing_a_commit_for_long_is_said_as_one(tmp_path, monkeypatch):
    """A reader's completion of a stopped commit that does not end (its process stopped, its hold
    exclusive and marked 'completing') was said to a run waiting for it, and to another reader,
    as 'being read by another process': it is completing the commit (moving files into place),
    said so, naming its process."""
    out = _decided(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", COMPLETING, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, cwd=REPO)
    try:
        assert proc.stdout.readline() == "held\n"
        monkeypatch.setattr(commit, "_pause", lambda seconds: None, raising=False)
        for call, tail in ((commit.begin, ", or choose another --output"), (commit.recover, "")):  # a reader: no --output
            with pytest.raises(commit.Held) as e:
                call(str(out))
            assert str(e.value) == (f"output {str(out)!r}: a commit of it stopped midway is being completed by another "
                                    f"process (process {proc.pid}), which has held its lock for "
                                    f"{commit.SHARED_TRIES * commit.PAUSE:.0f} s (stopped?); retry when it is done{tail}")
    finally:
        assert proc.communicate("go\n", timeout=60)[0] == "True\n"
    assert (out / "a.txt").read_text() == "new\n" and str(out) not in commit._LOCKS


def test_a_reader_that_may_not_write_looks_at_the_lock_file_there_now(tmp_path, monkeypatch, deny_writes):
    """A reader that may not write (a read-only mount) opened the lock file; before its shared
    hold, the commit it saw ended (the file deleted) and a run took a new one and began its own
    commit (its journal, no manifest yet). The hold of the deleted file excluded no one and the
    reader took that run's commit under way for one stopped midway ('cannot complete it here
    (Read-only file system)'): a writer's hold is looked at where the lock file is now (its
    inode, as a writer's), and the run is waited for."""
    import fcntl

    out = _interrupted(tmp_path, "midway")
    lock = out / commit.STAGING / commit.LOCK
    hold = "import sys; from curate import commit; commit._lock(sys.argv[1], sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    real, procs = fcntl.lockf, []

    def lockf(fd, op, *a):
        if not procs:  # between the look's open and its lock: the lock file deleted, a run holding a new one
            lock.unlink()
            procs.append(subprocess.Popen([sys.executable, "-c", hold, str(out)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True, cwd=REPO))
            assert procs[0].stdout.readline() == "held\n"
        return real(fd, op, *a)

    writable = deny_writes(out, errno.EROFS)
    monkeypatch.setattr(fcntl, "lockf", lockf)
    try:
        with pytest.raises(commit.Held) as e:
            commit.recover(str(out))
        assert str(e.value).startswith(f"output {str(out)!r} is being written by another curate command (process {procs[0].pid})")
    finally:
        monkeypatch.undo()
        writable()
        for proc in procs:
            proc.communicate("", timeout=60)


def test_a_member_killed_as_it_replaces_an_older_curate_s_lock_file_leaves_nothing_in_the_way(tmp_path, monkeypatch,
                                                                                             group_umask):
    """A member's run killed as it renames its own lock file over an older curate's 0644 one
    leaves both: the old file (unheld: its locks went with the process) and its new one, not
    renamed (.tmp-lock-PID-TID). Neither is in the next one's way: it is not held to a look, and
    the next run replaces the old file again, its staging folder cleared to its own lock file. Also
    where that name is the next run's (its pid and thread id reused): a killed replacer's, made
    again (it was 'cannot be created or written (Permission denied)')."""
    import threading

    out = _finished(tmp_path)
    lock = out / commit.STAGING / commit.LOCK
    _older_curate_s(lock, monkeypatch)
    other = subprocess.Popen([sys.executable, "-c", REPLACER, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, cwd=REPO)
    assert other.stdout.readline() == "renaming\n"
    other.kill()
    other.wait()
    left = sorted(p.name for p in lock.parent.iterdir())
    assert left[0].startswith(f".tmp-{commit.LOCK}-{other.pid}-") and left[1:] == [commit.LOCK]
    assert lock.read_text() == "4242 elsewhere\n" and commit.held(str(out)) is False
    (lock.parent / left[0]).rename(lock.parent / f".tmp-{commit.LOCK}-{os.getpid()}-{threading.get_ident()}")
    staged = commit.begin(str(out))
    try:
        assert sorted(p.name for p in Path(staged).iterdir()) == [commit.LOCK]
        assert stat.S_IMODE(lock.stat().st_mode) == 0o664 and commit._holder(str(lock)) == f" (process {os.getpid()})"
    finally:
        commit.abort(str(out))


class _Holder:
    """A run of another thread of this process holding the lock of ``out`` (begun there, or with
    a decided commit when ``decided``): ``finish()`` lets it go on (its commit applied, or its
    abort) and waits for it to end. ``bare``: a thread ``threading`` did not start (``_thread``'s,
    as a C library's), no Thread object."""

    def __init__(self, out: Path, decided: bool = False, bare: bool = False):
        import _thread
        import threading

        self.go, self.ended, self.failed = threading.Event(), threading.Event(), []
        held = threading.Event()

        def run():
            try:
                if decided:
                    commit._lock(str(out), str(out))
                else:
                    commit.begin(str(out))
                held.set()
                self.go.wait(60)
                if decided:
                    assert commit.recover(str(out)) is True  # its own commit: applied, the lock dropped
            except BaseException as e:  # noqa: BLE001
                self.failed.append(e)
            finally:
                commit.abort(str(out))
                held.set()
                self.ended.set()

        if bare:
            _thread.start_new_thread(run, ())
        else:
            threading.Thread(target=run, daemon=True).start()
        assert held.wait(60) and not self.failed

    def finish(self) -> None:
        self.go.set()
        assert self.ended.wait(60) and not self.failed


def test_a_thread_s_look_at_the_registry_as_another_drops_its_hold_is_one_look(tmp_path, monkeypatch):
    """``_mine`` read the registry in two steps (``base in _LOCKS``, then ``_LOCKS[base]``): a
    thread's ``recover`` (a loader reading the output) between them as another thread's run
    ended its commit and dropped its hold failed with KeyError, not read. Made here at that
    switch: the holder's commit ends as the reader's first look at the registry returns."""
    out = _decided(tmp_path)
    holder = _Holder(out, decided=True)
    looks = []

    class Switching(dict):  # the registry; the holder thread runs as this thread's first look at it returns
        def _switch(self, got):
            if not looks:
                looks.append(got)
                holder.finish()
            return got

        def __contains__(self, key):
            return self._switch(super().__contains__(key))

        def get(self, key, default=None):
            return self._switch(super().get(key, default))

    registry, switching = commit._LOCKS, Switching(commit._LOCKS)
    monkeypatch.setattr(commit, "_LOCKS", switching)
    try:
        assert commit.recover(str(out)) is False  # the holder completed it
    finally:
        holder.finish()
        monkeypatch.undo()
        registry.clear()
        registry.update(switching)  # what the threads left in the registry they used
    assert looks and (out / "a.txt").read_text() == "new\n" and not (out / commit.STAGING).exists()
    assert str(out) not in commit._LOCKS


def test_one_output_named_through_a_link_is_one_output_to_a_process_s_threads(tmp_path):
    """The registry of the locks a process holds was keyed by the output's path as given: a
    thread's look through a link to the folder another thread's run writes (``held``: a loader
    watching it) opened the lock file as no holder's, took a shared lock (the process's: the run's
    exclusive one turned shared), said 'not held' and dropped the run's lock on closing it; a run
    through the link took the lock too and cleared the first run's staging folder. Threads name
    one output as the system does (its real path): a look is told it is held, a second run is
    refused, and the holder's lock stays held, as another process sees."""
    out, link = tmp_path / "out", tmp_path / "link"
    out.mkdir()
    link.symlink_to(out)
    holder = _Holder(out)
    try:
        staged = out / commit.STAGING / "mine.txt"
        staged.write_text("staged by the holder\n")
        assert commit.held(str(link)) is True
        with pytest.raises(commit.Held, match=rf"is being written by another thread of this process \(process {os.getpid()}\)"):
            commit.begin(f"{link}/")
        look = "import sys; from curate import commit; print(commit.held(sys.argv[1]))"
        seen = subprocess.run([sys.executable, "-c", look, str(out)], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert seen.stdout == "True\n", seen.stderr
        assert staged.read_text() == "staged by the holder\n"
    finally:
        holder.finish()
    assert not (out / commit.STAGING).exists() and not commit._LOCKS


def test_a_lock_file_that_keeps_vanishing_as_a_reader_looks_is_said_to_the_reader(tmp_path, monkeypatch, capsys):
    """A reader (``curate mix``, the audit, the loader) looking at an output whose lock file was
    removed every time it looked (another process deleting it in a loop) was told a run's words,
    '... as curate made it to take the lock ...; retry, or choose another --output': a reader
    has no --output. Said as a reader's look, bounded as before."""
    import fcntl

    from curate import cli

    out = _decided(tmp_path)
    lock = out / commit.STAGING / commit.LOCK
    lock.write_text("")
    real, looks = fcntl.lockf, []

    def removed_as_it_is_locked(fd, op, *a):  # the file there replaced (another process's doing) once opened
        if op != fcntl.LOCK_UN:
            looks.append(op)
            assert len(looks) < 10_000, "retried without bound"
            lock.unlink()
            lock.write_text("")
        return real(fd, op, *a)

    monkeypatch.setattr(fcntl, "lockf", removed_as_it_is_locked)
    assert cli.main(["mix", str(out)]) == 2
    monkeypatch.undo()
    assert capsys.readouterr().err == (f"curate: output {str(out)!r}: its {commit.STAGING}/{commit.LOCK} was removed "
                                       f"{commit.LOCK_TRIES} times as curate looked at it to read the output (another "
                                       "process deleting it?); retry\n")
    assert len(looks) == commit.LOCK_TRIES and (out / commit.STAGING / commit.JOURNAL).exists()


def test_readers_then_a_reader_completing_a_commit_for_long_are_said_as_both(tmp_path, monkeypatch):
    """A run waiting SHARED_TRIES times was told of the last hold it met alone: readers that held
    the output's lock for the whole wait, then a reader that had just begun completing a commit,
    were said 'a commit of it stopped midway is being completed by another process ..., which has
    held its lock for 5 s'. What the wait met is said: both."""
    out = _decided(tmp_path)
    (out / commit.STAGING / commit.LOCK).write_text("")
    reader, completer = _paused_reader("held", out), []

    def pause(seconds):  # at the last pause the readers are done, and a reader begins completing the commit
        pauses.append(seconds)
        if len(pauses) == commit.SHARED_TRIES:
            assert reader.communicate("go\n", timeout=60)[0] == "False\n"
            completer.append(subprocess.Popen([sys.executable, "-c", COMPLETING, str(out)], stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, text=True, cwd=REPO))
            assert completer[0].stdout.readline() == "held\n"

    pauses = []
    monkeypatch.setattr(commit, "_pause", pause, raising=False)
    try:
        with pytest.raises(commit.Held) as e:
            commit.begin(str(out))
        assert str(e.value) == (f"output {str(out)!r} is being read by other processes, and a commit of it stopped midway "
                                f"completed by another (process {completer[0].pid}): they have held its lock for "
                                f"{commit.SHARED_TRIES * commit.PAUSE:.0f} s (stopped?); retry when they are done, or "
                                "choose another --output")
    finally:
        if reader.returncode is None:
            reader.kill()
            reader.wait()
        for proc in completer:
            assert proc.communicate("go\n", timeout=60)[0] == "True\n"
    assert (out / "a.txt").read_text() == "new\n" and str(out) not in commit._LOCKS


def test_a_run_beginning_as_another_thread_completes_a_commit_waits_for_it(tmp_path, monkeypatch):
    """A thread's read (a loader's recover) completing a stopped commit holds the lock for its
    moves: to another thread of the process it is what another process's completion is. A look
    (``held``) is told it is held, its holder named as this process without opening the file
    (a close would drop it); a run beginning waits for it (not refused 'being written by another
    thread'), then begins on the completed output."""
    import threading

    out = _decided(tmp_path)
    moving, go, done = threading.Event(), threading.Event(), []
    apply = commit._apply

    def paused_apply(fs, base, journal):  # the reader thread, stopped as it holds the lock to move the files
        if threading.current_thread() is reader:
            moving.set()
            go.wait(60)
        return apply(fs, base, journal)

    monkeypatch.setattr(commit, "_apply", paused_apply)
    reader = threading.Thread(target=lambda: done.append(commit.recover(str(out))), daemon=True)
    reader.start()
    try:
        assert moving.wait(60)
        assert commit.held(str(out)) is True
        assert commit._holder(commit.lock_file(str(out))) == f" (process {os.getpid()})"
        pauses = []

        def pause(seconds):  # the run waits: the reader goes on then, and ends
            pauses.append(seconds)
            go.set()
            reader.join(60)

        monkeypatch.setattr(commit, "_pause", pause, raising=False)
        staged = commit.begin(str(out))
        try:
            assert pauses and done == [True]
            assert sorted(p.name for p in Path(staged).iterdir()) == [commit.LOCK] and commit._mine(str(out))
            assert (out / "a.txt").read_text() == "new\n"
        finally:
            commit.abort(str(out))
    finally:
        go.set()
        reader.join(60)
    assert not reader.is_alive() and str(out) not in commit._LOCKS


def test_a_run_in_a_thread_threading_did_not_start_keeps_its_lock(tmp_path):
    """A thread's hold was taken for an ended thread's where ``threading.enumerate`` did not list
    its thread: one a C library or ``_thread`` started (no Thread object), running a run. Another
    thread's look (``held``: a loader watching) closed the run's lock file as an ended thread's,
    dropping the lock while the run went on, and said 'not held' (as did another process after).
    A thread lives while the interpreter runs it (its thread state), however it was started."""
    out = tmp_path / "out"
    out.mkdir()
    holder = _Holder(out, bare=True)
    try:
        assert commit.held(str(out)) is True
        look = "import sys; from curate import commit; print(commit.held(sys.argv[1]))"
        seen = subprocess.run([sys.executable, "-c", look, str(out)], capture_output=True, text=True, cwd=REPO, timeout=60)
        assert seen.stdout == "True\n", seen.stderr
    finally:
        holder.finish()
    assert not (out / commit.STAGING).exists()


@pytest.mark.parametrize("holder", ["process", "thread"])
def test_a_writer_s_hold_is_said_to_a_reader_in_its_words(tmp_path, capsys, holder):
    """A reader (``curate mix``, the loader, the audit) finding a commit of the output decided
    while a writer holds its lock (a run moving its files; another process's, or another
    thread's of this one) was told a run's words, '...; wait for it to end or choose another
    --output': a reader has no --output."""
    from curate import cli

    out = _decided(tmp_path)
    lock = out / commit.STAGING / commit.LOCK
    if holder == "process":
        lock.write_text("")
        hold = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX); "
                "print('held', flush=True); sys.stdin.read()")
        proc = subprocess.Popen([sys.executable, "-c", hold, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline() == "held\n"
        by, finish = "another curate command", lambda: proc.communicate("", timeout=60)
    else:
        run = _Holder(out, decided=True)
        by, finish = f"another thread of this process (process {os.getpid()})", run.finish
    try:
        assert cli.main(["mix", str(out)]) == 2
    finally:
        finish()
    assert capsys.readouterr().err == f"curate: output {str(out)!r} is being written by {by}; wait for it to end and retry\n"
