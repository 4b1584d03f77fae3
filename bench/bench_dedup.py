"""End-to-end dedup on the DirectRunner: time and peak memory for 100k documents.

    python bench/bench_dedup.py [--docs 100000]
    python bench/bench_dedup.py --hot-only [--docs 100000] [--hot-size 50000] [--mixed-docs N] [--baseline-src DIR]

Two corpora, each run as `curate run --stages ingest,dedup` in a fresh subprocess, beside a
baseline measured the same way. Peak memory: the subprocess's own peak RSS (VmHWM), and the
largest sum of PSS over it and its worker processes, sampled (bench/memory.py says why not
``ru_maxrss``, which starts at this bench's RSS, the corpora it built):

* mixed   -- N documents of three random paragraphs of ../shared/corpora text, 10% planted near-duplicates;
* hot     -- N/2 copies of one boilerplate page + N/2 distinct pages (the hot-bucket case);
* baseline -- `ingest` alone on the mixed corpus, and the raw MinHash kernel (normalise +
              signatures) on its texts, so dedup's own cost and its ratio to the kernel show.

``--hot-only``: the hot corpus twice: every bucket grouped in one bucket shard
(``dedup.hot_bucket = 0``, the baseline) and buckets above ``--hot-size`` members (default
50,000, the setting's default) compared in passes (curate/stages/dedup/hot.py), the outputs
identical (checked); and the mixed corpus, where no bucket is hot, with the hot path off
(hot_bucket 0: no count) and on (50,000: the buckets' keys counted, none found hot).
``--baseline-src DIR``: the mixed run with the hot path on also with the curate code in DIR
(another checkout, e.g. ``git archive main | tar -x -C DIR``), in the same bench run: before and after.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from memory import run_sampled  # noqa: E402

CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))


def pieces() -> list[str]:
    out = []
    for p in sorted((CORPORA / "books").glob("*/*.txt")) + sorted((CORPORA / "misc_public_domain").glob("*/*.txt")):
        text = p.read_bytes().decode("utf-8", "replace")
        paras = [x.strip() for x in text.split("\n\n") if len(x.strip()) > 200]
        out += paras
    with gzip.open(CORPORA / "web/cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        out += [json.loads(line)["text"] for line in f]
    return out


def mixed(path: Path, n: int) -> None:
    rng = random.Random(0)
    src = [p[:1500] for p in pieces()]
    docs: list[str] = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            if i % 10 == 9:  # a near-duplicate of an earlier document: 1% of its words edited
                w = docs[rng.randrange(len(docs))].split()
                for k in rng.sample(range(len(w)), max(1, len(w) // 100)):
                    w[k] = "edited"
                text = " ".join(w)
            else:  # three random paragraphs: documents sharing one stay far below the threshold
                text = "\n\n".join(rng.sample(src, 3))
                if len(docs) < 20000:
                    docs.append(text)
            f.write(json.dumps({"id": f"m{i}", "text": text}) + "\n")


def hot(path: Path, n: int) -> None:
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(20000)]
    page = "Accept cookies to continue. This site uses cookies to improve your experience. " * 4
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            text = page if i % 2 == 0 else " ".join(rng.choice(words) for _ in range(60))
            f.write(json.dumps({"id": f"h{i}", "text": text}) + "\n")


RUN = """
import json, resource, time, shutil, tempfile, contextlib, io
from curate import cli, commit
out = tempfile.mkdtemp(); shutil.rmtree(out)
def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
t0, c0, k0 = time.perf_counter(), time.process_time(), children_cpu()
with contextlib.redirect_stdout(io.StringIO()):
    # --source: by default the input's folder names its source, and ids hash it: in a temporary
    # folder each bench run had other ids, so other tie-breaks (which of two copies of one length is
    # kept): kept 354,701 in one run, 354,700 in the next
    assert cli.main(['run', '--input', PATH, '--domain', 'web', '--source', 'bench', '--output', out, '--stages', STAGES, '--progress', 'off', *SETS]) == 0
# the heavy steps run in forked worker processes (run.workers), which end with the run: their CPU
# is in RUSAGE_CHILDREN (their memory is sampled from outside: bench/memory.py)
wall, cpu, workers = time.perf_counter() - t0, time.process_time() - c0, children_cpu() - k0
m = commit.read_manifest(out)['counts']
if KEEP:  # the outputs, to compare runs
    shutil.copytree(out + '/text', KEEP + '/text'); shutil.copytree(out + '/ledger', KEEP + '/ledger')
print(json.dumps({'wall': wall, 'cpu': cpu + workers, 'worker_cpu': workers,
                  'rss_mb': peak_rss_mb(),
                  'kept': m[STAGES.split(',')[-1]]['docs_out'], 'removed': m[STAGES.split(',')[-1]]['removed']}))
"""

KERNEL = """
import json, time
import pyarrow as pa
from curate.stages.dedup.normalize import normalize
from curate.stages.dedup.minhash import signatures
texts = pa.array([json.loads(l)['text'] for l in open(PATH, encoding='utf-8')], pa.large_string())
t0, c0 = time.perf_counter(), time.process_time()
for i in range(0, len(texts), 1000):
    signatures(normalize(texts[i:i + 1000]))
print(json.dumps({'wall': time.perf_counter() - t0, 'cpu': time.process_time() - c0, 'worker_cpu': 0.0,
                  'rss_mb': peak_rss_mb(),
                  'kept': len(texts), 'removed': {}}))
"""


def child(code: str, src: Path = REPO, **vars) -> dict:
    """``code`` in a fresh process importing curate from ``src``."""
    prog = f"import sys\nsys.path.insert(0, {str(REPO / 'bench')!r})\nfrom memory import peak_rss_mb\n"
    prog += "".join(f"{k} = {v!r}\n" for k, v in vars.items()) + code
    res, pss = run_sampled([sys.executable, "-c", prog], cwd=src, env={**os.environ, "PYTHONPATH": str(src)})
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    return {**json.loads(res.stdout.strip().splitlines()[-1]), "pss_mb": pss}


def run(path: Path, stages: str, *sets: str, keep: str = "", src: Path = REPO) -> dict:
    return child(RUN, src, PATH=str(path), STAGES=stages, SETS=list(sets), KEEP=keep)


def same_outputs(a: Path, b: Path) -> bool:
    files = lambda d: {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}
    return files(a) == files(b)


def print_rows(rows: list, docs: int) -> None:
    print("cpu s: the launching process and its worker processes (of which in workers); peak MB: the launcher's own "
          "RSS, and the PSS of the launcher and its workers together (sampled every 0.1 s)")
    print(f"{'run':34} {'wall s':>7} {'cpu s':>7} {'(workers)':>9} {'docs/s':>8} {'peak MB':>8} {'PSS MB':>7}  kept / removed")
    for name, r in rows:
        print(f"{name:34} {r['wall']:7.1f} {r['cpu']:7.1f} {r['worker_cpu']:9.1f} {docs / r['wall']:8,.0f} "
              f"{r['rss_mb']:8.0f} {r['pss_mb']:7.0f}  {r['kept']:,} / {r['removed']}")


def hot_only(docs: int, size: int, mixed_docs: int, baseline: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h, m = Path(tmp) / "hot.jsonl", Path(tmp) / "mixed.jsonl"
        hot(h, docs)
        mixed(m, mixed_docs)
        rows = [
            ("hot: grouped (hot_bucket=0)", run(h, "ingest,dedup", "--set", "dedup.hot_bucket=0", keep=f"{tmp}/off")),
            (f"hot: in passes (hot_bucket={size:,})", run(h, "ingest,dedup", "--set", f"dedup.hot_bucket={size}", keep=f"{tmp}/on")),
            ("mixed: hot path off (hot_bucket=0)", run(m, "ingest,dedup", "--set", "dedup.hot_bucket=0")),
            ("mixed: on (hot_bucket=50,000, none hot)", run(m, "ingest,dedup", "--set", "dedup.hot_bucket=50000")),
        ]
        if baseline:
            rows.append((f"mixed: on, code of {baseline.name}", run(m, "ingest,dedup", "--set", "dedup.hot_bucket=50000", src=baseline)))
        same = same_outputs(Path(tmp) / "off", Path(tmp) / "on")
    print(f"{docs:,} documents: hot = {docs - docs // 2:,} copies of one page (its exact key and its 14 bands are hot "
          f"buckets) + {docs // 2:,} distinct; mixed: {mixed_docs:,} documents as without --hot-only")
    print_rows(rows[:2], docs)
    print_rows(rows[2:], mixed_docs)
    (_, off), (_, on), (_, plain), (_, counted) = rows[:4]
    print(f"hot, in passes / grouped: cpu {on['cpu'] / off['cpu']:.2f}x, PSS {on['pss_mb'] / off['pss_mb']:.2f}x; "
          f"text and ledger files identical: {same}")
    print(f"mixed, on / off: cpu {counted['cpu'] / plain['cpu']:.2f}x, launcher's peak RSS "
          f"{counted['rss_mb'] / plain['rss_mb']:.2f}x, PSS {counted['pss_mb'] / plain['pss_mb']:.2f}x")
    if baseline:
        before = rows[4][1]
        print(f"mixed, on, code of {baseline.name} / off: cpu {before['cpu'] / plain['cpu']:.2f}x, launcher's peak RSS "
              f"{before['rss_mb'] / plain['rss_mb']:.2f}x; this code / {baseline.name}: cpu {counted['cpu'] / before['cpu']:.2f}x, "
              f"wall {counted['wall'] / before['wall']:.2f}x, launcher's peak RSS {counted['rss_mb'] / before['rss_mb']:.2f}x")
    if not same:
        raise SystemExit("outputs differ")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--hot-only", action="store_true", help="the hot corpus alone, hot path off vs on")
    ap.add_argument("--hot-size", type=int, default=50_000, help="dedup.hot_bucket for --hot-only's second run")
    ap.add_argument("--mixed-docs", type=int, default=0, help="--hot-only's mixed corpus (default: --docs)")
    ap.add_argument("--baseline-src", type=Path, help="--hot-only: the counted mixed run also with the curate code in this folder")
    args = ap.parse_args()
    if args.hot_only:
        return hot_only(args.docs, args.hot_size, args.mixed_docs or args.docs, args.baseline_src and args.baseline_src.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        m, h = Path(tmp) / "mixed.jsonl", Path(tmp) / "hot.jsonl"
        mixed(m, args.docs)
        hot(h, args.docs)
        mb = os.path.getsize(m) / 1e6
        rows = [
            ("minhash kernel (mixed)", child(KERNEL, PATH=str(m))),
            ("ingest only (mixed)", run(m, "ingest")),
            ("ingest+dedup (mixed)", run(m, "ingest,dedup")),
            ("ingest+dedup (hot)", run(h, "ingest,dedup")),
        ]
    print(f"{args.docs:,} documents, mixed corpus {mb:.1f} MB")
    print_rows(rows, args.docs)
    dedup_cpu = rows[2][1]["cpu"] - rows[1][1]["cpu"]
    print(f"dedup's own CPU (ingest+dedup - ingest): {dedup_cpu:.1f} s = {dedup_cpu / rows[0][1]['cpu']:.1f}x the raw MinHash kernel")


if __name__ == "__main__":
    main()
