"""Model stage, per night: every document of the partition with its quality score."""

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.model.plots import score_histogram_png
from winnow.model.registry import ModelRegistry, RegistryError
from winnow.model.scoring import model_drop_expr, score_documents

OWNERS = ["team:data-curation"]


@dg.asset(
    partitions_def=daily_partitions,
    group_name="model",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="Every document of the night, kept or rejected by the filters (`status`), with its "
    "quality_score: P(human keep) from the latest trained quality model (WINNOW_HOME/models/LATEST) once there "
    "are enough human labels, else a heuristic (filter outcome graded by signals). score_source says which; "
    "model_version names the model and model_keep is score >= its calibrated threshold. These scores are the "
    "pre-annotations of the next annotation batch.",
)
def scored_documents(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    filtered_documents: pl.LazyFrame,
    rejected_documents: pl.LazyFrame,
):
    r = recipe.load()
    parts = [
        filtered_documents.with_columns(status=pl.lit("kept")),
        rejected_documents.with_columns(status=pl.lit("rejected")),
    ]
    loaded, note = None, "cold start: no trained quality model yet (heuristic scores)"
    if not r.model.enabled:
        note = "model.enabled is false in the recipe (heuristic scores)"
    else:
        try:
            loaded = ModelRegistry().load()
        except RegistryError as exc:
            note = f"the latest model could not be loaded, heuristic scores used instead: {exc}"
            context.log.error(note)
        if loaded is not None:
            note = f"quality model {loaded.version} (threshold {loaded.threshold})"
    scored = score_documents(parts, loaded, r.model.score_batch_rows)
    by_status = (
        scored.group_by("status")
        .agg(documents=pl.len(), mean_score=pl.col("quality_score").mean(),
             under_threshold=pl.col("model_keep").not_().sum())
        .sort("status")
        .collect()
    )
    hist = score_histogram_png(scored.select("status", "quality_score").collect(),
                               loaded.threshold if loaded is not None else None)
    model_dropped = int(scored.select(model_drop_expr(scored.collect_schema().names())
                                      & (pl.col("status") == "kept")).sum().collect().item())
    return dg.Output(scored, metadata={
        "dagster/row_count": row_count(scored),
        "score_source": "model" if loaded is not None else "heuristic",
        "model_version": loaded.version if loaded is not None else "none",
        "scoring": note,
        "threshold": loaded.threshold if loaded is not None and loaded.threshold is not None else "none",
        "kept_under_threshold": model_dropped,
        "by_status": table_md(by_status),
        **({"score_histogram": png_md(hist, "quality score by filter status")} if hist else {}),
        "preview": preview(scored, ["doc_id", "status", "quality_score", "score_source", "model_keep", "text"]),
    })


@dg.asset(
    partitions_def=daily_partitions,
    group_name="publish",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="The documents that go into tonight's release: passed the filters and deduplication and, once "
    "a quality model exists (and model.apply_threshold), scored at or above its calibrated threshold. Documents "
    "under the threshold stay visible in scored_documents (status kept, model_keep false) and in "
    "deduplicated_documents: nothing is lost.",
)
def curated_documents(context: dg.AssetExecutionContext, recipe: RecipeResource,
                      deduplicated_documents: pl.LazyFrame):
    r = recipe.load()
    names = deduplicated_documents.collect_schema().names()
    below = model_drop_expr(names) if r.model.apply_threshold else pl.lit(False)
    curated = deduplicated_documents.filter(~below)
    n_in, n_out = row_count(deduplicated_documents), row_count(curated)
    dropped = deduplicated_documents.filter(below)
    versions = (deduplicated_documents.select(pl.col("model_version").drop_nulls().unique()).collect()
                ["model_version"].to_list() if "model_version" in names else [])
    return dg.Output(curated, metadata={
        "dagster/row_count": n_out,
        "deduplicated_documents": n_in,
        "dropped_under_model_threshold": n_in - n_out,
        "model_threshold_applied": bool(r.model.apply_threshold and versions),
        "model_version": ", ".join(versions) or "none (heuristic scores: nothing dropped by score)",
        "preview": preview(curated, ["doc_id", "source", "quality_score", "text"]),
        **({"dropped_preview": preview(dropped, ["doc_id", "source", "quality_score", "text"])}
           if n_in != n_out else {}),
    })
