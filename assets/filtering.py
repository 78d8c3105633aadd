"""Curate stage, part 1: quality signals and rule-based filtering."""


import dagster as dg
import polars as pl

from assets.metadata import preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.filters import apply_filters, funnel
from winnow.signals import compute_signals

OWNERS = ["team:data-curation"]


@dg.asset(
    partitions_def=daily_partitions,
    group_name="curate",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="raw_documents plus one column per quality signal (Gopher, C4, FineWeb, language ID, PII) "
    "and the PII-redacted text annotators will see.",
)
def document_signals(context: dg.AssetExecutionContext, recipe: RecipeResource, raw_documents: pl.LazyFrame):
    out = compute_signals(raw_documents, recipe.load())
    return dg.Output(out, metadata={"dagster/row_count": row_count(raw_documents)})


@dg.multi_asset(
    outs={
        "filtered_documents": dg.AssetOut(
            description="Documents that pass every rule of the recipe.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
        "rejected_documents": dg.AssetOut(
            description="Documents removed by a rule, with drop_reason (first failing rule) and drop_family. Kept, never lost.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
    },
    partitions_def=daily_partitions,
)
def filtering(context: dg.AssetExecutionContext, recipe: RecipeResource, document_signals: pl.LazyFrame):
    """Apply all filters in one vectorized pass; split kept and rejected."""
    decided = apply_filters(document_signals, recipe.load())
    table = funnel(decided)
    kept = decided.filter(pl.col("keep"))
    rejected = decided.filter(~pl.col("keep"))
    yield dg.Output(kept, output_name="filtered_documents", metadata={
        "dagster/row_count": row_count(kept), "funnel": table_md(table),
        "preview": preview(kept, ["doc_id", "source", "lang_detected", "text"]),
    })
    yield dg.Output(rejected, output_name="rejected_documents", metadata={
        "dagster/row_count": row_count(rejected),
        "preview": preview(rejected, ["doc_id", "drop_reason", "text"]),
    })
