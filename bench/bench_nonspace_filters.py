"""Gopher's n-gram repetition rules on languages written without spaces (zh, ja, th, ...).

    python bench/bench_nonspace_filters.py [--corpora ../shared/corpora] [--examples 3] [--korean]

Those rules (``gopher_top_{2,3,4}gram_char_frac``, ``gopher_dup_{5..10}gram_char_frac``) used
to be skipped for non-space languages: a Chinese line or a Thai phrase is one whitespace
"word", so a page repeating one sentence 60 times on one line passed every rule. Now each Han,
kana, Thai, Lao, Khmer or Myanmar character is a word there (as in dedup). This runs the
filter stage on every document labelled a non-space language twice: as shipped, and with
those rules disabled (what curate did before), and prints what the rules now remove:

* good text: the lingua sentences of zh, ja, th (both halves: nothing is derived from them
  here) 10 to a document, and the UDHR translations of the non-space languages;
* real pages: the Dolma CC sample, the two WARC samples, the HTML benchmark pages (the sets of
  ``bench_multilingual_filters.py``), labelled by langid (every language kept);
* spam made from good text: each lingua document's first sentence repeated to the document's
  length, on one line (the shape of the SEO pages in the shared WARC).

Part 3 (``--korean``: it alone): Korean, which spaces its words, written without them (chat,
SMS-style forums, OCR): lingua's Korean sentences 10 to a document as written and with their
whitespace removed, one-sentence stubs, a first sentence repeated (spam), and the UDHR, with
``filter.unspaced_languages`` off (``{}``: before) and as shipped, in one run; and the filter's
speed on the Korean documents as written (the whitespace-per-letter count it adds).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_multilingual_filters import rows, web_sets  # noqa: E402

from curate.stages.filters import NONSPACE, Filter  # noqa: E402
from curate.stages.filters.gopher_repetition import GOPHER_REPETITION  # noqa: E402
from curate.stages.langid import LangID  # noqa: E402
from curate.stages.multilingual_data import lingua_documents, udhr_documents  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COUNT_RULES = ["gopher_min_words", "gopher_max_words"]
NGRAM_RULES = [f"gopher_top_{n}gram_char_frac" for n in GOPHER_REPETITION["max_top_ngram_char_frac"]] + [
    f"gopher_dup_{n}gram_char_frac" for n in GOPHER_REPETITION["max_dup_ngram_char_frac"]]


def nonspace_only(batch):
    import pyarrow as pa

    keep = [str(x).split("_")[0] in NONSPACE for x in batch.column("language").to_pylist()]
    return batch.filter(pa.array(keep))


def spam(text: str) -> str:
    """The document's first sentence repeated, on one line, to about the document's length."""
    first = text.split("\n")[0]
    return (first * (len(text) // max(1, len(first)) + 1))[: max(len(text), len(first))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--examples", type=int, default=3)
    ap.add_argument("--sweep", default="1,2,3,4,5", help="values of nonspace_ngram_chars to compare (removals per set)")
    ap.add_argument("--korean", action="store_true", help="part 3 only: Korean written without spaces")
    args = ap.parse_args()
    docs = lingua_documents(args.corpora)
    if args.korean:
        return korean(args.corpora, docs)
    lingua = [(lang, t) for lang, t, _ in docs if lang in NONSPACE]
    english = [t for lang, t, _ in docs if lang == "en"]
    udhr = [(lang, t) for _, lang, t in udhr_documents(args.corpora) if lang in NONSPACE]
    langid = LangID({"languages": "all"})
    sets = {
        "lingua zh/ja/th, 10 sentences (good)": rows([t for _, t in lingua], langs=[lang for lang, _ in lingua]),
        "UDHR, non-space languages (good)": rows([t for _, t in udhr], langs=[lang for lang, _ in udhr]),
        **{k: nonspace_only(langid.process(b)[0]) for k, b in web_sets(args.corpora).items()},
        "lingua first sentence repeated (spam)": rows([spam(t) for _, t in lingua], langs=[lang for lang, _ in lingua]),
    }
    print("== part 1: word counts (characters / nonspace_chars_per_word for non-space languages)")
    compare(sets, Filter({"disable": COUNT_RULES}), Filter({}), COUNT_RULES, args.examples)
    print("\n  stubs: the first k sentences of each lingua document: removed by gopher_min_words; "
          "removed by any rule with, and without, the word counts")
    full, without = Filter({}), Filter({"disable": COUNT_RULES})
    for k in (1, 2, 4, 8):
        for label, texts, langs in (("zh/ja/th", [t for _, t in lingua], [lang for lang, _ in lingua]),
                                    ("en", english, ["en"] * len(english))):
            cut = rows(["\n".join(t.split("\n")[:k]) for t in texts], langs=langs)
            led = full.process(cut)[1].to_pylist()
            by = Counter(r["language"] for r in led if r["rule"] == "gopher_min_words")
            anyrule = Counter(r["language"] for r in led)
            was = Counter(r["language"] for r in without.process(cut)[1].to_pylist())
            print(f"    {k} sentence(s), {label}: {sum(by.values())}/{len(texts)} {dict(sorted(by.items()))}; "
                  f"any rule {dict(sorted(anyrule.items()))}, without the word counts {dict(sorted(was.items()))}")
    print("\n== part 2: n-gram repetition rules (each such character a word, n-grams of 4n characters)")
    before, after = Filter({"disable": NGRAM_RULES}), Filter({})
    compare(sets, before, after, NGRAM_RULES, args.examples)
    spaced = [(lang, t) for lang, t, _ in docs if lang in ("en", "de", "fr", "ru")]
    sweep(sets, args.sweep, before, after, rows([t for _, t in spaced], langs=[lang for lang, _ in spaced]))


def korean(corpora: Path, docs) -> None:
    """Part 3: Korean as written and without its whitespace, unspaced_languages off and on."""
    import re
    import time

    glue = lambda t: re.sub(r"\s+", "", t)  # noqa: E731
    pages = [t for lang, t, _ in docs if lang == "ko"]
    udhr = [t for _, lang, t in udhr_documents(corpora) if lang == "ko"]
    first = [t.split("\n")[0] for t in pages]
    texts = {"10 sentences as written (good)": pages, "10 sentences, no whitespace (good)": [glue(t) for t in pages],
             "10 sentences, one a line, no spaces (good)": ["\n".join(map(glue, t.split("\n"))) for t in pages],
             "UDHR as written, and no spaces (good)": udhr + ["\n".join(map(glue, t.split("\n"))) for t in udhr],
             "first sentence, no spaces (stub)": [glue(t) for t in first],
             "first sentence as written (stub)": first,
             "first sentence repeated, no spaces (spam)": [(glue(f) * 40)[: len(glue(t))] for f, t in zip(first, pages)]}
    off, on = Filter({"unspaced_languages": {}}), Filter({})
    print("== part 3: Korean written without spaces (removed: unspaced_languages = {} (before) -> as shipped)")
    for name, ts in texts.items():
        batch = rows(ts, langs=["ko"] * len(ts))
        got = [Counter(r["rule"] for r in f.process(batch)[1].to_pylist()) for f in (off, on)]
        print(f"  {name}: {sum(got[0].values())}/{len(ts)} {dict(got[0])} -> {sum(got[1].values())}/{len(ts)} {dict(got[1])}")
    timed = pages * 10  # ~40 ms a pass: steadier than a few ms on a shared machine
    batch = rows(timed, langs=["ko"] * len(timed))
    chars, best = sum(map(len, timed)), [float("inf")] * 2
    for _ in range(15):  # interleaved, the fastest of 15: the least disturbed by other processes
        for k, f in enumerate((off, on)):
            t = time.perf_counter()
            f.process(batch)
            best[k] = min(best[k], time.perf_counter() - t)
    speed = [chars / b / 1e6 for b in best]
    print(f"  filter stage on the {len(pages)} Korean documents as written, 10 times: {speed[0]:.2f} M characters/s before, "
          f"{speed[1]:.2f} with the whitespace count ({speed[1] / speed[0]:.2f}x)")


def compare(sets, before, after, rules, examples):
    for name, batch in sets.items():
        a, b = ({r["id"]: r for r in f.process(batch)[1].to_pylist()} for f in (before, after))
        langs = Counter(batch.column("language").to_pylist())
        print(f"\n== {name}: {batch.num_rows} documents ({', '.join(f'{k} {v}' for k, v in sorted(langs.items()))})")
        print(f"  removed without these rules {len(a)}, with them {len(b)}; by these rules {sum(r['rule'] in rules for r in b.values())}")
        only = [r for i, r in sorted(b.items()) if i not in a]
        print(f"  removed only now: {len(only)} {dict(Counter((r['language'], r['rule']) for r in only))}")
        for r in only[:examples]:
            print(f"    {r['language']} {r['rule']} value={r['value']:.3g} threshold={r['threshold']:.3g}: {r['snippet'][:120]!r}")
        for r in (r for i, r in sorted(a.items()) if i not in b):
            print(f"    removed without them only: {r['language']} {r['rule']}")  # cannot happen: only rules were added


def sweep(sets, values, before, after, spaced):
    import time

    import pyarrow as pa

    def joined(batches):
        return pa.Table.from_batches([b.select(spaced.schema.names) for b in batches]).combine_chunks().to_batches()[0]

    timed = {"non-space, all sets but spam": joined([b for k, b in sets.items() if "spam" not in k]),
             "non-space spam": joined([b for k, b in sets.items() if "spam" in k]),
             "lingua en/de/fr/ru (reference)": spaced}
    for name, b in timed.items():
        chars = sum(map(len, b.column("text").to_pylist()))
        speed = []
        for f in (before, after):
            f.process(b)  # warm (numba, flag table)
            best = float("inf")
            for _ in range(7):  # the fastest of 7: the least disturbed by other processes
                t = time.perf_counter()
                f.process(b)
                best = min(best, time.perf_counter() - t)
            speed.append(chars / best / 1e6)
        print(f"\n  filter stage, {name} ({b.num_rows} documents, {chars:,} characters): "
              f"{speed[0]:.2f} M characters/s without the n-gram rules, {speed[1]:.2f} with them")
    print("\n== removed by the n-gram rules, per nonspace_ngram_chars (characters per word of an n-gram)")
    print("  " + " | ".join(["k"] + list(sets)))
    for k in map(int, values.split(",")):
        f = Filter({"gopher_repetition": {"nonspace_ngram_chars": k}})
        got = [sum(r["rule"] in NGRAM_RULES for r in f.process(b)[1].to_pylist()) for b in sets.values()]
        print("  " + " | ".join([str(k)] + [f"{g}/{b.num_rows}" for g, b in zip(got, sets.values())]))


if __name__ == "__main__":
    main()
