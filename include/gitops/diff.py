"""Diff desired (from Git) against live (from the cluster): Synced / OutOfSync / Missing / Extraneous.

Two ways to compare, both after normalization and ignore rules:

* **server-side** (preferred when connected): ``predicted`` is the desired object after a
  server-side dry-run apply with our field manager (the server adds its defaults and merges
  other managers' fields exactly as a real apply would). ``predicted`` and ``live`` are then
  compared in full: a difference is exactly what a sync would change.
* **local** (plan-only, and the fast first pass of a drift check): only the fields written in
  Git are compared (``desired`` must be a subset of ``live``, lists item by item), so fields
  the server fills in (defaults, clusterIP, status) never show as drift.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from include.gitops.ignore import IgnoreRule, apply_ignore
from include.gitops.normalize import Normalizer, normalize
from include.gitops.types import LABEL_APP, ResourceDiff, ResourceKey, SyncStatus, labels_of

_MASK = "++++++++"


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def compare(desired: Any, live: Any, *, subset: bool, path: str = "") -> list[str]:
    """JSON pointers where ``desired`` and ``live`` differ.

    With ``subset`` only the fields present in ``desired`` count; lists must have the same
    length and are compared item by item.
    """
    if isinstance(desired, dict) and isinstance(live, dict):
        out: list[str] = []
        keys = desired.keys() if subset else desired.keys() | live.keys()
        for key in sorted(keys, key=str):
            sub = f"{path}/{_escape(key)}"
            if key not in live or key not in desired:
                # a null or empty value written in Git equals an absent field
                if subset and desired.get(key) in (None, {}, []):
                    continue
                present = desired[key] if key in desired else live[key]
                if isinstance(present, dict) and present:
                    # name the leaves, not the parent: "field by field"
                    out.extend(compare(desired.get(key) or {}, live.get(key) or {}, subset=subset, path=sub))
                    continue
                out.append(sub)
            else:
                out.extend(compare(desired[key], live[key], subset=subset, path=sub))
        return out
    if isinstance(desired, list) and isinstance(live, list):
        if len(desired) != len(live):
            return [path or "/"]
        out = []
        for index, (d, l) in enumerate(zip(desired, live, strict=True)):
            out.extend(compare(d, l, subset=subset, path=f"{path}/{index}"))
        return out
    if desired == live:
        return []
    # numbers vs strings of the same value ("80" vs 80) are the same to the API server
    if not isinstance(desired, (dict, list, bool)) and not isinstance(live, (dict, list, bool)) and str(desired) == str(live):
        return []
    return [path or "/"]


def project(live: Any, shape: Any) -> Any:
    """``live`` restricted to the fields present in ``shape`` (what a subset diff looks at)."""
    if isinstance(live, dict) and isinstance(shape, dict):
        return {k: project(live[k], shape[k]) for k in shape if k in live}
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
) -> ResourceDiff:
    """The diff of one resource. ``predicted`` (desired after a server-side dry-run) switches
    from the local subset comparison to the full server-side one."""
    key = ResourceKey.of(desired)
    if live is None:
        return ResourceDiff(key, SyncStatus.MISSING, [], unified_diff(key, None, normalize(desired, normalizers)),
                            "in Git, not in the cluster")
    normalizers = list(normalizers)
    left = normalize(predicted if predicted is not None else desired, normalizers)
    right = normalize(live, normalizers)
    left, right = apply_ignore(left, right, ignore or [], live_with_managed=live)
    subset = predicted is None
    paths = compare(left, right, subset=subset)
    if not paths:
        return ResourceDiff(key, SyncStatus.SYNCED)
    shown_live = project(right, left) if subset else right
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
                obj, live.get(key), predicted=(predicted or {}).get(key), normalizers=normalizers, ignore=ignore
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
