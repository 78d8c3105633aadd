#!/usr/bin/env bash
# Run nightly_curation on the persistent Dagster instance for each bundled sample night, in order.
#   bash scripts/run_nights.sh [WHY]     (WHY is printed with each night; env.sh must be sourced)
set -euo pipefail
cd "$(dirname "$0")/.."
for night in $(ls -d data/sample/20??-??-?? | xargs -n1 basename | sort); do
  echo "nightly_curation for partition $night${1:+ ($1)}"
  .venv/bin/python -m pipelines.launch nightly_curation --partition "$night"
done
