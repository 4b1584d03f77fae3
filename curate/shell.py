"""Paths in the commands curate prints for the next step, to copy into a shell as they are."""
from __future__ import annotations

import shlex


def quote(path: str) -> str:
    """``path`` as one shell word: quoted, and ``./`` before a relative path that starts with
    ``-`` (printed bare, ``curate audit -old`` reads it as an option, not a folder). A name
    holding bytes that are not UTF-8 (Python's surrogate escapes, printed as ``\\udce9``: no such
    file) is ``$'...'`` with each such byte ``\\xNN`` (bash, zsh, ksh; POSIX.1-2024)."""
    import os

    path = "./" + path if path.startswith("-") else path
    if all(c < "\udc80" or c > "\udcff" for c in path):
        return shlex.quote(path)
    return "$'" + "".join(chr(b) if 32 <= b < 127 and b not in b"'\\" else f"\\x{b:02x}" for b in os.fsencode(path)) + "'"
