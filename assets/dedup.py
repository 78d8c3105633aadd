"""Curate stage, part 2: exact and near-duplicate removal."""


import dagster as dg
import polars as pl

from assets.metadata import preview, row_count
from assets.partitions import daily_partitions
from winnow.dedup.exact import mark_exact_duplicates

OWNERS = ["team:data-curation"]


@dg.multi_asset(
    outs={
        "deduplicated_documents": dg.AssetOut(
            description="Documents kept by the filters, with exact and near duplicates removed; one kept per cluster.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
        "duplicates": dg.AssetOut(
            description="Documents removed as duplicates, each naming the doc_id that was kept instead.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
    },
    partitions_def=daily_partitions,
)
def deduplication(context: dg.AssetExecutionContext, scored_documents: pl.LazyFrame):
    kept_by_filters = scored_documents.filter(pl.col("status") == "kept")
    marked = mark_exact_duplicates(kept_by_filters).with_columns(dup_of=pl.col("exact_dup_of"), dup_kind=pl.lit("exact"))
    kept = marked.filter(pl.col("dup_of").is_null())
    dups = marked.filter(pl.col("dup_of").is_not_null())
    yield dg.Output(kept, output_name="deduplicated_documents", metadata={
        "dagster/row_count": row_count(kept), "preview": preview(kept, ["doc_id", "content_hash", "text"]),
    })
    yield dg.Output(dups, output_name="duplicates", metadata={
        "dagster/row_count": row_count(dups), "preview": preview(dups, ["doc_id", "dup_of", "dup_kind"]),
    })
