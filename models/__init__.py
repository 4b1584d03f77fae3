"""Model files shipped with curate (installed as package data ``curate.models``).

Each model has a card beside it (``*.md``): origin, licence, recipe, metrics.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(name: str) -> str:
    """Absolute path of a shipped model file, e.g. ``path("lid.176.ftz")``."""
    p = HERE / name
    if not p.exists():
        raise FileNotFoundError(f"model {name!r} is not shipped in {HERE}")
    return str(p)


_FASTTEXT: dict = {}  # path -> (the file's stamp and the loader, the model loaded)


def fasttext_model(path: str):
    """The fastText model in ``path``, loaded once per process while the file is the same
    (size, mtime_ns, inode, device): a run's stages, its DoFns' setups (langid's ran for every
    bundle) and the next run in the same process share one copy; a file replaced or rewritten
    at that path is read again. Keyed by the loader too (``fasttext.load_model`` replaced, as
    tests do, is not answered from the cache)."""
    import os

    import fasttext

    st = os.stat(path)
    stamp = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, fasttext.load_model)
    hit = _FASTTEXT.get(path)
    if hit is None or hit[0] != stamp:
        hit = _FASTTEXT[path] = (stamp, fasttext.load_model(path))
    return hit[1]
