#!/usr/bin/env bash
# The first README command: set everything up and run the nightly job on the bundled sample.
#   - installs .venv (scripts/setup.sh) and Label Studio (scripts/labelstudio.sh), idempotently;
#   - starts Label Studio on 127.0.0.1 so the nightly run pushes the annotation sample
#     (WINNOW_DEMO_LABEL_STUDIO=0 skips it);
#   - runs `nightly_curation` with the dagster CLI for each sample night, in order;
#   - verifies each release's manifest against its files and prints where things are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh

if [ "${WINNOW_DEMO_LABEL_STUDIO:-1}" = "1" ] && [ -x scripts/labelstudio.sh ]; then
  bash scripts/labelstudio.sh start
fi

bash scripts/run_nights.sh

.venv/bin/python -m scripts.show_releases
cat <<MSG

Open the Dagster UI:   source scripts/env.sh && .venv/bin/dagster dev -w workspace.yaml   (then http://127.0.0.1:3000)
MSG
if [ "${WINNOW_DEMO_LABEL_STUDIO:-1}" = "1" ] && [ -x scripts/labelstudio.sh ]; then
  bash scripts/labelstudio.sh status || true
fi
