"""Dedup normalisation, exact keys, MinHash signatures (datasketch compatibility) and LSH keys."""
from __future__ import annotations

import functools
import gzip
import json
import random
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.stages.dedup import minhash as mh
from curate.stages.dedup.exact import exact_keys, keys_as_uint64
from curate.stages.dedup.normalize import NormalizeConfig, normalize, normalize_reference, normalize_text

import datasketch  # a dependency (>= 2.0: the first with MinHash(scheme=...))


@pytest.fixture(scope="module", autouse=True)
def _memo_word_hash():
    """The scalar reference hashes (pure Python) were most of this file's CPU: each word is
    hashed once per shingle it is in (five), and the 1,000 documents three times over. The
    word hash is a pure function: memoised for this module, the references compute the same."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(mh, "word_hash64", functools.lru_cache(maxsize=None)(mh.word_hash64))
        yield


def _ds_minhash(num_perm, seed, hashfunc, scheme):
    return datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=hashfunc, scheme=scheme)


@pytest.fixture(scope="module")
def docs(corpora) -> list[str]:
    """1,000 real documents: multilingual web pages, book and speech pieces of varied
    length, and a few degenerate ones (empty, one word, shorter than n, punctuation)."""
    rng = random.Random(7)
    with gzip.open(corpora / "web" / "cc_main_2019_30_dolma_docs.jsonl.gz", "rt", encoding="utf-8") as f:
        web = [json.loads(line)["text"][:3000] for line in f][:450]
    pieces = []
    for p in sorted((corpora / "books" / "gutenberg_nltk").glob("*.txt")) + sorted(
        (corpora / "misc_public_domain" / "inaugural").glob("*.txt")
    ):
        text = p.read_text(encoding="utf-8", errors="replace")
        for _ in range(8):
            i = rng.randrange(len(text))
            pieces.append(text[i : i + rng.choice([40, 300, 1500, 3000])])
    odd = ["", "   ", "one", "two words", "a b c d", "a b c d e", "!!! ... ---", "Ünïcödé ﬁ ＡＢＣ 123", "x" * 40 + " y"]
    out = web + pieces[: 1000 - len(web) - len(odd)] + odd
    assert len(out) == 1000
    return out


@pytest.mark.corpora
@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
def test_signatures_equal_datasketch_1000_docs(docs, scheme):
    norm = normalize(docs)
    sigs = mh.signatures(norm, num_perm=112, seed=3, scheme=scheme)
    for text, sig in zip(norm.to_pylist(), sigs):
        m = _ds_minhash(112, 3, mh.shingle_hash32, scheme)
        m.update_batch(mh.shingles(text, 5))
        assert np.array_equal(m.hashvalues, sig)


@pytest.mark.corpora
@pytest.mark.parametrize(
    "scheme,hashfunc", [("affine32", "sha1_hash32"), ("legacy", "sha1_hash32"), ("affine64", "sha1_hash64")]
)
def test_user_hashfunc_equals_datasketch(docs, scheme, hashfunc):
    """The compatibility path: datasketch's own default hash functions, any scheme."""
    fn = getattr(datasketch.hashfunc, hashfunc)
    norm = normalize(docs[::5])
    sigs = mh.signatures(norm, num_perm=64, seed=1, scheme=scheme, hashfunc=fn)
    for text, sig in zip(norm.to_pylist(), sigs):
        m = _ds_minhash(64, 1, fn, scheme)
        m.update_batch(mh.shingles(text, 5))
        assert np.array_equal(m.hashvalues, sig)


@pytest.mark.corpora
def test_vectorised_shingle_hashes_equal_scalar(docs):
    norm = normalize(docs)
    h, off = mh.shingle_hashes(norm, 5)
    for i, text in enumerate(norm.to_pylist()):
        assert h[off[i] : off[i + 1]].tolist() == [mh.shingle_hash64(s) for s in mh.shingles(text, 5)]


def test_shingles_edge_cases():
    texts = ["", "one", "a b c", "a b c d e", "a b c d e f", "ab" * 20 + " " + "é" * 9 + " z"]
    norm = pa.array(texts, pa.large_string())  # already normal form
    h, off = mh.shingle_hashes(norm, 5)
    assert np.diff(off).tolist() == [0, 1, 1, 1, 2, 1]
    assert mh.shingles("a b c", 5) == [b"a b c"]
    for i, t in enumerate(texts):
        assert h[off[i] : off[i + 1]].tolist() == [mh.shingle_hash64(s) for s in mh.shingles(t, 5)]
    # words are cut at document boundaries even when nothing separates them in the buffer
    both = mh.shingle_hashes(pa.array(["alpha beta", "gamma"], pa.large_string()), 2)[0]
    assert both.tolist() == [mh.shingle_hash64(b"alpha beta"), mh.shingle_hash64(b"gamma")]
    sigs = mh.signatures(norm, num_perm=16)
    assert (sigs[0] == mh.empty_value("affine32")).all()  # no shingle: datasketch's empty MinHash
    # raw (not normalised) text: any bytes <= 0x20 separate words, runs of them too
    raw = ["  lead  and\ttrail  ", "ctrl\x01sep\x7fword x", "\n", "a" * 30 + "é" * 20 + " b c d e f g"]
    h, off = mh.shingle_hashes(pa.array(raw, pa.large_string()), 3)
    for i, t in enumerate(raw):
        assert h[off[i] : off[i + 1]].tolist() == [mh.shingle_hash64(s) for s in mh.shingles(t, 3)]
    assert mh.shingles(raw[1], 3) == [b"ctrl sep\x7fword x"]


def test_signatures_any_chunking():
    texts = [" ".join(f"w{i}x{j}" for j in range(random.Random(i).randrange(0, 400))) for i in range(300)]
    # (not normalised, so the digits stay: every word is distinct)
    norm = pa.array(texts, pa.large_string())
    whole = mh.signatures(norm, num_perm=32)
    old = mh._CHUNK_BYTES
    try:
        mh._CHUNK_BYTES = 1000  # many small chunks, and documents larger than a chunk
        assert np.array_equal(mh.signatures(norm, num_perm=32), whole)
    finally:
        mh._CHUNK_BYTES = old


def test_band_keys_equal_for_identical_docs():
    base = "The quick brown fox jumps over the lazy dog near the riverbank at dawn " * 5
    texts = [base, base.upper(), base.replace(" ", "  ") + "!!", base + " and then it slept"]
    sigs = mh.batch_signatures(texts)
    keys = mh.band_keys(sigs, 14, 8)
    assert keys.shape == (4, 14) and keys.dtype == np.uint64
    assert np.array_equal(keys[0], keys[1]) and np.array_equal(keys[0], keys[2])
    assert (keys[0] != keys[3]).any()
    # the band index is part of the key: equal rows in two bands give two keys
    flat = np.zeros((1, 16), dtype=np.uint32)
    k = mh.band_keys(flat, 2, 8)
    assert k[0, 0] != k[0, 1]


def test_jaccard_estimate_tracks_true_jaccard():
    rng = random.Random(0)
    vocab = ["".join(rng.choice("abcdefghij") for _ in range(6)) for _ in range(5000)]
    base = [rng.choice(vocab) for _ in range(2000)]
    edited = list(base)
    for i in rng.sample(range(2000), 100):
        edited[i] = rng.choice(vocab)
    sh = lambda ws: {" ".join(ws[i : i + 5]) for i in range(len(ws) - 4)}
    true = len(sh(base) & sh(edited)) / len(sh(base) | sh(edited))
    sigs = mh.signatures(pa.array([" ".join(base), " ".join(edited)], pa.large_string()), num_perm=256)
    assert abs(mh.jaccard_estimate(sigs[0], sigs[1]) - true) < 0.08


@pytest.mark.parametrize("threshold,num_perm", [(0.5, 128), (0.7, 112), (0.8, 112), (0.9, 64)])
def test_optimal_bands_matches_datasketch(threshold, num_perm):
    from datasketch import lsh
    assert mh.optimal_bands(threshold, num_perm) == lsh._optimal_param(threshold, num_perm, 0.5, 0.5)
    cfg = mh.MinHashConfig.for_threshold(threshold, num_perm)
    assert cfg.bands * cfg.rows <= num_perm


def test_config_validation():
    with pytest.raises(ValueError):
        mh.MinHashConfig(bands=20, rows=8)
    with pytest.raises(ValueError):
        mh.MinHashConfig(scheme="nope")


# --- normalisation -------------------------------------------------------------------------

def test_normalize_documented_examples():
    assert normalize_text("  Don't   STOP\u2014now!\n\t2019-12-31, 1,000 ") == "dont stopnow 0 0"
    assert normalize_text("ＦＵＬＬ ｗｉｄｔｈ ﬁne") == "full width fine"
    assert normalize_text("zero\u200bwidth soft\u00adhyphen\u00a0nbsp") == "zerowidth softhyphen nbsp"
    assert normalize_text("Prix: ١٢٣ € — ok") == "prix 0 ok"
    assert normalize_text("A.B", NormalizeConfig(strip_punct=False)) == "a.b"
    assert normalize_text("A  1 2", NormalizeConfig(collapse_ws=False, fold_digits=False)) == "a  1 2"
    # (Arrow's NFKC leaves が decomposed: か + U+3099, one word with its mark)
    assert normalize_text("我们去了公园。ひらがな ok", NormalizeConfig(split_cjk=True)) == "我 们 去 了 公 园 ひ ら か\u3099 な ok"


_ALPHABET = list("aZ09 ,.!-'\t\n\r\x00\x7f") + [
    "\u00a0", "\u2028", "\u0663", "é", "É", "ﬁ", "Ａ", "！", "\u200b", "\u00ad", "–", "“", "\u0085",
    "İ", "ß", "\U0001F600", "\ue000", "\u0378", "５", "²", "Ω", "\u3000", "\u0301",
    "中", "が", "ｶ", "\u3099", "ー", "。",
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(st.sampled_from(_ALPHABET) | st.characters(blacklist_categories=("Cs",)), max_size=40), max_size=20),
    st.tuples(*[st.booleans()] * 7),  # the seventh: punct_space
)
def test_fast_normalize_equals_definition(texts, flags):
    cfg = NormalizeConfig(*flags)
    assert normalize(texts, cfg).to_pylist() == normalize_reference(texts, cfg).to_pylist()


@pytest.mark.corpora
def test_fast_normalize_equals_definition_on_real_text(docs):
    assert normalize(docs).equals(normalize_reference(docs))


def test_normalize_accepts_arrow_inputs():
    arr = pa.chunked_array([pa.array(["A b", None]), pa.array(["C"])])
    assert normalize(arr).to_pylist() == ["a b", "", "c"]
    assert normalize(pa.array(["X", "Y"]).slice(1)).to_pylist() == ["y"]


# --- exact keys ----------------------------------------------------------------------------

def test_exact_keys():
    keys = exact_keys(["Hello, World!", "hello world", "hello  world\n", "hello world!!1", ""])
    assert keys.type == pa.binary(16)
    k = keys.to_pylist()
    assert k[0] == k[1] == k[2] and k[3] != k[0] and len(set(k)) == 3
    assert keys_as_uint64(keys).shape == (5, 2)


@pytest.mark.corpora
def test_exact_keys_find_the_milton_duplicates(corpora):
    folder = corpora / "neardup" / "milton_exact_duplicates_pypi" / "texts"
    files = sorted(p for p in folder.glob("*.txt") if p.stem != "metadata")
    keys = exact_keys([p.read_text(encoding="utf-8", errors="replace") for p in files]).to_pylist()
    groups = {}
    for p, k in zip(files, keys):
        groups.setdefault(k, []).append(p.name)
    assert sorted(len(g) for g in groups.values() if len(g) > 1) == [2] * 7
    assert ["paradise_lost_(no_introduction)_gut.txt", "paradiselost.txt"] in groups.values()


def test_library_does_not_import_beam():
    code = "import sys, curate.stages.dedup; assert 'apache_beam' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
