"""An event trigger that turns a hand edit of the cluster into ``cluster_drift`` within seconds.

Used with an ``AssetWatcher`` on the ``cluster_drift`` Asset: it holds a Kubernetes watch on the
objects our apps own (:class:`include.gitops.watch.ClusterWatch`) and yields one event per burst
of drift per app, whose payload is :class:`include.common.events.ClusterDrift` (``source:
"watch"``). The periodic ``gitops_drift_check`` stays the safety net.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)


class ClusterWatchTrigger(BaseEventTrigger):
    """Watch the objects with our app label and yield a ``cluster_drift`` event per app on drift.

    It runs for ever, as an event trigger does. Without a configured cluster it says so loudly
    and looks again with a growing pause; a cluster that does not answer is retried the same
    way, so it never crash-loops. What it has already reported is kept in ``state_file``, so a
    restarted (or duplicate) trigger resumes instead of reporting old edits again.

    :param kubernetes_conn_id: Airflow connection of the cluster; the client is built through
        :class:`~delivery.hooks.kubernetes.GitOpsKubernetesHook`, so no credentials travel in kwargs.
    :param kubeconfig: explicit kubeconfig path (wins over the connection), or None.
    :param context: kubeconfig context, or None.
    :param app: watch one app only; None: every app (every object with our label).
    :param extra_kinds: ``[apiVersion, kind]`` pairs watched besides ``PRUNE_KINDS``.
    :param self_heal: put ``self_heal=true`` in the events, so gitops_manifest_sync repairs the drift.
    :param debounce: seconds from a burst's first change to its event.
    :param state_file: where the watch keeps its state; "" for ``<state>/gitops/watch/<app or _all>.json``.
    :param watch_timeout: seconds one WATCH request lasts before it is resumed.
    :param retry_interval: first pause before trying to reach the cluster again; it doubles.
    :param max_backoff: longest pause between attempts to reach the cluster.
    """

    def __init__(self, *, kubernetes_conn_id: str = "kubernetes_default", kubeconfig: str | None = None,
                 context: str | None = None, app: str | None = None, extra_kinds: list[list[str]] | None = None,
                 self_heal: bool = False, debounce: float = 1.0, state_file: str = "", watch_timeout: int = 290,
                 retry_interval: float = 5.0, max_backoff: float = 300.0) -> None:
        super().__init__()
        self.kubernetes_conn_id = kubernetes_conn_id
        self.kubeconfig = kubeconfig
        self.context = context
        self.app = app
        self.extra_kinds = [list(k) for k in extra_kinds or []]
        self.self_heal = bool(self_heal)
        self.debounce = float(debounce)
        self.state_file = state_file
        self.watch_timeout = int(watch_timeout)
        self.retry_interval = float(retry_interval)
        self.max_backoff = float(max_backoff)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("delivery.triggers.cluster_watch.ClusterWatchTrigger", {
            "kubernetes_conn_id": self.kubernetes_conn_id, "kubeconfig": self.kubeconfig, "context": self.context,
            "app": self.app, "extra_kinds": self.extra_kinds, "self_heal": self.self_heal, "debounce": self.debounce,
            "state_file": self.state_file, "watch_timeout": self.watch_timeout, "retry_interval": self.retry_interval,
            "max_backoff": self.max_backoff})

    @property
    def _source(self) -> str:
        return f"kubeconfig {self.kubeconfig}" if self.kubeconfig else f"connection {self.kubernetes_conn_id!r}"

    def _api_client(self) -> Any:
        from delivery.hooks.kubernetes import GitOpsKubernetesHook

        # a new hook per attempt: a cluster configured or started since the last one is found
        return GitOpsKubernetesHook(self.kubernetes_conn_id, kubeconfig=self.kubeconfig, context=self.context).get_conn()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from include.gitops.client import Cluster
        from include.gitops.sync import PRUNE_KINDS
        from include.gitops.watch import ClusterWatch
        from include.gitops.watch_drift import drift_event
        from include.gitops.watch_state import state_file

        kinds = set(PRUNE_KINDS) | {(k[0], k[1]) for k in self.extra_kinds}
        path = Path(self.state_file) if self.state_file else state_file(self.app)
        backoff = self.retry_interval
        while True:
            try:
                api_client = await asyncio.to_thread(self._api_client)
            except Exception as exc:  # noqa: BLE001 - an unreachable cluster is retried, never a crash loop
                # the hook's error already names the cluster, the cause and the fix
                log.error("cluster watch (%s): %s; retrying in %.0f s", self._source, exc, backoff)
                api_client = None
            else:
                if api_client is None:
                    log.error("=" * 78 + "\ncluster watch: no cluster is configured for %s, so no drift can be "
                              "seen. Set the connection (kube_config_path / kube_config) or KUBECONFIG; looking "
                              "again in %.0f s\n" + "=" * 78, self._source, backoff)
            if api_client is None:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            watch = ClusterWatch(Cluster(api_client), kinds, state_path=path, app=self.app, debounce=self.debounce,
                                 watch_timeout=self.watch_timeout)
            log.info("cluster watch: watching %d kinds for %s (state %s)", len(kinds),
                     f"app {self.app!r}" if self.app else "every app", path)
            try:
                async for drift in watch.drifts():
                    event = drift_event(drift, self_heal=self.self_heal)
                    log.info("cluster_drift for app %r: %s", drift.app, "; ".join(
                        f"{r['display']} {r['change']} {', '.join(r['fields'])}".strip() for r in event.resources))
                    yield TriggerEvent(event.to_extra())
                    backoff = self.retry_interval
            except Exception as exc:  # noqa: BLE001 - the watch itself retries per kind; this is the last net
                log.exception("cluster watch stopped (%s); starting again in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                api_client.close()
