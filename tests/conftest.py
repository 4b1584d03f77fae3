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
def one_process_runs(monkeypatch):
    """In-process runs whose run.workers is the default 0 run their steps in this process, not
    in a pool of one forked worker a core: for a test's few documents the pool's start and
    feeding (~0.6 CPU-s a run) cost more than the run. Outputs are the same bytes either way
    (test_cli's test_workers_option); a run given --workers N still gets N, a `curate`
    subprocess its pool, and tests/test_pool.py tests the pool itself."""
    from pipelines import pipeline, pool

    monkeypatch.setattr(pipeline, "pool_workers", lambda run, local: pool.workers(run, local) if run.get("workers") else 1)


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
# pytest's and its children's) per file, one worker, each file alone, bench/cpu_per_test.py with warm
# numba caches: one CI run's per-test CPU (7 Dec, load 2-20), less what each of that day's ci1-ci11
# cuts measured on its files (tests/test_cli.py 189 -> 139, ...); the files they left are as measured.
# test_extract is estimated, never run here (it reads issue #17's held-out gold): two CLI ingest
# runs over 645 pages and two reads of 182, at ~300 pages a CPU-s, plus small tests: ~18 s.
# A file that asks for the `demo` fixture pays it (~5 CPU-s) measured alone, once a CI run.
# bench/ci_schedule.py simulates the 2 workers over these. A file not listed counts 1 s a test.
# A stale number costs only balance, never a result.
FILE_SECONDS = {
    "test_cli.py": 139, "test_loader.py": 107, "test_commit.py": 100, "test_buckets.py": 75,
    "test_decontaminate.py": 50, "test_dedup_pipeline.py": 48, "test_bench.py": 47, "test_datapath.py": 44,
    "test_jsonl_everywhere.py": 37, "test_readme.py": 37, "test_mixplan.py": 35, "test_portable.py": 32,
    "test_rebalance.py": 31, "test_determinism.py": 30, "test_custom_rules.py": 28,
    "test_boilerplate_determinism.py": 25, "test_pipeline.py": 25, "test_code_pii.py": 23, "test_extract.py": 21.6,
    "test_multilingual.py": 21.5, "test_audit.py": 21, "test_quality.py": 21, "test_langid.py": 20,
    "test_numba_cache.py": 19, "test_read_meta.py": 19, "test_read_books.py": 19, "test_linededup.py": 18,
    "test_filters.py": 18, "test_audit_compare.py": 17, "test_reliability.py": 17, "test_uri_inputs.py": 16,
    "test_zstd_bounded.py": 16, "test_quality_language.py": 16, "test_names.py": 16, "test_decontaminate_cut.py": 16,
    "test_audit_edits.py": 15, "test_tokenize.py": 15, "test_ids.py": 15, "test_corpora_ingest.py": 15,
    "test_dedup_cluster.py": 14, "test_import_cost.py": 14, "test_pool.py": 12, "test_minhash.py": 11,
    "test_audit_why.py": 10, "test_output_readers.py": 9.3, "test_dompath.py": 8, "test_config_hash.py": 8,
    "test_read_code.py": 7.8, "test_damaged_input.py": 7.7, "test_fuzz.py": 7.6, "test_code_data_files.py": 7,
    "test_bad_input.py": 7, "test_commit_locks.py": 7, "test_links.py": 6.3, "test_legacy_encodings.py": 6,
    "test_code_licenses.py": 6, "test_urldedup.py": 5.8, "test_ci.py": 5.7, "test_audit_sources.py": 5,
    "test_notebooks.py": 4, "test_boilerplate_fuzz.py": 3.3, "test_read_pages.py": 3, "test_options_table.py": 2.9,
    "test_quality_train.py": 2.5, "test_beam_memo.py": 2.5, "test_read_warc.py": 2.4, "test_secrets_leaks.py": 2.4,
    "test_audit_verify.py": 2.4, "test_pool_models.py": 2, "test_config_hints.py": 0.2, "test_train_blocks.py": 0.2,
    "test_parquet_meta_maps.py": 0.1, "test_blocks_skip.py": 0.1, "test_coders.py": 0.1, "test_layout.py": 0.05,
    "test_secrets_scan.py": 0.05,
    # new this round, estimated from their authors' cpu_per_test runs
    "test_hostile_inputs.py": 6, "test_audit_truth.py": 4.5, "test_input_changed.py": 3, "test_newuser.py": 1.5,
    "test_spill_cache.py": 0.5,
}


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist's: keep the order given below
        config.option.loadscopereorder = False
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput") and config.rootpath == REPO:
        _compile_kernels(config)  # pytest-xdist's controller, before its workers start (not a copy of this file: test_ci)


# --- numba's kernels, compiled once for all the workers --------------------------------------
# In a clean checkout numba's cache (the package's __pycache__) is empty, and every xdist worker
# compiled the same kernels at its first filter or dedup step: ~31 CPU-s each, 24 of them the
# secrets scan's two signatures (ASCII and wider text), ~12 s each (since sec50 ~3 and ~8). The controller compiles them
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
