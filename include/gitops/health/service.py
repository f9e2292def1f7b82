"""Service health: a LoadBalancer needs an ingress address, every other type is Healthy."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, healthy, progressing


def service_health(obj: dict) -> HealthStatus:
    if (obj.get("spec") or {}).get("type") == "LoadBalancer":
        ingress = (((obj.get("status") or {}).get("loadBalancer")) or {}).get("ingress") or []
        if not ingress:
            return progressing("waiting for the load balancer to get an address")
        return healthy("load balancer has an address")
    return healthy()
