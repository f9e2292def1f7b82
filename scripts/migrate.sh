#!/usr/bin/env bash
# Migrate the Airflow metadata DB in $AIRFLOW_HOME (SQLite by default), with a clear message
# when the state folder is broken.  `bash scripts/migrate.sh --reset` deletes AIRFLOW_HOME first.
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ "${1:-}" = "--reset" ]; then
  echo "migrate: --reset: deleting $AIRFLOW_HOME"
  rm -rf "$AIRFLOW_HOME"
fi
mkdir -p "$AIRFLOW_HOME"
if ! airflow db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1; then
  echo "error: 'airflow db migrate' failed for AIRFLOW_HOME=$AIRFLOW_HOME; last lines of $AIRFLOW_HOME/migrate.log:" >&2
  tail -5 "$AIRFLOW_HOME/migrate.log" >&2
  echo "Fix: the state folder is half-migrated or from another Airflow version; run 'bash scripts/demo.sh --reset' (deletes $AIRFLOW_HOME)." >&2
  exit 1
fi
