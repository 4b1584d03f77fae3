"""CPU seconds per test, child processes included: what tests/conftest.py's FILE_SECONDS holds.

Wall seconds on the shared 2-core machine swing 2-5x with the other users' load; a test's CPU
(user + system, of pytest and of every child process it waited for: a `curate` subprocess, a
worker pool) does not. As a pytest plugin it writes one JSON line per test (setup, call and
teardown together) to $CPU_PER_TEST_OUT; as a script it sums them by file and lists the costliest
tests:

    PYTHONPATH=bench CPU_PER_TEST_OUT=/tmp/cpu.jsonl python -m pytest -p cpu_per_test -p no:xdist tests/test_x.py
    python bench/cpu_per_test.py /tmp/cpu.jsonl [--top 30]

One worker (-p no:xdist): a session fixture's cost (the `demo` run) lands on the first test
that asks for it, as under xdist on one of the workers.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import time

import pytest


def _cpu() -> tuple[float, float]:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    (own, kids), wall = _cpu(), time.time()
    yield
    own2, kids2 = _cpu()
    with open(os.environ.get("CPU_PER_TEST_OUT", "cpu_per_test.jsonl"), "a") as f:
        f.write(json.dumps({"id": item.nodeid, "self": own2 - own, "child": kids2 - kids, "wall": time.time() - wall}) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="JSON lines written by the plugin")
    ap.add_argument("--top", type=int, default=30, help="tests listed, costliest first")
    a = ap.parse_args(argv)
    rows = [json.loads(line) for path in a.files for line in open(path)]
    by_file = collections.defaultdict(lambda: [0.0, 0.0, 0.0, 0])
    for r in rows:
        t = by_file[r["id"].split("::")[0]]
        t[0], t[1], t[2], t[3] = t[0] + r["self"], t[1] + r["child"], t[2] + r["wall"], t[3] + 1
    print("   CPU-s   (pytest  children)   wall-s  tests  file")
    for name, (own, kids, wall, n) in sorted(by_file.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        print(f"{own + kids:8.1f}   ({own:6.1f} {kids:9.1f}) {wall:8.1f} {n:6d}  {name}")
    print(f"{sum(r['self'] + r['child'] for r in rows):8.1f}   total")
    for r in sorted(rows, key=lambda r: -(r["self"] + r["child"]))[:a.top]:
        print(f"{r['self'] + r['child']:8.1f} {r['wall']:8.1f}  {r['id']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
