"""What the shipped (English) quality model does to other languages, and what each keep rule keeps.

    python bench/bench_quality_languages.py [--corpora ../shared/corpora] [--per-language-docs 5] [--limit N]

Documents (web domain, every language langid finds kept, ``--languages all``): the two WARC
samples, the whirlwind WET sample, the Dolma CC sample (JSONL), every UDHR file whose name gives
its language, and up to ``--per-language-docs`` lingua ``check`` documents per language (ten
sentences each). ``--limit`` keeps the first N documents of each JSONL input (for a quick check).

Each keep rule is a real ``curate run --stages ingest,langid,quality`` over those inputs; kept
documents per language are the languages langid gave minus the quality stage's ledger rows.
Prints, per rule, English kept, documents of other languages kept, and the languages (with at
least 5 documents) that kept nothing. Then each document's score from the stage's own scoring
(``QualityStage.score``) over the ingest+langid output: the share below 0.001 in English and
in other languages, and the median score per input. The numbers are docs/quality.md's.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RULES = {
    "top_fraction 0.5, one ranking (per_language = false)": "keep = {top_fraction = 0.5}\nper_language = false",
    "top_fraction 0.5, per language (the default)": "keep = {top_fraction = 0.5}",
    "threshold 0.5": "keep = {threshold = 0.5}",
    "threshold {en = 0.5} (English only)": "keep = {threshold = {en = 0.5}}",
}
MIN_DOCS = 5  # a language is counted as "lost" only with at least this many documents


def write_inputs(corpora: Path, tmp: Path, per_language: int, limit: int | None) -> list[tuple[str, str, str]]:
    """(glob, format, source) of every input; UDHR and lingua written as JSONL (ours: ids and text only)."""
    from curate.stages.multilingual_data import lingua_documents, udhr_documents

    web = corpora / "web"
    inputs = []
    for name, fmt, source in (("cc_main_2020_34_resiliparse_sample.warc.gz", "warc", "cc2020"),
                              ("dolma_wget_sample-0000.warc.gz", "warc", "dolma_warc"),
                              ("cc_whirlwind/whirlwind.warc.wet.gz", "wet", "whirlwind")):
        inputs.append((str(web / name), fmt, source))
    dolma = [json.loads(line)["text"] for line in gzip.open(web / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt")]
    udhr = [text for _, _, text in udhr_documents(corpora)]
    taken, lingua = Counter(), []
    for lang, text, half in lingua_documents(corpora):
        if half == "check" and taken[lang] < per_language:
            taken[lang] += 1
            lingua.append(text)
    for source, texts in (("dolma", dolma), ("udhr", udhr), ("lingua", lingua)):
        p = tmp / f"{source}.jsonl"
        with p.open("w", encoding="utf-8") as f:
            for i, t in enumerate(texts[:limit]):
                f.write(json.dumps({"id": f"{source}-{i}", "text": t}, ensure_ascii=False) + "\n")
        inputs.append((str(p), "jsonl", source))
    return inputs


def run(tmp: Path, name: str, inputs, stages: str, quality: str) -> Path:
    out = tmp / name
    toml = tmp / f"{name}.toml"
    parts = [f'[run]\noutput = "{out}"\nstages = {json.dumps(stages.split(","))}\nprogress = "off"\n',
             '[langid]\nlanguages = "all"\n', f"[quality.web]\n{quality}\n"]
    for glob, fmt, source in inputs:
        parts.append(f'[[inputs]]\nglob = "{glob}"\nformat = "{fmt}"\ndomain = "web"\nsource = "{source}"\n')
    toml.write_text("".join(parts))
    # in this process: a subprocess paid Python's, Beam's and curate's imports for each of the 5 runs
    from curate import cli

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(["run", str(toml)])
    if code:
        sys.exit(f"curate run ({name}) failed:\n{err.getvalue()[-2000:]}")
    return out


def removed_by_language(out: Path) -> Counter:
    ledger = pq.read_table(out / "ledger", columns=["stage", "language"]).to_pylist()
    return Counter(r["language"] for r in ledger if r["stage"] == "quality")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ap.add_argument("--per-language-docs", type=int, default=5)
    ap.add_argument("--limit", type=int, default=None, help="first N documents of each JSONL input")
    args = ap.parse_args(argv)

    from curate.stages.quality import QualityStage

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        inputs = write_inputs(args.corpora, tmp, args.per_language_docs, args.limit)
        base = run(tmp, "labelled", inputs, "ingest,langid", "")
        table = pq.read_table(base / "text")
        langs = Counter(table.column("language").to_pylist())
        big = sorted(lang for lang, n in langs.items() if n >= MIN_DOCS)
        en, others = langs.get("en", 0), table.num_rows - langs.get("en", 0)
        print(f"{table.num_rows} documents in {len(langs)} languages ({len(big)} with >= {MIN_DOCS}); "
              f"English {en}, others {others}")
        result = {"docs": table.num_rows, "en": en, "others": others, "languages": len(langs), "big": len(big), "rules": {}}
        for i, (label, rule) in enumerate(RULES.items()):
            removed = removed_by_language(run(tmp, f"rule{i}", inputs, "ingest,langid,quality", rule))
            kept = {lang: n - removed.get(lang, 0) for lang, n in langs.items()}
            lost = [lang for lang in big if kept[lang] == 0]
            other_kept = sum(n for lang, n in kept.items() if lang != "en")
            result["rules"][label] = {"en_kept": kept.get("en", 0), "others_kept": other_kept, "lost": lost}
            print(f"{label}: English {kept.get('en', 0)} of {en} kept; other languages {other_kept} of {others}; "
                  f"{len(lost)} of {len(big)} languages kept nothing" + (f" ({', '.join(lost[:12])}"
                                                                         f"{' ...' if len(lost) > 12 else ''})" if lost else ""))

        stage = QualityStage()
        scores = np.concatenate([stage.score(b).column("quality_score").to_numpy(zero_copy_only=False)
                                 for b in table.to_batches()]).astype(float)
        lang = np.array(table.column("language").to_pylist(), dtype=object)
        source = np.array(table.column("source").to_pylist(), dtype=object)
        is_en = lang == "en"
        low_en, low_other = float(np.mean(scores[is_en] < 0.001)), float(np.mean(scores[~is_en] < 0.001))
        result.update(low_en=low_en, low_others=low_other)
        print(f"scores below 0.001: English {low_en:.0%}, other languages {low_other:.0%}")
        for s in sorted(set(source)):
            for name, m in (("English", (source == s) & is_en), ("other languages", (source == s) & ~is_en)):
                if m.any():
                    print(f"  {s}, {name}: median score {np.median(scores[m]):.5f}, "
                          f"{np.mean(scores[m] < 0.001):.0%} below 0.001 ({m.sum()} documents)")
        for code in ("ru", "bg", "nl", "es", "fr", "de", "zh"):
            m = lang == code
            if m.any():
                print(f"  median score, {code}: {np.median(scores[m]):.5f} ({m.sum()} documents)")
    return result


if __name__ == "__main__":
    main()
