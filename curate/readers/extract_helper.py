"""HTML extraction under a time limit: one helper process per reading thread runs
``html.extract`` with a CPU-time limit and is killed past a wall-clock deadline (see below)."""
from __future__ import annotations

import atexit
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time

from curate.readers.common import Limits, LimitExceeded
from curate.readers.extract import DEFAULT as DEFAULT_EXTRACTOR
from curate.readers.html import html_to_text


_HELPER_CMD = "from curate.readers.extract_helper import _serve; _serve()"


_HEADER = struct.Struct("<Q")


def _extract_reply(body: bytes, http_charset: str | None, max_depth: int, extractor: str = DEFAULT_EXTRACTOR) -> tuple:
    """('ok', text, page info, cpu_s) or (status, reason, detail, cpu_s) for one page."""
    t0 = time.thread_time()
    try:
        text, info = html_to_text(body, http_charset, max_depth, extractor)
        reply = ("ok", text, info)
    except LimitExceeded as e:
        reply = ("limit", e.reason, e.detail)
    except Exception as e:
        reply = ("error", "html_extraction_error", f"{type(e).__name__}: {e}"[:500])
    return (*reply, time.thread_time() - t0)


def _serve() -> None:
    """The helper process: framed pickled requests on stdin, replies on (a copy of) stdout."""
    try:
        _answer()
    except BrokenPipeError:  # the worker it answers was ended (an interrupted run): no one to tell
        os._exit(0)


def _answer() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C; EOF on stdin ends us
    inp = sys.stdin.buffer
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints of native code go to stderr, not into the replies
    import resiliparse.extract.html2text  # noqa: F401  imports before "ready": not on a page's clock
    import resiliparse.parse.html  # noqa: F401

    import curate.readers.extract  # noqa: F401

    data = pickle.dumps("ready")
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()
    while True:
        head = inp.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        request = pickle.loads(inp.read(_HEADER.unpack(head)[0]))
        data = pickle.dumps(_extract_reply(*request), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_HEADER.pack(len(data)))
        out.write(data)
        out.flush()


class _Helper:
    """One helper process and a thread reading its replies (portable timeouts on a pipe)."""

    live: "set[_Helper]" = set()

    def __init__(self):
        import curate

        root = os.path.dirname(os.path.dirname(os.path.abspath(curate.__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HELPER_CMD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        _Helper.live.add(self)
        try:
            ready = self.replies.get(timeout=120)  # imports, on a possibly very busy machine
        except queue.Empty:
            ready = None
        if ready != "ready":
            self.close()
            raise OSError("the HTML extraction helper process did not start")

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            while (head := out.read(_HEADER.size)) and len(head) == _HEADER.size:
                self.replies.put(pickle.loads(out.read(_HEADER.unpack(head)[0])))
        except Exception:
            pass
        self.replies.put(None)  # the helper is gone

    def call(self, request: tuple, timeout: float):
        """The reply; None if the helper died; raises queue.Empty after ``timeout`` seconds."""
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(_HEADER.pack(len(data)))
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        return self.replies.get(timeout=timeout)

    def close(self) -> None:
        _Helper.live.discard(self)
        try:
            self.proc.kill()
            self.proc.wait(10)
        except Exception:
            pass


@atexit.register
def _close_helpers() -> None:
    for h in list(_Helper.live):
        h.close()


_local = threading.local()


def _helper() -> "_Helper | None":
    """This thread's helper, started on first use; None where processes cannot be started."""
    h = getattr(_local, "helper", None)
    if h is None or h.proc.poll() is not None:
        if h is not None:
            h.close()
        if getattr(_local, "no_helper", False):
            return None
        try:
            h = _local.helper = _Helper()
        except OSError:
            _local.no_helper = True
            return None
    return h


def extract_html(body: bytes, http_charset: str | None, limits: Limits) -> tuple:
    """('ok', text, page info) or ('bad', reason, detail): main-content text under the depth and
    time limits (see above), by the extractor ``limits.extractor``."""
    request = (body, http_charset, limits.max_html_depth, limits.extractor)
    h = _helper()
    if h is None:
        reply = _extract_reply(*request)
    else:
        try:
            try:
                reply = h.call(request, 2 * limits.max_extract_seconds + 1)
            except (BrokenPipeError, OSError):  # died since the last page: one fresh start
                h.close()
                h = _helper()
                reply = h.call(request, 2 * limits.max_extract_seconds + 1) if h else _extract_reply(*request)
        except queue.Empty:
            h.close()
            _local.helper = None
            return ("bad", "extract_timeout", f"HTML extraction still running after {2 * limits.max_extract_seconds + 1:g} s: stopped (limit max_extract_seconds)")
        if reply is None:
            h.close()
            _local.helper = None
            code = h.proc.returncode
            return ("bad", "html_extraction_error", f"the extraction process died (exit status {code})")
    status, a, b, cpu = reply
    if status != "ok":
        return ("bad", a, b)
    if cpu > limits.max_extract_seconds:
        return ("bad", "extract_timeout", f"HTML extraction took {cpu:.1f} s CPU > max_extract_seconds {limits.max_extract_seconds}")
    return ("ok", a, b)



def extract_page(body: bytes, http_charset: str | None, limits: Limits) -> tuple:
    """What a page's HTML goes through wherever it comes from (a WARC response, a saved file):
    ``extract_html``, an unexpected error as ``('bad', 'html_extraction_error', ...)`` (the
    page's fault, quarantined), and the extractor's name first in the page info."""
    try:
        status, a, b = extract_html(body, http_charset, limits)
    except Exception as e:
        return ("bad", "html_extraction_error", f"{type(e).__name__}: {e}"[:500])
    return (status, a, {"extractor": limits.extractor, **b}) if status == "ok" else (status, a, b)
