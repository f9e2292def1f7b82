#!/usr/bin/env bash
# The main job: set everything up, then run every DAG of the project end to end on the embedded
# default (SQLite Airflow, local MLflow store, local Git repos, local control plane) and print a
# summary per DAG.  `bash scripts/demo.sh --reset` starts from an empty Airflow home.
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [ "${1:-}" = "--reset" ]; then
  echo "demo: --reset: deleting $AIRFLOW_HOME"
  rm -rf "$AIRFLOW_HOME"
fi
bash "$PROJECT_ROOT/scripts/setup.sh"
mkdir -p "$AIRFLOW_HOME"
if ! airflow db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1; then
  echo "error: 'airflow db migrate' failed for AIRFLOW_HOME=$AIRFLOW_HOME (last lines below)." >&2
  tail -5 "$AIRFLOW_HOME/migrate.log" >&2
  echo "Fix: a half-migrated or foreign state folder; run 'bash scripts/demo.sh --reset' (deletes $AIRFLOW_HOME)." >&2
  exit 1
fi
cd "$PROJECT_ROOT"
exec "$VENV/bin/python" scripts/run_demo.py
