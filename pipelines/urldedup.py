"""URL dedup on a runner: dedup's bucket shuffle and id join (pipelines/dedup.py), keyed by
the normalised URL (curate/urldedup.py)."""
from __future__ import annotations

from curate.urldedup import UrlDedup as Lib
from pipelines.dedup import Dedup


class UrlDedup(Dedup):
    def __init__(self, section: dict, cfg=None, root=None):
        super().__init__(section, cfg=cfg, root=root, lib=Lib(section), name="urldedup")
