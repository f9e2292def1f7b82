#!/usr/bin/env bash
# docker-compose (Compose v1, Debian's package) for tests/deploy/test_compose.py: its
# `docker-compose config` checks docker-compose.yaml without a Docker engine. Installed when
# root and missing, without the recommended docker.io engine; skipped with a message otherwise.
set -euo pipefail
source "$(dirname "$0")/../env.sh"

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "compose-tools: docker-compose is missing and not root; the compose config check will skip. Fix: apt-get install --no-install-recommends docker-compose" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
  fi
fi
echo "compose-tools: $(docker-compose version --short 2>/dev/null || echo '?') ($(command -v docker-compose)) checks docker-compose.yaml"
