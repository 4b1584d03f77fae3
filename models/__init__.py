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
