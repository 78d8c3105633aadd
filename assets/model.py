"""Model stage: the quality model trained on human labels and quality estimates."""

import sklearn
import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.model.estimates import (
    ESTIMATE_SCHEMA,
    design_units,
    estimate_table,
    night_documents,
)
from winnow.model.plots import calibration_png, estimates_png
from winnow.model.registry import ModelRegistry
from winnow.model.train import (
    aggregate_labels,
    label_counts,
    labels_fingerprint,
    load_label_documents,
    ready_to_train,
    train_quality_model,
)
from winnow.paths import optional_table, storage_dir

OWNERS = ["team:data-curation"]

#: Asset check names (module constants, so tests and the UI agree).
CURATED_QUALITY_CHECK = "curated_quality_lower_bound"

MODEL_TABLE_SCHEMA = {
    "version": pl.String, "status": pl.String, "latest": pl.Boolean, "created_at": pl.String,
    "labelled_documents": pl.Int64, "cv_roc_auc": pl.Float64, "heuristic_roc_auc": pl.Float64,
    "threshold": pl.Float64, "precision_at_threshold": pl.Float64, "recall_at_threshold": pl.Float64,
    "tokens_kept_share_at_threshold": pl.Float64,
}


def _history(registry: ModelRegistry, status: str) -> pl.DataFrame:
    """One row per stored model version (newest first)."""
    latest = registry.latest_version()
    rows = []
    for v in reversed(registry.versions()):
        m = registry.meta(v)
        rows.append({
            "version": v, "status": status if v == latest else "stored", "latest": v == latest,
            "created_at": m.get("created_at"), "labelled_documents": m.get("label_counts", {}).get("documents"),
            **{k: m.get("metrics", {}).get(k) for k in ("cv_roc_auc", "heuristic_roc_auc", "threshold",
                                                        "precision_at_threshold", "recall_at_threshold",
                                                        "tokens_kept_share_at_threshold")},
        })
    return pl.DataFrame(rows, schema=MODEL_TABLE_SCHEMA)


def _num(v):
    return round(float(v), 4) if isinstance(v, (int, float)) and v is not None else "n/a"


@dg.asset(
    group_name="model",
    owners=OWNERS,
    kinds={"scikitlearn", "parquet"},
    deps=["annotations"],
    description="The quality classifier (scikit-learn logistic regression on the numeric signals plus hashed "
    "word 1-2-grams) trained on every human keep/drop label (ratings weight the examples). Versioned under "
    "`WINNOW_HOME/models/<version>/` with a LATEST pointer; records cross-validated ROC-AUC (and the heuristic "
    "baseline's), the calibrated keep threshold (reaching model.target_precision while keeping the most "
    "tokens), precision and recall there, and label counts. Below model.min_labels labels: cold start, no "
    "model, heuristic scores. Equal labels and settings reuse the existing version. The table lists every "
    "version.",
)
def quality_model(context: dg.AssetExecutionContext, recipe: RecipeResource):
    r = recipe.load()
    cfg = r.model
    registry = ModelRegistry()
    ann = optional_table("annotations")
    labels, problems = aggregate_labels(ann if ann is not None else pl.DataFrame(), cfg.rating_weight)
    docs = load_label_documents(labels["doc_id"].to_list(), storage_dir()) if labels.height else pl.DataFrame(
        schema={"doc_id": pl.String})
    train = labels.join(docs, on="doc_id", how="inner")
    without_docs = labels.height - train.height
    if without_docs:
        problems.append(f"{without_docs} labelled documents have no stored row in scored_documents or "
                        "document_signals (their features are unknown); not used for training")
    counts = label_counts(train)
    ok, why = ready_to_train(train, cfg)
    common = {
        "label_counts": table_md(pl.DataFrame([counts])),
        "annotation_rows": 0 if ann is None else int(ann.select(pl.len()).collect().item()),
        "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "_none_"),
    }
    if not ok:
        latest = registry.latest_version()
        context.log.info(why)
        return dg.Output(_history(registry, "current"), metadata={
            **common,
            "status": why,
            "score_source": "heuristic" if latest is None else f"model {latest} (trained earlier; kept)",
            "version": latest or "none",
            "dagster/row_count": len(registry.versions()),
        })

    fingerprint = labels_fingerprint(train.select(list(labels.columns)), cfg, r.seed,
                                     extra=",".join(sorted(docs.columns)))
    latest = registry.latest_version()
    reused = registry.find_fingerprint(fingerprint)
    if reused is not None:
        if reused != latest:
            registry.set_latest(reused)
        meta = registry.meta(reused)
        version, status, chart = reused, f"unchanged labels and settings: version {reused} reused", None
        metrics = meta["metrics"]
    else:
        result = train_quality_model(train, cfg, seed=r.seed)
        metrics = result.metrics
        meta = {
            "metrics": metrics,
            "threshold": result.calibration.threshold,
            "calibration": result.calibration.summary(),
            "label_counts": counts,
            "fingerprint": fingerprint,
            "recipe": {"name": r.name, "version": r.version, "sha256": r.content_hash()},
            "model_config": cfg.model_dump(mode="json"),
            "features": {"numeric": result.spec.numeric, "n_features": result.spec.n_features,
                         "ngram_max": result.spec.ngram_max, "max_chars": result.spec.max_chars,
                         "edge_lines": result.spec.edge_lines},
            "libraries": {"scikit-learn": sklearn.__version__, "polars": pl.__version__},
        }
        version = registry.save(result.model, meta, result.calibration.curve)
        status, chart = f"trained {version}", calibration_png(result.calibration)
    context.log.info(f"quality model {version}: {status}")
    return dg.Output(_history(registry, status), metadata={
        **common,
        "status": status,
        "version": version,
        "score_source": f"model {version}",
        "path": dg.MetadataValue.path(str(registry.root / version)),
        "cv_roc_auc": _num(metrics.get("cv_roc_auc")),
        "heuristic_roc_auc": _num(metrics.get("heuristic_roc_auc")),
        "cv_folds": metrics.get("cv_folds"),
        "threshold": _num(metrics.get("threshold")),
        "threshold_reachable": bool(metrics.get("threshold_reachable")),
        "target_precision": cfg.target_precision,
        "precision_at_threshold": _num(metrics.get("precision_at_threshold")),
        "recall_at_threshold": _num(metrics.get("recall_at_threshold")),
        "tokens_kept_share_at_threshold": _num(metrics.get("tokens_kept_share_at_threshold")),
        "calibration_basis": str(metrics.get("calibration_basis")),
        **({"precision_vs_tokens": png_md(chart, "precision vs tokens kept")} if chart else {}),
        "dagster/row_count": len(registry.versions()),
    })


@dg.asset(
    partitions_def=daily_partitions,
    group_name="model",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    deps=["annotations"],
    check_specs=[dg.AssetCheckSpec(
        CURATED_QUALITY_CHECK, asset="quality_estimates", blocking=True,
        description="The lower 95% bound of the curated keep share is at least estimates.min_curated_quality "
        "(judged once the night's curated documents have estimates.min_labels random-sample labels; before "
        "that it passes, saying there are not enough labels). Blocking: a failure stops the release.",
    )],
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
    scored_documents: pl.LazyFrame,
    curated_documents: pl.LazyFrame,
):
    r = recipe.load()
    cfg = r.estimates
    night = context.partition_key
    ann = optional_table("annotations")
    night_ann = ann.filter(pl.col("partition") == night).collect() if ann is not None else pl.DataFrame()
    labels, problems = aggregate_labels(night_ann, r.model.rating_weight)
    sample = optional_table("annotation_sample", [night])
    sample_df = sample.select([c for c in ("stratum", "stratum_size", "sample_kind")
                               if c in sample.collect_schema().names()]).collect() if sample is not None else None
    docs, sizes = night_documents(scored_documents, curated_documents, labels["doc_id"].to_list())
    units, more, info = design_units(labels, docs, sample_df)
    problems += more
    table = estimate_table(units, sizes, cfg.confidence) if units.height else pl.DataFrame(schema=ESTIMATE_SCHEMA)
    chart = estimates_png(table)
    n_active = int(labels.filter(pl.col("sample_kind") == "active").height)
    status = (f"{units.height} random/rejected-sample labels for {night}" if units.height
              else f"no labels for {night} yet: no estimates (cold start)")
    yield dg.Output(table, metadata={
        "dagster/row_count": table.height,
        "status": status,
        "design_labels": units.height,
        "active_labels_excluded": n_active,
        "estimates": table_md(table.select("population", "metric", "estimate", "lower", "upper", "n_labels")),
        **({"chart": png_md(chart, "estimates with 95% intervals")} if chart else {}),
        "coverage": dg.MetadataValue.json({k: v for k, v in info.items()}),
        "method": table["method"][0] if table.height else "n/a",
        "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "_none_"),
        "preview": preview(table),
    })

    row = table.filter((pl.col("population") == "curated") & (pl.col("metric") == "keep_share"))
    n = int(row["n_labels"][0]) if row.height else 0
    if n < cfg.min_labels:
        passed = True
        reason = (f"not enough labels to judge: {n} random-sample labels of curated documents for {night} "
                  f"(< estimates.min_labels = {cfg.min_labels}); passes until there are")
        meta = {"reason": reason, "n_labels": n}
    else:
        est, lower, upper = (float(row[c][0]) for c in ("estimate", "lower", "upper"))
        passed = lower >= cfg.min_curated_quality
        reason = (f"curated keep share {est:.3f} (95% interval {lower:.3f}-{upper:.3f}, {n} labels): lower bound "
                  f"{'>=' if passed else '<'} estimates.min_curated_quality {cfg.min_curated_quality}")
        meta = {"reason": reason, "n_labels": n, "estimate": round(est, 4), "lower": round(lower, 4),
                "upper": round(upper, 4), "min_curated_quality": cfg.min_curated_quality}
    yield dg.AssetCheckResult(check_name=CURATED_QUALITY_CHECK, passed=passed,
                              severity=dg.AssetCheckSeverity.ERROR, metadata=meta)
