"""Language codes people type for a language, mapped to the ISO 639-1 code fastText LID
models label it with: the hint of ``langid.languages``' error (``jpn``, ``zh-CN``, ``iw``,
``german`` are not labels of lid.176; ``ja``, ``zh``, ``he``, ``de`` are).

``curate/data/language_aliases.json`` is generated from the ISO 639 tables (python-iso639, a
test extra; not needed at run time)::

    python -m curate.stages.language_codes [--output curate/data/language_aliases.json]

It maps the 639-2/639-3 codes and the English name of every language with a 639-1 code to that
code, and each member of a macrolanguage (``cmn``, ``arb``, ``pes``) to the macrolanguage's.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
from pathlib import Path

OUTPUT = Path(__file__).resolve().parents[1] / "data" / "language_aliases.json"

# Withdrawn 639-1 codes, country codes typed for languages, and lid.176's own choices.
EXTRA = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "jp": "ja", "cn": "zh", "kr": "ko", "gr": "el",
         "ua": "uk", "dk": "da", "cz": "cs", "vn": "vi", "fil": "tl", "nb": "no", "nob": "no"}


@functools.lru_cache(maxsize=1)
def aliases() -> dict:
    table = json.loads(OUTPUT.read_text(encoding="utf-8"))
    return {**table, **EXTRA}


def suggest(code: str, labels) -> str | None:
    """The label of ``labels`` a code that is not one most likely means, or None.
    A region or script after ``-``/``_`` (``zh-CN``, ``pt_BR``, ``sr-Latn``) is dropped."""
    labels = set(labels)
    low = code.strip().lower()
    for c in (low, re.split(r"[-_]", low)[0]):
        for cand in (c, aliases().get(c)):
            if cand and cand != code:
                cand = EXTRA.get(cand, cand)
                if cand in labels:
                    return cand
    return None


def build() -> dict:
    from iso639 import ALL_LANGUAGES, Language

    out: dict[str, str] = {}
    for lang in ALL_LANGUAGES:
        target = lang.part1
        if not target and lang.macrolanguage:  # arb -> ar, cmn -> zh
            macro = Language.from_part3(lang.macrolanguage)
            target = macro.part1
        if not target or lang.status != "A":
            continue
        keys = [lang.part3, lang.part2b, lang.part2t]
        if lang.part1 and re.fullmatch(r"[A-Za-z ]+", lang.name or ""):
            keys.append(lang.name.lower())
        for k in keys:
            if k and k != target:
                out.setdefault(k, target)
    return dict(sorted(out.items()))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", default=str(OUTPUT))
    args = ap.parse_args(argv)
    table = build()
    Path(args.output).write_text(json.dumps(table, indent=0, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(table)} aliases -> {args.output}")


if __name__ == "__main__":
    main()
