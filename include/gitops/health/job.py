"""Job health: Complete is Healthy, Failed is Degraded, suspended is Suspended."""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, condition, degraded, healthy, progressing, suspended


def job_health(obj: dict) -> HealthStatus:
    failed = condition(obj, "Failed")
    if failed and failed.get("status") == "True":
        return degraded(failed.get("message") or f"job failed: {failed.get('reason', '')}".strip())
    complete = condition(obj, "Complete")
    if complete and complete.get("status") == "True":
        return healthy(complete.get("message") or "job completed")
    if (obj.get("spec") or {}).get("suspend"):
        return suspended("job is suspended")
    status = obj.get("status") or {}
    return progressing(f"job running: {status.get('active') or 0} active, {status.get('succeeded') or 0} succeeded")
