#!/bin/sh
# Runs in the build pod (image: buildah), after the clone init container checked out $SHA in
# $WORKSPACE/src. Builds the Dockerfile with buildah (daemonless: vfs storage, chroot isolation)
# and saves the image as an OCI archive in the workspace volume. Nothing is pushed here: the push
# pod (push.sh) runs only after the gate passed. The result goes to $XCOM_FILE for Airflow.
set -eu
: "${WORKSPACE:?}" "${LOCAL_REF:?}" "${ARCHIVE:?}" "${XCOM_FILE:=/airflow/xcom/return.json}"
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}" BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
cd "$WORKSPACE/src"
set --
[ -n "${BASE_IMAGE:-}" ] && grep -Eq '^[[:space:]]*ARG[[:space:]]+BASE_IMAGE' Dockerfile && set -- --build-arg "BASE_IMAGE=$BASE_IMAGE"
start=$(date +%s)
buildah bud --quiet --layers=false --isolation chroot "$@" -f Dockerfile -t "$LOCAL_REF" . > "$WORKSPACE/image-id.txt"
rm -f "$ARCHIVE"
buildah push --quiet "$LOCAL_REF" "oci-archive:$ARCHIVE:$LOCAL_REF"
buildah rmi "$LOCAL_REF" > /dev/null
mkdir -p "$(dirname "$XCOM_FILE")"
printf '{"archive": "%s", "image_id": "%s", "seconds": %s}\n' \
  "$ARCHIVE" "$(tail -n 1 "$WORKSPACE/image-id.txt")" "$(( $(date +%s) - start ))" > "$XCOM_FILE"
