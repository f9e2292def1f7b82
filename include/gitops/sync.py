"""The sync engine: the steps of one sync, each usable on its own (the DAG runs them as tasks).

    prepare -> check (validate) -> compute_diff -> plan_sync -> apply_waves -> prune_app -> health

:func:`sync` runs them in a row (tests, benchmarks); ``gitops_manifest_sync`` runs the same
functions one task each. Every function takes a :class:`~include.gitops.client.Cluster` (or
None for plan-only) and plain data, and returns plain data.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from include.gitops import validate as validation
from include.gitops.apply import apply_plan, with_ownership
from include.gitops.client import Cluster, ClusterError
from include.gitops.diff import AppDiff, diff_app
from include.gitops.health import HealthCode, HealthStatus
from include.gitops.ignore import IgnoreRule
from include.gitops.plan import Step, SyncPlan, build_plan
from include.gitops.prune import candidates, prune
from include.gitops.results import ResourceResult
from include.gitops.types import LABEL_APP, ResourceKey, SyncStatus
from include.gitops.wait import wait_healthy

Say = Callable[[str], None]

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


def owned_kinds(desired: list[dict[str, Any]], extra_kinds: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The (apiVersion, kind) pairs searched for objects we own: Git's, PRUNE_KINDS and ``extra_kinds``."""
    return sorted({(o["apiVersion"], o["kind"]) for o in desired} | set(PRUNE_KINDS) | set(extra_kinds))


def history_kinds(app: str, cluster: Cluster) -> set[tuple[str, str]]:
    """(apiVersion, kind) of everything synced recently, so kinds removed from Git are still
    searched for Extraneous objects."""
    from include.gitops.history import entries

    kinds: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()
    for entry in entries(app)[-5:]:
        for text in entry.resources:
            key = ResourceKey.parse(text)
            if (key.group, key.kind) in seen:
                continue
            seen.add((key.group, key.kind))
            try:
                rtype = cluster.type_for_key(key)
            except ClusterError:
                continue  # e.g. its CRD is gone too
            kinds.add((rtype.api_version, rtype.kind))
    return kinds


def prepare(objects: list[dict[str, Any]], *, app: str, namespace: str, kinds: dict[tuple[str, str], bool]) -> list[dict[str, Any]]:
    """Fill in the default namespace and add our ownership label to every object."""
    known = {**validation.BUILTIN_KINDS, **kinds, **validation.crd_kinds(objects)}
    validation.apply_default_namespace(objects, namespace, known)
    return [with_ownership(o, app) if isinstance(o, dict) else o for o in objects]


def dry_run_error(cluster: Cluster, obj: dict[str, Any]) -> str | None:
    """The server's error for a dry-run apply of ``obj``, or None when it would be accepted (or,
    with apply policy Replace, when only an immutable field stops it: the sync recreates it)."""
    from include.gitops.apply_policy import ApplyPolicy, apply_policy, immutable_refusal

    try:
        cluster.apply(obj, force=True, dry_run=True)
        return None
    except ClusterError as exc:
        if apply_policy(obj) is ApplyPolicy.REPLACE and immutable_refusal(exc.status, exc.causes, str(exc)):
            return None
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
    by a dry-run (the fast drift check): the local diff reads our manager's managedFields and
    the schema rules, so it already gives the dry-run's verdict (test_drift_fidelity.py).
    """
    # One LIST per kind by our label finds what we own (for Extraneous) and, in the steady
    # state, every desired object too; only kinds with objects not found that way (new, or not
    # labelled yet) are listed again without the label.
    # the kinds are listed a few at a time: most are empty, and each LIST is a round trip
    kinds = owned_kinds(desired, extra_kinds)
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(kinds)))) as pool:
        owned = [o for part in pool.map(lambda kind: cluster.owned(selector(app), [kind]), kinds) for o in part]
    owned_by_key = {ResourceKey.of(o): o for o in owned}
    keys = [ResourceKey.of(o) for o in desired]
    live = {k: owned_by_key[k] for k in keys if k in owned_by_key}
    unseen = [o for o, k in zip(desired, keys, strict=True) if k not in live]
    if unseen:
        live.update(cluster.live_for(unseen))
    local = diff_app(app, desired, live, owned=owned, ignore=ignore, manager=cluster.field_manager)
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
                         predicted=predicted, ignore=ignore, manager=cluster.field_manager)
    by_key = {r.key: r for r in confirmed.resources}
    local.resources = [by_key.get(r.key, r) for r in local.resources]
    local.resources.sort(key=lambda r: (r.status == SyncStatus.SYNCED, str(r.key)))
    return DiffResult(local, live, owned)


def left_alone(desired: list[dict[str, Any]], existing: set[ResourceKey]) -> set[ResourceKey]:
    """The keys a sync never applies by their apply policy: Ignore, and IfNotPresent that exist."""
    from include.gitops.apply_policy import left_alone as reason

    return {ResourceKey.of(o) for o in desired if reason(o, exists=ResourceKey.of(o) in existing)}


def plan_sync(diff: DiffResult, desired: list[dict[str, Any]], app: str, *, prune_enabled: bool) -> SyncPlan:
    """The plan: not-Synced objects by wave (minus those their apply policy leaves alone), and
    (when enabled) the prune list."""
    synced = {r.key for r in diff.diff.resources if r.status == SyncStatus.SYNCED}
    to_prune, _ = candidates(app, diff.owned, {ResourceKey.of(o) for o in desired})
    return build_plan(desired, skip=synced | left_alone(desired, set(diff.live)),
                      prune=to_prune if prune_enabled else [])


def plan_inputs(diff: DiffResult) -> dict[str, list[str]]:
    """What the apply step needs from the diff, as plain data for the next task: the resources
    already Synced (left out of the plan) and those that exist (so the rest are "created")."""
    return {"synced": sorted(str(r.key) for r in diff.diff.resources if r.status == SyncStatus.SYNCED),
            "existing": sorted(str(k) for k in diff.live)}


def plan_from_inputs(desired: list[dict[str, Any]], inputs: dict[str, Any]) -> tuple[SyncPlan, set[ResourceKey]]:
    """(the plan, the keys that exist) from :func:`plan_inputs`' data: no second diff. The prune
    step lists the cluster afresh, so the plan carries no prune list."""
    synced = {ResourceKey.parse(k) for k in inputs.get("synced", [])}
    existing = {ResourceKey.parse(k) for k in inputs.get("existing", [])}
    return build_plan(desired, skip=synced | left_alone(desired, existing)), existing


class WaveDegraded(RuntimeError):
    """A wave became Degraded within ``wave_timeout``: later waves are not applied (final)."""

    def __init__(self, step: str, statuses: dict[ResourceKey, HealthStatus]):
        bad = "; ".join(f"{k.display}: {s.message}" for k, s in statuses.items() if s.code == HealthCode.DEGRADED)
        super().__init__(f"{step} is Degraded, later waves are not applied: {bad}")


def _quiet(_: str) -> None:
    return None


def apply_waves(
    cluster: Cluster,
    plan: SyncPlan,
    *,
    force: bool = False,
    existing: set[ResourceKey] | None = None,
    wave_timeout: float = 0,
    say: Say = _quiet,
    respect_ignore: list[IgnoreRule] | None = None,
    after_step: Callable[[Step, list[ResourceResult]], None] | None = None,
) -> list[ResourceResult]:
    """Apply ``plan`` wave by wave; before the next wave, wait up to ``wave_timeout`` s for this one.

    A Degraded wave raises :class:`WaveDegraded`; one still not Healthy at the timeout is said
    and the next wave goes on. ``wave_timeout`` 0: no waits. A failed apply raises
    :class:`~include.gitops.apply.ApplyFailed`. ``say`` gets one line per wave (the task log);
    ``after_step`` runs after each applied wave, before its health gate.
    """
    last = plan.steps[-1].name if plan.steps else ""

    def gate(step: Step, results: list[ResourceResult]) -> None:
        say(f"{step.name}: " + ", ".join(f"{r.key.display} {r.action}" for r in results))
        if after_step is not None:
            after_step(step, results)
        if wave_timeout <= 0 or step.name == last:
            return
        code, statuses = wait_healthy(cluster, [r.key for r in results], timeout=wave_timeout)
        if code == HealthCode.DEGRADED:
            raise WaveDegraded(step.name, statuses)
        if code != HealthCode.HEALTHY:
            waiting = ", ".join(f"{k.display} {s.code.value}" for k, s in statuses.items() if s.code != HealthCode.HEALTHY)
            say(f"{step.name} is still {code.value} after {wave_timeout:.0f}s ({waiting}); applying the next wave anyway")
        else:
            say(f"{step.name} is Healthy")

    return apply_plan(cluster, plan, force=force, existing=existing, respect_ignore=respect_ignore, after_step=gate)


def prune_app(
    cluster: Cluster, app: str, desired: list[dict[str, Any]], *, enabled: bool, extra_kinds: Iterable[tuple[str, str]] = ()
) -> list[ResourceResult]:
    """Delete (``enabled``) or only list the objects we own for ``app`` that left Git; protected
    ones are listed, never deleted. Lists the cluster afresh: the apply may have changed it."""
    owned = cluster.owned(selector(app), owned_kinds(desired, extra_kinds))
    to_prune, protected = candidates(app, owned, {ResourceKey.of(o) for o in desired})
    return prune(cluster, to_prune, protected, dry_run=not enabled)


@dataclass
class SyncResult:
    app: str
    plan: SyncPlan
    applied: list[ResourceResult] = field(default_factory=list)
    pruned: list[ResourceResult] = field(default_factory=list)


def sync(
    cluster: Cluster,
    app: str,
    desired: list[dict[str, Any]],
    *,
    prune_enabled: bool = False,
    force: bool = False,
    ignore: list[IgnoreRule] | None = None,
    extra_kinds: Iterable[tuple[str, str]] = (),
    wave_timeout: float = 0,
    respect_ignore_differences: bool = False,
    after_step: Callable[[Step, list[ResourceResult]], None] | None = None,
) -> SyncResult:
    """Diff, then apply what is not Synced wave by wave, then prune (when enabled): the DAG's
    diff, apply and prune tasks in one call."""
    diff = compute_diff(cluster, app, desired, ignore=ignore, extra_kinds=extra_kinds)
    plan = plan_sync(diff, desired, app, prune_enabled=prune_enabled)
    result = SyncResult(app, plan)
    result.applied = apply_waves(cluster, plan, force=force, existing=set(diff.live), wave_timeout=wave_timeout,
                                 respect_ignore=ignore if respect_ignore_differences else None, after_step=after_step)
    if prune_enabled:
        result.pruned = prune_app(cluster, app, desired, enabled=True, extra_kinds=extra_kinds)
    return result
