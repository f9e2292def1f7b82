"""DaemonSet health: the update is scheduled and available on every node it targets."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, generation_observed, healthy, progressing


def daemonset_health(obj: dict) -> HealthStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not generation_observed(obj):
        return progressing("Waiting for daemon set spec update to be observed")
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return healthy("daemon set has OnDelete update strategy: rollout is left to the user")
    desired = status.get("desiredNumberScheduled") or 0
    updated = status.get("updatedNumberScheduled") or 0
    available = status.get("numberAvailable") or 0
    if updated < desired:
        return progressing(f"Waiting for daemon set rollout: {updated} out of {desired} new pods have been updated")
    if available < desired:
        return progressing(f"Waiting for daemon set rollout: {available} of {desired} updated pods are available")
    return healthy(f"{available} of {desired} pods available")
