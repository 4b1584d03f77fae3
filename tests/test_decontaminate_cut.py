"""Decontamination's "cut" mode: what a cut takes (the item's words) and what it leaves (the
page's brackets, quotes, punctuation, line breaks, indentation, code and diffs). Split from
tests/test_decontaminate.py (its helpers live there) so the two files run on two workers."""
from __future__ import annotations

import random
import re
from pathlib import Path

import polars as pl
import pytest

from curate.stages.decontaminate import DecontaminateStage
from tests.test_decontaminate import cut_batch, run_web, words

def test_cut_leaves_a_bracket_or_quote_whose_partner_the_page_keeps(tmp_path):
    """``mode = "cut"`` on an item inside brackets or quotes: a Han or kana character takes the
    punctuation after it into its token (``口」、``) but not the ``「`` before its first, and a
    token holding the item's last word takes its ``»`` or ``))`` while the opening one stays with
    the word before (``قال«``, ``((x``): the cut took the closing half, leaving ``前文。「后文``.
    The page keeps both halves (the page minus the item); a pair the item's tokens hold
    (``“…”``) goes with it. Through the CLI; the expected text is the page with the item's
    characters replaced by nothing."""
    zh = "这是一个用于测试的评估条目内容包含足够多的汉字以便匹配窗口"
    ja = "これは評価のための日本語の文章であり十分な長さを持っています"
    ar = "ألفا بيتا غاما دلتا إبسيلون زيتا إيتا ثيتا يوتا كابا لامدا مو نو كسي أوميكرون نهاية"
    en = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    # (a CJK pair emptied goes: test_arabic_marks_and_cjk_brackets_after_an_item_as_latin_ones)
    pages = {"zh": ("前文。「文", zh, "」、后文。"), "ja": ("前『の", ja, "』後"), "ar": ("قال«", ar, "» بعد؟"),
             "parens": ("((x ", en, ")) y"), "bracket_then_dot": ("See [x ", en, "]. Next."),
             "both_halves": ("He said ", "“" + en + "”", " then.")}
    _assert_the_cut_leaves_the_page_minus_the_item(tmp_path, [zh, ja, ar, en], pages, cli=True)


def _assert_the_cut_leaves_the_page_minus_the_item(tmp_path: Path, items: list[str], pages: dict, cli: bool = False) -> None:
    """``pages`` (id: (before, item text, after)) in cut mode: each kept as before + after, a
    blank either side of the item one."""
    _assert_cuts(tmp_path, items, {k: (a + t + b, a + b[a.endswith(" ") and b.startswith(" "):]) for k, (a, t, b) in pages.items()},
                 cli=cli)


def _assert_cuts(tmp_path: Path, items: list[str], pages: dict, domain: str = "web", cli: bool = False) -> None:
    """``pages`` (id: (text, text after the cut)) in cut mode, ``items`` the evaluation set: each
    kept, none in the ledger, its text the one given. Through the CLI where ``cli`` (one test per
    behaviour a user sees: a run costs ~1 CPU-s), else the stage's own ``process`` on an
    Arrow batch of the pages, as the pipeline calls it."""
    from curate.schema import make_id

    ev = tmp_path / "eval.txt"
    ev.write_text("\n".join(items) + "\n", encoding="utf-8")
    if not cli:
        return _assert_cuts_in_process(ev, pages, domain)
    kept, ledger = run_web(tmp_path, "pairs", [{"id": k, "text": t} for k, (t, _) in pages.items()], ev, 'mode = "cut"', domain)
    assert kept == set(pages) and ledger.height == 0
    text = dict(pl.read_parquet(tmp_path / "pairs" / "text/*.parquet").select("id", "text").iter_rows())
    assert {k: text[make_id("web", k)] for k in pages} == {k: want for k, (_, want) in pages.items()}


def _assert_cuts_in_process(ev: Path, pages: dict, domain: str) -> None:
    kept, ledger, _ = cut_batch(ev, {k: t for k, (t, _) in pages.items()}, domain)
    assert ledger.num_rows == 0
    assert _texts(kept) == {k: want for k, (_, want) in pages.items()}


def _texts(kept) -> dict:
    return dict(zip(kept.column("id").to_pylist(), kept.column("text").to_pylist()))


def _cut_texts(ev: Path, texts: dict, domain: str = "web") -> dict:
    """(id: text) of the documents ``cut_batch`` keeps."""
    return _texts(cut_batch(ev, texts, domain)[0])


def test_cut_pairs_brackets_and_quotes_around_the_item_not_apostrophes_inside_it(tmp_path):
    """An apostrophe is a closing quote by its Unicode category (’ is Pf): an item holding one
    (``don’t``) inside ``“…”`` counted two closing quotes to one opening, and the cut left the
    page's ``”`` alone (``He said ” then.``). German and Danish quote the other way round
    (``»…«``: » is Pf, « Pi), so the ``«`` a token takes after the item's last word was cut as
    if it opened something, leaving ``»`` (and ``„x …“`` its ``„``: “ is Pi). Only the brackets and quotes before the item's
    first word and after its last pair up, whichever way they face."""
    en = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron don’t final"
    de = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron sigma final"
    pages = {"apostrophe_in_quotes": ("He said ", "“" + en + "”", " then."),
             "apostrophe_in_parens": ("See (x ", en, ") y."),
             "german": ("Er sagte »x ", de, "« dann."), "german_low": ("Er sagte „x ", de, "“ dann."),
             "german_whole": ("Er sagte ", "»" + de + "«", " dann.")}
    _assert_the_cut_leaves_the_page_minus_the_item(tmp_path, [en, de], pages)


def test_a_cut_over_two_items_keeps_each_bracket_whose_partner_the_page_keeps(tmp_path):
    """Two items one blank apart are one cut; a bracket between them was counted by nobody (only
    those before the cut's first word and after its last pair up): ``(A) B`` left ``(`` on the
    page and cut its ``)``, ``A (B)`` left ``)``, and ``(x A) (B y)`` cut both brackets between
    (``(x  y)``: balanced by luck, the items' brackets gone); a quote between them was not
    counted, or paired with a bracket. The page keeps what it had minus the items, each of its
    brackets and quotes with its partner."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    b = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    c = "the students’ books and the teachers’ pens don’t fit in the ’90s lockers of the old school hall"
    pages = {"first_in_parens": (f"See ({a}) {b} end.", "See end."),
             "second_in_parens": (f"See {a} ({b}) end.", "See end."),
             "each_in_its_own": (f"See (x {a}) ({b} y) end.", "See (x ) (y) end."),
             "nested": (f"See [({a}) {b}] end.", "See end."),
             "one_open_between": (f"See {a} ({b} y) end.", "See (y) end."),
             # a quote between them pairs with a quote, a bracket with a bracket (the “ had closed the {)
             "quote_then_brace": (f"See «x {b}» {{“{a}” y}} end.", "See «x » {y} end."),
             "low_quote_between": (f"See (x {a}) „{b}“ y.", "See (x ) y."),
             "quotes_in_brackets": (f"See [»{b}«], ({a} y) end.", "See (y) end."),
             "each_quoted": (f"See “x {a}” “{b} y” end.", "See “x ” “y” end."),
             # ’ inside an item is its own (don’t, students’, ’90s): no lone ’ left on the page
             "apostrophes": (f"He wrote {c} then.", "He wrote then.")}
    _assert_cuts(tmp_path, [a, b, c], pages)



def test_a_cut_keeps_the_pages_straight_and_single_quotes_partner(tmp_path):
    """A straight quote (``"``, Unicode's Po, as Project Gutenberg's books and most web pages write
    them) was no quote to the cut: ``"x ITEM" y`` left ``"x  y``, the page's ``"`` without its
    partner. A British ‘…’ at an item's end was the item's apostrophe (``students’``) wherever
    the page had opened it: ``‘x A’ B`` (two items, one cut) left ``‘x ``, its ’ cut. A ’
    after an item's last word closes a ‘ (or German ‚) the page opened, else it is the item's;
    one that ends an item whose page opened none (``… the students’``) went the other way and
    stayed alone on the page."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    b = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    c = "the students’ books and the teachers’ pens fit in the lockers of the old school hall by the students’"
    d = 'חיילי צה"ל הגיעו אל העיר הגדולה בצפון הארץ אחרי מסע ארוך של שלושה ימים ולילות בדרכים הקשות של ארה"ב'
    pages = {"straight_open": (f'He said "x {a}" then.', 'He said "x " then.'),
             "straight_close": (f'He said "{a} y" then.', 'He said "y" then.'),
             "straight_whole": (f'He said "{a}" then.', "He said then."),
             "straight_each": (f'See "x {a}" "{b} y" end.', 'See "x " "y" end.'),
             "straight_both_whole": (f'See "{a}" "{b}" end.', "See end."),
             "british_then_item": (f"He said ‘x {a}’ {b} then.", "He said ‘x ’ then."),
             "item_then_british": (f"He said {a} ‘{b} y’ then.", "He said ‘y’ then."),
             "british_each": (f"See ‘x {a}’ ‘{b} y’ end.", "See ‘x ’ ‘y’ end."),
             "british_both_whole": (f"See ‘{a}’ ‘{b}’ end.", "See end."),
             "german_single": (f"Er sagte ‚x {a}‘ {b} dann.", "Er sagte ‚x ‘ dann."),
             # a quote after a closing quote closes too (the " after « opened, its partner left alone)
             "marks_after_marks": (f'See ‚"»{b}«"‘, »{a} y« end.', "See »y« end."),
             # a " inside a word is no quote: Hebrew writes its gershayim so (צה"ל, ארה"ב)
             "gershayim": (f"הוא אמר {d} ואז.", "הוא אמר ואז."),
             "gershayim_quoted": (f'הוא אמר "x {d}" ואז.', 'הוא אמר "x " ואז.'),
             # the item's own ’ (students’), inside it or at its end, where the page opened no ‘
             "possessive_end": (f"He wrote {c} then.", "He wrote then."),
             "possessive_then_item": (f"He wrote {c} {a} then.", "He wrote then."),
             "possessive_in_quotes": (f"He wrote “look: {c}” then.", "He wrote “look: ” then.")}
    _assert_cuts(tmp_path, [a, b, c, d], pages)


def test_a_quote_after_a_words_comma_or_stop_inside_an_item_closes(tmp_path):
    """Inside a cut a quote faced away from the character before it: ``"Ah," she went on, "I am
    ...!"``, a book's every line of dialogue, had the ``"`` after ``Ah,`` open (a comma is no
    word), and the cut of the whole line left ``""`` on the page (``“”``, ``»«`` likewise). A
    quote after a word's punctuation (``Ah,"``, ``see?”``) closes as one after the word does."""
    it = "Ah, she went on, I am so happy to have you at home with me tonight my dear child of the sea"
    ah, sea = it.split(" she went on, ", 1)
    pages = {"straight": (f'Intro. "{ah}," she went on, "{sea}!" Then.', "Intro. Then."),
             "straight_goes_on": (f'Intro. "{ah}," she went on, "{sea}! More" Then.', 'Intro. "More" Then.'),
             "curly": (f"Intro. “{ah}!” she went on, “{sea}.” Then.", "Intro. Then."),
             "german": (f"Intro. »{ah},« she went on, »{sea}?« Then.", "Intro. Then."),
             "ellipsis": (f'Intro. "{ah}..." she went on, "{sea}" Then.', "Intro. Then."),
             # Gutenberg's _italics_ (Pc); a dash is either way (so--" breaks off, Bible,--"Love opens)
             "italics": (f'Intro. "_{ah}_" she went on, "{sea}" Then.', "Intro. Then."),
             "dash_opens": (f'Intro. "{ah}" she went on,--"{sea}" Then.', "Intro. Then.")}
    _assert_cuts(tmp_path, [it], pages)


def test_an_inch_or_second_mark_inside_an_item_goes_with_it(tmp_path):
    """Since a straight ``"`` was a quote (9458362), the inch mark of an item (``a 12" board``,
    ``5' 10" tall``: web shops, recipes, specifications) closed a quote: with none open it stayed
    alone on the page (``Notes: " Done.``), and inside a page's quotes it closed the page's ``"``
    and left the other (``He said " then.``). A ``"`` right after a digit between two of an
    item's words is the item's; one after the item's last word, or a quote the item closes
    (``"x A in 1999" B``), still pairs."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    inch = 'the board is cut to 12" wide and then the carpenter planes it down to fit the frame of the old door'
    feet = 'he stood 5\' 10" tall in his boots and the crowd at the fair looked up to him all afternoon long'
    year = "in 1999 and then the whole family moved away to the coast where the summers were long and warm"
    ep = 'here is the second sneak peek of episode six "Sanctuary, part 1", which airs on sunday the seventeenth of july'
    pages = {"inch": (f"Notes: {inch}. Done.", "Notes: Done."),
             "inch_quoted": (f'He said "{inch}" then.', "He said then."),
             "inch_in_page_quote": (f'He said "x {inch}" then.', 'He said "x " then.'),
             "feet": (f"Notes: {feet}. Done.", "Notes: Done."),
             "two_inches": (f'A 20" x {inch}, {feet}.', 'A 20" x.'),  # the sentence keeps its stop
             # a quote the item closes after a number stays a quote where the item opened it
             "year_quoted": (f'Note "{year}" here.', "Note here."),
             "year_then_page": (f'Note "x {a} 1999" here.', 'Note "x 1999" here.'),
             "number_quoted_in_item": (f'Note {ep}. Here.', "Note. Here.")}
    _assert_cuts(tmp_path, [a, inch, feet, year, ep], pages)



def test_random_cuts_around_and_between_items_keep_the_pages_brackets_balanced(tmp_path):
    """Pages of one or two items, each in 0-3 random brackets or quotes of many scripts (a quote
    in a bracket in a quote; a word inside some), the items one blank, a comma or a word apart:
    after the cut each kind of bracket ( [ { 「 『 and quote “ ” ‘ ’ " is as balanced as on the
    page minus the items: 3 of these 1,500 pages' brackets were not before pairing brackets
    between items and brackets with brackets only (692dccd^), 81 pages' quotes while a straight
    " was no quote and a ’ after an item the item's (69950eb), and 1 while a quote after a
    closing one opened (``B«"``). The pages are cut 30 to a text, apart: the same cuts as one
    cut_text a page (which took 14 s of the test's 15, now 4)."""
    import random

    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    b = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    ev = tmp_path / "ev.txt"
    ev.write_text(f"{a}\n{b}\n", encoding="utf-8")
    st = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "mode": "cut"}).setup()
    pairs = ["()", "[]", "{}", "「」", "『』", "“”", "‘’", '""', "«»", "»«", "„“", "‚‘"]
    # « » face either way, and “ ‘ close „ ‚: counts tell what pairs only for “” ‘’ on a page without „ ‚
    counted = {"()": "", "[]": "", "{}": "", "「」": "", "『』": "", "“”": "„", "‘’": "‚"}
    rng, bad, pages, apart = random.Random(0), [], [], "\n\n§\n\n"  # no word: no cut reaches over it
    for _ in range(1500):
        page = minus = "Intro words here "
        for item in rng.sample([a, b], rng.choice([1, 2])):
            pre = post = ""
            for _ in range(rng.randrange(4)):
                p = rng.choice(pairs)
                pre, post = pre + p[0] + rng.choice(["", "x "]), rng.choice(["", " y"]) + p[1] + post
            gap = rng.choice([" ", ", ", " and "])
            page, minus = page + pre + item + post + gap, minus + pre + post + gap
        pages.append((page + "the end.", minus))
    for at in range(0, len(pages), 30):
        chunk = pages[at : at + 30]
        cuts = st.cut_text(apart.join(p for p, _ in chunk)).split(apart)
        assert len(cuts) == len(chunk)
        for (page, minus), cut in zip(chunk, cuts):
            if any(minus.count(o) - minus.count(c) != cut.count(o) - cut.count(c) for (o, c), low in counted.items()
                   if not (low and low in page)) or minus.count('"') % 2 != cut.count('"') % 2:
                bad.append((page, cut))
    assert not bad, bad[:3]


def test_quotes_in_code_and_straight_quotes_facing_no_word_inside_an_item_pair(tmp_path):
    """Inside a cut a straight ``"`` opened unless it followed a word, past the marks counted
    before it, opening brackets too: ``is(":visible")`` (jQuery in a Q&A page) had its first
    ``"`` close (``is(`` walked past) and its second close, and the page kept ``""``. One that
    touches no word either side (``the " " to ":"``, ``happy--" The``, ``/ / /," when``) opened,
    so the item's pairs stayed on the page; it closes a ``"`` the cut opened. A shell's
    ``'"'"'`` (a ' inside '…') read its ``"`` after a ``'`` as after a word. The page minus
    the item, by hand."""
    c = 'you can use is(":visible") but classes are better for tests since many libraries never render the components'
    d = 'then he changed the " " to ":" and the output was the same as before for every line of the file'
    e = "run echo 'it'\"'\"'s here' in the shell and the quote inside the single quoted string comes out right"
    f = '"I want to help to make her life happy--" The hand which held the letter suddenly dropped lifeless'
    g = 'composing a canon, "Grossen Dank, / / /," when on returning home with the intention of writing it out'
    pages = {"jquery": (f"Answer. {c} Then.", "Answer. Then."),
             "spaced": (f"Said {d}. End.", "Said. End."),
             "shell": (f"Try: {e} Done.", "Try: Done."),
             "dash": (f"He read:\n\n{f}.\n\nNext.", "He read:\n\nNext."),
             "slashes": (f"I was {g}. Next.", "I was. Next."),
             # a quote after a closing mark still faces as that one does (B«" closes)
             "jquery_in_page_quotes": (f'He wrote "x {c}" then.', 'He wrote "x " then.')}
    _assert_cuts(tmp_path, [c, d, e, f, g], pages)


def test_a_cut_leaves_no_double_blank_orphaned_comma_or_dangling_list_marker(tmp_path):
    """The cut replaced the item by nothing: ``Before ITEM after.`` left two blanks, a page that
    spaces its punctuation an orphan (``x, ITEM , y``: ``x,  , y``; ``He said, ITEM .``:
    ``He said,  .``), a list item or heading its marker alone on the line (``- ``), a line
    ending in the item a blank before its break, and French quotes spaced inside (``« ITEM »``)
    were kept as ``«  »``. The blanks either side of a cut are one (none before a line break, a
    comma or stop, the line's indentation kept), a stray comma goes, a line left with only its
    marker is empty. The pages' expected text by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"blanks": (f"Before {a} after.", "Before after."),
             "dash": (f"Start {a} — end.", "Start — end."),
             "comma_after": (f"x, {a} , y", "x, y"),
             "stop_after": (f"He said, {a} .", "He said."),
             "quoted_comma": (f'Before "{a}" , after', "Before, after"),
             "line_end": (f"He said {a}\nthen.", "He said\nthen."),
             "across_lines": (f"So x {first} iota\n{second} y.", "So x\ny."),
             "indented": (f"Code:\n    {a}  next", "Code:\n    next"),
             "list": (f"List:\n- {a}\n- next", "List:\n- next"),
             "heading": (f"## {a}\nText.", "Text."),
             "french": (f"Il a dit « {a} » puis.", "Il a dit puis."),
             # two quotations either side of the item keep their marks (» ITEM « is no pair)
             "french_between": (f"« Oui » {a} « Non ».", "« Oui » « Non »."),
             "spaced_straight": (f'"Hi " {a} " there"', '"Hi " " there"'),
             "dialogue": (f"— {a}\n— Next.", "— Next."),
             "dotnet": (f"Visit {a} .NET now", "Visit .NET now"),
             # a mark whose partner the page keeps stays, and the blank beside it
             "kept_quote": (f'He said "x {a}" then.', 'He said "x " then.'),
             "each_in_its_own": (f"See (x {a}) end.", "See (x ) end.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_over_a_paragraph_break_leaves_one(tmp_path):
    """A cut spanning a line break leaves one: spanning a paragraph's end (a blank line) it left a
    single ``\\n``, and the paragraphs either side became one; a page of ``\\r\\n`` lines got a bare
    ``\\n``. The cut leaves the break it spans, a blank line as one, in the page's own line ends.
    A paragraph cut whole between blank lines kept those after it too (``One.\\n\\n\\nITEM\\n\\n\\nTwo.``
    left three blank lines), and a page's last left blank lines at its end (``One.\\n\\nITEM`` left
    ``One.\\n\\n``): the blank lines before it stay, those after go, and at the page's end the page
    ends with its last line kept and that line's break. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"paragraphs": (f"Intro x {first} iota\n\n{second} y more.", "Intro x\n\ny more."),
             "blank_with_blanks": (f"Intro x {first} iota\n  \n{second} y more.", "Intro x\n\ny more."),
             "crlf": (f"Intro x {first} iota\r\n{second} y more.", "Intro x\r\ny more."),
             "crlf_paragraphs": (f"Intro x {first} iota\r\n\r\n{second} y more.", "Intro x\r\n\r\ny more."),
             "line": (f"Intro x {first} iota\n{second} y more.", "Intro x\ny more."),
             "last_paragraph": (f"One.\n\n{a}", "One.\n"), "last_then_blanks": (f"One.\n\n{a}\n\n\n", "One.\n"),
             "own_blanks": (f"One. \n\n{a}", "One. \n"),  # (the last line kept is as it was, its blanks too)
             "last_line": (f"One.\n{a}\n\n", "One.\n"), "gaps_of_two": (f"One.\n\n\n{a}\n\n\nTwo.\n", "One.\n\n\nTwo.\n"),
             "gap_before_stays": (f"One.\n\n{a}\n  \n\nTwo.\n", "One.\n\nTwo.\n"), "first": (f"{a}\n\n\nTwo.\n", "Two.\n"),
             "crlf_gaps": (f"One.\r\n\r\n{a}\r\n\r\n\r\nTwo.\r\n", "One.\r\n\r\nTwo.\r\n"),
             "gaps_of_one": (f"One.\n\n{a}\n\nTwo.\n", "One.\n\nTwo.\n")}  # (as before)
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_keeps_the_pages_tabs_paths_and_spaced_ellipsis(tmp_path):
    """The seam took the page's own characters beside the cut for stray blanks: a tab (a table's
    column: ``name<TAB>ITEM<TAB>value`` left two columns of three, ``name<TAB>value`` at a line's
    end too), the blank before a ``.`` that starts a path or a spaced ellipsis (``ls ITEM ./build``
    left ``ls./build``; ``paused ITEM . . . then``, ``paused. . . then``). A tab stays where it
    is; a stop is one before a blank, a line's end or the page's end. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"tsv": (f"name\t{a}\tvalue\nx\ty\tz", "name\t\tvalue\nx\ty\tz"),
             "tsv_first": (f"{a}\tvalue\tz\nx\ty\tz", "\tvalue\tz\nx\ty\tz"),
             "tsv_last": (f"name\tvalue\t{a}\nx\ty\tz", "name\tvalue\t\nx\ty\tz"),
             "tsv_spaced": (f"name\t {a} \tvalue", "name\t \tvalue"),
             "path": (f"Run ls {a} ./build now.", "Run ls ./build now."),
             "ellipsis": (f"He paused {a} . . . then went.", "He paused . . . then went."),
             # controls: a tab indenting the line stays, the blanks after the cut go; a spaced stop
             "tab_indented": (f"Code:\n\t{a}  next", "Code:\n\tnext"),
             "stop_after": (f"He said, {a} .", "He said."),
             "stop_then_line": (f"So {a} .\nNext.", "So.\nNext.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_over_a_line_break_of_any_kind_leaves_it(tmp_path):
    """A cut spanning a line break leaves one, in the page's own line ends: a page of old-Mac
    ``\\r`` lines (a JSONL field keeps them) or one broken by U+2028 had its lines either side
    joined (``Intro x y more.``), its paragraphs too, and a list item's marker stayed. Expected
    texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"cr": (f"Intro x {first} iota\r{second} y more.", "Intro x\ry more."),
             "cr_paragraphs": (f"Intro x {first} iota\r\r{second} y more.", "Intro x\r\ry more."),
             "line_separator": (f"Intro x {first} iota\u2028{second} y more.", "Intro x\u2028y more."),
             "cr_list": (f"List:\r- {a}\r- next", "List:\r- next"),
             # controls
             "crlf_paragraphs": (f"Intro x {first} iota\r\n\r\n{second} y more.", "Intro x\r\n\r\ny more."),
             "lf_list": (f"List:\n- {a}\n- next", "List:\n- next")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_in_code_leaves_the_code_beside_the_item(tmp_path):
    """The seam's clean-up is for prose: in a code document (``mode = "cut"`` for every domain) it
    took the brackets spaced around the item (``data = [ ITEM ]`` left ``data =``, a syntax
    error, where ``[  ]`` is an empty list; ``if ( ITEM ) {`` left ``if {``), a diff line's ``-``
    (the hunk then counts one line short) and the blank before ``./``. In code the cut takes the
    item's words and nothing else. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"list": (f"data = [ {a} ]\nprint(data)\n", "data = [ ]\nprint(data)\n"),
             "block": (f"int main() {{ {a} }}\n", "int main() { }\n"),
             "condition": (f"if ( {a} ) {{\n  go();\n}}\n", "if ( ) {\n  go();\n}\n"),
             # the removed line goes with its marker, its hunk recounted (test_a_cut_in_a_diff_takes_the_items_lines_...)
             "diff": (f"@@ -1,3 +1,3 @@\n ctx\n- {a}\n+new\n ctx\n", "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "shell": (f"ls {a} ./build\n", "ls ./build\n"),
             # the emptied comment goes (test_a_comment_or_quote_marker_the_cut_empties_goes_with_the_item)
             "python": (f"def f():\n    x = 1  # {a}\n    return x\n", "def f():\n    x = 1\n    return x\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code", cli=True)



def test_a_cut_over_lines_keeps_the_indentation_of_the_line_it_resumes(tmp_path):
    """A cut from one line into the next, the page resuming on that next line, took the
    indentation of the line it resumes (the blanks after the cut went with them): a web page's
    Python ``if x:`` block lost its body's indentation (``if x:\\n\\ny = 1``, an error), a poem's
    indented line its indent. The line the page resumes keeps it. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"python": (f"Example:\n\nif x:\n    {first} iota\n    {second} y = 1\n", "Example:\n\nif x:\n    y = 1\n"),
             "poem": (f"  The line one {first} iota\n  {second} more words\n", "  The line one\n  more words\n"),
             "tab": (f"Code:\n\tx = {first} iota\n\t{second}  y = 1\n", "Code:\n\tx =\n\ty = 1\n"),
             # controls: a line resumed with no indentation; one the cut ends at its end
             "flush": (f"So x {first} iota\n{second} y.", "So x\ny."),
             "to_the_end": (f"So x {first} iota\n    {second}\n    next", "So x\n    next")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_list_marker_whose_item_goes_on_below_stays(tmp_path):
    """A line left with only its list marker is empty, but the marker took what the lines
    indented under it belong to: a nested list's parent (``- ITEM`` / ``  - child``: the child
    became a list of its own), an item's continuation (``1. ITEM`` / ``   more of it``: a
    paragraph outside the list), a YAML sequence's mapping (``- ITEM`` / ``    sub: 1``: ``key``
    became that mapping). The marker stays where the next line is indented deeper than its own
    (an empty item, as the page wrote it). Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"nested": (f"List:\n- {a}\n  - child\n- next", "List:\n-\n  - child\n- next"),
             "continued": (f"Steps:\n1. {a}\n   more of it\n2. next", "Steps:\n1.\n   more of it\n2. next"),
             "yaml": (f"key:\n  - {a}\n    sub: 1\n  - other\n", "key:\n  -\n    sub: 1\n  - other\n"),
             "crlf": (f"List:\r\n- {a}\r\n  - child", "List:\r\n-\r\n  - child"),
             # controls: the next item at the marker's own depth, a blank line, the page's end
             "sibling": (f"List:\n- {a}\n- next", "List:\n- next"),
             "then_blank": (f"List:\n  - {a}\n\n    code", "List:\n\n    code"),
             "last": (f"List:\n- {a}", "List:\n")}
    _assert_cuts(tmp_path, [a], pages)


def _python_with_item(rng: random.Random, item: list[str], k: int) -> tuple[str, str]:
    """A valid Python program holding ``item``'s words (in a comment, a docstring or a string,
    on one line or split over two at a random word) and the same program with the item's words
    left out (each of its lines as it was, but for the item's words): (program, without)."""
    ind = "    " * rng.randrange(1, 4)
    head = "".join("    " * d + f"def f{d}(x):\n" for d in range(len(ind) // 4))
    pre, post = rng.choice(["", "note "]), rng.choice(["", " and more", " (see above)"])
    cut = rng.randrange(1, len(item))
    one, two = " ".join(item[:cut]), " ".join(item[cut:])
    q = rng.choice(['"', "'"])
    shapes = [  # (text with {a} / {b} the item's halves, {i} the indentation)
        "{i}# {p}{a}\n{i}# {b}{s}\n{i}return x\n",  # a comment block; the page resumes mid-line
        "{i}x = 1  # {p}{a}\n{i}# {b}{s}\n{i}return x\n",
        '{i}"""{p}{a}\n{i}{b}{s}"""\n',  # a docstring, the function's only statement
        '{i}"""{p}{a}\n{i}{b}{s}\n{i}"""\n{i}return x\n',
        "{i}y = ({q}{p}{a} {q}\n{i}     {q}{b}{s}{q})\n{i}return y\n",  # implicit concatenation
        "{i}y = {q}{p}{a} {b}{s}{q}\n{i}return y\n",  # one line
        '{i}"""{a} {b}"""\n',  # the docstring is all item: an empty one is left
    ]
    shape = shapes[k % len(shapes)]
    fill = dict(i=ind, p=pre, s=post, q=q)
    return head + shape.format(a=one, b=two, **fill), head + shape.format(a="", b="", **fill)


def _code_tokens(src: str) -> list:
    """``src``'s tokens but comments, strings and layout: what the program is, by Python's tokenize."""
    import io
    import tokenize

    skip = {tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE}
    return [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(src).readline) if t.type not in skip]


def test_a_cut_in_python_code_over_lines_keeps_the_program_valid(tmp_path):
    """In a code document a cut from one line into the next resumed on that line without its
    indentation and without what came before the item there (``    # ITEM y`` left `` y``, an
    IndentationError; a docstring's or string's quotes went with the item, ``y = ("A "`` /
    ``"B")`` leaving ``y = (`` and ``)``). Each line keeps its indentation, comment marker and
    quotes; the cut takes the item's words. Ground truth from Python: every program generated
    (the item in comments, docstrings and strings, split at random words, at random depths)
    still parses (``ast.parse``), tokenizes to the same code (``tokenize``: names, operators,
    indents) and holds the words of the program written without the item, in order."""
    import ast

    item = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final".split()
    rng = random.Random(25)
    pages = {f"p{k}": _python_with_item(rng, item, k) for k in range(70)}
    for text, without in pages.values():
        ast.parse(text), ast.parse(without)
    ev = tmp_path / "eval.txt"
    ev.write_text(" ".join(item) + "\n", encoding="utf-8")
    out = _cut_texts(ev, {k: t for k, (t, _) in pages.items()}, "code")
    bad = {}
    for k, (text, without) in pages.items():
        got = out.get(k)
        try:
            ok = got is not None and ast.parse(got) and _code_tokens(got) == _code_tokens(without) and words(got) == words(without)
        except SyntaxError as e:
            ok = f"SyntaxError: {e}"
        if ok is not True:
            bad[k] = (text, got, ok)
    assert not bad, f"{len(bad)} of {len(pages)}: " + repr(next(iter(bad.values())))


def test_a_cut_in_a_diff_takes_the_items_lines_and_recounts_the_hunk(tmp_path):
    """In a diff (a code document) a line holding only an item (``-ITEM``, ``- ITEM``, ``+ITEM``,
    a context line) was emptied: ``-ITEM`` lost its marker too, an empty line that reads as
    context, so the hunk's counts were wrong (``git apply``: corrupt patch), and ``- ITEM``
    left a lone ``-`` line (a removed line the old file never had). An added or removed line
    goes with its marker, and its hunk's header counts one line fewer on its side (the later
    hunks of the file start that much earlier); a context line stays, emptied; a line with more than the item keeps its marker and the rest. Ground truth: ``git apply --stat`` parses every
    output (it refuses a hunk whose lines do not add up), and the expected texts by hand."""
    import shutil
    import subprocess

    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    head = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n"
    pages = {"removed": (head + f"@@ -1,3 +1,3 @@\n ctx\n-{a}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "removed_spaced": (head + f"@@ -1,3 +1,3 @@\n ctx\n- {a}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "added": (head + f"@@ -1,3 +1,4 @@\n ctx\n-old\n+{a}\n+new\n ctx\n", head + "@@ -1,3 +1,3 @@\n ctx\n-old\n+new\n ctx\n"),
             # a context line stays, emptied (test_an_item_as_a_hunks_context_line_leaves_a_diff_that_applies)
             "context": (head + f"@@ -10,2 +10,3 @@ def f():\n {a}\n+new\n ctx\n", head + "@@ -10,2 +10,3 @@ def f():\n \n+new\n ctx\n"),
             "two_lines": (head + f"@@ -1,4 +1,3 @@\n ctx\n-{first} iota\n-{second}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "in_a_line": (head + f'@@ -1,2 +1,2 @@\n-x = "{a}"\n+x = ""\n ctx\n', head + '@@ -1,2 +1,2 @@\n-x = ""\n+x = ""\n ctx\n'),
             "two_hunks": (head + f"@@ -1,2 +1,2 @@\n-old\n+{a}\n ctx\n@@ -9 +9 @@\n-{a}\n+new\n",
                           # the second hunk's new side starts a line earlier; its old side, now empty, after line 8
                           head + "@@ -1,2 +1,1 @@\n-old\n ctx\n@@ -8,0 +8 @@\n+new\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code")
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not installed")
    for k, (_, want) in pages.items():
        (tmp_path / f"{k}.diff").write_text(want, encoding="utf-8")
        r = subprocess.run([git, "apply", "--stat", str(tmp_path / f"{k}.diff")], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, (k, r.stderr)


def test_a_line_left_with_only_its_marker_goes_with_its_line_break(tmp_path):
    """A web page's line holding only the item behind a list or quote marker (``+ ITEM``,
    ``- ITEM``, ``> ITEM``, ``• ITEM``, ``1. ITEM``) or nothing (the item a line of its own)
    was emptied but stayed, a blank line in the list (``List:\\n\\n- next``), between two
    paragraphs three (``P.\\n\\n\\n\\nn``); a cut from a line's start into the next, or from
    mid-line to the next line's end, left a blank line likewise. The line goes with its line
    break (a blank line either side of it: one stays); a marker whose item goes on below stays
    (``test_a_list_marker_whose_item_goes_on_below_stays``). Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"plus": (f"List:\n+ {a}\n+ next\n", "List:\n+ next\n"),
             "minus": (f"List:\n- {a}\n- next\n", "List:\n- next\n"),
             "quote": (f"Text:\n> {a}\n> next\n", "Text:\n> next\n"),
             "nested_quote": (f"Text:\n> > {a}\n> next\n", "Text:\n> next\n"),
             "bullet": (f"List:\n• {a}\n• next", "List:\n• next"),
             "numbered": (f"Steps:\n1. {a}\n2. next", "Steps:\n2. next"),
             "stop_after": (f"List:\n- {a}.\n- next", "List:\n- next"),
             "crlf": (f"List:\r\n- {a}\r\n- next", "List:\r\n- next"),
             "bare_line": (f"Intro\n{a}\nnext", "Intro\nnext"),
             "paragraph": (f"P.\n\n{a}\n\nNext.", "P.\n\nNext."),
             "first_line": (f"{a}\n\nNext.", "Next."),
             "into_next_line": (f"List:\n- {first} iota\n{second} rest\n", "List:\nrest\n"),
             "to_a_line_end": (f"So x {first} iota\n    {second}\n    next", "So x\n    next"),
             "over_a_paragraph": (f"P x {first} iota\n\n{second}\nNext.", "P x\n\nNext.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_keeps_the_sentences_punctuation_after_the_item(tmp_path):
    """The comma or stop after an item's last word, or after its closing quote or bracket, went
    with it: ``"ITEM", he said`` lost its comma, ``He said "ITEM".`` and ``He said ITEM.`` their
    stop (``He said``). They belong to the sentence around the item and stay, while the item's
    own quotes, brackets and the punctuation inside them go; a mark the text before the cut
    already ends in is not doubled (``Before. ITEM. After.``, ``x, ITEM, y``), and a line left
    with its marker and the stop alone goes. Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"quoted_comma": (f'"{a}", he said.', "he said."),  # at a line's start the mark goes (test_a_line_does_not_start_...)
             "quoted_comma_mid": (f'She read "{a}", he said.', "She read, he said."),
             "quoted_stop": (f'He said "{a}".', "He said."),
             "bracket_comma": (f"See ({a}), then.", "See, then."),
             "stop": (f"He said {a}.\nNext.", "He said.\nNext."),
             "question": (f"Was it {a}? Yes.", "Was it? Yes."),
             "ellipsis": (f"He paused {a}… then.", "He paused… then."),
             "inside_the_quote": (f'"{a}," he said.', "he said."),
             "after_a_stop": (f"Before. {a}. After.", "Before. After."),
             "between_commas": (f"x, {a}, y", "x, y"),
             "sentence_at_line_start": (f"{a}. Rest here.", "Rest here.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_crlf_code_line_the_cut_leaves_blank_goes_and_its_hunk_is_recounted(tmp_path):
    """A code document with CRLF line ends: a line left with only its indentation, or a diff's
    hunk line left with only its marker, stayed (``-\\r\\n``: a removed empty line the old file
    never had, the hunk not recounted) where the same line with LF goes. Expected texts by hand
    (the LF ones of test_a_cut_in_a_diff_takes_the_items_lines_and_recounts_the_hunk with CRLF)."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    head = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n"
    crlf = lambda t: t.replace("\n", "\r\n")  # noqa: E731
    pages = {"diff": (crlf(head + f"@@ -1,3 +1,3 @@\n ctx\n-{a}\n+new\n ctx\n"), crlf(head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n")),
             "python": (crlf(f"def f():\n    x = 1\n    {a}\n    return x\n"), crlf("def f():\n    x = 1\n    return x\n")),
             # controls: LF
             "diff_lf": (head + f"@@ -1,3 +1,3 @@\n ctx\n-{a}\n+new\n ctx\n", head + "@@ -1,2 +1,3 @@\n ctx\n+new\n ctx\n"),
             "python_lf": (f"def f():\n    x = 1\n    {a}\n    return x\n", "def f():\n    x = 1\n    return x\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code")


def test_a_hunk_left_with_no_change_goes_and_the_diff_still_applies(tmp_path):
    """A hunk whose only added or removed lines were the item's kept its header and context
    lines: a hunk with no change, which ``git apply`` calls a corrupt patch and ``patch`` a
    malformed one (every later hunk lost with it). Such a hunk goes whole; a removed line's
    ``\\ No newline at end of file`` goes with it. Ground truth from ``diff -u`` and ``git
    apply``: random files with the item's line added or removed among other changes, diffed
    with 0, 1 or 3 lines of context; the cut diff applies (``git apply``) to the old file
    without the item's line and gives the new file without it."""
    import shutil
    import subprocess

    if not (shutil.which("git") and shutil.which("diff")):
        pytest.skip("git or diff not installed")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    rng = random.Random(65)
    pages, files = {}, {}
    for k in range(40):
        old = [f"line {i} x" for i in range(rng.randrange(5, 40))]
        new = list(old)
        for _ in range(rng.randrange(1, 6)):
            op, i = rng.choice(["del", "add", "item_add", "item_del"]), rng.randrange(len(new) + 1)
            if op == "del" and i < len(new):
                new.pop(i)
            elif op in ("add", "item_add"):
                new.insert(i, a if op == "item_add" else f"added {k} {i}")
            elif op == "item_del":
                old.insert(rng.randrange(len(old) + 1), a)
        ctx = rng.choice([0, 1, 3])
        (tmp_path / "old").write_text("".join(f"{x}\n" for x in old))
        (tmp_path / "new").write_text("".join(f"{x}\n" for x in new))
        d = subprocess.run(["diff", f"-U{ctx}", "--label", "a/f", "--label", "b/f", "old", "new"], capture_output=True, text=True, cwd=tmp_path).stdout
        if a in d and any(x != a for x in old) and [x for x in old if x != a] != [x for x in new if x != a]:
            pages[f"p{k}"], files[f"p{k}"] = d, ([x for x in old if x != a], [x for x in new if x != a], ctx)
    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    out = _cut_texts(ev, pages, "code")
    bad = {}
    for k, (old, new, ctx) in files.items():
        work = tmp_path / k
        work.mkdir()
        (work / "f").write_text("".join(f"{x}\n" for x in old))
        (work / "p.diff").write_text(out[k])
        r = subprocess.run(["git", "apply"] + (["--unidiff-zero"] if ctx == 0 else []) + ["p.diff"], capture_output=True, text=True, cwd=work)
        if r.returncode or (work / "f").read_text() != "".join(f"{x}\n" for x in new):
            bad[k] = (pages[k], out[k], r.stderr)
    assert len(pages) > 20 and not bad, f"{len(bad)} of {len(pages)}: " + repr(next(iter(bad.values())))
    # a removed last line without its newline: the marker goes with it
    head = "--- a/f\n+++ b/f\n"
    (tmp_path / "noeol").mkdir()
    _assert_cuts(tmp_path / "noeol", [a], {"noeol": (head + f"@@ -1,3 +1,2 @@\n ctx\n-x\n-{a}\n\\ No newline at end of file\n+y\n",
                                                     head + "@@ -1,2 +1,2 @@\n ctx\n-x\n+y\n")}, domain="code")


def test_a_line_does_not_start_with_the_items_comma_nor_keep_a_spanish_items_closing_mark(tmp_path):
    """The sentence-mark rule kept the comma after an item that started a line or the page
    (``"ITEM", he said.`` -> ``, he said.``; ``Intro.\\nITEM, he said.`` -> ``Intro.\\n, he
    said.``), where main left ``he said.``: a line starting with a comma. And Spanish opens a
    question or exclamation with ``¿``/``¡``, which the item's first token took, leaving its
    closing ``?``/``!`` (``Dijo ¿ITEM? Sí.`` -> ``Dijo? Sí.``): the pair is the item's. Expected
    texts by hand; controls: the mark after an item mid-sentence stays."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"page_start": (f'"{a}", he said.', "he said."),
             "line_start": (f"Intro.\n{a}, he said.", "Intro.\nhe said."),
             "list_line": (f"List:\n- {a}; and more\n- next", "List:\n- and more\n- next"),
             "spanish_question": (f"Dijo ¿{a}? Sí.", "Dijo Sí."),
             "spanish_exclamation": (f"Dijo ¡{a}! Sí.", "Dijo Sí."),
             # controls
             "mid_sentence": (f"She read {a}, he said.", "She read, he said."),
             "question": (f"Was it {a}? Yes.", "Was it? Yes.")}
    _assert_cuts(tmp_path, [a], pages)


def test_a_cut_over_a_line_break_leaves_no_line_starting_with_the_sentences_mark(tmp_path):
    """A cut that ends on the line after the one it starts on leaves that line break, and kept
    the sentence's mark after the item, which then began the line (``He said ITEM1\\nITEM2, and
    left.`` -> ``He said\\n, and left.``; 8 of 147 Gutenberg pages cut of one of their own
    passages showed such a line, none on main). There the mark goes with the item, as on main.
    Expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    first, second = a.split(" iota ")
    pages = {"comma": (f"He said {first} iota\n{second}, and left.\nNext.", "He said\nand left.\nNext."),
             "stop": (f"He said {first} iota\n{second}. Then.", "He said\nThen."),
             "paragraphs": (f"He said {first} iota\n\n{second}. Then.", "He said\n\nThen."),
             "quoted": (f'in den "{first} iota\n{second}", Marten', "in den\nMarten"),
             "verse": (f"    Vive de {first} iota\n    {second},\n    Vive, o Roem", "    Vive de\n    Vive, o Roem"),
             # control: on one line the mark stays
             "one_line": (f"He said {a}, and left.", "He said, and left.")}
    _assert_cuts(tmp_path, [a], pages)


def _apply(tmp: Path, old: list[str], patch: str, zero: bool) -> tuple[int, str, str]:
    """``git apply`` of ``patch`` to a file of ``old``'s lines: (exit status, stderr, the file after)."""
    import subprocess

    tmp.mkdir()
    (tmp / "f").write_text("".join(f"{x}\n" for x in old))
    (tmp / "p.diff").write_text(patch)
    r = subprocess.run(["git", "apply"] + (["--unidiff-zero"] if zero else []) + ["p.diff"], capture_output=True, text=True, cwd=tmp)
    return r.returncode, r.stderr, (tmp / "f").read_text()


def test_an_item_as_a_hunks_context_line_leaves_a_diff_that_applies(tmp_path):
    """An item that is a hunk's context line went with its line, the hunk recounted: as its last
    context line the hunk was left with no trailing context, which ``git apply`` (and ``patch``)
    anchor at the file's end, so the diff no longer applied (``patch does not apply``). A context
    line the cut empties stays, empty: the diff applies to the original with that line emptied.
    Ground truth from ``diff -u`` and ``git apply``: random files holding the item as a line both
    sides keep (and some lines added), diffed with 1 or 3 lines of context, the item
    just after a change; the cut diff applies to the old file with the item's line emptied and
    gives the new file so."""
    import shutil
    import subprocess

    if not (shutil.which("git") and shutil.which("diff")):
        pytest.skip("git or diff not installed")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    rng = random.Random(26)
    pages, files = {}, {}
    for k in range(40):
        base = [f"line {i} x" for i in range(rng.randrange(8, 30))]
        at = rng.randrange(1, len(base) - 2)
        base.insert(at, a)  # kept by both sides: a context line
        old, new = list(base), list(base)
        new[at - 1] = f"changed {k}"  # a change just before it: the item its hunk's first trailing line
        for _ in range(rng.randrange(0, 3)):
            i = rng.randrange(len(new) + 1)
            new.insert(i, f"added {k} {i}")
        ctx = rng.choice([1, 3])
        (tmp_path / "old").write_text("".join(f"{x}\n" for x in old))
        (tmp_path / "new").write_text("".join(f"{x}\n" for x in new))
        d = subprocess.run(["diff", f"-U{ctx}", "--label", "a/f", "--label", "b/f", "old", "new"], capture_output=True, text=True, cwd=tmp_path).stdout
        if f"\n {a}\n" in d:
            pages[f"p{k}"], files[f"p{k}"] = d, ([x if x != a else "" for x in old], [x if x != a else "" for x in new])
    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    out = _cut_texts(ev, pages, "code")
    bad = {}
    for k, (old, new) in files.items():
        rc, err, after = _apply(tmp_path / k, old, out[k], False)
        if rc or after != "".join(f"{x}\n" for x in new):
            bad[k] = (pages[k], out[k], err)
    assert len(pages) > 20 and not bad, f"{len(bad)} of {len(pages)}: " + repr(next(iter(bad.values())))


def _combined_counts_hold(diff: str) -> bool:
    """Whether every combined hunk (``@@@ -a,b -c,d +e,f @@@``, ``git diff`` of a merge) of ``diff``
    holds the lines its header counts: per parent, the lines with ``-`` in its column or in no
    column; for the result, the lines with ``-`` in none (git's diff-format docs)."""
    lines, k, n = diff.split("\n"), 0, 0
    while k < len(lines):
        m = re.match(r"(@{3,}) ((?:-\d+(?:,\d+)? )+)\+\d+(?:,(\d+))? \1", lines[k])
        k += 1
        if not m:
            continue
        n += 1
        parents = [int(r.split(",")[1]) if "," in r else 1 for r in m[2].split()]
        result = int(m[3]) if m[3] is not None else 1
        p = len(m[1]) - 1
        have, res = [0] * p, 0
        while k < len(lines) and (any(have[i] < parents[i] for i in range(p)) or res < result):
            cols = lines[k][:p]
            if len(cols) < p or set(cols) - set(" +-"):
                return False
            for i in range(p):
                have[i] += cols[i] == "-" or (cols[i] == " " and "-" not in cols)
            res += "-" not in cols
            k += 1
        if have != parents or res != result:
            return False
    return n > 0


def test_a_cut_in_a_combined_diff_keeps_its_hunks_counts(tmp_path):
    """A combined diff (``@@@ -1,3 -1,3 +1,4 @@@``, ``git diff`` of a merge: a marker column per
    parent) was read as code: a line left with only its two markers' blanks (``  ITEM``) went
    with its break, the header not recounted, so the hunk held a line fewer than it counts. Its
    lines stay (emptied of the item's words, their markers kept), the counts right. Ground truth:
    the counts by git's description of the format (``_combined_counts_hold``); expected texts by hand."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    head = "diff --cc f.txt\nindex 1..2,3..4\n--- a/f.txt\n+++ b/f.txt\n"
    pages = {"context": (head + f"@@@ -1,5 -1,3 +1,5 @@@\n  ctx\n  {a}\n- one\n +two\n++both\n  end\n",
                         head + "@@@ -1,5 -1,3 +1,5 @@@\n  ctx\n  \n- one\n +two\n++both\n  end\n"),
             "added": (head + f"@@@ -1,2 -1,2 +1,3 @@@\n  ctx\n++{a}\n  end\n", head + "@@@ -1,2 -1,2 +1,3 @@@\n  ctx\n++\n  end\n"),
             "removed": (head + f"@@@ -1,3 -1,2 +1,2 @@@\n  ctx\n- {a}\n  end\n", head + "@@@ -1,3 -1,2 +1,2 @@@\n  ctx\n- \n  end\n"),
             "in_a_line": (head + f'@@@ -1,1 -1,1 +1,1 @@@\n  x = "{a}"\n', head + '@@@ -1,1 -1,1 +1,1 @@@\n  x = ""\n')}
    for text, _ in pages.values():
        assert _combined_counts_hold(text)
    _assert_cuts(tmp_path, [a], pages, domain="code")
    for _, want in pages.values():
        assert _combined_counts_hold(want)


def test_a_list_item_in_code_left_with_only_its_marker_goes_with_its_line(tmp_path):
    """In a code document a line holding a list item (a docstring's Markdown, a YAML file: ``- ITEM``,
    ``1. ITEM``, ``* ITEM``) kept its marker, a lone ``- `` line: in YAML a null item the file never had
    (``[None, 'other']``). The line goes with its break, as on a web page, but where the next line is
    indented deeper (the item's YAML mapping); in a diff the hunk's line goes and the hunk is recounted.
    Ground truth: ``yaml.safe_load``, ``ast.parse``, ``git apply --stat``; expected texts by hand."""
    import ast
    import shutil
    import subprocess

    yaml = pytest.importorskip("yaml")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    dq = '"""'
    pages = {"yaml": (f"items:\n  - {a}\n  - other\n", "items:\n  - other\n"),
             "yaml_mapping": (f"items:\n  - {a}\n    sub: 1\n  - other\n", "items:\n  -\n    sub: 1\n  - other\n"),
             "docstring": (f'def f():\n    {dq}Notes:\n\n    - {a}\n    1. {a}\n    * other\n    {dq}\n', f'def f():\n    {dq}Notes:\n\n    * other\n    {dq}\n'),
             "diff": (f"--- a/x.yml\n+++ b/x.yml\n@@ -1,2 +1,4 @@\n items:\n+  - {a}\n+  - new\n   - other\n",
                      "--- a/x.yml\n+++ b/x.yml\n@@ -1,2 +1,3 @@\n items:\n+  - new\n   - other\n"),
             # controls: a marker with more than the item, a subtraction in code
             "more": (f"items:\n  - {a} x\n", "items:\n  - x\n"),
             "minus": (f"y = (x -\n     {a})\n", "y = (x -\n     )\n")}
    _assert_cuts(tmp_path, [a], pages, domain="code")
    assert yaml.safe_load(pages["yaml"][1]) == {"items": ["other"]}
    assert yaml.safe_load(pages["yaml_mapping"][1]) == {"items": [{"sub": 1}, "other"]}
    ast.parse(pages["docstring"][1])
    if shutil.which("git"):
        (tmp_path / "p.diff").write_text(pages["diff"][1])
        r = subprocess.run(["git", "apply", "--stat", "p.diff"], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, r.stderr


def test_cut_chars_counts_the_characters_removed(tmp_path):
    """``decontaminate.cut_chars`` (and a cut document's ``edits`` ``chars``) was the text's length
    before less after: a recounted hunk header that grows (``@@ -9 +9 @@`` -> ``@@ -8,0 +9 @@``)
    offset the characters cut. It counts the original's characters the cut removes (of a header,
    those its rewrite does not keep). Ground truth: ``difflib``'s matching blocks between the text
    before and after (the characters kept, in order)."""
    import difflib

    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    texts = {"grows": f"--- a/f\n+++ b/f\n@@ -9 +9 @@\n-{a}\n+new\n",
             "web": f"Before {a}, after.\n"}
    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    for domain in ("code", "web"):
        rows = cut_batch(ev, texts, domain)[0].select(["id", "text", "edits"]).to_pylist()
        assert len(rows) == len(texts)
        for r in rows:
            before = texts[r["id"]]
            kept = sum(b.size for b in difflib.SequenceMatcher(None, before, r["text"], autojunk=False).get_matching_blocks())
            assert [e["chars"] for e in r["edits"]] == [len(before) - kept], (domain, r["text"])


def test_arabic_marks_and_cjk_brackets_after_an_item_as_latin_ones(tmp_path):
    """Arabic's comma ``،``, semicolon ``؛`` and question mark ``؟`` after an item went with it
    (``قال ITEM، ثم`` -> ``قال ثم``) where a Latin ``,`` ``;`` ``?`` is the sentence's and stays,
    but at a line's start or after another mark; and a CJK item in ``「ITEM」``, ``『ITEM』``,
    ``（ITEM）`` left the pair empty (``前『』後``) where a Latin ``(ITEM)`` goes whole. Expected
    texts by hand, each the Latin case's (test_a_cut_keeps_the_sentences_punctuation_after_the_item)."""
    ar = "ألفا بيتا غاما دلتا إبسيلون زيتا إيتا ثيتا يوتا كابا لامدا مو نو كسي أوميكرون نهاية"
    zh = "这是一个用于测试的评估条目内容包含足够多的汉字以便匹配窗口"
    ja = "これは評価のための日本語の文章であり十分な長さを持っています"
    pages = {"ar_comma": (f"قال {ar}، ثم ذهب.", "قال، ثم ذهب."),
             "ar_question": (f"هل هو {ar}؟ نعم.", "هل هو؟ نعم."),
             "ar_semicolon": (f"قال {ar}؛ ثم ذهب.", "قال؛ ثم ذهب."),
             "ar_between_commas": (f"س، {ar}، ص", "س، ص"),
             "ar_line_start": (f"مقدمة.\n{ar}، ثم ذهب.", "مقدمة.\nثم ذهب."),
             "zh_corner": (f"前文。「{zh}」、后文。", "前文。后文。"),
             "ja_white_corner": (f"前『{ja}』後", "前後"),
             "zh_parens": (f"他说（{zh}）了。", "他说了。"),
             # control: a bracket whose partner is not beside the cut stays
             "zh_partner_kept": (f"前「文{zh}」后", "前「文」后")}
    _assert_cuts(tmp_path, [ar, zh, ja], pages)


def test_an_emptied_context_line_without_a_newline_at_the_files_end_goes_with_its_marker(tmp_path):
    """A context line the cut empties stays as `` ``; but one followed by ``\\ No newline at end
    of file`` (the item the file's last line, both sides) then claimed an empty last line with no
    newline, which no file holds: ``git apply`` refused it (``patch does not apply``) against the
    original with that line emptied, i.e. gone. It goes with its marker and the hunk is recounted
    (its end is the file's, so no trailing context is right). Ground truth: ``diff -u`` and
    ``git apply``; a context line with a newline (control) stays emptied."""
    import shutil
    import subprocess

    if not (shutil.which("git") and shutil.which("diff")):
        pytest.skip("git or diff not installed")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    cases = {"last": (["x", "b", a], ["x", "c", a], False), "indented": (["x", "b", "    " + a], ["x", "c", "    " + a], False),
             "control": (["x", "b", a, "y"], ["x", "c", a, "y"], True)}
    pages, files = {}, {}
    for k, (old, new, eol) in cases.items():
        (tmp_path / "old").write_text("\n".join(old) + "\n" * eol)
        (tmp_path / "new").write_text("\n".join(new) + "\n" * eol)
        pages[k] = subprocess.run(["diff", "-U1", "--label", "a/f", "--label", "b/f", "old", "new"], capture_output=True, text=True, cwd=tmp_path).stdout
        assert (f"{a}\n\\ No newline" in pages[k]) != eol
        emptied = [[x for x in side if a not in x] if not eol else [x if a not in x else "" for x in side] for side in (old, new)]
        files[k] = emptied
    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    out = _cut_texts(ev, pages, "code")
    for k, (old, new) in files.items():
        rc, err, after = _apply(tmp_path / k, old, out[k], False)
        assert rc == 0 and after == "".join(f"{x}\n" for x in new), (k, out[k], err)
    assert "\n \n" in out["control"] and "No newline" not in out["last"]


def test_nested_cjk_pairs_bidi_marks_and_urdu_and_hindi_stops_after_an_item_as_latin_ones(tmp_path):
    """An emptied CJK pair went, but not the pair around it (``前「『ITEM』」後`` left ``前「」後``,
    where a Latin ``("ITEM")`` goes whole); a bidi mark between the item and the sentence's comma
    (``ITEM\\u200f،``, RTL text's, or ``ITEM\\u200e,``) or after it (``ITEM،\\u200f``) made the comma
    the item's, cut with it (``x, y`` -> ``x y``); Urdu's full stop ``۔`` and Hindi's danda ``।``
    went with the item where a Latin ``.`` stays. Expected texts by hand, each the Latin case's
    (test_arabic_marks_and_cjk_brackets_after_an_item_as_latin_ones)."""
    ar = "ألفا بيتا غاما دلتا إبسيلون زيتا إيتا ثيتا يوتا كابا لامدا مو نو كسي أوميكرون نهاية"
    zh = "这是一个用于测试的评估条目内容包含足够多的汉字以便匹配窗口"
    hi = "एक दो तीन चार पांच छह सात आठ नौ दस ग्यारह बारह तेरह चौदह"
    en = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    pages = {"zh_nested": (f"前「『{zh}』」後", "前後"),
             "zh_nested_three": (f"他说（「『{zh}』」）了。", "他说了。"),
             "zh_nested_then_comma": (f"前「『{zh}』」，後", "前，後"),
             "ar_rlm_around": (f"قال \u200f{ar}\u200f، ثم ذهب.", "قال، ثم ذهب."),
             "ar_rlm_after_comma": (f"قال {ar}،\u200f ثم ذهب.", "قال،\u200f ثم ذهب."),
             "en_lrm": (f"x \u200e{en}\u200e, y", "x, y"),
             "ur_stop": (f"قال {ar}۔ پھر گیا۔", "قال۔ پھر گیا۔"),
             "hi_danda": (f"उसने कहा {hi}। फिर गया।", "उसने कहा। फिर गया।"),
             # controls: Latin, and a pair whose other half the page keeps
             "en_nested": (f'He said ("{en}") and left.', "He said and left."),
             "zh_outer_kept": (f"前「文『{zh}』」後", "前「文」後")}
    _assert_cuts(tmp_path, [ar, zh, hi, en], pages)


def test_a_cut_that_joins_an_items_words_around_it_cuts_again(tmp_path):
    """A page holding an item split around another copy of it (``alpha .. zeta ITEM eta .. final``)
    was cut once: the words either side of the cut then made the item again, kept verbatim in
    the output (and a second cut changed it). The cut repeats until nothing matches: cut again,
    its output is the same. Ground truth: the item's words (``re``'s ``[^\\W_]+``, lowercased) are
    no run of the output's; a page with one copy (control) is cut once. Through the CLI for a
    web page, the stage's ``cut_text`` for code and for the second cut."""
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    w = a.split()
    pages = {"split": " ".join(w[:6]) + f" {a} " + " ".join(w[6:]) + " end.", "control": f"Before {a}, after."}
    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    web = _cut_texts(ev, pages)
    stage = DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "mode": "cut"}).setup()
    for prose in (True, False):
        out = {k: web[k] if prose else stage.cut_text(t, prose=False) for k, t in pages.items()}
        for k, text in out.items():
            words = " ".join(re.findall(r"[^\W_]+", text.lower()))
            assert " ".join(w) not in words and "end" in words or k == "control", (prose, text)
            assert stage.cut_text(text, prose) == text, (prose, text)
        assert out["control"] == ("Before, after." if prose else "Before , after.")



def test_near_copy_unique_rows_is_numpys_unique_of_rows():
    """``near_copy.unique_rows`` (a lexsort, for speed) returns what ``np.unique(a, axis=0)`` does:
    the distinct rows in order, on random arrays with repeats, negatives, one row and none."""
    import numpy as np

    from curate.stages.near_copy import unique_rows

    rng = np.random.default_rng(68)
    for n, cols in ((0, 3), (1, 3), (2, 6), (500, 3), (2000, 6)):
        a = rng.integers(-3, 4, (n, cols)).astype(np.int64)
        got = unique_rows(a)
        assert got.dtype == a.dtype and np.array_equal(got, np.unique(a, axis=0).reshape(-1, cols)), n


def test_a_list_marker_left_on_a_diffs_last_line_without_a_newline_goes(tmp_path):
    """In a diff a line left with only a list marker goes unless the next line is indented deeper
    (the item's YAML mapping); a ``\\ No newline at end of file`` after it was read as that deeper
    line (its blank after the marker column), so ``+- ITEM`` at a file's end kept ``+- ``: a null
    item the file never had. The marker line goes with its ``\\`` line, the hunk recounted.
    Ground truth: ``git apply`` of the cut diff and ``yaml.safe_load`` of the file it makes."""
    import shutil

    yaml = pytest.importorskip("yaml")
    if not shutil.which("git"):
        pytest.skip("git not installed")
    a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"
    page = f"--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n items:\n-- other\n+- other2\n+- {a}\n\\ No newline at end of file\n"
    ev = tmp_path / "eval.txt"
    ev.write_text(a + "\n", encoding="utf-8")
    out = _cut_texts(ev, {"p": page}, "code")["p"]
    rc, err, after = _apply(tmp_path / "p", ["items:", "- other"], out, False)
    assert rc == 0 and yaml.safe_load(after) == {"items": ["other2"]}, (out, err, after)


_A = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron final"


def _stage(tmp_path, items=(_A,)):
    ev = tmp_path / "eval.txt"
    ev.write_text("\n".join(items) + "\n", encoding="utf-8")
    return DecontaminateStage({"eval_sets": [{"glob": str(ev)}], "mode": "cut"}).setup()


def test_a_comment_or_quote_marker_the_cut_empties_goes_with_the_item(tmp_path):
    """In code a line holding only a comment or a quote (``# ITEM``, ``// ITEM``, ``-- ITEM``,
    ``> > ITEM``, ``/* ITEM */``) kept its marker, a lone ``#`` or ``>`` line; a comment after
    code (``x = 1  # ITEM``) kept its ``#``. The emptied comment goes: the line with its break, a
    trailing one with the blanks before it; in a diff the added line goes and the hunk is recounted.
    Controls: a marker with more than the item, code before an item that is no comment."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"x = 1\n# {a}\ny = 2\n": "x = 1\ny = 2\n",
             f"def f():\n    #{a}\n    return 1\n": "def f():\n    return 1\n",
             f"int x;\n// {a}\nint y;\n": "int x;\nint y;\n",
             f"-- {a}\nselect 1;\n": "select 1;\n",
             f"Text\n> > {a}\n> more\n": "Text\n> more\n",
             f"a;\n/* {a} */\nb;\n": "a;\nb;\n", f"x\n# ({a}))\n": "x\n",
             f"x = 1  # {a}\ny = 2\n": "x = 1\ny = 2\n",
             f"int x;  // {a}\n": "int x;\n",
             f"--- a/f\n+++ b/f\n@@ -1,2 +1,4 @@\n x\n+# {a}\n+z\n y\n": "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n x\n+z\n y\n",
             # controls
             f"# {a} more\n": "# more\n",
             f'x = "# {a}"\n': 'x = "# "\n',
             f"/* x\n   {a} */\n": "/* x\n   */\n", f'"""\n# {a}"""\n': '"""\n# """\n',
             f"/* x\n// {a} */\n": "/* x\n// */\n", f"/* {a}\n   x */\n": "/*\n   x */\n",
             f"y = (x -\n     {a})\n": "y = (x -\n     )\n",
             f"std::map<K,\n         {a}>\n": "std::map<K,\n         >\n", f"x\n{a}--\n": "x\n--\n"}
    got = {t: stage.cut_text(t, prose=False) for t in pages}
    assert got == pages


_CODE_ITEM = "return alpha(beta, gamma(delta, epsilon), zeta[eta], theta.iota(kappa, lam, mu) + nu - xi * omicron(final))"


def test_a_python_file_the_cut_would_leave_unparsable_loses_the_statements_that_held_the_item(tmp_path):
    """A Python item is code (a HumanEval prompt): cut word by word it left ``(, (, ), [], ...)``,
    which Python refuses (72 of the 83 cut Python files of the code sample). Where the cut
    leaves a file that parsed unparsable, the innermost function or class around each cut
    line goes whole, else the top-level statement (a method that was its class's only one
    takes the class). Ground truth ``ast.parse``: every output parses, and its statements are
    the original's but for those (``ast.dump``). Controls: a cut that parses (a comment) stays
    line by line; a file that did not parse before is cut line by line."""
    import ast

    item = _CODE_ITEM
    stage = _stage(tmp_path, [item])
    g = "def g():\n    return 2\n"
    pages = {"function": (f"def f(x):\n    {item}\n\n\n{g}", f"\n\n{g}"),
             "decorated": (f"@cache\ndef f(x):\n    {item}\n{g}", g),
             "method": (f"class C:\n    def f(self):\n        {item}\n\n    def h(self):\n        return 1\n",
                        "class C:\n\n    def h(self):\n        return 1\n"),
             "only_method": (f"class C:\n    def f(self):\n        {item}\n{g}", g),
             "module_level": (f"x = 1\ny = [\n    {item[7:]}.x\n]\n{g}", f"x = 1\n{g}"),
             "comment_too": (f"# {item}\ndef f(x):\n    {item}\n{g}", g),
             # controls
             "comment": (f"x = 1  # {item}\n{g}", f"x = 1\n{g}"),
             "unparsable": (f"def f(x:\n    {item}\n", "def f(x:\n")}
    for k, (text, want) in pages.items():
        got = stage.cut_python(text)
        assert got is not None and got[0] == want, (k, got)
        assert got[1] == len(text) - len(want), k  # whole lines: the characters cut are the length lost
        if k != "unparsable":
            def stmts(src):  # a class's dump holds its methods: the statements but classes
                return {ast.dump(n) for n in ast.walk(ast.parse(src)) if isinstance(n, ast.stmt) and not isinstance(n, ast.ClassDef)}
            assert stmts(got[0]) <= stmts(text), k


def test_a_python_document_cut_through_the_cli_still_parses(tmp_path):
    """Through ``curate run`` (``mode = "cut"`` for code, ``lang = "python"``): a Python file whose
    item is a function's code kept ``(, (, ), [] ...)`` and no longer parsed; it loses the
    function. A Python file whose whole code is the item is removed (ledger ``eval_overlap``), as a
    document the cut leaves blank. Ground truth ``ast.parse``."""
    import ast

    from curate.schema import make_id

    item = _CODE_ITEM
    ev = tmp_path / "eval.txt"
    ev.write_text(item + "\n", encoding="utf-8")
    rows = [{"id": "f", "text": f"def f(x):\n    {item}\n\n\ndef g():\n    return 2\n", "lang": "python"},
            {"id": "all", "text": f"def f(x):\n    {item}\n", "lang": "python"}]
    kept, ledger = run_web(tmp_path, "py", rows, ev, 'mode = "cut"', "code")
    out = dict(pl.read_parquet(tmp_path / "py" / "text/*.parquet").select("id", "text").iter_rows())
    assert kept == {"f"} and ledger["rule"].to_list() == ["eval_overlap"]
    assert out[make_id("web", "f")] == "\n\ndef g():\n    return 2\n"
    ast.parse(out[make_id("web", "f")])


def test_a_recounted_headers_characters_removed_are_exact():
    """``_header_removed`` (the characters of a hunk header its recount does not keep) is the
    header's length less the longest common subsequence, by a plain dynamic programme over the
    whole strings (the independent ground truth), on random headers and rewrites."""
    from curate.stages.decontaminate import _header_removed

    def lcs(a, b):
        t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, c in enumerate(a):
            for j, d in enumerate(b):
                t[i + 1][j + 1] = t[i][j] + 1 if c == d else max(t[i][j + 1], t[i + 1][j])
        return t[-1][-1]

    rng = random.Random(27)

    def header():
        side = lambda: f"{rng.randrange(0, 2000)}" + rng.choice(["", f",{rng.randrange(0, 30)}"])  # noqa: E731
        return f"@@ -{side()} +{side()} @@"

    pairs = [(header(), header()) for _ in range(400)] + [("@@ -5,10 +10,4 @@", "@@ -5,1 +10,4 @@"), ("@@ -9 +9 @@", "@@ -8,0 +9 @@"),
                                                          ("@@ -1 +1 @@", "@@ -1 +1 @@"), ("@@ -5,10 +5,10 @@", "@@ -10,4 +10,4 @@")]
    assert [_header_removed(a, b) for a, b in pairs] == [len(a) - lcs(a, b) for a, b in pairs]


def _lcs(a: str, b: str) -> int:
    row = [0] * (len(b) + 1)
    for c in a:
        prev = 0
        for j, d in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if c == d else max(row[j], row[j - 1])
    return row[-1]


def test_a_cut_over_several_passes_counts_the_originals_characters_removed(tmp_path):
    """A diff whose item is split around another copy (``alpha .. zeta`` / ``ITEM`` / ``eta .. final``
    on three added lines) is cut twice, each pass recounting the hunk's header; the count summed
    each pass's, so the second took the digit the first had written for the original's (``+1,5``
    -> ``+1,4`` -> ``+1,2``: 2 digits for 1), and a later hunk's too. It counts the original's
    characters the output lacks. Ground truth: the text's length less its longest common
    subsequence with the output (a plain dynamic programme)."""
    w = _A.split()
    split = f"+{' '.join(w[:6])}\n+{_A}\n+{' '.join(w[6:])}\n"
    stage = _stage(tmp_path)
    texts = [f"--- a/f\n+++ b/f\n@@ -1,3 +1,5 @@\n ctx\n-old\n{split} ctx\n",
             f"--- a/f\n+++ b/f\n@@ -8,3 +8,9 @@\n ctx\n-old\n{split}+x\n+y\n+z\n+q\n ctx\n@@ -98,2 +104,2 @@\n-p\n+r\n",
             f"--- a/f\n+++ b/f\n@@ -9,3 +9,4 @@\n ctx\n-old\n{split} ctx\n",
             f"--- a/f\n+++ b/f\n@@ -1,2 +1,4 @@\n ctx\n{split} ctx\n@@ -20,2 +22,2 @@\n-p\n+r\n"]  # the first hunk goes whole
    for t in texts:
        out, removed = stage.cut_counted(t, prose=False)
        assert _A not in out and removed == len(t) - _lcs(t, out), (t, out)


def test_a_combined_hunks_emptied_last_line_before_no_newline_goes_with_its_marker(tmp_path):
    """A combined diff's (``@@@``) lines stay, emptied; but its last line followed by ``\\ No newline
    at end of file`` then claimed an empty last line with no newline, which no file holds (as in
    a unified diff: test_an_emptied_context_line_without_a_newline_at_the_files_end_goes_with_its_marker).
    It goes with its marker and the header is recounted for the sides that held it. Ground truth:
    the counts by git's description of the format (``_combined_counts_hold``), the characters cut
    by the longest common subsequence; expected texts by hand. Control: an emptied line before
    another stays."""
    head = "diff --cc f.txt\nindex 1..2,3..4\n--- a/f.txt\n+++ b/f.txt\n"
    nonl = "\\ No newline at end of file\n"
    pages = {head + f"@@@ -1,2 -1,2 +1,3 @@@\n  ctx\n++x\n  {_A}\n{nonl}": head + "@@@ -1,1 -1,1 +1,2 @@@\n  ctx\n++x\n",
             head + f"@@@ -1,1 -1,1 +1,3 @@@\n  ctx\n++x\n++{_A}\n{nonl}": head + "@@@ -1,1 -1,1 +1,2 @@@\n  ctx\n++x\n",
             head + f"@@@ -1,2 -1 +1,2 @@@\n  ctx\n +{_A}\n{nonl}": head + "@@@ -1,1 -1 +1,1 @@@\n  ctx\n",
             head + f"@@@ -1,2 -1,2 +1,2 @@@\n  {_A}\n  end\n{nonl}": head + f"@@@ -1,2 -1,2 +1,2 @@@\n  \n  end\n{nonl}"}  # control
    stage = _stage(tmp_path)
    for text, want in pages.items():
        assert _combined_counts_hold(text)
        out, removed = stage.cut_counted(text, prose=False)
        assert out == want and _combined_counts_hold(out) and removed == len(text) - _lcs(text, out), (text, out)


def test_python_lines_are_numbered_as_ast_numbers_them():
    """``cut_python`` drops statements by ``ast``'s line numbers: a form feed (old GNU sources put
    one between functions) or U+2028 is no line break to Python, but ``str.splitlines`` broke there,
    so every statement after it was taken a line too early. Ground truth: ``ast``'s ``lineno`` of
    each statement is the index of the line that starts it."""
    import ast

    from curate.stages.decontaminate import _py_lines

    for src in ("a = 1\n\x0c\ndef f():\n    return 2\nb = '\u2028'\r\nc = 3\rd = 4\n", "x = 1", ""):
        lines = _py_lines(src)
        assert "".join(lines) == src
        for node in ast.parse(src).body:
            assert lines[node.lineno - 1].lstrip(" \x0c").startswith(ast.get_source_segment(src, node)[:1]), (src, node.lineno)
        assert len(lines) == len(src.splitlines()) - ("\x0c" in src) - ("\u2028" in src)


def test_cut_python_finds_the_cut_lines_from_the_cuts_own_edits(tmp_path, monkeypatch):
    """``cut_python`` found the lines the cut changed by ``difflib`` over the file's lines, quadratic
    in a file of many alike lines (blank lines, ``return 0``): 112 KB of small functions took 17 s
    to diff (23.6 s in all), and it could pick the wrong one of two identical lines. The cut's own
    edits, traced back through its passes, name them: no line diff at all (the speed is measured by
    ``bench/bench_cut_page.py --python``). Each cut line's statement goes, the rest stays (ground
    truth ``ast``: the other functions are all there)."""
    import ast
    import difflib

    def refused(*a, **k):
        raise AssertionError("a line diff of the file")

    monkeypatch.setattr(difflib, "SequenceMatcher", refused)
    item = _CODE_ITEM
    stage = _stage(tmp_path, [item])
    funcs = "".join(f"def f{i}(x):\n    if x:\n        return 1\n\n    return 0\n\n\n" for i in range(50))
    text = funcs + f"def g(x):\n    {item}\n" + funcs.replace("def f", "def h")
    out, removed = stage.cut_python(text)
    names = [n.name for n in ast.parse(out).body]
    assert names == [n.name for n in ast.parse(text).body if n.name != "g"] and removed == len(text) - len(out)


def test_a_python_file_opening_with_a_byte_order_mark_is_read_as_python_reads_it(tmp_path):
    """A Python file's text may open with U+FEFF (a JSONL record of a file saved with a BOM): Python
    runs it (a file's bytes), but ``ast.parse`` of the text refused it, so it counted as a file
    that never parsed and was cut line by line, left ``))``. Ground truth: Python's compile of its
    UTF-8 bytes, before and after."""
    import ast

    item = _CODE_ITEM
    stage = _stage(tmp_path, [item])
    text = f"\ufeffdef f(x):\n    {item}\n\n\ndef g():\n    return 2\n"
    ast.parse(text.encode("utf-8"))
    out, removed = stage.cut_python(text)
    ast.parse(out.encode("utf-8"))
    assert out == "\n\ndef g():\n    return 2\n" and removed == len(text) - len(out)


def test_cut_python_takes_the_least_that_parses_not_every_top_level_statement_cut(tmp_path):
    """Where a method was its class's only statement (or a def its ``else:``'s), taking it left an
    empty block, and ``cut_python`` then took every top-level statement holding a cut line whole:
    another class's every method with it. A line in a class's own body (an attribute) took the
    class. Now a statement of a class's body goes alone, and a block the cut empties takes the
    statement that opens it, the rest kept. Ground truth ``ast``: the output parses and keeps the
    statements named (expected texts by hand)."""
    item = _CODE_ITEM
    note = "red orange yellow green blue indigo violet black white grey brown pink cyan teal navy gold"
    stage = _stage(tmp_path, [item, note])
    ms = "".join(f"    def m{i}(self):\n        return {i}\n\n" for i in range(3))
    pages = {f"class C:\n    x = [\n        {item[7:]}.x\n    ]\n\n{ms}": f"class C:\n\n{ms}",
             f"class C:\n    def f(self):\n        {item}\n\n{ms}\nclass D:\n    def g(self):\n        {item}\n":
                 f"class C:\n\n{ms}\n",
             f"def g(x):\n    if x:\n        return 1\n    else:\n        def h():\n            {item}\n    return 3\n":
                 "def g(x):\n    return 3\n",
             f"try:\n    import a\nexcept ImportError:\n    def f():\n        {item}\nx = 1\n": "x = 1\n",
             # a comment between a class's methods is in none of its statements: cut line by line
             f"class C:\n    def m(self):\n        return 0\n    # {note}\n    x = 1\n\ndef f():\n    {item}\n":
                 "class C:\n    def m(self):\n        return 0\n    x = 1\n\n",
             f"class C(\n        {item[7:]}.x):\n    x = 1\ny = 2\n": "y = 2\n"}  # its header: the class
    _assert_cut_python(stage, pages)


def test_an_operator_line_the_cut_empties_keeps_its_closing_brackets(tmp_path):
    """``>`` and ``--`` mark a quote or a comment, but in code they are operators too: a condition's
    continuation line ``    > ITEM) {`` was read as a quote left with the item's punctuation and
    went whole, its ``)`` and ``{`` with it (every brace of the file after it unpaired). It stays,
    emptied, where the marks left do not pair among themselves; a quote's ``> (ITEM).`` and a
    comment's ``# (ITEM))`` go. Ground truth: the file's brackets pair before and after."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"if (x\n    > {a}) {{\n  y();\n}}\n": "if (x\n    > ) {\n  y();\n}\n",
             f"v = w[x\n      >> {a}];\n": "v = w[x\n      >> ];\n",
             f"while (n\n       -- {a}) {{\n}}\n": "while (n\n       -- ) {\n}\n",
             # controls
             f"Text\n> ({a}).\nmore\n": "Text\nmore\n", f"x\n# ({a}))\n": "x\n", f"> {a}\n": ""}

    got = {t: stage.cut_text(t, prose=False) for t in pages}
    assert got == pages
    assert all(_brackets_pair(out) for t, out in got.items() if _brackets_pair(t))


def _brackets_pair(t: str) -> bool:
    stack = []
    for c in t:
        if c in "([{":
            stack.append(c)
        elif c in ")]}" and (not stack or "([{"[")]}".index(c)] != stack.pop()):
            return False
    return not stack


def test_a_line_cut_takes_the_brackets_the_items_own_brackets_pair_with(tmp_path):
    """A line-level cut (a file that never parsed, or any code) ran from the item's first word to
    its last, so the brackets after its last word that close one it opened stayed: ``    ))`` (the
    ``omicron(final))`` of a call). Those go with it; a bracket whose partner is outside the item
    stays (``f(ITEM)``, ``y = (x -\\n ITEM)``). Ground truth: the brackets pair in the output
    where they did in the input (a plain stack), expected texts by hand."""
    item, a = _CODE_ITEM, _A
    stage = _stage(tmp_path, [item, a])
    pages = {f"y = {item[7:]}\n": "y =\n",
             f"z = [(({a.replace(' beta ', ') beta ')}), 1]\n": "z = [(), 1]\n",  # ``((alpha) beta .. final)``: the nearer ( is the item's
             # controls: the partner outside the item
             f"x = f({a}) + 1\n": "x = f() + 1\n", f"y = (x -\n     {a})\n": "y = (x -\n     )\n"}
    got = {t: stage.cut_text(t, prose=False) for t in pages}
    assert got == pages
    assert all(_brackets_pair(out) for t, out in got.items() if _brackets_pair(t))
    assert stage.cut_python(f"def f(x:\n    {item}\n") == ("def f(x:\n", len(item) + 5)  # never parsed: line by line


def test_a_mid_line_cut_leaves_one_blank_and_none_at_the_lines_end(tmp_path):
    """A cut inside a line took the item's words only, so the blanks either side of it both stayed
    (``#  more``, ``x = 1 +  + 2``) and one at the line's end stayed there (``x = 1 ``). The blanks
    after it go where one stays before it; at the line's end, those before it. Controls: a blank
    with a quote or bracket beside it (``"# "``, ``(x - )``) is the code's."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"# {a} more\n": "# more\n", f"x = 1 + {a} + 2\n": "x = 1 + + 2\n", f"x = 1 {a}  \n": "x = 1\n",
             f"/* {a}\n   x */\n": "/*\n   x */\n",
             f"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n+y = 1 {a}\n": "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n+y = 1\n",
             # controls
             f'x = "# {a}"\n': 'x = "# "\n', f"y = (x - {a})\n": "y = (x - )\n"}
    got = {t: stage.cut_text(t, prose=False) for t in pages}
    assert got == pages


def test_a_line_cut_takes_no_bracket_for_one_quoted_inside_the_item(tmp_path):
    """The brackets beside a line cut that pair with one inside the item go with it; but a bracket
    inside a string of the item (``')'``, ``'('``: HumanEval's ``correct_bracketing("(")``) was
    counted as the item's own, so the cut took the code's bracket beside it: ``x = (ITEM)`` with a
    ``')'`` in the item left ``x = )``, ``print(f(ITEM))`` with a ``'('`` left ``print(f()``. A quoted
    bracket is no bracket, and where a quote of the cut is left open (the cut starts or ends inside a
    string) a bracket pairs with one of that string only. Ground truth ``ast.parse``: the output parses
    where the input did. Controls: a quoted pair beside the item's own bracket (that one goes), a cut
    inside a string, one ending inside a string (its ``}`` goes, then the string's quote and the
    ``)`` the cut opened, context by context: it left ``")``)."""
    import ast

    w = _A.replace("lambda", "lam").split()  # (a Python keyword)
    stage = _stage(tmp_path, [" ".join(w)])
    pages = {f"x = ({w[0]} + ')' + {' + '.join(w[1:])})\n": "x = ()\n",
             f"print(f({' + '.join(w[:-1])} + '(' + {w[-1]}))\n": "print(f())\n",
             # controls: a quoted pair, the item's own bracket in a string the cut is inside
             f'y = g({w[0]} + "()" + {" + ".join(w[1:-1])}({w[-1]}))\n': "y = g()\n",
             f's = "{" ".join(w[:-1])} ({w[-1]})"\n': 's = ""\n',
             # a cut ending inside a string: its } goes (the item's {), then the string's " and the item's )
             f'x = g({" + ".join(w[:-1])}("{{{w[-1]}}}"), 2)\n': 'x = g(2)\n'}
    got = {t: stage.cut_text(t, prose=False) for t in pages}
    assert got == pages
    for t, out in list(got.items())[:-1]:
        ast.parse(t)
        ast.parse(out)


def test_a_mid_line_cut_leaves_a_tab_beside_it(tmp_path):
    """A mid-line cut with a blank before it took the blanks after it, and at the line's end those
    before it, tabs too: a tab-separated row (a TSV file, a literal tab in a string, a Makefile's
    tab-aligned columns) lost a column, ``1<TAB>ITEM<TAB>3`` left ``1<TAB>3`` and ``1<TAB>2<TAB>ITEM``
    ``1<TAB>2``, and a cut starting the line the tab after it (``ITEM<TAB>2<TAB>3``: that one is older).
    A tab stays, as in prose (a table's column); the spaces after the cut go where a blank stays before
    it. Ground truth:
    ``csv`` reads as many fields in the row after the cut as before. Controls: spaces."""
    import csv

    a = _A
    stage = _stage(tmp_path)
    pages = {f"1\t{a}\t3\n": "1\t\t3\n", f"1\t2\t{a}\n": "1\t2\t\n", f"1 \t{a} \t3\n": "1 \t\t3\n", f"{a}\t2\t3\n": "\t2\t3\n",
             # controls
             f"x = 1 + {a} + 2\n": "x = 1 + + 2\n", f"x = 1 {a}  \n": "x = 1\n", f"    {a}  x = 1\n": "    x = 1\n",
             f"//\t{a} more\n": "//\tmore\n"}
    got = {t: stage.cut_text(t, prose=False) for t in pages}
    assert got == pages
    for t in list(pages)[:4]:
        assert len(next(csv.reader([t], delimiter="\t"))) == len(next(csv.reader([got[t]], delimiter="\t")))


def _assert_cut_python(stage, pages: dict) -> None:
    """``stage.cut_python`` of each of ``pages`` (text: text after) gives it, parsing, its count the length lost."""
    import ast

    for text, want in pages.items():
        out, removed = stage.cut_python(text)
        ast.parse(out)
        assert out == want and removed == len(text) - len(out), (text, out)


def test_a_comment_line_the_cut_empties_keeps_its_function_when_a_cut_elsewhere_breaks_parsing(tmp_path):
    """Where the cut of one function broke parsing, every line the cut changed took its function
    whole: a comment line elsewhere (``# ITEM`` inside ``f``), which the line cut alone leaves
    valid, took ``f`` too. A changed comment line (first mark ``#``, not inside a string) now goes
    line by line; only the statements of the other cut lines go (then, where that does not parse,
    as before). A comment between the parts of a string spanning lines (``("a"\\n # ITEM\\n "b")``,
    one ``ast.Constant`` over its lines) was read as the string's and took ``f``: comment lines are
    ``tokenize``'s. Ground truth ``ast``: the output parses and keeps ``f``'s statements. Control: a
    ``# ITEM`` line inside a docstring is no comment (its statement goes, as before)."""
    item, a = _CODE_ITEM, _A
    stage = _stage(tmp_path, [item, a])
    g = f"\n\ndef g(x):\n    {item}\n"
    pages = {f"def f():\n    # {a}\n    return 1\n{g}": "def f():\n    return 1\n\n\n",
             # between two parts of a string spanning lines ("a" "b": one ast.Constant), a comment still
             f'def f():\n    s = ("a"\n         # {a}\n         "b")\n    return s\n{g}': 'def f():\n    s = ("a"\n         "b")\n    return s\n\n\n',
             # control
             f'def f():\n    """Doc.\n# {a}\n    """\n    return 1\n{g}': "\n\n"}
    _assert_cut_python(stage, pages)


def test_a_comment_after_a_functions_last_statement_goes_with_the_function(tmp_path):
    """A function's ``end_lineno`` is its last statement's, so where ``cut_python`` took it, a comment
    after that statement indented as its body stayed, indented, under whatever came before. The
    comment lines after a statement it takes, indented deeper than the statement, go with it.
    Controls: a comment at the statement's own indentation (the next method's) stays. Ground truth
    ``ast`` (the output parses), expected texts by hand."""
    item = _CODE_ITEM
    stage = _stage(tmp_path, [item])
    pages = {f"def g(x):\n    {item}\n    # done\n\n    # really\n\n\ndef f():\n    return 1\n": "\n\ndef f():\n    return 1\n",
             f"class C:\n    def g(self):\n        {item}\n        # done\n    # next\n    def f(self):\n        return 1\n":
                 "class C:\n    # next\n    def f(self):\n        return 1\n"}
    _assert_cut_python(stage, pages)


def test_cut_python_reads_python_3_11s_grammar_on_any_python(tmp_path, monkeypatch):
    """Whether a file "parsed" was the running Python's grammar: ``type X = int`` (3.12) parsed on 3.12,
    so there its function went whole, and on 3.11 it never parsed and was cut line by line. It is read
    with the oldest supported Python's grammar (``feature_version=(3, 11)``, requires-python) on every
    Python. Here (3.11 may be all there is) a 3.12 ``ast.parse`` is imitated: it takes ``type`` unless
    asked for an older grammar; the output is the same as with the real one."""
    import ast
    import sys

    from curate.stages import decontaminate

    item = _CODE_ITEM
    stage = _stage(tmp_path, [item])
    text = f"type X = int\n\n\ndef g(x):\n    {item}.x\n"  # cut line by line, ``.x`` is left
    real = ast.parse
    want = stage.cut_python(text)

    def parse_312(src, *args, feature_version=None, **kw):  # ``type X = int`` read as ``X = int``
        if feature_version is None or feature_version >= (3, 12):
            src = src.replace("type X = int", "X = int")
        return real(src, *args, feature_version=feature_version, **kw)

    monkeypatch.setattr(ast, "parse", parse_312)
    assert stage.cut_python(text) == want == ("type X = int\n\n\ndef g(x):\n    .x\n", len(text) - len(want[0]))
    monkeypatch.undo()
    if sys.version_info >= (3, 12):
        assert not decontaminate._parses("type X = int\n") and not decontaminate._parses("def f[T](x: T): pass\n")


def test_cut_python_parses_each_text_once_and_counts_each_header_once(tmp_path, monkeypatch):
    """``cut_python`` parsed the original three times (does it parse, then again for its tree) and
    ``cut_counted`` counted each recounted hunk header's characters twice (the pass's count, then the
    original's against the output's): each text is parsed once, each (header, header after) counted once."""
    import ast
    from collections import Counter

    from curate.stages import decontaminate

    item = _CODE_ITEM
    stage = _stage(tmp_path, [item, _A])
    parsed, counted = Counter(), Counter()
    real_parse, real_count = ast.parse, decontaminate._header_removed
    monkeypatch.setattr(ast, "parse", lambda src, *a, **k: (parsed.update([src]), real_parse(src, *a, **k))[1])
    monkeypatch.setattr(decontaminate, "_header_removed", lambda old, new: (counted.update([(old, new)]), real_count(old, new))[1])
    out, _ = stage.cut_python(f"def f(x):\n    {item}\n\n\ndef g():\n    return 2\n")
    assert out == "\n\ndef g():\n    return 2\n" and parsed and max(parsed.values()) == 1, parsed
    diff = f"--- a/f\n+++ b/f\n@@ -1,2 +1,4 @@\n x\n+{_A}\n+w\n y\n@@ -9,2 +11,3 @@\n x\n+z\n y\n"
    out, removed = stage.cut_counted(diff, prose=False)
    assert out == "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n x\n+w\n y\n@@ -9,2 +10,3 @@\n x\n+z\n y\n" and removed == len(diff) - _lcs(diff, out)
    assert counted and max(counted.values()) == 1, counted


def test_a_trailing_comment_the_cut_changes_keeps_its_function_when_a_cut_elsewhere_breaks_parsing(tmp_path):
    """A changed comment line is cut alone, its function kept, where the cut of another function
    breaks parsing; but a comment after code (``x = 1  # ITEM``) made its line a "code" line, and
    its function went whole with the other. A line the cut changed only from its comment on (the
    blanks before the ``#`` too) is a comment line (``tokenize``: the comment's start, the code's
    end). Ground truth ``ast``: the output parses and keeps ``f``. Control: a cut reaching into the
    code before the comment (its function goes, as before)."""
    item, a = _CODE_ITEM, _A
    stage = _stage(tmp_path, [item, a])
    g = f"\n\ndef g(x):\n    {item}\n"
    w = a.split()
    pages = {f"def f():\n    x = 1  # {a}\n    return x\n{g}": "def f():\n    x = 1\n    return x\n\n\n",
             f"def f():\n    x = 1  # {a} more\n    return x\n{g}": "def f():\n    x = 1  # more\n    return x\n\n\n",
             f'def f():\n    s = """a\n    b"""  # {a}\n    return s\n{g}': 'def f():\n    s = """a\n    b"""\n    return s\n\n\n',
             # control: the item starts in the code
             f"def f():\n    x = {w[0]}  # {' '.join(w[1:])}\n    return x\n{g}": "\n\n"}
    _assert_cut_python(stage, pages)


def test_a_cut_before_a_markdown_hard_break_keeps_it(tmp_path):
    """A line ending in two blanks or a backslash is a Markdown hard break; a cut of the line's
    last words took the blanks after the item (none before a line's end) and the backslash glued
    to its last word (``final\\``), so the line merged with the next one when rendered
    (``One ITEM  \\nTwo`` -> ``One\\nTwo``). The break stays: ``One  \\nTwo``, ``One\\\\\\nTwo``.
    Controls: a line the cut empties goes with its break, the hard break of the line before stays;
    one blank before the line's end is no break (it goes, as before)."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"One {a}  \nTwo\n": "One  \nTwo\n", f"One {a}\\\nTwo\n": "One\\\nTwo\n",
             f"One {a} \\\nTwo\n": "One\\\nTwo\n", f"One {a}   \r\nTwo": "One   \r\nTwo",
             # controls
             f"One  \n{a}  \nTwo\n": "One  \nTwo\n", f"One\\\n{a}\\\nTwo\n": "One\\\nTwo\n",
             f"One {a} \nTwo\n": "One\nTwo\n", f"One {a}\nTwo\n": "One\nTwo\n", f"One {a}\\": "One"}
    got = {t: stage.cut_text(t) for t in pages}
    assert got == pages


def test_a_line_cut_in_rust_reads_lifetimes_and_char_literals(tmp_path):
    """In Rust a ``'`` opens a char literal (``'x'``, ``'\\n'``) or is a lifetime or a label (``'a``,
    ``&'static str``, ``'outer:``), never a string; the bracket pairing read a lifetime as a quote
    whose string ran to the next ``'`` on the line, so a cut took the wrong brackets: ``let r: &'a u8
    = ITEM;`` with a ``&'beta`` in the item left ``);``. With ``language`` rust, ``'`` is a quote only
    as a char literal's. Ground truth: the brackets pair after the cut where they did before.
    Control: without a language (or in Python) ``'a b'`` is a string, as before."""
    w = _A.split()
    item = f"{w[0]}(&'{w[1]} {' '.join(w[2:-2])}, {w[-2]}({w[-1]}))"
    stage = _stage(tmp_path, [item])
    pages = {f"    let r: &'a u8 = {item};\n": "    let r: &'a u8 = ;\n",
             f"    let c = g({item}, 'x');\n": "    let c = g('x');\n",
             f"    let c = g({item}, '(', '\\'');\n": "    let c = g('(', '\\'');\n",
             f"fn f<'a, 'b>(x: &'a u8) -> u8 {{ {item} }} // y: &'b\n": "fn f<'a, 'b>(x: &'a u8) -> u8 { } // y: &'b\n",
             f"    'outer: loop {{ {item}; break 'outer; }}\n": "    'outer: loop { ; break 'outer; }\n"}
    got = {t: stage.cut_counted(t, prose=False, language="rust")[0] for t in pages}
    assert got == pages
    assert all(_brackets_pair(out) for t, out in got.items() if _brackets_pair(t))
    # control: a Python string of a word and more
    assert stage.cut_text(f"x = (1, 'a (', {item})\n", prose=False) == "x = (1, 'a (')\n"


_F_STRINGS = ['f"{d["k"]}"', 'f"{\'#\'}"', 'f"{x # c\n}"', 'f"{\'\\n\'.join(a)}"', 'f"{x:\\n}"', 'f"{x!r:>{w}}"', "f'{x\n}'",
              'f"""{x\n}"""', 'f"""{\'\'\'a\'\'\'}"""', 'f"""{"a"}"""', "f'{f\"{1}\"}'", "f'{f\"{f\'{1}\'}\"}'", 'f"{1}" "{"',
              'f"{x}"\n # c\n "y"', 'f"{x = }"', 'f"{\'a\' if x else \'b\'}"', 'f"{{x}}"', 'rf"{x}\\d"', 'f"{x:{"y"}}"',
              'f"{x:{y}}}}"', 'f"{(lambda: 1)()}"', 'f"{x:=5}"', 'f"{x\\\n}"', 'f"{[1,\n2]}"', "f'''{x #c\n}'''",
              'f"{\'\'\'a\nb\'\'\'}"', 'F"{x}" f\'{y}\'', 'f"{x!r:{"a"}}"', 'f"{x:{y:{z}}}"', 'f"""{\'a\nb\'}"""',
              'f"\\N{EM DASH} {x}"', 'f"{x != y}"', 'f"{a[\'}\']}"', 'f"{ {1: 2}[1] }"', 'f"{x}" r"\\"" f"{y!s:^{w}.{p}}"']
# CPython 3.11.7's ast.parse of each (in brackets): 3.12 and later take them all
_F_STRINGS_311 = [0, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1]


def test_f_strings_are_read_by_python_3_11s_rules_on_python_3_12_and_later(tmp_path, monkeypatch):
    """On Python 3.12 and later ``ast.parse(feature_version=(3, 11))`` reads f-strings by PEP 701
    whatever the version asked (``f"{d["k"]}"``, a backslash or a comment in a field), so a file
    holding one "parsed" there and not on 3.11: there ``cut_python`` took its cut function whole,
    on 3.11 it was cut line by line. ``_tree`` checks a tree's f-strings by 3.11's rules where the
    Python is 3.12 or later (``_strings_311``). Ground truth: CPython 3.11's ``ast.parse`` of each
    (here where it is 3.11, else its results kept). A 3.12 ``ast.parse`` is imitated on 3.11 (it
    takes the same-quote f-string)."""
    import ast
    import sys

    from curate.stages import decontaminate

    item = _CODE_ITEM
    stage = _stage(tmp_path, [item])
    text = f'KEY = f"{{d["k"]}}"\n\n\ndef g(x):\n    {item}.x\n'  # 3.11: never parsed, cut line by line
    real = ast.parse

    def parse_312(src, *args, **kw):  # the same-quote field read as 3.12 reads it
        return real(src.replace('f"{d["k"]}"', "f\"{d['k']}\""), *args, **kw)

    want = ('KEY = f"{d["k"]}"\n\n\ndef g(x):\n    .x\n', len(text) - len('KEY = f"{d["k"]}"\n\n\ndef g(x):\n    .x\n'))
    if sys.version_info < (3, 12):
        assert stage.cut_python(text) == want
        monkeypatch.setattr(ast, "parse", parse_312)
        monkeypatch.setattr(decontaminate, "_PEP701", True, raising=False)
    assert stage.cut_python(text) == want
    assert decontaminate._tree('x = f"{y!r:>{w}}" f\'{z}\'\n') is not None  # 3.11's own f-strings parse
    monkeypatch.undo()

    if sys.version_info < (3, 12):
        def parses(src):
            try:
                ast.parse("(" + src + "\n)")
                return 1
            except SyntaxError:
                return 0
        assert [parses(s) for s in _F_STRINGS] == _F_STRINGS_311
    assert [int(decontaminate._strings_311(s)) for s in _F_STRINGS] == _F_STRINGS_311


_COLOURS = "red orange yellow green blue indigo violet black white grey brown pink cyan teal navy gold"


def test_a_floor_division_in_python_is_no_comment_marker_for_the_line_cut(tmp_path):
    """The line cut takes a comment after code whole where it empties it (``x = 1  # ITEM`` left
    ``x = 1``), reading ``#`` and ``//`` as comment markers in any language; in Python ``//`` is
    floor division, so ``y = b // ITEM`` left ``y = b``: it parsed, and the function was kept with
    its arithmetic changed. In Python only ``#`` opens a comment (the operator stays, the line does
    not parse, the function goes whole), in C only ``//`` (``a ## ITEM`` is a macro's token
    pasting). Ground truth ``ast`` (the output parses, ``f`` gone). Controls: Python's ``# ITEM``
    and C's ``// ITEM`` go with their marker, as before; with no language both do."""
    import ast

    expr = " + ".join(_COLOURS.split())
    stage = _stage(tmp_path, [_COLOURS])
    h = "\n\ndef h():\n    return 2\n"
    floor = f"def f(b):\n    y = b // {expr}\n    return y\n{h}"
    out, removed = stage.cut_python(floor)
    assert out == h and removed == len(floor) - len(out)  # f went whole: its line no longer parses
    ast.parse(out)
    _assert_cut_python(stage, {f"def f(b):\n    y = b  # {expr}\n    return y\n{h}": f"def f(b):\n    y = b\n    return y\n{h}"})
    code = {"python": (f"y = b // {expr}\n", "y = b //\n"), "c": (f"#define P(a) a ## {expr}\n", "#define P(a) a ##\n")}
    for language, (text, want) in code.items():
        assert stage.cut_counted(text, prose=False, language=language)[0] == want, language
    for language, text in (("python", f"y = b  # {expr}\n"), ("c", f"int y = b; // {expr}\n"), (None, f"y = b // {expr}\n")):
        assert stage.cut_counted(text, prose=False, language=language)[0] == text[: text.index("  #" if "  #" in text else " //")] + "\n"


def test_a_code_documents_language_is_read_as_its_label_names_it(tmp_path):
    """A JSONL dump labels its records as it likes (``rs``, ``py``: The Stack's extensions), and
    the cut compared the label with ``rust`` and ``python`` as they are: a Rust file labelled
    ``rs`` had its lifetimes read as quotes (``let r: &'a u8 = ITEM;`` left ``);``), a Python file
    labelled ``py`` was cut line by line and kept unparsable (``def g(x):`` with no body). The
    label is read as ``languages.canonical`` names it (the secrets filter's one table). Ground truth
    ``ast`` and the brackets' pairing; through ``curate run`` (the one run that shows a document's
    language reaching the cut: cut34's ``lang = "rust"`` run is this one's ``rs`` row)."""
    import ast

    from curate.schema import make_id

    w = _A.split()
    item = f"{w[0]}(&'{w[1]} {' '.join(w[2:-2])}, {w[-2]}({w[-1]}))"
    ev = tmp_path / "eval.txt"
    ev.write_text(f"{item}\n{_CODE_ITEM}\n", encoding="utf-8")
    rows = [{"id": "r", "text": f"fn f<'a>() {{\n    let r: &'a u8 = {item};\n}}\n", "lang": "rs"},
            {"id": "p", "text": f"def g(x):\n    {_CODE_ITEM}\n\n\ndef h():\n    return 2\n", "lang": "py"}]
    kept, _ = run_web(tmp_path, "labels", rows, ev, 'mode = "cut"', "code")
    out = dict(pl.read_parquet(tmp_path / "labels" / "text/*.parquet").select("id", "text").iter_rows())
    assert kept == {"r", "p"} and out[make_id("web", "r")] == "fn f<'a>() {\n    let r: &'a u8 = ;\n}\n"
    ast.parse(out[make_id("web", "p")])
    assert out[make_id("web", "p")] == "\n\ndef h():\n    return 2\n"


def test_a_line_cut_in_haskell_ocaml_or_lisp_reads_primes_and_quotes_as_no_strings(tmp_path):
    """A ``'`` opened a string to the next ``'`` on the line unless it stood between a word and a
    letter (``don't``); in Haskell and OCaml a ``'`` ends a name (``x'``, ``foldl'``) or opens a
    type variable (``'a``), in Lisp it quotes a list (``'(a b)``): read as a string, it hid the
    bracket after the item from the item's own, and the cut left it (``g (ITEM) y'`` with a ``x'``
    in the item left ``g () y'``). Haskell's and OCaml's ``'`` quotes a char literal only
    (``'c'``, ``'\\065'``, not after a name's letter), Lisp's nothing. Ground truth: the brackets
    pair after the cut where they did before. Control: with no language, as before."""
    b = _COLOURS.split()
    item = f"{b[0]} ({b[1]} {b[2]}' {' '.join(b[3:])}"
    stage = _stage(tmp_path, [item])
    pages = {"haskell": [f"  f x = g ({item})) y'\n", f"  f x' = g ({item})) 'c'\n", f"  f x = g ({item})) ' ' x'\n"],
             "ocaml": [f"  let f (x : 'a) = g ({item})) x'\n", f"  let c = g ({item})) '\\065' x'\n"],
             "hs": [f"  f x = g ({item})) y'\n"], "lisp": [f"  (setq x '(g ({item}))) y '(a))\n"]}
    for language, texts in pages.items():
        for t in texts:
            out = stage.cut_counted(t, prose=False, language=language)[0]
            assert _brackets_pair(out), (language, t, out)
    t = f"  f x = g ({item})) y'\n"  # control: no language, the old reading (the ``'`` a quote: it and the
    assert stage.cut_counted(t, prose=False)[0] == "  f x = g ((')) y'\n"  # ``(`` it hid stay, the page closing both)


def test_an_escaped_backslash_glued_to_the_items_last_word_is_no_hard_break(tmp_path):
    """A backslash ending the line is a Markdown hard break, but ``\\\\`` is an escaped backslash
    (CommonMark: a backslash before punctuation is that character): the cut kept one of the item's
    two, ``One ITEM\\\\\\\\`` left ``One\\\\``, a hard break the page did not have. A run of an odd
    number of backslashes ends in a break (the one kept), an even one is the item's (all cut).
    Ground truth: CommonMark's escapes, by hand."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"One {a}\\\\\nTwo\n": "One\nTwo\n", f"One {a}\\\\\\\nTwo\n": "One\\\nTwo\n", f"One {a}\\\nTwo\n": "One\\\nTwo\n"}
    assert {t: stage.cut_text(t) for t in pages} == pages


def test_a_line_cut_reads_raw_strings_whose_backslash_escapes_nothing(tmp_path):
    """The bracket pairing read every string as C's: a ``"`` closed it unless after a backslash. A
    Rust raw string ends at its ``"#`` (``r#"say "hi"#``: the ``"`` inside closed it, the ``"#``
    opened a string to the line's end), and in Rust's ``r"C:\\"``, Go's `` `C:\\` ``, C#'s
    ``@"C:\\"`` and Visual Basic's ``"C:\\"`` a backslash escapes nothing (it hid the closing quote):
    an item holding a quoted bracket (``f("b)", ...)``) then paired with the code's, and the cut left
    ``))``. Ground truth: each language's string rules, by hand (the code's brackets pair after the cut).
    Controls: a C-like string's ``\\"`` is an escape (Rust, JavaScript's template, C#'s plain string)."""
    w = _A.split()
    item = f'{w[0]}("{w[1]})", {" ".join(w[2:-1])}({w[-1]}))'
    stage = _stage(tmp_path, [item])
    pages = {"rust": [('    let s = (r#"say "hi"#, {});\n', '    let s = (r#"say "hi"#);\n'),
                      ('    let s = (r"C:\\", {});\n', '    let s = (r"C:\\");\n'),
                      ('    let s = (br##"a "# b"##, {});\n', '    let s = (br##"a "# b"##);\n'),
                      ('    let s = ("a\\"(", {});\n', '    let s = ("a\\"(");\n')],  # control
             "go": [("  s := (`C:\\`, {})\n", "  s := (`C:\\`)\n"), ('  s := (`say "hi`, {})\n', '  s := (`say "hi`)\n')],
             "c#": [('  var s = (@"C:\\", {});\n', '  var s = (@"C:\\");\n'), ('  var s = ("a\\"(", {});\n', '  var s = ("a\\"(");\n')],
             "visual basic": [('  x = f("C:\\", {})\n', '  x = f("C:\\")\n')], "vb": [('  x = f("C:\\", {})\n', '  x = f("C:\\")\n')],
             "javascript": [("  const s = (`a\\`(`, {});\n", "  const s = (`a\\`(`);\n")]}
    for language, rows in pages.items():
        for page, want in rows:
            text = page.format(item)
            out = stage.cut_counted(text, prose=False, language=language)[0]
            assert out == want, (language, text, out)


def test_a_visual_basic_comment_the_cut_empties_goes_with_its_marker(tmp_path):
    """In Visual Basic ``'`` (or ``REM``) starts a comment, and a ``'`` is no quote: a comment line or
    a comment after code the cut emptied kept its marker (``Dim x = 1 '``, a lone ``'`` line), as
    ``#`` and ``//`` no longer do. The marker goes with the item, by the label (``vb``, The Stack's
    ``visual-basic``). Controls: a comment with more than the item; ``''`` doubled inside a string;
    ``'`` in another language is no comment marker."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"Dim x = 1 ' {a}\n": "Dim x = 1\n", f"' {a}\nDim y\n": "Dim y\n", f"    REM {a}\nDim y\n": "Dim y\n",
             f"x = f(1) ' it's ({a})\n": "x = f(1) ' it's ()\n",
             # controls
             f"' {a} more\n": "' more\n", f'Dim s = "He said ""{a}"" (ok)"\n': 'Dim s = "He said """" (ok)"\n'}
    for language in ("visual basic", "vb", "visual-basic", "VBScript"):
        assert {t: stage.cut_counted(t, prose=False, language=language)[0] for t in pages} == pages, language
    assert stage.cut_counted(f"x = 1 ' {a}\n", prose=False, language="python")[0] == "x = 1 '\n"


def test_a_python_type_comment_the_cut_changes_goes_whole(tmp_path):
    """A type comment (PEP 484's ``# type: ...``) is a comment to the grammar (``ast.parse`` takes any
    text there), so a cut inside one left what mypy refuses: ``x = []  # type: List[ITEM]`` left
    ``# type: List[]``, ``x = 1  # type: ITEM`` an empty ``# type:``, a signature ``(ITEM) -> int`` one
    of no argument for ``f(a)``. A type comment the cut changes goes whole (the line where it is all
    of it); what it typed stays untyped. Ground truth: each type comment left reads as a type
    (``ast.parse(type_comments=True)``, each one by ``mode="eval"`` or ``"func_type"``). Controls: a
    comment after ``# type: ignore``, a type comment the cut does not reach, ``# type:`` in a string."""
    import ast

    a = _A
    stage = _stage(tmp_path)
    pages = {f"x = []  # type: List[{a}]\n": "x = []\n", f"x = 1  # type: {a}\n": "x = 1\n",
             f"def f(a):\n    # type: ({a}) -> None\n    return 1\n": "def f(a):\n    return 1\n",
             f"def f(a):  # type: ({a}) -> int\n    return 1\n": "def f(a):\n    return 1\n",
             # controls
             f"x = g()  # type: ignore  # {a}\n": "x = g()  # type: ignore\n",
             f"x = [{a}]  # type: List[int]\n": "x = []  # type: List[int]\n", f's = "# type: {a}"\n': 's = "# type: "\n'}
    _assert_cut_python(stage, pages)
    for out in pages.values():
        for n in ast.walk(ast.parse(out, type_comments=True)):
            if getattr(n, "type_comment", None):
                ast.parse(n.type_comment, mode="func_type" if isinstance(n, ast.FunctionDef) else "eval")


def test_an_item_glued_to_an_escape_before_it_is_cut_from_after_the_escape(tmp_path):
    """An item after a C-like string's escape with no blank (``"foo\\nITEM"``, ``\\tITEM``, a JSON
    string or a log line) is ``foo nalpha`` to the matching: its first word is the window's one that
    differs, and the cut left it (``"foo\\nalpha "``, half the item). The cut reads the windows with
    a glued ``\\n``, ``\\t`` or ``\\r`` apart too and cuts from after the escape, which stays. Expected
    texts by hand. Controls: an escaped backslash (``\\\\nalpha``: the word is ``nalpha``); an item
    whose own first word follows a backslash (LaTeX's ``\\nabla``: as before); a copy only the
    escapes' reading finds (the matching, the stage's detection, does not) stays."""
    a = _A
    c = "nabla cdot sigma tau upsilon phi chi psi omega alef bet gimel dalet he vav zayin"
    stage = _stage(tmp_path, [a, c])
    glued = 'x = "' + "\\n".join(" ".join(a.split()[i : i + 3]) for i in range(0, 16, 3)) + '"\n'  # alpha beta gamma\ndelta ..
    pages = {f'x = "foo\\n{a}"\n': 'x = "foo\\n"\n', f'print("foo\\t{a}\\nbar")\n': 'print("foo\\t\\nbar")\n',
             f'x = "\\r{a} bar"\n': 'x = "\\r bar"\n', f"foo\\n{a}\\nbar": "foo\\n\\nbar",
             # controls
             f'x = "foo\\\\n{a}"\n': 'x = "foo\\\\nalpha "\n', f"Let f\\{c} hold.": "Let f\\ hold.",
             # a copy only the escapes' reading finds (every window of it holds two glued words): it stays
             glued: glued}
    for prose in (True, False):
        assert {t: stage.cut_text(t, prose) for t in pages} == pages, prose


def test_a_type_comment_rule_reads_the_files_comments_and_every_cut_on_the_line(tmp_path):
    """The type comment rule read only the line's first cut and the line alone: with the item in
    the code too (``x = f(y, ITEM)  # type: List[ITEM]``) the type comment kept ``List[]``, which
    mypy refuses; and a docstring's line ``# type: ITEM more`` read as a comment lost ``more``, not
    the item's. Python's comments are read over the file (``tokenize``), and any cut on the line
    reaching into a type comment takes it whole. Expected texts by hand. Control: a real type
    comment after a multi-line string still goes whole."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"x = f(y, {a})  # type: List[{a}]\n": "x = f(y, )\n",
             f'def f():\n    """Doc.\n\n    # type: {a} more\n    """\n': 'def f():\n    """Doc.\n\n    # type: more\n    """\n',
             f'"""\n# type: {a} more\n"""\n': '"""\n# type: more\n"""\n',
             # control: after a multi-line string, a real type comment
             f'"""\n# x\n"""\nx = 1  # type: List[{a}]\n': '"""\n# x\n"""\nx = 1\n'}
    _assert_cut_python(stage, pages)


def test_an_escape_after_escaped_backslashes_and_a_token_read_otherwise_apart(tmp_path):
    """An escape after an escaped backslash (``\\\\\\nITEM``: ``\\\\`` then ``\\n``) was not read as one
    (any backslash before it ruled it out), and the item's first word stayed (``nalpha``); and one
    token whose words the escapes' reading would make fewer (``\\nﹲa``: an Arabic presentation
    form, ``n`` a word of its own there) turned the reading off for the whole page, another line's
    item leaving its first word. The escape is told by the run of backslashes before it (odd: an
    escape), and such a token is read plainly, alone. Expected texts by hand."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f'x = "foo\\\\\\n{a}"\n': 'x = "foo\\\\\\n"\n', f'x = "foo\\\\\\\\\\n{a}"\n': 'x = "foo\\\\\\\\\\n"\n',
             f"x\\n\ufe72a foo\\n{a}": "x\\n\ufe72a foo\\n",
             # control: an escaped backslash before the letter (the word is ``nalpha``, not the item's)
             f'x = "foo\\\\\\\\n{a}"\n': 'x = "foo\\\\\\\\nalpha "\n'}
    for prose in (True, False):
        assert {t: stage.cut_text(t, prose) for t in pages} == pages, prose


def test_a_visual_basic_rem_after_a_colon_or_a_doubled_marker_goes_with_the_item(tmp_path):
    """Visual Basic's ``REM`` after code (``x = 1 : REM ITEM``, the statement separator then the
    comment) kept ``: REM``, and a comment line ``' ' ITEM`` (a second ``'`` in the comment) its
    ``'``: a ``'`` after the marker was read as text. Both go with the item; so does the separator
    with no blank before it (``x = 1: REM ITEM`` kept ``: REM``, ``x = 1: ' ITEM`` the ``:``: filt36).
    Expected texts by hand. Controls: ``Remark`` is a name, not ``REM``; another language's ``: REM``
    stays; a ``: REM`` in a string stays with the string's other words."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"x = 1 : REM {a}\n": "x = 1\n", f"x = 1 : rem {a}\n": "x = 1\n", f"' ' {a}\nDim y\n": "Dim y\n",
             f"    '' {a}\nDim y\n": "Dim y\n", f"x = 1: REM {a}\n": "x = 1\n", f"x = 1:REM {a}\n": "x = 1\n",
             f"x = 1: ' {a}\n": "x = 1\n", f"x = 1 :' {a}\n": "x = 1\n",
             # controls
             f"x = 1 : Remark({a})\n": "x = 1 : Remark()\n", f'x = "1: REM {a}"\n': 'x = "1: REM "\n'}
    assert {t: stage.cut_counted(t, prose=False, language="vb")[0] for t in pages} == pages
    assert stage.cut_counted(f"x = 1 : REM {a}\n", prose=False, language="python")[0] == "x = 1 : REM\n"


def test_a_line_cut_reads_a_template_literals_expressions_as_code(tmp_path):
    """In a JavaScript template literal a ``${...}`` holds code, its quotes strings and its own
    templates (``${ `${x}` }``); the bracket pairing read it as the template's text, so an item there
    holding a quoted bracket (``f("b", ITEM)``) paired its brackets with the code's and the cut left
    ``))``, and a nested template's backtick closed the outer one. Ground truth: JavaScript's
    grammar, by hand (the code's brackets pair after the cut). Controls: a Go raw string's ``${``
    is text; a ``{`` in a template not after ``$`` is text, nor after an escaped ``\\$``."""
    w = _A.split()
    item = f'{w[0]}("{w[1]})", {" ".join(w[2:-1])}({w[-1]}))'
    stage = _stage(tmp_path, [item])
    rows = [("javascript", 'const s = `a ${{f("b", {})}} c`;\n', 'const s = `a ${f("b")} c`;\n'),
            ("javascript", "const s = `a ${{f(`b ${{x}}`, {})}} c`;\n", "const s = `a ${f(`b ${x}`)} c`;\n"),
            ("ts", "const s = `${{g({{k: `}}`}}, {})}}`;\n", "const s = `${g({k: `}`})}`;\n"),
            # controls
            ("go", "  s := (`${{`, {})\n", "  s := (`${`)\n"),
            ("javascript", "const s = (`a {{`, {});\n", "const s = (`a {`);\n"),
            ("javascript", "const s = (`\\${{`, {});\n", "const s = (`\\${`);\n")]  # an escaped ``\${`` is text
    # an item ending inside a template's code takes the ``}`` that closes the ``${`` it holds (it left ``}``)
    stage = _stage(tmp_path, [_A])
    text = f"const m = `certificate {_A.rsplit(' ', 1)[0]} ${{final}}`;\n"
    assert stage.cut_counted(text, prose=False, language="javascript")[0] == "const m = `certificate `;\n"
    for language, page, want in rows:
        text = page.format(item)
        assert stage.cut_counted(text, prose=False, language=language)[0] == want, (language, text)


def _node_checks(tmp_path, sources: list[str]) -> None:
    """Each of ``sources`` is JavaScript that ``node --check`` parses (where node is installed: an
    implementation independent of the cut's bracket reading)."""
    import shutil
    import subprocess

    if not shutil.which("node"):  # a skip: CI=true makes it a failure (.ci/run installs Node.js as it does Chromium)
        pytest.skip("node is not installed: the cut's JavaScript outputs are checked by node's parser")
    files = []
    for k, src in enumerate(sources):
        files.append(tmp_path / f"out{k}.js")
        files[-1].write_text(src, encoding="utf-8")
    # one node for all (vm.Script parses as node --check does, without running): the sources it refuses, by number
    check = ("const vm = require('vm'), fs = require('fs'); process.argv.slice(1).forEach((f, k) => "
             "{ try { new vm.Script(fs.readFileSync(f, 'utf8')) } catch (e) { console.log(k, e.message) } })")
    r = subprocess.run(["node", "-e", check, *map(str, files)], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout, (r.stdout, r.stderr[-300:], sources)


def _assert_js_cuts(tmp_path, stage, rows: list[tuple[str, str]]) -> None:
    """Each JavaScript text of ``rows`` cut as its expected text, node parsing every input and output."""
    got = [stage.cut_counted(t, prose=False, language="javascript")[0] for t, _ in rows]
    assert got == [want for _, want in rows]
    _node_checks(tmp_path, [t for t, _ in rows] + got)


def test_a_line_cut_takes_what_it_opened_and_the_text_closes_after_it_context_by_context(tmp_path):
    """A cut ending inside a template's ``${...}`` took the ``}`` and stopped: what the cut had
    opened in the template's text, the template itself and the code around it stayed
    (``f(`x (${ITEM})`)`` left ``)`)``; 2 of the code sample's 899 seeded cuts, ``)`);``), and one
    ending inside a string it opened left the string's quote (``g(1, ITEM("final"))`` left ``"))``).
    Right after the cut, each context it opened is closed in turn: its brackets, its ``}``, its
    string's quote, the code's brackets. Ground truth: node parses each input and output.
    Controls: a string's quote stays where the cut started inside a string (``g("ITEM", "ITEM")``
    leaves ``g("")``, one string of the halves). (A closer not right after the cut, ``|$)``:
    test_what_a_line_cut_opens_or_closes_and_the_page_pairs_later_stays.)"""
    w = _A.split()
    plus = " + ".join(w)
    stage = _stage(tmp_path)
    rows = [(f"g({w[0]}(`{w[1]} ${{{w[2]}}} {' '.join(w[3:-1])} (${{{w[-1]}}})`));\n", "g();\n"),
            (f"g(1, {plus.rsplit(' + ', 1)[0]}(\"{w[-1]}\"));\n", "g(1);\n"),
            (f'g("{" ".join(w[:8])}", "{" ".join(w[8:])}");\n', 'g("");\n')]
    _assert_js_cuts(tmp_path, stage, rows)


def test_a_template_substitution_the_cut_takes_or_empties_goes_with_its_dollar(tmp_path):
    """A cut from right after a template's ``${`` through its ``}`` took the ``{`` (the ``}``'s
    partner) and left the ``$`` (`` `x ${ITEM} final y` `` left `` `x $ y` ``: a ``$`` the page never
    had), and one emptying a ``${...}`` left ``${}``, a SyntaxError. Both go whole with their
    ``$``. Ground truth: node parses each input and output. Controls: a ``$`` before the ``${``
    is text and stays; Go's backticks hold no code (``${`` is text there)."""
    w = _A.split()
    plus = " + ".join(w)
    stage = _stage(tmp_path)
    rows = [(f"const s = `x ${{{' + '.join(w[:-1])}}} {w[-1]} y`;\n", "const s = `x y`;\n"),
            (f"const s = `x ${{{plus}}} y`;\n", "const s = `x y`;\n"),
            (f"const s = g(`${{ {plus} }}`);\n", "const s = g(``);\n"),
            # control: the page's own $ before it
            (f"const s = `$${{{plus}}}`;\n", "const s = `$`;\n")]
    _assert_js_cuts(tmp_path, stage, rows)
    assert stage.cut_counted(f"  s := `x ${{{plus}}} y`\n", prose=False, language="go")[0] == "  s := `x ${} y`\n"


def test_each_cut_on_a_line_takes_its_items_words_not_the_punctuation_beside_them(tmp_path):
    """Only a line's first and last cut were cut from word to word; one between (a line holding
    the item twice) took its tokens' punctuation too, and with it the brackets that paired:
    ``x = [ITEM]  # type: List[ITEM]`` was cut to ``x = ``, which does not parse (``cut_python``
    then took the whole statement), ``x = [ITEM] + [ITEM]`` to ``x = +``. Each cut now takes its
    item's words, as a line's only one does. Ground truth ``ast.parse`` (type comments each read
    as a type). Control: one item on the line, as before."""
    import ast

    c = ", ".join(_A.replace("lambda", "lam").split())  # (a Python keyword)
    stage = _stage(tmp_path, [c])
    pages = {f"x = [{c}]  # type: List[{c}]\n": "x = []\n", f"x = [{c}] + [{c}]\n": "x = [] + []\n",
             f"def f():\n    return ({c})  # {c}\n": "def f():\n    return ()\n",
             # control
             f"x = [{c}]\n": "x = []\n"}
    _assert_cut_python(stage, pages)
    assert {t: stage.cut_counted(t, prose=False, language="python")[0] for t in pages} == pages
    for out in pages.values():
        for n in ast.walk(ast.parse(out, type_comments=True)):
            assert not getattr(n, "type_comment", None)



def test_a_cut_argument_takes_its_comma_where_the_list_goes_on_after_it(tmp_path):
    """A cut emptying one element of an argument list or collection left its separator: the item
    ``alpha, beta, ...`` as ``g(ITEM, 3)`` left ``g(, 3)`` and ``g(1, ITEM, 3)`` left ``g(1, , 3)``,
    neither of which parses. Where the text before the cut ends an opening bracket or a comma, the
    comma after it goes too: the element is dropped (``g(3)``, ``g(1, 3)``). Ground truth: Python's
    ``ast`` of the page with the element removed by hand. Control: a ``;`` after the cut stays."""
    import ast

    c = ", ".join(_A.replace("lambda", "lam").split())  # (a Python keyword)
    stage = _stage(tmp_path, [c])
    pages = {f"x = g({c}, 3)\n": "x = g(3)\n", f"x = g(1, {c}, 3)\n": "x = g(1, 3)\n",
             f"x = [{c},\n     3]\n": "x = [\n     3]\n", f"x = {{{c}, 3}}\n": "x = {3}\n",
             # control: a ``;`` after the cut stays (the last element: test_a_cut_last_element_takes_the_comma_before_it)
             f"x = g({c}); z = 1\n": "x = g(); z = 1\n"}
    got = {t: stage.cut_counted(t, prose=False, language="python")[0] for t in pages}
    assert {t: ast.dump(ast.parse(g)) for t, g in got.items()} == {t: ast.dump(ast.parse(w)) for t, w in pages.items()}
    assert got == pages


def test_a_visual_basic_label_keeps_its_colon_before_a_comment_the_cut_empties(tmp_path):
    """A Visual Basic line starting with a label (a name or line number and ``:``) then a comment
    holding the item (``Start: REM ITEM``, ``Start: ' ITEM``) lost the label's colon, read as the
    statement separator before the comment (``x = 1 : REM ITEM``), leaving ``Start``: a call of a
    procedure ``Start`` instead of a label. The label stays whole. Expected texts by hand (VB's
    grammar: a name followed by ``:`` first on its line is a label). Controls: code before the
    separator (``x = 1 : REM``, ``Start: x = 1 ' ITEM``) as before."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"Start: REM {a}\nDim y\n": "Start:\nDim y\n", f"  Start: ' {a}\nDim y\n": "  Start:\nDim y\n",
             f"10 : REM {a}\n": "10 :\n", f"Retry:REM {a}\n": "Retry:\n",
             # controls
             f"x = 1 : REM {a}\n": "x = 1\n", f"Start: x = 1 ' {a}\n": "Start: x = 1\n"}
    assert {t: stage.cut_counted(t, prose=False, language="vb")[0] for t in pages} == pages



def test_what_a_line_cut_opens_or_closes_and_the_page_pairs_later_stays(tmp_path):
    """A cut opening a template and a bracket the page closes further on, not right after the
    cut (`` a + `(${ITEM}|$)` ``), took the opening ones and left ``|$)` ``; one from inside a
    template's ``${f(`` through its ``)}`` into the template's text (`` `${f(ITEM)} final` ``, the
    item's last word the text's) took the ``)}`` and left `` `${f` ``. Each bracket or quote the
    cut holds whose partner the page keeps now stays. Ground truth: node parses each input and
    output; the expected texts by hand."""
    w = _A.split()
    stage = _stage(tmp_path)
    rows = [(f"const s = {w[0]} + `(${{{' + '.join(w[1:])}}}|$)`;\n", "const s = `(|$)`;\n"),
            (f"const s = `${{f({' + '.join(w[:-1])})}} {w[-1]}`;\n", "const s = `${f}`;\n"),
            (f"const s = [{w[0]}, ({' + '.join(w[1:])}, 3)];\n", "const s = [(3)];\n")]
    _assert_js_cuts(tmp_path, stage, rows)


def test_a_cut_starting_at_an_escapes_letter_takes_its_backslash(tmp_path):
    """An item of code holding an escape (``"...\\n alpha ..."``: its ``n`` one of the item's words) whose copy
    differs only before it: the cut started at the ``n`` and left the backslash, which escaped the string's quote
    (``x = "pre\\n ITEM"`` left ``x = "pre\\"``, a string never closed; the code sample's IPython test of
    ``%foo1``'s usage). The escape goes whole. Ground truth ``ast.parse``; expected texts by hand. Control: an
    escaped backslash (an even run) before the cut stays."""
    import ast

    a = _A.replace("lambda", "lam")  # (a Python keyword)
    stage = _stage(tmp_path, [f"Q\\n {a}", f"R\\t\\t {a} more"])
    pages = {f'x = "pre\\n {a}"\n': 'x = "pre"\n',
             f'x = f"pre\\t\\t {a} more\\n"\n': 'x = f"pre\\n"\n',
             # control: the page's escaped backslash
             f'x = "pre\\\\ {a}"\n': 'x = "pre\\\\ "\n'}
    got = {t: stage.cut_counted(t, prose=False, language="python")[0] for t in pages}
    assert got == pages
    assert all(ast.parse(out) for out in got.values())


def test_a_visual_basic_labels_colon_stays_when_its_comment_goes(tmp_path):
    """filt36 took a ``:`` before a trailing ``'`` or ``REM`` with the comment (``x = 1: ' ITEM``, the statement
    separator), but a line's label ends in ``:`` too: ``ErrHandler: ' ITEM`` was cut to ``ErrHandler``, a call of a
    Sub of that name, and ``On Error GoTo ErrHandler`` named no label (``10: ' ITEM`` left ``10``). A label keeps its
    colon; its ``REM`` comment goes as its ``'`` one does. Expected texts by hand. Control: the separator after a
    statement still goes with the comment."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"On Error GoTo ErrHandler\nx = 1\nErrHandler: ' {a}\n    Resume Next\n":
             "On Error GoTo ErrHandler\nx = 1\nErrHandler:\n    Resume Next\n",
             f"  Done: REM {a}\nEnd Sub\n": "  Done:\nEnd Sub\n", f"10: ' {a}\n": "10:\n",
             # controls: a statement's separator
             f"x = 1: ' {a}\n": "x = 1\n", f"Call Done: REM {a}\n": "Call Done\n"}
    assert {t: stage.cut_counted(t, prose=False, language="vb")[0] for t in pages} == pages


def test_a_visual_basic_label_in_a_diff_keeps_its_colon(tmp_path):
    """A label on a diff's added or removed line (``+ErrHandler: ' ITEM``) lost its ``:`` with the comment (left
    ``+ErrHandler``, a call): the label check looked from the line's start, before the ``+``. Expected texts by hand;
    control: a statement's separator on such a line still goes."""
    a, head = _A, "diff --git a/m.vb b/m.vb\n--- a/m.vb\n+++ b/m.vb\n@@ -1,2 +1,3 @@\n x = 1\n"
    stage = _stage(tmp_path)
    pages = {head + f"+ErrHandler: ' {a}\n+    Resume Next\n": head + "+ErrHandler:\n+    Resume Next\n",
             head + f"+  Done: REM {a}\n-End Sub\n": head + "+  Done:\n-End Sub\n",
             head + f"+x = 1: ' {a}\n": head + "+x = 1\n"}
    assert {t: stage.cut_counted(t, prose=False, language="vb")[0] for t in pages} == pages


def test_a_string_the_cut_opens_keeps_its_prefix_with_its_quote(tmp_path):
    """A prefixed string whose opening the cut holds and whose end the page keeps stayed open with its quote alone: Rust's
    ``r#"`` left ``"`` (the string then never closed at its ``"#``), C#'s ``@"C:\\"`` left ``"C:\\"`` (its quote escaped),
    Python's ``f"`` lost its ``f`` (``{y}`` no longer a field). The prefix stays with the quote. Expected texts by hand
    (the item's last word is the string's first, one word of the item differs: the prefix); the Python outputs parse
    (``ast``). Control: a plain string and a name's end before a quote (``xf"``, no prefix) as before."""
    import ast

    w = _A.rsplit(" ", 2)[0]  # the item less its last two words: the page's ``f`` stands for ``omicron``
    stage = _stage(tmp_path)
    pages = {(f'x = g({w} f"final {{y}}")\n', "python"): 'x = g(f" {y}")\n',
             (f"x = g({w} rb'final y')\n", "python"): "x = g(rb' y')\n",
             (f'let s = g({w} r#"final "yes""#);\n', "rust"): 'let s = g(r#" "yes""#);\n',
             (f'var s = g({w} @"final C:\\");\n', "c#"): 'var s = g(@" C:\\");\n',
             (f'x = g({w} "final y")\n', "python"): 'x = g(" y")\n', (f'x = g({w} xf"final y")\n', "python"): 'x = g(" y")\n'}
    got = {k: stage.cut_counted(k[0], prose=False, language=k[1])[0] for k in pages}
    assert got == pages
    for (_, language), out in got.items():
        if language == "python":
            ast.parse(out)


def test_prose_cut_takes_an_emptied_first_elements_comma(tmp_path):
    """Prose mode left ``g(, y)`` for ``g(ITEM, y)`` (a prose page's inline code) and ``(, 2019)`` for ``(ITEM, 2019)``,
    where code mode takes the emptied element's comma (filt37): after an opening bracket the item's comma goes, and the
    blanks after it. Expected texts by hand; controls as before: ``x, ITEM, y`` keeps one comma, ``He said ITEM, and``
    keeps it (a last element's comma: test_a_cut_last_element_takes_the_comma_before_it)."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f"Call g({a}, y) to start.\n": "Call g(y) to start.\n",
             f"The book ({a}, 2019) was read.\n": "The book (2019) was read.\n",
             f"Use `g({a}, y)` here.\n": "Use `g(y)` here.\n",
             f"\u300c{a}\u3001\u4e8c\u300d\n": "\u300c\u4e8c\u300d\n",  # 「ITEM、二」
             f"Fruit: apples, {a}, pears.\n": "Fruit: apples, pears.\n",
             f"He said {a}, and left.\n": "He said, and left.\n"}
    assert {t: stage.cut_counted(t, prose=True)[0] for t in pages} == pages


def test_a_batchs_cut_documents_are_matched_together(tmp_path, monkeypatch):
    """Cut mode normalised and matched each contaminated document on its own, a pass at a time
    (``normalize_words`` a document and a pass, ~25 ms of Arrow calls each: 180 Thai pages took 3.8
    CPU-s); the batch's cut documents are now matched together, each pass once for all. Counted:
    a batch of 3 such pages and one of 9 make as many calls. Ground truth: each page cut alone
    (``cut_counted``, or ``cut_python``), its text the batch's."""
    from curate.schema import docs_from_rows
    from curate.stages import decontaminate

    stage = _stage(tmp_path, [_A, _CODE_ITEM])
    thai = "ภาษาไทยเป็นภาษาที่มีระดับเสียงของคำแน่นอนหรือวรรณยุกต์เช่นเดียวกับภาษาจีน"
    pages = [("web", None, f"Before {_A}, after."), ("code", "python", f"def f():\n    {_CODE_ITEM}\n\nx = 1\n"),
             ("code", "c", f'x = g(1, "pre\\n{_A}");\n'), ("books", None, f"{thai} {_A}{thai}\n\n甲乙丙 {_A} 丁")]
    calls = []
    real = decontaminate.normalize_words
    monkeypatch.setattr(decontaminate, "normalize_words", lambda t: (calls.append(1), real(t))[1])
    counts, got = [], {}
    for copies in (1, 3):
        calls.clear()
        rows = [dict(id=f"{k}-{c}", text=t, domain=d, source="web", path="docs.jsonl", offset=k, url=None, language=lang, meta=None)
                for c in range(copies) for k, (d, lang, t) in enumerate(pages)]
        kept, _ = stage.process(docs_from_rows(rows))
        counts.append(len(calls))
        got.update(zip(kept.column("id").to_pylist(), kept.column("text").to_pylist()))
    alone = {k: (stage.cut_python(t)[0] if lang == "python" else stage.cut_counted(t, prose=d != "code", language=lang)[0])
             for k, (d, lang, t) in enumerate(pages)}
    assert got == {f"{k}-{c}": t for c in range(3) for k, t in alone.items()} and all(t != p[2] for t, p in zip(alone.values(), pages))
    assert counts[0] == counts[1], counts


def test_a_cut_last_element_takes_the_comma_before_it(tmp_path):
    """A cut emptying the last element of an argument list or collection left the comma before it:
    ``g(1, ITEM)`` left ``g(1, )``, which C, Java and JSON refuse (a trailing comma), in code and in a
    prose page's inline code or aside (``(apples, ITEM)`` left ``(apples, )``); and prose's
    ``g(ITEM,y)`` (no blank after the comma) left ``g(,y)``, ``g(x,ITEM,y)`` ``g(x,,y)``. The comma
    before a last element goes with it where a closing bracket follows (``g(1)``), a first element's
    glued comma after it (``g(y)``), one of two glued either side (``g(x,y)``). Expected texts by
    hand. Controls: a list that goes on keeps its commas as before, and where no bracket closes it;
    Python keeps the comma (a tuple's: ``ast``)."""
    import ast

    c = ", ".join(_A.replace("lambda", "lam").split())  # (a Python keyword)
    stage = _stage(tmp_path, [_A, c])
    code = {(f"int x = g(1, {c});\n", "c"): "int x = g(1);\n", (f"int x = g(1,{c});\n", "c"): "int x = g(1);\n",
            (f"int x = g(1 , {c} );\n", "c"): "int x = g(1 );\n", (f'{{"a": [1, {c}]}}\n', "json"): '{"a": [1]}\n',
            (f"int[] x = {{1, {c}}};\n", "java"): "int[] x = {1};\n",
            # controls: a list that goes on; Python's (1, ) is a tuple, (1) is not: its comma stays
            (f"int x = g(1, {c}, 3);\n", "c"): "int x = g(1, 3);\n", (f"x = (1, {c})\n", "python"): "x = (1, )\n"}
    got = {k: stage.cut_counted(k[0], prose=False, language=k[1])[0] for k in code}
    assert got == code
    assert ast.dump(ast.parse(got[f"x = (1, {c})\n", "python"])) == ast.dump(ast.parse("x = (1,)\n"))
    a = _A
    prose = {f"Call g({a},y) to start.\n": "Call g(y) to start.\n", f"Call g(x,{a},y) now.\n": "Call g(x,y) now.\n",
             f"Call g(x, {a}) now.\n": "Call g(x) now.\n", f"Call g(x,{a}) now.\n": "Call g(x) now.\n",
             f"Fruit (apples, {a}) here.\n": "Fruit (apples) here.\n",
             # controls
             f"Call g({a}, y) to start.\n": "Call g(y) to start.\n", f"Fruit: apples, {a}, pears.\n": "Fruit: apples, pears.\n"}
    assert {t: stage.cut_counted(t, prose=True)[0] for t in prose} == prose


def test_prose_cut_keeps_a_quote_it_opens_beside_the_words_the_page_keeps(tmp_path):
    """A quote or bracket the cut holds whose partner the page keeps (``"ITEM and then"``: the page
    closes it later) stayed, but with the blank after the item (``" and then"``) and the item's
    stop or comma before it (``". And then"``). The quote now starts the words after it as a
    line's start does: its blank and the item's marks go. Expected texts by hand. Controls: a
    page that spaces its quotes (``« ITEM et puis »``) keeps its blanks; a pair the cut holds
    whole goes, the sentence's comma after it stays."""
    a = _A
    stage = _stage(tmp_path)
    pages = {f'He said "{a} and then" she left.\n': 'He said "and then" she left.\n',
             f"He said \u201c{a}, and then\u201d she left.\n": "He said \u201cand then\u201d she left.\n",
             f'He said: "{a}. And then" she left.\n': 'He said: "And then" she left.\n',
             f"He said ({a} and then) she left.\n": "He said (and then) she left.\n",
             f"Er sagte \u201e{a} und dann\u201c, ging.\n": "Er sagte \u201eund dann\u201c, ging.\n",
             # controls
             f"Il dit \u00ab {a} et puis \u00bb ici.\n": "Il dit \u00ab et puis \u00bb ici.\n",
             f'She read "{a}", he said.\n': "She read, he said.\n",
             f'He said {a} "and then" she left.\n': 'He said "and then" she left.\n'}
    assert {t: stage.cut_counted(t, prose=True)[0] for t in pages} == pages
