#!/usr/bin/env bash
# The scanners' own virtualenv: $DELIVERY_TOOLS/cicd-venv from include/cicd/tools/requirements.txt
# (bandit, semgrep, detect-secrets, pip-audit, cyclonedx-bom, build, coverage, pytest).
# Kept apart from .venv because their pins may conflict with Airflow's. Re-installed only when
# the lock's hash changed; uv's cache (~/.cache/uv) makes a fresh clone's install fast.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
LOCK="$PROJECT_ROOT/include/cicd/tools/requirements.txt"
DEST="$DELIVERY_TOOLS/cicd-venv"
PY="${PYTHON:-python3}"
lock_hash="$(sha256sum "$LOCK" | cut -d' ' -f1)"
if [ -f "$DEST/.lock-hash" ] && [ "$(cat "$DEST/.lock-hash")" = "$lock_hash" ] && [ -x "$DEST/bin/semgrep" ]; then
  echo "cicd-tools: scanners venv up to date ($DEST)"
  exit 0
fi
start=$(date +%s)
command -v uv >/dev/null 2>&1 || "$PY" -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
rm -rf "$DEST"
mkdir -p "$DELIVERY_TOOLS"
uv venv --quiet --python "$PY" "$DEST"
uv pip sync --quiet --require-hashes --python "$DEST/bin/python" "$LOCK"
echo "$lock_hash" > "$DEST/.lock-hash"
echo "cicd-tools: installed scanners into $DEST in $(( $(date +%s) - start )) s"
