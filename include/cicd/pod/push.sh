#!/bin/sh
# Runs in the push pod (image: skopeo) only after the gate passed: copies the OCI archive the build
# pod saved to the registry and reports the digest skopeo pushed (the one to trust) in $XCOM_FILE.
set -eu
: "${ARCHIVE:?}" "${DEST:?}" "${XCOM_FILE:=/airflow/xcom/return.json}"
digestfile="$(dirname "$ARCHIVE")/pushed-digest.txt"
start=$(date +%s)
skopeo copy --quiet --dest-tls-verify="${TLS_VERIFY:-false}" --digestfile "$digestfile" "oci-archive:$ARCHIVE" "docker://$DEST"
mkdir -p "$(dirname "$XCOM_FILE")"
printf '{"digest": "%s", "seconds": %s}\n' "$(cat "$digestfile")" "$(( $(date +%s) - start ))" > "$XCOM_FILE"
