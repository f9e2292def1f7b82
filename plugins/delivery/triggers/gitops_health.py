"""Deferrable wait for the health of a synced app: polls until Healthy, Degraded or the deadline.

What ends the wait is ``include.gitops.wait.outcome``: the same rules as the in-worker wait of
``GitOpsHealthOperator(deferrable=False)``. The deadline counts from ``started_at``, which is
serialized, so a trigger restarted by the triggerer keeps its original deadline. The trigger only reads, so two copies running at once
(which the triggerer may do during a hand-over) are harmless.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent

from include.gitops.wait import outcome  # light (no kubernetes): imported here, not in the event loop


class GitOpsHealthTrigger(BaseTrigger):
    """Poll the health of ``resources`` until all are Healthy, one is Degraded, or ``timeout``.

    :param app: the app name (for messages).
    :param resources: resource ids ``group/kind/namespace/name``.
    :param kubernetes_conn_id: Airflow connection of the cluster; the client is built through
        :class:`~delivery.hooks.kubernetes.GitOpsKubernetesHook` at each check, as the cncf
        provider's triggers do, so no credentials travel in the trigger's kwargs.
    :param kubeconfig: explicit kubeconfig path (wins over the connection), or None.
    :param context: kubeconfig context (None: the connection's, else the current context).
    :param timeout: seconds from ``started_at`` until the trigger gives up.
    :param poll_interval: seconds between checks.
    :param started_at: ISO timestamp the deadline counts from (default: now).
    """

    def __init__(
        self,
        *,
        app: str,
        resources: list[str],
        kubernetes_conn_id: str = "kubernetes_default",
        kubeconfig: str | None = None,
        context: str | None = None,
        timeout: float = 300,
        poll_interval: float = 5,
        started_at: str | None = None,
    ) -> None:
        super().__init__()
        self.app = app
        self.resources = list(resources)
        self.kubernetes_conn_id = kubernetes_conn_id
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
                "kubernetes_conn_id": self.kubernetes_conn_id,
                "kubeconfig": self.kubeconfig,
                "context": self.context,
                "timeout": self.timeout,
                "poll_interval": self.poll_interval,
                "started_at": self.started_at,
            },
        )

    def check(self) -> dict[str, Any]:
        """One synchronous health check (run in a thread): {"status", "resources": {...}}."""
        from delivery.hooks.kubernetes import GitOpsKubernetesHook
        from include.gitops.client import Cluster
        from include.gitops.types import ResourceKey
        from include.gitops.wait import app_health, resource_health

        # a new hook each check: a cluster that was down a moment ago is probed again
        api_client = GitOpsKubernetesHook(self.kubernetes_conn_id, kubeconfig=self.kubeconfig, context=self.context).get_conn()
        if api_client is None:
            raise RuntimeError(f"no cluster is configured for the connection {self.kubernetes_conn_id!r} any more")
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
        while True:
            error = ""
            try:
                last = await asyncio.to_thread(self.check)
            except Exception as exc:  # noqa: BLE001 - the API server may be restarting: keep polling
                error = f"{type(exc).__name__}: {exc}"
            event = outcome(self.app, last, timeout=self.timeout, remaining=self.remaining(), error=error)
            if event is not None:
                yield TriggerEvent(event)
                return
            await asyncio.sleep(min(self.poll_interval, max(self.remaining(), 0.1)))
