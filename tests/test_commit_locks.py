"""The output's lock (curate/commit.py): who holds it, and readers of a commit under way."""
from __future__ import annotations

import errno
import json
import os
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
