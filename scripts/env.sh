# Sourced by every script: one place that says where things live and how Airflow is set up
# for the embedded default (SQLite, LocalExecutor, this project's dags/ and plugins/).
# Any variable already set in the environment wins.
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PROJECT_ROOT
export DELIVERY_STATE="${DELIVERY_STATE:-$PROJECT_ROOT/.state}"
export VENV="${VENV:-$PROJECT_ROOT/.venv}"
export DELIVERY_TOOLS="${DELIVERY_TOOLS:-$PROJECT_ROOT/.state/tools}"
export PATH="$VENV/bin:$DELIVERY_TOOLS/bin:$PATH"
# include/ is imported as the package `include`, plugins/ as the package `delivery`.
export PYTHONPATH="$PROJECT_ROOT:$PROJECT_ROOT/plugins${PYTHONPATH:+:$PYTHONPATH}"

export AIRFLOW_HOME="${AIRFLOW_HOME:-$DELIVERY_STATE/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$PROJECT_ROOT/dags}"
export AIRFLOW__CORE__PLUGINS_FOLDER="${AIRFLOW__CORE__PLUGINS_FOLDER:-$PROJECT_ROOT/plugins}"
export AIRFLOW__CORE__LOAD_EXAMPLES="${AIRFLOW__CORE__LOAD_EXAMPLES:-False}"
export AIRFLOW__CORE__EXECUTOR="${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}"
# 2-core machines: the default of 32 starts 32 workers and takes ~1.4 GB.
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__UNIT_TEST_MODE="${AIRFLOW__CORE__UNIT_TEST_MODE:-False}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
# Small machine (docs/mlops.md "Task overhead", bench/bench_task_overhead.py). The scheduler sleeps
# this long after a loop with nothing to do, so it is the wait between "upstream done" and
# "downstream queued" (scheduler_heartbeat_sec is only the job's liveness beat, not this wait):
# 1 s (Airflow's default) gave a median 0.5-1 s per hop, 9 hops in mlops_train_register; 0.5 s
# halves that for ~1.5 % more of one core while idle (0.25 s: 0.1-0.3 s per hop but ~7 % more).
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME="${AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME:-0.5}"
# The dag-processor re-parses every DAG file this often even when nothing changed: every 30 s
# (the default) cost 8-10 % of one core of these 2, taken from the tasks; 120 s costs ~3 %. A file
# whose mtime changed is re-parsed at once anyway (file_parsing_sort_mode=modified_time), so an
# edited DAG shows up within seconds; only an edit to plugins/ or include/ alone waits up to 120 s.
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="${AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL:-120}"
# The metadata DB is SQLite unless a connection is given: wait up to 60 s for its write lock
# instead of pysqlite's 5 s (include/common/airflow_db.py says why).
if [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS:-include.common.airflow_db.SQLITE_CONNECT_ARGS}"
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC:-include.common.airflow_db.SQLITE_CONNECT_ARGS_ASYNC}"
fi
# MLflow writes a telemetry file to ~/.config on import; keep it quiet and local.
export MLFLOW_DISABLE_TELEMETRY=true
export DO_NOT_TRACK=true
export GOTOOLCHAIN=local

# The GitOps code reads only KUBECONFIG (or an Airflow connection), and never starts a cluster.
# `make demo` and `make airflow` call this: point KUBECONFIG at the local control plane, starting
# it when it is built. Not built: nothing is exported and the GitOps tasks plan only, saying so.
use_local_cluster() {
  [ -n "${KUBECONFIG:-}" ] && return 0
  "$VENV/bin/python" -m scripts.localcluster built 2>/dev/null || return 0
  local path
  if ! path="$(cd "$PROJECT_ROOT" && "$VENV/bin/python" -m scripts.localcluster start)"; then
    echo "error: the local Kubernetes control plane did not start (see above)." >&2
    echo "Fix: make k8s-stop ARGS=--wipe, then try again; or point KUBECONFIG at a cluster" >&2
    return 1
  fi
  export KUBECONFIG="$path"
}
