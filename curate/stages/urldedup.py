"""The ``urldedup`` stage: one document per normalised URL (the same page crawled twice).

``normalize_url`` folds what does not change the page: the scheme (http = https; a bare
``host/path`` as in Dolma's ``metadata.url`` is accepted), host case, a leading ``www.``,
default ports (:80, :443), a trailing slash, the fragment, tracking parameters
(``tracking_params``: names, or prefixes ending in ``*``), parameters with an empty value
(``?q=&id=3`` = ``?id=3``; a bare ``?q`` is kept), HTML-escaped ``&amp;`` separators, percent-encoding differences
(``%20`` = ``+``, ``%2C`` = ``,``) and the order of the remaining query parameters. The path and the other parameters keep their case: they can name
different pages. A Thai, Japanese or Chinese page's URL comes written two ways: percent-encoded
(a crawler's, Common Crawl's, Dolma's ``/wiki/%E6%97%A5%E6%9C%AC``, in upper or lower case hex)
or with its characters (a dump or a scrape that keeps IRIs, ``/wiki/日本``), and its host as
punycode (``xn--o3cw4h.com``) or as ``ไทย.com``. Both are the same page (RFC 3987's mapping):
the path's escapes of UTF-8 characters and of unreserved ASCII (RFC 3986 2.3) are decoded, the
other escapes (``%2F``, ``%3F``, a byte that is not UTF-8) kept, and the path then written
percent-encoded in upper-case hex; punycode host labels are decoded. A query is compared as
bytes: a GBK or Latin-1 query (``?wd=%C4%E3``) keeps its escapes, not one U+FFFD a byte.

The survivor is chosen exactly as dedup chooses (``curate.stages.dedup.cluster``: quality when
scored, then length, source rank, id) through the same bucket shuffle and id join
(``pipelines/dedup.py``): the key of a document is the 128-bit hash of its normalised URL.
Removed copies get the ledger rule ``url_duplicate`` with ``kept_id``. Documents without a URL
are never removed here. Survivors keep their ``dup_group_size``: a re-crawl is not evidence
that a page is popular, so it does not weight the survivor in rebalancing.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import schema
from curate.config import Check
from curate.stages.dedup import cluster

RULE = "url_duplicate"
TRACKING = [
    "utm_*", "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "_ga", "_gl",
    "igshid", "ref_src", "spm", "sessionid", "phpsessid", "sid",
]
_DEFAULT_PORTS = {"80", "443"}
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# what a path may hold as it is (RFC 3986's pchar and "/"): other ASCII (a space, ") is escaped
_PATH_SAFE = "!$&'()*+,;=:@/%"


def _escape_run(m: re.Match) -> str:
    """A run of escapes as characters where that names the same path, else the escapes in upper case."""
    text = bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8", "surrogateescape")
    return "".join(
        c if (c in _UNRESERVED or (ord(c) > 127 and not 0xDC80 <= ord(c) <= 0xDCFF))
        else "%%%02X" % (ord(c) - 0xDC00 if ord(c) > 127 else ord(c))
        for c in text
    )


def _path(path: str) -> str:
    """The path percent-encoded one way: escapes of UTF-8 characters and of unreserved ASCII
    decoded, then every character but unreserved and ``_PATH_SAFE`` ones escaped (upper-case hex)."""
    if "%" in path:
        path = _ESCAPES.sub(_escape_run, path)
    return path if path.isascii() and all(c in _UNRESERVED or c in _PATH_SAFE for c in path) else quote(path, safe=_PATH_SAFE, errors="surrogatepass")


_QUERY_SAFE = "".join(map(chr, range(33, 127)))  # a query's ASCII as it is (its escapes, & and =)


def _name(key: str) -> str:
    """A parameter's name (held as bytes, see normalize_url) as text, lower case: matched against tracking_params."""
    return key.encode("latin-1").decode("utf-8", "surrogateescape").lower()


def _host(host: str) -> str:
    """Punycode labels (``xn--...``) as their characters."""
    if "xn--" not in host:
        return host
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            try:
                name = label[4:].encode("ascii").decode("punycode")
                # only a real A-label: "xn--abc-" decodes to "abc", which is another host
                if not name.isascii() and name.encode("punycode") == label[4:].encode("ascii"):
                    label = name.lower()
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    return ".".join(labels)


def normalize_url(url: str | None, tracking=TRACKING) -> str | None:
    """The dedup form of a URL (no scheme: ``host[:port]/path?query``); None when it has no host."""
    if not url or not url.strip():
        return None
    url = url.strip()
    if "://" not in url[:16] and not url.startswith("//"):  # a bare host/path (Dolma's metadata.url)
        url = "//" + url
    try:
        u = urlsplit(url)
        host, port = (u.hostname or ""), u.port
    except ValueError:  # a malformed port or IPv6 literal: compare the text as given
        return url
    if not host:
        return None
    host = _host(host.rstrip("."))
    if host.startswith("www."):
        host = host[4:]
    if port is not None and str(port) not in _DEFAULT_PORTS:
        host = f"{host}:{port}"
    path = _path(u.path).rstrip("/")
    exact = {t.lower() for t in tracking if not t.endswith("*")}
    prefixes = tuple(t[:-1].lower() for t in tracking if t.endswith("*"))
    query = u.query
    while "&amp;" in query:  # an HTML-escaped link copied into the crawl
        query = query.replace("&amp;", "&")
    # "k=" (an empty value) is dropped; a bare "k" is kept: it can name the page (SPIP's ?article154)
    # parameters as bytes (one Latin-1 character a byte): a query in GBK, Shift_JIS or Latin-1,
    # or a cut UTF-8 character, keeps its bytes (decoded as UTF-8, each became one U+FFFD and two
    # searches met); IRI characters first as their UTF-8 escapes. Sorting bytes sorts UTF-8 as text.
    query = quote(query, safe=_QUERY_SAFE, errors="surrogatepass")
    params = [(k, v) for part in query.split("&") if part and not part.endswith("=")
              for k, v in parse_qsl(part, keep_blank_values=True, encoding="latin-1")
              if _name(k) not in exact and not _name(k).startswith(prefixes)]
    query = urlencode(sorted(params), encoding="latin-1")
    return f"{host}{path}" + (f"?{query}" if query else "")


def url_keys(urls, tracking=TRACKING) -> tuple[np.ndarray, np.ndarray]:
    """(rows that have a URL, their 128-bit keys as an (n, 2) uint64 array)."""
    norm = [normalize_url(u, tracking) for u in urls]
    rows = np.array([i for i, n in enumerate(norm) if n is not None], dtype=np.int64)
    digests = b"".join(hashlib.blake2b(norm[i].encode("utf-8", "surrogatepass"), digest_size=16).digest() for i in rows)
    return rows, np.frombuffer(digests, dtype=np.uint64).reshape(-1, 2)


class UrlDedupStage:
    """Library half (the Beam wiring is ``pipelines.dedup.Dedup`` with this in place of
    dedup's): ``entries`` -> bucket shuffle -> ``edges`` -> join by id -> ``apply``."""

    name = "urldedup"
    DEFAULTS = {
        "tracking_params": TRACKING,  # query parameters dropped (a trailing * matches a prefix)
        "domains": ["web"],
        "source_ranks": [],  # as dedup.source_ranks: tie-break after quality and length
        "join_shards": 0,  # 0 = output.id_partitions(run.shards)
        "bucket_shards": 0,  # 0 = join_shards
    }
    CHECKS = {"domains": Check(choices=schema.DOMAINS)}  # a misspelt domain would match no document

    def __init__(self, cfg: dict | None = None):
        c = {**self.DEFAULTS, **(cfg or {})}
        if not all(isinstance(t, str) and t for t in c["tracking_params"]):
            raise ValueError("tracking_params: expected a list of parameter names")
        self.tracking = list(c["tracking_params"])
        self.domains = list(c["domains"])
        self.ranks = {s: i for i, s in enumerate(c["source_ranks"])}
        self.join_shards, self.bucket_shards = c["join_shards"], c["bucket_shards"]

    def setup(self):
        pass

    def entries(self, batch: pa.RecordBatch) -> pa.Table:
        on = pc.is_in(batch.column("domain"), value_set=pa.array(self.domains, pa.string())).to_numpy(zero_copy_only=False)
        sub = batch.filter(pa.array(on))
        rows, keys = url_keys(sub.column("url").to_pylist(), self.tracking)
        sub = sub.take(pa.array(rows))
        return cluster.entries(sub, keys[:, :1].copy(), keys[:, 1].copy(), None, self.ranks, exact=True)

    def edges(self, entries: pa.Table) -> pa.Table:
        return cluster.bucket_edges(entries)

    def apply(self, batch: pa.RecordBatch, removals: pa.Table, absorbed: pa.Table):
        ids = pc.cast(batch.column("id"), pa.string())
        pos = pc.index_in(ids, value_set=removals.column("dup_id").combine_chunks())
        kept_id = removals.column("kept_id").combine_chunks().take(pos)
        return schema.split(batch, pc.is_null(pos), self.name, RULE, kept_id=kept_id)
