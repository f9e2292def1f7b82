"""Prune: delete what we applied before and Git no longer has.

Only objects carrying our ownership label for this app are ever candidates. An object with
the annotation ``delivery.io/prune: "false"`` (or Argo CD's ``argocd.argoproj.io/sync-options:
Prune=false``) is never deleted. A dry-run returns the list without deleting.
"""

from __future__ import annotations

from typing import Any, Iterable

from include.gitops.client import Cluster, ClusterError
from include.gitops.plan import sort_key
from include.gitops.results import Action, ResourceResult
from include.gitops.types import ANNOTATION_PRUNE, LABEL_APP, ResourceKey, annotations_of, labels_of


def is_protected(obj: dict[str, Any]) -> bool:
    """Never pruned: ``delivery.io/prune: "false"``, Argo CD's ``Prune=false``, or apply policy Ignore."""
    from include.gitops.apply_policy import ANNOTATION_APPLY_POLICY, FLUX_SSA

    annotations = annotations_of(obj)
    if str(annotations.get(ANNOTATION_APPLY_POLICY) or annotations.get(FLUX_SSA) or "").lower() == "ignore":
        return True
    if str(annotations.get(ANNOTATION_PRUNE, "")).lower() == "false":
        return True
    options = str(annotations.get("argocd.argoproj.io/sync-options", ""))
    return "Prune=false" in [o.strip() for o in options.split(",")]


def candidates(app: str, owned: Iterable[dict[str, Any]], desired_keys: set[ResourceKey]) -> tuple[list[dict], list[dict]]:
    """(to prune, protected) among live objects labelled for ``app`` that are not in Git."""
    prune, protected = [], []
    for obj in owned:
        if labels_of(obj).get(LABEL_APP) != app or ResourceKey.of(obj) in desired_keys:
            continue
        (protected if is_protected(obj) else prune).append(obj)
    order = lambda o: sort_key(o)  # noqa: E731
    return sorted(prune, key=order, reverse=True), sorted(protected, key=order)


def prune(cluster: Cluster | None, to_prune: list[dict], protected: list[dict], *,
          dry_run: bool = False) -> list[ResourceResult]:
    """Delete ``to_prune`` (reverse plan order); list the protected ones. ``dry_run`` deletes nothing."""
    results = [ResourceResult(ResourceKey.of(o), Action.PROTECTED, f"annotation {ANNOTATION_PRUNE}=false")
               for o in protected]
    for obj in to_prune:
        key = ResourceKey.of(obj)
        if dry_run or cluster is None:
            results.append(ResourceResult(key, Action.WOULD_PRUNE, "dry-run: not deleted"))
            continue
        try:
            gone = not cluster.delete(obj)
            results.append(ResourceResult(key, Action.GONE if gone else Action.PRUNED))
        except ClusterError as exc:
            results.append(ResourceResult(key, Action.FAILED, str(exc), exc.status))
    return results


def describe(results: list[ResourceResult], *, enabled: bool) -> list[str]:
    """The task-log lines of a prune: one per object, and what ``prune=false`` left behind."""
    lines = [f"{r.action:<12} {r.key.display} {r.message}" for r in results]
    left = [r for r in results if r.action is Action.WOULD_PRUNE]
    if not enabled and left:
        lines.append(f"prune=false: {len(left)} Extraneous resource(s) stay in the cluster; sync with prune=true to delete them")
    return lines


def failure_message(results: list[ResourceResult]) -> str:
    """Why the prune fails the sync ("" when every delete worked): the objects still there, and the fix."""
    failed = [r for r in results if r.failed]
    if not failed:
        return ""
    return (f"prune could not delete {len(failed)} resource(s): "
            + "; ".join(f"{r.key.display}: {r.message}" for r in failed)
            + ". They are still in the cluster. Fix the cause (permissions, finalizers), then sync again with prune=true")
