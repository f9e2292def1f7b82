"""The cluster a GitOps benchmark measures against (shared by bench_gitops and bench_drift)."""

from __future__ import annotations

import os
from typing import Callable

import scripts.localcluster as localcluster
from include.gitops.client import Cluster
from include.gitops.kubeconfig import resolve


def open_cluster(kubeconfig: str | None, name: str) -> tuple[Cluster | None, Callable[[], None]]:
    """(cluster, close): ``kubeconfig``, else ``KUBECONFIG``, else the local control plane, which
    is started here when it is built and stopped again by ``close`` if this call started it.
    (None, no-op) when there is no cluster; the reason is printed."""
    from kubernetes import config

    started_here = False
    if not (kubeconfig or os.environ.get("KUBECONFIG")) and localcluster.has_local_binaries():
        started_here = localcluster.local_status() is None
        kubeconfig = localcluster.start_local()
    choice = resolve(kubeconfig)
    if not choice.connected:
        print(f"{name}: no cluster, nothing measured. {choice.message}")
        return None, lambda: None
    print(f"cluster: {choice.message}")
    api = config.new_client_from_config(config_file=choice.kubeconfig, context=choice.context)
    api.rest_client.pool_manager.connection_pool_kw["maxsize"] = 8  # the benchmarks use up to 8 threads

    def close() -> None:
        api.close()
        if started_here:
            localcluster.stop_local()
            print("stopped the local control plane this benchmark started")

    return Cluster(api), close
