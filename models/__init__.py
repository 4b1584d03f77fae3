"""Model files shipped with curate (installed as package data ``curate.models``).

Each model has a card beside it (``*.md``): origin, licence, recipe, metrics.
"""
import os
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(name: str) -> str:
    """Absolute path of a shipped model file, e.g. ``path("lid.176.ftz")``."""
    p = HERE / name
    if not p.exists():
        raise FileNotFoundError(f"model {name!r} is not shipped in {HERE}")
    return str(p)


_FASTTEXT: dict = {}  # path -> (the file's stat key and the loader, the model loaded), the last used last
# models kept: a run's langid and quality models (a few domains'); a notebook trying several 126 MB lid.176.bin
# files kept every one for the process's life. A stage keeps its own for its run (only a later setup reads one again)
FASTTEXT_KEEP = 4
# held while a thread asks the cache (and loads): two threads' setups asking for one model loaded it twice (the
# entry is popped while used), and the eviction's iter() met another thread's change. A child forked while another
# thread held it would wait for ever: it gets a new one
_FASTTEXT_LOCK = threading.Lock()
os.register_at_fork(after_in_child=lambda: globals().update(_FASTTEXT_LOCK=threading.Lock()))


def fasttext_model(path: str):
    """The fastText model in ``path``, loaded once per process while the file is the same: a
    run's stages, its DoFns' setups (langid's ran for every bundle) and the next run in the same
    process share one copy. The file's stat is trusted as the commit's hashes trust it
    (``commit.stat_key``: inode, size, mtime and ctime; ``commit.settled``: a file read within
    its file system's time tick of a change is read again next time, for a rewrite in the same
    tick leaves the same stat). Keyed by the loader too (``fasttext.load_model`` replaced, as
    tests do, is not answered from the cache). The FASTTEXT_KEEP models last used are kept."""
    import fasttext

    from curate import commit

    with _FASTTEXT_LOCK:
        now = commit._now_ns()  # before the read: what it read is of this time or later
        st = os.stat(path)
        key = (commit.stat_key(st), fasttext.load_model)
        hit = _FASTTEXT.pop(path, None)
        model = hit[1] if hit is not None and hit[0] == key else fasttext.load_model(path)
        if commit.settled(st, now):
            _FASTTEXT[path] = (key, model)  # last in the dict's order: the least recently used first
            while len(_FASTTEXT) > FASTTEXT_KEEP:
                _FASTTEXT.pop(next(iter(_FASTTEXT)), None)
        return model
