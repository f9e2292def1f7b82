#!/usr/bin/env bash
# Start (or reuse) the local Kubernetes control plane and print its kubeconfig path.
#   bash scripts/k8s/start.sh [--no-controllers] [--state DIR]
#   export KUBECONFIG="$(bash scripts/k8s/start.sh)"
# State (etcd data, certificates, logs, pids, kubeconfig) lives in $DELIVERY_STATE/k8s.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$PROJECT_ROOT"
exec "$VENV/bin/python" -m scripts.localcluster start "$@"
