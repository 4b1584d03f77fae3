"""Output commits that cannot destroy anything.

A run writes every file under ``DIR/.curate-staging/`` (same filesystem, so moves are
renames; in a bucket a move is a copy and a delete per object, which the journal makes safe to
repeat). Only when the pipeline has finished and the staged manifest is complete does
``finish`` swap the new files into ``DIR``:

1. the staged manifest gets the list of every file the run wrote (``files``);
2. ``.curate-staging/COMMIT.json`` is written (the decision: from here on the commit rolls
   forward, like a database's commit record);
3. the old manifest is deleted, old files not in the new run are deleted, new files are
   renamed into place, and the new manifest is renamed in last; the staging folder goes.

An interrupted or failed run before step 2 leaves the previous output exactly as it was, and
its staging folder is removed by ``abort`` or by the next run. A kill during step 3 (a few
renames) is completed by ``recover``, which every run, ``verify_output``, ``read_manifest`` and
the loader call first. Each step is durable before the next can be seen (a power cut, a kernel
crash): every file's bytes and folder are fsynced before the journal or a manifest listing it is
renamed into place, and the manifest's folder after (``output.sync``, ``output.sync_folders``). curate deletes only what the previous manifest lists (its ``files``, ``outputs``
and ``derived`` entries, e.g. the audit's report) and its own staging folder; any other path
inside ``DIR``, at any depth, makes the run refuse before anything is written.

The audit's report and summary, written into a finished output after its run, are committed
the same way (``add_derived``), under the same lock.

The one thing a failed run leaves: when its mix cannot be met, ``keep`` moves rebalance's
staged candidates to ``DIR/.curate-candidates/`` (with a manifest) for ``curate mix``; the
ownership check skips that folder, and ``finish`` deletes it.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import sys
import threading
import time
from typing import NamedTuple

import pyarrow.fs as pafs

from curate import output
from curate.readers.common import is_uri, launch_fs

STAGING = ".curate-staging"
JOURNAL = "COMMIT.json"
TMP = "tmp"  # STAGING/tmp: data the run staged between its steps (pipelines/spill.py), never output
RELEASED = "_released"  # TMP/_released/LABEL.json: what a step's folder held when it was deleted early
KEPT = ".curate-candidates"  # DIR/KEPT: rebalance's candidates of a run its mix stopped (keep; curate mix)
LOCK = "lock"  # STAGING/lock: held (POSIX lock) by the run writing a local output
LOCK_TRIES = 100  # times _lock makes the staging folder again when it is removed under it (a commit ending)
# A writer (a run, an audit's commit, a reader completing a commit) holds the lock exclusively; a
# reader looking (``held``, ``recover`` before it completes anything) holds it shared, for an
# instant: a writer meeting only shared holds tries again, every PAUSE s, SHARED_TRIES times
PAUSE = 0.01
SHARED_TRIES = 500
MARK = 128  # bytes of a reader's 'PID HOST completing' line, padded with spaces (_write_pid)
_pause = time.sleep  # the wait before the lock is tried again (tests go on there)
_UNLOCKED: set = set()  # output dirs on a file system without locks, said so
_IN_CHILD: list = []  # (registry, whether its values are descriptors): what this process holds, emptied in a forked child


def per_process(registry, fds: bool = False):
    """``registry`` (a dict or a set) of what this process holds, each by one thread (a lock, an
    audit's claim, a folder its run made), emptied in a forked child (``_forked``): it holds
    none of its parent's. ``fds``: a dict whose values are open descriptors (or hold one, ``fd``), closed there first."""
    _IN_CHILD.append((registry, fds))
    return registry


class _Hold(NamedTuple):
    """An output's lock this process holds. POSIX locks are a process's (a second thread taking it gets it too, a
    thread closing any file open on it drops it): its thread is kept, the others answer from it without opening the
    file, as another process's hold answers them, and every look at the lock file is made under its ``_guard``."""

    fd: int  # the open lock file
    thread: int  # the thread holding it
    completing: bool  # a reader completing a commit (waited for), not a writer (refused)


_LOCKS: dict[str, _Hold] = per_process({}, fds=True)  # _key(local output dir) -> this process's hold of its lock
_GUARDS: dict[str, threading.RLock] = per_process({})  # _key(local output dir) -> held by a thread while it has its lock file open
_CREATED: dict[str, int] = per_process({})  # output dir -> the thread that made it for a run not finished (its abort removes it)


def _key(base: str) -> str:
    """The registries' name of the output folder ``base``: its real path. POSIX locks are of the
    file, not its name: keyed by the path as given, a thread naming the output through a link
    found no hold of another thread's, and its look took the process's lock for its own (an open
    and a shared lock, the run's exclusive one turned shared) and dropped it on closing its file;
    a run through the link took it too. Stable while the folder is removed (a lexical path)."""
    return os.path.realpath(base)


def _guard(base: str) -> threading.RLock:
    """The lock a thread of this process holds while it looks at ``base``'s lock file (opens,
    locks, closes it): a close drops every lock the process holds on the file, another thread's too.
    One per output: setdefault is one step (under the GIL; a dict's own lock on free-threaded
    Python), so two threads get the same guard."""
    return _GUARDS.setdefault(_key(base), threading.RLock())


def _owner(base: str) -> _Hold | None:
    """``_LOCKS[base]`` where its thread lives (the guard held): a thread that ended holding the
    lock (its run never aborted: a library caller's thread) holds nothing, as a process that ended
    (the kernel drops its locks): dropped here, or every other thread was refused until the process
    ended. A thread since given its id is its holder (the hold is of no run now: taken over)."""
    hold = _LOCKS.get(_key(base))
    if hold is not None and not thread_lives(hold.thread):
        os.close(_LOCKS.pop(_key(base)).fd)  # no other thread holds it: the hold was the ended thread's alone
        return None
    return hold


def _mine(base: str) -> bool:
    """Whether this thread holds the lock of ``base``. One read of the registry, not under the guard:
    a look then an index (``base in _LOCKS``, ``_LOCKS[base]``) raised KeyError where another thread
    dropped its hold in between (a reader's ``recover`` as a run's commit ended)."""
    hold = _LOCKS.get(_key(base))
    return hold is not None and hold.thread == threading.get_ident()


def _another_thread(root: str, base: str, reader: bool = False) -> str | None:
    """"completing" where another thread of this process holds the lock of ``base`` to complete a
    commit (waited for, as another process's); raises Held where one writes (the guard held),
    said to a ``reader`` in its words."""
    hold = _owner(base)
    if hold is None or hold.thread == threading.get_ident():
        return None
    if hold.completing:
        return "completing"
    raise _held_here(root, reader)


def _unlock(base: str) -> None:
    """Drop the lock this thread holds on ``base`` (not another thread's: an abort of a run refused)."""
    with _guard(base):
        if _owner(base) is not None and _mine(base):  # (an ended thread's hold dropped too)
            os.close(_LOCKS.pop(_key(base)).fd)


def thread_lives(ident: int) -> bool:
    """Whether a thread of this process has the id ``ident`` (this one's, or one the interpreter
    runs: its thread state). Not ``threading.enumerate``, which lists no thread that a C library
    or ``_thread`` started: a run in one had its lock dropped by another thread's look."""
    return ident == threading.get_ident() or ident in sys._current_frames()


def _forked() -> None:
    """In a forked child: the parent's locks are not its own (POSIX locks are not inherited), nor
    a guard another of the parent's threads held as it forked, nor an output folder its run made."""
    for registry, fds in _IN_CHILD:  # _LOCKS, _GUARDS, _CREATED (nor the folders its runs made), the audit's claims
        for held in registry.values() if fds else ():
            with contextlib.suppress(OSError):  # the child's copy: the parent's lock stays (a process drops only its own)
                os.close(getattr(held, "fd", held))
        registry.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


class ForeignFiles(ValueError):
    """The output directory holds paths curate did not write."""


class Held(ValueError):
    """Another process holds the output's lock (a run, an audit, a reader completing a commit)."""


def _files(fs, base: str) -> list[tuple[str, int]]:
    """(relative path, size) of every file under ``base``, sorted. A local folder's link to a folder
    is followed (a staging folder or output linked to another disk, tests/test_links.py) unless it
    leads to a folder already walked, which is one entry (its own size): pyarrow's walk followed
    every link, and `--output ~` or `/usr` (bin/X11 -> .) listed on without end, holding GBs."""
    if isinstance(fs, pafs.LocalFileSystem):
        def fail(e):  # an unreadable folder, as pyarrow's walk: not files passed over
            raise e

        found, walked = [], set()
        for folder, dirs, names in os.walk(base, onerror=fail, followlinks=True):
            st = os.stat(folder)
            walked.add((st.st_dev, st.st_ino))
            follow = []
            for d in dirs:
                path = os.path.join(folder, d)
                if os.path.islink(path):
                    with contextlib.suppress(FileNotFoundError):
                        st = os.stat(path)
                        if (st.st_dev, st.st_ino) in walked:  # a loop (loop -> .): listed, not entered
                            names.append(d)
                            continue
                follow.append(d)
            dirs[:] = follow
            for name in names:
                path = os.path.join(folder, name)
                with contextlib.suppress(FileNotFoundError):  # removed meanwhile, as a listing taken a moment later
                    found.append((os.path.relpath(path, base).replace(os.sep, "/"), os.lstat(path).st_size))
        return sorted(found)
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True))
    return sorted((os.path.relpath(i.path, base).replace(os.sep, "/"), i.size) for i in infos if i.type == pafs.FileType.File)


def _bucket(root: str) -> bool:
    """Whether ``root`` is in an object store (gs://, s3://: no locks, no local checks). A
    file:// URI is the local folder it names: until 6 Dec it took no lock (two runs into it at once)."""
    return is_uri(root) and root.split("://", 1)[0].lower() != "file"


def local_folder(root: str) -> str | None:
    """The local folder ``root`` names (a path, or a file:// URI's path); None in a bucket."""
    return None if _bucket(root) else output._fs(root)[1]


def _exists(fs, path: str) -> bool:
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def owned(manifest: dict) -> dict[str, int | None]:
    """Files a finished output's manifest says curate wrote: relative path -> bytes (None when
    the manifest predates the ``files`` list and gives no size)."""
    out: dict[str, int | None] = {output.MANIFEST: None}
    for e in manifest.get("files", []):
        out[e["file"]] = e["bytes"]
    for entries in manifest.get("outputs", {}).values():
        for e in entries:
            out[e["file"]] = e["bytes"]
    for e in manifest.get("derived", []):
        out[e["file"]] = e["bytes"]
    return out


def enclosing_output(root: str) -> str | None:
    """The finished curate output a local folder ``root`` would lie inside (a folder above it
    holding curate's manifest), else None: above its path as given, and above where it leads (a
    symlink, or one above it, into an output: the files land there)."""
    if _bucket(root):
        return None
    if is_uri(root):  # file://: pyarrow gives the system the path as it is, "link/../x" the folder above where link leads
        where = (os.path.realpath(output._fs(root)[1]),)
    else:  # where curate writes (output._fs): "link/../x" is ./x, not where link leads, up one
        path = os.path.abspath(root)
        where = tuple(dict.fromkeys((path, os.path.realpath(path))))
    for path in where:
        while os.path.dirname(path) != path:
            path = os.path.dirname(path)
            if is_output(path):
                return path
    return None


def is_output(folder: str) -> bool:
    """Whether the local ``folder`` holds curate's manifest (a finished output): a manifest.json
    of another tool's (a browser extension's, a dataset's) is not one."""
    try:
        with open(os.path.join(folder, output.MANIFEST), "rb") as f:
            return json.loads(f.read()).get("format") == output.FORMAT
    except (OSError, ValueError, AttributeError):  # none, unreadable, not ours
        return False


def not_inside_an_output(root: str) -> None:
    """Refuse to write into ``root`` when it lies inside another curate output, whose manifest
    would not list the files: that output's audit would fail and its next run refuse them."""
    outer = enclosing_output(root)
    if outer:
        shown = outer if os.path.isabs(root) or is_uri(root) else os.path.relpath(outer)
        raise ForeignFiles(f"output {root!r} is inside the curate output {shown!r}, whose manifest would not list its files "
                           "(that output's audit would fail and its next run refuse): choose an --output outside it")


def _holder(lock: str) -> str:
    """' (process PID)' of the command holding the lock file ``lock``, where it wrote its pid
    (' on HOST': another machine's, an output on a shared disk). Not a pid of this machine's
    that is no process now: a command that died left it, and the holder has not written its own
    yet (or is an older curate, which writes none)."""
    base = os.path.dirname(os.path.dirname(lock))
    with _guard(base):
        if _owner(base) is not None and lock == f"{base}/{STAGING}/{LOCK}":  # a thread of this process's: not opened (a close drops the lock)
            return f" (process {os.getpid()})"
        try:
            with open(lock, encoding="utf-8", errors="replace") as f:
                pid, _, host = f.read(300).split("\n")[0].strip().partition(" ")
        except OSError:
            return ""
    host = host.split(" ")[0]  # "completing" after it: a reader's
    if not pid.isdigit():
        return ""
    if host and host != _hostname():
        return f" (process {pid} on {host})"
    return f" (process {pid})" if alive(int(pid)) else ""


def alive(pid: int) -> bool:
    """Whether a process of this machine has the id ``pid`` (another user's too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):  # another user's process: there
        pass
    return True


def check_owned(root: str) -> dict:
    """The previous manifest of ``root`` ({} when there is none), after checking that every
    file in ``root`` is one curate wrote there, and that ``root`` is not inside another curate
    output. Raises ForeignFiles naming the others."""
    not_inside_an_output(root)
    fs, base = output._fs(root)
    present = [(rel, size) for rel, size in _files(fs, base) if not rel.startswith((STAGING + "/", KEPT + "/"))]
    if not present:
        return {}
    if not any(rel == output.MANIFEST for rel, _ in present):
        raise ForeignFiles(
            f"output {root!r} is not empty and is not a curate output (no {output.MANIFEST}; it holds "
            f"{', '.join(rel for rel, _ in present[:5])}{', ...' if len(present) > 5 else ''}); choose another --output"
        )
    manifest = read_manifest(root)
    if manifest.get("format") != output.FORMAT:
        raise ForeignFiles(f"output {root!r}: {output.MANIFEST} is not a curate manifest; choose another --output")
    ours = owned(manifest)
    outside = [rel for rel in ours if not isinstance(rel, str) or os.path.isabs(rel) or ".." in rel.split("/")]
    if outside:  # the next commit would delete it: a file beside DIR, anywhere
        raise ForeignFiles(f"output {root!r}: {output.MANIFEST} lists {outside[0]!r}, which is not a path inside it: "
                           "not a manifest curate wrote; move the output away or choose another --output")
    foreign = [rel for rel, _ in present if rel not in ours]
    changed = [rel for rel, size in present if rel in ours and ours[rel] is not None and ours[rel] != size]
    if not changed and not foreign and not _bucket(root):
        # an edit that kept the size, by the hashes listed, of the files changed after the manifest
        # (a run writes its files before its manifest): an untouched output is not read again (hashing
        # it all cost ~1 s a GB twice a rerun); not in a bucket, where it would download the whole output
        there = {rel for rel, _ in present}
        since = os.stat(os.path.join(base, output.MANIFEST))
        changed = sorted(rel for rel, sha in _hashes(root, manifest).items() if rel in there
                         and _changed_since(st := os.stat(os.path.join(base, rel)), since) and _sha256(root, rel, st) != sha)
    if foreign:
        raise ForeignFiles(
            f"output {root!r} holds files curate did not write: {', '.join(foreign[:10])}"
            f"{f' and {len(foreign) - 10} more' if len(foreign) > 10 else ''}; move them away or choose another --output"
        )
    if changed:
        raise ForeignFiles(f"output {root!r}: {', '.join(changed[:10])} changed since curate wrote it; move it away or choose another --output")
    return manifest


_HASHED: dict[tuple, str] = {}  # (path, *stat_key) -> sha256: a run's commit checks again what its start hashed


def _forget(root: str) -> None:
    """Drop the hashes kept for ``root`` (its run committed, failed or was refused): kept for the
    process's life, a notebook's runs on copied outputs held ~456 bytes a listed file for good."""
    prefix = os.path.join(root, "")
    for key in [k for k in _HASHED if k[0].startswith(prefix)]:
        del _HASHED[key]


def _sha256(root: str, rel: str, st: os.stat_result) -> str:
    """sha256 of ``root``/``rel``, hashed once while its stat says it is the same file unchanged
    (a copied output's files, hashed at a rerun's start, are not read again by its commit)."""
    key = (os.path.join(root, rel), *stat_key(st))
    if key in _HASHED:
        return _HASHED[key]
    now = _now_ns()
    sha = output.sha256_file(root, rel)
    if settled(st, now):  # else (a file renamed in within the tick on coarse times) hashed again by the commit
        _HASHED[key] = sha
    return sha


def stat_key(st: os.stat_result) -> tuple:
    """What tells a file's bytes unchanged without reading them (where ``settled``): its inode
    (a file renamed over it), size and times (ctime: also an edit that put the mtime back)."""
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def settled(st: os.stat_result, now: int) -> bool:
    """Whether no rewrite of the file after ``now`` (a hash read at ``now``) can leave it with
    this stat: times settled (a rewrite after the hash has later ones, whatever the file system's
    tick: seconds, 2 s on FAT, a kernel tick of 1-10 ms on ext4 before Linux 6.13, whose times
    are not on a whole ms), or finer than a ms. Else a size and times unchanged prove nothing:
    read it again."""
    return now - max(st.st_mtime_ns, st.st_ctime_ns) > SETTLED_NS or not _coarse(st) and now - st.st_ctime_ns > TICK_NS


SETTLED_NS = 5 * 10**9  # older than any file system's time tick (FAT 2 s), with room for a clock's skew
TICK_NS = 20 * 10**6  # the kernel's time tick (1-10 ms at HZ 1000-100), twice over
_now_ns = time.time_ns  # the clock the file's times are compared with (tests move it)


COARSE_NS = 1_000_000  # times on a whole millisecond: kept by a file system that keeps ms or coarser


def _coarse(st: os.stat_result) -> bool:
    """Whether ``st``'s times look kept coarsely (exFAT 10 ms; HFS+, ext3, some NFS 1 s; FAT 2 s),
    an edit within one tick leaving them as they were. A file system keeping nanoseconds gives the
    kernel clock's time of the change, on a whole millisecond once in a million: hashing it again
    then costs a read, never a wrong answer."""
    return st.st_mtime_ns % COARSE_NS == 0 or st.st_ctime_ns % COARSE_NS == 0


def _changed_since(st: os.stat_result, manifest: os.stat_result) -> bool:
    """Whether a listed file may have been written after the manifest. Its mtime at or after the
    manifest's: a file system keeping seconds (HFS+; FAT, 2 s) gives an edit made in the
    manifest's second the same one. Or its ctime after the manifest's: the kernel sets it on
    every write, rename or utime, so an edit that kept or put back an older mtime (``touch -r``,
    ``cp -p``, ``rsync -t``, a backup restored) is seen too; strictly after, for a commit renames
    its files in within the manifest's clock tick; at or after where the manifest's times are
    coarse (_coarse: an edit with its mtime put back in the manifest's second has its ctime), so a
    file renamed in within that second is hashed too."""
    if st.st_mtime_ns >= manifest.st_mtime_ns:
        return True
    return st.st_ctime_ns >= manifest.st_ctime_ns if _coarse(manifest) else st.st_ctime_ns > manifest.st_ctime_ns


def _hashes(root: str, manifest: dict) -> dict[str, str]:
    """relative path -> sha256 of the files the manifest of ``root`` (or tokens.json, for the
    token shards) gives one."""
    out = {e["file"]: e["sha256"] for e in manifest.get("files", []) + manifest.get("derived", []) if "sha256" in e}
    out |= {e["file"]: e["sha256"] for entries in manifest.get("outputs", {}).values() for e in entries if "sha256" in e}
    if "tokens.json" in out:
        try:
            tokens = json.loads(output.read_bytes(output.join(root, "tokens.json")))
            out |= {f"tokens/{e['file']}": e["sha256"] for e in tokens.get("shards", []) if "sha256" in e}
        except (OSError, ValueError, TypeError, KeyError):  # missing or not ours: its own hash above says it changed
            pass
    return out


def _may_change(root: str, base: str, rels) -> None:
    """Refuse before anything is changed when this process may not delete or rename files in a
    folder that holds (or will hold) one of ``rels`` (another user's, read-only): the commit
    would fail after deleting the previous manifest, leaving no readable output."""
    if _bucket(root):
        return
    folders = set()
    for rel in rels:
        d = os.path.dirname(f"{base}/{rel}")
        while not os.path.isdir(d) and len(d) > len(base):  # a folder still to be made: its parent
            d = os.path.dirname(d)
        folders.add(d)
    denied = sorted(root if d == base else os.path.relpath(d, base) for d in folders if not os.access(d, os.W_OK | os.X_OK))
    if denied:
        raise ValueError(f"output {root!r}: curate may not change the folder{'s' * (len(denied) > 1)} {', '.join(denied)} "
                         "(permissions): it could not replace the previous output there; fix its permissions or choose another --output")


def _lock(root: str, base: str, completing: bool = False, reader: bool = False) -> None:
    """Hold STAGING/lock for this run, or refuse: a second run into the same output would
    delete the first one's staged files (and recover or commit over it). A POSIX lock: gone
    when the process ends, however it ends, and not inherited by forked worker processes.
    Local outputs only (object stores have no locks). ``completing``: a reader completing a
    stopped commit, held for the milliseconds of its moves, marked so in the lock file before it
    holds it exclusively: a run beginning meanwhile waits for it as for a reader's look (until
    6 Dec it was refused, as if a command were writing). Another thread of this process holding
    it is another holder (a writer refused, a reader's completion waited for). ``reader``: said
    to a reader (no --output to choose)."""
    if _bucket(root):
        return
    path = f"{base}/{STAGING}/{LOCK}"
    _tries(root, base, lambda: _try_lock(root, base, path, completing, reader), reader)


def _tries(root: str, base: str, once, reader: bool = False):
    """``once()`` (a try of ``_lock`` or ``_look``) under the output's guard until it answers:
    again at once where the lock file vanished (removed since it was made: a commit ending; the
    file since its open), after a pause where readers hold it ("wait": looking) or one completes
    a commit ("completing"): for an instant, not a run; said after SHARED_TRIES pauses, naming
    every kind of hold met (until 6 Dec the last try's alone). ``reader``: a reader's tries (no
    --output to choose)."""
    vanished, met = 0, {"wait": 0, "completing": 0}
    while True:
        with _guard(base):
            got = once()
        if got == "vanished":
            vanished = _vanished(root, vanished, reader)
        elif got in met:
            met[got] += 1
            if sum(met.values()) > SHARED_TRIES:
                raise _read_for_long(root, f"{base}/{STAGING}/{LOCK}", met, reader) from None
            _pause(PAUSE)
        else:
            return got


def _try_lock(root: str, base: str, path: str, completing: bool, reader: bool = False) -> str:
    """One try of ``_lock``, under the output's guard: "held" (by this thread now), "wait" (readers
    hold it), "completing" (a reader completes a commit), "vanished" (try again at once); raises
    Held for a writer's hold (said to a ``reader`` in its words)."""
    import fcntl

    if other := _another_thread(root, base, reader):
        return other
    if (hold := _LOCKS.get(_key(base))) is not None and _is_lock(hold.fd, path):
        return "held"  # this thread holds it already (closing another fd of the file would drop it)
    _unlock(base)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:  # its pid is written in: never through a link put there (a shared folder's user's, at a file of yours)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)  # writable as the umask lets (a group's output: a member completes another's commit, as audit's claim)
    except FileNotFoundError:
        return "vanished"
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError(f"output {root!r}: {STAGING}/{LOCK} is a link, not curate's lock file: a run would write "
                             "through it; remove it (after checking who put it there)") from None
        if e.errno in (errno.EACCES, errno.EPERM):
            got = _replace_unwritable(root, base, path, reader)
            if got != "no":
                return got
        raise
    try:
        if completing:  # marked before it is held exclusively: a run never meets this hold unmarked
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            _write_pid(fd, completing=True)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # from shared, where completing: no writer got in between
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EAGAIN):  # no locks there (NFS mounted nolock: ENOLCK), none held
            _no_locks(root, base, e)
            _LOCKS[_key(base)] = _Hold(fd, threading.get_ident(), completing)
            return "held"
        try:
            if completing:
                fcntl.lockf(fd, fcntl.LOCK_UN)
            if _shared_only(fd):
                return "wait"
            if _completing(fd):
                return "completing"
            raise _held(root, path, reader) from None
        finally:
            os.close(fd)
    if _is_lock(fd, path):
        if not completing:
            _write_pid(fd)
        _LOCKS[_key(base)] = _Hold(fd, threading.get_ident(), completing)
        return "held"
    os.close(fd)  # the file was deleted (a run's commit, ending) between its open and the lock: a new run would not see it
    return "vanished"


def _held_here(root: str, reader: bool = False) -> Held:
    return Held(f"output {root!r} is being written by another thread of this process (process {os.getpid()}); "
                f"{_wait_for_it(reader)}")


def _replace_unwritable(root: str, base: str, path: str, reader: bool = False) -> str:
    """The lock file ``path``, which this user may not open for writing (an older curate made it
    0644: another member's, in a group's output), replaced by one of this user's, writable as
    the umask lets, where no writer holds it (a shared look, opened for reading) and its folder
    is this user's to change: "vanished" (take the new one). "wait": another member replaces it;
    "completing": a reader completes a commit.
    "no": the folder is not this user's to change either (another user's output, a read-only
    mount: said as before). Raises Held while a writer holds it (its owner's run), to a ``reader`` in its words."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:  # none: the open failed making it, in a folder this user may not write in
        return "no"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "no"
        try:  # one replacement of this file at a time: a second, renaming after the first, put its file over the
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # first's, held by then (two runs, two lock files)
        except OSError as e:  # an flock is no writer's (theirs are POSIX locks); taken on a file open for reading
            return "wait" if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else "no"  # (not taken, NFS's EBADF: as before)
        try:
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EAGAIN):
                return "no"  # no locks there: whether it is held cannot be told
            if _completing(fd):
                return "completing"
            raise _held(root, path, reader) from None
        if not _is_lock(fd, path):  # replaced by another member (who may hold the new one) or deleted: under both locks
            return "vanished"
        tmp = f"{os.path.dirname(path)}/.tmp-{LOCK}-{os.getpid()}-{threading.get_ident()}"
        try:  # a file there is a killed replacer's whose pid and thread id this one has now (no live one makes the name)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
        except OSError:
            return "no"
        # renamed over it under the shared hold: no writer holds it; one that opened it before finds, once it holds it,
        # that it is not the lock file there now (its inode), and takes the new one
        os.replace(tmp, path)
        return "vanished"
    finally:
        os.close(fd)


def _vanished(root: str, times: int, reader: bool = False) -> int:
    """One more time the lock file vanished as _lock took it (or a ``reader`` looked at it); a
    commit ends once: a folder removed every time is another process's doing (or a file
    system's), not a race: said, not tried forever (to a reader in its words: until 6 Dec a
    run's, 'choose another --output')."""
    times += 1
    if times >= LOCK_TRIES and reader:
        raise ValueError(f"output {root!r}: its {STAGING}/{LOCK} was removed {LOCK_TRIES} times as curate looked at it to "
                         "read the output (another process deleting it?); retry")
    if times >= LOCK_TRIES:
        raise ValueError(f"output {root!r}: its {STAGING} folder was removed {LOCK_TRIES} times as curate made it to take "
                         "the lock (another process deleting it?); retry, or choose another --output")
    return times


def _write_pid(fd: int, completing: bool = False) -> None:
    """Who holds the lock, for the message of a command refused (a run, an audit or a mix);
    ``completing``: a reader completing a commit, which a run waits for. Written over the old
    line, then cut to it: its first line is never read empty, or half written."""
    line = f"{os.getpid()} {_hostname()}{' completing' if completing else ''}"
    # a mark of one length (readers mark at once, each holding it shared): a cut to another's shorter one left 'comple'
    line = (line.ljust(MARK - 1) if completing else line).encode() + b"\n"
    os.pwrite(fd, line, 0)
    os.ftruncate(fd, len(line))


def _completing(fd: int) -> bool:
    """Whether the lock file ``fd``, held exclusively by another process, is held by a reader
    completing a commit (its mark, ``_write_pid``), whose process lives (or is another machine's)."""
    try:
        fields = os.pread(fd, 300, 0).decode("utf-8", "replace").split("\n")[0].split()
    except OSError:
        return False
    if len(fields) != 3 or fields[2] != "completing" or not fields[0].isdigit():
        return False
    return fields[1] != _hostname() or alive(int(fields[0]))


def _held(root: str, lock: str, reader: bool = False) -> Held:
    return Held(f"output {root!r} is being written by another curate command{_holder(lock)}; {_wait_for_it(reader)}")


def _wait_for_it(reader: bool) -> str:
    """What the user refused by a writer's hold does: a run may write elsewhere, a reader (curate
    mix, the loader, the audit) has no --output to choose (until 6 Dec told to choose one)."""
    return "wait for it to end and retry" if reader else "wait for it to end or choose another --output"


def _read_for_long(root: str, lock: str, met: dict, reader: bool) -> Held:
    """A hold of the lock file ``lock`` waited for SHARED_TRIES times (``met``: how often of
    each kind): readers looking ("wait"), a reader completing a commit ("completing", marked so:
    until 6 Dec said 'being read' too, of a process moving files), or both, said as both (until
    6 Dec as the last try's). To a ``reader``, no --output to choose."""
    if not met["completing"]:
        what, they = " is being read by another process, which has", "it is"
    elif not met["wait"]:
        what, they = f": a commit of it stopped midway is being completed by another process{_holder(lock)}, which has", "it is"
    else:
        what, they = (f" is being read by other processes, and a commit of it stopped midway completed by another"
                      f"{_holder(lock)}: they have"), "they are"
    return Held(f"output {root!r}{what} held its lock for {SHARED_TRIES * PAUSE:.0f} s (stopped?); retry when {they} done"
                f"{'' if reader else ', or choose another --output'}")


def _is_lock(fd: int, path: str) -> bool:
    """Whether the open file ``fd`` is the lock file at ``path`` now: a hold of one deleted (a
    commit ending) or replaced (an older curate's, by a member) since its open guards nothing,
    whoever holds it (a writer, a reader's look, a reader that may not write)."""
    try:
        st, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == (there.st_dev, there.st_ino)


def _shared_only(fd: int) -> bool:
    """Whether the lock file ``fd`` is held shared alone (readers looking: ``held``, ``recover``'s
    look), not by a writer: a shared lock is taken (and dropped) where no exclusive one is held."""
    import fcntl

    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False
    fcntl.lockf(fd, fcntl.LOCK_UN)
    return True


def held(root: str) -> bool:
    """Whether another process holds the lock of the local output ``root`` now (exclusively: a
    writer); the lock file is not made (a reader watching a commit another process completes
    must not write in its staging folder, which that process deletes). A shared look, opened
    for reading: a run beginning meanwhile tells it from a writer's (until 6 Dec it took the
    lock exclusively, and a run beginning in that instant was refused), and a user who may
    not write there can look too."""
    import fcntl

    base = output._fs(root)[1]
    with _guard(base):
        hold = _owner(base)
        if hold is not None:  # this process holds it: its file not opened here (closing it would drop the lock)
            return hold.thread != threading.get_ident()
        return _looked_held(lock_file(root), fcntl)


def _looked_held(lock: str, fcntl) -> bool:
    """``held``'s look at the lock file (its guard held): of the file there once its shared lock
    is taken (a look at one replaced since its open, an older curate's, said 'not held' while the
    member's run that replaced it held the new one)."""
    for _ in range(LOCK_TRIES):
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return False
        except OSError as e:  # a link, not a lock: no run holds it; else cannot tell: as held (the caller waits, bounded)
            return e.errno != errno.ELOOP
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder opens for reading (it failed for writing): cannot tell, as held
                return True
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            if _is_lock(fd, lock) or not os.path.lexists(lock):  # removed since (a commit ending): not held
                return False
        except OSError as e:
            return e.errno in (errno.EACCES, errno.EAGAIN)
        finally:
            os.close(fd)  # drops the lock taken, if it was
    return True  # replaced every time it was looked at: cannot tell, as held (the caller waits, bounded)


def lock_file(root: str) -> str:
    """The lock file of the local output ``root`` (a path, or a file:// URI: its path, not ``root`` joined)."""
    return f"{output._fs(root)[1]}/{STAGING}/{LOCK}"


def _hostname() -> str:
    import socket

    return socket.gethostname()


def _no_locks(root: str, base: str, e: OSError) -> None:
    """Say once per output that its file system takes no locks: the run goes on unguarded
    (refusing would stop every run there, as if another one were writing)."""
    if base not in _UNLOCKED:
        _UNLOCKED.add(base)
        print(f"curate: warning: output {root!r}: its file system takes no locks ({e.strerror or e}): a second run or "
              "audit into it at the same time would not be refused", file=sys.stderr)


def _why(e: OSError) -> str:
    """An error's words, cut as an input's are (hdfs:// without Java: every libjvm path tried, 16 KB)."""
    return str(e.strerror or e)[:400]


def reachable(root: str, reader: str | None = None) -> None:
    """Raise ValueError when a bucket output cannot be reached (offline, no credentials): said
    in seconds, its client's retries being deaf to Ctrl-C. The first look at the output raises,
    so an unreachable bucket costs one wait, not one per look. ``reader``: who reads it (the
    audit, the loader), for a run writes it otherwise."""
    if not is_uri(root):
        return
    try:
        probe, path = launch_fs(root)
        probe.get_file_info(path)
    except OSError as e:
        if reader:
            raise ValueError(f"{root!r} cannot be read by {reader} ({_why(e)}): check the bucket's name, the "
                             "network and the credentials (README: Inputs and outputs in buckets)") from None
        raise ValueError(f"output {root!r} cannot be created or written ({_why(e)}); choose another --output") from None


def begin(root: str) -> str:
    """Check ``root``, finish or clear what an earlier run left, and return a fresh staging
    root for this run's files. Nothing outside the staging folder is touched."""
    reachable(root)
    try:
        fs, base = output._fs(root)
        info = fs.get_file_info(base)
    except OSError as e:
        raise ValueError(f"output {root!r} cannot be created or written ({_why(e)}); choose another --output") from None
    if info.type not in (pafs.FileType.NotFound, pafs.FileType.Directory):
        raise ValueError(f"output {root!r} exists and is not a directory: choose another --output (a new folder, or an earlier run's)")
    link = _dangling_link(base) if info.type == pafs.FileType.NotFound and not _bucket(root) else None
    if link:  # creating it would fail in pyarrow's words ("non-directory entry exists")
        shown = link if os.path.isabs(root) else os.path.relpath(link)
        why = _eloop(link)
        if why == "chain":  # no loop: a folder (or nothing) past the system's limit (40 links on Linux)
            end = os.path.realpath(link) if os.path.isabs(root) else os.path.relpath(os.path.realpath(link))
            how = (": point it at that folder directly, or" if os.path.isdir(end) else ", a file, not a folder:"
                   if os.path.lexists(end) else ", which does not exist: point it at that folder directly, or")
            raise ValueError(f"output {root!r}: {shown!r} leads through more symbolic links than the system follows to "
                             f"{end!r}{how} choose another --output")
        if why == "loop":  # "create that folder" cannot be done: the folder named is a link of the loop
            raise ValueError(f"output {root!r}: {shown!r} is a symbolic link to {os.readlink(link)!r}, a loop of symbolic links "
                             "that leads to no folder: point one of them at a folder, or choose another --output")
        raise ValueError(f"output {root!r}: {shown!r} is a symbolic link to {os.readlink(link)!r}, which does not exist: "
                         "create that folder (or mount its disk), or choose another --output")
    try:
        if info.type == pafs.FileType.NotFound:
            fs.create_dir(base, recursive=True)
            _CREATED[base] = threading.get_ident()  # removed again if this run does not finish (abort)
        recover(root, run=True)
        _may_change(root, base, owned(check_owned(root)))
        _hold(root, fs, base)  # before anything in the staging folder is deleted: it may be a live run's
        _clear_staging(fs, base)
    except OSError as e:  # read-only, a file in the way, no such mount: the user's to fix, not a bug
        _forget(root)
        raise ValueError(f"output {root!r} cannot be created or written ({_why(e)}); choose another --output") from None
    except BaseException:  # refused (foreign files, another run's lock): its hashes are not kept
        _forget(root)
        raise
    return _staging_root(root, base)


def _dangling_link(path: str) -> str | None:
    """The symbolic link to nothing that ``path`` is or lies under, if any."""
    while os.path.dirname(path) != path:
        if os.path.islink(path) and not os.path.exists(path):
            return path
        path = os.path.dirname(path)
    return None


def _eloop(link: str) -> str | None:
    """Why the system cannot follow the symbolic link ``link`` (ELOOP), if so: "loop", it leads back
    into itself; "chain", more links in a row than the system follows (40 on Linux), which
    os.path.realpath follows, telling a loop by a link seen twice."""
    try:
        os.stat(link)
        return None
    except OSError as e:
        if e.errno != errno.ELOOP:
            return None
    try:
        os.path.realpath(link, strict=True)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "loop"
    return "chain"


def _hold(root: str, fs, base: str) -> None:
    """Lock ``root`` for this process (or refuse: ``_lock``), having completed a commit that a
    killed run left: one killed after its journal, between this process's ``recover`` and its
    lock, would otherwise have its journal deleted with the staging folder, its commit half done."""
    _lock(root, base)
    journal = f"{base}/{STAGING}/{JOURNAL}"
    if _exists(fs, journal):
        with fs.open_input_stream(journal) as f:
            _apply(fs, base, json.loads(f.read()))  # deletes the staging folder, the lock file with it
        _lock(root, base)  # a new one


def _clear_staging(fs, base: str) -> None:
    """Delete what an interrupted run (or audit) left in the staging folder, but the lock this
    process holds."""
    staging = f"{base}/{STAGING}"
    for old in fs.get_file_info(pafs.FileSelector(staging, allow_not_found=True)):
        if os.path.basename(old.path) != LOCK and not _nfs_file(os.path.basename(old.path)):  # an .nfs file: deleted, EBUSY
            # gone already: deleted by the process whose commit ended as this one took the lock (_remove_staging)
            _delete_dir(fs, old.path) if old.type == pafs.FileType.Directory else _gone(fs.delete_file, fs, old.path)
    fs.create_dir(staging, recursive=True)


def _staging_root(root: str, base: str) -> str:
    """The staging folder as a root for ``curate.output``: a path, or a URI for a bucket output
    (its filesystem path, ``bucket/dir/...``, would be read as a local one)."""
    return f"{root.rstrip('/')}/{STAGING}" if is_uri(root) else f"{base}/{STAGING}"


def decided(root: str) -> bool:
    """Whether a commit of ``root`` is decided and not completed (its journal there)."""
    try:
        fs, base = output._fs(root)
        return _exists(fs, f"{base}/{STAGING}/{JOURNAL}")
    except (OSError, ValueError):
        return False


def abort(root: str) -> bool | None:
    """Remove this run's staging folder (best effort: the next run removes what is left). Not
    while another run holds the output's lock: a run interrupted before it was refused (or before
    it began) would delete that run's staged files. Nor a decided commit's (its journal there: a
    Ctrl-C as the run's commit, or its begin completing a killed one's, moved files in): deleting
    the journal midway left an output with neither manifest (deleted first) nor a way to complete
    it. That commit is completed (True), or left to the next read where it cannot be now (False);
    None: none was decided."""
    fs, base = output._fs(root)
    done = None
    try:
        if _exists(fs, f"{base}/{STAGING}"):
            _lock(root, base)  # this run's already, or no live run's: raises while another run holds it
            if _exists(fs, f"{base}/{STAGING}/{JOURNAL}"):
                done = False
                try:
                    done = recover(root)
                except KeyboardInterrupt:  # a second Ctrl-C: the journal stays, the next read completes it
                    done = not decided(root)
            else:
                _delete_dir(fs, f"{base}/{STAGING}")
        if _made_here(base) and not fs.get_file_info(pafs.FileSelector(base)):  # a new output, left empty
            fs.delete_dir(base)
    except (OSError, ValueError):
        pass
    _made_here(base, forget=True)
    _forget(root)
    _unlock(base)
    return done


def _made_here(base: str, forget: bool = False) -> bool:
    """Whether this thread's run made the output folder ``base`` (``forget``: no longer to remove;
    a run of another thread refused beside it forgot it, and a new output was left for good)."""
    mine = _CREATED.get(base) == threading.get_ident()
    if mine and forget:
        del _CREATED[base]
    return mine


def finish(root: str) -> dict:
    """Swap the staged run into ``root``; return its manifest. A failure before the commit is
    decided (the disk full as the manifest is written, a file of the user's put into ``root``
    meanwhile) removes the staging folder, as a failed run's: the previous output stays."""
    fs, base = output._fs(root)
    staging, staged = f"{base}/{STAGING}", _staging_root(root, base)
    try:
        manifest = read_manifest(staged)
        manifest["staged"] = _remove_tmp(fs, f"{staging}/{TMP}")
        written = [(rel, size) for rel, size in _files(fs, staging)
                   if rel not in (output.MANIFEST, LOCK) and not os.path.basename(rel).startswith(".tmp-") and not _nfs_file(rel)]
        # the small JSON files (stats/run.json, tokens.json, which holds the token shards'
        # sha256) get theirs here, so the manifest's hashes cover every byte of the output
        manifest["files"] = [{"file": rel, "bytes": size} | ({"sha256": output.sha256_file(staged, rel)} if rel.endswith(".json") else {})
                             for rel, size in written]
        output.write_manifest(staged, manifest)
        previous = check_owned(root)  # again: nothing foreign appeared while the run was going
        new = {rel for rel, _ in written}
        delete = sorted(rel for rel in owned(previous) if rel not in new and rel != output.MANIFEST) if previous else []
        journal = {"delete": delete, "files": sorted(new)}
        _may_change(root, base, [*delete, *new, output.MANIFEST])
        _fault("before_journal")
        # the journal decides the commit: durable only after every file it lists is, as each is
        # on return from write_atomic (its bytes and folder; the staged manifest, written last,
        # syncs the staging folder, holding each folder of the run's files)
        output.write_atomic(staged, JOURNAL, output.json_bytes(journal))
    except BaseException:
        # its write failed (renamed in, its folder's fsync not: EIO), or never done: not decided, undone
        # with the rest (abort completes a journal it finds); nothing of it was applied (the lock held)
        try:
            _gone(fs.delete_file, fs, f"{staging}/{JOURNAL}")
        except OSError:
            pass
        abort(root)
        raise
    _made_here(base, forget=True)
    _forget(root)  # checked for the last time
    _fault("after_journal")
    _apply(fs, base, journal)
    if _exists(fs, f"{base}/{KEPT}"):  # a stopped run's candidates (keep): this output is newer
        _delete_dir(fs, f"{base}/{KEPT}")
    _unlock(base)
    return manifest


def keep(root: str, kind: str, manifest: dict) -> str | None:
    """Move a stopped run's staged ``kind`` files (rebalance's candidates, complete when its mix
    stopped the run) to ``root/.curate-candidates/`` with a manifest listing them, replacing
    what an earlier stopped run kept there; return that folder (None when nothing was staged).
    The previous output in ``root`` is not touched; ``finish`` removes the folder."""
    import pyarrow.parquet as pq

    fs, base = output._fs(root)
    src = f"{base}/{STAGING}/{kind}"
    staged = [(rel, size) for rel, size in _files(fs, src) if not os.path.basename(rel).startswith(".tmp-")] \
        if _exists(fs, src) else []
    if not staged:
        return None
    dest = f"{base}/{KEPT}"
    if _exists(fs, dest):
        _delete_dir(fs, dest)
    fs.create_dir(f"{dest}/{kind}", recursive=True)
    entries, folder = [], f"{root.rstrip('/')}/{KEPT}"
    for rel, size in staged:
        output.rename(fs, f"{src}/{rel}", f"{dest}/{kind}/{rel}")
        with fs.open_input_file(f"{dest}/{kind}/{rel}") as f:
            rows = pq.ParquetFile(f).metadata.num_rows
        entries.append({"kind": kind, "file": f"{kind}/{rel}", "rows": rows, "bytes": size,
                        "sha256": output.sha256_file(folder, f"{kind}/{rel}")})
    output.sync_folders(fs, base, [f"{KEPT}/{e['file']}" for e in entries])  # the renames, before the manifest listing them
    output.write_manifest(folder, {**manifest, "outputs": {kind: entries}, "files": [{"file": e["file"], "bytes": e["bytes"]} for e in entries]})
    return folder


def _remove_tmp(fs, path: str) -> dict:
    """Delete the run's staged intermediate data; return how much there was (the manifest
    records it: the disk a run needs beside its output): ``bytes`` written in all, by step,
    and ``peak_bytes``, the most there was at once (the folder's size just before each step's
    folders were released, and at the end)."""
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    by_step: dict[str, int] = {}  # tmp/LABEL/...: which step's data it was (pipelines/spill.py)
    files = peak = live = 0
    for i in infos:
        if i.type != pafs.FileType.File:
            continue
        label, _, rest = i.path[len(path) :].lstrip("/").partition("/")
        if label == RELEASED:  # a folder deleted when its step was done: what it held
            with fs.open_input_stream(i.path) as f:
                record = json.loads(f.read())
            label, size, n = rest.removesuffix(".json"), record["bytes"], record["files"]
            peak = max(peak, record["live_before"])
        else:
            size, n = i.size, 1
            live += size
        by_step[label] = by_step.get(label, 0) + size
        files += n
    _delete_dir(fs, path)
    return {"files": files, "bytes": sum(by_step.values()), "peak_bytes": max(peak, live),
            "by_step": dict(sorted(by_step.items()))}


def recover(root: str, run: bool = False) -> bool:
    """Complete a commit that was decided (journal written) but interrupted; True if one was.
    ``run``: a run's (begin), whose waits are said in a run's words; else a reader's."""
    fs, base = output._fs(root)
    path = f"{base}/{STAGING}/{JOURNAL}"
    if not _exists(fs, path):
        return False
    if not _mine(base) and not _bucket(root):
        done = _look(root, fs, base, reader=not run)
        if done is not None:
            return done
    # a journal is also there while a live run moves its files into place: finishing that
    # commit beside it would delete its staging folder under it; its lock tells (and refuses)
    mine = _mine(base)
    _lock(root, base, completing=not mine, reader=not mine and not run)
    try:
        if not mine and not _exists(fs, path) and not _bucket(root):
            # the holder completed it as this process took the lock, which made its staging folder
            # and lock file again (readers retry while the holder works): left, they read as a run under way
            _remove_lock_folder(base)
            return False
        with fs.open_input_stream(path) as f:
            journal = json.loads(f.read())
        _apply(fs, base, journal)
    finally:
        _unlock(base)
    return True


def _look(root: str, fs, base: str, reader: bool = True) -> bool | None:
    """``recover`` by a process not holding the lock: look under a shared hold (a run beginning
    meanwhile is not refused, ``_shared_only``), completing the commit only when its journal is
    still there, the hold turned exclusive with no other let in between (a holder cannot have
    completed it meanwhile), its hold marked as a reader's completion first (a run beginning
    waits for it). Held while a writer holds the lock (the caller waits); another reader
    completing it is waited for. None where there is no lock file (a journal copied, or an
    older curate's): taken by ``_lock``. A lock file deleted or replaced since its open is looked
    at again (``_is_lock``), by a reader that may not write too (until 6 Dec it took a run's
    commit under way, begun on a new lock file, for one stopped midway).

    A process that may not write there (a read-only mount, another user's output) cannot
    complete it: where the output's manifest is there the output is whole (nothing of the
    commit done, or all but the staging folder's removal), read as it is (False); else the
    open's error is raised (``stopped_midway`` says it)."""
    lock, journal = f"{base}/{STAGING}/{LOCK}", f"{base}/{STAGING}/{JOURNAL}"
    done = _tries(root, base, lambda: _look_once(root, fs, base, lock, journal, reader), reader)
    if done is not True:
        return done
    try:  # held exclusively by this thread, marked as a reader's completion
        with fs.open_input_stream(journal) as f:
            _apply(fs, base, json.loads(f.read()))
    finally:
        _unlock(base)
    return True


def _look_once(root: str, fs, base: str, lock: str, journal: str, reader: bool = True):
    """One try of ``_look``, under the output's guard: True (this thread now holds the lock, to
    complete the commit), False, None (as ``_look``), or as ``_try_lock``'s: "wait", "completing",
    "vanished". The file is opened and closed within: a close between tries would drop the lock
    another thread of this process took meanwhile."""
    import fcntl

    if other := _another_thread(root, base, reader):
        return other
    denied = None
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
    except FileNotFoundError:  # the holder removed the staging folder with the journal (a commit ending)
        return None if _exists(fs, journal) else False
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            return None  # a link (ELOOP): _lock says it
        if e.errno != errno.EROFS:  # an older curate's 0644 lock file in a group's output: replaced, then taken (_lock)
            got = _replace_unwritable(root, base, lock, reader)
            if got != "no":
                return got
        denied = e
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # not even readable: whole where the manifest is
            if _exists(fs, f"{base}/{output.MANIFEST}"):
                return False
            raise e from None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            locks = True
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EAGAIN):
                if _completing(fd):  # another reader completing it: done in an instant
                    return "completing"
                raise _held(root, lock, reader) from None
            locks = False  # no locks there (ENOLCK): unguarded, as _lock
            if denied is None:
                _no_locks(root, base, e)
        if locks and not _is_lock(fd, lock):  # deleted since its open (a commit ending): a run's journal may be there now
            return "vanished"
        if not _exists(fs, journal):
            return False
        if denied is not None:
            if _exists(fs, f"{base}/{output.MANIFEST}"):
                return False
            raise denied
        if locks:
            _write_pid(fd, completing=True)  # marked before it is held exclusively: a run never meets it unmarked
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # from shared: no writer got in between
            except OSError as e:
                if e.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
                return "wait"  # other readers looking (one may be about to complete it)
            if not _is_lock(fd, lock):  # replaced since the shared hold (an older curate's, by a member)
                return "vanished"
        _LOCKS[_key(base)], fd = _Hold(fd, threading.get_ident(), True), None
        return True
    finally:
        if fd is not None:
            os.close(fd)


def _remove_lock_folder(base: str) -> None:
    """Remove the lock file this process holds and the staging folder when nothing else is in it."""
    try:
        os.remove(f"{base}/{STAGING}/{LOCK}")
        os.rmdir(f"{base}/{STAGING}")
    except OSError:
        pass


def _apply(fs, base: str, journal: dict) -> None:
    """Idempotent: each step checks what is already done. Safe beside another process applying
    the same journal (in a bucket there is no lock: ranks opening an output at once each complete
    it): a delete or move another did first is done, not an error (``_gone``), and the old
    manifest is deleted only while it is the old one, the new one written back where another
    process deleted it as the old one between its look and its delete."""
    staging = f"{base}/{STAGING}"
    new = _read(fs, f"{staging}/{output.MANIFEST}")  # the new manifest (None: moved into place already)
    if journal.get("manifest") != "replace" and new is not None and _read(fs, f"{base}/{output.MANIFEST}") not in (None, new):
        # from now until the last rename, no finished output (an audit's commit adds files beside
        # the run's: its manifest is renamed over the old one)
        _gone(fs.delete_file, fs, f"{base}/{output.MANIFEST}")
        if _read(fs, f"{staging}/{output.MANIFEST}") is None:
            # moved in by another process since this one looked, then deleted here as the old one (the other may have
            # completed the commit and removed the journal): written back now, before any other step, not after a look
            # at every file of the journal (a kill from the delete to here still leaves no manifest.json: one request)
            _put_back(fs, base, new)
    for rel in journal["delete"]:
        if _exists(fs, f"{base}/{rel}"):
            _gone(fs.delete_file, fs, f"{base}/{rel}")
            _remove_empty_parents(fs, base, rel)
    for i, rel in enumerate(journal["files"]):
        src = f"{staging}/{rel}"
        if _exists(fs, src):
            fs.create_dir(f"{base}/{os.path.dirname(rel)}", recursive=True)
            _gone(lambda s: output.rename(fs, s, f"{base}/{rel}"), fs, src, f"{base}/{rel}")
        if i == 0:
            _fault("during_moves")
            _fault("sigint_during_moves")
    if new is not None:
        # a power cut must not keep the manifest and lose a rename or delete it stands for
        output.sync_folders(fs, base, [*journal["delete"], *journal["files"]])
        _gone(lambda s: output.rename(fs, s, f"{base}/{output.MANIFEST}"), fs, f"{staging}/{output.MANIFEST}")
        _put_back(fs, base, new)  # moved in, then deleted as the old one by a process beside this one
        output.sync(fs, base)
    # not synced: a journal found again is applied again, a no-op. The journal first: the commit is done, a reader
    # looking from here on finds nothing to complete and takes no lock
    _gone(fs.delete_file, fs, f"{staging}/{JOURNAL}")
    _remove_staging(fs, base)


def _remove_staging(fs, base: str) -> None:
    """Delete the staging folder of a completed commit (its journal deleted). pyarrow deletes its
    files, then the folder: a process taking the lock in between (a reader that saw the journal
    before; a run beginning) makes a new lock file in it, and the folder is not empty. What it
    holds then is that process's (every process making anything there takes the lock first): a
    reader removes its lock folder on finding no journal (``recover``), one that dies leaves a
    lock file no one holds beside a finished output (the next run's staging keeps it); a run
    clears the rest. The commit is complete: not an error (a DataLoader worker crashed on it)."""
    staging = f"{base}/{STAGING}"
    try:
        _gone(lambda p: _delete_dir(fs, p), fs, staging)
    except OSError:  # not empty; or an entry it listed deleted first by a run clearing the folder (_clear_staging)
        if not (isinstance(fs, pafs.LocalFileSystem) and (_others_lock(base) or _nfs_left(staging))):
            raise


def _nfs_file(name: str) -> bool:
    """Whether ``name`` is NFS's for a file deleted while a process holds it open (the lock file,
    deleted by the process completing the commit): it cannot be deleted (EBUSY) and goes when closed."""
    return name.startswith(".nfs")


def _nfs_left(folder: str) -> bool:
    """Whether ``folder`` holds nothing but NFS's ``.nfsXXXX`` files (and folders without files):
    a staging folder whose removal failed on them is the file system's to clear, not an error."""
    for dirpath, _, names in os.walk(folder):
        if any(not (dirpath == folder and _nfs_file(n)) for n in names):
            return False
    return True


def _others_lock(base: str) -> bool:
    """Whether the staging folder of ``base`` holds a lock file that is not the one this process holds."""
    path, held = f"{base}/{STAGING}/{LOCK}", _LOCKS.get(_key(base))
    return os.path.lexists(path) and (held is None or not _is_lock(held.fd, path))


def _put_back(fs, base: str, manifest: bytes) -> None:
    """Write the commit's new manifest into ``base`` where there is none (deleted as the old one by a process beside this one)."""
    path = f"{base}/{output.MANIFEST}"
    if not _exists(fs, path):
        if not isinstance(fs, pafs.LocalFileSystem):
            with fs.open_output_stream(path) as f:
                f.write(manifest)
            return
        tmp, f = output.new_tmp(fs, f"{base}/", output.MANIFEST)  # a dangling link at the manifest's name: renamed over, not written through
        with f:
            f.write(manifest)
        output.rename(fs, tmp, path)


def _read(fs, path: str) -> bytes | None:
    try:
        with fs.open_input_stream(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _gone(step, fs, path: str, moved_to: str | None = None) -> None:
    """``step(path)``, a delete (or a move to ``moved_to``) another process applying the same
    journal may have done first: done if ``path`` is gone (and ``moved_to`` there)."""
    try:
        step(path)
    except OSError:
        if _exists(fs, path) or (moved_to is not None and not _exists(fs, moved_to)):
            raise


def _remove_empty_parents(fs, base: str, rel: str) -> None:
    d = os.path.dirname(rel)
    while d:
        path = f"{base}/{d}"
        if fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)):
            return
        _delete_dir(fs, path)
        d = os.path.dirname(d)


def _delete_dir(fs, path: str) -> None:
    """Delete a folder and what it holds, if it is there. In an object store a folder is a
    marker object, or only implied by the names of the objects under it (written by another
    tool: `gsutil cp -r`, a sync); such a folder is gone with its last object, and pyarrow's
    delete_dir says it is not found (before, or after deleting its objects: the marker's 404)."""
    try:
        fs.delete_dir(path)
    except OSError:
        if fs.get_file_info(path).type != pafs.FileType.NotFound:
            raise


_PRESSED: set = set()  # the sigint_* fault points that sent their Ctrl-C


def _fault(point: str) -> None:
    """Crash here when CURATE_FAULT names this point: how the tests kill a run midway
    (``sigint_*`` points send this process a Ctrl-C instead, once: one press)."""
    if os.environ.get("CURATE_FAULT") == point:
        if point.startswith("sigint"):
            import signal

            if point not in _PRESSED:
                _PRESSED.add(point)
                os.kill(os.getpid(), signal.SIGINT)
        else:
            os._exit(137)


def add_derived(root: str, files: dict[str, bytes], read: dict | None = None) -> None:
    """Write files into a finished output after its run (the audit's report.html and
    stats/summary.json: relative path -> bytes) and list them in its manifest's ``derived``
    entries, so that a later run may replace them. A commit of its own: staged, journalled,
    renamed into place, so a kill at any point leaves no file the manifest does not list (the
    next run would refuse it): before the journal, the output as it was; after, completed by
    the next read. Refused while a run writes ``root`` (whose commit would delete them), and
    when ``read``, the manifest of the output the files describe, is not the one there now (a
    run ended meanwhile)."""
    fs, base = output._fs(root)
    recover(root)
    _no_run_staged(root, fs, base, files)  # a bucket's: not in the try below, whose cleanup deletes the staging folder
    _hold(root, fs, base)
    try:
        _clear_staging(fs, base)
        staged = _staging_root(root, base)
        manifest = read_manifest(root)
        run = lambda m: {k: v for k, v in m.items() if k != "derived"}  # noqa: E731
        if read is not None and run(read) != run(manifest):
            raise ValueError(f"output {root!r} was replaced while it was audited (a run ended meanwhile): audit it again")
        derived = {e["file"]: e for e in manifest.get("derived", [])}
        for rel, data in files.items():
            output.write_atomic(staged, rel, data)
            derived[rel] = {"file": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        manifest["derived"] = sorted(derived.values(), key=lambda e: e["file"])
        output.write_manifest(staged, manifest)
        journal = {"delete": [], "files": sorted(files), "manifest": "replace"}
        output.write_atomic(staged, JOURNAL, output.json_bytes(journal))
        _apply(fs, base, journal)
    except BaseException:
        if not _exists(fs, f"{base}/{STAGING}/{JOURNAL}"):  # not decided: nothing of it stays
            _delete_dir(fs, f"{base}/{STAGING}")
        raise
    finally:
        _unlock(base)


class Busy(ValueError):
    """A bucket output cannot take derived files now: its staging prefix holds a run's objects."""


def _no_run_staged(root: str, fs, base: str, files) -> None:
    """In a bucket (no lock), refuse while the staging prefix holds objects a run staged: a
    live run's (or a killed one's, which cannot be told apart), which clearing it for the audit
    would delete. What a killed ``add_derived`` left (its files, manifest) may go."""
    staging = f"{base}/{STAGING}"
    if not _bucket(root) or not _exists(fs, staging):
        return
    ours = {*files, output.MANIFEST}
    run = [rel for rel, _ in _files(fs, staging) if rel not in ours and not os.path.basename(rel).startswith(".tmp-")]
    if run:
        raise Busy(f"{root.rstrip('/')}/{STAGING}/ holds a run's staged objects ({run[0]}{', ...' if len(run) > 1 else ''}: "
                   "a run is writing it, or one was killed; a bucket has no lock to tell which)")


def read_manifest(root: str) -> dict:
    stuck = None
    try:
        recover(root)  # a commit killed midway is completed before anyone reads the output
    except OSError as e:  # one this process may not complete: read where whole (its manifest there), else said
        stuck = e
    fs, base = output._fs(root)
    try:
        with fs.open_input_stream(f"{base}/{output.MANIFEST}") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        if stuck is not None and decided(root):
            raise FileNotFoundError(stopped_midway(root, "curate", stuck)) from None
        raise FileNotFoundError(f"{root}: no {output.MANIFEST}; not a finished curate output") from None


def stopped_midway(root: str, who: str, e: OSError) -> str:
    """What a reader (``who``: the loader, curate audit) says of a commit stopped midway (its
    journal there, no manifest) that it cannot complete (``e``: a read-only mount, another
    user's output): someone who may write there completes it once, by reading it."""
    from curate import shell

    return (f"{root}: a run's commit was stopped midway (its journal, {STAGING}/{JOURNAL}, is there) and {who} cannot "
            f"complete it here ({e.strerror or e}): run {shell.said(f'`curate audit {shell.quote(root)}`', root)} where the "
            "output is writable (it completes the commit), then retry")


class OutputError(ValueError):
    """An output directory that is unfinished or does not match its manifest."""


def verify_output(root: str, deep: bool = True) -> dict:
    """The manifest of a finished output, after checking every listed file against it.

    Refuses a directory without a manifest (a crashed or running job) and one whose files
    differ from what the manifest lists (size always; sha256 when ``deep``).
    """
    try:
        manifest = read_manifest(root)
    except FileNotFoundError as e:
        raise OutputError(str(e)) from None
    fs, base = output._fs(root)
    for kind, entries in manifest.get("outputs", {}).items():
        for e in entries:
            path = f"{base}/{e['file']}"
            info = fs.get_file_info(path)
            if info.type == pafs.FileType.NotFound:
                raise OutputError(f"{root}: {e['file']} is listed in the manifest but missing")
            if info.size != e["bytes"]:
                raise OutputError(f"{root}: {e['file']} has {info.size} bytes, the manifest says {e['bytes']}")
            if deep:
                if output.sha256_file(root, e["file"]) != e["sha256"]:
                    raise OutputError(f"{root}: {e['file']} does not match its sha256 in the manifest")
    for e in manifest.get("files", []) if deep else []:  # stats/run.json, tokens.json (the token shards' hashes)
        if "sha256" in e and (not _exists(fs, f"{base}/{e['file']}") or output.sha256_file(root, e["file"]) != e["sha256"]):
            raise OutputError(f"{root}: {e['file']} does not match its sha256 in the manifest")
    return manifest
