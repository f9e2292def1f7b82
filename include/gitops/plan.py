"""The sync plan: which objects go in which step, in which order.

Order (as Argo CD's sync waves): Namespaces and CRDs first (everything else may depend on
them), then by the ``delivery.io/sync-wave`` annotation (an integer, default 0), and inside a
wave by kind (ConfigMaps and Secrets before the Deployments that mount them), then name.
Prune comes last, in reverse order. Objects already Synced are left out, so a second sync of
an unchanged revision applies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.common.errors import InputError
from include.gitops.types import ANNOTATION_SYNC_WAVE, ResourceKey, annotations_of

# Kind order inside one wave (gitops-engine's kind ordering, shortened).
KIND_ORDER = [
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy", "PodDisruptionBudget",
    "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass", "PersistentVolume",
    "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob",
    "IngressClass", "Ingress", "APIService",
]
FIRST_KINDS = {("", "Namespace"), ("apiextensions.k8s.io", "CustomResourceDefinition")}


def sync_wave(obj: dict[str, Any]) -> int:
    """The object's sync wave (annotation ``delivery.io/sync-wave``, default 0)."""
    raw = annotations_of(obj).get(ANNOTATION_SYNC_WAVE, "0")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise InputError(
            f"{ResourceKey.of(obj).display} annotation {ANNOTATION_SYNC_WAVE}",
            f"{raw!r} is not an integer",
            "use a whole number such as \"-1\", \"0\" or \"5\"",
        ) from None


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def sort_key(obj: dict[str, Any]) -> tuple:
    key = ResourceKey.of(obj)
    first = (key.group, key.kind) in FIRST_KINDS
    return (0 if first else 1, sync_wave(obj), _kind_rank(key.kind), key.kind, key.namespace, key.name)


@dataclass
class Step:
    """One wave: applied together before the next one starts (new CRDs are waited for until
    Established; other health is checked once, after the last wave)."""

    name: str
    wave: int
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def keys(self) -> list[ResourceKey]:
        return [ResourceKey.of(o) for o in self.objects]


@dataclass
class SyncPlan:
    steps: list[Step] = field(default_factory=list)
    prune: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[ResourceKey] = field(default_factory=list)

    def describe(self) -> str:
        lines = []
        for step in self.steps:
            lines.append(f"{step.name}: " + ", ".join(k.display for k in step.keys))
        if self.prune:
            lines.append("prune: " + ", ".join(ResourceKey.of(o).display for o in self.prune))
        if self.unchanged:
            lines.append(f"unchanged: {len(self.unchanged)} resource(s)")
        return "\n".join(lines) or "nothing to do"

    def as_dict(self) -> dict[str, Any]:
        return {
            "steps": [{"name": s.name, "wave": s.wave, "resources": [str(k) for k in s.keys]} for s in self.steps],
            "prune": [str(ResourceKey.of(o)) for o in self.prune],
            "unchanged": [str(k) for k in self.unchanged],
        }


def build_plan(
    desired: list[dict[str, Any]],
    *,
    skip: set[ResourceKey] | None = None,
    prune: list[dict[str, Any]] | None = None,
) -> SyncPlan:
    """Group ``desired`` (minus the keys in ``skip``, e.g. already Synced) into ordered steps."""
    skip = skip or set()
    plan = SyncPlan(unchanged=sorted(k for k in (ResourceKey.of(o) for o in desired) if k in skip))
    todo = sorted((o for o in desired if ResourceKey.of(o) not in skip), key=sort_key)
    for obj in todo:
        tier, wave = sort_key(obj)[:2]
        name = "namespaces and CRDs" if tier == 0 else f"wave {wave}"
        if not plan.steps or plan.steps[-1].name != name:
            plan.steps.append(Step(name=name, wave=wave if tier else -(10**9)))
        plan.steps[-1].objects.append(obj)
    plan.prune = sorted(prune or [], key=sort_key, reverse=True)
    return plan
