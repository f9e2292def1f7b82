#!/usr/bin/env bash
# Stop the services scripts/image/ started from this checkout: the registry and the Docker API.
set -euo pipefail
source "$(dirname "$0")/env.sh"
for pidfile in "$DELIVERY_REGISTRY_DIR/registry.pid" "$DELIVERY_IMAGE_HOME/docker-api.pid"; do
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")" && echo "image: stopped $(basename "$pidfile" .pid) (pid $(cat "$pidfile"))"
  fi
  rm -f "$pidfile"
done
