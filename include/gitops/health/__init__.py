"""Health: one module per kind, one status enum, one dispatch on (group, kind).

``health_of(obj)`` returns a :class:`HealthStatus`, or None for kinds that have no health
(ConfigMap, Secret... they are healthy by existing). Custom resources get their health from
rules written as data (:mod:`include.gitops.health.custom`, ``$DELIVERY_HEALTH_RULES``). A check that raises becomes Unknown with
the error as its message, so one odd object never breaks the whole report.
"""

from __future__ import annotations

from typing import Callable

from include.gitops.health.crd import crd_health
from include.gitops.health.cronjob import cronjob_health
from include.gitops.health.custom import custom_health
from include.gitops.health.daemonset import daemonset_health
from include.gitops.health.deployment import deployment_health
from include.gitops.health.hpa import hpa_health
from include.gitops.health.ingress import ingress_health
from include.gitops.health.job import job_health
from include.gitops.health.pod import pod_health
from include.gitops.health.pvc import pvc_health
from include.gitops.health.service import service_health
from include.gitops.health.statefulset import statefulset_health
from include.gitops.health.status import HealthCode, HealthStatus, worst

Check = Callable[[dict], HealthStatus]

CHECKS: dict[tuple[str, str], Check] = {
    ("apps", "Deployment"): deployment_health,
    ("apps", "StatefulSet"): statefulset_health,
    ("apps", "DaemonSet"): daemonset_health,
    ("batch", "Job"): job_health,
    ("batch", "CronJob"): cronjob_health,
    ("networking.k8s.io", "Ingress"): ingress_health,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa_health,
    ("", "Pod"): pod_health,
    ("", "Service"): service_health,
    ("", "PersistentVolumeClaim"): pvc_health,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd_health,
}


def check_for(group: str, kind: str) -> Check | None:
    """The health check for (group, kind), or None when the kind has no health."""
    return CHECKS.get((group, kind))


def health_of(obj: dict | None, *, group: str | None = None, kind: str | None = None) -> HealthStatus | None:
    """Health of a live object; Missing when ``obj`` is None (pass group/kind then)."""
    if obj is None:
        return HealthStatus(HealthCode.MISSING, "resource does not exist in the cluster")
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    kind = str(obj.get("kind") or "")
    check = check_for(group, kind)
    try:
        return check(obj) if check is not None else custom_health(group, kind, obj)
    except Exception as exc:  # noqa: BLE001 - a broken check must not break the report
        return HealthStatus(HealthCode.UNKNOWN, f"health check failed: {type(exc).__name__}: {exc}")


__all__ = ["CHECKS", "HealthCode", "HealthStatus", "check_for", "health_of", "worst"]
