"""langid's per-language thresholds (the shipped table or a file of the user's), read without the
stages' compiled kernels: `curate audit` reads them for a label's trust, and importing langid or
the filters would import numba (~0.3 s)."""
from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
THRESHOLDS_FILE = "lid_thresholds.json"
THRESHOLD = 0.65  # for listed languages the thresholds file lacks (FineWeb's English threshold)


def read_file_text(path: Path) -> str:
    """A JSON file's text; OSError where ``path`` is no regular file (a FIFO waits for a writer,
    /dev/zero reads until memory runs out: named as a file, one line, not a hang)."""
    if path.exists() and not path.is_file():
        raise OSError("not a regular file (a FIFO, a device or a folder): name a JSON file")
    return path.read_text(encoding="utf-8")


def load_thresholds(spec: str) -> dict[str, float]:
    """Per-language thresholds: ``"default"`` (the shipped file), a JSON file of
    ``{"thresholds": {code: threshold}}`` (or a plain ``{code: threshold}``), or ``""``."""
    if not isinstance(spec, str):
        raise ValueError(f'langid.thresholds: expected "default", a JSON file path or "", got {spec!r}')
    if not spec:
        return {}
    path = DATA / THRESHOLDS_FILE if spec == "default" else Path(spec)
    try:
        data = json.loads(read_file_text(path))
    except (OSError, ValueError) as e:
        from curate.config import relative_from

        where = relative_from(spec) if isinstance(e, FileNotFoundError) and spec != "default" else ""
        raise ValueError(f"langid.thresholds: cannot read {path}: {e}{where}") from None
    table = data.get("thresholds", data) if isinstance(data, dict) else None
    if not isinstance(table, dict) or not all(
        isinstance(v, (int, float)) and 0 <= v <= 1 for v in table.values()
    ):
        raise ValueError(f"langid.thresholds: {path} is not a {{code: threshold in [0, 1]}} table")
    return {str(k): float(v) for k, v in table.items()}


def trust_thresholds(spec) -> tuple[dict | None, float]:
    """``filter.trusted_language_score``: the per-language LID thresholds a label must reach
    (langid's table and default, so "trusted" means what langid would keep had the language
    been listed)."""
    if spec == "":
        return None, 0.0
    try:
        return load_thresholds(spec), THRESHOLD
    except ValueError as e:
        raise ValueError(str(e).replace("langid.thresholds", "filter.trusted_language_score")) from None
