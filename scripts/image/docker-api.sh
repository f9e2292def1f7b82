#!/usr/bin/env bash
# A Docker Engine API for the pipeline's `docker` builder (the docker provider's DockerHook). There
# is no Docker engine on these machines, so podman serves its Docker-compatible API on a socket of
# ours, over the same image storage as buildah (so it sees the debootstrapped base image).
# Settings that make builds work here: runc (crun fails on this kernel's hybrid cgroups), cgroups
# off, host network for RUN steps, and the loopback registry marked insecure (plain http).
# Idempotent: a service already answering on the socket is reused. Prints the DOCKER_HOST URL.
set -euo pipefail
source "$(dirname "$0")/env.sh"
sock="$DELIVERY_IMAGE_HOME/docker.sock"
url="unix://$sock"
if curl -fs -o /dev/null --max-time 2 --unix-socket "$sock" http://d/_ping 2>/dev/null; then
  echo "docker-api: reusing the one answering on $url" >&2; echo "$url"; exit 0
fi
for tool in podman runc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "docker-api: $tool is missing (scripts/setup.d/40-image-tools.sh installs it)" >&2; exit 1; }
done
cat > "$DELIVERY_IMAGE_HOME/containers.conf" <<CONF
[containers]
cgroups = "disabled"
default_ulimits = []
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat > "$DELIVERY_IMAGE_HOME/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "$DELIVERY_REGISTRY_ADDR"
insecure = true
CONF
rm -f "$sock"
CONTAINERS_CONF="$DELIVERY_IMAGE_HOME/containers.conf" CONTAINERS_REGISTRIES_CONF="$DELIVERY_IMAGE_HOME/registries.conf" \
  setsid nohup podman --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs \
  system service --time=0 "$url" >"$DELIVERY_IMAGE_HOME/docker-api.log" 2>&1 < /dev/null &
echo $! > "$DELIVERY_IMAGE_HOME/docker-api.pid"
for _ in $(seq 1 50); do
  if curl -fs -o /dev/null --max-time 1 --unix-socket "$sock" http://d/_ping 2>/dev/null; then
    echo "docker-api: podman's Docker API on $url (pid $(cat "$DELIVERY_IMAGE_HOME/docker-api.pid"))" >&2; echo "$url"; exit 0
  fi
  sleep 0.2
done
echo "docker-api: no answer on $url; see $DELIVERY_IMAGE_HOME/docker-api.log" >&2
exit 1
