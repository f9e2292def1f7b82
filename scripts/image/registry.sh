#!/usr/bin/env bash
# Debian's docker-registry (distribution 2.8) on 127.0.0.1:5000 with NO login (Debian's own
# config turns on htpasswd, which answers 401 to every request) and storage in the state folder.
# Idempotent: a registry already answering on the address is reused.
set -euo pipefail
source "$(dirname "$0")/env.sh"
url="http://$DELIVERY_REGISTRY_ADDR/v2/"
if curl -fs -o /dev/null --max-time 2 "$url"; then
  echo "registry: reusing the one answering on $DELIVERY_REGISTRY_ADDR"
  exit 0
fi
mkdir -p "$DELIVERY_REGISTRY_DIR/data"
cat > "$DELIVERY_REGISTRY_DIR/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DELIVERY_REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $DELIVERY_REGISTRY_ADDR
YAML
setsid nohup docker-registry serve "$DELIVERY_REGISTRY_DIR/config.yml" >"$DELIVERY_REGISTRY_DIR/registry.log" 2>&1 < /dev/null &
echo $! > "$DELIVERY_REGISTRY_DIR/registry.pid"
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null --max-time 1 "$url" && { echo "registry: started on $DELIVERY_REGISTRY_ADDR (pid $(cat "$DELIVERY_REGISTRY_DIR/registry.pid"), data $DELIVERY_REGISTRY_DIR/data)"; exit 0; }
  sleep 0.2
done
echo "registry: did not answer on $url; see $DELIVERY_REGISTRY_DIR/registry.log" >&2
exit 1
