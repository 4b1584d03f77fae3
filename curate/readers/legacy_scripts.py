"""Short Cyrillic and Greek text in a legacy code page (no charset said): which page reads it.

charset_normalizer, given a line or a word, names nearly any page: "ЧАЙ" in cp866 was read
cp850 "ùÇë", KOI8-R "вчера" cp1251 "ЧЮЕТБ", cp1253 capitals cp932 half-width katakana, cp1251
"Москва" Big5. A page reads such text right where each of its non-ASCII bytes is a letter of one
script (or the punctuation those texts use), no word mixes those letters with ASCII ones (Latin
text read so does: "Mѓwen"), each word's case is lower, upper or a capital first ("ùÇë" is
neither), and its letters are the language's common ones: KOI8-R's small letters are cp1251's
capitals, but "ЧЮЕТБ" is made of rare ones, "ВЧЕРА" of common ones; and Russian words have no "ь" first.
Hebrew (cp1255) is scored beside them: its letters are the bytes of cp1253's small Greek letters and
cp1251's small Cyrillic ones, and a line of it was read as Greek. So is Arabic (cp1256), whose letters are
cp1251's capitals: a few words of it were read as KOI8-R, Big5, cp932.

A single short word is often no more likely in one page than another (cp1251 "ЧАЙ" is KOI8-R "вюи", KOI8-R
"дом" cp1253 "ΔΟΝ", cp1251 Bulgarian "държан" cp1255 "התנזאם", Greek capitals "ΕΛΛΑΔΑ" KOI8-R "еккада"):
the letters' frequencies decide, and for such words they may decide wrong.
"""
from __future__ import annotations

import functools
import math
import re

# (page, script) in the order a tie goes: the Windows page first, KOI8-R before KOI8-U (Russian
# reads the same in both), ISO-8859-7 after cp1253 (the same letters but "Ά"). Hebrew is scored so that its
# letters, cp1253's small Greek ones and cp1251's small Cyrillic ones (0xE0-0xFA), are no Greek or Russian
# ("הילד הלך" was read "διμγ δμκ"); cp1255 reads ISO-8859-8's letters the same.
PAGES = (("cp1251", "cyrillic"), ("koi8_r", "cyrillic"), ("cp866", "cyrillic"), ("koi8_u", "cyrillic"),
         ("iso8859_5", "cyrillic"), ("cp1253", "greek"), ("iso8859_7", "greek"), ("cp1255", "hebrew"), ("cp1256", "arabic"))

# letter frequencies (per cent, small letters) of Russian with Ukrainian's own letters, and of Greek
# (accented vowels counted with a share of their vowel's); other letters of the script are rare
_FREQ = {
    "cyrillic": dict(zip("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъёіїєґў",
                         (10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98, 2.81, 2.62,
                          2.01, 1.90, 1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73, 0.64, 0.48, 0.36, 0.32,
                          0.26, 0.04, 0.04, 2.0, 0.5, 0.4, 0.05, 0.2))),
    "greek": dict(zip("αοιετσνηυρπκμλωδγχθςφβξζψάέήίόύώϊϋΐΰ",
                      (10.5, 8.5, 7.0, 7.0, 8.0, 4.5, 6.5, 4.5, 3.8, 4.5, 4.0, 4.0, 3.5, 3.0, 1.5, 1.8, 1.8, 1.2,
                       1.2, 2.5, 0.8, 0.7, 0.4, 0.4, 0.15, 1.8, 1.5, 1.0, 1.5, 1.8, 0.8, 0.6, 0.1, 0.05, 0.02, 0.02))),
    "hebrew": dict(zip("יוהלארתמבשנעםכדחקפןסגטזצךףץ",
                       (11.1, 10.4, 8.7, 7.4, 6.3, 5.6, 5.3, 5.0, 4.7, 4.4, 3.0, 3.1, 2.8, 2.5, 2.5, 2.2, 1.9, 1.7,
                        1.3, 1.1, 1.2, 1.2, 0.9, 1.1, 0.6, 0.2, 0.2))),
    # Arabic (cp1256: its letters are cp1251's capitals, and a few words of it were read as KOI8-R, Big5, cp932)
    "arabic": dict(zip("اليمونهربتعةفدكأسقحىجإذخشصطثضئزغءظآؤ",
                       (12.4, 11.0, 7.0, 6.1, 5.9, 5.7, 4.6, 4.6, 3.9, 3.8, 3.3, 2.9, 2.8, 2.9, 2.6, 2.5, 2.3, 2.2, 2.0,
                        1.6, 1.4, 1.1, 0.9, 0.9, 1.0, 1.0, 0.9, 0.6, 0.6, 0.5, 0.5, 0.4, 0.5, 0.2, 0.2, 0.2))),
}
# Serbian's and Macedonian's own letters, a share of theirs as Ukrainian's have, beside the table (not taken from its
# letters' shares: "головой" KOI8-R read cp1253 so): scored as rare, ISO-8859-5 "ј", "њ" were below cp1256's shadda and
# sukun on those bytes (lingua's "књигу" read "عْطسم") and KOI8-R's capitals ("његов" "Зусчр")
_BESIDE = {"cyrillic": dict(zip("јњљћђџѓќѕ", (1.0, 0.3, 0.3, 0.3, 0.1, 0.05, 0.05, 0.1, 0.05)))}
# ... and no word holds them beside letters those alphabets lack ("щ", "ы", "э", "ю", "я", "ё", "й", "ъ", "ь", Ukrainian's
# and Belarusian's): Hebrew read so ("גזירת" ISO-8859-5 "тцщјњ")
_SOUTH_SLAVIC, _NOT_SOUTH_SLAVIC = frozenset("јњљћђџѓќѕ"), frozenset("щыэюяёйъьіїєґў")
_RARE = 0.01  # a letter of the script outside the table
_RANGES = {"cyrillic": ("\u0400", "\u04ff"), "greek": ("\u0370", "\u03ff"), "hebrew": ("\u05d0", "\u05ea"),
           "arabic": ("\u0600", "\u06ff")}
# what these texts write between words besides their letters: quotes, dashes, "№", a no-break space
_PUNCTUATION = frozenset("«»„“”‘’‚–—…№·•\xa0")
_OWN_PUNCTUATION = {"hebrew": frozenset("\u05be\u05c3\u05f3\u05f4\u200e\u200f₪")}  # maqaf, sof pasuq, geresh, gershayim, LRM, RLM
# Arabic's comma, semicolon, question mark, its vowel marks (harakat), ZWNJ, ZWJ, LRM, RLM
_OWN_PUNCTUATION["arabic"] = frozenset("،؛؟\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u200c\u200d\u200e\u200f")
# what Russian and Ukrainian words never hold: "ь", "ъ", "ы" first or after a vowel, "й" after a consonant
# (cp1253 capitals "ΚΑΛΗΜΕΡΑ" are KOI8-R's small "йакгледа", "ΩΣ" "ыс")
# and five consonants in a row ("взгляд", "здравствуй" have four: cp1251 "прошлой" read KOI8-R "ОПНЬКНИ");
# "ъ" is none: a vowel in Bulgarian ("връзка", "пъстърва" were read as Greek, KOI8-R), Russian's before a vowel
# "ь" ends no run of two consonants before two more ("пнькн"), but "-льств-" ("суспільства", "строительство") is common
_UNSPOKEN = {"cyrillic": re.compile("(?:^|[аеёиоуыэюяієїъ])[ьъы]|[бвгджзклмнпрстфхцчшщ]й|^й[^оеу]"
                                   "|[бвгджзклмнпрстфхцчшщ]{5}|[бвгджзклмнпрстфхцчшщ]{2}ь[бвгджзклмнпрстфхцчшщ]{2}"
                                   # Serbian's "ј" stands beside a vowel ("моја", "мјесто"): KOI8-R "семьёй" read cp1251 "УЕНШЈК"
                                   "|[бвгджзклмнпрстфхцчшщљњћђџ]ј[бвгджзклмнпрстфхцчшщљњћђџ]"),
             # Hebrew's final letters end a word, their other forms never do (cp1251's "н", "о" read so: "он" is "מם")
             "hebrew": re.compile("[ךםןףץ](?=.)|(?<=.)[כמנפצ]$"),
             # Greek's "ς" ends a word, "σ" never does but elided, "σ’" (cp1251 "бъдещите" read "αϊδεωθςε")
             "greek": re.compile("ς(?=.)|(?<=.)σ$"
                                 # a vowel with a dialytika follows a vowel ("προϊόν", "Μαΐου"), never begins a word; no
                                 # Greek word ends in "β", "γ", "δ", "ζ", "θ" but a borrowed name ("Δαβίδ"): Hebrew
                                 # read so ("תודה רבה" cp1253 "ϊεγδ ψαδ": "ת" is "ϊ", "ה" "δ")
                                 "|(?<![αεηιουωάέήίόύώ])[ϊϋΐΰ]"),
             # Arabic's "ة" and "ى" end a word (cp1251 capitals "Й", "М" are those bytes)
             "arabic": re.compile("[ةى](?=.)")}
_UNSPOKEN_LOG = math.log(1e-5)
# ... and rarely "я" before "а", "о", "у", "ы", "э" ("мяукать", "Яуза", "Дэн Сяопин"): in KOI8-R those bytes are Greek
# capitals' "ΡΑ", "ΡΟ" ("ΒΡΑΔΥ" "бяаду"), and there they count; in another page no Greek reads them (cp1251 "мяу" was KOI8-R "ЛЪС")
_YA_BEFORE_VOWEL = re.compile("я[аоуыэ]")
_KOI8 = ("koi8_r", "koi8_u")
# ... and a Greek word in small letters or in capitals ends in no "β", "γ", "δ", "ζ", "θ" (Hebrew read so: "תודה רבה"
# cp1253 "ϊεγδ ψαδ"; KOI8-R's Russian "-их", "-ах" "ΛΑΛΙΘ"), but a name ("Δαυίδ", "Ιακώβ", "Κορνίλοβ"), a letter alone
# ("Β’ Παγκόσμιος", "γενιά Ζ"), an elided word ("καθ’ όλη", "μεθ’ ημών") or an abbreviation ("αριθ. 12", "εκδ.") may:
# those read as Cyrillic since enc35
_GREEK_END = re.compile(r"(?<![^\W\d_])(?:[\u03ac-\u03ce]+[βγδζθ]|[\u0386-\u038f\u0391-\u03ab]+[ΒΓΔΖΘ])(?![^\W\d_]|['’ʼ.])")
# Bulgarian's "ъ" is a vowel (1% of its letters), Russian's a sign after a consonant before "е", "ё", "ю", "я" (0.04% of
# its letters): scored at 1% where it stands so, between two consonants or first before one ("път", "ъгъл", "престъпление"),
# or as that sign ("объявление", "подъезд"), elsewhere at 0.04% (at 1% anywhere, cp1251 "я" read as KOI8-R "Ъ": "дойдя"
# "ДНИДЪ", "людях" "КЧДЪУ", Greek "ϊ" as cp1251 "ъ": "προϊόν" "рспъьн"; and every other letter's share fell, "головой"
# KOI8-R read cp1253 "ΗΟΜΟΧΟΚ")
_BULGARIAN_HARD = re.compile("(?:^|(?<=[бвгджзклмнпрстфхцчшщ]))ъ(?=[бвгджзклмнпрстфхцчшщ])|(?<=[бвгджзклмнпрстфхцчшщ])ъ(?=[еёюя])")
_BULGARIAN_HARD_LOG = math.log(1.0 / 0.04)
# ... and a "’" before a Greek letter opens no word: cp1253 "Άρθρο" read ISO-8859-7 "’ρθρο"
_INSIDE_GREEK_WORD = re.compile("(?<=[\u0370-\u03ff])\u2018(?=[\u0370-\u03ff])|\u2019(?=[\u0370-\u03ff])")
# "№" stands before a number, never inside a word: ISO-8859-5 reads cp1251's "р" as it ("я№ютњчуыр"), cp866 its "ь";
# nor does "·" (KOI8-R's 0x9E is cp1251's Serbian "ћ": "цвеће" read "ЖБЕ·Е"; Greek's ano teleia follows a word), and
# "№" begins no word (Hebrew "נוסעת" read ISO-8859-5 "№хсђњ", its "נ" that byte)
_NUMERO_IN_WORD = re.compile(r"(?<=[^\W\d_])[№·](?=[^\W\d_])|№(?=[^\W\d_])")
# an Arabic vowel mark (haraka) follows a letter or another mark
_LONE_HARAKA = re.compile("(?<![\u0620-\u064a\u064b-\u0652\u0671-\u06d3])[\u064b-\u0652]")
_HARAKAT = re.compile("[\u064b-\u0652]")
_HARAKA_LOG = math.log(0.3 / 100 * 33)
# ... a tanwin ends a word (or stands before its alif, "جدًا"), and a comma or semicolon stands between words, seldom
# between two letters (22 of 754 in lingua's Arabic, Persian, Urdu sentences): Greek "γήπεδα" read cp1256 "مقًهنل",
# "ΚΊΝΗΣΗ" "ت؛حاسا", Belarusian cp1251 "ЯЎГЕН" "ك،أإح"
_ARABIC_LETTER = "\u0621-\u064a\u0671-\u06d3"
_ARABIC_UNSPOKEN = re.compile(f"[\u064b-\u064d](?=[{_ARABIC_LETTER}](?<!\u0627))|(?<=[{_ARABIC_LETTER}])[،؛](?=[{_ARABIC_LETTER}])")
_WORD = re.compile(r"[^\W\d_]+")
_HEBREW_END = re.compile("[ךםןףץ](?![^\\W\\d_])")
_FEW_WORDS = 4  # words of a Hebrew text that may have no final letter
_NO_FINAL_LOG = math.log(0.8)  # a fifth of Hebrew's words end in a final letter
ENOUGH = 3  # letters in one word of the script: "à" alone (cp1252) is cp1251's "а", a word too
# ... or as many words of two: Serbian "да ли је" has no longer one (charset_normalizer read it as Big5)


_RUN = re.compile(rb"[\x80-\xff]{%d}" % ENOUGH)
_PAIR = re.compile(rb"[\x80-\xff]{2}")


@functools.lru_cache(maxsize=None)
def _log_freq(script: str, beside: bool = True) -> dict:
    table = _FREQ[script]
    total = sum(table.values())
    return {c: math.log(p / total * 33) for c, p in (table | (_BESIDE.get(script, {}) if beside else {})).items()}  # above 0 where a letter is commoner than one in 33


def _plausible_case(word: str) -> bool:
    return word.islower() or word.isupper() or (word[0].isupper() and word[1:].islower()) or word.lower() == word.upper()


def score(sample: bytes, enc: str, script: str) -> float | None:
    """The sum of the log frequencies (against one in 33) of ``sample``'s non-ASCII letters read in ``enc``, or None where
    ``enc`` reads it as no text of ``script`` (a byte that is no letter of it nor punctuation, a
    word mixing its letters with ASCII ones or of no plain case, no word of ``ENOUGH`` letters nor ``ENOUGH`` words
    of two; Hebrew of more than ``_FEW_WORDS`` words, no more of them different, none of which ends in a final letter)."""
    text = sample.decode(enc, errors="replace")
    low, high = _RANGES[script]
    own = _OWN_PUNCTUATION.get(script, ())
    for c in set(text):
        if c > "\x7f" and not (low <= c <= high and c.isalpha()) and c not in _PUNCTUATION and c not in own:
            return None
    if script == "greek" and _INSIDE_GREEK_WORD.search(text):  # ISO-8859-7's "’" is cp1253's "Ά": "Θ’ΛΑΣΣΑ"
        return None
    # no word ends in a final letter: "дом" reads "המל". A few words may be Hebrew all the same ("תודה רבה": a
    # fifth of its words end in one), scored below the others' readings; more ("дом " 10 times) are not
    logs = 0.0
    if script == "hebrew" and not _HEBREW_END.search(text):
        words = [w for w in _WORD.findall(text) if not w.isascii()]
        if len(words) > _FEW_WORDS and len(set(words)) <= _FEW_WORDS:  # a few words over and over: "дом " 10 times
            return None
        # each word past the few without one as likely as a word of Hebrew ends in no final letter (four in five):
        # a sentence of them was no Hebrew at all (cp1255 "הילדה הלכה לבית הספר בבוקר ..." read KOI8-R "ДИЛЦД ДЛКД ...")
        logs = _UNSPOKEN_LOG + _NO_FINAL_LOG * max(len(words) - _FEW_WORDS, 0)
    if script == "arabic":
        if _LONE_HARAKA.search(text):  # Hebrew "תודה" is cp1256 "ْهمن", a sukun first
            return None
        # most Arabic text is written without its vowel marks: each scored as a rare letter (Greek's "ς" is
        # cp1256's kasratan, "Κανείς" read "تليهكٍ")
        logs += _HARAKA_LOG * len(_HARAKAT.findall(text)) + _UNSPOKEN_LOG * len(_ARABIC_UNSPOKEN.findall(text))
    if script == "greek":
        logs += _UNSPOKEN_LOG * len(_GREEK_END.findall(text))
    if ("№" in text or "·" in text) and _NUMERO_IN_WORD.search(text):
        return None
    # Serbian's letters are rare again in a text that holds a letter its alphabet lacks: KOI8-R "всё хорошо" read cp1251
    # "ЧУЈ ИПТПЫП" (the one word, "всё", is the Serbian "ЧУЈ" as well)
    freq, longest = _log_freq(script, script != "cyrillic" or _NOT_SOUTH_SLAVIC.isdisjoint(text.lower())), 0
    n = pairs = 0  # letters, words of two or more
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        if not all(c > "\x7f" for c in word) or not _plausible_case(word):
            return None
        longest = max(longest, len(word))
        pairs += len(word) > 1
        word = word.lower()
        if script in _UNSPOKEN:
            logs += _UNSPOKEN_LOG * len(_UNSPOKEN[script].findall(word))
        if script == "cyrillic" and enc in _KOI8 and "я" in word:
            logs += _UNSPOKEN_LOG * len(_YA_BEFORE_VOWEL.findall(word))
        if script == "cyrillic" and not _SOUTH_SLAVIC.isdisjoint(word) and not _NOT_SOUTH_SLAVIC.isdisjoint(word):
            logs += _UNSPOKEN_LOG
        if script == "cyrillic" and "ъ" in word:
            logs += _BULGARIAN_HARD_LOG * len(_BULGARIAN_HARD.findall(word))
        for c in word:
            logs += freq.get(c, math.log(_RARE / 100 * 33))
            n += 1
    return logs if n and (longest >= ENOUGH or pairs >= ENOUGH) else None


def charset(sample: bytes) -> str | None:
    """The page of ``PAGES`` that reads ``sample`` best (``score``), or None where none reads it."""
    if not _RUN.search(sample) and len(_PAIR.findall(sample)) < ENOUGH:  # no word of ENOUGH letters: Latin text, scored no further
        return None
    best = None
    for enc, script in PAGES:
        sc = score(sample, enc, script)
        if sc is not None and (best is None or sc > best[0]):
            best = (sc, enc)
    return best[1] if best else None
