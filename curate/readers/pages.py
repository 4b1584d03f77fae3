"""Saved HTML pages: one document per ``.html``/``.htm`` file (plain or compressed).

For a folder of pages from a scraper, a site mirror or a browser's "save as", without
packing them into a WARC first. A page goes through exactly what a WARC response's HTML goes
through (``curate.readers.warc``): the ``max_html_bytes`` cap, then ``ingest.extractor`` in
the time-limited helper process, the charset from a BOM or the page's ``<meta>`` (there is no
HTTP header), else detected. ``meta`` keeps the extractor, ``charset``, ``title`` and
``html_lang`` where the page has them. A file name is not a URL, so ``url`` is null.
"""
from __future__ import annotations

from typing import Iterator

from curate.readers.common import Bad, Doc, Limits, Shard, open_bytes
from curate.readers.extract_helper import extract_page
from curate.readers.html import binary_body


def read_html(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    with open_bytes(shard.path, limits) as f:
        body = f.read(limits.max_html_bytes + 1)
    if len(body) > limits.max_html_bytes:
        yield Bad(0, "html_too_large", f"HTML over max_html_bytes {limits.max_html_bytes}")
        return
    if binary_body(body):  # an image saved under a page's name
        yield Bad(0, "binary", "NUL or control bytes in the first 8 KiB: not a page")
        return
    status, *res = extract_page(body, None, limits)
    if status != "ok":
        yield Bad(0, *res)
        return
    text, info = res
    yield Doc(text=text, offset=0, meta={k: v for k, v in info.items() if v is not None})
