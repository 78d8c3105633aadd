"""Publish stage: the versioned, atomic release."""


import json

import dagster as dg
import polars as pl

from assets.partitions import daily_partitions
from assets.resources import RecipeResource, ReleaseStoreResource
from winnow.publish.release import write_release

OWNERS = ["team:data-curation"]


@dg.asset(
    partitions_def=daily_partitions,
    group_name="publish",
    owners=OWNERS,
    kinds={"parquet"},
    description="The night's curated documents published as releases/<dataset>/<version>/: zstd "
    "Parquet shards and a manifest.json with sha256 and rows per shard. Written atomically.",
)
def curated_release(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    releases: ReleaseStoreResource,
    curated_documents: pl.LazyFrame,
) -> dg.MaterializeResult:
    spec = recipe.load()
    path = write_release(
        curated_documents,
        releases.path,
        spec.publish.dataset,
        context.partition_key,
        extra_manifest={"recipe": {"name": spec.name, "version": spec.version, "sha256": spec.content_hash()}},
    )
    manifest = json.loads((path / "manifest.json").read_text())
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "dagster/row_count": manifest["totals"]["rows"],
        "shards": len(manifest["shards"]),
    })
