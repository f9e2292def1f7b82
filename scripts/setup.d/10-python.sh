#!/usr/bin/env bash
# The project's virtualenv in .venv, installed from requirements.lock (uv, pinned).
# Re-installs only when the lock changed (its hash is stored in the venv).
set -euo pipefail
source "$(dirname "$0")/../env.sh"

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "error: Python 3.11 or newer is needed, found: $("$PY" --version 2>&1 || echo none)." >&2
  echo "Fix: install python3.11 (apt-get install python3.11 python3.11-venv) or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
UV_VERSION=0.13.9
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  "$PY" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
# "+bytecode": venvs synced before the venv was compiled are synced (and compiled) once more.
lock_hash="$(sha256sum "$PROJECT_ROOT/requirements.lock" | cut -d' ' -f1)+bytecode"
if [ -f "$VENV/.lock-hash" ] && [ "$(cat "$VENV/.lock-hash")" = "$lock_hash" ]; then
  exit 0
fi
start=$(date +%s)
[ -x "$VENV/bin/python" ] || uv venv --quiet --python "$PY" "$VENV"
# Compiled once here: these machines set PYTHONDONTWRITEBYTECODE=1, so without it every Airflow task
# process compiles mlflow & co. from source again (import mlflow 4.5 s instead of 1.2-1.7 s;
# mlops_train_register over REST 57 s instead of 24 s, docs/mlops.md "Task overhead").
uv pip sync --quiet --compile-bytecode --python "$VENV/bin/python" "$PROJECT_ROOT/requirements.lock"
echo "$lock_hash" > "$VENV/.lock-hash"
echo "python: installed requirements.lock into $VENV in $(( $(date +%s) - start )) s"
