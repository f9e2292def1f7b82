"""HorizontalPodAutoscaler health, as Argo CD's: from its conditions.

No conditions yet: Progressing (the controller has not looked at it). ``AbleToScale`` or
``ScalingActive`` False (it cannot read its metrics or its target): Degraded, except
``ScalingDisabled`` (the target is scaled to 0 on purpose). Otherwise Healthy.
"""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, condition, degraded, healthy, progressing


def hpa_health(obj: dict) -> HealthStatus:
    if not (obj.get("status") or {}).get("conditions"):
        return progressing("waiting for the autoscaler to observe its target")
    for ctype in ("AbleToScale", "ScalingActive"):
        cond = condition(obj, ctype) or {}
        if cond.get("status") == "False" and cond.get("reason") != "ScalingDisabled":
            return degraded(f"{ctype} is False ({cond.get('reason', '')}): {cond.get('message', '')}".strip())
    status = obj.get("status") or {}
    return healthy(f"{status.get('currentReplicas', '?')} replica(s), desired {status.get('desiredReplicas', '?')}")
