"""HTML main-content extraction: quality and speed of every extractor on two public golds.

    python bench/bench_extract.py [--extractors blocks,resiliparse,trafilatura] [--core 0] [--half tuning]

Both golds are turned into a WARC (one response record per page, built here from the shared
files; nothing is committed) and read by curate's own WARC reader, ``read_shard`` with
``Limits(extractor=...)``: the same code, helper process included, as ``curate run``. The
process and its extraction helper are pinned to one core; pages/s is pages / wall seconds of
the whole read, pages/cpu-s is pages / CPU seconds of reader and helper together (steadier on
a shared machine); each is the best of ``--rounds`` interleaved reads, and each extractor's
ratio to Resiliparse is measured in the same run.

* trafilatura_eval (``../shared/corpora/web/trafilatura_eval``): each page has snippets that
  must be kept (``with``) and snippets that must go (``without``). A snippet counts as found
  when its whitespace-normalised text is a substring of the whitespace-normalised extract;
  TP/FN over ``with``, FP/TN over ``without``, micro-averaged over all snippets (trafilatura's
  own evaluation). Reported on the tuning half (sha1(url) % 2 == 0: the pages the extractor
  was designed on), the held-out half (never looked at while tuning), and per page language
  (the page's ``<html lang>``, primary subtag; "?" when absent). ``--half tuning`` scores and
  prints the tuning half only (for work on the extractor: the held-out half stays unseen).
* article_extraction_benchmark: the benchmark's metric, reimplemented here: 4-token shingles
  (``\\w+`` tokens) of the extract vs the gold ``articleBody``; per page TP/FP/FN normalised to
  sum 1; precision and recall are means over pages, F1 from those means.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("CURATE_CORPORA", REPO.parent / "shared" / "corpora"))
TRAF = "web/trafilatura_eval"
AEB = "web/article_extraction_benchmark"
_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"\w+")


def tuning_half(url: str) -> bool:
    """The pages the extractor was tuned on; the others were not looked at while tuning."""
    return int(hashlib.sha1(url.encode("utf-8")).hexdigest(), 16) % 2 == 0


def gold_pages(corpora: Path, name: str) -> list[dict]:
    """[{key, url, html, gold}] for one gold set, in a fixed order."""
    root = corpora / name
    if name == TRAF:
        gold = json.loads((root / "gold.json").read_text(encoding="utf-8"))
        items = [(url, url, g, root / g["html_file"]) for url, g in gold.items()]
    else:
        gold = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
        items = [(key, g["url"], g, root / "html" / f"{key}.html.gz") for key, g in gold.items()]
    return [{"key": k, "url": u, "gold": g, "html": gzip.decompress(p.read_bytes())} for k, u, g, p in sorted(items)]


def write_gold_warc(path: Path, pages: list[dict]) -> None:
    """One response record per page; the record's URI is a stand-in (gold keys are not all URLs)."""
    from curate.readers.warc_writer import write_warc

    write_warc(str(path), [(f"https://gold.test/{i}", p["html"], "text/html", 200) for i, p in enumerate(pages)])


def texts_by_page(docs: list[dict], pages: list[dict]) -> tuple[list[str], list[dict]]:
    """Extracted text and meta per page (pages that came out empty get "")."""
    by_url = {d["url"]: d for d in docs}
    texts, metas = [], []
    for i in range(len(pages)):
        d = by_url.get(f"https://gold.test/{i}")
        texts.append(d["text"] if d else "")
        metas.append(json.loads(d["meta"]) if d and d.get("meta") else {})
    return texts, metas


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip()


def snippet_counts(text: str, gold: dict) -> tuple[int, int, int, int]:
    """(tp, fn, fp, tn) of one trafilatura_eval page."""
    t = _norm(text)
    found_with = sum(_norm(s) in t for s in gold["with"])
    found_without = sum(_norm(s) in t for s in gold["without"])
    return found_with, len(gold["with"]) - found_with, found_without, len(gold["without"]) - found_without


def prf(counts) -> dict:
    tp, fn, fp, _ = (sum(c[i] for c in counts) for i in range(4))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "pages": len(counts)}


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def shingle_scores(texts: list[str], golds: list[str]) -> dict:
    """The article-extraction-benchmark metric (see the module doc)."""
    ps, rs = [], []
    for pred, true in zip(texts, golds):
        a, b = _shingles(true), _shingles(pred)
        tp = sum((a & b).values())
        fp = sum((b - a).values())
        fn = sum((a - b).values())
        if fp == fn == 0:
            ps.append(1.0)
            rs.append(1.0)
            continue
        if tp + fp:
            ps.append(tp / (tp + fp))
        if tp + fn:
            rs.append(tp / (tp + fn))
    p, r = sum(ps) / len(ps), sum(rs) / len(rs)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "pages": len(texts)}


def _helper_cpu() -> float:
    """CPU seconds used so far by this thread's extraction helper process (Linux /proc)."""
    from curate.readers import extract_helper

    h = getattr(extract_helper._local, "helper", None)
    try:
        with open(f"/proc/{h.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (AttributeError, OSError, ValueError):
        return 0.0


def read_warc_docs(path: Path, extractor: str) -> tuple[list[dict], float, float]:
    """Docs of a WARC through curate's reader with ``extractor``, the wall seconds it took and
    the CPU seconds (this process + its extraction helper) it took."""
    from curate.readers import read_shard
    from curate.readers.common import Limits, Shard

    limits = Limits(extractor=extractor)
    shard = Shard(str(path), path.name, "warc", "web", "bench", ())
    list(read_shard(shard, limits))  # warm-up: helper process start, imports, caches
    t0, c0, h0 = time.perf_counter(), time.process_time(), _helper_cpu()
    docs = [row for kind, b in read_shard(shard, limits) if kind == "docs" for row in b.to_pylist()]
    return docs, time.perf_counter() - t0, time.process_time() - c0 + _helper_cpu() - h0


def page_hints(html: bytes) -> dict:
    """The page's own hints (title, <html lang>), parsed here, the same for every extractor."""
    from resiliparse.parse.html import HTMLTree

    from curate.readers import extract
    from curate.readers.html import _html_encoding

    return extract.page_hints(HTMLTree.parse(html.decode(_html_encoding(html, None), errors="replace")))


def lang_of(meta: dict) -> str:
    return (meta.get("html_lang") or "?").split("-")[0].split("_")[0].lower()[:3] or "?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--extractors", default="resiliparse,blocks,trafilatura")
    ap.add_argument("--core", type=int, default=0, help="CPU core to pin this process and its helper to")
    ap.add_argument("--rounds", type=int, default=3, help="timed reads per extractor, interleaved; the fastest counts")
    ap.add_argument("--corpora", default=str(CORPORA))
    ap.add_argument("--half", choices=("all", "tuning"), default="all", help="tuning: score and print the tuning half only")
    args = ap.parse_args()
    corpora = Path(args.corpora)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})  # the helper process inherits the one core
    extractors = args.extractors.split(",")
    if "trafilatura" in extractors:
        try:
            import trafilatura  # noqa: F401
        except ImportError:
            print("trafilatura not installed: skipped (pip install 'curate[trafilatura]')")
            extractors.remove("trafilatura")
    traf, aeb = gold_pages(corpora, TRAF), gold_pages(corpora, AEB)
    halves = [tuning_half(p["url"]) for p in traf]
    page_langs = [lang_of(page_hints(p["html"])) for p in traf]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        wt, wa = Path(tmp) / "traf.warc.gz", Path(tmp) / "aeb.warc.gz"
        write_gold_warc(wt, traf)
        write_gold_warc(wa, aeb)
        secs, cpu, reads = Counter(), Counter(), {}
        for r in range(args.rounds):  # interleaved, so load from other processes hits all alike
            for ex in extractors:
                if r and ex == "trafilatura":
                    continue  # ten times slower: one round is plenty
                runs = [read_warc_docs(wt, ex), read_warc_docs(wa, ex)]
                took, used = runs[0][1] + runs[1][1], runs[0][2] + runs[1][2]
                if r == 0 or took < secs[ex]:
                    secs[ex] = took
                if r == 0 or used < cpu[ex]:
                    cpu[ex] = used
                if r == 0:
                    reads[ex] = runs
        for ex in extractors:
            (docs, *_), (docs_a, *_) = reads[ex]
            texts, _ = texts_by_page(docs, traf)
            # with --half tuning the held-out pages are not scored (None)
            counts = [snippet_counts(t, p["gold"]) if h or args.half == "all" else None for t, p, h in zip(texts, traf, halves)]
            texts_a, _ = texts_by_page(docs_a, aeb)
            results[ex] = {
                "all": prf([c for c in counts if c]),
                "tuning": prf([c for c, h in zip(counts, halves) if h]),
                "held_out": prf([c for c, h in zip(counts, halves) if c and not h]),
                "langs": {},
                "aeb": shingle_scores(texts_a, [p["gold"].get("articleBody", "") for p in aeb]),
                "pages_per_s": (len(traf) + len(aeb)) / secs[ex],
                "pages_per_cpu_s": (len(traf) + len(aeb)) / cpu[ex] if cpu[ex] else 0.0,
            }
            by_lang: dict[str, list] = {}
            for c, lang in zip(counts, page_langs):
                if c:
                    by_lang.setdefault(lang, []).append(c)
            results[ex]["langs"] = {k: prf(v) for k, v in by_lang.items() if len(v) >= 10}
    base = results.get("resiliparse", {}).get("pages_per_s")
    base_cpu = results.get("resiliparse", {}).get("pages_per_cpu_s")
    print(f"trafilatura_eval: {len(traf)} pages ({sum(halves)} tuning, {len(traf) - sum(halves)} held out); "
          f"article_extraction_benchmark: {len(aeb)} pages; one core, through curate's WARC reader")  # fmt: skip
    head = f"{'extractor':<12} {'set':<9} {'P':>6} {'R':>6} {'F1':>6}"
    print(head + f" {'AEB P':>6} {'AEB R':>6} {'AEB F1':>6} {'pages/s':>8} {'ratio':>6} {'pages/cpu-s':>11} {'ratio':>6}")
    for ex, r in results.items():
        ratio = f"{r['pages_per_s'] / base:.2f}" if base else "-"
        ratio_cpu = f"{r['pages_per_cpu_s'] / base_cpu:.2f}" if base_cpu else "-"
        for i, part in enumerate(("all", "tuning", "held_out") if args.half == "all" else ("tuning",)):
            m = r[part]
            line = f"{ex if i == 0 else '':<12} {part:<9} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f}"
            if i == 0:
                a = r["aeb"]
                line += f" {a['precision']:6.3f} {a['recall']:6.3f} {a['f1']:6.3f} {r['pages_per_s']:8.0f} {ratio:>6}"
                line += f" {r['pages_per_cpu_s']:11.0f} {ratio_cpu:>6}"
            print(line)
    print(f"\nF1 by page language (<html lang>; languages with >= 10 pages{'; tuning half' if args.half == 'tuning' else ''})")
    langs = sorted({k for r in results.values() for k in r["langs"]})
    print(f"{'extractor':<12} " + " ".join(f"{k:>11}" for k in langs))
    for ex, r in results.items():
        print(f"{ex:<12} " + " ".join(
            f"{r['langs'][k]['f1']:6.3f}({r['langs'][k]['pages']:3d})" if k in r["langs"] else f"{'-':>11}" for k in langs
        ))  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
