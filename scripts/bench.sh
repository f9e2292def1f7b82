#!/usr/bin/env bash
# Print every benchmark's numbers (bench/bench_*.py). `bash scripts/bench.sh parse` runs one.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash "$PROJECT_ROOT/scripts/setup.sh"
cd "$PROJECT_ROOT"
for script in bench/bench_${1:-*}.py; do
  echo "=== $script"
  "$VENV/bin/python" "$script"
done
