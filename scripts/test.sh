#!/usr/bin/env bash
# The second README command: set everything up and run the whole test suite (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ -x scripts/labelstudio.sh ]; then bash scripts/labelstudio.sh install; fi
export WINNOW_HOME="${WINNOW_HOME:-$(pwd)/.winnow/test-home}"
source scripts/env.sh
bash scripts/check.sh
exec .venv/bin/python -m pytest "$@"
