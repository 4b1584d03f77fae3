"""``curate train-quality``: train a fastText quality classifier (the ``quality`` stage's model).

    curate train-quality --positive GLOB... --negative GLOB... --output models/X.ftz
                         [--quantize] [--seed N] [--eval LABELLED.jsonl]...

Inputs (each GLOB is one input; ``GLOB::FIELD=VALUE`` keeps only records whose FIELD equals
VALUE):

* anything ``curate run`` reads: JSONL (``text`` field; .gz/.zst), Parquet, WARC/WET, plain
  text (encoding detected, Project Gutenberg header/footer removed);
* HTML pages (``.html``, ``.htm``, each also ``.gz`` or ``.zst``): for ``--positive`` the main content,
  for ``--negative`` the boilerplate (page lines outside the main content), both by Resiliparse;
* CSV (``.csv``, ``.csv.gz``, ``.csv.zst``) without a header, text in the last column; FIELD is a column index
  (e.g. SpamAssassin's ``label,text``: ``spam.csv::0=-1``).

Documents are cut at line boundaries into examples of at most ``--chunk-chars`` characters
(a book gives many), each input is capped at ``--max-per-input`` examples (a seeded sample, so
no single source dominates), and a held-out share of *documents* (every chunk of a document on
the same side, by a seeded hash of its key) is kept out of training. The model is fastText
supervised with word bigrams; precision, recall (threshold 0.5) and AUC on the held-out
split are printed, and AUC (with the document-length baseline) on every ``--eval`` file, on
the whole file and on each of its two fixed halves (``eval_half``: a hash of the document
text, the same for every seed and setting): settings are chosen on the ``select`` half and
the ``test`` half is the number to quote (bench/select_quality.py).
Deterministic for a given seed (one training thread).
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import csv
import hashlib
import io
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time

import numpy as np

from curate.stages.quality import positive_probs, prepare

COMPRESSED = (".gz", ".zst")  # an HTML or CSV input's too, read as `curate run` reads them


def _parser() -> argparse.ArgumentParser:
    from curate.shell import Once, Parser, home_path  # --output=~/m.bin: no shell expands a ~ after =

    ap = Parser(prog="curate train-quality", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("--positive", nargs="+", action="extend", required=True, metavar="GLOB", type=home_path, help="high-quality inputs")
    ap.add_argument("--negative", nargs="+", action="extend", required=True, metavar="GLOB", type=home_path, help="low-quality inputs")
    ap.add_argument("--output", action=Once, required=True, type=home_path, help="model file to write (.bin, or .ftz when quantized)")
    ap.add_argument("--positive-label", action=Once, default="__label__hq")
    ap.add_argument("--negative-label", action=Once, default="__label__cc")
    ap.add_argument("--quantize", action="store_true", help="product-quantize the model (small .ftz)")
    ap.add_argument("--cutoff", action=Once, type=int, default=25000, help="words+ngrams kept when quantizing (by norm)")
    ap.add_argument("--seed", action=Once, type=int, default=0)
    ap.add_argument("--chunk-chars", action=Once, type=int, default=3000, help="max characters per training example")
    ap.add_argument("--min-chars", action=Once, type=int, default=200, help="drop shorter examples (a document's only chunk is kept from 50)")
    ap.add_argument("--max-per-input", action=Once, type=int, default=400, help="max examples per input glob")
    ap.add_argument("--held-out", action=Once, type=float, default=0.1, help="share of documents held out for metrics")
    ap.add_argument("--epoch", action=Once, type=int, default=20)
    ap.add_argument("--lr", action=Once, type=float, default=0.2)
    ap.add_argument("--dim", action=Once, type=int, default=64)
    ap.add_argument("--word-ngrams", action=Once, type=int, default=2)
    ap.add_argument("--min-count", action=Once, type=int, default=2)
    ap.add_argument("--bucket", action=Once, type=int, default=200000)
    ap.add_argument("--threads", action=Once, type=int, default=1, help="fastText threads (1 = reproducible)")
    ap.add_argument("--prefix-chars", action=Once, type=int, default=10000, help="scoring prefix for --eval (as the stage's prefix_chars)")
    ap.add_argument("--eval", action="append", default=[], metavar="JSONL", type=home_path, help="labelled JSONL (text, label 1/0): report AUC")
    return ap


# --- reading ------------------------------------------------------------------------------


def _split_spec(spec: str) -> tuple[str, tuple[str, str] | None]:
    if "::" not in spec:
        return spec, None
    pattern, cond = spec.rsplit("::", 1)
    if "=" not in cond:
        raise ValueError(f"{spec!r}: expected GLOB::FIELD=VALUE")
    field, value = cond.split("=", 1)
    return pattern, (field, value)


def _open_text(path: str) -> str:
    """A whole HTML or CSV input's text, its bytes read as `curate run` reads a file's (plain,
    gzip or zstd; past ``max_file_bytes`` decompressed, a bomb, a one-line error)."""
    from curate.readers.common import Limits, decode_text, open_bytes

    with _read_errors(path), open_bytes(path, Limits()) as f:
        return decode_text(f.read())[0]


@contextlib.contextmanager
def _read_errors(path: str):
    """An input that cannot be read whole (a cut download, a damaged member, a bomb past
    ``max_file_bytes``) as the ValueError `curate train-quality` says in one line."""
    from curate.readers.common import BombStopped, LimitExceeded, bomb_elsewhere, size_elsewhere
    from curate.readers.decompress import CorruptData, unreadable

    try:
        yield
    except BombStopped as e:  # not curate run's limits.max_ratio: train-quality takes no [limits]
        raise ValueError(bomb_elsewhere(e, path)) from None
    except LimitExceeded as e:  # its message names the file; the limit as this command takes it (no [limits])
        raise ValueError(size_elsewhere(e, "train-quality")) from None
    except (EOFError, CorruptData) as e:  # a --long=28 frame is no damage: unreadable says how to recompress
        raise ValueError(unreadable(path, e)) from None


def _html(path: str, boilerplate: bool) -> str:
    """Main content of a page, or (``boilerplate``) its lines outside the main content."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(_open_text(path))
    main = extract_plain_text(tree, main_content=True)
    if not boilerplate:
        return main
    keep = {line.strip() for line in main.splitlines()}
    full = extract_plain_text(tree, main_content=False)
    return "\n".join(s for s in (line.strip() for line in full.splitlines()) if s and s not in keep)


def _csv(path: str, cond):
    rows = csv.reader(io.StringIO(_open_text(path)))
    for i, row in enumerate(rows):
        if row and (cond is None or (int(cond[0]) < len(row) and row[int(cond[0])] == cond[1])):
            yield f"{i}", row[-1]


def _curate_format(path: str, rel: str, cond):
    from curate.readers import detect_format, reader_for
    from curate.readers.common import Bad, Doc, Limits, Shard

    fmt = detect_format(path, "web")
    opts = (("meta_fields", (cond[0],)),) if cond else ()
    with _read_errors(path):  # a bomb or a file past the size cap: one line, as an HTML or CSV input's
        for rec in reader_for(fmt)(Shard(path, rel, fmt, "web", "train", opts), Limits()):
            if isinstance(rec, Bad):  # not training data, but counted and said (read_input's None text)
                yield rec.reason, None
            if not isinstance(rec, Doc):
                continue
            if cond and str(rec.meta.get(cond[0])) != cond[1]:
                continue
            yield f"{rec.path or rel}@{rec.offset}", rec.text


def read_input(spec: str, negative: bool):
    """(document key, text) for every document of one input spec; (reason, None) for each record
    that could not be read (curate run quarantines it)."""
    from curate.config import relative_from
    from curate.readers import is_uri, list_files, none_listed
    from curate.readers.common import path_problem

    pattern, cond = _split_spec(spec)
    if path_problem(pattern):  # gs:/b/x.jsonl, ' gs://b/x.jsonl': said as curate run's --input is
        raise ValueError(path_problem(pattern))
    try:
        files = list_files(pattern)  # as `curate run --input`: an existing path is taken as named
    except OSError as e:  # a bucket offline, without credentials, misspelt: one line, as curate run's (a traceback)
        if not is_uri(pattern):
            raise
        raise ValueError(f"{pattern!r} cannot be listed: {str(e)[:400]}") from None
    if not files:
        where = "" if os.path.isdir(pattern) else relative_from(pattern, config=False)  # a folder found: its place is right
        raise ValueError(none_listed(pattern) + where)
    from curate.readers import all_refused
    from curate.readers.common import not_read_as_is

    named = os.path.isfile(pattern)  # a file named on its own: its copy beside it is given instead
    option = ("--negative" if negative else "--positive") * named or None
    refused = [(path, rel, why) for path, rel in files if (why := not_read_as_is(path, option, not named))]
    if refused:  # a .bz2 was "unknown format None"; every one named, fixed in one pass
        raise ValueError(all_refused(refused))
    for path, rel in files:  # rel: keys (held-out split) do not depend on where the data lives
        name = path.lower()
        name = next((name[: -len(z)] for z in COMPRESSED if name.endswith(z)), name)
        if name.endswith((".html", ".htm")):
            yield rel, _html(path, boilerplate=negative)
        elif name.endswith(".csv"):
            for k, text in _csv(path, cond):
                yield f"{rel}@{k}", text
        else:
            yield from _curate_format(path, rel, cond)


def chunk(text: str, max_chars: int, min_chars: int) -> list[str]:
    """Cut at line boundaries into pieces of at most ~max_chars (long lines are cut by prepare)."""
    out, cur, n = [], [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        if cur and n + len(line) > max_chars:
            out.append("\n".join(cur))
            cur, n = [], 0
        cur.append(line)
        n += len(line) + 1
    if cur:
        out.append("\n".join(cur))
    if len(out) == 1:
        return out if len(out[0]) >= 50 else []
    return [c for c in out if len(c) >= min_chars]


def _unit(seed: int, key: str) -> float:
    h = hashlib.blake2b(f"{seed}\x00{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


def examples(specs: list[str], negative: bool, args) -> tuple[list[str], list[str], list[dict]]:
    """(train chunks, held-out chunks, per-input counts) for one class."""
    train, held, counts = [], [], []
    for i, spec in enumerate(specs):
        items = []
        docs, unread = 0, collections.Counter()
        for key, text in read_input(spec, negative):
            if text is None:
                unread[key] += 1
                continue
            docs += 1
            side = _unit(args.seed, key) < args.held_out
            items += [(side, c) for c in chunk(text, args.chunk_chars, args.min_chars)]
        random.Random(f"{args.seed}:{negative}:{i}").shuffle(items)
        items = items[: args.max_per_input]
        train += [c for side, c in items if not side]
        held += [c for side, c in items if side]
        counts.append({"input": spec, "docs": docs, "examples": len(items), "unread": dict(sorted(unread.items()))})
    return train, held, counts


# --- metrics ------------------------------------------------------------------------------


def auc(scores, labels) -> float:
    """Area under the ROC curve (Mann-Whitney U; tied scores count half)."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n1, n0 = y.sum(), (~y).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def precision_recall(scores, labels, threshold: float = 0.5) -> tuple[float, float]:
    s, y = np.asarray(scores), np.asarray(labels, dtype=bool)
    pred = s >= threshold
    tp = int((pred & y).sum())
    return tp / max(int(pred.sum()), 1), tp / max(int(y.sum()), 1)


def eval_half(text: str) -> str:
    """Which half of a labelled evaluation set a document is in: ``select`` (for choosing
    settings) or ``test`` (for the number quoted). Fixed: independent of --seed and settings."""
    return "select" if _unit(0, "eval-half\x00" + text) < 0.5 else "test"


def load_labelled(path: str) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    from curate.readers.common import Limits, not_read_as_is, open_bytes
    from curate.readers.jsonl import json_lines

    if not os.path.isfile(path):  # a traceback (FileNotFoundError) before
        from curate.config import relative_from

        raise ValueError(f"--eval: no file {path!r}{relative_from(path, config=False)}")
    error = not_read_as_is(path, "--eval")  # its compressed bytes would be read as JSON Lines
    if error:
        raise ValueError(error)
    with _read_errors(path), open_bytes(path, Limits()) as f:  # plain, gzip or zstd JSON Lines, read as `curate run` reads them
        for i, r in json_lines(f, path):
            if not isinstance(r, dict) or not isinstance(r.get("text"), str) or r.get("label") not in (0, 1, "0", "1"):
                raise ValueError(f"{path}:{i}: expected an object with a text (a string) and a label (1 or 0): {str(r)[:80]}")
            texts.append(r["text"])
            labels.append(int(r["label"]) == 1)
    return texts, np.array(labels)


# --- main ---------------------------------------------------------------------------------


def train(args) -> dict:
    import fasttext

    evals = {path: load_labelled(path) for path in args.eval}  # read first: a bad file said before the training, not after
    pos_train, pos_held, pos_counts = examples(args.positive, False, args)
    neg_train, neg_held, neg_counts = examples(args.negative, True, args)
    for c in pos_counts + neg_counts:
        unread = c["unread"]
        why = (f"; {sum(unread.values())} records not read ({', '.join(f'{k} {n}' for k, n in unread.items())})"
               if unread else "")
        print(f"  {c['input']}: {c['docs']} docs -> {c['examples']} examples{why}", file=sys.stderr)
    if not pos_train or not neg_train:
        raise ValueError("no training examples for one class (inputs empty or all shorter than --min-chars?)")
    rows = [f"{args.positive_label} {t}" for t in prepare(pos_train, args.chunk_chars)]
    rows += [f"{args.negative_label} {t}" for t in prepare(neg_train, args.chunk_chars)]
    random.Random(args.seed).shuffle(rows)
    params = dict(
        epoch=args.epoch, lr=args.lr, dim=args.dim, wordNgrams=args.word_ngrams, minCount=args.min_count,
        bucket=args.bucket, seed=args.seed, thread=args.threads, loss="softmax", verbose=0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        # a fresh process: fasttext-numpy2 0.10.4 diverges ("Encountered NaN") when it trains in
        # a process that has already loaded a quantized model
        ctx = multiprocessing.get_context("spawn")
        proc = ctx.Process(target=_train, args=(path, params, args.quantize, args.cutoff, args.threads, args.output))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"fastText training failed (exit {proc.exitcode}); try a lower --lr")
    model = fasttext.load_model(args.output)

    held = prepare(pos_held + neg_held, args.chunk_chars)
    y = np.array([True] * len(pos_held) + [False] * len(neg_held))
    s = positive_probs(model, held, args.positive_label)
    p, r = precision_recall(s, y)
    report = {
        "train_examples": {"positive": len(pos_train), "negative": len(neg_train)},
        "held_out_examples": {"positive": len(pos_held), "negative": len(neg_held)},
        "held_out": {"precision": round(p, 4), "recall": round(r, 4), "auc": round(auc(s, y), 4)},
        "fasttext": params,
        "eval": {},
    }
    for path, (texts, labels) in evals.items():
        scores = positive_probs(model, prepare(texts, args.prefix_chars), args.positive_label)
        lengths = [len(t) for t in texts]
        report["eval"][path] = {
            "docs": len(texts),
            "auc": round(auc(scores, labels), 4),
            "auc_length_baseline": round(auc(lengths, labels), 4),
        }
        halves = np.array([eval_half(t) for t in texts])
        for half in ("select", "test"):
            m = halves == half
            report["eval"][path][half] = {
                "docs": int(m.sum()),
                "auc": round(auc(scores[m], labels[m]), 4),
                "auc_length_baseline": round(auc(np.array(lengths)[m], labels[m]), 4),
            }
    return report


def _train(path: str, params: dict, quantize: bool, cutoff: int, threads: int, output: str) -> None:
    import fasttext

    model = fasttext.train_supervised(path, **params)
    if quantize:
        model.quantize(input=path, qnorm=True, retrain=False, cutoff=cutoff, thread=threads, verbose=0)
    save_model(model, output)


def save_model(model, output: str) -> None:
    """Save ``model`` under a temporary name in ``output``'s folder, then rename it over ``output``: saved
    in place, a kill (or a full disk) mid-save left a truncated model where the previous one was."""
    import pyarrow.fs as pafs

    from curate import output as out

    folder, name = os.path.split(os.path.abspath(output))
    tmp = os.path.join(folder, out.tmp_name(name))
    try:
        model.save_model(tmp)
        out.sync(pafs.LocalFileSystem(), tmp)  # its bytes on disk before the rename makes them the model
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    out.sync(pafs.LocalFileSystem(), folder)


FASTTEXT_MAGIC = (793712314).to_bytes(4, "little")  # the first bytes of every fastText model file


def refused_output(path: str) -> str | None:
    """Why ``--output`` may not be written: a file of the user's (notes, an input's path pasted in the
    wrong place) was overwritten by the model without a word. A model (this command's, retrained) is replaced."""
    if os.path.isdir(path):
        return f"{path!r} is a folder"
    with contextlib.suppress(FileNotFoundError), open(path, "rb") as f:
        if f.read(4) != FASTTEXT_MAGIC:
            return f"{path!r} exists and is not a fastText model"
    return None


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if not 0 <= args.held_out < 1:
        print("curate train-quality: --held-out must be in [0, 1)", file=sys.stderr)
        return 2
    refused = refused_output(args.output)
    if refused:
        print(f"curate train-quality: --output {refused}: give the model file's path, a new one or a model to replace",
              file=sys.stderr)
        return 2
    t0 = time.time()
    try:
        report = train(args)
    except ValueError as e:
        print(f"curate train-quality: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # fastText diverged ("Encountered NaN")
        print(f"curate train-quality: fastText failed: {e}; try a lower --lr", file=sys.stderr)
        return 1
    h = report["held_out"]
    print(f"model: {args.output} ({os.path.getsize(args.output):,} bytes, {time.time() - t0:.1f} s)")
    print(f"train examples: {report['train_examples']}; held-out examples: {report['held_out_examples']}")
    print(f"held-out (by document): precision {h['precision']:.4f}  recall {h['recall']:.4f}  AUC {h['auc']:.4f}")
    for path, e in report["eval"].items():
        print(f"eval {path}: {e['docs']} docs  AUC {e['auc']:.4f}  (document-length baseline {e['auc_length_baseline']:.4f}); "
              + "; ".join(f"{h} half {e[h]['docs']} docs AUC {e[h]['auc']:.4f} (length {e[h]['auc_length_baseline']:.4f})"
                          for h in ("select", "test")))
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
