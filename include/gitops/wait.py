"""Waiting for health: of a sync wave (between waves) and of the whole app (after the sync).

The rules of the app's health wait live here once, for the deferrable trigger and the
in-worker wait alike: Healthy ends it, Degraded ends it, and the deadline ends it as a timeout.
An event is ``{"status", "message", "health", "resources"}`` with status ``healthy``,
``degraded``, ``timeout``, ``not-waited`` (a timeout of 0) or ``plan-only``.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from include.gitops.client import Cluster, ClusterError
from include.gitops.health import HealthCode, HealthStatus, health_of, worst
from include.gitops.types import ResourceKey

TIMEOUT_FIX = (". Fix: see why the rollout does not finish (kubectl describe), raise health_timeout, "
               "or set progressing_ok=true to accept a rollout still in progress")


def resource_health(cluster: Cluster, keys: Iterable[ResourceKey]) -> dict[ResourceKey, HealthStatus]:
    """Health of each resource (kinds without a health check count as Healthy when they exist)."""
    out: dict[ResourceKey, HealthStatus] = {}
    for key in keys:
        try:
            live = cluster.get(key)
        except ClusterError as exc:
            out[key] = HealthStatus(HealthCode.UNKNOWN, str(exc))
            continue
        status = health_of(live)
        out[key] = status if status is not None else HealthStatus(HealthCode.HEALTHY, "exists")
    return out


def app_health(statuses: dict[ResourceKey, HealthStatus]) -> HealthCode:
    return worst(statuses.values())


def wait_healthy(
    cluster: Cluster, keys: Iterable[ResourceKey], *, timeout: float, poll: float = 1.0
) -> tuple[HealthCode, dict[ResourceKey, HealthStatus]]:
    """Poll until ``keys`` are all Healthy (or Suspended), one is Degraded, or ``timeout``.

    Used between sync waves: a later wave (a smoke-test Job) starts once the earlier one is up.
    Returns the last app health and the per-resource statuses; never raises on a timeout.
    """
    keys = list(keys)
    deadline = time.monotonic() + timeout
    while True:
        statuses = resource_health(cluster, keys)
        code = app_health(statuses)
        if code in (HealthCode.HEALTHY, HealthCode.SUSPENDED, HealthCode.DEGRADED) or time.monotonic() >= deadline:
            return code, statuses
        time.sleep(min(poll, max(deadline - time.monotonic(), 0.05)))


def first_check(app: str, checked: dict[str, Any], *, timeout: float) -> dict[str, Any] | None:
    """The event when the first check already ends the wait (Healthy, Degraded, or a timeout of
    0: "do not wait"), else None: wait."""
    health = checked["health"]
    if health not in ("Healthy", "Degraded") and timeout > 0:
        return None
    status = {"Healthy": "healthy", "Degraded": "degraded"}.get(health, "not-waited")
    message = f"app {app!r} is {health}"
    if status == "not-waited":
        message += " (health_timeout is 0: not waiting for Healthy)"
    return {"status": status, "message": message, **checked}


def outcome(app: str, last: dict[str, Any], *, timeout: float, remaining: float, error: str = "") -> dict[str, Any] | None:
    """The event that ends the wait after a check, or None: check again.

    ``error``: the last check failed (the API server may be restarting), so only the deadline
    can end the wait; ``last`` is then the last check that worked.
    """
    health = last["health"]
    if not error and health == "Healthy":
        return {"status": "healthy", "message": f"app {app!r} is Healthy", **last}
    if not error and health == "Degraded":
        bad = {k: v for k, v in last["resources"].items() if v["status"] == "Degraded"}
        detail = "; ".join(f"{k}: {v['message']}" for k, v in bad.items())
        return {"status": "degraded", "message": f"app {app!r} is Degraded: {detail}", **last}
    if remaining > 0:
        return None
    waiting = {k: v for k, v in last["resources"].items() if v["status"] != "Healthy"}
    detail = "; ".join(f"{k}: {v['status']} ({v['message']})" for k, v in waiting.items()) or error
    return {"status": "timeout", "message": f"app {app!r} is still {health} after {timeout:.0f}s: {detail}", **last}


def failure(event: dict[str, Any], *, fail_on_timeout: bool) -> str:
    """Why the finished wait fails the sync ("" when it does not): Degraded always; a timeout
    unless ``fail_on_timeout`` is off (``progressing_ok``)."""
    if event["status"] == "degraded":
        return event["message"]
    if event["status"] == "timeout" and fail_on_timeout:
        return event["message"] + TIMEOUT_FIX
    return ""
