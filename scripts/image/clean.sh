#!/usr/bin/env bash
# Remove what buildah leaves behind outside its --root/--runroot (default system cache and runtime
# folders, stray working containers and temp files). Images in our storage are kept.
set -euo pipefail
source "$(dirname "$0")/env.sh"
command -v buildah >/dev/null 2>&1 && buildah_ rm --all >/dev/null 2>&1 || true
rm -rf "$TMPDIR"/buildah* "$TMPDIR"/storage* /var/tmp/buildah* /var/tmp/storage* 2>/dev/null || true
# buildah 1.28 creates these even when --root/--runroot point elsewhere; they hold no data of ours.
# /var/lib/containers/cache only holds a blob-info cache; the run dirs only lock files.
rm -rf /var/lib/containers/cache /run/containers/storage /run/buildah 2>/dev/null || true
rmdir /var/lib/containers /run/containers 2>/dev/null || true
echo "image-clean: removed buildah working containers and temp leftovers"
