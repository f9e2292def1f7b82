"""Apply a sync plan with server-side apply, wave by wave, as our field manager.

A field that another manager owns makes the server refuse with a conflict: that is reported
(which fields, which manager) and the sync stops, unless ``force`` is set, which takes the
fields over (``kubectl apply --server-side --force-conflicts``). A failing step stops the sync:
later waves are never applied on top of a broken one.

Each :class:`~include.gitops.results.ResourceResult` carries an action and the HTTP status of
the API server's refusal, so a caller decides on those, not on the text of a message: a step
refused with 4xx only (invalid, forbidden, a conflict) is :attr:`ApplyFailed.refused`, and
retrying it cannot help.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable

from include.gitops.client import ApplyConflict, Cluster, ClusterError, NotServed
from include.gitops.ignore import IgnoreRule, respect_ignored
from include.gitops.plan import Step, SyncPlan
from include.gitops.results import Action, ResourceResult
from include.gitops.types import LABEL_APP, ResourceKey


class ApplyFailed(RuntimeError):
    """A step failed; ``results`` holds every result so far (the failed ones name why)."""

    def __init__(self, step: str, results: list[ResourceResult]):
        self.results = results
        self.failed = [r for r in results if r.failed]
        lines = "\n".join(f"  - {r.key.display}: {r.message}" for r in self.failed)
        super().__init__(f"sync stopped in {step}: {len(self.failed)} resource(s) failed:\n{lines}")

    @property
    def refused(self) -> bool:
        """The API server refused every failed object with a 4xx (a conflict is a 409): final."""
        return bool(self.failed) and all(r.refused for r in self.failed)


def with_ownership(obj: dict[str, Any], app: str) -> dict[str, Any]:
    """A copy of ``obj`` carrying our ownership label ``app.delivery.io/name=<app>``."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), LABEL_APP: app}
    return out


def _conflict_message(exc: ApplyConflict) -> str:
    fields = [f"{c.get('field', '?')} ({c.get('message', '')})" for c in exc.causes]
    return (
        "field ownership conflict: " + ("; ".join(fields) if fields else str(exc))
        + ". Another field manager changed these fields; sync with force=true to take them over"
    )


def _replaced(cluster: Cluster, obj: dict[str, Any], exc: ClusterError) -> bool:
    """Apply policy Replace and an immutable-field refusal: delete ``obj``, wait until it is gone,
    apply it again. False (nothing done) for any other object or error."""
    from include.gitops.apply_policy import ApplyPolicy, apply_policy, immutable_refusal

    if apply_policy(obj) is not ApplyPolicy.REPLACE or not immutable_refusal(exc.status, exc.causes, str(exc)):
        return False
    cluster.delete(obj)
    key = ResourceKey.of(obj)
    deadline = time.monotonic() + 60
    while cluster.get(key) is not None:  # finalizers may hold it a moment
        if time.monotonic() > deadline:
            raise ClusterError(f"{key.display} was deleted to be replaced but is still there after 60 s", status=504)
        time.sleep(0.5)
    cluster.apply(obj, force=True)
    return True


def apply_step(cluster: Cluster, step: Step, *, force: bool = False, existing: set[ResourceKey] | None = None,
               respect_ignore: list[IgnoreRule] | None = None) -> list[ResourceResult]:
    """Apply every object of one step (all are tried, so one report names every failure).

    ``respect_ignore``: ignoreDifferences rules honoured at apply too (Argo CD's
    ``RespectIgnoreDifferences``): the fields they ignore keep their live values.
    """
    results: list[ResourceResult] = []
    for obj in step.objects:
        key = ResourceKey.of(obj)
        if respect_ignore and any(rule.matches(key) for rule in respect_ignore):
            obj = respect_ignored(obj, cluster.get(key), respect_ignore)
        try:
            cluster.apply(obj, force=force)
        except ApplyConflict as exc:
            results.append(ResourceResult(key, Action.CONFLICT, _conflict_message(exc), exc.status))
            continue
        except NotServed as exc:  # not (yet) in discovery: a retry, with discovery refreshed, may work
            results.append(ResourceResult(key, Action.FAILED, str(exc)))
            continue
        except ClusterError as exc:
            if not _replaced(cluster, obj, exc):
                results.append(ResourceResult(key, Action.FAILED, str(exc), exc.status))
                continue
            results.append(ResourceResult(key, Action.REPLACED, "an immutable field changed: deleted and created again"))
            continue
        created = existing is not None and key not in existing
        results.append(ResourceResult(key, Action.CREATED if created else Action.CONFIGURED))
    crds = [ResourceKey.of(o).name for o in step.objects if o.get("kind") == "CustomResourceDefinition"]
    if crds and not any(r.failed for r in results):
        cluster.wait_established(crds)  # the next wave may create objects of these kinds
    return results


def apply_plan(
    cluster: Cluster,
    plan: SyncPlan,
    *,
    force: bool = False,
    existing: set[ResourceKey] | None = None,
    respect_ignore: list[IgnoreRule] | None = None,
    after_step: Callable[[Step, list[ResourceResult]], None] | None = None,
) -> list[ResourceResult]:
    """Apply ``plan`` step by step; raise ApplyFailed at the first step with a failure."""
    results: list[ResourceResult] = []
    for step in plan.steps:
        step_results = apply_step(cluster, step, force=force, existing=existing, respect_ignore=respect_ignore)
        results.extend(step_results)
        if any(r.failed for r in step_results):
            raise ApplyFailed(step.name, results)
        if after_step is not None:
            after_step(step, step_results)
    return results
