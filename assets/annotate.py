"""Annotate stage: the fixed-fraction human sample."""


import dagster as dg
import polars as pl

from assets.metadata import preview, row_count
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.annotation.sampling import select_sample

OWNERS = ["team:annotation"]


@dg.asset(
    partitions_def=daily_partitions,
    group_name="annotate",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="A deterministic fixed fraction of the night's documents for human labelling, "
    "chosen by hashing doc_id with the recipe seed; each row carries its inclusion probability.",
)
def annotation_sample(context: dg.AssetExecutionContext, recipe: RecipeResource, scored_documents: pl.LazyFrame):
    sample = select_sample(scored_documents, recipe.load())
    return dg.Output(sample, metadata={
        "dagster/row_count": row_count(sample),
        "preview": preview(sample, ["doc_id", "stratum", "inclusion_prob", "text"]),
    })
