#!/usr/bin/env bash
# Local Airflow: `start` runs `airflow standalone` (api-server + UI on localhost:8080, scheduler,
# dag-processor, triggerer) on this project's dags/ and plugins/ in its own process group;
# `stop` stops the whole group (the scheduler ignores SIGTERM sent to standalone alone);
# `status` says whether it runs.
set -euo pipefail
source "$(dirname "$0")/env.sh"
PIDFILE="$AIRFLOW_HOME/standalone.pgid"
LOG="$AIRFLOW_HOME/standalone.log"
PORT="$AIRFLOW__API__PORT"
URL="http://localhost:$PORT"

running() { [ -f "$PIDFILE" ] && kill -0 -- "-$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  if running; then echo "airflow: already running (process group $(cat "$PIDFILE")) at $URL"; exit 0; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "error: port $PORT is already in use by another program." >&2
    echo "Fix: stop it (see: ss -ltnp 'sport = :$PORT'), or use another port: AIRFLOW__API__PORT=8081 make airflow" >&2
    exit 1
  fi
  bash "$PROJECT_ROOT/scripts/setup.sh"
  bash "$PROJECT_ROOT/scripts/migrate.sh"
  use_local_cluster
  echo "airflow: GitOps cluster: ${KUBECONFIG:-none (plan-only; build the local control plane with make setup)}"
  setsid airflow standalone >"$LOG" 2>&1 < /dev/null &
  echo $! >"$PIDFILE"  # setsid makes the child its own group leader: pid == pgid
  for _ in $(seq 1 120); do
    if curl -fsS "$URL/api/v2/monitor/health" >/dev/null 2>&1; then
      echo "airflow: running at $URL (log: $LOG)"
      echo "airflow: user admin, password in $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated:"
      cat "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" 2>/dev/null; echo
      echo "airflow: stop it with 'make airflow-stop'"
      return 0
    fi
    if ! running; then echo "error: airflow standalone exited; last lines of $LOG:" >&2; tail -20 "$LOG" >&2; exit 1; fi
    sleep 1
  done
  echo "error: $URL did not answer within 120 s; see $LOG" >&2
  exit 1
}

stop() {
  if ! running; then echo "airflow: not running"; rm -f "$PIDFILE"; return 0; fi
  pgid="$(cat "$PIDFILE")"
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    kill -0 -- "-$pgid" 2>/dev/null || { rm -f "$PIDFILE"; echo "airflow: stopped"; return 0; }
    sleep 1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  rm -f "$PIDFILE"
  echo "airflow: stopped (killed after 20 s)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "airflow: running at $URL"; else echo "airflow: not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
