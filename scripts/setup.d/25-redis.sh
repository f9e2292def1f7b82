#!/usr/bin/env bash
# Redis from Debian's package (redis-server, with redis-cli), the Celery broker of the native
# production stack (scripts/stack.sh). Only the binaries are used: the stack starts its own
# redis-server on 127.0.0.1 with a config in its state folder, never the packaged service.
# Installed when root and missing; skipped with a message otherwise.
set -euo pipefail
source "$(dirname "$0")/../env.sh"

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "redis: redis-server is missing and not root; 'make stack' and tests/e2e/test_stack.py need it. Fix: apt-get install redis-server" >&2
    exit 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Do not let the package start its own service on 6379 (a policy-rc.d that says "no" is
  # honoured by invoke-rc.d); the stack runs its own instance.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1; fi
  if ! apt-get install -y -qq --no-install-recommends redis-server >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  fi
  [ "$own_policy" = 1 ] && rm -f "$policy"
fi
echo "redis: $(redis-server --version | awk '{print $3}') ($(command -v redis-server)), started by scripts/stack.sh"
