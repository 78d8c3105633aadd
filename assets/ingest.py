"""Ingest stage: raw files to canonical documents, with a quarantine for bad rows."""


import shutil
from pathlib import Path
import tempfile

import dagster as dg
import polars as pl

from assets.metadata import preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.ingest import ingest_partition
from winnow.paths import winnow_home

OWNERS = ["team:data-curation"]


@dg.multi_asset(
    outs={
        "raw_documents": dg.AssetOut(
            description="Every readable input document of the night in the canonical schema "
            "(schemas/documents.py), with a stable doc_id.",
            group_name="ingest",
            owners=OWNERS,
            kinds={"polars", "parquet"},
        ),
        "quarantine": dg.AssetOut(
            description="Input rows or files that could not become documents, each with its "
            "source file, line, raw excerpt and reason code. Nothing is silently dropped.",
            group_name="ingest",
            owners=OWNERS,
            kinds={"polars", "parquet"},
        ),
    },
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec(
            "all_files_readable",
            asset="raw_documents",
            description="Every input file was read to the end; a truncated or corrupt file is named here.",
        )
    ],
)
def ingest(context: dg.AssetExecutionContext, recipe: RecipeResource):
    """Read every source of the recipe for this partition; bad rows go to quarantine."""
    spec = recipe.load()
    work = winnow_home() / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f"ingest-{context.partition_key}-", dir=work)
    try:
        res = ingest_partition(spec, recipe.recipe_dir, context.partition_key, work_dir=Path(tmp))
        for err in res.errors:
            context.log.error(f"ingest error: {err}")
        n_docs = row_count(res.documents)
        reasons = res.quarantine.group_by("reason").agg(rows=pl.len()).sort("rows", descending=True).collect()
        yield dg.Output(
            res.documents,
            output_name="raw_documents",
            metadata={
                "dagster/row_count": n_docs,
                "files": table_md(pl.DataFrame(res.files)) if res.files else dg.MetadataValue.md("_no input files_"),
                "failed_files": len(res.errors),
                "preview": preview(res.documents, ["doc_id", "source", "lang", "url", "text"]),
            },
        )
        yield dg.Output(
            res.quarantine,
            output_name="quarantine",
            metadata={
                "dagster/row_count": int(reasons["rows"].sum()) if reasons.height else 0,
                "reasons": table_md(reasons),
                "errors": dg.MetadataValue.md("\n".join(f"- {e}" for e in res.errors) or "_none_"),
                "preview": preview(res.quarantine, ["source_file", "source_line", "reason", "message"]),
            },
        )
        yield dg.AssetCheckResult(
            check_name="all_files_readable",
            asset_key="raw_documents",
            passed=not res.errors,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(res.errors) or "all files read",
            metadata={"failed_files": dg.MetadataValue.md("\n".join(f"- {e}" for e in res.errors) or "_none_")},
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
