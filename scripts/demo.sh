#!/usr/bin/env bash
# The main job: set everything up, then run every DAG of the project end to end on the embedded
# default (SQLite Airflow, local MLflow store, local Git repos, local control plane) and print a
# summary per DAG.  `bash scripts/demo.sh --reset` starts from an empty Airflow home.
set -euo pipefail
source "$(dirname "$0")/env.sh"

bash "$PROJECT_ROOT/scripts/setup.sh"
bash "$PROJECT_ROOT/scripts/migrate.sh" "$@"
use_local_cluster
cd "$PROJECT_ROOT"
exec "$VENV/bin/python" scripts/run_demo.py
