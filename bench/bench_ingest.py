"""Ingestion throughput: WARC and JSONL, reader alone and through the Beam pipeline.

    python bench/bench_ingest.py [--copies N]

Builds inputs by repeating real shards from ../shared/corpora (gzip members concatenate),
then, each phase in a fresh subprocess, measures:

* raw kernel   -- FastWARC iteration + Resiliparse extraction / json.loads per line, the floor
                  any WARC/JSONL reader pays;
* reader       -- curate.readers.read_shard, everything a worker does per file (ids, batches);
* pipeline     -- `curate run --stages ingest` on the DirectRunner (write + manifest included).

Prints MB of input (compressed bytes on disk) per CPU-second and per wall second, documents
per CPU-second, peak memory (the phase's own peak RSS, VmHWM, and the largest sum of PSS over it
and its helper and worker processes, sampled every 0.1 s, so not shown for a phase under 1 s:
bench/memory.py), and each phase's ratio to the raw kernel measured in the same run, in CPU
seconds: curate extracts HTML in helper processes and the pipeline runs its heavy steps
in worker processes, so a phase's CPU is its own and its children's (RUSAGE_CHILDREN, helpers
ended first); wall time would credit the pipeline with the second core the kernel does not use.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from memory import run_sampled  # noqa: E402

CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
WARCS = ["web/cc_main_2020_34_resiliparse_sample.warc.gz", "web/dolma_wget_sample-0000.warc.gz", "web/cc_whirlwind/whirlwind.warc.gz"]
JSONLS = ["web/cc_main_2019_30_dolma_docs.jsonl.gz"]


def build(tmp: Path, copies: int) -> dict:
    warc = tmp / "bench.warc.gz"
    with open(warc, "wb") as f:
        for _ in range(copies):
            for w in WARCS:
                f.write((CORPORA / w).read_bytes())
    jsonl = tmp / "bench.jsonl.gz"
    with gzip.open(jsonl, "wb") as f:
        for i in range(copies):
            for j in JSONLS:
                with gzip.open(CORPORA / j, "rb") as src:
                    for line in src:  # fresh ids per copy, so the data is not all duplicate ids
                        obj = json.loads(line)
                        obj["id"] = f"{obj.get('id')}-{i}"
                        f.write(json.dumps(obj).encode() + b"\n")
    return {"warc": str(warc), "jsonl": str(jsonl)}


PHASES = {  # (imports, timed code): imports are not timed, so no side pays for loading modules
    "raw:warc": ("""
from fastwarc.warc import ArchiveIterator, WarcRecordType
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree
from resiliparse.parse.encoding import detect_encoding
""", """
n = 0
with open(PATH, 'rb') as f:
    for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
        body = rec.reader.read()
        if b'html' in (rec.http_headers.get('Content-Type') or '').encode():
            extract_plain_text(HTMLTree.parse_from_bytes(body, detect_encoding(body)), main_content=True)
        n += 1
"""),
    "raw:jsonl": ("""
import gzip, json
""", """
n = 0
with gzip.open(PATH, 'rb') as f:
    for line in f:
        json.loads(line); n += 1
"""),
    "reader": ("""
from curate.readers import read_shard, detect_format
from curate.readers.common import Limits, Shard
""", """
fmt = detect_format(PATH, 'web')
n = 0
for kind, b in read_shard(Shard(PATH, 'bench', fmt, 'web', 'bench'), Limits()):
    n += b.num_rows
"""),
    "pipeline": ("""
import tempfile, shutil
from curate import cli
from curate.commit import read_manifest
import pipelines.pipeline
""", """
out = tempfile.mkdtemp()
shutil.rmtree(out)
assert cli.main(['run', '--input', PATH, '--domain', 'web', '--output', out, '--stages', 'ingest', '--progress', 'off']) == 0
c = read_manifest(out)['counts']['ingest']
n = c['docs_in']
"""),
}


def run_phase(phase: tuple[str, str], path: str) -> dict:
    imports, code = phase
    prog = (
        "import time, resource, json, contextlib, io, sys\nPATH = %r\n" % path
        + "sys.path.insert(0, %r)\nfrom memory import peak_rss_mb\n" % str(REPO / "bench")
        + imports.strip() + "\n"
        + "t0 = time.perf_counter(); c0 = time.process_time()\n"
        + "with contextlib.redirect_stdout(io.StringIO()):\n"
        + "".join("    " + line + "\n" for line in code.strip().splitlines())
        + "wall = time.perf_counter() - t0\n"
        + "if 'curate.readers.extract_helper' in sys.modules:  # end the helpers: their CPU joins RUSAGE_CHILDREN\n"
        + "    sys.modules['curate.readers.extract_helper']._close_helpers()\n"
        + "k = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        + "print(json.dumps({'n': n, 'wall': wall, 'cpu': time.process_time() - c0 + k.ru_utime + k.ru_stime, "
        "'rss_mb': peak_rss_mb()}))\n"
    )
    res, pss = run_sampled([sys.executable, "-c", prog], cwd=REPO)
    if res.returncode:
        raise SystemExit(res.stderr)
    return {**json.loads(res.stdout.strip().splitlines()[-1]), "pss_mb": pss}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=20, help="times each corpus file is repeated")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = build(Path(tmp), args.copies)
        print(f"{'input':6} {'phase':9} {'docs':>8} {'MB':>7} {'cpu s':>7} {'MB/cpu-s':>9} {'wall s':>7} {'MB/s':>7} "
              f"{'docs/cpu-s':>10} {'peak MB':>8} {'PSS MB':>7} {'vs raw (cpu)':>12}")
        for fmt, path in paths.items():
            mb = os.path.getsize(path) / 1e6
            raw = run_phase(PHASES[f"raw:{fmt}"], path)
            for name, code in (("raw", None), ("reader", PHASES["reader"]), ("pipeline", PHASES["pipeline"])):
                r = raw if code is None else run_phase(code, path)
                ratio = raw["cpu"] / r["cpu"]
                pss = f"{r['pss_mb']:.0f}" if r["wall"] >= 1 else "-"  # sampled every 0.1 s: too few samples
                print(
                    f"{fmt:6} {name:9} {r['n']:8,} {mb:7.1f} {r['cpu']:7.2f} {mb / r['cpu']:9.2f} {r['wall']:7.2f} "
                    f"{mb / r['wall']:7.2f} {r['n'] / r['cpu']:10,.0f} {r['rss_mb']:8.0f} {pss:>7} {ratio:12.2f}"
                )


if __name__ == "__main__":
    main()
