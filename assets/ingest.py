"""Ingest stage: raw files to canonical documents, with a quarantine for bad rows."""

import dagster as dg
import polars as pl

from assets.metadata import bullet_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import ExecutionResource, RecipeResource, SettingsResource, StoreResource, execution_md
from winnow.ingest import IngestResult, ingest_partition

GROUP = "ingest"
OWNERS = ["team:data-curation"]
FILES_CHECK = "all_files_readable"


@dg.multi_asset(
    outs={
        "raw_documents": dg.AssetOut(
            description="Every readable input document of the night in the canonical schema "
            "(schemas/documents.py), with a stable doc_id.",
            kinds={"polars", "parquet"},
        ),
        "quarantine": dg.AssetOut(
            description="Input rows or files that could not become documents, each with its "
            "source file, line, raw excerpt and reason code. Nothing is silently dropped.",
            kinds={"polars", "parquet"},
        ),
    },
    partitions_def=daily_partitions,
    check_specs=[
        dg.AssetCheckSpec(
            FILES_CHECK,
            asset="raw_documents",
            description="Every input file was read to the end; a truncated or corrupt file is named here.",
        )
    ],
)
def ingest(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    settings: SettingsResource,
    store: StoreResource,
    execution: ExecutionResource,
):
    """Read every source of the recipe for this partition (one job per file); bad rows go to quarantine."""
    night = context.partition_key
    runner = execution.runner(workers=settings.get().work.ingest_workers)
    with store.store.scratch(f"ingest-{night}") as work:
        res = ingest_partition(recipe.load(), recipe.recipe_dir, night, work_dir=work, runner=runner)
        for err in res.errors:
            context.log.error(f"ingest error: {err}")
        metadata = {**_documents_metadata(res), "execution": execution_md(runner)}
        yield dg.Output(res.documents, output_name="raw_documents", metadata=metadata)
        yield dg.Output(res.quarantine, output_name="quarantine", metadata=_quarantine_metadata(res))
        yield dg.AssetCheckResult(
            check_name=FILES_CHECK,
            asset_key="raw_documents",
            passed=not res.errors,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(res.errors) or "all files read",
            metadata={"failed_files": bullet_md(res.errors)},
        )


def _documents_metadata(res: IngestResult) -> dict:
    return {
        "dagster/row_count": row_count(res.documents),
        "files": table_md(pl.DataFrame(res.files)) if res.files else dg.MetadataValue.md("_no input files_"),
        "failed_files": len(res.errors),
        "preview": preview(res.documents, ["doc_id", "source", "lang", "url", "text"]),
    }


def _quarantine_metadata(res: IngestResult) -> dict:
    reasons = res.quarantine.group_by("reason").agg(rows=pl.len()).sort("rows", descending=True).collect()
    return {
        "dagster/row_count": int(reasons["rows"].sum()) if reasons.height else 0,
        "reasons": table_md(reasons),
        "errors": bullet_md(res.errors),
        "preview": preview(res.quarantine, ["source_file", "source_line", "reason", "message"]),
    }
