"""Kubernetes hook for the GitOps DAGs: which cluster, and a client for it.

Where the cluster comes from, in order:

1. an explicit ``kubeconfig`` path given to the hook (operator argument);
2. the Airflow connection ``kubernetes_default`` (conn type ``kubernetes``, the same extras as
   the cncf.kubernetes provider: ``kube_config_path``, or ``kube_config`` with the kubeconfig
   content, and ``cluster_context``);
3. ``$KUBECONFIG``.

That is all it does: it never starts a cluster (``make demo`` / ``make airflow`` start the local
control plane and export its ``KUBECONFIG``; see ``include.gitops.kubeconfig``).

Plan-only (no cluster configured at all) is not an error: :meth:`get_cluster` returns None and
:attr:`choice` says why and how to get a cluster, so tasks can say it loudly. A configured
cluster that does not answer is one: :meth:`get_conn` raises
:class:`include.gitops.kubeconfig.ClusterUnreachableError` with the address and the fix.
Triggers build their client from the connection id through this hook, as the cncf provider's do.
"""

from __future__ import annotations

import json
import os
from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook


class GitOpsKubernetesHook(BaseHook):
    """Resolve the cluster for a GitOps run and hand out clients for it.

    :param kubernetes_conn_id: Airflow connection with the kubeconfig (default ``kubernetes_default``).
    :param kubeconfig: explicit kubeconfig path; wins over the connection.
    :param context: kubeconfig context; wins over the connection's ``cluster_context``.
    """

    conn_name_attr = "kubernetes_conn_id"
    default_conn_name = "kubernetes_default"
    conn_type = "kubernetes"
    hook_name = "Kubernetes (GitOps)"

    def __init__(
        self,
        kubernetes_conn_id: str = default_conn_name,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
    ) -> None:
        super().__init__()
        self.kubernetes_conn_id = kubernetes_conn_id
        self.kubeconfig = kubeconfig
        self.context = context

    def _from_connection(self) -> tuple[str | None, str | None]:
        """(kubeconfig path, context) from the Airflow connection, or (None, None) when it is not set."""
        try:
            conn = self.get_connection(self.kubernetes_conn_id)
        except Exception as exc:  # noqa: BLE001 - a missing connection just means "not configured"
            self.log.info("connection %r not used: %s", self.kubernetes_conn_id, exc)
            return None, None
        extra = conn.extra_dejson or {}

        def field(name: str) -> Any:
            return extra.get(name) or extra.get(f"extra__kubernetes__{name}")

        context = field("cluster_context")
        if field("in_cluster"):
            self.log.warning("connection %r asks for in_cluster config, which the GitOps hook does not support; "
                             "give kube_config_path or kube_config instead", self.kubernetes_conn_id)
        if field("kube_config_path"):
            return str(field("kube_config_path")), context
        content = field("kube_config")
        if content:
            from include.common.paths import state_dir

            folder = state_dir() / "gitops" / "kubeconfigs"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.kubernetes_conn_id}.yaml"
            text = content if isinstance(content, str) else json.dumps(content)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            return str(path), context
        return None, context

    @cached_property
    def choice(self):
        """The :class:`include.gitops.kubeconfig.ClusterChoice` for this hook (cached)."""
        from include.gitops.kubeconfig import resolve

        kubeconfig, context, source = self.kubeconfig, self.context, "the given kubeconfig"
        if not kubeconfig:
            conn_path, conn_context = self._from_connection()
            kubeconfig, context = conn_path, context or conn_context
            source = f"the Airflow connection {self.kubernetes_conn_id}"
        choice = resolve(kubeconfig, context=context, source=source)
        if choice.connected:
            self.log.info(choice.message)
        else:
            self.log.warning("=" * 78 + "\n%s\n" + "=" * 78, choice.message)
        return choice

    @property
    def plan_only(self) -> bool:
        """No cluster is configured: render, validate and plan only."""
        return not self.choice.connected and not self.unreachable

    @property
    def unreachable(self) -> bool:
        """A cluster is configured (connection or ``KUBECONFIG``) but does not answer."""
        from include.gitops.kubeconfig import ClusterMode

        return self.choice.mode is ClusterMode.UNREACHABLE

    def get_conn(self) -> Any:
        """A new ``kubernetes.client.ApiClient`` for the chosen cluster; None in plan-only mode.

        :raises ClusterUnreachableError: the configured cluster does not answer.
        """
        if self.unreachable:
            from include.gitops.kubeconfig import ClusterUnreachableError

            raise ClusterUnreachableError(self.choice.message)
        if self.plan_only:
            return None
        from kubernetes import config

        return config.new_client_from_config(config_file=self.choice.kubeconfig, context=self.choice.context)

    def get_cluster(self, *, field_manager: str | None = None):
        """An :class:`include.gitops.client.Cluster` for the chosen cluster; None in plan-only mode."""
        api_client = self.get_conn()
        if api_client is None:
            return None
        from include.gitops.client import Cluster
        from include.gitops.types import FIELD_MANAGER

        return Cluster(api_client, field_manager=field_manager or FIELD_MANAGER)

    def test_connection(self) -> tuple[bool, str]:
        """(ok, message): the API server answers and lists namespaces."""
        try:
            if not self.choice.connected:
                return False, self.choice.message
            cluster = self.get_cluster()
            if cluster is None:
                return False, self.choice.message
            count = len(cluster.namespaces())
            return True, f"{self.choice.message}; {count} namespaces visible"
        except Exception as exc:  # noqa: BLE001
            return False, f"{type(exc).__name__}: {exc}"
