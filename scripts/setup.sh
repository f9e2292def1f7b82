#!/usr/bin/env bash
# Install and start everything the project needs on this machine, in order:
# scripts/setup.d/NN-name.sh (Python venv, PostgreSQL, Kubernetes control plane, image tools...).
# Each step is idempotent and fast when there is nothing to do.
set -euo pipefail
source "$(dirname "$0")/env.sh"
for step in "$PROJECT_ROOT"/scripts/setup.d/[0-9]*.sh; do
  bash "$step"
done
