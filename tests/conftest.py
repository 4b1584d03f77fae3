"""Shared fixtures. Tests over the real corpora skip only where ../shared/corpora is absent;
CI checks that it is present, so there they always run."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA}")
    return CORPORA


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """`curate demo --progress on` run once, stderr not a terminal: (its folder, the finished
    process). The README-example and progress tests read its output and its stderr."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "curate.cli", "demo", "--output", str(root), "--progress", "on"],
                       capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert r.returncode == 0, r.stderr
    return root, r
