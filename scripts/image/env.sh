# Sourced by the image scripts: where buildah keeps its storage, where the registry listens.
# include/cicd/image.py reads the same variables (same defaults) so the DAG and these scripts
# see the same images. Daemonless: buildah with vfs storage and chroot isolation (no Docker).
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
export STORAGE_DRIVER=vfs
export BUILDAH_ISOLATION=chroot
export DELIVERY_IMAGE_HOME="${DELIVERY_IMAGE_HOME:-$DELIVERY_TOOLS/image}"
export BUILDAH_ROOT="$DELIVERY_IMAGE_HOME/storage"
export BUILDAH_RUNROOT="$DELIVERY_IMAGE_HOME/run"
# buildah writes temp files under TMPDIR (default /var/tmp): keep them in our folder.
export TMPDIR="$DELIVERY_IMAGE_HOME/tmp"
export DELIVERY_BASE_IMAGE="${DELIVERY_BASE_IMAGE:-localhost/delivery-base:bookworm}"
export DELIVERY_REGISTRY_ADDR="${DELIVERY_REGISTRY_ADDR:-127.0.0.1:5000}"
export DELIVERY_REGISTRY_DIR="${DELIVERY_REGISTRY_DIR:-$DELIVERY_STATE/registry}"
export DELIVERY_IMAGE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/airflow-delivery/image"
mkdir -p "$BUILDAH_ROOT" "$BUILDAH_RUNROOT" "$TMPDIR"
buildah_() { buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs "$@"; }
