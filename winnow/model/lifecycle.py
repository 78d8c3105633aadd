"""The quality model's life: which model scores a night, and when labels train a new version.

Registry policy lives here, not in the Dagster assets: a new version is trained only
when the labels or the model settings changed (equal ones reuse the stored version),
and a model that cannot be loaded falls back to heuristic scores, saying why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import sklearn

from schemas.recipe import Recipe
from winnow.model.registry import LoadedModel, ModelRegistry, RegistryError
from winnow.model.train import (
    aggregate_labels,
    label_counts,
    labels_fingerprint,
    load_label_documents,
    ready_to_train,
    train_quality_model,
    with_holdout,
)
from winnow.plots import calibration_png

HISTORY_SCHEMA = {
    "version": pl.String,
    "status": pl.String,
    "latest": pl.Boolean,
    "created_at": pl.String,
    "labelled_documents": pl.Int64,
    "cv_roc_auc": pl.Float64,
    "heuristic_roc_auc": pl.Float64,
    "threshold": pl.Float64,
    "precision_at_threshold": pl.Float64,
    "recall_at_threshold": pl.Float64,
    "tokens_kept_share_at_threshold": pl.Float64,
}
_METRICS = (
    "cv_roc_auc",
    "heuristic_roc_auc",
    "threshold",
    "precision_at_threshold",
    "recall_at_threshold",
    "tokens_kept_share_at_threshold",
)


def history_table(registry: ModelRegistry, status: str) -> pl.DataFrame:
    """One row per stored model version (newest first); the latest carries ``status``."""
    latest = registry.latest_version()
    rows = []
    for v in reversed(registry.versions()):
        m = registry.meta(v)
        rows.append(
            {
                "version": v,
                "status": status if v == latest else "stored",
                "latest": v == latest,
                "created_at": m.get("created_at"),
                "labelled_documents": m.get("label_counts", {}).get("documents"),
                **{k: m.get("metrics", {}).get(k) for k in _METRICS},
            }
        )
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA)


@dataclass
class ScoringChoice:
    """The model that scores tonight (None: heuristic scores) and a sentence saying why."""

    loaded: LoadedModel | None
    note: str
    failed: bool = False


def scoring_model(registry: ModelRegistry, enabled: bool, fallback_to_heuristic: bool = False) -> ScoringChoice:
    """The model that scores tonight, or None for heuristic scores, and why.

    A model the registry has but cannot load raises ``RegistryError`` unless the recipe
    allows the fallback: which documents ship must never change without a failed step.
    """
    if not enabled:
        return ScoringChoice(None, "model.enabled is false in the recipe (heuristic scores)")
    try:
        loaded = registry.load()
    except RegistryError as exc:
        if not fallback_to_heuristic:
            raise RegistryError(
                f"the quality model cannot be loaded, so scoring stops instead of silently switching to heuristic "
                f"scores (which would change which documents ship): {exc}. Fix it by retraining "
                f"(materialize quality_model) or by pointing {registry.root / 'LATEST'} at a good version; "
                "or set model.fallback_to_heuristic: true in the recipe to score with the heuristic meanwhile"
            ) from None
        return ScoringChoice(
            None,
            f"the latest model could not be loaded; heuristic scores used (model.fallback_to_heuristic): {exc}",
            failed=True,
        )
    if loaded is None:
        return ScoringChoice(None, "cold start: no trained quality model yet (heuristic scores)")
    return ScoringChoice(loaded, f"quality model {loaded.version} (threshold {loaded.threshold})")


@dataclass
class TrainingSet:
    labels: pl.DataFrame
    documents: pl.DataFrame
    train: pl.DataFrame
    problems: list[str] = field(default_factory=list)
    #: design labels kept apart to measure the release (never trained or calibrated on)
    held_out: int = 0

    @property
    def counts(self) -> dict:
        return label_counts(self.train)


def training_set(
    annotations: pl.LazyFrame | None, feature_tables: Mapping[str, Sequence[Path]], recipe: Recipe
) -> TrainingSet:
    """Every labelled document joined with its stored features (the newest night's row).

    Held-out labels (``holdout``, ``estimates.holdout_share`` of the design sample) are left
    out: they measure the model's release, so they never train or calibrate it.
    """
    ann = annotations if annotations is not None else pl.DataFrame()
    labels, problems = aggregate_labels(ann, recipe.model.rating_weight)
    labels = with_holdout(labels, recipe.seed, recipe.estimates.holdout_share)
    held = int(labels["holdout"].sum() or 0)
    labels = labels.filter(~pl.col("holdout"))

    docs = (
        load_label_documents(labels["doc_id"].to_list(), feature_tables)
        if labels.height
        else pl.DataFrame(schema={"doc_id": pl.String})
    )
    train = labels.join(docs, on="doc_id", how="inner")
    if labels.height - train.height:
        problems.append(
            f"{labels.height - train.height} labelled documents have no stored row in "
            f"{' or '.join(feature_tables)} (their features are unknown); not used for training"
        )
    return TrainingSet(labels, docs, train, problems, held_out=held)


@dataclass
class ModelOutcome:
    version: str | None
    status: str
    trained: bool
    metrics: dict = field(default_factory=dict)
    calibration_chart: bytes | None = None


def train_or_reuse(data: TrainingSet, recipe: Recipe, registry: ModelRegistry) -> ModelOutcome:
    """Train a new version from the labels, or reuse the stored one trained on the same labels and settings."""
    cfg = recipe.model
    ok, why = ready_to_train(data.train, cfg)
    if not ok:
        return ModelOutcome(registry.latest_version(), why, trained=False)
    fingerprint = labels_fingerprint(
        data.train.select(list(data.labels.columns)), cfg, recipe.seed, extra=",".join(sorted(data.documents.columns))
    )
    reused = registry.find_fingerprint(fingerprint)
    if reused is not None:
        if reused != registry.latest_version():
            registry.set_latest(reused)
        return ModelOutcome(
            reused,
            f"unchanged labels and settings: version {reused} reused",
            trained=True,
            metrics=registry.meta(reused)["metrics"],
        )
    result = train_quality_model(data.train, cfg, seed=recipe.seed)
    meta = {
        "metrics": result.metrics,
        "threshold": result.calibration.threshold,
        "calibration": result.calibration.summary(),
        "label_counts": data.counts,
        "fingerprint": fingerprint,
        "recipe": {"name": recipe.name, "version": recipe.version, "sha256": recipe.content_hash()},
        "model_config": cfg.model_dump(mode="json"),
        "features": {
            "numeric": result.spec.numeric,
            "n_features": result.spec.n_features,
            "ngram_max": result.spec.ngram_max,
            "max_chars": result.spec.max_chars,
            "edge_lines": result.spec.edge_lines,
        },
        "libraries": {"scikit-learn": sklearn.__version__, "polars": pl.__version__},
    }
    version = registry.save(result.model, meta, result.calibration.curve)
    return ModelOutcome(
        version,
        f"trained {version}",
        trained=True,
        metrics=result.metrics,
        calibration_chart=calibration_png(result.calibration),
    )
