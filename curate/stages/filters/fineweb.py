"""FineWeb rules: Penedo et al. 2024, "The FineWeb Datasets", section 3 (custom filters).

The three paper rules remove at the boundary ("<= 0.12" line punctuation, ">= 0.67" short
lines, ">= 0.1" duplicated-line characters), so their keep-conditions are strict. FineWeb's
ablations found C4's terminal-punctuation line rule too aggressive for their pipeline; it
stays on by default here (the C4 definition) and is ``c4.terminal_punct``.
"""
from __future__ import annotations

from curate.stages.filters.rules import ETHIOPIC_STOP, Rule
from curate.stages.filters.text import TERMINAL, count_ending, count_shorter, line_frac, line_repeats, per_word, spaced

FINEWEB = {
    "min_line_punct_frac": 0.12,  # keep if the fraction of lines ending in punctuation is above this
    "max_short_line_frac": 0.67,  # keep if the fraction of short lines is below this
    "short_line_chars": 30,  # a line of at most this many characters is short
    "short_line_chars_nonspace": 10,  # the same for non-space languages (a CJK character ~ a word)
    "max_dup_line_char_frac": 0.10,  # keep if below
    "max_newline_ratio": 0.3,  # newlines per word: list-like pages
}


def fineweb(cfg: dict, extra_terminal: str = "") -> list:
    """``extra_terminal``: sentence-final marks of the document's language beyond ``TERMINAL``."""
    terminal = TERMINAL + tuple(extra_terminal) + (ETHIOPIC_STOP,)
    short = line_frac(count_shorter(cfg["short_line_chars"]))
    short_nonspace = line_frac(count_shorter(cfg["short_line_chars_nonspace"]))
    return [
        Rule(
            "fineweb_line_punct",
            spaced(line_frac(count_ending(terminal))),
            ">",
            cfg["min_line_punct_frac"],
        ),
        Rule(
            "fineweb_short_lines",
            lambda d: short_nonspace(d) if d.nonspace else short(d),
            "<",
            cfg["max_short_line_frac"],
        ),
        Rule("fineweb_dup_line_chars", lambda d: line_repeats(d)[1], "<", cfg["max_dup_line_char_frac"]),
        Rule("fineweb_newline_ratio", spaced(per_word(lambda d: d.text.count("\n"))), "<=", cfg["max_newline_ratio"]),
    ]

