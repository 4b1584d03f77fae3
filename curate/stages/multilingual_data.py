"""The shared multilingual evaluation data, read the same way by the commands that derive
per-language constants (``curate.stages.lid_thresholds``, ``curate.stages.filters.language_constants``),
by ``bench/bench_lid.py`` and by the tests.

* lingua paragraphs: ``multilingual/lingua_sentences_dev.tsv`` (Leipzig web sentences,
  about 500 per language), consecutive same-language lines joined until >= 200 characters.
  Each paragraph falls in one of two halves by a hash of its text: ``derive`` (constants are
  computed from it) and ``check`` (acceptance numbers are reported on it), so no number is
  measured on the data it was fitted to.
* lingua documents: paragraphs of a language and of one half joined to 10 sentences, one per
  line (for the filters).
* UDHR documents: ``multilingual/udhr2/*.txt``, whole documents, labelled by file name (ISO
  639-3, mapped to the label lid.176 uses for that language where it has one).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

LINGUA = Path("multilingual") / "lingua_sentences_dev.tsv"
UDHR = Path("multilingual") / "udhr2"

# lid.176 labels that differ from ISO 639-1 / the macrolanguage code of their language.
LID176_ALIAS = {"nb": "no"}
# lid.176 labels that are Wikipedia codes, not the ISO 639-3 code of the same language:
# "als" is Alemannic there (ISO gsw), while ISO "als" (a udhr2 file) is Tosk Albanian.
NOT_ISO_639_3 = {"als"}


def half(text: str) -> str:
    """``derive`` or ``check``: a stable hash of the text, never its position."""
    return "check" if hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()[0] & 1 else "derive"


def lingua_paragraphs(corpora: Path, min_chars: int = 200, sep: str = " ") -> list[tuple[str, str, str]]:
    """(gold label, paragraph, half) for every paragraph of >= ``min_chars`` characters."""
    out, cur, buf = [], None, []
    with open(Path(corpora) / LINGUA, encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            lang, text = line.rstrip("\n").split("\t", 1)
            if lang != cur:
                cur, buf = lang, []
            buf.append(text.strip())
            if len(" ".join(buf)) >= min_chars:
                para = sep.join(buf)
                out.append((LID176_ALIAS.get(lang, lang), para, half(para)))
                buf = []
    return out


def lingua_documents(corpora: Path, sentences: int = 10) -> list[tuple[str, str, str]]:
    """(gold label, document, half): consecutive paragraphs of a language and of one half (as
    ``lingua_paragraphs(sep="\n")`` cuts them, the split the filter constants are derived
    from) joined until the document has ``sentences`` lines, one sentence a line (good web text
    of filter-sized length). Built from whole paragraphs of one half, so no sentence of a
    ``check`` document is in the ``derive`` half (ten consecutive lines hashed as one document
    shared half their sentences with derive paragraphs)."""
    out, buf = [], {}
    for lang, para, h in lingua_paragraphs(corpora, sep="\n"):
        lines = buf.setdefault((lang, h), [])
        lines += para.split("\n")
        if len(lines) >= sentences:
            out.append((lang, "\n".join(lines), h))
            buf[(lang, h)] = []
    return out


def udhr_label(name: str, labels=()) -> str | None:
    """lid.176-style label of a udhr2 file name (``deu``, ``por_BR``, ``cmn_hans``), or None
    where the name gives no language (numeric names): the 639-3 code itself where it is one
    of ``labels`` (lid.176 has ``min``, ``ceb``, ``war``...), else its 639-1 code or that of
    its macrolanguage. A retired 639-3 code (udhr2 keeps a few: ``fri``, ``auv``, ``lnc``,
    ``prv``) is first replaced by the code ISO 639-3 changed or merged it to (``fry``, ``oci``). Needs ``python-iso639`` (test extra)."""
    from iso639 import Language, LanguageNotFoundError

    code = name.split("_")[0]
    if code.isdigit():
        return None
    if code in labels and code not in NOT_ISO_639_3:
        return code
    try:
        lang = Language.from_part3(code)
        if lang.status == "R" and lang.retire_change_to:  # retired codes: fri -> fry, prv -> oci
            lang = Language.from_part3(lang.retire_change_to)
    except LanguageNotFoundError:
        return code
    if lang.part1:
        return LID176_ALIAS.get(lang.part1, lang.part1)
    if lang.macrolanguage:  # arb -> ar, cmn -> zh, swh -> sw, pes -> fa, ...
        macro = Language.from_part3(lang.macrolanguage)
        if macro.part1:
            return LID176_ALIAS.get(macro.part1, macro.part1)
    return code  # lid.176 uses 639-3 codes for languages without a 639-1 code (ceb, war, ...)


def udhr_documents(corpora: Path, labels=()) -> list[tuple[str, str, str]]:
    """(file stem, label, whole text) for every udhr2 file whose name gives its language."""
    out = []
    for p in sorted((Path(corpora) / UDHR).glob("*.txt")):
        label = udhr_label(p.stem, labels)
        if label is not None:
            out.append((p.stem, label, p.read_text(encoding="utf-8")))
    return out
