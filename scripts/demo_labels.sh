#!/usr/bin/env bash
# After `make demo`: close the human loop on the sample, the way it runs in production.
#   1. two demo annotators label the Label Studio queue (scripts/demo_annotate.py);
#   2. the annotation_pull job (what the label_studio_annotations sensor launches) pulls the
#      labels, measures agreement and trains the quality model;
#   3. nightly_curation runs again for each sample night: model scores, the calibrated
#      threshold, human-estimated quality with 95% intervals in the card;
#   4. each release is verified and printed, and the estimates are set against the ground truth.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
if ! ls "$WINNOW_HOME"/storage/raw_documents/*.parquet >/dev/null 2>&1; then
  bash scripts/demo.sh   # the nights must have run (and pushed their samples) first
fi
bash scripts/labelstudio.sh start
.venv/bin/python -m scripts.demo_annotate
.venv/bin/python -m pipelines.launch annotation_pull
bash scripts/run_nights.sh "again, now with labels and a model"
.venv/bin/python -m scripts.show_releases
echo
echo "Human estimates against the sample's ground truth (scripts/corpus/sample_truth.py):"
.venv/bin/python -m scripts.estimates_vs_truth
echo
echo "The cards now carry human estimates and agreement: $WINNOW_HOME/releases/*/*/README.md"
