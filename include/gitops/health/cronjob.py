"""CronJob health, as Argo CD's: suspended is Suspended; a last run that did not succeed is Degraded.

Never scheduled yet: Healthy (nothing has gone wrong). A run active now: Progressing. The last
scheduled run finished without a success after it (``lastSuccessfulTime`` older than
``lastScheduleTime``): Degraded.
"""

from __future__ import annotations

from include.gitops.health.status import HealthStatus, degraded, healthy, progressing, suspended


def cronjob_health(obj: dict) -> HealthStatus:
    if (obj.get("spec") or {}).get("suspend"):
        return suspended("cronjob is suspended")
    status = obj.get("status") or {}
    scheduled, succeeded = status.get("lastScheduleTime"), status.get("lastSuccessfulTime")
    if not scheduled:
        return healthy("cronjob has not been scheduled yet")
    if status.get("active"):
        return progressing(f"{len(status['active'])} job(s) running, scheduled at {scheduled}")
    # RFC 3339 timestamps in UTC ("...Z") compare in time order as strings
    if not succeeded or succeeded < scheduled:
        return degraded(f"the run scheduled at {scheduled} did not succeed (last success: {succeeded or 'never'})")
    return healthy(f"last run succeeded at {succeeded}")
