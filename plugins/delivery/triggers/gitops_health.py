"""Deferrable wait for the health of a synced app: polls until Healthy, Degraded or the deadline.

The deadline counts from ``started_at``, which is serialized, so a trigger restarted by the
triggerer keeps its original deadline. The trigger only reads, so two copies running at once
(which the triggerer may do during a hand-over) are harmless.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent


class GitOpsHealthTrigger(BaseTrigger):
    """Poll the health of ``resources`` until all are Healthy, one is Degraded, or ``timeout``.

    :param app: the app name (for messages).
    :param resources: resource ids ``group/kind/namespace/name``.
    :param kubeconfig: path of the kubeconfig to use.
    :param context: kubeconfig context (None: its current context).
    :param timeout: seconds from ``started_at`` until the trigger gives up.
    :param poll_interval: seconds between checks.
    :param started_at: ISO timestamp the deadline counts from (default: now).
    """

    def __init__(
        self,
        *,
        app: str,
        resources: list[str],
        kubeconfig: str,
        context: str | None = None,
        timeout: float = 300,
        poll_interval: float = 5,
        started_at: str | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.resources = list(resources)
        self.kubeconfig = kubeconfig
        self.context = context
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)
        self.started_at = started_at or datetime.now(timezone.utc).isoformat()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "app": self.app,
                "resources": self.resources,
                "kubeconfig": self.kubeconfig,
                "context": self.context,
                "timeout": self.timeout,
                "poll_interval": self.poll_interval,
                "started_at": self.started_at,
            },
        )

    def check(self) -> dict[str, Any]:
        """One synchronous health check (run in a thread): {"status", "resources": {...}}."""
        from kubernetes import config

        from include.gitops.client import Cluster
        from include.gitops.sync import app_health, resource_health
        from include.gitops.types import ResourceKey

        api_client = config.new_client_from_config(config_file=self.kubeconfig, context=self.context)
        try:
            statuses = resource_health(Cluster(api_client), [ResourceKey.parse(r) for r in self.resources])
        finally:
            api_client.close()
        return {
            "health": app_health(statuses).value,
            "resources": {str(k): s.as_dict() for k, s in statuses.items()},
        }

    def remaining(self) -> float:
        start = datetime.fromisoformat(self.started_at)
        return self.timeout - (datetime.now(timezone.utc) - start).total_seconds()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        last: dict[str, Any] = {"health": "Unknown", "resources": {}}
        error = ""
        while True:
            try:
                last = await asyncio.to_thread(self.check)
                error = ""
            except Exception as exc:  # noqa: BLE001 - the API server may be restarting: keep polling
                error = f"{type(exc).__name__}: {exc}"
            health = last["health"]
            if not error and health == "Healthy":
                yield TriggerEvent({"status": "healthy", "message": f"app {self.app!r} is Healthy", **last})
                return
            if not error and health == "Degraded":
                bad = {k: v for k, v in last["resources"].items() if v["status"] == "Degraded"}
                detail = "; ".join(f"{k}: {v['message']}" for k, v in bad.items())
                yield TriggerEvent({"status": "degraded", "message": f"app {self.app!r} is Degraded: {detail}", **last})
                return
            left = self.remaining()
            if left <= 0:
                waiting = {k: v for k, v in last["resources"].items() if v["status"] != "Healthy"}
                detail = "; ".join(f"{k}: {v['status']} ({v['message']})" for k, v in waiting.items()) or error
                yield TriggerEvent({
                    "status": "timeout",
                    "message": f"app {self.app!r} is still {health} after {self.timeout:.0f}s: {detail}",
                    **last,
                })
                return
            await asyncio.sleep(min(self.poll_interval, max(left, 0.1)))

