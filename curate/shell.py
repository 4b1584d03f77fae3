"""Paths in the commands curate prints for the next step, to copy into a shell as they are."""
from __future__ import annotations

import shlex


def _bytes_word(path: str) -> str:
    """A name holding bytes that are not UTF-8 (Python's surrogate escapes, which stderr prints as
    ``\\udce9``: no such file) as ``$'...'``, each such byte ``\\xNN`` (bash, zsh, ksh; POSIX.1-2024)."""
    import os

    return "$'" + "".join(chr(b) if 32 <= b < 127 and b not in b"'\\" else f"\\x{b:02x}" for b in os.fsencode(path)) + "'"


def quote(path: str) -> str:
    """``path`` as one shell word: quoted, and ``./`` before a relative path that starts with
    ``-`` (printed bare, ``curate audit -old`` reads it as an option, not a folder)."""
    if any("\udc80" <= c <= "\udcff" for c in path):  # a byte that is not UTF-8
        return _bytes_word("./" + path if path.startswith("-") else path)
    return shlex.quote("./" + path if path.startswith("-") else path)
