"""What the per-language filter constants change, on real multilingual web text.

    python bench/bench_multilingual_filters.py [--corpora ../shared/corpora] [--examples 3]

Documents: the Dolma CC sample (JSONL), the two WARC samples and the trafilatura / article
extraction benchmark pages (HTML, extracted the way the WARC reader extracts), all labelled by
the langid stage (every language kept); the UDHR translations (``udhr2``, as web pages, many in
languages lid.176 does not know); and, as text known to be good, the ``check`` half of
the lingua sentences grouped 10 to a document. Each set goes through the filter stage twice:
with English constants for every language (``language_constants = ""``, what curate did
before) and with the shipped per-language ones. Prints removed documents per set (English and
the others), the English check (identical ids and rules), examples of non-English documents
the word/sentence rules remove, and of those each setup removes that the other keeps.
"""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate import schema
from curate.stages.filters import NONSPACE, Filter
from curate.stages.langid import LangID
from curate.stages.multilingual_data import lingua_documents, udhr_documents
from curate.readers.common import Limits
from curate.readers.extract_helper import extract_html

REPO = Path(__file__).resolve().parents[1]
# The word- and sentence-based rules the per-language constants touch (others do not change).
WORD_RULES = {"gopher_min_words", "gopher_min_mean_word_length", "gopher_max_mean_word_length", "gopher_stop_words",
              "fineweb_line_punct", "c4_min_sentences"}


def rows(texts, urls=None, langs=None):
    n = len(texts)
    urls, langs = urls or [None] * n, langs or [None] * n
    return schema.docs_from_rows([
        dict(id=f"{i:05d}", text=t, domain="web", source="b", path="p", offset=i, url=u, language=lang, meta=None)
        for i, (t, u, lang) in enumerate(zip(texts, urls, langs))
    ])


def warc_docs(corpora: Path) -> pa.RecordBatch:
    """Ingest the WARC samples with curate itself (ingest stage only)."""
    with tempfile.TemporaryDirectory() as tmp:
        toml = Path(tmp) / "run.toml"
        inputs = "".join(f'[[inputs]]\nglob = "{corpora / "web" / p}"\ndomain = "web"\n'
                         for p in ("cc_main_2020_34_resiliparse_sample.warc.gz", "dolma_wget_sample-0000.warc.gz"))
        toml.write_text(f'[run]\noutput = "{tmp}/out"\nstages = ["ingest"]\nprogress = "off"\n{inputs}')
        subprocess.run([sys.executable, "-m", "curate.cli", "run", str(toml)], check=True, capture_output=True, cwd=REPO)
        t = pq.read_table(f"{tmp}/out/text")
    return rows(t.column("text").to_pylist(), t.column("url").to_pylist())


def html_docs(corpora: Path) -> pa.RecordBatch:
    texts = []
    for p in sorted((corpora / "web").glob("*/html/*.html.gz")):
        status, text, _ = extract_html(gzip.open(p).read(), None, Limits())
        if status == "ok" and text.strip():
            texts.append(text)
    return rows(texts)


def lingua_docs(corpora: Path) -> pa.RecordBatch:
    docs = [(lang, t) for lang, t, h in lingua_documents(corpora) if h == "check" and lang not in NONSPACE]
    return rows([t for _, t in docs], langs=[lang for lang, _ in docs])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--examples", type=int, default=3)
    args = ap.parse_args()
    dolma = [json.loads(x) for x in gzip.open(args.corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
    langid = LangID({"languages": "all"})
    sets = {
        "Dolma CC docs": rows([d["text"] for d in dolma], [(d.get("metadata") or {}).get("url") for d in dolma]),
        "WARC samples": warc_docs(args.corpora),
        "HTML benchmark pages": html_docs(args.corpora),
        "UDHR (web pages)": rows([t for _, _, t in udhr_documents(args.corpora)]),
    }
    sets = {k: langid.process(b)[0] for k, b in sets.items()}
    sets["lingua check half (good text)"] = lingua_docs(args.corpora)
    for name, batch in sets.items():
        langs = dict(zip(batch.column("id").to_pylist(), batch.column("language").to_pylist()))
        n_en = sum(lang == "en" for lang in langs.values())
        removed = {}
        for setup, cfg in (("English constants", {"language_constants": ""}), ("per-language", {})):
            _, ledger = Filter(cfg).process(batch)
            removed[setup] = {r["id"]: r for r in ledger.to_pylist()}
        print(f"\n== {name}: {len(langs)} documents, {n_en} English, {len(langs) - n_en} other")
        for setup, rem in removed.items():
            other = [r for r in rem.values() if r["language"] != "en"]
            word = [r for r in other if r["rule"] in WORD_RULES]
            print(f"  {setup:<18} non-English removed {len(other)}/{len(langs) - n_en} "
                  f"({len(other) / max(1, len(langs) - n_en):.3f}), by word/sentence rules {len(word)}; "
                  f"English removed {sum(r['language'] == 'en' for r in rem.values())}/{n_en}")
        before, after = removed["English constants"], removed["per-language"]
        same_en = {i: r["rule"] for i, r in before.items() if langs[i] == "en"} == {
            i: r["rule"] for i, r in after.items() if langs[i] == "en"}
        print(f"  English: same documents removed, by the same rules: {same_en}")
        word = [r for i, r in sorted(after.items()) if r["language"] != "en" and r["rule"] in WORD_RULES]
        print(f"  non-English removed by word/sentence rules with per-language constants (first {args.examples} by id):")
        for r in word[: args.examples]:
            print(f"    {r['language']} {r['rule']} value={r['value']:.3g} threshold={r['threshold']:.3g}: "
                  f"{r['snippet'][:150]!r}")
        for label, a, b in (("removed only with per-language constants", after, before),
                            ("removed only with English constants", before, after)):
            only = [r for i, r in sorted(a.items()) if i not in b and r["language"] != "en"]
            print(f"  {label}: {len(only)} {dict(Counter((r['language'], r['rule']) for r in only))}")
            for r in only[: args.examples]:
                print(f"    {r['language']} {r['rule']} value={r['value']:.3g} threshold={r['threshold']:.3g}: "
                      f"{r['snippet'][:150]!r}")


if __name__ == "__main__":
    main()
