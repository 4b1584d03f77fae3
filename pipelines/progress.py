"""Progress of a run on stderr: per stage, documents in/out and rate, while it runs.

Counting steps beside each stage's output (and the reader) add row counts to Beam counters
(namespace ``curate.progress``) and to a per-process tally. Beam counters reach the
launching process only where the runner reports them while the job runs (Dataflow, Flink
through a job service); the DirectRunner reports them when ``Pipeline.run()`` returns, and
a multi-process run keeps them in the workers until each bundle ends. So each process also
writes its tally, at most twice a second and at the end of every bundle, to one JSON file in
a temporary folder; a thread in the launching process sums those files and the runner's
counters (taking the larger of the two per count: both count the same rows) and prints what
changed. Workers on other machines find no folder and only count through Beam.

Keys are ``STAGE.docs_out``, ``STAGE.removed`` (ledger rows), ``ingest.quarantined``,
``ingest.files`` and ``ingest.bytes``. A stage's documents in are its documents out plus
removed (plus quarantined for ingest).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter

import apache_beam as beam
from apache_beam.metrics import Metrics

from curate.schema import STAGES

NAMESPACE = "curate.progress"

_TALLIES: dict[str, "Tally"] = {}
_LOCK = threading.Lock()


class Tally:
    """One process's counts for one run, written to ``DIR/PID.json`` (atomic rename)."""

    def __init__(self, folder: str, every: float = 0.5):
        self.folder, self.every = folder, every
        self.counts: Counter = Counter()
        self.last = 0.0
        self.lock = threading.Lock()
        self.ok = os.path.isdir(folder)  # absent on a remote worker: count nothing

    def add(self, **counts: int) -> None:
        counts = {k.replace("__", "."): v for k, v in counts.items() if v}
        for k, v in counts.items():
            Metrics.counter(NAMESPACE, k).inc(v)
        if not self.ok:
            return
        with self.lock:
            self.counts.update(counts)
            if time.monotonic() - self.last >= self.every:
                self._flush()

    def flush(self) -> None:
        if self.ok:
            with self.lock:
                self._flush()

    def _flush(self) -> None:
        self.last = time.monotonic()
        path = os.path.join(self.folder, f"{os.getpid()}.json")
        try:
            with open(path + ".tmp", "w") as f:
                json.dump(self.counts, f)
            os.replace(path + ".tmp", path)
        except OSError:  # the run ended and removed the folder; progress is best effort
            self.ok = False


def after_fork() -> None:
    """In a forked worker process (pipelines/pool.py): start every tally from zero, with
    fresh locks (another thread of the parent may have held one)."""
    global _LOCK
    _LOCK = threading.Lock()
    for t in _TALLIES.values():
        t.counts, t.lock, t.last = Counter(), threading.Lock(), 0.0


def tally(folder: str) -> Tally:
    with _LOCK:
        if folder not in _TALLIES:
            _TALLIES[folder] = Tally(folder)
        return _TALLIES[folder]


class CountRows(beam.DoFn):
    """Adds each batch's row count under ``key``; outputs nothing (a side branch)."""

    def __init__(self, folder: str, key: str):
        self.folder, self.key = folder, key.replace(".", "__")

    def setup(self):
        self.tally = tally(self.folder)

    def process(self, batch):
        self.tally.add(**{self.key: batch.num_rows})
        return ()

    def finish_bundle(self):
        self.tally.flush()


def count(pcoll, folder: str | None, key: str) -> None:
    """Count the rows of ``pcoll``'s batches under ``key`` when progress is on."""
    if folder:
        pcoll | f"Progress/{key}" >> beam.ParDo(CountRows(folder, key))


def count_stat(stats, folder: str | None, key: str) -> None:
    """Count ``key`` of a step's stats dicts (pipelines/common.BatchStages) when progress is on."""
    if folder:
        stats | f"Progress/{key}" >> beam.ParDo(CountStat(folder, key))


class CountStat(CountRows):
    """Adds one entry of each stats dict (``STAGE.docs_out``) under its key."""

    def __init__(self, folder: str, key: str):
        super().__init__(folder, key)
        self.stat = key

    def process(self, stats):
        self.tally.add(**{self.key: stats.get(self.stat, 0)})
        return ()


def read_totals(folder: str) -> Counter:
    total: Counter = Counter()
    for name in os.listdir(folder):
        if name.endswith(".json"):
            try:
                with open(os.path.join(folder, name)) as f:
                    total.update(json.load(f))
            except (OSError, ValueError):
                pass  # being replaced; next tick
    return total


def metric_totals(pipeline) -> Counter:
    """The runner's ``curate.progress`` counters, once ``pipeline.run()`` has returned a result
    (at once on a remote runner, at the end on the DirectRunner); empty before or if unsupported."""
    total: Counter = Counter()
    result = getattr(pipeline, "result", None)
    if result is None:
        return total
    from apache_beam.metrics.metric import MetricsFilter

    try:
        for r in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]:
            value = r.attempted if r.attempted is not None else r.committed
            total[r.key.metric.name] += int(value or 0)
    except Exception:  # noqa: BLE001 - a runner without live metrics: the folder's tallies count
        pass
    return total


def _n(x: float) -> str:
    return f"{x:,.0f}"


class Reporter:
    """Prints one line per stage whose counts changed, every ``every`` seconds, and a final
    summary line; the last stage that moved is marked as the one running."""

    def __init__(self, stages, total_files: int, every: float = 5.0, out=None):
        self.stages = [s for s in STAGES if s in stages]
        self.width = max([9, *map(len, self.stages)])  # the counts in one column, decontaminate's too
        self.total_files, self.every = total_files, every
        self.out = out or sys.stderr
        self.folder = tempfile.mkdtemp(prefix="curate-progress-")
        self.t0 = time.monotonic()
        self.shown: dict[str, tuple] = {}  # stage -> counts last printed
        self.last_tick = self.t0
        self.pipeline = None  # set by the caller: its result's counters are read when present
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="curate-progress", daemon=True)

    def __enter__(self) -> "Reporter":
        self.thread.start()
        return self

    def __exit__(self, exc_type, *_):
        self.stop_event.set()
        self.thread.join()
        self.tick(final=exc_type is None)
        shutil.rmtree(self.folder, ignore_errors=True)
        return False

    def _loop(self):
        while not self.stop_event.wait(self.every):
            self.tick()

    def tick(self, final: bool = False) -> None:
        c = read_totals(self.folder)
        for k, v in metric_totals(self.pipeline).items():
            c[k] = max(c[k], v)
        now = time.monotonic()
        lines, current = [], None
        for s in self.stages:
            out, removed = c.get(f"{s}.docs_out", 0), c.get(f"{s}.removed", 0)
            quarantined = c.get("ingest.quarantined", 0) if s == "ingest" else 0
            seen = out + removed + quarantined
            key = (seen, out, c.get("ingest.files", 0) if s == "ingest" else 0)
            if seen and key != self.shown.get(s):
                rate = (seen - self.shown.get(s, (0,))[0]) / (now - self.last_tick) if now - self.last_tick >= 1 else 0
                self.shown[s] = key
                current = s
                lines.append((s, self._line(s, c, seen, out, removed + quarantined, rate)))
        self.last_tick = now
        elapsed = now - self.t0
        for s, text in lines:
            mark = "*" if s == current and not final else " "
            print(f"[curate] {elapsed:6.1f} s {mark} {s:<{self.width}} {text}", file=self.out, flush=True)
        if final:
            first, last = self.stages[0], self.stages[-1]
            read = self.shown.get(first, (0,))[0]
            kept = c.get(f"{last}.docs_out", 0)
            removed = sum(c.get(f"{s}.removed", 0) for s in self.stages)
            print(
                f"[curate] done in {elapsed:.1f} s: {_n(read)} docs read ({_n(read / max(elapsed, 1e-9))}/s), "
                f"{_n(kept)} out of {last}, {_n(removed)} removed, {_n(c.get('ingest.quarantined', 0))} quarantined",
                file=self.out,
                flush=True,
            )

    def _line(self, s, c, seen, out, removed, rate) -> str:
        text = f"{_n(seen)} in, {_n(out)} out, {_n(removed)} removed"
        if s == "ingest":
            mb = c.get("ingest.bytes", 0) / 1e6
            text = f"{c.get('ingest.files', 0)}/{self.total_files} files ({mb:,.1f} MB), " + text
        return text + (f" ({_n(rate)} docs/s)" if rate else "")


class _Off:
    folder = pipeline = None

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False


def report(enabled: bool, stages, total_files: int, every: float = 5.0):
    """Context manager: a Reporter (its ``folder`` goes to the counting DoFns) or a no-op."""
    return Reporter(stages, total_files, every) if enabled else _Off()
