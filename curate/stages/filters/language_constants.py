"""Per-language constants of the word-based web rules (``curate/data/filter_languages.json``).

    python -m curate.stages.filters.language_constants [--corpora ../shared/corpora]

The Gopher and FineWeb constants were chosen on English: 50 words, mean word length 3-10,
lines of <= 30 characters are "short", and the stop words are English. FineWeb-2 re-derived
such constants per language from data. Here, from the lingua paragraphs (web sentences of
the Leipzig corpora, the ``derive`` half only; ``curate.stages.multilingual_data``) of every
space-separated language, with English measured on the same data as the reference:

* ``m``: the median over paragraphs of the mean word length (words as the rules count them:
  separated by whitespace or the Ethiopic wordspace); ``r = m / m_en``, and ``c = (m + 1) / (m_en + 1)`` (characters per
  word with its space);
* ``gopher_quality.min_mean_word_length`` / ``max_mean_word_length``: English's 3 and 10
  times ``r`` (a Finnish page has longer words than an English one of the same quality);
* ``gopher_quality.min_words``: 50 / ``c``, so the minimum is the same amount of text in
  characters;
* stop words, for the same rule (>= 2 distinct present): of the language's 100 most frequent
  words (letters and combining marks only, lower-cased), the ones the rule finds in the most
  paragraphs; 8 of them (as many as Gopher's English list), and more while the list passes
  a smaller share of the language's paragraphs than English's list passes of English
  paragraphs (FineWeb-2's idea: remove as much good text as in English). A language that
  16 words do not bring there gets no list (the rule is skipped for it, as before): languages
  that write function words as suffixes (Tamil, Georgian, Kazakh...) have too few stop words
  for a 2-of-N rule, and a longer list would be topic words of the sample.
  Found "the way the rule finds them" matters: its whole-word match does not see a word that
  ends in a combining vowel sign (Tamil, Hindi...), and a list of such words would remove
  good text.

FineWeb's short-line length (30 characters) is not scaled: scaled by ``c`` it removed
Ukrainian Wikipedia pages on the Dolma sample for their short menu lines, and a short line
is a layout signal (menus, lists) more than a language one.

* ``fallback``: every other label the shipped LID model (``lid.176.ftz``) can emit, but English
  and the non-space languages (103 of its 176: Malayalam, Amharic, Kannada, Galician, Quechua...),
  gets the widest bounds of the table's languages written in the document's script (the smallest
  ``min_words`` and ``min_mean_word_length``, the largest ``max_mean_word_length``; ``scripts``,
  by ISO 15924 code: a language's script is the one most letters of its paragraphs are in), or
  of the whole table where no tabled language is written in it, not English's: a page that the
  bounds of a measured language of its script would keep is not removed for not being English
  (the Malayalam UDHR, 12 characters a word, failed English's 10), and an Arabic-script page
  needs as much text as Arabic, Persian or Urdu do. No stop words (none measured). A label the
  model lacks (another model's, or a language not listed here) is looked up by its language
  code (``lookup``).
* ``nonspace``: for each non-space language (zh, ja, th, km, lo, my, bo, and Korean, ``UNSPACED``,
  for its pages written without spaces) with a UDHR translation
  in its own script (``multilingual/udhr2``), ``chars_per_word``: that translation's characters
  (not whitespace) over the English UDHR's words (1,747), the median of its translations (zh:
  cmn_hans 1.655, cmn_hant 1.546). The same text in both, so ``gopher_quality.min_words`` (50)
  and ``max_words`` apply to such a page as that many English words' worth of characters
  (zh 1.6, ja 2.34, th 5.12 characters a word): without it a one-line Thai page had no length
  rule at all. The lingua sentences are not parallel, so they cannot give this.
* sentence-final marks: punctuation that ends >= 5% of the language's sentences and that the
  rules' list (``curate.stages.filters.text.TERMINAL``) lacks, e.g. Urdu ۔ and Armenian ։; the FineWeb
  line-punctuation rule, C4's line test and its sentence count accept them for that language.

English keeps its own constants (it is not in the file), so English results do not change.
The filter stage applies a language's constants only where the config leaves the English
default in place (``filter.language_constants = ""`` turns them off).
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from curate.stages.filters.rules import split_words
from curate.stages.multilingual_data import lingua_paragraphs

# Languages written without spaces between words (ISO 639-1 and 639-3 codes): the default
# filter.nonspace_languages. Not Korean: Hangul text separates its words (eojeol) with spaces
# and ends sentences with ". ? !", so the word and line rules fit it as they fit Finnish.
NONSPACE = ["zh", "ja", "th", "my", "km", "lo", "bo"]
NONSPACE += ["zho", "cmn", "yue", "wuu", "jpn", "tha", "mya", "khm", "lao", "bod"]
# ... and the scripts they are written in (ISO 15924), for labels that name one (GlotLID's
# dzo_Tibt, shn_Mymr: languages the codes above do not list).
NONSPACE += ["Hani", "Hans", "Hant", "Jpan", "Hira", "Kana", "Thai", "Mymr", "Khmr", "Laoo", "Tibt"]
# Spaced languages also written without spaces (Korean in chat, SMS-style forums, OCR): their
# characters per English word are measured too (``nonspace``), for such a document
# (filter.unspaced_languages).
UNSPACED = ["ko"]
OUTPUT = Path(__file__).resolve().parents[2] / "data" / "filter_languages.json"
STOP_WORDS, MAX_STOP_WORDS = 8, 16
TERMINAL_SHARE = 0.05
SCRIPT_SAMPLE = 2000  # characters of a document whose letters decide its script
# English values the constants are scaled from (the rule families' defaults).
EN = {"min_words": 50, "min_mean_word_length": 3.0, "max_mean_word_length": 10.0}


def is_word(w: str) -> bool:
    """Letters and combining marks only (str.isalpha rejects Indic words for their vowel signs)."""
    return all(unicodedata.category(ch)[0] in "LM" for ch in w)


def passing_share(docs: list, entries: list, need: int = 2) -> float:
    """Share of ``docs`` (rules.TextDoc) in which the stop-word rule finds >= ``need`` of ``entries``."""
    from curate.stages.filters.text import count_words

    return sum(count_words(d, entries, cap=need) >= need for d in docs) / max(1, len(docs))


def pick_stop_words(paragraphs: list[str], target: float, candidates: int = 100) -> list[str]:
    """Stop words that pass as large a share of the language's paragraphs as English's list
    passes of English ones (``target``): at least ``STOP_WORDS``, then more while short of it;
    none (the rule is skipped) if ``MAX_STOP_WORDS`` do not reach it. Candidates are the most frequent words, ranked by how many
    paragraphs the rule finds each in (as whole words, the way it matches them)."""
    from curate.stages.filters.rules import TextDoc
    from curate.stages.filters.text import compile_words, count_words

    freq = Counter(w for t in paragraphs for w in split_words(t.lower()) if is_word(w))
    docs = [TextDoc(t) for t in paragraphs]
    found = {w: sum(count_words(d, compile_words([w])) for d in docs) for w, _ in freq.most_common(candidates)}
    ranked = [w for w, n in sorted(found.items(), key=lambda kv: -kv[1]) if n]
    chosen = ranked[:STOP_WORDS]
    for w in ranked[STOP_WORDS:]:
        if passing_share(docs, compile_words(chosen)) >= target or len(chosen) >= MAX_STOP_WORDS:
            break
        chosen.append(w)
    return chosen if passing_share(docs, compile_words(chosen)) >= target else []


def terminal_marks(paragraphs: list[str]) -> str:
    """Punctuation that ends >= ``TERMINAL_SHARE`` of the language's sentences (the lines of
    the paragraphs) and that ``curate.stages.filters.text.TERMINAL`` lacks."""
    from curate.stages.filters.text import TERMINAL

    ends = Counter(line.strip()[-1:] for t in paragraphs for line in t.split("\n") if line.strip())
    total = sum(ends.values())
    return "".join(sorted(
        c for c, n in ends.items()
        if c and c not in TERMINAL and unicodedata.category(c).startswith("P") and n >= TERMINAL_SHARE * total
    ))


def mean_word_length(text: str) -> float:
    words = split_words(text)  # as the rules count them
    return sum(map(len, words)) / max(1, len(words))


def model_labels(model: str = "lid.176.ftz") -> list[str]:
    """The labels the shipped LID model can emit."""
    from curate.models import fasttext_model
    from curate.stages.langid import LABEL_PREFIX, LangID

    m = fasttext_model(LangID({"model": model}).model_path())
    return sorted(lab[len(LABEL_PREFIX):] for lab in m.get_labels())


def widest(entries) -> dict:
    """The widest Gopher bounds of ``entries`` (table entries): the smallest minimums, the largest maximum."""
    gq = [c["gopher_quality"] for c in entries]
    return {
        "min_words": min(g["min_words"] for g in gq),
        "min_mean_word_length": min(g["min_mean_word_length"] for g in gq),
        "max_mean_word_length": max(g["max_mean_word_length"] for g in gq),
    }


def fallback(table: dict, labels, nonspace=()) -> dict:
    """The bounds for ``labels`` the table lacks: the widest of the table's languages of the
    document's script, or of the whole table (see the docstring)."""
    by_script = defaultdict(list)
    for lang, c in sorted(table.items()):
        if c.get("script"):
            by_script[c["script"]].append(lang)
    return {
        "gopher_quality": widest(table.values()),
        "scripts": {s: {"gopher_quality": widest(table[x] for x in langs), "languages": langs}
                    for s, langs in sorted(by_script.items())},
        "languages": sorted(x for x in labels if x not in table and x != "en" and x not in nonspace),
    }


@functools.lru_cache(maxsize=None)
def _script_pattern(code: str):
    import regex  # tiktoken's dependency: Unicode's Script property by ISO 15924 code

    return regex.compile(r"[[\p{Script=%s}]&&[\p{L}\p{M}]]" % code, regex.V1)


def script_codes() -> list[str]:
    """Every ISO 15924 code of Unicode's Script property (``Latn``, ``Arab``...), as regex knows them."""
    import regex._regex as core

    values = core.get_properties()["SCRIPT"][1]
    return sorted(k.title() for k in values if len(k) == 4 and not k.startswith(("Z", "QAA")))


def dominant_script(text: str, scripts, sample: int = SCRIPT_SAMPLE) -> str | None:
    """The script of ``scripts`` (ISO 15924 codes) that more than half of the letters (and
    combining marks) of ``text``'s first ``sample`` characters are in, or None."""
    import regex

    head = text[:sample]
    letters = len(regex.findall(r"[\p{L}\p{M}]", head))
    for code in scripts:
        if letters and 2 * len(_script_pattern(code).findall(head)) > letters:
            return code
    return None


def nonspace_lengths(corpora: Path, nonspace=(), labels=()) -> dict:
    """``chars_per_word`` of each non-space language with a UDHR translation in its own script
    (see the module doc): characters as the filter counts them (``scan_words``, not whitespace)."""
    import regex

    from curate.stages.filters.rules import scan_words
    from curate.stages.multilingual_data import udhr_documents

    docs = udhr_documents(corpora, labels)
    en_words = len(split_words(next(t for stem, _, t in docs if stem == "eng")))
    own = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}\p{Hangul}]")
    per = defaultdict(list)
    for stem, lang, text in docs:
        letters = len(regex.findall(r"[\p{L}\p{M}]", text))
        if lang in nonspace and 2 * len(own.findall(text)) > letters:
            per[lang].append((stem, scan_words(text)[2] / en_words))
    return {lang: {"chars_per_word": round(float(np.median([r for _, r in v])), 3), "udhr": [stem for stem, _ in v]}
            for lang, v in sorted(per.items())}


def derive(corpora: Path, nonspace=(), labels=()) -> dict:
    paras = defaultdict(list)
    for lang, text, half in lingua_paragraphs(corpora, sep="\n"):
        if half == "derive" and lang not in nonspace:
            paras[lang].append(text)
    m_en = float(np.median([mean_word_length(t) for t in paras["en"]]))
    from curate.stages.filters.rules import TextDoc, load_list
    from curate.stages.filters.text import compile_words

    en_list = load_list("default", "stopwords_en.txt")
    target = passing_share([TextDoc(t) for t in paras["en"]], compile_words(en_list))
    out = {}
    for lang in sorted(paras):
        if lang == "en":
            continue
        m = float(np.median([mean_word_length(t) for t in paras[lang]]))
        r, c = m / m_en, (m + 1) / (m_en + 1)
        stop_words = pick_stop_words(paras[lang], target)
        out[lang] = {
            "gopher_quality": {
                "min_words": max(1, round(EN["min_words"] / c)),
                "min_mean_word_length": round(EN["min_mean_word_length"] * r, 2),
                "max_mean_word_length": round(EN["max_mean_word_length"] * r, 2),
            },
            "stop_words": stop_words,
            "terminal": terminal_marks(paras[lang]),
            "script": dominant_script("\n".join(paras[lang]), script_codes(), sample=50_000),
            "median_mean_word_length": round(m, 3),
            "paragraphs": len(paras[lang]),
        }
    return {
        "command": "python -m curate.stages.filters.language_constants",
        "data": "lingua_sentences_dev.tsv paragraphs (>= 200 chars), derive half",
        "english_median_mean_word_length": round(m_en, 3),
        "english_stop_word_pass_share": round(target, 4),
        "languages": out,
        "fallback": fallback(out, labels, nonspace),
        "nonspace": nonspace_lengths(corpora, set(nonspace) | set(UNSPACED), labels),
    }


def load(spec: str) -> dict[str, dict]:
    """language -> its constants (the table's, and for each label ``fallback`` names, the
    fallback's bounds: ``gopher_quality``, all scripts', and ``scripts``, ISO 15924 code ->
    the bounds of that script's); ``"default"``: the shipped file, ``""``: none."""
    if not isinstance(spec, str):
        raise ValueError(f'filter.language_constants: expected "default", a JSON file path or "", got {spec!r}')
    if not spec:
        return {}
    path = OUTPUT if spec == "default" else Path(spec)
    try:
        from curate.stages.lid_table import read_file_text

        data = json.loads(read_file_text(path))
        table = {str(k).lower(): v for k, v in data["languages"].items()}
        rest = data.get("fallback") or {"languages": []}
        scripts = {code: c["gopher_quality"] for code, c in (rest.get("scripts") or {}).items()}
        consts = {"gopher_quality": rest.get("gopher_quality", {}), "fallback": True, "scripts": scripts}
        for lang in rest["languages"]:
            table.setdefault(str(lang).lower(), consts)
        for lang, c in (data.get("nonspace") or {}).items():  # their word counts, from characters
            counts = {"gopher_quality": {"nonspace_chars_per_word": float(c["chars_per_word"])}}
            if str(lang).lower() in table:  # a spaced language (ko): for a document written without spaces
                table[str(lang).lower()] = {**table[str(lang).lower()], "unspaced": counts}
            else:
                table[str(lang).lower()] = counts
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"filter.language_constants: cannot read {path}: {e if type(e) is OSError else repr(e)}") from None
    return table


def lookup(label: str, known) -> tuple[str | None, str | None]:
    """(the code of ``known`` a language label means, the script its suffix names): the label
    itself, else its language code (``amh`` of ``amh_Ethi``, ``pt`` of ``pt-BR``) or that code's
    ISO 639-1 or macrolanguage code (``curate/data/language_aliases.json``: ``amh`` -> ``am``,
    ``arb`` -> ``ar``, ``pes`` -> ``fa``); None where none is known. The script is a suffix
    that is an ISO 15924 code of Unicode's Script property (``Ethi``), else None."""
    from curate.stages.language_codes import aliases

    low = label.strip().lower()
    code, *rest = re.split(r"[-_]", low)
    script = next((p.title() for p in rest if p.title() in _scripts()), None)
    for cand in (label, low, code, aliases().get(code)):  # as given first: a word list the config keys by it
        if cand and cand in known:
            return cand, script
    return None, script


@functools.lru_cache(maxsize=1)
def _scripts() -> frozenset:
    return frozenset(script_codes())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[4] / "shared" / "corpora")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    args = ap.parse_args(argv)
    out = derive(args.corpora, set(NONSPACE), model_labels())
    args.output.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.output}: {len(out['languages'])} languages (English median word length {out['english_median_mean_word_length']})")
    for lang, c in out["languages"].items():
        print(f"  {lang}: {c['gopher_quality']} stop={c['stop_words']}")
    for lang, c in out["nonspace"].items():
        print(f"  {lang} (non-space): {c['chars_per_word']} characters per English word ({', '.join(c['udhr'])})")
    fb = out["fallback"]
    print(f"  fallback for {len(fb['languages'])} other labels of the LID model: {fb['gopher_quality']}, by script:")
    for code, c in fb["scripts"].items():
        print(f"    {code} ({', '.join(c['languages'])}): {c['gopher_quality']}")


if __name__ == "__main__":
    main()
