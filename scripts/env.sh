# Sourced by the demo and test scripts: one data directory holds everything.
export WINNOW_HOME="${WINNOW_HOME:-$(pwd)/.winnow}"
export DAGSTER_HOME="${DAGSTER_HOME:-$WINNOW_HOME/dagster_home}"
mkdir -p "$DAGSTER_HOME"
# An instance config silences Dagster's "no dagster.yaml" warning; SQLite storage by default.
[ -f "$DAGSTER_HOME/dagster.yaml" ] || printf 'telemetry:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
export POLARS_MAX_THREADS="${POLARS_MAX_THREADS:-2}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
