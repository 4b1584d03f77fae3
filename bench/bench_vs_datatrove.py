"""curate against datatrove (FineWeb's pipeline) on the same web documents, one core each.

    python3 -m venv .bench-datatrove
    .bench-datatrove/bin/pip install 'datatrove[io,processing]==0.10.1' spacy
    python bench/bench_vs_datatrove.py --datatrove-python .bench-datatrove/bin/python [--docs 2000] [--scales 1,4] [--gt-docs 8000]

datatrove is not a curate dependency: it runs in its own venv, in a child process, and curate
in another (``curate run``), so each pays for its own imports and model loads.

1. **Cost.** Web documents in JSONL (bench/bench_pipeline.py's web pool: Common Crawl text,
   CCNet and DCLM pages, spliced so that documents stay distinct, 10% planted near or exact
   copies), through the same work in both: FineWeb's datatrove pipeline (URL filter, fastText
   language filter, Gopher repetition, Gopher quality, C4 quality, FineWeb quality, then MinHash
   dedup in its four steps, 5-grams, 14 bands x 8 rows) and ``curate run --stages
   ingest,langid,filter,dedup`` with the same filters (``filter.domains.web`` set to those five;
   curate's dedup also does its exact pass and verification, at its defaults). Both use
   curate's shipped ``models/lid.176.ftz`` (datatrove would download ``lid.176.bin``; this
   machine reaches no model host), English at 0.65, one process (``--workers 1``; datatrove
   ``LocalPipelineExecutor(tasks=1, workers=1)``, its MinHash buckets one task per band).
   Measured per run: CPU (user + system of the child and everything it waited for, from
   ``os.wait4``), wall, peak memory (PSS of the process tree, sampled). Two scales: the difference between them
   gives the marginal CPU per MB of text, free of each tool's fixed cost (imports, model and
   block-list loads). Also: documents after the filters and after dedup, and how many
   decisions the two tools share (the same rules, written twice).
2. **Dedup quality.** bench/groundtruth.py's labelled corpus (books, speeches, WikiText, web
   pages, with derived copies from 1% edits to reordered paragraphs and template-heavy sites),
   MinHash dedup only in both (``--stages ingest,dedup``; datatrove's four MinHash steps with
   cluster ids), scored against exact 5-gram Jaccard from bench/jaccard_truth.py (no curate or
   datatrove code): precision = removals whose true J with the document kept in their place is
   >= 0.7; recall = true pairs (J >= 0.7, and >= 0.8: above curate's ``dedup.verify`` of 0.75)
   of which at least one document is removed. datatrove
   keeps a cluster's union-find root, so a removal's partner is the member of its cluster that
   is kept; curate's is the ledger's ``kept_id``.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

FILTERS = ["url", "gopher_repetition", "gopher_quality", "c4", "fineweb"]  # datatrove's five, in its order
DOCS_PER_FILE = 500
DATATROVE_DIRS = ("kept", "removed", "filtered", "sigs", "buckets", "remove", "logs", "removed_by")

# Run by the datatrove venv's python: argv = mode, workdir, lid model path.
DATATROVE = r'''
import sys
from datatrove.utils import lid
mode, work, model = sys.argv[1:4]
lid.FT176LID.MODEL_URL = model  # the same model file as curate's: no download
from datatrove.executor.local import LocalPipelineExecutor as Exec
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.filters import (URLFilter, LanguageFilter, GopherRepetitionFilter, GopherQualityFilter,
                                        C4QualityFilter, FineWebQualityFilter)
from datatrove.pipeline.dedup import MinhashDedupSignature, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter
from datatrove.pipeline.dedup.minhash import MinhashConfig

cfg = MinhashConfig()  # 5-grams, 14 buckets x 8 hashes: FineWeb's
run = lambda steps, name, tasks=1: Exec(pipeline=steps, tasks=tasks, workers=1, logging_dir=f"{work}/logs/{name}").run()
# "decisions" (not timed): each filter writes what it removes, to compare rule by rule
out = (lambda name: JsonlWriter(f"{work}/removed_by/{name}")) if mode == "decisions" else (lambda name: None)
if mode in ("pipeline", "decisions"):
    run([JsonlReader(f"{work}/raw", glob_pattern="*.jsonl.gz"), URLFilter(exclusion_writer=out("url")),
         LanguageFilter(languages=["en"], language_threshold=0.65, exclusion_writer=out("langid")),
         GopherRepetitionFilter(exclusion_writer=out("gopher_repetition")), GopherQualityFilter(exclusion_writer=out("gopher_quality")),
         C4QualityFilter(exclusion_writer=out("c4")), FineWebQualityFilter(exclusion_writer=out("fineweb")),
         JsonlWriter(f"{work}/filtered")], "filter")
    source = f"{work}/filtered"
else:  # dedup only
    source = f"{work}/raw"
if mode == "decisions":
    sys.exit(0)
run([JsonlReader(source), MinhashDedupSignature(f"{work}/sigs", config=cfg)], "sigs")
run([MinhashDedupBuckets(f"{work}/sigs", f"{work}/buckets", config=cfg)], "buckets", tasks=cfg.num_buckets)
run([MinhashDedupCluster(f"{work}/buckets", f"{work}/remove", config=cfg, save_cluster_id=True)], "cluster")
run([JsonlReader(source), MinhashDedupFilter(f"{work}/remove", exclusion_writer=JsonlWriter(f"{work}/removed"),
                                             load_cluster_ids=True), JsonlWriter(f"{work}/kept")], "dedup")
'''


def timed(cmd: list[str], env: dict | None = None) -> dict:
    """Run a child to completion: its CPU (with everything it waited for), wall and peak memory
    (the largest sum of PSS over its process tree, sampled every 0.1 s: not ``ru_maxrss``,
    which Linux carries over from this process, holding the corpus, through fork and exec)."""
    from memory import PeakMemory

    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    mem = PeakMemory(p.pid)
    mem.start()
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    mem.done = True
    mem.join()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed:\n{out.decode(errors='replace')[-4000:]}")
    return {"cpu": ru.ru_utime + ru.ru_stime, "wall": wall, "mem_mb": mem.peak_kb / 1024}


def write_jsonl(docs: list[dict], folder: Path) -> float:
    """JSONL shards of {id, text, metadata: {url}}; returns MB of text."""
    folder.mkdir(parents=True)
    for f0 in range(0, len(docs), DOCS_PER_FILE):
        with gzip.open(folder / f"part-{f0 // DOCS_PER_FILE:04d}.jsonl.gz", "wt", encoding="utf-8") as f:
            for d in docs[f0 : f0 + DOCS_PER_FILE]:
                f.write(json.dumps({"id": d["id"], "text": d["text"], "metadata": {"url": d.get("url")}}, ensure_ascii=False) + "\n")
    return sum(len(d["text"].encode()) for d in docs) / 1e6


def run_curate(work: Path, stages: str, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "curate", "run", "--input", str(work / "raw"), "--format", "jsonl", "--domain", "web",
           "--output", str(work / "curate"), "--stages", stages, "--workers", "1", "--progress", "off", *extra]
    return timed(cmd, env={**os.environ, "PYTHONPATH": str(REPO)})


def run_datatrove(python: str, work: Path, mode: str) -> dict:
    script = work / "datatrove_job.py"
    script.write_text(DATATROVE)
    env = {**os.environ, "HF_HOME": str(work / "hf"), "DATATROVE_COLORIZE_LOGS": "0", "TQDM_DISABLE": "1"}
    return timed([python, str(script), mode, str(work), str(REPO / "models" / "lid.176.ftz")], env=env)


def read_ids(folder: Path, fields=("id",)) -> list[dict]:
    rows = []
    for p in sorted(folder.glob("*.jsonl.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            for line in f:
                o = json.loads(line)
                rows.append({"id": o["id"], **{k: o.get("metadata", {}).get(k) for k in fields if k != "id"}})
    return rows


def curate_sets(work: Path) -> tuple[set, set, dict]:
    """(ids after langid and the filters, ids kept, {removed: (kept, estimated J)} of dedup), as
    the original ids (``source_id``)."""
    import pyarrow.dataset as ds

    text = ds.dataset(work / "curate" / "text").to_table(columns=["id", "source_id"]).to_pylist()
    ledger = ds.dataset(work / "curate" / "ledger").to_table(columns=["id", "source_id", "stage", "rule", "value", "kept_id"]).to_pylist()
    kept = {r["source_id"] for r in text}
    by_id = {r["id"]: r["source_id"] for r in text + ledger}  # a kept_id may itself be removed later (exact, then MinHash)
    deduped = {r["source_id"]: r for r in ledger if r["stage"] == "dedup"}
    removals = {s: (by_id[r["kept_id"]], r["value"] if r["value"] is not None else 1.0) for s, r in deduped.items()}
    return kept | set(deduped), kept, removals


def datatrove_sets(work: Path, mode: str) -> tuple[set, set, dict]:
    kept_rows = read_ids(work / "kept", ("id", "minhash_cluster_id"))
    removed_rows = read_ids(work / "removed", ("id", "minhash_cluster_id"))
    root = {r["minhash_cluster_id"]: r["id"] for r in kept_rows if r["minhash_cluster_id"] not in (None, -1)}
    removals = {r["id"]: (root[r["minhash_cluster_id"]], 1.0) for r in removed_rows}
    kept = {r["id"] for r in kept_rows}
    return (kept | set(removals)) if mode == "pipeline" else kept, kept, removals


def disagreements(args, work: Path) -> None:
    """Where the filters' decisions differ, by the datatrove step or curate rule that removed
    the document the other tool kept (an untimed datatrove run with exclusion writers)."""
    import pyarrow.dataset as ds
    from collections import Counter

    for d in DATATROVE_DIRS:
        shutil.rmtree(work / d, ignore_errors=True)
    run_datatrove(args.datatrove_python, work, "decisions")
    dt = {r["id"]: f"{step.name}: {r['filter_reason'] or 'removed'}"
          for step in sorted((work / "removed_by").iterdir()) for r in read_ids(step, ("id", "filter_reason"))}
    ledger = ds.dataset(work / "curate" / "ledger").to_table(columns=["source_id", "stage", "rule"]).to_pylist()
    cur = {r["source_id"]: f"{r['stage']}: {r['rule']}" for r in ledger if r["stage"] in ("ingest", "langid", "filter")}
    only_dt = Counter(why for i, why in dt.items() if i not in cur)
    only_cur = Counter(why for i, why in cur.items() if i not in dt)
    print("  where the filters disagree (documents; the rule of the tool that removed it):")
    for who, c in (("datatrove removed, curate kept", only_dt), ("curate removed, datatrove kept", only_cur)):
        print(f"    {who}: " + (", ".join(f"{why} {n}" for why, n in c.most_common(6)) or "none"))


def agreement(a: set, b: set) -> str:
    return f"both {len(a & b):,}, curate only {len(a - b):,}, datatrove only {len(b - a):,}"


def cost(args) -> None:
    from bench_pipeline import load_pools, make_doc

    pools = load_pools()
    scales = [int(s) for s in args.scales.split(",")]
    rows = []
    for scale in scales:
        n = args.docs * scale
        docs = [make_doc(pools, "web", k) for k in range(n)]
        docs = [{"id": d["id"], "text": d["text"], "url": d["metadata"]["url"]} for d in docs]
        with tempfile.TemporaryDirectory(prefix="curate-vs-dt-") as tmp:
            work = Path(tmp)
            mb = write_jsonl(docs, work / "raw")
            best = {}
            for _ in range(args.repeat):  # interleaved; the least-CPU run of each counts
                for tool in ("curate", "datatrove"):
                    for d in (("curate",) if tool == "curate" else DATATROVE_DIRS):
                        shutil.rmtree(work / d, ignore_errors=True)
                    m = (run_curate(work, "ingest,langid,filter,dedup", ["--set", f"filter.domains.web={json.dumps(FILTERS)}"])
                         if tool == "curate" else run_datatrove(args.datatrove_python, work, "pipeline"))
                    if tool not in best or m["cpu"] < best[tool]["cpu"]:
                        best[tool] = m
                    best[tool]["sets"] = curate_sets(work) if tool == "curate" else datatrove_sets(work, "pipeline")
            rows.append((scale, n, mb, best))
            c, d = best["curate"], best["datatrove"]
            print(f"\n{n:,} web documents, {mb:.1f} MB of text")
            print(f"  {'':10s} {'CPU s':>8s} {'wall s':>8s} {'peak MB':>8s} {'after filters':>14s} {'kept':>8s}")
            for tool, m in best.items():
                print(f"  {tool:10s} {m['cpu']:8.1f} {m['wall']:8.1f} {m['mem_mb']:8.0f} {len(m['sets'][0]):14,} {len(m['sets'][1]):8,}")
            print(f"  CPU ratio curate / datatrove: {c['cpu'] / d['cpu']:.3f} (datatrove costs {d['cpu'] / c['cpu']:.1f}x)")
            print(f"  after the filters: {agreement(c['sets'][0], d['sets'][0])}")
            print(f"  kept after dedup:  {agreement(c['sets'][1], d['sets'][1])}")
            if scale == scales[0]:
                disagreements(args, work)
    if len(rows) > 1:
        (_, _, mb1, b1), (_, _, mb2, b2) = rows[-2], rows[-1]
        mc = (b2["curate"]["cpu"] - b1["curate"]["cpu"]) / (mb2 - mb1)
        md = (b2["datatrove"]["cpu"] - b1["datatrove"]["cpu"]) / (mb2 - mb1)
        print(f"\nmarginal CPU per MB of text between the two largest scales: curate {mc:.2f} s/MB, datatrove {md:.2f} s/MB "
              f"(ratio {mc / md:.3f}; datatrove costs {md / mc:.1f}x)")


def dedup_quality(args) -> None:
    import groundtruth
    import jaccard_truth as jt

    corpus = groundtruth.build_corpus(docs=args.gt_docs, seed=0)
    texts, ids = [d["text"] for d in corpus], [d["id"] for d in corpus]
    sets, pairs = groundtruth.truth(texts)
    index = {d: i for i, d in enumerate(ids)}
    print(f"\ndedup quality: bench/groundtruth.py corpus, {len(ids):,} documents, {len(pairs):,} pairs at true 5-gram J >= 0.7")
    print(f"  {'':10s} {'removed':>8s} {'precision':>10s} {'pair recall':>12s} {'at J >= 0.8':>12s} {'removed at true J < 0.5':>24s} {'CPU s':>7s}")
    for tool in ("curate", "datatrove"):
        with tempfile.TemporaryDirectory(prefix="curate-vs-dt-gt-") as tmp:
            work = Path(tmp)
            write_jsonl([{"id": i, "text": t} for i, t in zip(ids, texts)], work / "raw")
            m = (run_curate(work, "ingest,dedup", ["--set", "dedup.methods=['minhash']"]) if tool == "curate"
                 else run_datatrove(args.datatrove_python, work, "dedup"))
            removals = (curate_sets(work) if tool == "curate" else datatrove_sets(work, "dedup"))[2]
        true_j = [jt.jaccard(sets[index[r]], sets[index[k]]) for r, (k, _) in removals.items()]
        precision = sum(j >= 0.7 for j in true_j) / max(1, len(true_j))
        hit = [(ids[i] in removals or ids[j] in removals, jac) for i, j, jac in pairs]
        recall = sum(h for h, _ in hit) / max(1, len(hit))
        recall8 = sum(h for h, jac in hit if jac >= 0.8) / max(1, sum(jac >= 0.8 for _, jac in hit))  # above curate's verify (0.75)
        print(f"  {tool:10s} {len(removals):8,} {precision:10.4f} {recall:12.4f} {recall8:12.4f} {sum(j < 0.5 for j in true_j):24,} {m['cpu']:7.1f}")


def _has_datatrove(python: str) -> bool:
    try:
        return bool(python) and subprocess.run([python, "-c", "import datatrove"], capture_output=True).returncode == 0
    except OSError:  # no such program
        return False


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datatrove-python", default=os.environ.get("CURATE_DATATROVE_PYTHON", ""),
                    help="python of a venv with datatrove installed (see the module docstring)")
    ap.add_argument("--docs", type=int, default=2000, help="web documents at scale 1")
    ap.add_argument("--scales", default="1,4")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--gt-docs", type=int, default=8000, help="documents of the dedup-quality corpus (0: skip)")
    args = ap.parse_args(argv)
    if not _has_datatrove(args.datatrove_python):
        sys.exit("bench_vs_datatrove: give --datatrove-python, the python of a venv with datatrove installed:\n"
                 "  python3 -m venv .bench-datatrove && .bench-datatrove/bin/pip install 'datatrove[io,processing]==0.10.1' spacy")
    cost(args)
    if args.gt_docs:
        dedup_quality(args)


if __name__ == "__main__":
    main()
