"""Model stage: quality scores for every document, the model trained on human labels, and estimates."""

import dagster as dg
import polars as pl

from assets.metadata import bullet_md, png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import ExecutionResource, RecipeResource, SettingsResource, StoreResource, execution_md
from winnow.model.gate import NightEstimates, night_estimates
from winnow.model.lifecycle import ModelOutcome, TrainingSet, history_table, scoring_model, train_or_reuse, training_set
from winnow.model.registry import ModelRegistry, RegistryError
from winnow.model.scoring import score_documents, score_summary
from winnow.plots import estimates_png, score_histogram_png
from winnow.release_gate import curated_quality_gate
from winnow.store import Store
from winnow.threshold_suggestions import night_frame, suggestion_markdown, suggestion_table

GROUP = "model"
OWNERS = ["team:data-curation"]
#: Asset check names (module constants, so tests and the UI agree).
CURATED_QUALITY_CHECK = "curated_quality_lower_bound"
#: Tables where labelled documents' features are looked up, in order of preference.
FEATURE_TABLES = ("scored_documents", "document_signals")


@dg.asset(
    partitions_def=daily_partitions,
    kinds={"polars", "parquet"},
    description="Every document of the night, kept or rejected by the filters (`status`), with its "
    "quality_score: P(human keep) from the latest trained quality model ({home}/models/LATEST) once there "
    "are enough human labels, else a heuristic (filter outcome graded by signals). score_source says which; "
    "model_version names the model and model_keep is score >= its calibrated threshold. These scores are the "
    "pre-annotations of the next annotation batch.",
)
def scored_documents(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    settings: SettingsResource,
    store: StoreResource,
    execution: ExecutionResource,
    filtered_documents: pl.LazyFrame,
    rejected_documents: pl.LazyFrame,
):
    cfg = recipe.load().model
    try:
        choice = scoring_model(ModelRegistry(store.store.models), cfg.enabled, cfg.fallback_to_heuristic)
    except RegistryError as exc:
        raise dg.Failure(description=str(exc)) from None
    if choice.failed:
        context.log.error(choice.note)
    runner = execution.runner()
    with store.store.scratch(f"scoring-{context.partition_key}") as work:
        args = (choice.loaded, settings.get().work.score_batch_rows)
        parts = [
            execution.map_shards(runner, frame, score_documents, work / status, "scoring", args=args)
            for status, frame in (
                ("kept", filtered_documents.with_columns(status=pl.lit("kept"))),
                ("rejected", rejected_documents.with_columns(status=pl.lit("rejected"))),
            )
        ]
        yield _scored_output(pl.concat(parts, how="diagonal_relaxed"), choice, runner)


def _scored_output(scored: pl.LazyFrame, choice, runner) -> dg.Output:
    by_status, model_dropped = score_summary(scored)
    loaded = choice.loaded
    threshold = loaded.threshold if loaded is not None else None
    hist = score_histogram_png(scored.select("status", "quality_score").collect(), threshold)
    return dg.Output(
        scored,
        metadata={
            "execution": execution_md(runner),
            "dagster/row_count": row_count(scored),
            "score_source": "model" if loaded is not None else "heuristic",
            "model_version": loaded.version if loaded is not None else "none",
            "scoring": choice.note,
            "threshold": threshold if threshold is not None else "none",
            "kept_under_threshold": model_dropped,
            "by_status": table_md(by_status),
            **png_md("score_histogram", hist, "quality score by filter status"),
            "preview": preview(scored, ["doc_id", "status", "quality_score", "score_source", "model_keep", "text"]),
        },
    )


@dg.asset(
    kinds={"scikitlearn", "parquet"},
    deps=["annotations"],
    description="The quality classifier (scikit-learn logistic regression on the numeric signals plus hashed "
    "word 1-2-grams) trained on every human keep/drop label (ratings weight the examples). Versioned under "
    "{home}/models/{version}/ with a LATEST pointer; records cross-validated ROC-AUC (and the heuristic "
    "baseline's), the calibrated keep threshold (reaching model.target_precision while keeping the most "
    "tokens), precision and recall there, and label counts. Below model.min_labels labels: cold start, no "
    "model, heuristic scores. Equal labels and settings reuse the existing version. The table lists every "
    "version.",
)
def quality_model(context: dg.AssetExecutionContext, recipe: RecipeResource, store: StoreResource):
    r, root = recipe.load(), store.store
    registry = ModelRegistry(root.models)
    annotations = root.table("annotations")
    data = training_set(annotations, _feature_tables(root), r)
    outcome = train_or_reuse(data, r, registry)
    context.log.info(f"quality model {outcome.version or 'none'}: {outcome.status}")
    n_ann = 0 if annotations is None else row_count(annotations)
    return dg.Output(
        history_table(registry, outcome.status if outcome.trained else "current"),
        metadata={
            **_model_metadata(outcome, data, n_ann, r.model.target_precision, registry),
            "dagster/row_count": len(registry.versions()),
        },
    )


def _feature_tables(root: Store) -> dict:
    return {name: root.table_files(name) for name in FEATURE_TABLES}


def _num(v):
    return round(float(v), 4) if isinstance(v, (int, float)) else "n/a"


def _model_metadata(
    outcome: ModelOutcome, data: TrainingSet, n_annotations: int, target: float, registry: ModelRegistry
) -> dict:
    common = {
        "label_counts": table_md(pl.DataFrame([data.counts])),
        "annotation_rows": n_annotations,
        "problems": bullet_md(data.problems),
        "held_out_labels": data.held_out,
        "status": outcome.status,
        "version": outcome.version or "none",
    }
    if not outcome.trained:
        latest = outcome.version
        return {**common, "score_source": "heuristic" if latest is None else f"model {latest} (trained earlier; kept)"}
    m = outcome.metrics
    return {
        **common,
        "score_source": f"model {outcome.version}",
        "path": dg.MetadataValue.path(str(registry.root / outcome.version)),
        **{k: _num(m.get(k)) for k in ("cv_roc_auc", "heuristic_roc_auc", "threshold")},
        "cv_folds": m.get("cv_folds"),
        "threshold_reachable": bool(m.get("threshold_reachable")),
        "target_precision": target,
        **{
            k: _num(m.get(k))
            for k in ("precision_at_threshold", "recall_at_threshold", "tokens_kept_share_at_threshold")
        },
        "calibration_basis": str(m.get("calibration_basis")),
        **png_md("precision_vs_tokens", outcome.calibration_chart, "precision vs tokens kept"),
    }


@dg.asset(
    partitions_def=daily_partitions,
    kinds={"polars", "parquet"},
    deps=["annotations"],
    check_specs=[
        dg.AssetCheckSpec(
            CURATED_QUALITY_CHECK,
            asset="quality_estimates",
            blocking=True,
            description="The lower 95% bound of the curated keep share is at least estimates.min_curated_quality "
            "(judged once the night's curated documents have estimates.min_labels random-sample labels; before "
            "that it passes, saying there are not enough labels). Blocking: a failure stops the release.",
        )
    ],
    description="Design-based estimates for the night, from the random stratified sample and its inclusion "
    "probabilities (only sample_kind random/rejected labels; active labels only train the model): the human "
    "keep share of documents and of tokens in the raw, kept, curated and rejected sets, the mean rating, and "
    "the false-drop rate per filter family and of the model threshold. Stratified ratio estimator, "
    "delete-one jackknife variance, Wilson 95% interval at the design effective sample size. Columns: "
    "population, metric, estimate, lower, upper, n_labels, method.",
)
def quality_estimates(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    store: StoreResource,
    scored_documents: pl.LazyFrame,
    curated_documents: pl.LazyFrame,
):
    r, night, root = recipe.load(), context.partition_key, store.store
    est = night_estimates(
        r, night, root.table("annotations"), root.table("annotation_sample", [night]),
        scored_documents, curated_documents,
    )  # fmt: skip
    suggestions = suggestion_table(r, est.units, night_frame(scored_documents, r)) if est.units is not None else None
    meta = _estimates_metadata(est, night)
    meta["threshold_suggestions"] = (
        table_md(suggestion_markdown(suggestions))
        if suggestions is not None and suggestions.height
        else dg.MetadataValue.md("_no rule drops with labels yet_")
    )
    yield dg.Output(est.table, metadata=meta)
    verdict = curated_quality_gate(est.table, r, night)
    yield dg.AssetCheckResult(
        check_name=CURATED_QUALITY_CHECK, passed=verdict.passed, severity=dg.AssetCheckSeverity.ERROR,
        metadata=verdict.metadata,
    )  # fmt: skip


def _estimates_metadata(est: NightEstimates, night: str) -> dict:
    table = est.table
    return {
        "dagster/row_count": table.height,
        "status": (
            f"{est.design_labels} random/rejected-sample labels for {night}"
            if est.design_labels
            else f"no labels for {night} yet: no estimates (cold start)"
        ),
        "design_labels": est.design_labels,
        "active_labels_excluded": est.active_labels,
        "estimates": table_md(table.select("population", "metric", "estimate", "lower", "upper", "n_labels")),
        **png_md("chart", estimates_png(table), "estimates with 95% intervals"),
        "coverage": dg.MetadataValue.json(est.coverage),
        "method": table["method"][0] if table.height else "n/a",
        "problems": bullet_md(est.problems),
        "preview": preview(table),
    }
