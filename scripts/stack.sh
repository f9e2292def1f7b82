#!/usr/bin/env bash
# The production stack, natively: the topology of docker-compose.yaml started from Debian packages
# and the project venv, on 127.0.0.1 only (README: "The production stack, natively: make stack").
#
#   bash scripts/stack.sh start    # PostgreSQL databases, Redis, MLflow server, Git server, registry and
#                                  # local control plane, `airflow db migrate`, then api-server, scheduler,
#                                  # dag-processor, triggerer and two Celery workers; waits until all are healthy
#   bash scripts/stack.sh stop     # stops every process the stack started, and nothing else
#   bash scripts/stack.sh status   # what runs where, and the memory it takes; exit 1 when a part is down
#   bash scripts/stack.sh env [worker1]  # the Airflow components' environment, as bash (for a shell or a test)
#
# Settings: docker-compose.yaml and deploy/stack.env, the same files as the compose stack;
# scripts/stack/stack_env.py derives the native values (only service addresses and container
# paths differ). Ports (all on 127.0.0.1): STACK_API_PORT=8180, STACK_MLFLOW_PORT=8181,
# STACK_GIT_PORT=8182, STACK_SCHEDULER_HEALTH_PORT=8183, STACK_REDIS_PORT=6390.
# State: $DELIVERY_STATE/stack (STACK_DIR): airflow/ (AIRFLOW_HOME), mlflow/artifacts, redis/,
# logs/<component>.log, run/<component>.pid. Each component runs in a session of its own
# (setsid: pid == process group == session id), so `stop` finds all its children.
# Idempotent: a component that runs is left alone, one that died is started again.
set -euo pipefail
CALLER_VARS=" $(compgen -e | tr '\n' ' ') "  # before env.sh adds the embedded default's settings
source "$(dirname "$0")/env.sh"
STACK_DIR="${STACK_DIR:-$DELIVERY_STATE/stack}"
export STACK_DIR
RUN="$STACK_DIR/run"
LOGS="$STACK_DIR/logs"
SAVED_ENV="$STACK_DIR/env.sh"
START_TIMEOUT="${STACK_START_TIMEOUT:-600}"
STOP_TIMEOUT="${STACK_STOP_TIMEOUT:-30}"
HELPER="$PROJECT_ROOT/scripts/stack/stack_env.py"
# Start order; stop goes the other way (workers first, Redis last).
ORDER=(redis mlflow git api-server scheduler dag-processor triggerer worker1 worker2)
began=$(date +%s.%N)

say() { echo "stack: $*"; }
err() { echo "error: $*" >&2; }
elapsed() { awk -v a="${1:-$began}" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ----------------------------------------------------------------------------- processes

pid_of() { cat "$RUN/$1.pid" 2>/dev/null || true; }
# A component runs when its recorded pid lives and still leads its own session (a reused pid does
# not). Zombies (state Z: exited, waiting for init to reap them) do not count as running.
alive() {
  local pid; pid="$(pid_of "$1")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && ps -o sid=,stat= -p "$pid" 2>/dev/null | awk -v p="$pid" '$1 == p && $2 !~ /^Z/ { ok = 1 } END { exit !ok }'
}
session_pids() { ps -eo pid=,sid=,stat= | awk -v s="$1" '$2 == s && $3 !~ /^Z/ { print $1 }'; }
recorded() { local f; for f in "$RUN"/*.pid; do [ -e "$f" ] && basename "$f" .pid; done; return 0; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_component() {
  local name="$1" var="${1//-/_}"
  local -n argv="STACK_ARGV_$var" extra="STACK_ENV_$var"
  if alive "$name"; then say "$name already running (pid $(pid_of "$name"))"; return 0; fi
  : >"$LOGS/$name.log"
  ( cd "$STACK_DIR" && exec setsid env "${extra[@]}" "${argv[@]}" >>"$LOGS/$name.log" 2>&1 </dev/null 9>&- ) &
  echo $! >"$RUN/$name.pid"  # not a group leader, so setsid does not fork: pid == session id
  STARTED+=("$name")
}

api_component_healthy() {  # dag_processor | triggerer, from the api-server's health report (heartbeats)
  curl -fs --max-time 3 "$STACK_URL_API/api/v2/monitor/health" 2>/dev/null \
    | python3 -c 'import json, sys; sys.exit(0 if (json.load(sys.stdin).get(sys.argv[1]) or {}).get("status") == "healthy" else 1)' "$1" 2>/dev/null
}

healthy() {
  case "$1" in
    redis) [ "$(redis-cli -h 127.0.0.1 -p "$STACK_REDIS_PORT" ping 2>/dev/null)" = PONG ] ;;
    mlflow) curl -fs -o /dev/null --max-time 3 "$STACK_URL_MLFLOW/health" ;;
    git) curl -fs -o /dev/null --max-time 3 "$STACK_URL_GIT/healthz" ;;
    api-server) curl -fs -o /dev/null --max-time 3 "$STACK_URL_API/api/v2/monitor/health" ;;
    scheduler) curl -fs -o /dev/null --max-time 3 "$STACK_URL_SCHEDULER_HEALTH" ;;
    dag-processor) api_component_healthy dag_processor ;;
    triggerer) api_component_healthy triggerer ;;
    # Celery prints "<node name> ready." once it consumes from the broker.
    worker*) grep -q "$1@[^ ]* ready\." "$LOGS/$1.log" 2>/dev/null ;;
  esac
}

hint() {
  case "$1" in
    redis) echo "Fix: is port $STACK_REDIS_PORT free? Another port: STACK_REDIS_PORT=6391 make stack" ;;
    mlflow) echo "Fix: its store is the PostgreSQL database in its command line (see the log); a half-migrated store: drop that database and start again" ;;
    git) echo "Fix: gunicorn and git must be installed (bash scripts/setup.d/10-python.sh, apt-get install git)" ;;
    *) echo "Fix: read the log above; 'make stack-stop' then 'make stack' starts again; a broken metadata DB: drop the database ${STACK_DB_NAMES%% *} and start again" ;;
  esac
}

fail_start() {  # name, what happened
  err "$1 $2; last lines of $LOGS/$1.log:"
  tail -20 "$LOGS/$1.log" >&2 || true
  hint "$1" >&2
  err "stopping the stack (the logs stay in $LOGS)"
  stop >&2 || true
  exit 1
}

wait_healthy() {
  local deadline=$(( $(date +%s) + START_TIMEOUT )) pending=("$@") still name
  while [ ${#pending[@]} -gt 0 ]; do
    still=()
    for name in "${pending[@]}"; do
      if healthy "$name"; then say "$name ready after $(elapsed) s"
      elif ! alive "$name"; then fail_start "$name" "exited during start"
      else still+=("$name"); fi
    done
    pending=(${still[@]+"${still[@]}"})
    [ ${#pending[@]} -eq 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail_start "${pending[0]}" "is not healthy after ${START_TIMEOUT} s (also waiting for: ${pending[*]}; STACK_START_TIMEOUT to wait longer)"
    fi
    sleep 1
  done
}

# ----------------------------------------------------------------------------- settings

derive_env() {
  local out
  if ! out="$("$VENV/bin/python" "$HELPER" shell 2>&1)"; then
    err "the stack's settings could not be derived from docker-compose.yaml and deploy/stack.env:"
    echo "$out" >&2
    exit 1
  fi
  mkdir -p "$STACK_DIR"
  printf '%s\n' "$out" >"$SAVED_ENV.tmp" && mv "$SAVED_ENV.tmp" "$SAVED_ENV"
  eval "$out"
  drop_embedded_settings
}

# The components get the stack's Airflow settings and the caller's own AIRFLOW__* overrides, never
# the embedded default's that scripts/env.sh exported (e.g. AIRFLOW__CORE__UNIT_TEST_MODE).
drop_embedded_settings() {
  local name
  for name in $(compgen -e | grep -E '^AIRFLOW(__|_CONN_)' || true); do
    [[ " ${STACK_EXPORTS[*]} " == *" $name "* || "$CALLER_VARS" == *" $name "* ]] || unset "$name"
  done
}

load_saved_env() {  # for stop/status/env: the settings of the running stack, else derive them
  if [ -f "$SAVED_ENV" ]; then source "$SAVED_ENV"; drop_embedded_settings; else derive_env; fi
}

# ----------------------------------------------------------------------------- parts started elsewhere

start_registry() {
  if ! command -v docker-registry >/dev/null 2>&1; then
    say "no docker-registry: image pushes will fail (Fix: bash scripts/setup.d/40-image-tools.sh as root)"
    return 0
  fi
  local out
  if ! out="$(bash "$PROJECT_ROOT/scripts/image/registry.sh" 2>&1 9>&-)"; then
    err "the registry did not start: $out"; exit 1
  fi
  case "$out" in *started*) touch "$RUN/registry.started-by-stack" ;; esac
  say "registry: ${out#registry: }"
}

start_kubernetes() {
  export STACK_KUBECONFIG=""
  if [ "${STACK_K8S:-1}" = 0 ]; then say "kubernetes: off (STACK_K8S=0): the GitOps tasks run plan-only"; return 0; fi
  if [ -n "${KUBECONFIG:-}" ]; then
    STACK_KUBECONFIG="${KUBECONFIG%%:*}"; say "kubernetes: KUBECONFIG=$STACK_KUBECONFIG (from the caller)"; return 0
  fi
  if ! "$VENV/bin/python" -m scripts.localcluster built 2>/dev/null; then
    say "kubernetes: no local control plane built: the GitOps tasks run plan-only (Fix: bash scripts/setup.d/30-k8s.sh)"
    return 0
  fi
  local was_running=1 out
  "$VENV/bin/python" -m scripts.localcluster status >/dev/null 2>&1 || was_running=0
  if ! out="$(bash "$PROJECT_ROOT/scripts/k8s/start.sh" 2>"$LOGS/k8s-start.log" 9>&-)"; then
    err "the local Kubernetes control plane did not start; last lines of $LOGS/k8s-start.log:"
    tail -20 "$LOGS/k8s-start.log" >&2
    echo "Fix: bash scripts/k8s/stop.sh --wipe, then start again; or STACK_K8S=0 make stack (plan-only)" >&2
    exit 1
  fi
  STACK_KUBECONFIG="$(printf '%s\n' "$out" | tail -1)"
  [ "$was_running" = 0 ] && touch "$RUN/k8s.started-by-stack"
  say "kubernetes: local control plane, KUBECONFIG=$STACK_KUBECONFIG"
}

# ----------------------------------------------------------------------------- PostgreSQL

ensure_postgres() {
  if ! pg_isready -q -h "$STACK_PG_HOST" -p "$STACK_PG_PORT" 2>/dev/null; then
    err "PostgreSQL does not answer on $STACK_PG_HOST:$STACK_PG_PORT."
    echo "Fix: bash scripts/setup.d/20-postgres.sh (installs and starts it; as root)" >&2
    exit 1
  fi
  if ! [[ "$STACK_PG_USER" =~ ^[A-Za-z_][A-Za-z0-9_]*$ && "$STACK_PG_PASSWORD" =~ ^[A-Za-z0-9_-]+$ ]]; then
    err "POSTGRES_USER / POSTGRES_PASSWORD in $STACK_SECRETS_FILE must be letters, digits, - and _ (they go into URLs)"
    exit 1
  fi
  if ! PGPASSWORD="$STACK_PG_PASSWORD" PGCONNECT_TIMEOUT=5 psql -h "$STACK_PG_HOST" -p "$STACK_PG_PORT" \
       -U "$STACK_PG_USER" -d postgres -qtAX -c 'select 1' >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      err "PostgreSQL refuses the role $STACK_PG_USER (password from $STACK_SECRETS_FILE)."
      echo "Fix: run 'make stack' once as root (it creates the role), or: create role $STACK_PG_USER login createdb password '...'" >&2
      exit 1
    fi
    # The role of the compose stack's postgres service (POSTGRES_USER/POSTGRES_PASSWORD), with createdb.
    su postgres -c "psql -qtAX -v ON_ERROR_STOP=1" >/dev/null <<SQL
DO \$\$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '$STACK_PG_USER') THEN
    ALTER ROLE "$STACK_PG_USER" LOGIN CREATEDB PASSWORD '$STACK_PG_PASSWORD';
  ELSE
    CREATE ROLE "$STACK_PG_USER" LOGIN CREATEDB PASSWORD '$STACK_PG_PASSWORD';
  END IF;
END \$\$;
SQL
    say "postgres: role $STACK_PG_USER ready"
  fi
  local out
  if ! out="$("$VENV/bin/python" "$HELPER" databases 2>&1)"; then err "$out"; exit 1; fi
  say "postgres: $STACK_PG_HOST:$STACK_PG_PORT, $out"
}

# ----------------------------------------------------------------------------- start / stop / status

write_redis_conf() {
  mkdir -p "$STACK_DIR/redis"
  cat >"$STACK_DIR/redis/redis.conf" <<CONF
# Written by scripts/stack.sh: the Celery broker of the native stack (no persistence: queued
# messages are lost on stop, as with the compose service's container).
bind 127.0.0.1
port $STACK_REDIS_PORT
protected-mode yes
daemonize no
dir $STACK_DIR/redis
save ""
appendonly no
logfile ""
CONF
}

db_revision() {  # the Alembic revision of the metadata DB (empty when it has none)
  PGPASSWORD="$STACK_PG_PASSWORD" psql -h "$STACK_PG_HOST" -p "$STACK_PG_PORT" -U "$STACK_PG_USER" \
    -d "${STACK_DB_NAMES%% *}" -qtAX -c 'select version_num from alembic_version' 2>/dev/null || true
}

migrate() {
  # `airflow db migrate` costs ~10 s of CPU even when there is nothing to do: skip it when the DB is
  # at the revision this stack migrated it to, with the same requirements.lock.
  local marker="$STACK_DIR/migrated" want
  want="$(sha256sum "$PROJECT_ROOT/requirements.lock" | cut -d' ' -f1) $(db_revision)"
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -n "${want#* }" ]; then
    say "metadata DB already migrated (revision ${want#* })"
    return 0
  fi
  rm -f "$marker"
  if ! airflow db migrate >"$LOGS/migrate.log" 2>&1; then
    err "'airflow db migrate' failed against ${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN//:$STACK_PG_PASSWORD@/:***@}; last lines of $LOGS/migrate.log:"
    tail -10 "$LOGS/migrate.log" >&2
    echo "Fix: a half-migrated or foreign database: drop database ${STACK_DB_NAMES%% *} (psql) and start again" >&2
    stop >&2 || true
    exit 1
  fi
  echo "$(sha256sum "$PROJECT_ROOT/requirements.lock" | cut -d' ' -f1) $(db_revision)" >"$marker"
}

write_passwords() {
  if [ -z "$STACK_ADMIN_PASSWORD" ]; then err "AIRFLOW_ADMIN_PASSWORD is not set in $STACK_SECRETS_FILE"; exit 1; fi
  mkdir -p "$AIRFLOW_HOME"
  ( umask 077; python3 -c 'import json, sys; json.dump({"admin": sys.argv[1]}, open(sys.argv[2], "w"))' \
      "$STACK_ADMIN_PASSWORD" "$STACK_PASSWORD_FILE" )
}

seed_repos() {  # the demo repos the Git server serves (left as they are when they exist)
  ( cd "$PROJECT_ROOT" && "$VENV/bin/python" -c \
      'from include.cicd import demo as c; from include.gitops import demo as g; c.seed(); g.seed()' ) \
    >"$LOGS/seed.log" 2>&1 || { err "seeding the demo repos failed:"; tail -10 "$LOGS/seed.log" >&2; exit 1; }
}

memory() {  # RSS sum (and PSS sum: shared pages counted once) of every process in the stack's sessions
  local sids="" name pid pss=0 kb
  for name in $(recorded); do pid="$(pid_of "$name")"; [ -n "$pid" ] && sids="$sids $pid"; done
  for pid in $(ps -eo pid=,sid= | awk -v s="$sids" 'BEGIN { n = split(s, a, " "); for (i = 1; i <= n; i++) w[a[i]] = 1 } ($2 in w) { print $1 }'); do
    kb="$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)"
    pss=$(( pss + ${kb:-0} ))
  done
  ps -eo sid=,rss= | awk -v s="$sids" -v pss="$pss" 'BEGIN { n = split(s, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
    ($1 in want) { sum += $2; count++ } END { printf "RSS sum %d MB, PSS sum %d MB, %d processes", sum / 1024, pss / 1024, count }'
}

summary() {
  local host; host="$(hostname)"
  cat <<EOF
stack: what runs where (all on 127.0.0.1; logs in $LOGS)
  api-server + UI   $STACK_URL_API   user admin, password in $STACK_PASSWORD_FILE
  scheduler         health $STACK_URL_SCHEDULER_HEALTH
  dag-processor     $PROJECT_ROOT/dags
  triggerer         plugins/delivery/triggers
  celery workers    worker1@$host, worker2@$host ($AIRFLOW__CORE__EXECUTOR, concurrency $AIRFLOW__CELERY__WORKER_CONCURRENCY each, parallelism $AIRFLOW__CORE__PARALLELISM)
  redis (broker)    $STACK_URL_REDIS
  mlflow            $STACK_URL_MLFLOW   store postgresql://$STACK_PG_HOST:$STACK_PG_PORT/$(echo "$STACK_DB_NAMES" | cut -d' ' -f2), artifacts $STACK_MLFLOW_ARTIFACTS
  git               $STACK_URL_GIT/<name>.git   repos in $STACK_REPOS
  postgres          $STACK_PG_HOST:$STACK_PG_PORT   databases ${STACK_DB_NAMES// /, } (role $STACK_PG_USER)
  registry          $STACK_URL_REGISTRY
  kubernetes        ${KUBECONFIG:-none (plan-only)}
  AIRFLOW_HOME      $AIRFLOW_HOME   (settings: docker-compose.yaml + deploy/stack.env + $(basename "$STACK_SECRETS_FILE"))
  memory            $(memory)
stack: a token: curl -s -X POST $STACK_URL_API/auth/token -H 'Content-Type: application/json' -d '{"username": "admin", "password": "<password>"}'
stack: stop it with 'make stack-stop'
EOF
}

start() {
  mkdir -p "$RUN" "$LOGS"
  # One start at a time. Every long-lived child gets `9>&-`, or it would hold the lock for ever.
  exec 9>"$STACK_DIR/.lock"
  flock 9
  local name all=1
  for name in "${ORDER[@]}"; do alive "$name" || all=0; done
  if [ "$all" = 1 ]; then
    load_saved_env
    say "already running ($(elapsed) s to check)"
    summary
    return 0
  fi
  bash "$PROJECT_ROOT/scripts/setup.sh" 9>&-
  for tool in redis-server redis-cli git curl psql pg_isready flock setsid; do
    command -v "$tool" >/dev/null 2>&1 && continue
    err "$tool is missing."
    echo "Fix: bash scripts/setup.sh as root (redis-server: scripts/setup.d/25-redis.sh; psql: 20-postgres.sh)" >&2
    exit 1
  done
  STARTED=()
  STACK_KUBECONFIG="" derive_env  # the ports, before anything starts
  local -A port_of=([redis]="$STACK_REDIS_PORT STACK_REDIS_PORT" [mlflow]="${STACK_URL_MLFLOW##*:} STACK_MLFLOW_PORT"
                      [git]="${STACK_URL_GIT##*:} STACK_GIT_PORT" [api-server]="${STACK_URL_API##*:} STACK_API_PORT"
                      [scheduler]="$(echo "$STACK_URL_SCHEDULER_HEALTH" | sed 's#.*:\([0-9]*\)/.*#\1#') STACK_SCHEDULER_HEALTH_PORT")
  for name in redis mlflow git api-server scheduler; do
    set -- ${port_of[$name]}
    if ! alive "$name" && port_busy "$1"; then
      err "port $1 ($name) is already in use by another program."
      echo "Fix: stop it (see: ss -ltnp 'sport = :$1'), or use another port: $2=$(( $1 + 100 )) make stack" >&2
      exit 1
    fi
  done
  start_registry
  start_kubernetes
  derive_env  # again, with the kubeconfig
  say "settings derived from docker-compose.yaml + deploy/stack.env + $(basename "$STACK_SECRETS_FILE") ($(elapsed) s)"
  ensure_postgres
  write_redis_conf
  mkdir -p "$STACK_MLFLOW_ARTIFACTS" "$AIRFLOW_HOME"
  for name in redis mlflow git; do start_component "$name"; done
  seed_repos
  migrate
  write_passwords
  say "metadata DB ready ($(elapsed) s); starting the Airflow components"
  for name in api-server scheduler dag-processor triggerer worker1 worker2; do start_component "$name"; done
  wait_healthy "${ORDER[@]}"
  say "started in $(elapsed) s (${STARTED[*]:-nothing new})"
  summary
}

# Stop components in stages, each one's whole session: TERM once (a second TERM can cut a graceful
# shutdown short), TERM once more what left the process group, KILL what is left at the deadline.
stop_stage() {
  local pid name left deadline sids=() strays_termed=0
  for name in "$@"; do
    if alive "$name"; then
      pid="$(pid_of "$name")"; sids+=("$pid"); STOPPED=$(( STOPPED + 1 ))
      kill -TERM -- "-$pid" 2>/dev/null || true
    fi
  done
  [ ${#sids[@]} -eq 0 ] && return 0
  deadline=$(( $(date +%s) + STOP_TIMEOUT ))
  while :; do
    left=""
    for pid in "${sids[@]}"; do left="$left $(session_pids "$pid" | tr '\n' ' ')"; done
    left="$(echo $left)"
    [ -z "$left" ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "killing what is left of $* after ${STOP_TIMEOUT} s:"
      ps -o pid=,args= -p "${left// /,}" 2>/dev/null | cut -c1-120 | sed 's/^/  /' || true
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null || true
      sleep 0.5
      return 0
    fi
    if [ "$strays_termed" = 0 ] && [ "$(date +%s)" -ge $(( deadline - STOP_TIMEOUT + 5 )) ]; then
      for pid in $left; do
        [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$(ps -o sid= -p "$pid" 2>/dev/null | tr -d ' ')" ] \
          || kill -TERM "$pid" 2>/dev/null || true
      done
      strays_termed=1
    fi
    sleep 0.3
  done
}

stop() {
  mkdir -p "$RUN"
  local names=() name t0 count
  t0=$(date +%s.%N)
  STOPPED=0
  # All at once, one TERM each: 12-15 s here, most of it the api-server's and the Celery workers'
  # graceful shutdown. (Repeating TERM every half second was faster, 5-7 s, but twice left the
  # triggerer's child hanging until the KILL at 30 s; stopping the task side first took 14-20 s.)
  for name in "${ORDER[@]}" $(recorded); do
    [[ " ${names[*]} " == *" $name "* ]] || names+=("$name")
  done
  stop_stage "${names[@]}"
  count=$STOPPED
  for name in "${names[@]}"; do rm -f "$RUN/$name.pid"; done
  if [ -e "$RUN/registry.started-by-stack" ]; then
    local regpid="${DELIVERY_REGISTRY_DIR:-$DELIVERY_STATE/registry}/registry.pid"
    if [ -f "$regpid" ] && kill -0 "$(cat "$regpid")" 2>/dev/null; then kill "$(cat "$regpid")" && say "stopped the registry it started"; fi
    rm -f "$regpid" "$RUN/registry.started-by-stack"
  fi
  if [ -e "$RUN/k8s.started-by-stack" ]; then
    bash "$PROJECT_ROOT/scripts/k8s/stop.sh" >/dev/null 2>&1 && say "stopped the local control plane it started"
    rm -f "$RUN/k8s.started-by-stack"
  fi
  if [ "$count" = 0 ]; then say "not running"; else say "stopped $count components in $(elapsed "$t0") s"; fi
}

status() {
  local name pid down=0
  if [ ! -f "$SAVED_ENV" ]; then say "not running (never started in $STACK_DIR)"; return 1; fi
  source "$SAVED_ENV"
  for name in "${ORDER[@]}"; do
    if alive "$name"; then
      pid="$(pid_of "$name")"
      printf '  %-14s pid %-7s %s\n' "$name" "$pid" "$(healthy "$name" && echo healthy || echo 'running, not healthy')"
    else
      printf '  %-14s %s\n' "$name" "not running"; down=1
    fi
  done
  if [ "$down" = 1 ]; then say "not (fully) running: 'make stack' starts what is missing"; return 1; fi
  summary
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env)
    load_saved_env
    grep -E '^(export|unset) ' "$SAVED_ENV"
    if [ -n "${2:-}" ]; then
      var="STACK_ENV_${2//-/_}"
      declare -p "$var" >/dev/null 2>&1 || { err "no component $2 (one of: ${ORDER[*]})"; exit 2; }
      declare -n extra="$var"
      for kv in ${extra[@]+"${extra[@]}"}; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"; done
    fi
    ;;
  *) echo "usage: $0 start|stop|status|env [component]" >&2; exit 2 ;;
esac
