#!/usr/bin/env bash
# The base image the demo app's Dockerfile starts FROM: Debian bookworm minbase + python3,
# made with debootstrap (no registry is reachable to pull one) and imported into buildah's
# storage from scratch (buildah 1.28 has no `import`). The rootfs tarball is cached outside
# the repo, keyed by its recipe version, so a fresh clone imports it in about a second.
set -euo pipefail
source "$(dirname "$0")/env.sh"
RECIPE="bookworm-minbase-python3-v1"
TARBALL="$DELIVERY_IMAGE_CACHE/rootfs-$RECIPE.tar"
if buildah_ inspect --type image "$DELIVERY_BASE_IMAGE" >/dev/null 2>&1 \
   && [ "$(buildah_ inspect --type image --format '{{index .ImageAnnotations "delivery.recipe"}}' "$DELIVERY_BASE_IMAGE" 2>/dev/null)" = "$RECIPE" ]; then
  echo "base-image: $DELIVERY_BASE_IMAGE present ($RECIPE)"
  exit 0
fi
start=$(date +%s)
mkdir -p "$DELIVERY_IMAGE_CACHE"
if [ ! -s "$TARBALL" ]; then
  rootfs="$(mktemp -d "$DELIVERY_IMAGE_CACHE/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3-minimal,python3 bookworm "$rootfs" http://deb.debian.org/debian >"$DELIVERY_IMAGE_CACHE/debootstrap.log" 2>&1 \
    || { echo "base-image: debootstrap failed, see $DELIVERY_IMAGE_CACHE/debootstrap.log" >&2; exit 1; }
  # Trim what a runtime image does not need (apt lists, caches, docs, man pages).
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
         "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log
  tar --numeric-owner -C "$rootfs" -cpf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
fi
ctr="$(buildah_ from scratch)"
mnt="$(buildah_ mount "$ctr")"
tar --numeric-owner -C "$mnt" -xpf "$TARBALL"
buildah_ umount "$ctr" >/dev/null
buildah_ config --annotation "delivery.recipe=$RECIPE" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --cmd /bin/bash "$ctr"
buildah_ commit --quiet --rm "$ctr" "$DELIVERY_BASE_IMAGE" >/dev/null
echo "base-image: made $DELIVERY_BASE_IMAGE from $TARBALL in $(( $(date +%s) - start )) s"
