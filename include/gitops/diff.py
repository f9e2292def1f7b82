"""Diff desired (from Git) against live (from the cluster): Synced / OutOfSync / Missing / Extraneous.

Two ways to compare, both after normalization and ignore rules:

* **server-side** (preferred when connected): ``predicted`` is the desired object after a
  server-side dry-run apply with our field manager (the server adds its defaults and merges
  other managers' fields exactly as a real apply would). ``predicted`` and ``live`` are then
  compared in full: a difference is exactly what a sync would change.
* **local** (plan-only, and the fast first pass of a drift check): the fields written in Git,
  and the live fields that only our field manager owns (``metadata.managedFields``: a sync
  would remove them), compared the way the server merges (:mod:`include.gitops.compare`, with
  the tables of :mod:`include.gitops.schema`: list items by merge key, quantities by value,
  empty values as absent, defaults). Fields the server fills in (defaults, clusterIP, status)
  or other managers own never show as drift. It gives the dry-run's verdict without the
  dry-run (tests/include/gitops/test_drift_fidelity.py holds it to that on a real API server).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from include.gitops.compare import compare
from include.gitops.ignore import IgnoreRule, apply_ignore
from include.gitops.managed_fields import Node, Owners, child
from include.gitops.normalize import Normalizer, normalize
from include.gitops.types import FIELD_MANAGER, LABEL_APP, ResourceDiff, ResourceKey, SyncStatus, labels_of

_MASK = "++++++++"


def project(live: Any, shape: Any, ours: Node | None = None) -> Any:
    """``live`` restricted to the fields present in ``shape`` or owned by us (what a subset diff looks at)."""
    if isinstance(live, dict) and isinstance(shape, dict):
        return {k: project(v, shape.get(k), child(ours, f"f:{k}")) for k, v in live.items()
                if k in shape or child(ours, f"f:{k}") is not None}
    if isinstance(live, list) and isinstance(shape, list) and len(live) == len(shape):
        return [project(l, s) for l, s in zip(live, shape, strict=True)]
    return live


def _mask_secret(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """Secret values never reach a report: each becomes ++++++++ plus a short hash to show change."""
    if not obj or obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for section in ("data", "stringData"):
        if isinstance(out.get(section), dict):
            out[section] = {
                k: f"{_MASK} sha256:{hashlib.sha256(str(v).encode()).hexdigest()[:8]}" for k, v in out[section].items()
            }
    return out


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: ~10x faster


def _dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False)


def unified_diff(key: ResourceKey, live: dict[str, Any] | None, desired: dict[str, Any] | None) -> str:
    """A ``diff -u`` of the live and desired YAML (Secret values masked)."""
    before = _dump(_mask_secret(live)).splitlines() if live is not None else []
    after = _dump(_mask_secret(desired)).splitlines() if desired is not None else []
    return "\n".join(
        difflib.unified_diff(before, after, fromfile=f"live/{key}", tofile=f"git/{key}", lineterm="", n=3)
    )


def diff_resource(
    desired: dict[str, Any],
    live: dict[str, Any] | None,
    *,
    predicted: dict[str, Any] | None = None,
    normalizers: Iterable[Normalizer] = (),
    ignore: list[IgnoreRule] | None = None,
    manager: str = FIELD_MANAGER,
) -> ResourceDiff:
    """The diff of one resource. ``predicted`` (desired after a server-side dry-run) switches
    from the local comparison to the full server-side one. The local one reads the live
    object's managedFields: what ``manager`` (our field manager) owns and Git no longer sets is
    drift."""
    from include.gitops.apply_policy import left_alone

    key = ResourceKey.of(desired)
    alone = left_alone(desired, exists=live is not None)
    if alone:  # apply policy Ignore, or IfNotPresent and it exists: never drift
        return ResourceDiff(key, SyncStatus.SYNCED, message=alone)
    if live is None:
        return ResourceDiff(key, SyncStatus.MISSING, [], unified_diff(key, None, normalize(desired, normalizers)),
                            "in Git, not in the cluster")
    normalizers = list(normalizers)
    left = normalize(predicted if predicted is not None else desired, normalizers)
    right = normalize(live, normalizers)
    left, right = apply_ignore(left, right, ignore or [], live_with_managed=live)
    subset = predicted is None
    owners = Owners.of(live, manager)
    paths = compare(left, right, subset=subset, group=key.group, kind=key.kind, owners=owners)
    if not paths:
        return ResourceDiff(key, SyncStatus.SYNCED)
    shown_live = project(right, left, owners.ours) if subset else right
    return ResourceDiff(
        key,
        SyncStatus.OUT_OF_SYNC,
        paths,
        unified_diff(key, shown_live, left),
        f"{len(paths)} field(s) differ: {', '.join(paths[:5])}{' ...' if len(paths) > 5 else ''}",
    )


@dataclass
class AppDiff:
    """The diff of a whole app: one ResourceDiff per resource in Git or owned in the cluster."""

    app: str
    resources: list[ResourceDiff] = field(default_factory=list)

    @property
    def status(self) -> SyncStatus:
        return SyncStatus.SYNCED if all(r.status == SyncStatus.SYNCED for r in self.resources) else SyncStatus.OUT_OF_SYNC

    def by_status(self, status: SyncStatus) -> list[ResourceDiff]:
        return [r for r in self.resources if r.status == status]

    def counts(self) -> dict[str, int]:
        return {s.value: len(self.by_status(s)) for s in SyncStatus}

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "status": self.status.value,
            "counts": self.counts(),
            "resources": [r.as_dict() for r in self.resources],
        }

    def summary(self) -> str:
        """A short readable summary (what the task log and summary.md show)."""
        counts = self.counts()
        lines = [f"App {self.app!r} is {self.status.value}: " + ", ".join(f"{v} {k}" for k, v in counts.items())]
        for r in self.resources:
            if r.status != SyncStatus.SYNCED:
                detail = f" ({', '.join(r.paths)})" if r.paths else ""
                lines.append(f"  {r.status.value:<10} {r.key.display}{detail}")
        return "\n".join(lines)


def diff_app(
    app: str,
    desired: list[dict[str, Any]],
    live: dict[ResourceKey, dict[str, Any]],
    *,
    owned: Iterable[dict[str, Any]] = (),
    predicted: dict[ResourceKey, dict[str, Any]] | None = None,
    normalizers: Iterable[Normalizer] = (),
    ignore: list[IgnoreRule] | None = None,
    manager: str = FIELD_MANAGER,
) -> AppDiff:
    """Diff every desired object against ``live`` (keyed by ResourceKey).

    ``owned`` are live objects carrying our label ``app.delivery.io/name=<app>``: those not in
    Git are Extraneous (prune candidates). ``predicted`` maps keys to server-side dry-run results.
    """
    normalizers = list(normalizers)
    result = AppDiff(app)
    desired_keys = set()
    for obj in desired:
        key = ResourceKey.of(obj)
        desired_keys.add(key)
        result.resources.append(
            diff_resource(
                obj, live.get(key), predicted=(predicted or {}).get(key), normalizers=normalizers, ignore=ignore,
                manager=manager,
            )
        )
    for obj in owned:
        key = ResourceKey.of(obj)
        if key in desired_keys or labels_of(obj).get(LABEL_APP) != app:
            continue
        result.resources.append(
            ResourceDiff(key, SyncStatus.EXTRANEOUS, [], unified_diff(key, normalize(obj), None),
                         f"carries {LABEL_APP}={app} but is no longer in Git")
        )
    result.resources.sort(key=lambda r: (r.status == SyncStatus.SYNCED, str(r.key)))
    return result
