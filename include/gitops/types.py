"""Shared vocabulary of the GitOps family: resource ids, sync statuses, labels and annotations.

The words are Argo CD's (Synced / OutOfSync / Missing / Extraneous, prune, sync wave), the
label and annotation names are ours, so that this project never fights a real Argo CD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# Ownership: every object we apply carries this label with the app name. Prune and
# "Extraneous" only ever look at objects that carry it.
LABEL_APP = "app.delivery.io/name"
# Sync waves: lower waves are applied (and must be healthy) first. Integer as a string.
ANNOTATION_SYNC_WAVE = "delivery.io/sync-wave"
# Per-resource prune protection: "false" means never delete this object.
ANNOTATION_PRUNE = "delivery.io/prune"
# The field manager of our server-side applies.
FIELD_MANAGER = "airflow-delivery"


class SyncStatus(str, Enum):
    """The sync status of one resource (and, as the worst of them, of an app)."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    MISSING = "Missing"  # in Git, not in the cluster
    EXTRANEOUS = "Extraneous"  # in the cluster with our label, no longer in Git


@dataclass(frozen=True, order=True)
class ResourceKey:
    """The identity of one object: API group, kind, namespace ('' when cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ResourceKey:
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        meta = obj.get("metadata") or {}
        return cls(group, str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))

    @classmethod
    def parse(cls, text: str) -> ResourceKey:
        """Inverse of ``str()``: ``group/kind/namespace/name``."""
        group, kind, namespace, name = text.split("/", 3)
        return cls(group, kind, namespace, name)

    def __str__(self) -> str:
        return f"{self.group}/{self.kind}/{self.namespace}/{self.name}"

    @property
    def display(self) -> str:
        """Readable form for logs: ``Deployment demo/web`` or ``Namespace demo``."""
        gk = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{gk} {self.namespace}/{self.name}" if self.namespace else f"{gk} {self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"group": self.group, "kind": self.kind, "namespace": self.namespace, "name": self.name}


def api_group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@dataclass
class ResourceDiff:
    """The diff of one resource: status, the JSON pointers that differ, and a unified diff."""

    key: ResourceKey
    status: SyncStatus
    paths: list[str] = field(default_factory=list)
    diff: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "resource": str(self.key),
            "display": self.key.display,
            **self.key.as_dict(),
            "status": self.status.value,
            "paths": list(self.paths),
            "diff": self.diff,
            "message": self.message,
        }


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return ((obj.get("metadata") or {}).get("labels")) or {}


def annotations_of(obj: dict[str, Any]) -> dict[str, str]:
    return ((obj.get("metadata") or {}).get("annotations")) or {}
