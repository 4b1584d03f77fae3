"""A writable place for numba's compiled kernels (``cache=True``) on a read-only install.

numba keeps them in the package's ``__pycache__``, else in ``$XDG_CACHE_HOME/numba`` or
``~/.cache/numba``; with neither writable (a system or container install run by a user whose
HOME is read-only or unset) it raises "cannot cache function ...: no locator available" when
the module is imported. Then the kernels go to ``$TMPDIR/curate-numba-<uid>`` (kept between
runs while TMPDIR lasts). NUMBA_CACHE_DIR, when set, is the user's choice and is left alone.
Called by the packages whose modules compile kernels, before those modules are imported; it
does not import numba (a second of start-up for commands that never compile)."""
from __future__ import annotations

import os
import sys
import tempfile


def _writable(path: str) -> bool:
    """numba's own test: the folder can be made and a file written in it."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def use_a_writable_cache(package_dir: str) -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    user = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "numba")  # numba's AppDirs
    if _writable(os.path.join(package_dir, "__pycache__")) or _writable(user):
        return
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    fallback = os.path.join(tempfile.gettempdir(), f"curate-numba-{uid}")
    if not _writable(fallback):
        return  # nowhere to write: numba says so itself
    os.environ["NUMBA_CACHE_DIR"] = fallback  # worker processes inherit it
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba read the environment when it was imported
        config.CACHE_DIR = fallback
