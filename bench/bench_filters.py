"""Throughput of the filter and langid stages on real text (single process).

    python bench/bench_filters.py [--corpora ../shared/corpora] [--repeat 3]

Prints filter MB/s (UTF-8 bytes in / CPU second) for web, books and code with the
default config, the web cost split by rule set, and langid throughput as a ratio to a
bare fastText ``predict`` call on the same (already prepared) texts: the stage's own
overhead is everything except that call. All times are CPU seconds (best of ``--repeat``),
so that a busy machine does not skew them.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from curate import schema
from curate.stages.filters import ORDER, Filter
from curate.stages.langid import LangID

REPO = Path(__file__).resolve().parents[1]


def rows_to_batch(rows, batch_size=1000):
    out = []
    for i in range(0, len(rows), batch_size):
        out.append(schema.docs_from_rows(rows[i : i + batch_size]))
    return out


def row(i, text, domain, url=None, language=None):
    return dict(
        id=str(i), text=text, domain=domain, source="bench", path="p", offset=i, url=url, language=language, meta=None
    )


def load_web(corpora: Path):
    path = corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz"
    docs = [json.loads(x) for x in gzip.open(path, "rt", encoding="utf-8")]
    return [row(i, d["text"], "web", d.get("metadata", {}).get("url")) for i, d in enumerate(docs)]


def load_books(corpora: Path):
    out = []
    for i, p in enumerate(sorted((corpora / "books").glob("*/*.txt"))):
        raw = p.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        m = re.search(r"^\*\*\* ?START OF.*$", text, re.M | re.I)
        text = text[m.end() :] if m else text
        m = re.search(r"^\*\*\* ?END OF", text, re.M | re.I)
        out.append(row(i, text[: m.start()] if m else text, "books"))
    return out


def load_code(corpora: Path):
    path = corpora / "code" / "code_sample.jsonl.gz"
    docs = [json.loads(x) for x in gzip.open(path, "rt", encoding="utf-8")]
    return [row(i, d["content"], "code", language=d["lang"]) for i, d in enumerate(docs)]


def mbytes(batches) -> float:
    return sum(pc.sum(pc.binary_length(b.column("text").cast(pa.large_binary()))).as_py() for b in batches) / 1e6


def best_time(fn, repeat: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeat):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def bench_filter(name, batches, cfg, repeat):
    f = Filter(cfg)
    f.setup()
    kept = [0]

    def run():
        kept[0] = sum(f.process(b)[0].num_rows for b in batches)

    dt = best_time(run, repeat, time.process_time)
    mb = mbytes(batches)
    n = sum(b.num_rows for b in batches)
    print(f"  {name:28s} {mb:7.2f} MB {n:6d} docs  {mb / dt:7.2f} MB/s  {n / dt:8.0f} docs/s  kept {kept[0]}/{n}")
    return mb / dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    web = rows_to_batch(load_web(args.corpora))
    books = rows_to_batch(load_books(args.corpora), batch_size=8)
    code = rows_to_batch(load_code(args.corpora))

    # Label web and books as the pipeline would (langid runs before filter).
    lid = LangID({"languages": "all"})
    lid.setup()
    web = [lid.process(b)[0] for b in web]
    books = [lid.process(b)[0] for b in books]

    print("filter stage (default config, one process):")
    bench_filter("web (url+gopher+fineweb+c4+bw)", web, {}, args.repeat)
    bench_filter("books", books, {}, args.repeat)
    bench_filter("code", code, {}, args.repeat)
    print("web, one rule set at a time:")
    for name in ORDER:
        if name in ("code", "books"):
            continue
        bench_filter(name, web, {"domains": {"web": [name]}}, args.repeat)

    print("langid stage vs bare fastText predict on the same prepared texts (CPU time):")
    for name, batches in (("web", web), ("books", books), ("web+books", web + books)):
        prepared = [lid.prepare(b.column("text")) for b in batches]
        raw, stage = [], []
        # Interleaved runs, best of each, in CPU time (both sides are single-threaded): the
        # ratio stays meaningful on a machine shared with other work.
        for _ in range(max(10, args.repeat)):
            raw.append(best_time(lambda: [lid.model.predict(t, k=1) for t in prepared], 1, time.process_time))
            stage.append(best_time(lambda: [lid.process(b) for b in batches], 1, time.process_time))
        raw, stage = min(raw), min(stage)
        mb = mbytes(batches)
        print(
            f"  {name:10s} stage {mb / stage:8.1f} MB/s  raw predict {mb / raw:8.1f} MB/s  "
            f"ratio {raw / stage:.2f} (target >= 0.8)"
        )


if __name__ == "__main__":
    main()
