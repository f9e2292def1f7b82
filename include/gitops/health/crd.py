"""CustomResourceDefinition health: names accepted and the API established."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, condition, degraded, healthy, progressing


def crd_health(obj: dict) -> HealthStatus:
    names = condition(obj, "NamesAccepted")
    if names and names.get("status") == "False":
        return degraded(f"names not accepted: {names.get('message', '')}")
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return progressing("CRD is being deleted")
    nonstructural = condition(obj, "NonStructuralSchema")
    if nonstructural and nonstructural.get("status") == "True":
        return degraded(f"non-structural schema: {nonstructural.get('message', '')}")
    established = condition(obj, "Established")
    if established and established.get("status") == "True":
        return healthy("CRD is established")
    return progressing("waiting for the CRD to be established")
