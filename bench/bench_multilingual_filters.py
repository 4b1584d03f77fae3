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

Then the bounds of labels outside the table (``fallback``): the widest of the table's
languages in the document's script (shipped) against the widest of the whole table (the
file without ``fallback.scripts``), on every set but lingua (documents whose decision
differs); and on lingua's check half, each tabled language left out of the table in turn
(its bounds re-derived without it, as for a language the lingua data lacks), so its good
documents get English's, the whole table's or its script's widest bounds of the others.
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
from curate.stages.filters import NONSPACE, Filter, language_constants
from curate.stages.langid import LangID
from curate.stages.multilingual_data import lingua_documents, udhr_documents
from curate.readers.common import Limits
from curate.readers.extract_helper import extract_html

REPO = Path(__file__).resolve().parents[1]
# The word- and sentence-based rules the per-language constants touch (others do not change).
SHORT_WORDS = 40  # between the table's smallest minimum word count (33) and English's 50
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


def web_sets(corpora: Path) -> dict:
    """The real web pages: the Dolma CC sample, the two WARC samples, the HTML benchmark pages."""
    dolma = [json.loads(x) for x in gzip.open(corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
    return {
        "Dolma CC docs": rows([d["text"] for d in dolma], [(d.get("metadata") or {}).get("url") for d in dolma]),
        "WARC samples": warc_docs(corpora),
        "HTML benchmark pages": html_docs(corpora),
    }


def lingua_docs(corpora: Path) -> pa.RecordBatch:
    docs = [(lang, t) for lang, t, h in lingua_documents(corpora) if h == "check" and lang not in NONSPACE]
    return rows([t for _, t in docs], langs=[lang for lang, _ in docs])


def cut_words(text: str, n: int) -> str:
    """The first ``n`` words of ``text``, its lines kept: a short page where the minimum word count decides."""
    out, left = [], n
    for line in text.split("\n"):
        words = line.split()
        if left <= 0:
            break
        out.append(" ".join(words[:left]))
        left -= len(words)
    return "\n".join(out)


def constants_file(tmp: Path, name: str, leave_out: str | None = None, scripts: bool = True) -> str:
    """The shipped per-language constants without ``fallback.scripts`` (``scripts=False``)
    and/or with ``leave_out`` moved from the table to the fallback labels; the file's path."""
    data = json.loads(language_constants.OUTPUT.read_text(encoding="utf-8"))
    if leave_out is not None:
        table = {k: v for k, v in data["languages"].items() if k != leave_out}
        data["languages"], data["fallback"] = table, language_constants.fallback(table, data["fallback"]["languages"] + [leave_out])
    if not scripts:
        data["fallback"].pop("scripts")
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def fallback_by_script(sets: dict, lingua: pa.RecordBatch) -> None:
    """What bounds per script change against the whole table's widest (see the module doc)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("\n== labels outside the table: widest bounds of the document's script (shipped) vs of the whole table")
        whole = Filter({"language_constants": constants_file(tmp, "whole", scripts=False)})
        for name, batch in sets.items():
            a, b = ({r["id"]: r for r in f.process(batch)[1].to_pylist()} for f in (whole, Filter({})))
            diff = sorted(i for i in set(a) | set(b) if (a.get(i) or {}).get("rule") != (b.get(i) or {}).get("rule"))
            print(f"  {name}: {batch.num_rows} documents, decisions differ on {len(diff)}")
            for i in diff:
                r = a.get(i) or b.get(i)
                print(f"    {r['language']} whole table: {(a.get(i) or {}).get('rule')}, script: {(b.get(i) or {}).get('rule')}: {r['snippet'][:100]!r}")
        web = pa.Table.from_batches([b.select(lingua.schema.names + ["language_score"]) for k, b in sets.items() if k != "UDHR (web pages)"]).combine_chunks().to_batches()[0]
        short = rows([cut_words(t, SHORT_WORDS) for t in lingua.column("text").to_pylist()], langs=lingua.column("language").to_pylist())
        leave_one_out(tmp, "lingua check half (good text)", lingua)
        leave_one_out(tmp, f"the same cut to {SHORT_WORDS} words, Gopher quality rules only", short, {"domains": {"web": ["gopher_quality"]}})
        leave_one_out(tmp, "web samples (Dolma, WARC, HTML)", web)


def leave_one_out(tmp: Path, name: str, docs: pa.RecordBatch, base: dict | None = None) -> None:
    """Each tabled language's documents judged as if the language were outside the table (with
    the filter config ``base``); how often the keep/remove decision is not its own constants'."""
    base = base or {}
    langs = docs.column("language").to_pylist()
    table = json.loads(language_constants.OUTPUT.read_text(encoding="utf-8"))["languages"]
    setups = ("own constants", "English bounds", "whole table", "its script")
    removed, differ, by_script, n = Counter(), Counter(), Counter(), 0
    for lang in sorted(set(langs) & set(table)):
        mine = docs.filter(pa.array([x == lang for x in langs]))
        n += mine.num_rows
        cfgs = ({}, {"language_constants": ""},
                {"language_constants": constants_file(tmp, lang + "-whole", lang, scripts=False)},
                {"language_constants": constants_file(tmp, lang, lang)})
        got = {s: {r["id"]: r["rule"] for r in Filter({**base, **c}).process(mine)[1].to_pylist()} for s, c in zip(setups, cfgs)}
        for s, rem in got.items():
            removed[s] += len(rem)
            removed[s, "word"] += sum(r in WORD_RULES for r in rem.values())
            differ[s] += len(set(rem) ^ set(got["own constants"]))
            by_script[s, table[lang]["script"]] += len(set(rem) ^ set(got["own constants"]))
        if name.startswith("lingua") and len({frozenset(r.items()) for r in list(got.values())[1:]}) > 1:
            print(f"    {lang} ({table[lang]['script']}, {mine.num_rows} documents): "
                  + "; ".join(f"{k} {dict(Counter(v.values()))}" for k, v in got.items()))
    print(f"  {name}, each tabled language left out of the table in turn ({n} documents):")
    for s in setups:
        print(f"    {s:<15} removed {removed[s]} ({removed[s] / max(1, n):.3f}), by word/sentence rules {removed[s, 'word']}; "
              f"kept/removed differs from its own constants' on {differ[s]} "
              f"({', '.join(f'{k[1]} {v}' for k, v in sorted(by_script.items()) if k[0] == s and v)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--examples", type=int, default=3)
    args = ap.parse_args()
    langid = LangID({"languages": "all"})
    sets = {**web_sets(args.corpora), "UDHR (web pages)": rows([t for _, _, t in udhr_documents(args.corpora)])}
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
    lingua = sets.pop("lingua check half (good text)")
    fallback_by_script(sets, lingua)


if __name__ == "__main__":
    main()
