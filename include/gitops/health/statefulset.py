"""StatefulSet health: all replicas ready on the update revision."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, generation_observed, healthy, progressing


def statefulset_health(obj: dict) -> HealthStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not generation_observed(obj):
        return progressing("Waiting for statefulset spec update to be observed")
    want = spec.get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    if ready < want:
        return progressing(f"Waiting for {want - ready} pods to be ready")
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":
        return healthy("statefulset has OnDelete update strategy: rollout is left to the user")
    partition = ((strategy.get("rollingUpdate") or {}).get("partition")) or 0
    if partition:
        updated = status.get("updatedReplicas") or 0
        if updated < want - partition:
            return progressing(f"Waiting for partitioned roll out to finish: {updated} out of {want - partition} new pods")
        return healthy(f"partitioned roll out complete: {updated} new pods")
    if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
        return progressing("Waiting for statefulset rolling update to complete")
    return healthy(f"{ready} of {want} pods ready")
