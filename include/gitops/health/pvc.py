"""PersistentVolumeClaim health: Bound is Healthy, Pending is Progressing, Lost is Degraded."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, degraded, healthy, progressing


def pvc_health(obj: dict) -> HealthStatus:
    phase = (obj.get("status") or {}).get("phase") or "Pending"
    if phase == "Bound":
        return healthy("claim is bound")
    if phase == "Lost":
        return degraded("claim lost its volume")
    return progressing(f"claim is {phase}")
