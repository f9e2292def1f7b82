#!/usr/bin/env bash
# CI/CD tools: the scanners' own venv, then (as root) buildah + skopeo + docker-registry +
# debootstrap, a debootstrapped base image and a local registry on 127.0.0.1:5000, and podman +
# runc for a Docker Engine API (scripts/image/docker-api.sh; the pipeline's `docker` builder).
# Without root or without the tools the DAG still runs and reports "image: not built".
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/image/cicd-venv.sh"
if [ "$(id -u)" != 0 ] && ! command -v buildah >/dev/null 2>&1; then
  echo "image-tools: skipped: not root and buildah is missing (the image stage will report 'image: not built')"
  exit 0
fi
missing=""
for tool in buildah skopeo docker-registry debootstrap podman runc; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "image-tools: skipped: missing$missing and not root to install them (image stage: 'image: not built')"
    exit 0
  fi
  pkgs=""; for t in $missing; do pkgs="$pkgs $t"; done
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    $pkgs uidmap >/dev/null
  # Debian starts its packaged registry service with htpasswd auth; we run our own (registry.sh).
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then systemctl stop docker-registry || true; fi
  echo "image-tools: installed$missing"
fi
bash "$here/image/base-image.sh"
bash "$here/image/registry.sh"
bash "$here/image/docker-api.sh" >/dev/null || echo "image-tools: no Docker API (the docker builder will report 'image: not built')"
bash "$here/image/clean.sh" >/dev/null
