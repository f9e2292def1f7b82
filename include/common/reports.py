"""The one report writer: every file a run leaves for people or machines goes through here.

JSON is pretty, sorted and strict (NaN and infinity become null, so every reader can parse it);
text is written as it is. The folder is usually ``include.common.paths.report_dir(dag_id, run_id)``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any


def write_report(folder: str | Path, name: str, data: Any) -> Path:
    """Write ``data`` to ``<folder>/<name>`` (JSON unless it is a string) and return the path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(json.dumps(finite(data), indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_report(folder: str | Path, name: str) -> Any:
    """The JSON report ``<folder>/<name>``, or None when it was not written."""
    path = Path(folder) / name
    return json.loads(path.read_text()) if path.is_file() else None


def finite(obj: Any) -> Any:
    """``obj`` with NaN and infinities replaced by None (strict JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
