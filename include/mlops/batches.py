"""Which batch a run reads: the param, else the newest triggering Asset event's ``data_path``, else a default.

Each event is read through its Asset's contract (:mod:`include.common.events`: ``TrainingData``,
``RetrainRequested``, ``ProductionBatch``), so an event without the keys its contract requires
fails with the fix instead of being skipped quietly.
"""

from __future__ import annotations

from typing import Any, Mapping

from include.common.events import CONTRACTS
from include.mlops.data import snapshot


def event_data_path(events: Mapping[str, list[dict[str, Any]]]) -> str:
    """The ``data_path`` of the newest triggering event that names one ('' when none does).

    ``events`` maps an Asset name to the extras of its events, oldest first.
    """
    path = ""
    for asset, extras in events.items():
        for extra in extras:
            path = CONTRACTS[asset].from_extra(extra).data_path or path
    return path


def training_batch(data_path: str | None, events: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The snapshot of the batch to train on: ``data_path``, else the events', else the demo training set."""
    from include.mlops.demo import default_training_path

    return snapshot(data_path or event_data_path(events) or default_training_path())


def production_batch(batch_path: str | None, events: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The snapshot of the batch to check: ``batch_path``, else the events', else the newest file in the inbox.

    None when there is no batch at all (nothing to check).
    """
    from include.mlops.demo import newest_batch

    path = batch_path or event_data_path(events) or newest_batch()
    return snapshot(path) if path else None
