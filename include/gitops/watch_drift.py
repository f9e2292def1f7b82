"""What a cluster watch reports: one app's burst of drift, and its ``cluster_drift`` event."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from include.common.events import ClusterDrift
from include.gitops.ownership import FieldChange
from include.gitops.types import ResourceKey


@dataclass(frozen=True)
class ResourceDrift:
    key: ResourceKey
    change: FieldChange

    def as_dict(self) -> dict[str, Any]:
        return {"resource": str(self.key), "display": self.key.display, "change": self.change.change,
                "fields": list(self.change.fields), "by": list(self.change.by)}


@dataclass(frozen=True)
class Drift:
    """One app's drift, as one burst of changes: the resources and what changed in each."""

    app: str
    resources: tuple[ResourceDrift, ...]


def drift_event(drift: Drift, *, self_heal: bool = False, history_root: Path | None = None) -> ClusterDrift:
    """The ``cluster_drift`` event of ``drift`` (:class:`include.common.events.ClusterDrift`).

    A watch sees the cluster, not Git, so where to sync back from is the app's last recorded
    sync (its repo, path and exact commit); empty when the app has no history here.
    """
    from include.common.errors import InputError
    from include.gitops import history

    try:
        last = (history.entries(drift.app, history_root) or [None])[-1]
    except InputError:  # a label value that is no app name of ours has no history
        last = None
    deleted = sum(1 for r in drift.resources if r.change.change == "deleted")
    counts = {name: n for name, n in (("OutOfSync", len(drift.resources) - deleted), ("Missing", deleted)) if n}
    return ClusterDrift(app=drift.app, status="OutOfSync", repo_url=last.repo_url if last else "",
                        path=last.path if last else "", sha=last.revision if last else "",
                        revision=(last.requested or last.revision) if last else "", self_heal=self_heal,
                        counts=counts, source="watch", resources=[r.as_dict() for r in drift.resources])
