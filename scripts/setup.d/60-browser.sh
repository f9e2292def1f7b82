#!/usr/bin/env bash
# Headless Chromium (Debian's `chromium` package) for the UI checks, driven by Playwright (tests/e2e/browser.py):
# it loads each DAG's trigger form and saves a screenshot. Installed when root and missing;
# otherwise the UI test skips with a message (and fails in CI, which runs as root).
set -euo pipefail
source "$(dirname "$0")/../env.sh"

find_chromium() { command -v chromium || command -v chromium-browser || command -v google-chrome || true; }
bin="$(find_chromium)"
if [ -z "$bin" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "browser: chromium is not installed and not root; the UI trigger-form test will skip. Fix: apt-get install chromium" >&2
    exit 0
  fi
  start=$(date +%s)
  # A lock held by another apt run is waited for (up to 5 minutes) instead of failing.
  apt_opts=(-o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" chromium >/dev/null 2>&1; then
    apt-get update -qq -o DPkg::Lock::Timeout=300
    DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" chromium >/dev/null
  fi
  bin="$(find_chromium)"
  echo "browser: installed $("$bin" --version 2>/dev/null | head -1) in $(( $(date +%s) - start )) s"
  exit 0
fi
echo "browser: $("$bin" --version 2>/dev/null | head -1) at $bin"
