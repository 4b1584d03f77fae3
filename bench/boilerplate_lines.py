"""What line dedup removes from the shared Common Crawl documents and WARCs (the note in
docs/boilerplate.md comes from this command).

    python bench/boilerplate_lines.py [--max-docs 5]

Runs the pipeline twice per setting (without and with `linededup`) on the Dolma CC-MAIN-2019-30
documents plus every top-level shared WARC, once on the extracted text (ingest only) and once
after langid + filter (the default placement). Prints documents, characters and lines removed
and the share of characters, and the most frequent removed lines with how many documents
carry them (counted here in plain Python over the stage's input, with the normalisation of
bench/jaccard_truth.py, written without curate code, as a cross-check of the stage's own count:
with curate's own ``normalize`` a normalisation bug would be in both counts).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
sys.path.insert(0, str(REPO / "bench"))

import jaccard_truth as jt  # noqa: E402  (the cross-check's normalisation: no curate code)


def run(out: Path, stages: list[str], max_docs: int) -> Path:
    cfg = out.with_suffix(".toml")
    cfg.write_text(
        f'[run]\noutput = "{out}"\nstages = {json.dumps(stages)}\n'
        f'[[inputs]]\nglob = "{CORPORA}/web/cc_main_2019_30_dolma_docs.jsonl.gz"\ndomain = "web"\nsource = "dolma"\n'
        f'[[inputs]]\nglob = "{CORPORA}/web/*.warc.gz"\ndomain = "web"\nsource = "warc"\n'
        f'[langid]\nlanguages = []\n[linededup]\nmax_docs = {max_docs}\n')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "curate.cli", "run", str(cfg), "--progress", "off"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-docs", type=int, default=5)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="boilerplate-"))
    for label, before in (("extracted text (ingest -> linededup)", ["ingest"]),
                          ("after langid + filter (ingest -> langid -> filter -> linededup)", ["ingest", "langid", "filter"])):
        base = run(tmp / f"{len(before)}-base", before, args.max_docs)
        ld = run(tmp / f"{len(before)}-ld", before + ["linededup"], args.max_docs)
        docs = pl.read_parquet(base / "text/*.parquet").select("id", "text")
        stats = json.loads((ld / "manifest.json").read_text())["stats"]
        counts = json.loads((ld / "manifest.json").read_text())["counts"]["linededup"]
        # plain-Python count over the stage's input: documents per normalised line
        per_doc, example = Counter(), {}
        for t in docs["text"]:
            lines = t.split("\n")
            norm = [" ".join(jt.words(x)) for x in lines]
            for raw, n in zip(lines, norm):
                if n:
                    example.setdefault(n, raw.strip())
            per_doc.update({n for n in norm if n.strip("0 ")})  # lines with letters, as the stage counts
        frequent = {n: c for n, c in per_doc.items() if c > args.max_docs}
        chars_in = sum(len(t) for t in docs["text"])
        print(f"\n== {label}, max_docs = {args.max_docs}")
        print(f"documents in {docs.height:,}; changed {stats['linededup.docs_changed']:,}; "
              f"removed as too short afterwards {sum(counts['removed'].values()):,} {counts['removed']}")
        print(f"lines removed {stats['linededup.lines_removed']:,}; distinct lines in > {args.max_docs} documents: "
              f"{stats.get('linededup.frequent_lines', 0):,} (counted here in Python: {len(frequent):,})")
        assert len(frequent) == stats.get("linededup.frequent_lines", 0), "the cross-check disagrees with the stage"
        print(f"characters removed {stats['linededup.chars_removed']:,} of {chars_in:,} "
              f"= {stats['linededup.chars_removed'] / max(chars_in, 1):.2%}")
        print(f"most frequent removed lines (documents: line):")
        for n, c in sorted(frequent.items(), key=lambda kv: (-kv[1], kv[0]))[: args.top]:
            print(f"  {c:4d}  {example[n][:100]!r}")


if __name__ == "__main__":
    main()
