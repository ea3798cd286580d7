#!/usr/bin/env bash
# Installs the system tools that e2e tests and benchmarks drive: Debian's headless
# Chromium (report rendering tests), wrk (worker benchmark), and a C compiler with
# the Python headers for the compiled click path (engine/worker/_fast.c, which the
# tests require to be built). Idempotent; silent when they are already there.
# Needs root and apt (CI and dev machines here have both).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
py="${PYTHON:-python3}"
if ! "$py" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null; then
  need+=(python3-dev)  # Debian's own Python; other builds (pyenv, python.org) ship their headers
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-tools: missing ${need[*]} and cannot install them (needs root + apt-get)" >&2
  exit 1
fi
echo "ensure-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
