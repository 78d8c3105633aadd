"""Jobs and the nightly schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

from assets.partitions import daily_partitions
from winnow.settings import ScheduleSettings, WorkSettings


def nightly_keys(asset_defs: Sequence[dg.AssetsDefinition]) -> list[dg.AssetKey]:
    """Keys of every asset partitioned by night: the nightly job runs exactly these."""
    return [k for a in asset_defs if a.partitions_def == daily_partitions for k in a.keys]


def night_executor(work: WorkSettings) -> dg.ExecutorDefinition:
    """The executor ``work.executor`` names (docs/operations.md says when each applies)."""
    if work.executor == "in_process":
        return dg.in_process_executor
    return dg.multiprocess_executor.configured({"max_concurrent": work.max_concurrent_steps})


def build_nightly_job(
    asset_defs: Sequence[dg.AssetsDefinition], work: WorkSettings | None = None
) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name="nightly_curation",
        selection=dg.AssetSelection.assets(*nightly_keys(asset_defs)),
        description="Ingest, filter, deduplicate, score, sample for annotation and publish one night of data.",
        executor_def=night_executor(work or WorkSettings()),
    )


def nightly_schedule(job: dg.UnresolvedAssetJobDefinition, cfg: ScheduleSettings) -> dg.ScheduleDefinition:
    """Run the nightly job on the previous day's partition, at the settings' cron (02:00 UTC by default)."""

    @dg.schedule(
        name="nightly_curation_schedule",
        job=job,
        cron_schedule=cfg.cron,
        execution_timezone=cfg.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Curate yesterday's data every night ({cfg.cron}, {cfg.timezone}).",
    )
    def _nightly(context: dg.ScheduleEvaluationContext):
        day = (context.scheduled_execution_time - timedelta(days=1)).strftime("%Y-%m-%d")
        return dg.RunRequest(run_key=day, partition_key=day)

    return _nightly
