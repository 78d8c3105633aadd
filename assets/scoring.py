"""Model stage, per night: every document of the partition with its quality score."""

import dagster as dg
import polars as pl

from assets.metadata import preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.model.scoring import heuristic_score

OWNERS = ["team:data-curation"]


@dg.asset(
    partitions_def=daily_partitions,
    group_name="model",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="Every document of the night, kept or rejected by the filters (`status`), with its "
    "quality_score: from the trained quality model once there are enough human labels, else heuristic.",
)
def scored_documents(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    filtered_documents: pl.LazyFrame,
    rejected_documents: pl.LazyFrame,
):
    everything = pl.concat(
        [
            filtered_documents.with_columns(status=pl.lit("kept")),
            rejected_documents.with_columns(status=pl.lit("rejected")),
        ],
        how="diagonal_relaxed",
    )
    scored = heuristic_score(everything)
    by_status = (
        scored.group_by("status")
        .agg(documents=pl.len(), mean_score=pl.col("quality_score").mean())
        .sort("status")
        .collect()
    )
    return dg.Output(scored, metadata={
        "dagster/row_count": row_count(scored),
        "by_status": table_md(by_status),
        "score_source": "heuristic",
        "preview": preview(scored, ["doc_id", "status", "quality_score", "text"]),
    })


@dg.asset(
    partitions_def=daily_partitions,
    group_name="publish",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="The documents that go into tonight's release: passed the filters and deduplication.",
)
def curated_documents(context: dg.AssetExecutionContext, deduplicated_documents: pl.LazyFrame):
    curated = deduplicated_documents
    return dg.Output(curated, metadata={
        "dagster/row_count": row_count(curated),
        "preview": preview(curated, ["doc_id", "source", "quality_score", "text"]),
    })
