"""Paths in the commands curate prints for the next step, to copy into a shell as they are."""
from __future__ import annotations

import shlex


def quote(path: str) -> str:
    """``path`` as one shell word: quoted, and ``./`` before a relative path that starts with
    ``-`` (printed bare, ``curate audit -old`` reads it as an option, not a folder)."""
    return shlex.quote("./" + path if path.startswith("-") else path)
