"""The data path at 1x, 4x and 16x: peak memory, shuffled bytes, CPU and wall, today's path
(documents through every shuffle, one process) against the default (spilled, every core).

    python bench/bench_datapath.py [--docs 24600] [--scales 1,4] [--repeat 2] [--json FILE]
    python bench/bench_datapath.py --scales 1,16 --repeat 1 --paths default   # the 16x run (~20 min)

The corpus is bench/bench_pipeline.py's mix (web JSONL, real HTML in WARC, code, book sections,
whole e-texts, planted duplicates; same config: every stage, quality's top fraction,
rebalance targets, one tokenizer thread). ``--docs`` 24,600 makes 1x about 96 MB of text,
so 16x is over 1.5 GB. Paths, each ``curate run`` in a fresh child process:

* ``today``   -- ``run.spill = false``, ``run.workers = 1``: Arrow batches of documents
                 through every shuffle, one process (the data path before spilling);
* ``spill1``  -- ``run.spill = true``, ``run.workers = 1``: spilled, one process;
* ``default`` -- no setting: spilled, one worker process per core (pipelines/pool.py).

Measured per run: wall; CPU of the whole process tree (the child and everything it waited
for: worker processes, HTML-extraction helpers), from the bench's RUSAGE_CHILDREN; peak memory
as the largest sum over the tree of PSS (proportional set size: pages the forked workers share
with their parent count once) sampled every 0.1 s from /proc, and the launching process's own
peak RSS. Shuffled bytes come from a separate metered run per path and scale
(``CURATE_SHUFFLE_METER``, pipelines/meter.py: every element entering a GroupByKey or
CoGroupByKey, or held for a side input, encoded with the runner's coder), divided by the text
bytes ingest let out; the bytes spilled to files are the manifest's ``staged`` (``bytes``, all
written; ``peak_bytes``, the most on disk at once, as steps' folders are released). Runs of the
paths are interleaved per round; the least-CPU run of each counts.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from memory import PeakMemory  # noqa: E402  (also bench_vs_datatrove's)

PATHS = {
    "today": 'spill = false\nworkers = 1\n',
    "spill1": 'spill = true\nworkers = 1\n',
    "default": "",
}


def run_curate(cfg: Path, out: Path, meter: Path | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if meter is not None:
        shutil.rmtree(meter, ignore_errors=True)
        meter.mkdir(parents=True)
        env["CURATE_SHUFFLE_METER"] = str(meter)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", "run", str(cfg), "--progress", "off"], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    mem = PeakMemory(proc.pid)
    mem.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    mem.done = True
    mem.join()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"curate run {cfg} failed ({proc.returncode}):\n{err[-3000:]}")
    m = json.loads((out / "manifest.json").read_text())
    res = {
        "wall": wall, "cpu": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
        "peak_pss_mb": mem.peak_kb / 1024, "processes": mem.procs,
        "main_rss_mb": mem.main_hwm_kb / 1024,  # the launching process's own peak RSS (VmHWM)
        "text_bytes": m["stats"].get("ingest.bytes_out", 0), "docs": m["counts"]["ingest"]["docs_out"],
        "staged_bytes": m.get("staged", {}).get("bytes", 0),
        "staged_peak_bytes": m.get("staged", {}).get("peak_bytes", 0),  # the most on disk at once
        "shards": m["config"]["run"]["shards"],
        "text_out_bytes": sum(e["bytes"] for e in m["outputs"]["text"]),
        "text_out_rows": sum(e["rows"] for e in m["outputs"]["text"]),
        "counts": {s: (c["docs_in"], c["docs_out"]) for s, c in m["counts"].items()},
    }
    if meter is not None:
        from pipelines.meter import totals

        res["shuffle"] = totals(str(meter))
    return res


def write_config(base: Path, path: str) -> Path:
    text = (base / "bench.toml").read_text()
    cfg = base / f"{path}.toml"
    cfg.write_text(text.replace("[run]\n", "[run]\n" + PATHS[path], 1).replace(
        f'output = {json.dumps(str(base / "out"))}', f'output = {json.dumps(str(base / ("out-" + path)))}'))
    return cfg


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=24600, help="documents at 1x (24,600: ~96 MB of text)")
    ap.add_argument("--scales", default="1,4")
    ap.add_argument("--paths", default="today,spill1,default")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-meter", action="store_true", help="skip the metered runs (shuffled bytes)")
    ap.add_argument("--meter-scales", default="1,4", help="scales that get a metered run")
    ap.add_argument("--keep", help="build the corpora here and keep them (reused when present)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    import bench_pipeline as bp

    scales = sorted({int(s) for s in args.scales.split(",")})
    paths = [p for p in args.paths.split(",") if p]
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="curate-datapath-"))
    tmp.mkdir(parents=True, exist_ok=True)
    results: dict = defaultdict(list)
    summary: dict = {"docs": args.docs, "cores": os.cpu_count(), "runs": {}}
    try:
        pools = None
        for s in scales:
            base = tmp / f"x{s}"
            if not (base / "bench.toml").exists():
                pools = pools or bp.load_pools()
                t = time.perf_counter()
                info = bp.build_corpus(pools, base, args.docs, s)
                print(f"{s}x: built {info['disk_bytes'] / 1e6:.0f} MB on disk ({time.perf_counter() - t:.0f} s)", flush=True)
            for p in paths:
                write_config(base, p)
        for r in range(max(1, args.repeat)):
            for s in scales:
                for p in paths:
                    base = tmp / f"x{s}"
                    res = run_curate(base / f"{p}.toml", base / f"out-{p}")
                    results[(s, p)].append(res)
                    print(f"round {r + 1}: {s}x {p:8s} {res['text_bytes'] / 1e6:7.1f} MB text: wall {res['wall']:6.1f} s, "
                          f"CPU {res['cpu']:6.1f} s, peak PSS {res['peak_pss_mb']:6.0f} MB ({res['processes']} processes), "
                          f"main RSS {res['main_rss_mb']:6.0f} MB", flush=True)
        meters = {}
        if not args.no_meter:
            for s in sorted(set(scales) & {int(x) for x in args.meter_scales.split(",")}):
                for p in paths:
                    base = tmp / f"x{s}"
                    meters[(s, p)] = run_curate(base / f"{p}.toml", base / f"out-{p}", meter=tmp / "meter")
        print()
        print(f"{'scale':>5} {'path':8} {'text MB':>8} {'CPU s':>7} {'CPU s/MB':>9} {'wall s':>7} {'wall/CPU':>9} "
              f"{'peak PSS MB':>12} {'main RSS MB':>12} {'shuffled/text':>14} {'spilled/text':>13} {'disk peak/text':>15}")
        for s in scales:
            for p in paths:
                best = min(results[(s, p)], key=lambda x: x["cpu"])
                mb = best["text_bytes"] / 1e6
                row = dict(best, cpu_per_mb=best["cpu"] / mb, wall_per_cpu=best["wall"] / best["cpu"],
                           cpus=[round(x["cpu"], 1) for x in results[(s, p)]])
                met = meters.get((s, p))
                if met:
                    row["shuffle"] = met["shuffle"]
                    row["shuffled_per_text"] = sum(v["bytes"] for v in met["shuffle"].values()) / met["text_bytes"]
                summary["runs"][f"{s}x/{p}"] = row
                sh = f"{row['shuffled_per_text']:.3f}" if met else "-"
                row["staged_per_text"] = best["staged_bytes"] / best["text_bytes"]  # every run's own manifest
                row["staged_peak_per_text"] = best["staged_peak_bytes"] / best["text_bytes"]
                st, pk = f"{row['staged_per_text']:.2f}", f"{row['staged_peak_per_text']:.2f}"
                print(f"{s:>4}x {p:8} {mb:8.1f} {best['cpu']:7.1f} {row['cpu_per_mb']:9.3f} {best['wall']:7.1f} "
                      f"{row['wall_per_cpu']:9.2f} {best['peak_pss_mb']:12.0f} {best['main_rss_mb']:12.0f} {sh:>14} {st:>13} {pk:>15}")
        print()
        runs = summary["runs"]
        for s in scales:
            if "today" in paths and "default" in paths:
                t, d = runs[f"{s}x/today"], runs[f"{s}x/default"]
                print(f"{s}x default vs today: CPU per MB {d['cpu_per_mb'] / t['cpu_per_mb']:.2f}x, wall {d['wall'] / t['wall']:.2f}x, "
                      f"peak PSS {d['peak_pss_mb'] / t['peak_pss_mb']:.2f}x")
        lo = min(scales)
        for s in scales:
            if s == lo:
                continue
            for p in paths:
                a, b = runs[f"{lo}x/{p}"], runs[f"{s}x/{p}"]
                shard_mb = b["text_out_bytes"] / b["shards"] / 1e6  # one output shard, as written (zstd Parquet)
                print(f"{p}: peak PSS {s}x / {lo}x = {b['peak_pss_mb'] / a['peak_pss_mb']:.2f} "
                      f"({b['peak_pss_mb']:.0f} MB vs 1.5 x {a['peak_pss_mb']:.0f} + one output shard {shard_mb:.1f} MB = "
                      f"{1.5 * a['peak_pss_mb'] + shard_mb:.0f} MB)")
        for (s, p), met in sorted(meters.items()):
            parts = ", ".join(f"{k} {v['bytes'] / met['text_bytes']:.3f}" for k, v in sorted(met["shuffle"].items(), key=lambda kv: -kv[1]["bytes"]))
            print(f"shuffled per text byte, {s}x {p}: {parts}")
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
