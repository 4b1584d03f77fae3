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
