"""Validate rendered manifests before anything touches the cluster.

Checks, all of them, and every problem is reported at once (not just the first):

* required fields: ``apiVersion``, ``kind``, ``metadata.name`` (a valid object name);
* duplicate resource ids (same group, kind, namespace and name twice);
* unknown kinds and wrong apiVersions, against the cluster's discovery when connected, else a
  built-in table of core kinds; kinds of CRDs that are in the same set count as known;
* a namespaced object's namespace must exist in the cluster or be created by the same set;
* schema: a server-side dry-run (``dryRun=All``) of every object whose kind and namespace
  already exist. Objects of a CRD or in a namespace that the same sync creates are checked by
  the server when their wave is applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from include.common.errors import InputError
from include.gitops.types import ResourceKey, api_group

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")

# (apiVersion, kind) -> namespaced, for plan-only mode (no discovery available).
BUILTIN_KINDS: dict[tuple[str, str], bool] = {
    ("v1", "Namespace"): False,
    ("v1", "ConfigMap"): True,
    ("v1", "Secret"): True,
    ("v1", "Service"): True,
    ("v1", "ServiceAccount"): True,
    ("v1", "Pod"): True,
    ("v1", "PersistentVolumeClaim"): True,
    ("v1", "PersistentVolume"): False,
    ("v1", "LimitRange"): True,
    ("v1", "ResourceQuota"): True,
    ("v1", "Endpoints"): True,
    ("apps/v1", "Deployment"): True,
    ("apps/v1", "StatefulSet"): True,
    ("apps/v1", "DaemonSet"): True,
    ("apps/v1", "ReplicaSet"): True,
    ("batch/v1", "Job"): True,
    ("batch/v1", "CronJob"): True,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): True,
    ("autoscaling/v1", "HorizontalPodAutoscaler"): True,
    ("policy/v1", "PodDisruptionBudget"): True,
    ("networking.k8s.io/v1", "Ingress"): True,
    ("networking.k8s.io/v1", "IngressClass"): False,
    ("networking.k8s.io/v1", "NetworkPolicy"): True,
    ("rbac.authorization.k8s.io/v1", "Role"): True,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): True,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): False,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): False,
    ("storage.k8s.io/v1", "StorageClass"): False,
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): False,
    ("scheduling.k8s.io/v1", "PriorityClass"): False,
}


@dataclass(frozen=True)
class Problem:
    resource: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.problem} (fix: {self.fix})"


class ValidationError(InputError):
    """One or more manifests are invalid; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            "manifests",
            f"{len(problems)} problem(s), nothing was applied:\n" + "\n".join(f"  - {p}" for p in problems),
            "fix the manifests in Git (see each line above) and sync again",
        )


def _display(obj: Any, index: int) -> str:
    if not isinstance(obj, dict):
        return f"document {index + 1}"
    key = ResourceKey.of(obj)
    return key.display if key.kind and key.name else f"document {index + 1} ({obj.get('kind') or 'no kind'})"


def crd_kinds(objects: list[dict[str, Any]]) -> dict[tuple[str, str], bool]:
    """(apiVersion, kind) -> namespaced for every served version of the CRDs in ``objects``."""
    out: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if isinstance(obj, dict) and obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            for version in spec.get("versions") or []:
                if kind and version.get("served", True):
                    out[(f"{spec.get('group')}/{version.get('name')}", kind)] = spec.get("scope") == "Namespaced"
    return out


def apply_default_namespace(objects: list[dict[str, Any]], namespace: str, kinds: dict[tuple[str, str], bool]) -> None:
    """Give namespaced objects without a namespace ``namespace`` (as ``kubectl apply -n`` does)."""
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        namespaced = kinds.get((obj.get("apiVersion"), obj.get("kind")))
        meta = obj.setdefault("metadata", {}) if isinstance(obj.get("metadata", {}), dict) else None
        if meta is not None and namespaced and not meta.get("namespace") and namespace:
            meta["namespace"] = namespace


def _annotation_problems(obj: dict[str, Any]) -> list[tuple[str, str]]:
    """(problem, fix) of the sync annotations (wave, apply policy) that do not parse."""
    from include.gitops.apply_policy import apply_policy
    from include.gitops.plan import sync_wave

    found = []
    for read in (sync_wave, apply_policy):
        try:
            read(obj)
        except InputError as exc:
            found.append((f"{exc.what}: {exc.problem}", exc.fix))
    return found


def validate(
    objects: list[Any],
    *,
    kinds: dict[tuple[str, str], bool] | None = None,
    namespaces: set[str] | None = None,
    dry_run: Callable[[dict[str, Any]], str | None] | None = None,
) -> list[Problem]:
    """Every problem in ``objects``; empty when they may be applied.

    ``kinds`` is the cluster's discovery ((apiVersion, kind) -> namespaced), default the built-in
    table; ``namespaces`` the namespaces that exist (None: unknown, plan-only); ``dry_run`` a
    callback that returns the server's error for one object or None.
    """
    known = dict(kinds if kinds is not None else BUILTIN_KINDS)
    new_kinds = {k: v for k, v in crd_kinds(objects).items() if k not in known}
    known.update(new_kinds)
    by_kind: dict[str, set[str]] = {}
    for api_version, kind in known:
        by_kind.setdefault(kind, set()).add(api_version)
    in_set_namespaces = {
        (o.get("metadata") or {}).get("name") for o in objects if isinstance(o, dict) and o.get("kind") == "Namespace"
    }
    problems: list[Problem] = []
    seen: dict[ResourceKey, int] = {}
    checkable: list[dict[str, Any]] = []
    for index, obj in enumerate(objects):
        where = _display(obj, index)
        if not isinstance(obj, dict):
            problems.append(Problem(where, "is not a mapping", "each document must be a Kubernetes object"))
            continue
        api_version, kind, meta = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
        missing = [f for f, v in (("apiVersion", api_version), ("kind", kind)) if not isinstance(v, str) or not v]
        if not isinstance(meta, dict) or not meta.get("name"):
            missing.append("metadata.name")
        if missing:
            problems.append(Problem(where, f"required field(s) missing: {', '.join(missing)}", "add them to the manifest"))
            continue
        name = str(meta["name"])
        if len(name) > 253 or not _NAME_RE.match(name):
            problems.append(Problem(where, f"name {name!r} is not a valid object name",
                                    "use lower-case letters, digits, '-' and '.', starting and ending alphanumeric"))
        if (api_version, kind) not in known:
            if kind in by_kind:
                served = ", ".join(sorted(by_kind[kind]))
                problems.append(Problem(where, f"apiVersion {api_version!r} does not serve kind {kind!r} (served as {served})",
                                        f"set apiVersion: {sorted(by_kind[kind])[-1]}"))
            else:
                problems.append(Problem(where, f"unknown kind {kind!r} in apiVersion {api_version!r}",
                                        "check the spelling, or add the CustomResourceDefinition that defines it"))
            continue
        namespaced = known[(api_version, kind)]
        namespace = meta.get("namespace") or ""
        if namespaced and not namespace:
            problems.append(Problem(where, "is namespaced but has no metadata.namespace", "set metadata.namespace or the sync's namespace"))
            continue
        if not namespaced and namespace:
            meta.pop("namespace", None)  # the API server ignores it; keep ids consistent
        for problem in _annotation_problems(obj):
            problems.append(Problem(where, *problem))
        key = ResourceKey.of(obj)
        if key in seen:
            problems.append(Problem(where, f"duplicate resource id: documents {seen[key] + 1} and {index + 1} are both {key.display}",
                                    "remove one of them or give them different names"))
            continue
        seen[key] = index
        if namespaced and namespace not in in_set_namespaces and namespaces is not None and namespace not in namespaces:
            problems.append(Problem(where, f"namespace {namespace!r} does not exist in the cluster and is not in the manifests",
                                    f"add a Namespace {namespace!r} manifest or create it first"))
            continue
        if (api_version, kind) not in new_kinds and (not namespaced or (namespaces is not None and namespace in namespaces)):
            checkable.append(obj)
    if dry_run is not None and not problems:
        for obj in checkable:
            error = dry_run(obj)
            if error:
                problems.append(Problem(ResourceKey.of(obj).display, f"rejected by the API server (dry-run): {error}",
                                        "fix the field the server names"))
    return problems


def check(objects: list[Any], **kwargs: Any) -> None:
    """Raise ValidationError listing every problem, or return when all objects are valid."""
    problems = validate(objects, **kwargs)
    if problems:
        raise ValidationError(problems)


__all__ = ["BUILTIN_KINDS", "Problem", "ValidationError", "apply_default_namespace", "check", "crd_kinds", "validate", "api_group"]
