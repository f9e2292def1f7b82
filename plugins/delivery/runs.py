"""What a task needs to know about its own DAG run: its report folder, its ids, its Asset events.

One place for these, so operators and TaskFlow tasks of every family read the context the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def report_folder(context: Any) -> Path:
    """This run's report folder: ``<state>/reports/<dag_id>/<run_id>/``."""
    from include.common.paths import report_dir

    return report_dir(context["ti"].dag_id, context["run_id"])


def run_ids(context: Any) -> dict[str, str]:
    """``{"dag_id", "dag_run_id"}`` of this run: the trace ids every event and report carries."""
    return {"dag_id": context["ti"].dag_id, "dag_run_id": context["run_id"]}


def asset_events(context: Any) -> dict[str, list[dict[str, Any]]]:
    """The extras of the Asset events that triggered this run, by Asset name, oldest first.

    Empty for a run that no Asset triggered (manual, REST, ``dag.test()``).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    events = context.get("triggering_asset_events") or {}
    try:
        for asset in events:
            name = getattr(asset, "name", None) or str(asset)
            out[name] = [dict(getattr(e, "extra", None) or {}) for e in events[asset]]
    except (TypeError, KeyError):  # an accessor with nothing behind it
        return {}
    return out
