"""curate installed where it cannot write (a system site-packages, a container's read-only
image): numba's ``cache=True`` kernels keep their compiled code in the package's
``__pycache__``, else in ``~/.cache/numba``. With neither writable (HOME read-only or unset,
as for a container's user) numba raised "cannot cache function ...: no locator available"
when the filter and dedup modules were imported, and ``curate run`` failed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _read_only_runner(tmp_path: Path) -> tuple[list[str], Path]:
    """A read-only copy of the package (and a read-only HOME in it), and the command prefix
    that runs something where both are read-only: chmod for a user, a read-only bind mount
    in a user namespace for root (chmod does not stop root)."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "curate", site / "curate", ignore=shutil.ignore_patterns("__pycache__"))
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(site)], check=True)
        return [], site
    if not shutil.which("unshare"):
        pytest.skip("root without unshare: no way to make the copy read-only")
    prefix = ["unshare", "-r", "-m", "sh", "-c",
              f'mount --bind "{site}" "{site}" && mount -o remount,bind,ro "{site}" && exec "$@"', "sh"]
    probe = subprocess.run(prefix + ["touch", str(site / "probe")], capture_output=True, text=True)
    if probe.returncode == 0 or "Read-only" not in probe.stderr:
        pytest.skip(f"cannot make a read-only mount here: {probe.stderr.strip()}")
    return prefix, site


def test_curate_run_from_a_read_only_install_with_no_writable_home(tmp_path):
    prefix, site = _read_only_runner(tmp_path)
    data = tmp_path / "in.jsonl"
    words = "river stone bridge garden window lantern meadow harbour orchard valley".split()
    rows = [{"id": f"d{i}", "text": " ".join(words[(i + k) % 10] for k in range(120)) + ". The end of it."} for i in range(30)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.update(HOME=str(site), PYTHONPATH=str(site), TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1")

    def run(out: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-W", "always", "-m", "curate", "run", "--input", str(data), "--domain", "web",
               "--output", str(tmp_path / out), "--stages", "ingest,filter,dedup"]
        return subprocess.run(prefix + cmd, cwd=site, env=env, capture_output=True, text=True, timeout=600)

    first = run("out1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "cannot cache" not in first.stderr and "NumbaWarning" not in first.stderr, first.stderr[-3000:]
    cached = sorted(p for p in tmp.rglob("*") if p.suffix in (".nbi", ".nbc"))
    assert cached, "no compiled kernel was cached"
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    second = run("out2")  # the kernels come from the cache: none is compiled and written again
    assert second.returncode == 0, second.stderr[-3000:]
    assert sorted(p for p in tmp.rglob("*") if p.suffix in (".nbi", ".nbc")) == cached
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.suffix == ".nbc")
