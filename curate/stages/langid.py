"""Language identification: the ``langid`` stage.

A fastText classifier (default: the shipped ``lid.176.ftz``; ``lid.176.bin`` or GlotLID,
whose labels look like ``__label__eng_Latn``, drop in through ``model``) labels every
non-code document with one batched ``predict`` call per batch. It sets ``language`` (the
label without ``__label__``) and ``language_score`` (float32, the top label's
probability), and removes documents outside the target languages.

Preprocessing is only what fastText needs: newlines become spaces (``predict`` takes one
line; fastText splits words on ASCII whitespace anyway, so nothing else changes) and the
text is cut to its first ``max_chars`` characters, back to the last of fastText's word
separators (space, tab, \\v, \\f, \\r; not U+00A0 and other Unicode spaces, which fastText
keeps inside a word) so no word is cut in half. 4,000 characters (~700 English words) is
far past the point where lid.176's accuracy stops improving (a few hundred characters), yet enough to see past the menus
and headers at the top of web pages; the cap bounds the cost of book-length documents,
whose prediction would otherwise cost time linear in their length.

A book (``domain == "books"``) longer than ``max_chars`` is read as ``BOOK_PIECES`` (4) runs of
whole words spread across its length instead (``spread``), as many characters in all, each run
read alone and the runs of words (``is_words``) voting (``vote``): its
first 4,000 characters are often only a title page and contents, not a sample of its
language. Beethoven's Letters (PG 13272, English) opens with 3,900 characters of "216. To
Steiner & Co." and scored en 0.59 there, under en's 0.65: removed from an English mix.

Code documents (``domain == "code"``) keep the programming language set at ingest and get
a null score: natural-language ID on source code is noise.

Thresholds: a language listed without its own threshold gets the shipped per-language value
(``thresholds = "default"``: ``curate/data/lid_thresholds.json``, derived by ``python -m
curate.stages.lid_thresholds`` from the score distribution of correctly labelled text; never above
FineWeb's 0.65, lower where lid.176 is less sure of a language it labels right), or
``threshold`` for a language the file lacks or when ``thresholds = ""``.

Detector: ``detector = "fasttext"`` (default) uses the model alone; ``"fasttext+cld2"`` lets
CLD2 (``pycld2``, an independent n-gram detector; extra ``curate[cld2]``) overrule the model
where CLD2 is reliable, its label is a model label and the model's label is one CLD2 can
also give (so CLD2 never overrules a language it does not know). Where it overrules, the
score is the larger of the model's probability of CLD2's label and the share of the text
CLD2 assigns to it (CLD2's percent / 100). ``bench/bench_lid.py`` has the measurements.

Prior correction: ``prior_correction = a`` (default 0: off) re-ranks the model's top
``PRIOR_TOP_K`` labels where the model is unsure (its top score below that label's shipped
threshold if that was derived from web text, lingua, else below 0.65: a threshold taken from
UDHR pieces would let the data the correction is scored on decide) by probability x
(training examples of the label) ** -a. A fastText model's
probabilities carry the label counts of its training data (lid.176: 5.5 M English examples,
1,200 Tuvan), so a close minority variety (Asturian, Walloon, Ido) loses to its big neighbour
(Spanish, French, Esperanto) even when the text is the variety; a = 1 would be a uniform prior,
smaller a a partial correction. Answers the model is sure of stand, so a corpus dominated by big
languages keeps its labels, and no document becomes English (the largest count) this way. The
count comes from the model file (``get_labels(include_freq=True)``). Where the correction
changes the label, the score is the corrected probability (normalised over the top labels) but
never above the model's top probability: the correction changes which label, not how sure the
model was (an empty text stays at 0.12, not 0.50 for Occitan). It runs before CLD2 (with
``"fasttext+cld2"``). The documented value is 1 (the training prior divided out, not fitted
to data); ``bench/select_lid_prior.py`` prints the whole curve.

Ledger rules: ``language_not_target`` (value = score of the predicted language, no
threshold: that language is not wanted at any score) and
``language_score_below_threshold`` (value = score, threshold = that language's threshold).
"""
from __future__ import annotations

import json
import os
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import schema
from curate.config import Check, check_values, did_you_mean, files_spelt, one_file, toml_hint
from curate.stages.filters.rules import DATA, merge
from curate.stages.lid_table import THRESHOLD, THRESHOLDS_FILE, load_thresholds  # noqa: F401 (langid's, read by others here)

DEFAULTS = {
    "model": "lid.176.ftz",  # a model shipped in curate.models, or a path to a fastText .bin/.ftz
    "languages": ["en"],  # list of codes, {code = threshold}, "all", or [] (explicit: keep all)
    "threshold": THRESHOLD,  # for listed languages the thresholds file lacks (FineWeb's English threshold)
    "thresholds": "default",  # per-language thresholds for listed languages: "default" (shipped), a JSON file, or ""
    "detector": "fasttext",  # or "fasttext+cld2": CLD2 overrules the model where it is reliable
    "prior_correction": 0.0,  # > 0: unsure answers re-ranked against the model's training label counts (1: uniform prior)
    "max_chars": 4000,  # characters of each text given to the model
}

LABEL_PREFIX = "__label__"
WORD_SEPARATORS = " \t\v\f\r\0"  # fastText's (dictionary.cc readWord), after newlines are folded
_NO_LEDGER = schema.empty(schema.LEDGER_SCHEMA)  # immutable: one shared empty ledger batch


DETECTORS = ("fasttext", "fasttext+cld2")
PRIOR_TOP_K = 10  # labels re-ranked by the prior correction


def web_thresholds() -> dict[str, float]:
    """The shipped thresholds derived from web text (lingua paragraphs) alone: the prior
    correction's test of "sure". Labels whose shipped value came from UDHR pieces (or a
    fallback) are left out, so UDHR, the data the correction is scored on, decides nothing."""
    data = json.loads((DATA / THRESHOLDS_FILE).read_text(encoding="utf-8"))
    return {k: v for k, v in data["thresholds"].items() if data["source"].get(k) == "lingua"}


class Cld2:
    """CLD2's top language where it calls itself reliable, in lid.176's codes."""

    ALIAS = {"iw": "he", "jw": "jv", "zh-Hant": "zh", "nb": "no"}

    def __init__(self):
        try:
            import pycld2
        except ImportError:
            raise ValueError('langid.detector "fasttext+cld2" needs pycld2: pip install "curate[cld2]"') from None
        self._detect, self._error = pycld2.detect, pycld2.error
        self.languages = frozenset(self.ALIAS.get(c, c) for _, c in pycld2.LANGUAGES)

    def reliable_label(self, text: str) -> tuple[str | None, float]:
        """(label, share of the text CLD2 gives it) where CLD2 calls itself reliable, else (None, 0)."""
        try:
            reliable, _, found = self._detect(text, bestEffort=True)[:3]
        except self._error:  # control characters or invalid UTF-8 inside: drop them and retry
            clean = "".join(c for c in text if c.isprintable() or c.isspace())
            try:
                reliable, _, found = self._detect(clean.encode("utf-8", "replace"), bestEffort=True)[:3]
            except self._error:
                return None, 0.0
        code, percent = found[0][1], found[0][2]
        return (self.ALIAS.get(code, code), percent / 100) if reliable and code != "un" else (None, 0.0)


BOOK_PIECES = 4  # a book longer than max_chars is read in this many pieces across its length


def spread(text: str, n: int, pieces: int = BOOK_PIECES) -> list[str]:
    """``pieces`` runs of whole fastText words of ``text``, on one line each, ``n`` characters
    in all, centred at 1/8, 3/8, 5/8 and 7/8 of its length (for 4): a book's title page and
    contents, often much longer than ``n`` and full of names, are no sample of its language."""
    w = (n - pieces + 1) // pieces  # the runs and the spaces between them fit in n
    out = []
    for i in range(pieces):
        a = max(0, len(text) * (2 * i + 1) // (2 * pieces) - w // 2)
        run = text[a : a + w].replace("\n", " ")
        first = min((j for j in map(run.find, WORD_SEPARATORS) if j >= 0), default=-1) if a else -1
        last = max(map(run.rfind, WORD_SEPARATORS)) if a + w < len(text) else len(run)
        out.append(run[first + 1 : last] if last > first + 1 else run)  # a run with no separator stays whole
    return out


def is_words(run: str) -> bool:
    """Is a book's run a sample of its language: at least half its non-blank characters letters
    (or their marks)? A run in a table of numbers or a blank stretch is labelled at random (eu 0.27,
    oc 0.37, en 0.12 for blanks) and its vote pulled an English book's score under en's 0.65."""
    # ASCII counted in C (bytes.translate on the UTF-8, whose other bytes are all >= 0x80), the rest
    # a character at a time as before: ~0.08 us a character in Python, 2.6 M characters at 1x
    b = run.encode("utf-8", "surrogatepass")
    wide = b.translate(None, _ASCII).decode("utf-8", "surrogatepass")  # the characters past ASCII (no mark below)
    letters = len(b) - len(b.translate(None, _ASCII_LETTERS)) + sum(c.isalpha() or unicodedata.category(c)[0] == "M" for c in wide)
    blanks = len(b) - len(b.translate(None, _ASCII_SPACES)) + sum(c.isspace() for c in wide)
    return letters > 0 and 2 * letters >= len(run) - blanks


_ASCII = bytes(range(128))
_ASCII_LETTERS = bytes(c for c in range(128) if chr(c).isalpha())
_ASCII_SPACES = bytes(c for c in range(128) if chr(c).isspace())


def vote(langs: list, scores) -> tuple:
    """A book's label from its runs' (each read alone): the language whose scores sum highest
    (a tie: the earlier run's), scored the mean of its runs' scores. Read as one text, one run
    of a Dutch appendix (15% of an English book) pulled en to 0.63, under en's 0.65; a mean over
    all the runs would remove a French reader for Dutch pupils (PG 44157: fr, fr, nl, nl)."""
    total: dict = {}
    for lang, s in zip(langs, scores):
        total.setdefault(lang, []).append(float(s))
    best = max(total, key=lambda k: sum(total[k]))
    return best, sum(total[best]) / len(total[best])


class LangID:
    """The ``langid`` stage."""

    name = "langid"
    DEFAULTS = DEFAULTS
    CHECKS = {
        "max_chars": Check(min=1, expected="an integer >= 1"),
        "threshold": Check(min=0, max=1, expected="a probability in [0, 1]"),
        "detector": Check(choices=tuple(DETECTORS)),
        "prior_correction": Check(min=0, max=2, expected="a number in [0, 2] (0: off, 1: uniform prior)"),
    }
    SHAPES = {"languages": (list, dict, str)}  # checked by _targets

    def __init__(self, cfg: dict | None = None):
        # "languages" takes several shapes: checked by _targets, not by merge's type check.
        self.cfg = merge({**DEFAULTS, "languages": None}, cfg, "langid")
        if self.cfg["languages"] is None:
            self.cfg["languages"] = DEFAULTS["languages"]
        if not isinstance(self.cfg["model"], str) or not self.cfg["model"]:
            raise ValueError("langid.model: expected a shipped model name or a path to a fastText model")
        check_values("langid", self.cfg, self.CHECKS)
        defaults = load_thresholds(self.cfg["thresholds"])
        self.targets = self._targets(self.cfg["languages"], self.cfg["threshold"], defaults)  # None: keep all
        self.model = None
        self._cld2 = None
        self._prior = None  # (label -> count ** -a, label -> web-derived threshold) once the model is loaded

    @staticmethod
    def _targets(langs, default_threshold: float, per_language: dict):
        where = "langid.languages"
        if langs == "all" or (isinstance(langs, (list, dict)) and not langs):
            return None
        if isinstance(langs, list):
            if not all(isinstance(x, str) and x for x in langs):
                raise ValueError(f"{where}: expected language codes (strings), got {langs!r}")
            return {x: per_language.get(x, default_threshold) for x in langs}
        if isinstance(langs, dict):
            out = {}
            for code, thr in langs.items():
                if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not 0 <= thr <= 1:
                    raise ValueError(f"{where}.{code}: expected a threshold in [0, 1], got {thr!r}")
                out[str(code)] = float(thr)
            return out
        hint = (' (did you mean "all"?)' if isinstance(langs, str) and langs.strip().lower() == "all"
                else toml_hint(langs, "list"))  # "en,de": the list it means, as run.stages says
        raise ValueError(f'{where}: expected a list of codes, a {{code = threshold}} table or "all", got {langs!r}{hint}')

    @staticmethod
    def normalize(section: dict) -> dict:
        """The files the section names spelt one way (config.files_spelt: ./m.bin is m.bin)."""
        return files_spelt("langid", section, LangID.data_files(section))

    @staticmethod
    def data_files(section: dict) -> dict:
        """The user's files the section names, by option (config.load hashes their bytes): a model
        given by path (not a shipped one, curate's), a thresholds file."""
        m, t = section["model"], section["thresholds"]
        return ({"langid.model": one_file(m)} if os.sep in m or os.path.exists(m) else {}) | (
            {"langid.thresholds": one_file(t)} if isinstance(t, str) and t not in ("default", "") else {})

    def model_path(self) -> str:
        import curate.models

        m = self.cfg["model"]
        if os.sep not in m and not os.path.exists(m):  # a bare name: a shipped model, or a file's name mistyped
            shipped = sorted(p.name for p in curate.models.HERE.iterdir() if p.suffix in (".ftz", ".bin"))
            if m not in shipped:
                from curate.config import in_config_folder, relative_from

                there = in_config_folder(m)  # a file beside a team's config: to run from there, not a shipped name meant
                where = relative_from(m) if there else f" (no such file in the current directory, {os.getcwd()})"
                raise ValueError(f"langid.model: {m!r} is neither a model shipped with curate ({', '.join(shipped)}) nor a "
                                 f"file{where}: give the file's path{'' if there else did_you_mean(m, shipped)}")
            return curate.models.path(m)
        if not os.path.isfile(m):
            from curate.config import relative_from

            raise ValueError(f"langid.model: no model file at {m!r}{relative_from(m)}")
        return m

    def setup(self) -> None:
        """Load the model, once a process (a pool's workers inherit the one config.load's
        check loaded), and check the target codes against its labels."""
        if self.model is not None:
            return
        from curate.models import fasttext_model

        if self.cfg["detector"] == "fasttext+cld2":
            self._cld2 = Cld2()
        self.model = fasttext_model(self.model_path())  # once a process, while the file is the same
        if self.cfg["prior_correction"]:
            labels, counts = self.model.get_labels(include_freq=True)
            a = float(self.cfg["prior_correction"])
            weight = {lab: float(c) ** -a for lab, c in zip(labels, counts)}
            sure = {LABEL_PREFIX + k: v for k, v in web_thresholds().items()}
            self._prior = (weight, sure)
        self.check()

    def check(self) -> None:
        """Target codes must be labels of the model (``english`` or ``EN`` would keep nothing)."""
        import difflib

        from curate.stages import language_codes

        if self.model is None:
            self.setup()  # loads the model (lid.176.ftz: under 0.1 s), then checks
            return
        if self.targets:
            labels = sorted(x[len(LABEL_PREFIX) :] for x in self.model.get_labels())
            bad = []
            for code in sorted(set(self.targets) - set(labels)):
                if code.lower() == "all":
                    hint = ['languages = "all" (the whole value, lower case)']
                elif code.lower() in labels:
                    hint = [code.lower()]
                elif language_codes.suggest(code, labels):  # jpn, zh-CN, iw, german: the label they name
                    hint = [language_codes.suggest(code, labels)]
                else:
                    hint = difflib.get_close_matches(code.lower(), labels, n=3, cutoff=0.6)
                bad.append((code, f" (did you mean {' or '.join(hint)}?)" if hint else ""))
            model = f"model {self.cfg['model']!r}"
            if len(bad) == 1:
                what = f"{bad[0][0]!r} is not a label of {model}{bad[0][1]}"
            elif bad:  # every wrong code at once
                what = f"{', '.join(f'{c!r}{h}' for c, h in bad)} are not labels of {model}"
            if bad:
                raise ValueError(f"langid.languages: {what}; it has {len(labels)} labels, e.g. {', '.join(labels[:10])}")

    def prepare(self, texts: pa.Array) -> list[str]:
        """The model's input: the first ``max_chars`` characters on one line."""
        n = self.cfg["max_chars"]
        short = pc.utf8_slice_codeunits(texts, 0, n + 1)  # one extra char tells "was cut"
        out = pc.replace_substring(short, "\n", " ").to_pylist()
        for i, t in enumerate(out):
            if len(t) > n and t[n] not in WORD_SEPARATORS:  # cut mid-word: back to the word boundary
                cut = max(t.rfind(c, 0, n) for c in WORD_SEPARATORS)
                out[i] = t[:cut] if cut > 0 else t[:n]
            elif len(t) > n:
                out[i] = t[:n]
        return out

    def read(self, texts: pa.Array, books: np.ndarray) -> tuple[list, np.ndarray]:
        """Label and score of each text from its prefix (``prepare``); where ``books`` (a mask)
        is set and the text is longer than ``max_chars``, from the ``vote`` of its ``spread`` runs
        that are words (``is_words``; none: the prefix)."""
        n, prepared = self.cfg["max_chars"], self.prepare(texts)
        rows = np.flatnonzero(books)
        runs = {i: [r for r in spread(t, n) if is_words(r)]
                for i, t in zip(rows.tolist(), texts.take(pa.array(rows)).to_pylist()) if len(t) > n}
        runs = {i: rs for i, rs in runs.items() if rs}  # no run of words: read from the prefix, as a web page
        langs, scores = self.predict(prepared + [r for rs in runs.values() for r in rs])
        k = len(prepared)
        for i, rs in runs.items():
            langs[i], scores[i] = vote(langs[k : k + len(rs)], scores[k : k + len(rs)])
            k += len(rs)
        return langs[: len(prepared)], scores[: len(prepared)]

    def predict(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        k = PRIOR_TOP_K if self._prior else 1
        labels, probs = self.model.predict(texts, k=k, threshold=0.0, on_unicode_error="replace")
        if self._prior:
            labels, probs = self._correct_prior(labels, probs)
        langs = [lab[0][len(LABEL_PREFIX) :] for lab in labels]
        scores = np.minimum(np.fromiter((p[0] for p in probs), dtype=np.float32, count=len(probs)), 1.0)
        if self._cld2 is not None:
            self._overrule(texts, langs, scores)
        return langs, scores

    def _correct_prior(self, labels, probs):
        """Top label and score per text after the prior correction (see the module doc)."""
        weight, sure = self._prior
        out_labels, out_probs = [], []
        for labs, ps in zip(labels, probs):
            if ps[0] >= sure.get(labs[0], DEFAULTS["threshold"]):
                out_labels.append(labs[:1])
                out_probs.append(ps[:1])
                continue
            w = [p * weight[lab] for lab, p in zip(labs, ps)]
            best = max(range(len(w)), key=w.__getitem__)
            out_labels.append(labs[best : best + 1])
            out_probs.append(ps[:1] if best == 0 else [min(w[best] / sum(w), ps[0])])
        return out_labels, out_probs

    def _overrule(self, texts: list[str], langs: list[str], scores: np.ndarray) -> None:
        """Where CLD2 overrules the model: its label, scored by the larger of the model's
        probability of that label and the share of the text CLD2 gives it."""
        known = self._model_labels()
        changed = []
        for i, t in enumerate(texts):
            other, share = self._cld2.reliable_label(t)
            if other and other != langs[i] and other in known and langs[i] in self._cld2.languages:
                langs[i] = other
                changed.append((i, share))
        if changed:
            labels, probs = self.model.predict([texts[i] for i, _ in changed], k=-1, threshold=0.0, on_unicode_error="replace")
            for (i, share), labs, ps in zip(changed, labels, probs):
                score = dict(zip(labs, ps.tolist())).get(LABEL_PREFIX + langs[i], 0.0)
                scores[i] = min(max(score, share), 1.0)

    def _model_labels(self) -> frozenset:
        if getattr(self, "_labels", None) is None:
            self._labels = frozenset(x[len(LABEL_PREFIX) :] for x in self.model.get_labels())
        return self._labels

    def process(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        self.setup()
        n = batch.num_rows
        is_code = np.asarray(pc.equal(batch.column("domain"), "code").to_numpy(zero_copy_only=False), dtype=bool)
        todo = np.flatnonzero(~is_code)
        li = batch.schema.get_field_index("language")
        language = batch.column(li).to_pylist() if li >= 0 else [None] * n
        score = [None] * n
        keep = np.ones(n, dtype=bool)
        rule, value, threshold = [None] * n, [None] * n, [None] * n
        if len(todo):
            texts = batch.column("text")
            books = pc.equal(batch.column("domain"), "books").to_numpy(zero_copy_only=False)
            if len(todo) < n:
                texts, books = texts.take(pa.array(todo)), books[todo]
            langs, scores = self.read(texts, np.asarray(books, dtype=bool))
            for j, i in enumerate(todo.tolist()):
                lang, s = langs[j], float(scores[j])
                language[i], score[i] = lang, s
                if self.targets is None:
                    continue
                thr = self.targets.get(lang)
                if thr is None:
                    keep[i], rule[i], value[i] = False, "language_not_target", s
                elif s < thr:
                    keep[i], rule[i], value[i], threshold[i] = False, "language_score_below_threshold", s, thr
        lang_arr = pa.array(language, type=pa.string())
        if li >= 0:
            batch = batch.set_column(li, batch.schema.field(li), lang_arr)
        else:
            batch = batch.append_column(pa.field("language", pa.string()), lang_arr)
        batch = schema.with_column(batch, "language_score", pa.array(score, type=pa.float32()))
        if keep.all():  # nothing removed: skip split's copy of the whole batch
            return batch, _NO_LEDGER
        return schema.split(
            batch, pa.array(keep), self.name, rule, pa.array(value, pa.float64()), pa.array(threshold, pa.float64())
        )
