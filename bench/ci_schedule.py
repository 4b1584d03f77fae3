"""The CI's schedule, simulated: 2 pytest-xdist workers, ``--dist loadfile``, files in the order
tests/conftest.py gives them (FILE_SECONDS, costliest first), each test taking its measured CPU
seconds (bench/cpu_per_test.py's JSON lines: one worker, warm numba cache).

    python bench/ci_schedule.py /tmp/cpu/*.jsonl [--collected LIST] [--before REV] [--workers 2] [--tail 4]

The order comes from FILE_SECONDS (the estimate); the durations from the measurements (the
truth): a file estimated short but long goes out late and runs alone at the end. xdist's rule,
followed here: each worker starts with one file; after each test a worker with 2 or fewer tests
left is handed the next file (xdist.scheduler.loadscope._reschedule). A file with no
measurement (tests/test_extract.py, never run here) counts its FILE_SECONDS spread over its
tests (``--collected``: pytest's list; else its ``def test_`` functions). ``--before REV`` adds
the same simulation in REV's FILE_SECONDS order, with REV's durations where ``--before-runs``
gives them, else the same ones.

Not simulated: the controller's numba compile and each worker's collection before the first
test (~15 s and ~10 s, both workers alike), and the ``demo`` session fixture paid once for both
workers (a file measured alone pays it on its first test that asks for it).
"""
from __future__ import annotations

import argparse
import ast
import collections
import heapq
import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"


def file_seconds(rev: str | None) -> dict[str, float]:
    """FILE_SECONDS of tests/conftest.py in the working tree, or at git revision ``rev``."""
    src = (TESTS / "conftest.py").read_text() if rev is None else subprocess.run(
        ["git", "show", f"{rev}:tests/conftest.py"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    node = next(n for n in ast.parse(src).body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "FILE_SECONDS")
    return ast.literal_eval(node.value)


def measured(paths: list[str]) -> dict[str, list[float]]:
    """file name -> its tests' CPU seconds, in run order."""
    by_file = collections.defaultdict(list)
    for path in paths:
        for line in open(path):
            r = json.loads(line)
            by_file[Path(r["id"].split("::")[0]).name].append(r["self"] + r["child"])
    return dict(by_file)


def collected(path: str | None) -> dict[str, int]:
    """Tests per file in ``pytest --collect-only -q``'s output (parametrized cases counted); without
    it, each file's ``def test_`` functions."""
    if path:
        return collections.Counter(Path(line.split("::")[0]).name for line in open(path) if "::" in line)
    return {p.name: sum(isinstance(f, ast.FunctionDef) and f.name.startswith("test_") for f in ast.walk(ast.parse(p.read_text())))
            for p in TESTS.glob("test_*.py")}


def unmeasured(seconds: dict[str, float], known: dict[str, list[float]], counts: dict[str, int]) -> dict[str, list[float]]:
    """Every test file with no measurement: its FILE_SECONDS (or 1 s a test) over its tests."""
    out = {}
    for path in sorted(TESTS.glob("test_*.py")):
        if path.name not in known:
            n = max(1, counts.get(path.name) or collected(None)[path.name])
            out[path.name] = [seconds.get(path.name, n) / n] * n
    return out


def order(seconds: dict[str, float], tests: dict[str, list[float]]) -> list[str]:
    """conftest's order: costliest estimate first, 1 s a test where none; ties keep collection (name) order."""
    return sorted(sorted(tests), key=lambda name: -seconds.get(name, len(tests[name])))


def simulate(files: list[str], tests: dict[str, list[float]], workers: int = 2):
    """(end time of each worker, the files each ran in order with their start and end)."""
    queue = collections.deque(files)
    pending = [collections.deque() for _ in range(workers)]  # (file, seconds) of tests handed to the worker
    ran = [[] for _ in range(workers)]
    clock = [0.0] * workers

    def hand(w):
        name = queue.popleft()
        pending[w].extend((name, s) for s in tests[name])

    for w in range(workers):
        if queue:
            hand(w)
    for w in range(workers):
        if queue and len(pending[w]) <= 2:
            hand(w)
    events = [(0.0, w, False) for w in range(workers)]  # (time, worker, a test of it just ended)
    heapq.heapify(events)
    while events:
        now, w, ended = heapq.heappop(events)
        if ended and queue and len(pending[w]) <= 2:  # xdist: after a test, 2 or fewer left -> the next file
            hand(w)
        if not pending[w]:
            clock[w] = now
            continue
        name, s = pending[w].popleft()
        if not ran[w] or ran[w][-1][0] != name:
            ran[w].append([name, now, now])
        ran[w][-1][2] = now + s
        heapq.heappush(events, (now + s, w, True))
    return clock, ran


def report(label: str, seconds: dict[str, float], tests: dict[str, list[float]], workers: int, tail: int) -> float:
    clock, ran = simulate(order(seconds, tests), tests, workers)
    total = sum(map(sum, tests.values()))
    print(f"{label}: {len(tests)} files, {total:.0f} CPU-s; makespan {max(clock):.0f} s "
          f"({max(clock) / 60:.1f} min; ideal {total / workers:.0f} s); workers end at " + ", ".join(f"{c:.0f}" for c in clock))
    for w, files in enumerate(ran):
        last = ", ".join(f"{n} {a:.0f}-{b:.0f}" for n, a, b in files[-tail:])
        print(f"  worker {w}: {len(files)} files; last: {last}")
    return max(clock)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="bench/cpu_per_test.py JSON lines (this tree)")
    ap.add_argument("--before", help="git revision whose FILE_SECONDS gives the 'before' order")
    ap.add_argument("--before-runs", nargs="*", default=[], help="JSON lines measured at --before (default: the same runs)")
    ap.add_argument("--collected", help="`pytest --collect-only -q` output: the test counts of files not measured")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tail", type=int, default=4, help="last files listed per worker")
    a = ap.parse_args(argv)
    now = file_seconds(None)
    tests = measured(a.runs)
    counts = collected(a.collected)
    tests.update(unmeasured(now, tests, counts))
    after = report("this tree", now, tests, a.workers, a.tail)
    if a.before:
        old = file_seconds(a.before)
        old_tests = measured(a.before_runs) if a.before_runs else dict(tests)
        old_tests.update(unmeasured(now, old_tests, counts))  # the same estimate of what was not measured
        before = report(f"order of {a.before}", old, old_tests, a.workers, a.tail)
        print(f"makespan {before:.0f} -> {after:.0f} s ({after / before:.3f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
