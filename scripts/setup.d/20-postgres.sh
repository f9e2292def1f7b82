#!/usr/bin/env bash
# PostgreSQL from Debian's packages on 127.0.0.1:5432 with role and database `delivery`
# (password `delivery`): used by the Postgres-backed tests (Optuna RDB storage, Airflow).
# Skipped with a message when not root and the server is missing.
set -euo pipefail
source "$(dirname "$0")/../env.sh"

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "postgres: not installed and not root; Postgres-backed tests will skip. Fix: apt-get install postgresql" >&2
    exit 0
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start
fi
run_psql() { if [ "$(id -u)" = 0 ]; then su postgres -c "psql -qtAX -c \"$1\""; else psql -qtAX -c "$1"; fi; }
if [ "$(run_psql "select 1 from pg_roles where rolname='delivery'")" != 1 ]; then
  run_psql "create role delivery login password 'delivery' createdb"
fi
if [ "$(run_psql "select 1 from pg_database where datname='delivery'")" != 1 ]; then
  run_psql "create database delivery owner delivery"
fi
echo "postgres: $version running on 127.0.0.1:5432 (database delivery)"
