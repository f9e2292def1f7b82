#!/usr/bin/env bash
# Stop the local Kubernetes control plane started by scripts/k8s/start.sh.
#   bash scripts/k8s/stop.sh [--wipe] [--state DIR]     (--wipe: delete its data too)
set -euo pipefail
source "$(dirname "$0")/../env.sh"
cd "$PROJECT_ROOT"
exec "$VENV/bin/python" -m scripts.localcluster stop "$@"
