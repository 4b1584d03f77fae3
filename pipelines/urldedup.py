"""URL dedup on a runner: dedup's bucket shuffle and id join (pipelines/dedup.py), keyed by
the normalised URL (curate/stages/urldedup.py)."""
from __future__ import annotations

from curate.stages.urldedup import UrlDedupStage as Lib
from pipelines.common import StageContext
from pipelines.dedup import Dedup


class UrlDedup(Dedup):
    def __init__(self, section: dict, context: StageContext):
        super().__init__(section, context, lib=Lib(section))
