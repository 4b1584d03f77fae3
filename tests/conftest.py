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
# `-n auto --dist loadfile` hands whole files to whichever worker is free, by default most tests
# first. Files of a few slow tests (test_bench: 15 tests, 534 s; test_portable: 8, 266 s) went
# out last, and one worker ran them alone while the other had finished. They go out slowest
# first instead (longest-processing-time first: the last files are short, so the workers finish
# together). Seconds: `--durations=0` summed by file, one worker, on the 2 shared cores under
# load ~10 (about 3x an idle machine; test_decontaminate*, test_fuzz: ci28/ci29's idle seconds x 3);
# a file not listed counts 3 s a test (test_cli's mean). test_bench, test_mixplan (after ci31's
# cuts), test_portable, test_dedup_pipeline: one worker at load 7-10 in one sitting (they read
# 534, 311, 266, 236 in the earlier one, where unchanged code measured 1.2-1.8x of these).
# test_commit (85 tests, unlisted: counted 255) read 613 at load ~9, less ci32's cuts (its changed
# tests 181 -> 137 in one sitting); test_bench less ci32's dedup-bench cut (50 -> 31).
# ci33: test_commit less its interrupted reruns' SIGINT reruns (137 -> 94 at load ~10), test_cli
# less the option-form runs (33 -> 0.1), the two byte-range tests' runs (26 + 25 -> 3) and two of
# adding-shards' runs (44 -> 18); test_import_cost and test_commit_locks measured (two
# pytest at once, load ~10), unlisted they counted 60 and 33 and went out late.
# A stale number costs only balance, never a result.
FILE_SECONDS = {
    "test_cli.py": 992, "test_commit.py": 527, "test_bench.py": 212, "test_mixplan.py": 109, "test_portable.py": 179,
    "test_dedup_pipeline.py": 198, "test_decontaminate.py": 219, "test_fuzz.py": 210, "test_decontaminate_cut.py": 192,
    "test_audit_compare.py": 151, "test_determinism.py": 104,
    "test_audit_why.py": 96, "test_linededup.py": 93, "test_numba_cache.py": 90, "test_boilerplate_determinism.py": 89,
    "test_audit_edits.py": 82, "test_names.py": 75, "test_import_cost.py": 64, "test_reliability.py": 59, "test_ids.py": 55,
    "test_code_licenses.py": 55, "test_corpora_ingest.py": 51, "test_audit_sources.py": 48, "test_commit_locks.py": 36,
    "test_damaged_input.py": 32,
    "test_tokenize.py": 31, "test_code_data_files.py": 31, "test_ci.py": 30, "test_pool.py": 20, "test_links.py": 18,
    "test_boilerplate_fuzz.py": 13, "test_audit_verify.py": 12, "test_beam_memo.py": 8, "test_options_table.py": 6,
    "test_read_pages.py": 6, "test_quality_train.py": 2, "test_config_hints.py": 2, "test_layout.py": 1,
    "test_parquet_meta_maps.py": 0.4, "test_blocks_skip.py": 0.2, "test_coders.py": 0.1,
}


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist's: keep the order given below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    tests = {}
    for item in items:
        tests[item.path] = tests.get(item.path, 0) + 1
    # stable: a file's tests stay together, in their order
    items.sort(key=lambda item: -FILE_SECONDS.get(item.path.name, 3 * tests[item.path]))
