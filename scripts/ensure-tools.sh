#!/usr/bin/env bash
# Installs the system tools that e2e tests and benchmarks drive: Debian's headless
# Chromium (report rendering tests) and wrk (worker benchmark). Idempotent; silent
# when they are already there. Needs root and apt (CI and dev machines here have both).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: missing ${need[*]} and cannot install them (needs root + apt-get)" >&2
  exit 1
fi
echo "ensure-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
