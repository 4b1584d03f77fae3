"""Plain-text books: one document per file (plain or compressed).

Books come in whatever encoding and line endings their source used (PG: ASCII, ISO-8859-1,
UTF-8 with BOM; CRLF or CR), so the bytes go through ``decode_text`` and the Project
Gutenberg licence header/footer is removed. The decoded encoding and the PG header fields
(title, author, language, release date, ...) go into ``meta``.
"""
from __future__ import annotations

from typing import Iterator

from curate.readers.gutenberg import strip_gutenberg
from curate.readers.common import Bad, Doc, Limits, Shard, decode_text, looks_binary, open_bytes, with_wide_bom


def read_text(shard: Shard, limits: Limits) -> Iterator[Doc | Bad]:
    # Decoding never shrinks text except CRLF folding (at most by half) and a BOM, so a file
    # over 2x max_record_bytes can never fit in one record: stop reading it there.
    cap = limits.max_record_bytes * 2 + 3
    with open_bytes(shard.path, limits) as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        yield Bad(0, "record_too_large", f"over {cap} bytes: a text file is one record (max_record_bytes)")
        return
    data = with_wide_bom(data)  # UTF-16 without its mark (a NUL beside each ASCII letter): no binary file
    if looks_binary(data):
        yield Bad(0, "binary", "NUL or control bytes in the first 8 KiB: not a text file")
        return
    text, encoding = decode_text(data)
    body, meta = strip_gutenberg(text)
    yield Doc(text=body, offset=0, meta={"encoding": encoding, **meta})
