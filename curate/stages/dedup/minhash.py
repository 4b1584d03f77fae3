"""MinHash signatures and LSH band keys for a whole batch of documents at once (numpy, and
two compiled numba loops).

Shingles are word n-grams (default 5) of the *normalised* text (``normalize.py``); a document
with fewer than n words has one shingle made of all its words, an empty one has none (its
signature is all "max", the datasketch convention, so all empty documents share their band
keys: they are exact duplicates of each other anyway).

Shingle hash (64 bits; one compiled pass over the batch's UTF-8 bytes, no Python per shingle
or word). Each word is hashed from its 8-byte little-endian blocks: the sum of
``fmix64(block_k ^ k * K)`` (the last block zero-padded; words contain no zero byte, so a
short word's block is unique). A shingle of m words is ``horner_K(word hashes) ^ m``: the
word hashes are already uniform, so a polynomial mod 2^64 suffices to combine them.
``shingle_hash64(bytes)`` is the same function for one shingle in plain Python;
``shingle_hash32`` (the input of the 32-bit schemes: its top 32 bits, through the inverse of
the affine32 pre-mix, see there) can be passed to ``datasketch.MinHash(hashfunc=...)``.

Permutation schemes (parameters drawn exactly as datasketch 2.0 draws them from ``seed``):

* ``"affine32"`` (default, datasketch 2.0's default): the 32-bit input hash is pre-mixed
  with the 32-bit MurmurHash3 finaliser, then ``a*h + b mod 2^32`` with odd ``a`` (a
  bijection, so the permutation adds no collisions). uint32 arithmetic is what numpy
  vectorises well, which is where the speed comes from.
* ``"affine64"``: the same over 64 bits (full 64-bit shingle hash; twice the memory).
* ``"legacy"``: the classic ``(a*h + b) mod (2^61 - 1)`` with 61-bit ``a, b`` and 32-bit
  ``h``, bit-exact with datasketch's ``scheme="legacy"`` (and datasketch < 2.0, FineWeb's
  datatrove): ``a*h`` wraps modulo 2^64 *before* the prime modulus (uint64 arithmetic), and
  every permuted value is truncated to 32 bits before the minimum. We reduce modulo the
  Mersenne prime with shifts instead of a division, same result. About 3x slower than
  affine32 (64-bit lanes, and the reduction), and datasketch documents its
  truncation bias on large sets; use it to stay comparable with existing signatures.

Signatures are computed a chunk of documents at a time (about 512 KiB of text, so the
temporaries stay in cache): all shingle hashes of the chunk are one numpy array, then one
compiled (numba) loop takes every document's minimum under every permutation. Peak memory is a few tens of MiB whatever the batch size, plus the signatures
(num_perm * 4 bytes per document). A single huge document is one chunk: memory linear in it.

LSH: ``bands`` x ``rows`` <= ``num_perm`` (default 14 x 8 of 112, FineWeb's setting), or
``optimal_bands(threshold, num_perm)``: the (b, r) minimising the weighted integrated false
positive and false negative probability (datasketch's criterion, integrated exactly with
Gauss-Legendre: the integrands are polynomials). ``band_keys`` gives one uint64 per
(document, band): a hash of the band index and the band's rows, usable as a shuffle key
(``int(key)`` or ``key.tobytes()``); equal rows in the same band give equal keys.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from curate.stages.numba_cache import njit

from .normalize import DEFAULT as DEFAULT_NORMALIZE
from .normalize import NormalizeConfig, doc_chunks, normalize, string_buffers

SCHEMES = ("affine32", "affine64", "legacy")
_M64 = (1 << 64) - 1
_MERSENNE = (1 << 61) - 1
_K_SHINGLE = 0xC2B2AE3D27D4EB4F  # odd multipliers (from MurmurHash / xxHash)
_K_BAND = 0x165667B19E3779F9
_K_BLOCK = 0x9E3779B97F4A7C15
_CHUNK_BYTES = 1 << 19  # text per chunk: the chunk's temporaries stay in L2 cache

U32, U64 = np.uint32, np.uint64
_WORD = re.compile(rb"[^\x00-\x20]+")


@dataclass(frozen=True)
class MinHashConfig:
    num_perm: int = 112
    bands: int = 14
    rows: int = 8
    ngram: int = 5
    seed: int = 1
    scheme: str = "affine32"
    normalize: NormalizeConfig = field(default=DEFAULT_NORMALIZE)

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.bands * self.rows > self.num_perm or min(self.bands, self.rows, self.ngram) < 1:
            raise ValueError(f"need bands*rows <= num_perm and all >= 1 ({self})")

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int = 112, fp_weight=0.5, fn_weight=0.5, **kw):
        b, r = optimal_bands(threshold, num_perm, fp_weight, fn_weight)
        return cls(num_perm=num_perm, bands=b, rows=r, **kw)


# --- mixing functions (numpy, wrapping arithmetic) and their scalar twins -----------------

def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 64-bit finaliser (a bijection); in place on a uint64 array."""
    h ^= h >> U64(33)
    h *= U64(0xFF51AFD7ED558CCD)
    h ^= h >> U64(33)
    h *= U64(0xC4CEB9FE1A85EC53)
    h ^= h >> U64(33)
    return h


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 32-bit finaliser; in place on a uint32 array (datasketch's pre-mix)."""
    h ^= h >> U32(16)
    h *= U32(0x85EBCA6B)
    h ^= h >> U32(13)
    h *= U32(0xC2B2AE35)
    h ^= h >> U32(16)
    return h


_INV1, _INV2 = pow(0xC2B2AE35, -1, 1 << 32), pow(0x85EBCA6B, -1, 1 << 32)


def fmix32_inverse(h: np.ndarray) -> np.ndarray:
    """Inverse of ``fmix32``; in place on a uint32 array."""
    h ^= h >> U32(16)  # a shift of half the width or more is its own inverse
    h *= U32(_INV1)
    h ^= (h >> U32(13)) ^ (h >> U32(26))  # x ^ x>>13 ^ x>>26 inverts x ^= x >> 13
    h *= U32(_INV2)
    h ^= h >> U32(16)
    return h


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def word_hash64(word: bytes) -> int:
    h = 0
    for k in range(0, len(word), 8):
        blk = int.from_bytes(word[k : k + 8], "little")
        h += _fmix64_int(blk ^ ((k // 8) * _K_BLOCK & _M64))
    return h & _M64


def _split(text: bytes) -> list[bytes]:
    """Words: maximal runs of bytes > 0x20 (space, ASCII whitespace and controls separate)."""
    return _WORD.findall(text)


def shingle_hash64(shingle: bytes) -> int:
    """Scalar reference of the vectorised 64-bit shingle hash."""
    words = _split(shingle)
    acc = 0
    for w in words:
        acc = (acc * _K_SHINGLE + word_hash64(w)) & _M64
    return acc ^ len(words)


def shingle_hash32(shingle: bytes) -> int:
    """The 32-bit shingle hash: ``fmix32^-1(shingle_hash64 >> 32)``. Pass it as
    ``datasketch.MinHash(hashfunc=shingle_hash32)`` to reproduce our signatures. The inverse
    cancels the affine32 scheme's fmix32 pre-mix, so that scheme permutes the top 32 bits of
    the 64-bit hash directly (they are already uniform) and our fast path skips a pass."""
    h = shingle_hash64(shingle) >> 32  # fmix32_inverse on a Python int
    h ^= h >> 16
    h = (h * _INV1) & 0xFFFFFFFF
    h ^= (h >> 13) ^ (h >> 26)
    h = (h * _INV2) & 0xFFFFFFFF
    return h ^ (h >> 16)


def shingles(normalized_text: str, ngram: int = 5) -> list[bytes]:
    """Word n-gram shingles of one normalised text, as UTF-8 bytes joined by single spaces
    (plain Python; for datasketch comparisons and the reference)."""
    return shingles_of_words(_split(normalized_text.encode("utf-8")), ngram)


def shingles_of_words(words: list[bytes], ngram: int) -> list[bytes]:
    if not words:
        return []
    if len(words) < ngram:
        return [b" ".join(words)]
    return [b" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]


# --- permutations ----------------------------------------------------------------------------

def permutations(num_perm: int, seed: int = 1, scheme: str = "affine32") -> tuple[np.ndarray, np.ndarray]:
    """(a, b) drawn from ``np.random.RandomState(seed)`` in datasketch 2.0's order."""
    gen = np.random.RandomState(seed)
    if scheme == "legacy":
        # One (a, b) pair per permutation, drawn alternately (as datasketch does).
        ab = [(gen.randint(1, _MERSENNE, dtype=U64), gen.randint(0, _MERSENNE, dtype=U64)) for _ in range(num_perm)]
        ab = np.array(ab, dtype=U64).reshape(num_perm, 2)
        return ab[:, 0].copy(), ab[:, 1].copy()
    width, dt = (32, U32) if scheme == "affine32" else (64, U64)
    a = gen.randint(0, 1 << (width - 1), num_perm, dtype=dt) * dt(2) + dt(1)
    b = gen.randint(0, 1 << width, num_perm, dtype=dt)
    return a, b


@functools.lru_cache(maxsize=16)
def _permutations_cached(num_perm: int, seed: int, scheme: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = permutations(num_perm, seed, scheme)
    a.flags.writeable = b.flags.writeable = False
    return a, b


def empty_value(scheme: str) -> int:
    """Signature value of a permutation that saw no shingle (datasketch's max hash)."""
    return (1 << 64) - 1 if scheme == "affine64" else (1 << 32) - 1


def sig_dtype(scheme: str):
    return U32 if scheme == "affine32" else U64


def _scheme_input(h64: np.ndarray, scheme: str, hashed: bool) -> np.ndarray:
    """Shingle hashes -> the values the permutations act on. ``hashed``: h64 holds outputs of
    a user hashfunc (already the scheme width), else our 64-bit shingle hashes."""
    if scheme == "affine32":
        if not hashed:  # fmix32(shingle_hash32) is just the top half: no pass needed
            return (h64 >> U64(32)).astype(U32)
        if len(h64) and int(h64.max()) >> 32:
            raise ValueError("hashfunc returned a value over 32 bits for scheme 'affine32'")
        return fmix32(h64.astype(U32))
    if scheme == "affine64":
        return fmix64(h64.copy())
    if hashed:
        return h64.copy()
    return fmix32_inverse((h64 >> U64(32)).astype(U32)).astype(U64)  # shingle_hash32


# One compiled loop per scheme: for each document, each shingle, each permutation, keep the
# minimum. The permutation loop is innermost, so LLVM vectorises it (16 uint32 lanes with
# AVX-512) and a document's running minima stay in registers: one pass over the shingles,
# no temporaries. (A numpy version needs three passes over all shingles per permutation and
# is 4x slower.) ``nogil``: threads of one worker can run it in parallel.

@njit(cache=True, nogil=True)
def _min_affine32(hv, lo, hi, a, b, docs, sigs):
    P = a.shape[0]
    acc = np.empty(P, dtype=np.uint32)
    for k in range(docs.shape[0]):
        acc[:] = np.uint32(0xFFFFFFFF)
        for i in range(lo[k], hi[k]):
            x = hv[i]
            for j in range(P):
                v = np.uint32(a[j] * x + b[j])  # wraps mod 2^32
                if v < acc[j]:
                    acc[j] = v
        for j in range(P):  # (not sigs[d, :] = acc: an array's slice assigned costs numba ~2 CPU-s to compile its error)
            sigs[docs[k], j] = acc[j]


@njit(cache=True, nogil=True)
def _min_u64(hv, lo, hi, a, b, docs, sigs, legacy):
    P = a.shape[0]
    acc = np.empty(P, dtype=np.uint64)
    p, m32 = np.uint64(_MERSENNE), np.uint64(0xFFFFFFFF)
    for k in range(docs.shape[0]):
        for j in range(P):  # (as _min_affine32's copy)
            acc[j] = sigs[docs[k], j]
        for i in range(lo[k], hi[k]):
            x = hv[i]
            for j in range(P):
                v = a[j] * x + b[j]  # wraps mod 2^64 (for legacy too, as datasketch does)
                if legacy:
                    # v mod p without division: 2^61 = 1 (mod p), so v = (v & p) + (v >> 61)
                    # (mod p), which is < 2p; then truncate to 32 bits, as datasketch does.
                    v = (v & p) + (v >> np.uint64(61))
                    if v >= p:
                        v -= p
                    v &= m32
                if v < acc[j]:
                    acc[j] = v
        for j in range(P):
            sigs[docs[k], j] = acc[j]


def _permute_min(hv, lo, hi, docs, a, b, scheme: str, sigs: np.ndarray) -> None:
    """sigs[docs[k], j] = min of permutation j of hv[lo[k]:hi[k]] (each range non-empty)."""
    if scheme == "affine32":
        _min_affine32(hv, lo, hi, a, b, docs, sigs)
    else:
        _min_u64(hv, lo, hi, a, b, docs, sigs, scheme == "legacy")


# --- the batch kernel ------------------------------------------------------------------------

@njit(cache=True, nogil=True)
def _fmix64_nb(h):
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@njit(cache=True, nogil=True)
def _shingle_kernel(data, offs, ngram, out, counts):
    """Shingle hashes of documents data[offs[d]:offs[d+1]], packed into ``out`` (document d's
    are the next counts[d] values); returns how many were written. One pass over the bytes:
    each word's hash (see ``word_hash64``) goes into ``out`` and, once the document is read,
    is overwritten in place by the hash of the window of n words starting there (window t
    needs words t.., so word t is free once window t is written)."""
    K, KB = np.uint64(_K_SHINGLE), np.uint64(_K_BLOCK)
    pos = 0
    for d in range(len(offs) - 1):
        i, e, nw = offs[d], offs[d + 1], 0
        while i < e:
            while i < e and data[i] <= 32:  # words: maximal runs of bytes > 0x20
                i += 1
            if i == e:
                break
            h = blk = np.uint64(0)
            t = b = 0
            while i < e and data[i] > 32:  # little-endian 8-byte blocks, the last zero-padded
                blk |= np.uint64(data[i]) << np.uint64(8 * (t & 7))
                t += 1
                i += 1
                if t & 7 == 0:
                    h += _fmix64_nb(blk ^ (np.uint64(b) * KB))
                    blk = np.uint64(0)
                    b += 1
            if t & 7:
                h += _fmix64_nb(blk ^ (np.uint64(b) * KB))
            out[pos + nw] = h
            nw += 1
        m = nw - ngram + 1 if nw >= ngram else min(nw, 1)  # a short document: one shingle
        width = ngram if nw >= ngram else nw
        for t in range(m):
            acc = np.uint64(0)
            for q in range(width):
                acc = acc * K + out[pos + t + q]
            out[pos + t] = acc ^ np.uint64(width)
        counts[d] = m
        pos += m
    return pos


def _chunk_shingles(b: np.ndarray, offs: np.ndarray, ngram: int, want_bytes: bool):
    """Shingle hashes of one chunk: (h, lo, hi), document d's shingles are h[lo[d]:hi[d]]
    (``offs``: document offsets in ``b``). With ``want_bytes``, h is instead the list of
    shingle bytes (words joined by one space), for a user's hash function."""
    counts = np.zeros(len(offs) - 1, dtype=np.int64)
    if want_bytes:
        raw, out = b.tobytes(), []
        for d, (s, e) in enumerate(zip(offs[:-1].tolist(), offs[1:].tolist())):
            sh = shingles_of_words(_split(raw[s:e]), ngram)
            counts[d] = len(sh)
            out += sh
    else:
        out = np.empty(len(b) // 2 + len(offs), dtype=U64)  # words <= (bytes + 1) / 2 per document
        out = out[: _shingle_kernel(b, offs, ngram, out, counts)]
    hi = np.cumsum(counts)
    return out, hi - counts, hi


def shingle_hashes(normalized, ngram: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hashes of every shingle of the batch, offsets: document d owns
    hashes[offsets[d]:offsets[d+1]])."""
    data, offsets = string_buffers(normalized)
    hs, cs = [], []
    for d0, d1 in doc_chunks(offsets, _CHUNK_BYTES):
        o = offsets[d0 : d1 + 1]
        h, lo, hi = _chunk_shingles(data[o[0] : o[-1]], o - o[0], ngram, False)
        hs.append(h)
        cs.append(hi - lo)
    counts = np.concatenate(cs) if cs else np.zeros(0, np.int64)
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return (np.concatenate(hs) if hs else np.zeros(0, U64)), out


def signatures(
    normalized,
    num_perm: int = 112,
    seed: int = 1,
    ngram: int = 5,
    scheme: str = "affine32",
    hashfunc: Optional[Callable[[bytes], int]] = None,
) -> np.ndarray:
    """MinHash signatures, shape (num docs, num_perm), of already-normalised texts.

    ``hashfunc``: None for the fast vectorised shingle hash; or any datasketch-style
    function of the shingle bytes (e.g. ``datasketch.hashfunc.sha1_hash32``), called once
    per shingle in Python (slow; for compatibility with existing datasketch signatures).
    With the same ``num_perm``, ``seed``, ``scheme`` and shingles, the result equals
    ``datasketch.MinHash(num_perm, seed, hashfunc=..., scheme=...).hashvalues`` per document.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    a, b = _permutations_cached(num_perm, seed, scheme)
    data, offsets = string_buffers(normalized)
    n = len(offsets) - 1
    sigs = np.full((n, num_perm), empty_value(scheme), dtype=sig_dtype(scheme))
    for d0, d1 in doc_chunks(offsets, _CHUNK_BYTES):
        o = offsets[d0 : d1 + 1]
        h, lo, hi = _chunk_shingles(data[o[0] : o[-1]], o - o[0], ngram, hashfunc is not None)
        if hashfunc is not None:
            h = np.array([hashfunc(s) for s in h], dtype=U64)
        live = np.flatnonzero(hi > lo)
        if len(live):
            hv = _scheme_input(h, scheme, hashfunc is not None)
            _permute_min(hv, lo[live], hi[live], d0 + live, a, b, scheme, sigs)
    return sigs


def signature_reference(hashes: np.ndarray, num_perm: int = 112, seed: int = 1, scheme: str = "affine32") -> np.ndarray:
    """One document's signature from its input hashes, the textbook way (for tests)."""
    a, b = permutations(num_perm, seed, scheme)
    out = np.full(num_perm, empty_value(scheme), dtype=sig_dtype(scheme))
    if len(hashes) == 0:
        return out
    h = np.asarray(hashes, dtype=U64)
    if scheme == "affine32":
        phv = fmix32(h.astype(U32))[:, None] * a + b
    elif scheme == "affine64":
        phv = fmix64(h.copy())[:, None] * a + b
    else:
        phv = ((h[:, None] * a + b) % U64(_MERSENNE)) & U64(0xFFFFFFFF)
    return np.minimum(out, phv.min(axis=0))


def batch_signatures(texts, config: MinHashConfig = MinHashConfig()) -> np.ndarray:
    """Normalise raw texts (Arrow array or sequence of str) and compute their signatures."""
    norm = normalize(texts, config.normalize)
    return signatures(norm, config.num_perm, config.seed, config.ngram, config.scheme)


# --- LSH ---------------------------------------------------------------------------------------

def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """uint64 keys, shape (num docs, bands): hash of (band index, the band's rows)."""
    s = sigs.astype(U64, copy=False)
    keys = np.empty((len(s), bands), dtype=U64)
    K = U64(_K_BAND)
    for i in range(bands):
        h = np.full(len(s), _fmix64_int(i + 1), dtype=U64)
        for r in range(i * rows, (i + 1) * rows):
            h = fmix64(h * K ^ s[:, r])
        keys[:, i] = h
    return keys


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray | float:
    """Fraction of equal signature values (broadcasts: one row against many)."""
    return np.mean(np.asarray(sig_a) == np.asarray(sig_b), axis=-1)


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimising fp_weight * P(false positive) +
    fn_weight * P(false negative), each integrated over Jaccard (below / above threshold)."""
    # Gauss-Legendre nodes exact for polynomials up to degree num_perm (the integrands').
    x, w = np.polynomial.legendre.leggauss(num_perm // 2 + 2)
    lo_s, lo_w = 0.5 * threshold * (x + 1), 0.5 * threshold * w
    hi_s, hi_w = threshold + 0.5 * (1 - threshold) * (x + 1), 0.5 * (1 - threshold) * w
    best, best_err = (0, 0), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = np.dot(lo_w, 1.0 - (1.0 - lo_s**r) ** b)  # P(candidate) below the threshold
            fn = np.dot(hi_w, (1.0 - hi_s**r) ** b)  # P(not a candidate) above it
            err = fp * fp_weight + fn * fn_weight
            if err < best_err:
                best, best_err = (b, r), err
    return best
