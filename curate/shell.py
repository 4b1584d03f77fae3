"""Paths in the commands curate prints for the next step, to copy into a shell as they are, and
names in its messages written so a terminal shows them as they are (one_line)."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys


def home_path(path: str) -> str:
    """A leading ``~`` (``~user``) is the home folder, as a shell would have it: a config's
    ``output = "~/corpus"`` is not a new folder named ``~`` in the current directory, nor is an
    option's ``--output=~/a`` (no shell expands a ``~`` after ``=``): the type of each path option."""
    return os.path.expanduser(path) if path.startswith("~") else path


class Once(argparse.Action):
    """An option that sets one value: given twice, the last one won without a word. Told by the
    options seen, not by a value set (demo's --output has a default)."""

    def __call__(self, parser, ns, value, option_string=None):
        seen = ns.__dict__.setdefault("_given", set())
        if self.dest in seen:
            parser.error(f"{option_string} given twice ({getattr(ns, self.dest)}, then {value}): give it once")
        seen.add(self.dest)
        setattr(ns, self.dest, value)


class Parser(argparse.ArgumentParser):
    """A command's parser whose mistakes are one line, then where help is: argparse printed its
    whole usage first. (curate run's, whose messages are reworded, is cli._Parser.) No
    abbreviations, as curate run takes none: `curate audit --comp` was read as --compare."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{"allow_abbrev": False, **kwargs})

    def error(self, message):
        print(f"{self.prog}: {one_line(message.removeprefix('argument '))}\n(see: {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def quote(path: str) -> str:
    """``path`` as one shell word: quoted, and ``./`` before a relative path that starts with
    ``-`` (printed bare, ``curate audit -old`` reads it as an option, not a folder). A name
    holding a character one_line escapes (a newline, an ESC, a byte that is not UTF-8) is a bash
    ``$'...'`` word whose escapes are its bytes: inside '...' one_line's ``\\n`` named another
    file, and a raw one broke the line."""
    path = "./" + path if path.startswith("-") else path
    if not any(_hidden(path, i) for i in range(len(path))):
        return shlex.quote(path)
    return "$'" + "".join(_ansi_c(path, i) for i in range(len(path))) + "'"


def in_bash(*names: str) -> str:
    """``"in bash "``, said before a command (``convert it in bash (...)``, ``in bash e.g. ...``)
    that quotes one of ``names`` as ``$'...'``: a word of bash, zsh and ksh (POSIX.1-2024), which
    dash and older sh read as a ``$`` before a quoted word, another name; ``""`` where each is a
    POSIX word, run by any shell."""
    return "in bash " if any(_hidden(n, i) for n in names for i in range(len(n))) else ""


def said(command: str, *names: str) -> str:
    """A printed command that quotes ``names`` (each with ``quote``), for copying: after "in bash: "
    where one is a ``$'...'`` word (``in_bash``), outside the command so that it still copies
    whole. Every command curate prints for the next step is said through this (``next:``, an
    ``--input`` glob, an audit's or compare's look-up line), as the convert-it hints say theirs."""
    return f"in bash: {command}" if in_bash(*names) else command


def _ansi_c(text: str, i: int) -> str:
    """``text[i]`` inside bash's ``$'...'``: its bytes as ``\\xHH`` where one_line escapes it (a
    lone surrogate: the name's byte that is not UTF-8), a quote or backslash escaped."""
    c = text[i]
    if _hidden(text, i):
        return "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogateescape"))
    return "\\" + c if c in "'\\" else c


_NOT_ASCII_SHOWN = re.compile(r"[^ -~]")  # what may be unprinted: looked up one by one (a name is mostly ASCII)
_JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ: how a script spells some of its words, kept between its letters
# The scripts a joiner shapes (the first word of a character's Unicode name): Arabic and the
# other joining scripts, the Indic ones and Sinhala. Between Latin, Greek, Cyrillic, Hebrew or
# CJK letters it changes nothing shown: от\u200cчёт was said as отчёт, another file's name.
_SHAPED = frozenset({"ARABIC", "SYRIAC", "NKO", "MANDAIC", "MONGOLIAN", "ADLAM", "HANIFI", "DEVANAGARI", "BENGALI",
                     "GURMUKHI", "GUJARATI", "ORIYA", "TAMIL", "TELUGU", "KANNADA", "MALAYALAM", "SINHALA", "KHMER",
                     "MYANMAR"})


def one_line(text: str) -> str:
    """``text`` (a file's name in it) as one terminal line: a newline or other control character
    escaped as Python writes it (``\\n``, ``\\x1b``); a name's newline made a second line that
    read as curate's own, its ESC reached the terminal. So is a character shown as nothing that
    changes how the line reads: a right-to-left override (U+202E) turned the rest of the line
    around, curate's words too; a zero-width space made two names look one. Letters of any
    script and their spaces are written as they are, and so is a zero-width (non-)joiner that
    spells a word of one (_joins): Persian's ZWNJ (می‌خواهم), a ZWJ after a virama or in an
    emoji sequence."""
    def shown(m: re.Match) -> str:
        c = m.group()
        return c.encode("unicode_escape").decode("ascii") if _hidden(text, m.start()) else c

    return _NOT_ASCII_SHOWN.sub(shown, text)


def _hidden(text: str, i: int) -> bool:
    """Whether one_line escapes ``text[i]``: a control, a lone surrogate, a line or paragraph
    separator, and a format character or other of Unicode's default ignorable code points (shown
    as nothing: U+034F, a variation selector, a Hangul filler, a tag, an unassigned one), unless
    it shapes the name there (_shapes)."""
    import unicodedata

    c = text[i]
    if " " <= c <= "~":
        return False
    category = unicodedata.category(c)
    if category in ("Cc", "Cs", "Zl", "Zp"):
        return True
    return (category == "Cf" or _ignorable(c)) and not _shapes(text, i)


_TAGS = ("\U000e0020", "\U000e007e")  # tag characters; U+E007F ends a run of them


def _shapes(text: str, i: int) -> bool:
    """Whether the default ignorable ``text[i]`` changes what its neighbours show: a ZWNJ/ZWJ
    (_joins); an emoji variation selector after a symbol (❤️) or in a keycap (1️⃣); another one
    after an ideograph (an ideographic variation sequence) or a math symbol; a Mongolian one after
    a Mongolian letter, its vowel separator between two; a Hangul filler inside a jamo syllable;
    tags ended by U+E007F after an emoji (a flag: England's). Anywhere else it only hides a
    difference (pay\u034fpal read paypal)."""
    import unicodedata

    c, before, after = text[i], text[i - 1:i], text[i + 1:i + 2]
    name = unicodedata.name(before, "") if before else ""
    if c in _JOINERS:
        return _joins(text, i)
    if c in "\ufe0e\ufe0f":
        return bool(before) and ((not before.isascii() and unicodedata.category(before)[0] in "SP")
                                 or (before in "0123456789#*" and after == "\u20e3"))
    if "\ufe00" <= c <= "\ufe0d" or "\U000e0100" <= c <= "\U000e01ef":
        return name.startswith("CJK") or (bool(before) and unicodedata.category(before) == "Sm")
    if c in "\u180b\u180c\u180d\u180f":
        return name.startswith("MONGOLIAN LETTER")
    if c == "\u180e":
        return name.startswith("MONGOLIAN LETTER") and unicodedata.name(after, "").startswith("MONGOLIAN LETTER")
    if c == "\u1160":
        return name.startswith("HANGUL CHOSEONG")
    if c == "\u115f":
        return unicodedata.name(after, "").startswith("HANGUL JUNGSEONG")
    if _TAGS[0] <= c <= "\U000e007f":
        j = k = i
        while j and _TAGS[0] <= text[j - 1] <= _TAGS[1]:
            j -= 1
        while k < len(text) and _TAGS[0] <= text[k] <= _TAGS[1]:
            k += 1
        return j < k and j > 0 and unicodedata.category(text[j - 1]) == "So" and text[k:k + 1] == "\U000e007f"
    return False


_DEFAULT_IGNORABLE = []


def _ignorable(c: str) -> bool:
    """Whether ``c`` is a Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties: the
    regex module's data, newer than unicodedata's)."""
    if not _DEFAULT_IGNORABLE:
        import regex

        _DEFAULT_IGNORABLE.append(regex.compile(r"\p{Default_Ignorable_Code_Point}"))
    return _DEFAULT_IGNORABLE[0].match(c) is not None


def _joins(text: str, i: int) -> bool:
    """Whether the ZWNJ or ZWJ at ``text[i]`` follows a virama (a Devanagari half form, a Malayalam
    chillu at a word's end), stands between two letters or marks of a script it shapes
    (_SHAPED: Persian, Bengali's ra-phala), or a ZWJ inside an emoji sequence; between letters
    of another script (pay\u200cpal, от\u200cчёт), at an edge, beside another format character,
    it only hides a difference, as RFC 5892's CONTEXTJ rule, joining types aside."""
    import unicodedata

    before, after = text[i - 1:i], text[i + 1:i + 2]
    if before and unicodedata.combining(before) == 9:  # canonical combining class 9: a virama
        return True
    if not (before and after):
        return False
    if text[i] == "\u200d" and unicodedata.category(after) == "So":  # an emoji sequence: after an emoji, its skin tone, U+FE0F
        return unicodedata.category(before) in ("So", "Sk") or before == "\ufe0f"
    return all(unicodedata.category(c)[0] in "LM" and unicodedata.name(c, "").split(" ")[0] in _SHAPED for c in (before, after))
