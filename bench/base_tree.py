"""A git revision's files exported for a bench to run beside this checkout (`git archive REV
PATHS | tar -x`), the one copy of that step for every bench that takes ``--base REV``.

    from base_tree import export  # bench/ is first on sys.path when a bench runs
    base = export(args.base, Path(tmp) / "base")  # REV's curate/ under tmp/base
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def export(rev: str, dest, paths=("curate",)) -> Path:
    """``paths`` (folders or files of the repository, default ``curate/``) as they are at ``rev``,
    extracted into ``dest`` (made, with its parents); returns ``dest``. A revision git does not
    know stops the bench with git's own message, not a traceback."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, *paths], capture_output=True)
    if archive.returncode:
        sys.exit(f"git archive {rev} {' '.join(paths)}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest
