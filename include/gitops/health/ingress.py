"""Ingress health, as Argo CD's: Healthy once the controller published an address, else Progressing."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, healthy, progressing


def ingress_health(obj: dict) -> HealthStatus:
    ingress = (((obj.get("status") or {}).get("loadBalancer")) or {}).get("ingress") or []
    if not ingress:
        return progressing("waiting for the ingress controller to publish an address")
    addresses = ", ".join(str(i.get("ip") or i.get("hostname") or "?") for i in ingress)
    return healthy(f"ingress has an address: {addresses}")
