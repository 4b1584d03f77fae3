"""Per-language constants of the word-based web rules (``curate/data/filter_languages.json``).

    python -m curate.filters.language_constants [--corpora ../shared/corpora]

The Gopher and FineWeb constants were chosen on English: 50 words, mean word length 3-10,
lines of <= 30 characters are "short", and the stop words are English. FineWeb-2 re-derived
such constants per language from data. Here, from the lingua paragraphs (web sentences of
the Leipzig corpora, the ``derive`` half only; ``curate.multilingual_data``) of every
space-separated language, with English measured on the same data as the reference:

* ``m``: the median over paragraphs of the mean word length (whitespace-separated words, as
  the rules count them); ``r = m / m_en``, and ``c = (m + 1) / (m_en + 1)`` (characters per
  word with its space);
* ``gopher_quality.min_mean_word_length`` / ``max_mean_word_length``: English's 3 and 10
  times ``r`` (a Finnish page has longer words than an English one of the same quality);
* ``gopher_quality.min_words``: 50 / ``c``, so the minimum is the same amount of text in
  characters;
* stop words: the language's 8 most frequent words (letters and combining marks only,
  lower-cased), as many as Gopher's English list, for the same rule (>= 2 distinct present).

FineWeb's short-line length (30 characters) is not scaled: scaled by ``c`` it removed
Ukrainian Wikipedia pages on the Dolma sample for their short menu lines, and a short line
is a layout signal (menus, lists) more than a language one.

English keeps its own constants (it is not in the file), so English results do not change.
The filter stage applies a language's constants only where the config leaves the English
default in place (``filter.language_constants = ""`` turns them off).
"""
from __future__ import annotations

import argparse
import json
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from curate.multilingual_data import lingua_paragraphs

OUTPUT = Path(__file__).resolve().parent.parent / "data" / "filter_languages.json"
STOP_WORDS = 8
# English values the constants are scaled from (curate.filters.web defaults).
EN = {"min_words": 50, "min_mean_word_length": 3.0, "max_mean_word_length": 10.0}


def is_word(w: str) -> bool:
    """Letters and combining marks only (str.isalpha rejects Indic words for their vowel signs)."""
    return all(unicodedata.category(ch)[0] in "LM" for ch in w)


def mean_word_length(text: str) -> float:
    words = text.split()
    return sum(map(len, words)) / max(1, len(words))


def derive(corpora: Path, nonspace=()) -> dict:
    paras = defaultdict(list)
    for lang, text, half in lingua_paragraphs(corpora, sep="\n"):
        if half == "derive" and lang not in nonspace:
            paras[lang].append(text)
    m_en = float(np.median([mean_word_length(t) for t in paras["en"]]))
    out = {}
    for lang in sorted(paras):
        if lang == "en":
            continue
        m = float(np.median([mean_word_length(t) for t in paras[lang]]))
        r, c = m / m_en, (m + 1) / (m_en + 1)
        freq = Counter(w for t in paras[lang] for w in t.lower().split() if is_word(w))
        out[lang] = {
            "gopher_quality": {
                "min_words": max(1, round(EN["min_words"] / c)),
                "min_mean_word_length": round(EN["min_mean_word_length"] * r, 2),
                "max_mean_word_length": round(EN["max_mean_word_length"] * r, 2),
            },
            "stop_words": [w for w, _ in freq.most_common(STOP_WORDS)],
            "median_mean_word_length": round(m, 3),
            "paragraphs": len(paras[lang]),
        }
    return {
        "command": "python -m curate.filters.language_constants",
        "data": "lingua_sentences_dev.tsv paragraphs (>= 200 chars), derive half",
        "english_median_mean_word_length": round(m_en, 3),
        "languages": out,
    }


def load(spec: str) -> dict[str, dict]:
    """language -> its constants; ``"default"``: the shipped file, ``""``: none."""
    if not isinstance(spec, str):
        raise ValueError(f'filter.language_constants: expected "default", a JSON file path or "", got {spec!r}')
    if not spec:
        return {}
    path = OUTPUT if spec == "default" else Path(spec)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))["languages"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"filter.language_constants: cannot read {path}: {e!r}") from None
    return {str(k).lower(): v for k, v in table.items()}


def main(argv=None) -> None:
    from curate.filters import NONSPACE

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "corpora")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    args = ap.parse_args(argv)
    out = derive(args.corpora, set(NONSPACE))
    args.output.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.output}: {len(out['languages'])} languages (English median word length {out['english_median_mean_word_length']})")
    for lang, c in out["languages"].items():
        print(f"  {lang}: {c['gopher_quality']} stop={c['stop_words']}")


if __name__ == "__main__":
    main()
