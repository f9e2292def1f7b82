#!/usr/bin/env bash
# The test command: set everything up, then run pytest. Extra arguments go to pytest,
# e.g. `make test ARGS="-m 'not slow'"` or `bash scripts/test.sh tests/include`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash "$PROJECT_ROOT/scripts/setup.sh"
cd "$PROJECT_ROOT"
exec "$VENV/bin/python" -m pytest "$@"
