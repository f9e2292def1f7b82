"""Deployment health: the rollout of the latest generation is complete and available."""

from __future__ import annotations

from include.gitops.health.status import (
    HealthStatus,
    condition,
    degraded,
    generation_observed,
    healthy,
    progressing,
    suspended,
)


def deployment_health(obj: dict) -> HealthStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused"):
        return suspended("Deployment is paused")
    if not generation_observed(obj):
        return progressing("Waiting for rollout to finish: observed deployment generation less than desired generation")
    cond = condition(obj, "Progressing")
    if cond and cond.get("reason") == "ProgressDeadlineExceeded":
        return degraded(f"Deployment {obj['metadata'].get('name')!r} exceeded its progress deadline")
    want = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < want:
        return progressing(f"Waiting for rollout to finish: {updated} out of {want} new replicas have been updated")
    if total > updated:
        return progressing(f"Waiting for rollout to finish: {total - updated} old replicas are pending termination")
    if available < updated:
        return progressing(f"Waiting for rollout to finish: {available} of {updated} updated replicas are available")
    return healthy(f"{available} of {want} replicas available")
