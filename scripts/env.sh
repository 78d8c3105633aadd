# Sourced by the demo and test scripts: one data directory holds everything.
export WINNOW_HOME="${WINNOW_HOME:-$(pwd)/.winnow}"
export DAGSTER_HOME="${DAGSTER_HOME:-$WINNOW_HOME/dagster_home}"
mkdir -p "$DAGSTER_HOME"
# raw text with PII, labels and the Dagster databases: owner only (settings data_dir_mode for Winnow's own)
chmod 700 "$WINNOW_HOME" "$DAGSTER_HOME"
# The instance config (pipelines/dagster.yaml): run monitoring marks killed runs failed; SQLite storage.
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp "$(dirname "${BASH_SOURCE[0]}")/../pipelines/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
export POLARS_MAX_THREADS="${POLARS_MAX_THREADS:-2}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
