#!/usr/bin/env bash
# Install and start everything the project needs on this machine, in order:
# scripts/setup.d/NN-name.sh (Python venv, PostgreSQL, Kubernetes control plane, image tools...).
# Each step is idempotent and fast when there is nothing to do.
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ "${DELIVERY_SKIP_SETUP:-0}" = 1 ]; then exit 0; fi  # when you know all is installed
for step in "$PROJECT_ROOT"/scripts/setup.d/[0-9]*.sh; do
  bash "$step"
done
