"""Pull completed annotations from Label Studio, incrementally.

Only tasks whose ``updated_at`` is newer than the last pull's watermark (minus a
small safety margin) are fetched, through the JSON export restricted to those task
ids; all rows of a changed task are replaced by the fresh ones, so an updated
annotation replaces the older one and a deleted one disappears. Never walks every
task of the project on a routine pull.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from winnow.annotation.labelstudio import LabelStudioClient
from winnow.annotation.parse import ParseReport, newest_per_annotator, parse_export

#: Re-read this much before the watermark: cheap insurance against clock ties.
SAFETY_MARGIN = timedelta(seconds=60)


@dataclass
class PullStats:
    project_id: int | None
    since: datetime | None
    changed_tasks: int = 0
    fresh_rows: int = 0
    total_rows: int = 0
    seconds: float = 0.0
    report: ParseReport = field(default_factory=ParseReport)


def watermark(previous: pl.DataFrame | None) -> datetime | None:
    if previous is None or previous.height == 0 or "task_updated_at" not in previous.columns:
        return None
    return previous["task_updated_at"].max()  # type: ignore[return-value]


def latest_change(client: LabelStudioClient, project_id: int, since: datetime | None) -> datetime | None:
    """The newest ``updated_at`` among annotated tasks changed after ``since`` (for the sensor)."""
    changed = client.changed_tasks(project_id, since)
    if not changed:
        return None
    return max(_parse_ts(t["updated_at"]) for t in changed)


def _parse_ts(v: str) -> datetime:
    return datetime.fromisoformat(v.replace("Z", "+00:00"))


def pull_annotations(
    client: LabelStudioClient,
    project_id: int,
    previous: pl.DataFrame | None,
    safety_margin: timedelta = SAFETY_MARGIN,
) -> tuple[pl.DataFrame, PullStats]:
    t0 = time.perf_counter()
    if (
        previous is not None
        and "project_id" in previous.columns
        and previous.height
        and previous["project_id"].unique().to_list() != [project_id]
    ):
        previous = None  # another project (or server): start over
    mark = watermark(previous)
    since = mark - safety_margin if mark is not None else None
    stats = PullStats(project_id=project_id, since=since)
    changed = client.changed_tasks(project_id, since)
    stats.changed_tasks = len(changed)
    updated = {int(t["id"]): _parse_ts(t["updated_at"]) for t in changed}
    exported = client.export_tasks(project_id, list(updated)) if updated else []
    fresh = parse_export(exported, client.users() if exported else {}, project_id, stats.report)
    fresh = fresh.with_columns(
        task_updated_at=pl.col("task_id").replace_strict(updated, default=None, return_dtype=pl.Datetime("us", "UTC"))
    )
    stats.fresh_rows = fresh.height
    if previous is not None and previous.height:
        # a table pulled by an older Winnow lacks the newer columns: they start out null
        missing = [pl.lit(None, dtype=t).alias(c) for c, t in fresh.schema.items() if c not in previous.columns]
        kept = previous.with_columns(missing).select(fresh.columns).filter(~pl.col("task_id").is_in(list(updated)))
        merged = newest_per_annotator(pl.concat([kept, fresh], how="vertical_relaxed"))
    else:
        merged = fresh
    stats.total_rows = merged.height
    stats.seconds = time.perf_counter() - t0
    return merged, stats


def pull_project(
    client: LabelStudioClient, title: str, previous: pl.DataFrame | None, safety_margin: timedelta = SAFETY_MARGIN
) -> tuple[pl.DataFrame, PullStats, int] | None:
    """Pull the project titled ``title`` into the previous table; None when there is no such project yet."""
    try:
        client.wait_healthy()
        project_id = client.find_project(title)
        if project_id is None:
            return None
        table, stats = pull_annotations(client, project_id, previous, safety_margin)
    finally:
        client.close()
    return table, stats, project_id


#: design columns of a label that come from the night's annotation_sample (blind tasks do not carry them)
DESIGN_FROM_SAMPLE = {
    "stratum": pl.String,
    "inclusion_prob": pl.Float64,
    "sample_kind": pl.String,
    "stratum_size": pl.Int64,
    "holdout": pl.Boolean,
}


def attach_design(table: pl.DataFrame, sample_files: Sequence[Path]) -> pl.DataFrame:
    """Fill each label's design columns from the sample it was drawn in (by doc_id and night).

    The stored sample is the authority; a task's own data (active tasks, or projects
    filled before tasks were blind) is the fallback for labels whose sample is gone.
    """
    parts = []
    for path in sample_files:
        names = pl.read_parquet_schema(path)
        if not {"doc_id", "partition"} <= set(names):
            continue
        cols = [
            pl.col(c).cast(t).alias(f"_s_{c}") if c in names else pl.lit(None, dtype=t).alias(f"_s_{c}")
            for c, t in DESIGN_FROM_SAMPLE.items()
        ]
        shown = pl.col("task_doc_id") if "task_doc_id" in names else pl.col("doc_id")
        parts.append(pl.scan_parquet(path).select("doc_id", "partition", *cols, _shown=shown).collect())
    if not parts or table.height == 0:
        return table
    design = pl.concat(parts).unique(["doc_id", "partition"], keep="last")
    # a task shows task_doc_id (PII-free); its label belongs to the sample's doc_id
    real = design.select("_shown", "partition", _real="doc_id").unique(["_shown", "partition"], keep="last")
    table = (
        table.join(real, left_on=["doc_id", "partition"], right_on=["_shown", "partition"], how="left")
        .with_columns(doc_id=pl.coalesce("_real", "doc_id"))
        .drop("_real")
    )
    design = design.drop("_shown")
    joined = table.join(design, on=["doc_id", "partition"], how="left")
    return joined.with_columns(
        [pl.coalesce(pl.col(f"_s_{c}"), pl.col(c).cast(t)).alias(c) for c, t in DESIGN_FROM_SAMPLE.items()]
    ).drop([f"_s_{c}" for c in DESIGN_FROM_SAMPLE])
