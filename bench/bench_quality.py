"""Quality scoring throughput: curate's stage against raw fastText ``predict`` on the same texts.

    python bench/bench_quality.py [--copies N] [--model default|PATH] [--prefix-chars N] [--pipeline]

Texts are the Dolma CC documents from ../shared/corpora (real web text), repeated ``--copies``
times, in batches of 1,000 as the pipeline sees them. Measured, best of 5:

* raw predict -- ``model.predict(lines, k=-1)`` on the already-prepared lines (one line per
                 document, newlines folded, cut to prefix_chars): the floor;
* stage score -- ``curate.stages.quality.QualityStage.score(batch)``: preparing the lines from the Arrow
                 column, predict, picking the positive label's probability, adding the column;
* pipeline    -- (``--pipeline``) ``curate run --stages ingest,quality`` with a top_fraction rule,
                 ingest and writing included, on the DirectRunner.

MB/s are of document text (UTF-8 bytes of the whole documents, not only the prefix scored), per
CPU-second (raw predict and stage score interleaved, best of 5; the pipeline once, its worker
processes' CPU included).
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
sys.path.insert(0, str(REPO))
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
SOURCE = "web/cc_main_2019_30_dolma_docs.jsonl.gz"


def best_of(fns, n=5) -> list[float]:
    """Best CPU seconds of each function (single-threaded fastText), runs interleaved: the
    machine may be shared."""
    times = [[] for _ in fns]
    for _ in range(n):
        for fn, ts in zip(fns, times):
            t = time.process_time()
            fn()
            ts.append(time.process_time() - t)
    return [min(ts) for ts in times]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--model", default="default")
    ap.add_argument("--prefix-chars", type=int, default=10000)
    ap.add_argument("--pipeline", action="store_true", help="also time `curate run --stages ingest,quality`")
    args = ap.parse_args(argv)

    from curate import schema
    from curate.stages.quality import QualityStage, prepare

    with gzip.open(CORPORA / SOURCE, "rt", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f] * args.copies
    mb = sum(len(t.encode()) for t in texts) / 1e6
    batches = [
        schema.docs_from_rows(
            [{"id": schema.make_id("b", str(i + j)), "text": t, "domain": "web", "source": "b", "path": "p", "offset": i + j}
             for j, t in enumerate(texts[i : i + 1000])]
        )
        for i in range(0, len(texts), 1000)
    ]
    stage = QualityStage({"web": {"model": args.model, "prefix_chars": args.prefix_chars}}).setup()
    model = stage.models["web"]
    lines = [prepare(b.column("text"), args.prefix_chars) for b in batches]

    raw, scored = best_of([lambda: [model.predict(ls, k=-1) for ls in lines], lambda: [stage.score(b) for b in batches]])
    print(f"{len(texts):,} docs, {mb:.1f} MB of text, prefix_chars={args.prefix_chars}, model={args.model}")
    print(f"raw predict : {mb / raw:8.1f} MB/s  {len(texts) / raw:10,.0f} docs/s")
    print(f"stage score : {mb / scored:8.1f} MB/s  {len(texts) / scored:10,.0f} docs/s  ratio to raw {raw / scored:.2f}")

    if args.pipeline:
        from curate import cli

        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "web.jsonl"
            with open(src, "w", encoding="utf-8") as f:
                for i, t in enumerate(texts):
                    f.write(json.dumps({"id": str(i), "text": t}) + "\n")
            cfg = Path(tmp) / "c.toml"
            cfg.write_text(f'[quality.web]\nmodel = "{args.model}"\nprefix_chars = {args.prefix_chars}\nkeep = {{top_fraction = 0.3}}\n')
            import resource

            def children():
                r = resource.getrusage(resource.RUSAGE_CHILDREN)
                return r.ru_utime + r.ru_stime

            t, c, k = time.perf_counter(), time.process_time(), children()
            rc = cli.main(["run", str(cfg), "--input", str(src), "--domain", "web", "--output", str(Path(tmp) / "out"),
                           "--stages", "ingest,quality", "--progress", "off"])
            dt, cpu = time.perf_counter() - t, time.process_time() - c + children() - k  # + its worker processes
            assert rc == 0
            print(f"pipeline    : {mb / cpu:8.1f} MB/s  {len(texts) / cpu:10,.0f} docs/s  ratio to raw {raw / cpu:.2f} "
                  f"(ingest + score + histogram + keep + write; {dt:.1f} s wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
