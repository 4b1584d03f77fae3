"""A writable place for numba's compiled kernels (``cache=True``) on a read-only install.

numba keeps them in the package's ``__pycache__``, else in ``$XDG_CACHE_HOME/numba`` or
``~/.cache/numba``; with neither writable (a system or container install run by a user whose
HOME is read-only or unset) it raises "cannot cache function ...: no locator available" when
the module is imported. Then the kernels go to ``$TMPDIR/curate-numba-<uid>`` (kept between
runs while TMPDIR lasts; made 0700, and used only while it is ours, not a link and written by
no one else, nor anything inside it, else the private ``curate-numba-<uid>-*`` folder an earlier run made, else a fresh one).
NUMBA_CACHE_DIR, when set, is the user's choice and is left alone. Called by the packages whose
modules compile kernels, before those modules are imported; it does not import numba: ``njit``
below imports it at a kernel's first call (0.3 CPU-s that commands compiling nothing never pay)."""
from __future__ import annotations

import functools
import os
import stat
import sys
import tempfile
import threading
import types


def _writable(path: str) -> bool:
    """numba's own test: the folder can be made and a file written in it."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _private(path: str) -> bool:
    """``path`` is a folder of ours that no one else can write in: numba loads pickled code
    from its cache, so a folder another user made first in a shared TMPDIR, a link they
    planted, or one others may write in would run their code. Made 0700 when missing."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        st = os.lstat(path)  # not stat: a link is refused, not followed
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        return False
    if not _untouched(path, strict=bool(st.st_mode & 0o077)):
        return False
    if st.st_mode & 0o077:  # ours and written by no one else: a folder made 0755 before
        os.chmod(path, 0o700)
    return _writable(path)


def _untouched(path: str, strict: bool) -> bool:
    """Everything under ``path`` is ours and no link (numba loads pickled code from there, so a
    file root or anyone else put there would run); where others could enter ``path`` (``strict``:
    a folder made 0755 before), also nothing others may write (a subfolder a run with umask 0 made)."""
    uid, failed = os.getuid(), []
    for top, dirs, files in os.walk(path, onerror=failed.append):  # links are not followed
        for name in dirs + files:
            try:
                st = os.lstat(os.path.join(top, name))
            except OSError:
                return False
            if stat.S_ISLNK(st.st_mode) or st.st_uid != uid or (strict and st.st_mode & 0o022):
                return False
    return not failed


def _earlier(prefix: str) -> str | None:
    """The first ``prefix``* folder that passes ``_private`` (mkdtemp made it for an earlier run):
    without it every run behind a planted folder compiled every kernel again in a new one."""
    folder, start = os.path.split(prefix)
    try:
        names = sorted(n for n in os.listdir(folder) if n.startswith(start))
    except OSError:
        return None
    return next((os.path.join(folder, n) for n in names if _private(os.path.join(folder, n))), None)


def use_a_writable_cache(package_dir: str) -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    user = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "numba")  # numba's AppDirs
    if _writable(os.path.join(package_dir, "__pycache__")) or _writable(user):
        return
    uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
    fallback = os.path.join(tempfile.gettempdir(), f"curate-numba-{uid}")
    if not hasattr(os, "getuid"):  # no owners to check (Windows): TMPDIR is the user's own
        if not _writable(fallback):
            return
    elif not _private(fallback):  # not ours: the private folder an earlier run made, else a fresh one
        fallback = _earlier(fallback + "-")
        if fallback is None:
            try:
                fallback = tempfile.mkdtemp(prefix=f"curate-numba-{uid}-")
            except OSError:
                return  # nowhere to write: numba says so itself
    os.environ["NUMBA_CACHE_DIR"] = fallback  # worker processes inherit it
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba read the environment when it was imported
        config.CACHE_DIR = fallback


def _lock_cache_files(caching) -> None:
    """numba reads and rewrites a kernel's cache index unlocked: two processes compiling two
    signatures of one kernel on a cold cache (Beam's multi_processing workers, two first runs at
    once, test workers) both read the empty index and both name their code file .1.nbc, so one
    entry was lost or, worse, the index one wrote named the code the other wrote, and a later
    process ran one signature's machine code on the other's arguments, silently. A save (and a
    load, which reads the index then the code) holds a lock on a file in the cache folder: a
    POSIX one (lockf), which a forked worker does not inherit (an flock held by another thread
    at the fork would stay held while the worker lives); a process's threads take numba's
    compiler lock first. Where the file cannot be made (a folder we cannot write) or locked (NFS
    without its lock daemon, a file system without POSIX locks) numba goes on unlocked, as before."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    cls = caching.IndexDataCacheFile
    if getattr(cls.save, "curate_locked", False):
        return

    def locked(method, mode):
        @functools.wraps(method)
        def run(self, *args):
            try:
                lock = open(os.path.join(self._cache_path, "curate-numba.lock"), "a+")
            except OSError:
                return method(self, *args)
            with lock:
                try:
                    fcntl.lockf(lock, mode)
                except OSError:  # no POSIX locks there (NFS without its lock daemon: ENOLCK): unlocked
                    pass
                return method(self, *args)

        run.curate_locked = True
        return run

    cls.save, cls.load = locked(cls.save, fcntl.LOCK_EX), locked(cls.load, fcntl.LOCK_SH)


_LOCK = threading.RLock()
_MADE = [False]  # a kernel was made in this process, or in the one that forked it (``numba_ready``)


def numba_ready() -> bool:
    """Is numba set up in this process: a kernel made here or before the fork? Then another kernel costs only its load
    from the cache; else its first costs ~0.7 CPU-s and 50-70 MB (numba's import and its compiler's set-up)."""
    return _MADE[0]


def python_twins(names: dict) -> dict:
    """A copy of a module's globals (``names``) in which each of its kernels is its Python function, calling the others
    as Python too: the kernels run without numba, where a process has only a few hundred characters to scan (a ledger
    snippet's) and its set-up would cost more (``numba_ready``). Same results where the arguments are Python ints
    (lists, object arrays): numpy's small unsigned scalars wrap where numba widens them to int64."""
    twins = dict(names)
    for name, value in names.items():
        fn = getattr(value, "py_func", None)  # a kernel of this module, made (numba's dispatcher) or not
        if isinstance(fn, types.FunctionType) and fn.__globals__ is names:
            twins[name] = types.FunctionType(fn.__code__, twins, fn.__name__, fn.__defaults__, fn.__closure__)
    return twins


class _Kernel:
    """``numba.njit(**opts)(fn)``, made on the first call: numba is imported then, not when the
    module is (``import numba`` is ~0.3 CPU-s that `curate config`, help and errors never need).
    Made once a process; then every kernel of the module is made too and stands in its globals
    (a kernel calls another by its global name, and numba resolves that name when it compiles)."""

    def __init__(self, fn, opts: dict):
        functools.update_wrapper(self, fn)
        self.py_func, self.opts, self.dispatcher = fn, opts, None

    def __call__(self, *args):
        return (self.dispatcher or self.compiled())(*args)

    def compiled(self):
        with _LOCK:
            if self.dispatcher is None:
                import numba  # after use_a_writable_cache (the packages call it on import): numba reads NUMBA_CACHE_DIR now
                from numba.core import caching

                _lock_cache_files(caching)

                names = self.py_func.__globals__
                made = {}  # each kernel named here (and this one) -> its dispatcher
                for k in [self] + [v for v in list(names.values()) if isinstance(v, _Kernel)]:
                    if k not in made:  # another module's kernel: made (and published) by its own module
                        made[k] = k.dispatcher or (numba.njit(**k.opts)(k.py_func) if k.py_func.__globals__ is names else k.compiled())
                for name, value in list(names.items()):
                    if isinstance(value, _Kernel):
                        names[name] = made[value]
                _MADE[0] = True
                for k, dispatcher in made.items():  # published last: __call__ reads it without the lock, and
                    k.dispatcher = dispatcher  # numba resolves the names a kernel calls when it compiles
        return self.dispatcher

    def __reduce__(self):  # by reference, as a function is
        return _kernel_at, (self.py_func.__module__, self.py_func.__qualname__)


def _kernel_at(module: str, name: str):
    import importlib

    return getattr(importlib.import_module(module), name)


def njit(fn=None, **opts):
    """``numba.njit`` (``@njit`` or ``@njit(cache=True, ...)``) compiled on first use: see ``_Kernel``."""
    return _Kernel(fn, opts) if fn is not None else (lambda f: _Kernel(f, opts))
