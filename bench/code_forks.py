"""Near-duplicate code: how many forks of the shared code files dedup finds, with punctuation
separating words in code (``dedup.punct_splits = ["code"]``, the default) and without
(``[]``, the old normalisation), against exact Jaccard from code written here.

    python bench/code_forks.py [--forks 60] [--seed 7]

Input: the shared code sample (``code/code_sample.jsonl.gz``) plus forks of some of its files
(2-40 KB), made here in equal numbers per kind: indentation turned to tabs, 3 identifiers
renamed, a licence header added, blank lines dropped with ``=``/``,`` re-spaced (a formatter
run), 10 lines edited. Truth: word 5-gram Jaccard with StarCoder-style tokens (lowercased runs
of ``[A-Za-z_0-9]``) over every pair a separate datasketch LSH (threshold 0.4) proposes; no
curate code. Each configuration runs ``curate run --stages ingest,filter,dedup``; a pair is
found when either copy is removed.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import datasketch
import polars as pl

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpora", "code", "code_sample.jsonl.gz")
KINDS = ("tabs", "rename", "header", "respaced", "edited")


def fork(text: str, kind: str, rng: random.Random) -> str:
    if kind == "tabs":  # indentation redone: 4 spaces -> a tab, or (tab-indented already) a tab -> 2 spaces
        if re.search(r"(?m)^    ", text):
            return re.sub(r"(?m)^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), text)
        return text.replace("\t", "  ")
    if kind == "rename":
        names = sorted(set(re.findall(r"\b[a-z_][a-z0-9_]{4,}\b", text)))
        for w in rng.sample(names, min(3, len(names))):
            text = re.sub(rf"\b{w}\b", w + "_v2", text)
        return text
    if kind == "header":
        return "// Copyright (c) 2024 Fork Inc.\n// Licensed under the MIT License.\n// Modified from upstream.\n\n" + text
    if kind == "respaced":
        return re.sub(r"\n\n+", "\n", text).replace(" = ", "=").replace(", ", ",")
    lines = text.split("\n")
    for j in rng.sample(range(len(lines)), min(10, len(lines))):
        lines[j] += "  // patched"
    return "\n".join(lines)


def tokens5(text: str) -> set:
    w = re.findall(r"[a-z_0-9]+", text.lower())
    return {" ".join(w[i : i + 5]) for i in range(len(w) - 4)}


def run(inputs: list[str], out: str, *extra: str) -> tuple[set, set]:
    cmd = [sys.executable, "-m", "curate", "run", "--stages", "ingest,filter,dedup", "--output", out, "--progress", "off",
           "--workers", "1", *extra]
    for path in inputs:
        cmd += ["--input", path, "--domain", "code", "--text-field", "content", "--id-field", "id"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    ledger = pl.read_parquet(os.path.join(out, "ledger", "*.parquet"))
    return set(ledger.filter(pl.col("stage") == "dedup")["source_id"]), set(ledger.filter(pl.col("stage") != "dedup")["source_id"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--forks", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rows = [json.loads(x) for x in gzip.open(SAMPLE, "rt", encoding="utf-8")]
    rng = random.Random(args.seed)
    picked = rng.sample([r for r in rows if 2000 < len(r["content"]) < 40000], args.forks)
    forks = [dict(r, id=r["id"] + "-fork", content=fork(r["content"], KINDS[i % len(KINDS)], rng), kind=KINDS[i % len(KINDS)])
             for i, r in enumerate(picked)]
    texts = {r["id"]: r["content"] for r in rows + forks}
    with tempfile.TemporaryDirectory() as tmp:
        fork_file = os.path.join(tmp, "forks.jsonl")
        with open(fork_file, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in forks)
        results = {}
        for name, extra in (("before (punct_splits = [])", ["--set", "dedup.punct_splits=[]"]), ("after (default)", [])):
            sample = run([SAMPLE], os.path.join(tmp, "s"), *extra)
            with_forks = run([SAMPLE, fork_file], os.path.join(tmp, "f"), *extra)
            results[name] = (sample, with_forks)
    # Truth over the files the filter kept (the same set in both runs: the filter does not change).
    filtered = next(iter(results.values()))[0][1]
    shingles = {i: tokens5(t) for i, t in texts.items() if i not in filtered and not i.endswith("-fork")}
    lsh, sigs = datasketch.MinHashLSH(threshold=0.4, num_perm=128), {}
    for i, s in shingles.items():
        sigs[i] = datasketch.MinHash(num_perm=128)
        sigs[i].update_batch([x.encode() for x in s])
        lsh.insert(i, sigs[i])
    pairs = {}
    for i in shingles:
        for j in lsh.query(sigs[i]):
            if i < j:
                jac = len(shingles[i] & shingles[j]) / max(1, len(shingles[i] | shingles[j]))
                if jac >= 0.7:
                    pairs[(i, j)] = jac
    print(f"{len(shingles)} sample files after the filter; true pairs at J >= 0.7: {len(pairs)}")
    for name, ((removed, _), (removed_f, filtered_f)) in results.items():
        line = [name]
        for lo, hi in ((0.7, 0.8), (0.8, 1.01)):
            band = [p for p, v in pairs.items() if lo <= v < hi]
            line.append(f"sample J {lo}-{min(hi, 1.0)}: {sum(a in removed or b in removed for a, b in band)}/{len(band)}")
        line.append(f"sample removals {len(removed)}")
        for kind in KINDS:
            ks = [r for r in forks if r["kind"] == kind and r["id"] not in filtered_f and r["id"][:-5] not in filtered_f]
            found = sum(r["id"] in removed_f or r["id"][:-5] in removed_f for r in ks)
            line.append(f"{kind} {found}/{len(ks)}")
        print("; ".join(line))


if __name__ == "__main__":
    main()
