"""The local Kubernetes control plane: developer infrastructure that stands in for a cluster here.

Not GitOps logic: the GitOps code only reads a kubeconfig (``include.gitops.kubeconfig``). This
package builds nothing; it runs the binaries ``scripts/setup.d/30-k8s.sh`` built, the way envtest
does: ``KUBEBUILDER_ASSETS`` names the folder that holds ``kube-apiserver`` and ``etcd`` (default
``$DELIVERY_TOOLS/k8s/<version>/``). Everything it writes lives in ``state_dir()/k8s/``: ``pki/``
(CA, serving cert, service-account key, admin token), ``etcd/`` (data), ``logs/``, ``kubeconfig``
and ``cluster.json`` (ports and pids). Every port is a free loopback port.

With kube-controller-manager, kube-scheduler and kwok (simulated nodes, as ``kwokctl --runtime
binary`` runs them) a Deployment gets a ReplicaSet, Pods are scheduled on a fake node and marked
Running and Ready, and the Deployment becomes Available; Jobs complete. Without them objects are
stored and served, but nothing reconciles them.

Command line (``scripts/k8s/start.sh`` and ``stop.sh`` call it; ``make demo`` and ``make airflow``
start it and export ``KUBECONFIG`` through ``use_local_cluster`` in scripts/env.sh)::

    python -m scripts.localcluster start|stop|status|env|built [--state DIR] [--no-controllers] [--wipe]

Plain Python: no Airflow import; ``cryptography`` is imported only to create certificates.
"""

from scripts.localcluster.binaries import (CONTROLLER_BINARIES, CORE_BINARIES, SETUP_HINT, has_local_binaries,
                                           missing_binaries_message)
from scripts.localcluster.control_plane import LocalCluster, local_status, start_local, stop_local
from scripts.localcluster.processes import LocalClusterError

__all__ = [
    "CONTROLLER_BINARIES", "CORE_BINARIES", "SETUP_HINT", "LocalCluster", "LocalClusterError", "has_local_binaries",
    "local_status", "missing_binaries_message", "start_local", "stop_local",
]
