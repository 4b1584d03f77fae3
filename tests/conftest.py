"""Shared fixtures. Tests over the real corpora skip only where ../shared/corpora is absent.

Under CI (``CI=true``, which .ci/run sets) a skip is a failure: a missing requirement
(the corpora, Chromium, torch, an optional package) must fail the run, not pass it quietly."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

pytest_plugins = ["pytester"]  # tests/test_ci.py runs pytest on small generated test files


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.skip(f"real corpora not found at {CORPORA}")
    return CORPORA


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """`curate demo --progress on` run once, stderr not a terminal: (its folder, the finished
    process). The README-example and progress tests read its output and its stderr (and copy
    it before they change anything). Under pytest-xdist the workers share one run (30 s of
    CPU): the first to get here runs it under a lock, the others read what it left."""
    import fcntl
    import json
    import subprocess
    import sys

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's own
    root, done = shared / "demo-shared", shared / "demo-shared.json"
    with open(shared / "demo-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            r = subprocess.run([sys.executable, "-m", "curate.cli", "demo", "--output", str(root), "--progress", "on"],
                               capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
            done.write_text(json.dumps({"args": r.args, "returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr}))
    r = subprocess.CompletedProcess(**json.loads(done.read_text()))
    assert r.returncode == 0, r.stderr
    return root, r


@pytest.fixture
def deny_writes():
    """``deny_writes(folder, code)``: this process may not write under ``folder``, every open
    for writing there refused with ``code``: EROFS (a read-only mount) or EACCES (another user's
    output; where the tests are not root, the folder and its files chmod'ed read-only instead,
    the real thing: root writes anyway, as CI runs). Returns the call that allows writes again,
    also made at the test's end."""
    import errno

    undo = []

    def allow():
        while undo:
            undo.pop()()

    def deny(folder, code):
        folder = Path(folder)
        if code == errno.EACCES and os.geteuid() != 0:
            folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
            for p in folder.rglob("*"):
                if not p.is_dir():
                    p.chmod(0o444)
            for p in folders:
                p.chmod(0o555)
            undo.append(lambda: [p.chmod(0o755) for p in folders])
            return allow
        real = os.open

        def refused(path, flags, *a, **kw):
            if str(path).startswith(str(folder)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                raise OSError(code, os.strerror(code), str(path))
            return real(path, flags, *a, **kw)

        os.open = refused
        undo.append(lambda: setattr(os, "open", real))
        return allow

    yield deny
    allow()


def _fail_skip(rep) -> None:
    if IN_CI and rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = f"skipped under CI=true, which must not skip: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield  # a module-level importorskip skips at collection
    _fail_skip(outcome.get_result())


# --- the order files run in under pytest-xdist ---------------------------------------------
# `-n auto --dist loadfile` hands whole files to whichever worker is free (a worker takes its next
# file when 2 tests of its current one are left, and never gives one back). Files go out costliest
# first (longest-processing-time first): the last ones out are short, so the workers end together;
# a long file estimated short goes out late and runs alone at the end. Seconds: CPU (user + system,
# pytest's and its children's) per file, one worker, bench/cpu_per_test.py with warm numba caches,
# each file alone (ci37-ci40, 6 Dec, after their cuts; a cold cache adds ~20 s to a worker's first
# pipeline test): test_cli (+ msgs88's tests), test_commit, test_commit_locks, test_reliability,
# test_bench, test_fuzz, test_dedup_pipeline, test_portable, test_decontaminate, test_pipeline,
# test_mixplan, test_determinism, test_audit_compare, test_audit_why, test_linededup,
# test_audit_edits. The others: earlier measurements (ci34/ci36) or wall seconds at load ~10 / 3.
# A file not listed counts 1 s a test. A stale number costs only balance, never a result.
FILE_SECONDS = {
    "test_cli.py": 175, "test_commit.py": 107, "test_bench.py": 52, "test_decontaminate.py": 47, "test_portable.py": 41,
    "test_dedup_pipeline.py": 40, "test_pipeline.py": 38, "test_mixplan.py": 37, "test_legacy_encodings.py": 30,
    "test_numba_cache.py": 30, "test_boilerplate_determinism.py": 30, "test_determinism.py": 28, "test_names.py": 25,
    "test_import_cost.py": 21, "test_audit_compare.py": 18, "test_ids.py": 18, "test_code_licenses.py": 18,
    "test_linededup.py": 17, "test_corpora_ingest.py": 17, "test_reliability.py": 16, "test_audit_sources.py": 16,
    "test_audit_edits.py": 14, "test_decontaminate_cut.py": 12, "test_secrets_leaks.py": 12, "test_audit_why.py": 11,
    "test_damaged_input.py": 11, "test_tokenize.py": 10, "test_code_data_files.py": 10, "test_ci.py": 10,
    "test_pool.py": 7, "test_fuzz.py": 6, "test_links.py": 6, "test_commit_locks.py": 5, "test_boilerplate_fuzz.py": 4,
    "test_audit_verify.py": 4, "test_beam_memo.py": 3, "test_options_table.py": 2, "test_read_pages.py": 2,
    "test_layout.py": 1.5, "test_quality_train.py": 1, "test_config_hints.py": 1, "test_parquet_meta_maps.py": 0.1,
    "test_blocks_skip.py": 0.1, "test_coders.py": 0.05,
}


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist's: keep the order given below
        config.option.loadscopereorder = False
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput") and config.rootpath == REPO:
        _compile_kernels(config)  # pytest-xdist's controller, before its workers start (not a copy of this file: test_ci)


# --- numba's kernels, compiled once for all the workers --------------------------------------
# In a clean checkout numba's cache (the package's __pycache__) is empty, and every xdist worker
# compiled the same kernels at its first filter or dedup step: ~31 CPU-s each, 24 of them the
# secrets scan's two signatures (ASCII and wider text), ~12 s each. The controller compiles them
# before the workers start, in two processes that share the work, so each worker and each
# `curate` it starts loads them from the cache (~1 s). A kernel left out here is only compiled
# where it is first used, as before. With the cache warm, each process costs its imports (~1.5 s).
_COMPILE = r"""
import sys

# (two saves of one kernel's cache index at once are safe: curate's njit locks numba's cache files)
from curate.stages.filters import TextDoc, code, gopher_repetition, rules, secrets

if sys.argv[1] == "0":
    secrets.candidates("a b a b")
    for text in ("a b a b", "\u00e9 \u00e8 \u00e9 \u00e8"):
        gopher_repetition.ngram_counts(TextDoc(text), 2)
        code.code_stats(TextDoc(text))
        rules.count_flags(text)
else:
    from curate.stages.dedup import minhash

    secrets.candidates("\u00e9 \u00e8 \u00e9 \u00e8")
    secrets._read_zero_widths("pass\u200bword")
    minhash.batch_signatures(["a b c d e f g h"])
"""


def _compile_kernels(config) -> None:
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", _COMPILE, part], cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for part in ("0", "1")]
    failed = [err[-2000:] for p in procs if (err := p.communicate()[1]) and p.returncode]
    for err in failed:  # the workers compile what is missing: slower, never wrong
        config.issue_config_time_warning(pytest.PytestConfigWarning(f"compiling numba's kernels before the workers failed: {err}"), 2)


def pytest_collection_modifyitems(config, items):
    tests = {}
    for item in items:
        tests[item.path] = tests.get(item.path, 0) + 1
    # stable: a file's tests stay together, in their order
    items.sort(key=lambda item: -FILE_SECONDS.get(item.path.name, tests[item.path]))
