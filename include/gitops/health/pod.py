"""Pod health: phase, then container states (image pull and crash loops are Degraded)."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, degraded, healthy, progressing

_BAD_WAITING = {"CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "InvalidImageName"}


def pod_health(obj: dict) -> HealthStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _BAD_WAITING:
            return degraded(f"container {cs.get('name')!r}: {waiting.get('reason')}: {waiting.get('message', '')}".strip())
    phase = status.get("phase") or "Pending"
    if phase == "Succeeded":
        return healthy(status.get("message") or "pod completed")
    if phase == "Failed":
        return degraded(status.get("message") or "pod failed")
    if phase == "Running":
        if spec.get("restartPolicy", "Always") != "Always":
            return progressing("pod is running")
        statuses = status.get("containerStatuses") or []
        if statuses and all(cs.get("ready") for cs in statuses):
            return healthy("all containers ready")
        return progressing("waiting for containers to be ready")
    return progressing(status.get("message") or f"pod phase is {phase}")
