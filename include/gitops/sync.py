"""The sync engine: the steps of one sync, each usable on its own (the DAG runs them as tasks).

    prepare -> check (validate) -> compute_diff -> build plan -> apply waves -> prune -> health

Every function takes a :class:`~include.gitops.client.Cluster` (or None for plan-only) and
plain data, and returns plain data.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from include.gitops import validate as validation
from include.gitops.apply import ApplyResult, apply_plan, with_ownership
from include.gitops.client import Cluster, ClusterError
from include.gitops.diff import AppDiff, diff_app
from include.gitops.health import HealthCode, HealthStatus, health_of, worst
from include.gitops.ignore import IgnoreRule
from include.gitops.plan import Step, SyncPlan, build_plan
from include.gitops.prune import PruneResult, candidates, prune
from include.gitops.types import LABEL_APP, ResourceKey, SyncStatus

# Kinds always searched for Extraneous objects, besides the kinds in Git and in the history.
PRUNE_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"),
    ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "Ingress"), ("v1", "Namespace"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
)


def selector(app: str) -> str:
    return f"{LABEL_APP}={app}"


def prepare(objects: list[dict[str, Any]], *, app: str, namespace: str, kinds: dict[tuple[str, str], bool]) -> list[dict[str, Any]]:
    """Fill in the default namespace and add our ownership label to every object."""
    known = {**validation.BUILTIN_KINDS, **kinds, **validation.crd_kinds(objects)}
    validation.apply_default_namespace(objects, namespace, known)
    return [with_ownership(o, app) if isinstance(o, dict) else o for o in objects]


def dry_run_error(cluster: Cluster, obj: dict[str, Any]) -> str | None:
    """The server's error for a dry-run apply of ``obj``, or None when it would be accepted."""
    try:
        cluster.apply(obj, force=True, dry_run=True)
        return None
    except ClusterError as exc:
        return str(exc).split(": ", 1)[-1]


def check(objects: list[Any], cluster: Cluster | None) -> None:
    """Validate ``objects``; with a cluster: its discovery, its namespaces, and a dry-run each."""
    if cluster is None:
        validation.check(objects)
        return
    validation.check(
        objects,
        kinds=cluster.kinds(refresh=True),
        namespaces=cluster.namespaces(),
        dry_run=lambda obj: dry_run_error(cluster, obj),
    )


@dataclass
class DiffResult:
    diff: AppDiff
    live: dict[ResourceKey, dict[str, Any]]
    owned: list[dict[str, Any]]


def compute_diff(
    cluster: Cluster,
    app: str,
    desired: list[dict[str, Any]],
    *,
    ignore: list[IgnoreRule] | None = None,
    extra_kinds: Iterable[tuple[str, str]] = (),
    server_side: bool = True,
) -> DiffResult:
    """Diff ``desired`` against the cluster: one LIST per kind, then a local diff.

    ``server_side``: every object that differs locally, and (for a sync) every existing object,
    is dry-run applied so that server defaults never show as drift and removed fields do.
    With ``server_side=False`` only the objects the local diff finds OutOfSync are confirmed
    by a dry-run (the fast drift check).
    """
    kinds = {(o["apiVersion"], o["kind"]) for o in desired} | set(PRUNE_KINDS) | set(extra_kinds)
    # One LIST per kind by our label finds what we own (for Extraneous) and, in the steady
    # state, every desired object too; only kinds with objects not found that way (new, or not
    # labelled yet) are listed again without the label.
    owned = cluster.owned(selector(app), sorted(kinds))
    owned_by_key = {ResourceKey.of(o): o for o in owned}
    keys = [ResourceKey.of(o) for o in desired]
    live = {k: owned_by_key[k] for k in keys if k in owned_by_key}
    unseen = [o for o, k in zip(desired, keys, strict=True) if k not in live]
    if unseen:
        live.update(cluster.live_for(unseen))
    local = diff_app(app, desired, live, owned=owned, ignore=ignore)
    suspects = {r.key for r in local.resources if r.status == SyncStatus.OUT_OF_SYNC}
    todo = [(obj, key) for obj, key in zip(desired, keys, strict=True) if key in live and (server_side or key in suspects)]

    def dry_run(item: tuple[dict[str, Any], ResourceKey]) -> tuple[ResourceKey, dict[str, Any] | None]:
        try:
            return item[1], cluster.apply(item[0], force=True, dry_run=True)
        except ClusterError:
            return item[1], None  # keep the local diff for this one; the apply step reports the error

    # the dry-runs are independent reads: a few at a time
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(todo)))) as pool:
        predicted = {key: obj for key, obj in pool.map(dry_run, todo) if obj is not None}
    if not predicted:
        return DiffResult(local, live, owned)
    # re-diff only the objects that have a dry-run result; keep the local result of the rest
    confirmed = diff_app(app, [o for o, k in zip(desired, keys, strict=True) if k in predicted], live,
                         predicted=predicted, ignore=ignore)
    by_key = {r.key: r for r in confirmed.resources}
    local.resources = [by_key.get(r.key, r) for r in local.resources]
    local.resources.sort(key=lambda r: (r.status == SyncStatus.SYNCED, str(r.key)))
    return DiffResult(local, live, owned)


@dataclass
class SyncResult:
    app: str
    plan: SyncPlan
    applied: list[ApplyResult] = field(default_factory=list)
    pruned: list[PruneResult] = field(default_factory=list)
    diff: AppDiff | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "plan": self.plan.as_dict(),
            "applied": [r.as_dict() for r in self.applied],
            "pruned": [r.as_dict() for r in self.pruned],
            "diff": self.diff.as_dict() if self.diff else None,
        }


def plan_sync(diff: DiffResult, desired: list[dict[str, Any]], app: str, *, prune_enabled: bool) -> tuple[SyncPlan, list[dict]]:
    """The plan (not-Synced objects by wave, prune list when enabled) and the protected objects."""
    synced = {r.key for r in diff.diff.resources if r.status == SyncStatus.SYNCED}
    to_prune, protected = candidates(app, diff.owned, {ResourceKey.of(o) for o in desired})
    return build_plan(desired, skip=synced, prune=to_prune if prune_enabled else []), protected


def sync(
    cluster: Cluster,
    app: str,
    desired: list[dict[str, Any]],
    *,
    prune_enabled: bool = False,
    force: bool = False,
    ignore: list[IgnoreRule] | None = None,
    extra_kinds: Iterable[tuple[str, str]] = (),
    after_step: Callable[[Step, list[ApplyResult]], None] | None = None,
) -> SyncResult:
    """Diff, then apply what is not Synced wave by wave, then prune (when enabled)."""
    diff = compute_diff(cluster, app, desired, ignore=ignore, extra_kinds=extra_kinds)
    plan, protected = plan_sync(diff, desired, app, prune_enabled=prune_enabled)
    result = SyncResult(app, plan, diff=diff.diff)
    result.applied = apply_plan(cluster, plan, force=force, existing=set(diff.live), after_step=after_step)
    if prune_enabled:
        result.pruned = prune(cluster, plan.prune, protected)
    return result


def resource_health(cluster: Cluster, keys: Iterable[ResourceKey]) -> dict[ResourceKey, HealthStatus]:
    """Health of each resource (kinds without a health check count as Healthy when they exist)."""
    out: dict[ResourceKey, HealthStatus] = {}
    for key in keys:
        try:
            live = cluster.get(key)
        except ClusterError as exc:
            out[key] = HealthStatus(HealthCode.UNKNOWN, str(exc))
            continue
        status = health_of(live)
        out[key] = status if status is not None else HealthStatus(HealthCode.HEALTHY, "exists")
    return out


def app_health(statuses: dict[ResourceKey, HealthStatus]) -> HealthCode:
    return worst(statuses.values())


def wait_healthy(
    cluster: Cluster, keys: Iterable[ResourceKey], *, timeout: float, poll: float = 1.0
) -> tuple[HealthCode, dict[ResourceKey, HealthStatus]]:
    """Poll until ``keys`` are all Healthy (or Suspended), one is Degraded, or ``timeout``.

    Used between sync waves: a later wave (a smoke-test Job) starts once the earlier one is up.
    Returns the last app health and the per-resource statuses; never raises on a timeout.
    """
    import time

    keys = list(keys)
    deadline = time.monotonic() + timeout
    while True:
        statuses = resource_health(cluster, keys)
        code = app_health(statuses)
        if code in (HealthCode.HEALTHY, HealthCode.SUSPENDED, HealthCode.DEGRADED) or time.monotonic() >= deadline:
            return code, statuses
        time.sleep(min(poll, max(deadline - time.monotonic(), 0.05)))
