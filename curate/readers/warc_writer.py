"""Writing small WARC files (the demo's data, tests, benchmarks)."""
from __future__ import annotations

import base64
import gzip
import hashlib
import os
import uuid
from http import HTTPStatus


WARC_DATE = "2024-01-01T00:00:00Z"


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _record(wtype: str, fields: list[tuple[str, str]], block: bytes, key: str) -> bytes:
    rid = uuid.uuid5(uuid.NAMESPACE_URL, f"{key}\x00{hashlib.sha1(block).hexdigest()}")
    head = [("WARC-Type", wtype), ("WARC-Record-ID", f"<urn:uuid:{rid}>"), ("WARC-Date", WARC_DATE), *fields]
    head += [("WARC-Block-Digest", _digest(block)), ("Content-Length", str(len(block)))]
    text = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head) + "\r\n"
    # one gzip member per record (as Common Crawl does), mtime 0: byte-identical reruns
    return gzip.compress(text.encode("utf-8") + block + b"\r\n\r\n", mtime=0)


def write_warc(path: str, pages: list[tuple[str, bytes, str, int]]) -> None:
    """Write (url, body, content_type, http_status) pages as a gzipped WARC.

    A warcinfo record comes first, then one response record per page. Record ids and
    dates are deterministic, so the same pages always give the same bytes.
    """
    name = os.path.basename(path)
    info = "software: curate\r\nformat: WARC File Format 1.0\r\n".encode()
    out = [_record("warcinfo", [("WARC-Filename", name), ("Content-Type", "application/warc-fields")], info, name)]
    for i, (url, body, ctype, status) in enumerate(pages):
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        http = f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
        block = http.encode("latin-1") + body
        fields = [
            ("WARC-Target-URI", url),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Payload-Digest", _digest(body)),
        ]
        out.append(_record("response", fields, block, f"{name}\x00{i}\x00{url}"))
    with open(path, "wb") as f:
        f.writelines(out)

