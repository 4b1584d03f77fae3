"""curate installed where it cannot write (a system site-packages, a container's read-only
image): numba's ``cache=True`` kernels keep their compiled code in the package's
``__pycache__``, else in ``~/.cache/numba``. With neither writable (HOME read-only or unset,
as for a container's user) numba raised "cannot cache function ...: no locator available"
when the filter and dedup modules were imported, and ``curate run`` failed."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _read_only_runner(tmp_path: Path) -> tuple[list[str], Path, Path]:
    """A read-only copy of the package (and a read-only HOME in it), the command prefix
    that runs something where both are read-only, and HOME: chmod for a user, a read-only bind mount
    in a user namespace for root (chmod does not stop root). Where root cannot mount (no
    unshare, no user namespaces: a container), a plain file named __pycache__ in each package
    folder and HOME a plain file block the same places for root too: never a skip."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "curate", site / "curate", ignore=shutil.ignore_patterns("__pycache__"))
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", str(site)], check=True)
        return [], site, site
    prefix = ["unshare", "-r", "-m", "sh", "-c",
              f'mount --bind "{site}" "{site}" && mount -o remount,bind,ro "{site}" && exec "$@"', "sh"]
    if shutil.which("unshare"):
        probe = subprocess.run(prefix + ["touch", str(site / "probe")], capture_output=True, text=True)
        if probe.returncode != 0 and "Read-only" in probe.stderr:
            return prefix, site, site
    for folder in [p for p in site.rglob("*") if p.is_dir()]:
        (folder / "__pycache__").write_text("")
    return [], site, site / "curate" / "__pycache__"  # ~/.cache under a plain file


def test_curate_run_from_a_read_only_install_with_no_writable_home(tmp_path):
    prefix, site, home = _read_only_runner(tmp_path)
    data = tmp_path / "in.jsonl"
    words = "river stone bridge garden window lantern meadow harbour orchard valley".split()
    rows = [{"id": f"d{i}", "text": " ".join(words[(i + k) % 10] for k in range(120)) + ". The end of it."} for i in range(30)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.update(HOME=str(home), PYTHONPATH=str(site), TMPDIR=str(tmp), PYTHONDONTWRITEBYTECODE="1")

    def run(out: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-W", "always", "-m", "curate", "run", "--input", str(data), "--domain", "web",
               "--output", str(tmp_path / out), "--stages", "ingest,dedup"]
        return subprocess.run(prefix + cmd, cwd=site, env=env, capture_output=True, text=True, timeout=600)

    first = run("out1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "cannot cache" not in first.stderr and "NumbaWarning" not in first.stderr, first.stderr[-3000:]
    cached = sorted(p for p in tmp.rglob("*") if p.suffix in (".nbi", ".nbc"))
    # dedup (not filter: its five kernels cost ~16 of the test's 27 CPU-s cold) compiles kernels of both packages
    # that pick a cache on import: minhash's, and the filters' secrets scan (the run's snippets are redacted)
    assert {p.parent.name.split("_")[0] for p in cached} == {"dedup", "filters"}, cached
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    second = run("out2")  # the kernels come from the cache: none is compiled and written again
    assert second.returncode == 0, second.stderr[-3000:]
    assert sorted(p for p in tmp.rglob("*") if p.suffix in (".nbi", ".nbc")) == cached
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items() if p.suffix == ".nbc")


def _fallback_only(tmp_path: Path, monkeypatch) -> Path:
    """Neither the package's __pycache__ nor the user cache can be made (each under a plain
    file: refused for root too); TMPDIR is tmp_path/tmp. Returns TMPDIR."""
    import tempfile

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    config = sys.modules.get("numba.core.config")
    if config is not None:  # restored after the test
        monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    return tmp


def _chosen(tmp_path: Path) -> str | None:
    from curate.stages.numba_cache import use_a_writable_cache

    use_a_writable_cache(str(tmp_path / "a-file" / "package"))
    return os.environ.get("NUMBA_CACHE_DIR")


@pytest.mark.parametrize("planted", ["symlink", "other-owner", "world-writable"])
def test_a_cache_folder_planted_in_tmpdir_is_not_used(tmp_path, monkeypatch, planted):
    """numba loads pickled code from its cache: a $TMPDIR/curate-numba-<uid> that another user
    made first (a shared /tmp), a link to their folder, or one others may write in, would run
    their code. Such a folder is not used; the kernels go to a fresh private folder instead."""
    tmp = _fallback_only(tmp_path, monkeypatch)
    uid = os.getuid()
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o777)
    os.chmod(theirs, 0o777)
    planted_at = tmp / f"curate-numba-{uid}"
    if planted == "symlink":
        planted_at.symlink_to(theirs)
    elif planted == "other-owner":  # made by "another user": we pretend to be uid+1
        planted_at.mkdir(mode=0o700)
        monkeypatch.setattr(os, "getuid", lambda: uid + 1)
        planted_at = planted_at.rename(tmp / f"curate-numba-{uid + 1}")
    else:
        planted_at.mkdir()
        os.chmod(planted_at, 0o777)
    chosen = _chosen(tmp_path)
    assert chosen, "no cache folder chosen"
    real = Path(chosen).resolve()
    assert real != theirs.resolve() and real != planted_at.resolve(), chosen
    st = os.lstat(chosen)
    import stat as _stat

    assert _stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o077 == 0, oct(st.st_mode)


def test_the_tmpdir_cache_folder_is_made_private_and_reused(tmp_path, monkeypatch):
    tmp = _fallback_only(tmp_path, monkeypatch)
    chosen = _chosen(tmp_path)
    assert chosen == str(tmp / f"curate-numba-{os.getuid()}")
    assert os.lstat(chosen).st_mode & 0o777 == 0o700
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert _chosen(tmp_path) == chosen  # a second process: the same folder, kept between runs


@pytest.mark.parametrize("planted", ["symlink", "world-writable"])
def test_a_planted_cache_folder_leaves_one_private_folder_reused_by_every_run(tmp_path, monkeypatch, planted):
    """With $TMPDIR/curate-numba-<uid> planted, each run took a fresh mkdtemp folder and compiled
    every kernel again (seconds a run, and folders piling up). The next run finds the private
    folder an earlier one made (ours, 0700, not a link) and uses it; a look-alike it did not make is passed over."""
    tmp = _fallback_only(tmp_path, monkeypatch)
    uid = os.getuid()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    planted_at = tmp / f"curate-numba-{uid}"
    if planted == "symlink":
        planted_at.symlink_to(theirs)
    else:
        planted_at.mkdir()
        os.chmod(planted_at, 0o777)
    (tmp / f"curate-numba-{uid}-0look").symlink_to(theirs)  # a link named as ours, sorted first
    shared = tmp / f"curate-numba-{uid}-1open"
    shared.mkdir()
    os.chmod(shared, 0o777)
    first = _chosen(tmp_path)
    assert first and Path(first).parent == tmp and Path(first).resolve() not in (theirs.resolve(), shared)
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert _chosen(tmp_path) == first  # a second run: the same folder, its kernels compiled once
    st = os.lstat(first)
    assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o700
    assert len(list(tmp.iterdir())) == 4  # no folder made for the second run


_TWO_KERNELS = '''
from curate.stages.numba_cache import njit


@njit
def _inner(x):
    return x + 1


@njit(cache=False)
def _outer(x):
    return _inner(x) * 2


@njit
def _last(x):
    return x - 1
'''


def test_a_kernel_is_seen_made_only_once_every_kernel_it_calls_is(tmp_path, monkeypatch):
    """``__call__`` reads ``dispatcher`` without the lock (DirectRunner's threads call kernels at
    once): a kernel's dispatcher was set before the module's other kernels replaced their lazy
    wrappers in its globals, so another thread could compile it while the kernel it calls was
    still a wrapper numba cannot type. Each time numba.njit is called (mid-replacement), no
    dispatcher may be visible while a wrapper stands in the globals; threads all get one compile."""
    import threading

    import numba

    from curate.stages import numba_cache

    (tmp_path / "two_kernels_mod.py").write_text(_TWO_KERNELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import two_kernels_mod as mod

    real, seen, calls = numba.njit, [], []

    def watching(*args, **opts):
        if args:  # numba's own use of it
            return real(*args, **opts)
        kernels = [v for v in vars(mod).values() if isinstance(v, numba_cache._Kernel)]
        seen.extend(k.__name__ for k in (mod._inner, mod._outer, mod._last)
                    if isinstance(k, numba_cache._Kernel) and k.dispatcher is not None and kernels)
        calls.append(opts)
        return real(**opts)

    monkeypatch.setattr(numba, "njit", watching)
    start = threading.Barrier(4)
    results = []

    def call():
        start.wait()
        results.append(mod._outer(3))

    threads = [threading.Thread(target=call) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    assert results == [8] * 4
    assert seen == [], f"dispatchers visible while a wrapper stood in the module: {seen}"
    assert len(calls) == 3  # one numba.njit a kernel, whichever thread came first
    assert not any(isinstance(v, numba_cache._Kernel) for v in vars(mod).values())


@pytest.mark.parametrize("inside", ["link", "other-owner", "open-subfolder-of-a-0755-folder"])
def test_a_cache_folder_of_ours_with_something_planted_inside_is_not_used(tmp_path, monkeypatch, inside):
    """numba loads the pickled index files under the folder: the folder being ours and 0700 is not
    enough when what is inside was not made by us: a link, a file another user owns (root, or a
    folder traversable before: 0755 as made before 1d7612f, chmod'ed 0700 then unchecked), or, in
    such a folder, a subfolder others may write in (a run with umask 0 made it 0777)."""
    if inside == "other-owner" and os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    tmp = _fallback_only(tmp_path, monkeypatch)
    ours = tmp / f"curate-numba-{os.getuid()}"
    sub = ours / "work_curate_stages"
    sub.mkdir(parents=True)
    os.chmod(ours, 0o700)
    if inside == "link":
        (tmp_path / "evil.nbi").write_bytes(b"")
        (sub / "rules._scan_words-117.py311.nbi").symlink_to(tmp_path / "evil.nbi")
    elif inside == "other-owner":
        (sub / "rules._scan_words-117.py311.nbi").write_bytes(b"")
        os.chown(sub / "rules._scan_words-117.py311.nbi", 4242, 4242)
    else:
        os.chmod(ours, 0o755)
        os.chmod(sub, 0o777)
    chosen = _chosen(tmp_path)
    assert chosen and Path(chosen) != ours and Path(chosen).parent == tmp, chosen
    st = os.lstat(chosen)
    assert st.st_uid == os.geteuid() and st.st_mode & 0o777 == 0o700


def test_a_cache_folder_of_ours_holding_our_own_kernels_is_still_used(tmp_path, monkeypatch):
    """The check above passes our own files: 0700 folder, subfolders and files as numba makes
    them (umask 002: group-writable under a folder no one else can enter)."""
    tmp = _fallback_only(tmp_path, monkeypatch)
    ours = tmp / f"curate-numba-{os.getuid()}"
    sub = ours / "work_curate_stages"
    sub.mkdir(parents=True, mode=0o775)
    os.chmod(sub, 0o775)
    os.chmod(ours, 0o700)
    (sub / "rules._scan_words-117.py311.nbi").write_bytes(b"")
    os.chmod(sub / "rules._scan_words-117.py311.nbi", 0o664)
    assert _chosen(tmp_path) == str(ours)


def test_two_processes_saving_one_kernels_signatures_at_once_keep_both(tmp_path, monkeypatch):
    """numba reads and rewrites a kernel's cache index unlocked. Two processes compiling two
    signatures of one kernel on a cold cache (Beam's multi_processing workers, two first runs,
    test workers) both read the empty index and both name their code file .1.nbc: one's entry
    was lost, or the index one wrote named the code the other wrote, and a later process ran
    one signature's machine code on the other's arguments (``x[0] + 1`` for float [41.5] gave
    4631037423076245505). Here another process saves between this one's read and write."""
    from numba.core import caching

    from curate.stages.numba_cache import njit

    njit(lambda: 0).compiled()  # what a kernel's first call does (compiling nothing): numba's cache files locked
    other = subprocess.Popen([sys.executable, "-c", f"""if 1:
        from numba.core import caching
        from curate.stages.numba_cache import njit
        njit(lambda: 0).compiled()
        import sys; print(flush=True); sys.stdin.read()  # until this one has read the index
        caching.IndexDataCacheFile({str(tmp_path)!r}, "kern.f-2.py311", "stamp").save("float64", "float64's code")"""],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    other.stdout.readline()  # ready
    read = caching.IndexDataCacheFile._load_index

    def then_the_other(self):
        overloads = read(self)
        if other.stdin:  # this one has read the index: the other saves now, if it may
            other.stdin.close()
            other.stdin = None
            try:
                other.wait(2)
            except subprocess.TimeoutExpired:  # waiting for this one's save to end
                pass
        return overloads

    this = caching.IndexDataCacheFile(str(tmp_path), "kern.f-2.py311", "stamp")
    monkeypatch.setattr(caching.IndexDataCacheFile, "_load_index", then_the_other)
    this.save("int64", "int64's code")
    assert other.wait(60) == 0
    assert (this.load("int64"), this.load("float64")) == ("int64's code", "float64's code")


@pytest.mark.parametrize("error", [errno.ENOLCK, errno.EOPNOTSUPP])
def test_a_cache_folder_where_locks_fail_is_read_and_written_unlocked(tmp_path, monkeypatch, error):
    """A cache folder on NFS without its lock daemon (ENOLCK), or a file system that has no
    POSIX locks (EOPNOTSUPP: Lustre mounted noflock, some FUSE mounts): lockf raised there, out
    of numba's load and save, and every kernel's first call failed with "No locks available".
    The lock is a help, not a need: numba goes on unlocked, as it did before."""
    import fcntl

    from numba.core import caching

    from curate.stages.numba_cache import njit

    njit(lambda: 0).compiled()  # numba's cache files locked, as at a kernel's first call

    def refused(*args):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(fcntl, "lockf", refused)
    cache = caching.IndexDataCacheFile(str(tmp_path), "kern.f-2.py311", "stamp")
    cache.save("int64", "int64's code")
    assert cache.load("int64") == "int64's code"
