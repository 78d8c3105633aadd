"""Train the quality classifier on human labels (scikit-learn logistic regression).

* **Labels.** One row per labelled document (``aggregate_labels``): ``y`` is the share
  of its annotators who said keep; the training target ``y_keep`` is ``y > 0.5``, a
  tie (two annotators disagreeing) going to keep when the mean rating is at least 3.
  The rating also weights the example: ``1 + rating_weight * |mean rating - 3|``, so a
  confident 1 or 5 counts more than a hesitant 3. All labels train the model, the
  uncertainty-chosen ``active`` ones included.
* **Features** come from the stored document tables (``scored_documents``, else
  ``document_signals``), see ``winnow.model.features``.
* **Cross-validation.** Stratified k-fold (``model.cv_folds``, seeded by the recipe)
  gives an out-of-fold score for every label: the ROC-AUC reported, the heuristic
  baseline's AUC on the same labels, and the threshold calibration
  (``winnow.model.calibrate``) all use these honest scores. The final model is then fit
  on every label.
* **Threshold.** Calibrated on the labels of the population it acts on: filter-kept
  documents from the random design sample, weighted by ``1 / inclusion_prob``. With
  fewer than ``model.min_calibration_labels`` of those, all labels, unweighted, are used
  and the metadata says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from schemas.recipe import ModelConfig
from winnow.model.calibrate import Calibration, calibrate_threshold
from winnow.model.features import FeatureSpec, Featurizer, numeric_feature_columns

DESIGN_KINDS = ("random", "rejected")
SAMPLE_KINDS = ("random", "rejected", "active")
DECISIONS = ("keep", "drop")

LABEL_SCHEMA = {
    "doc_id": pl.String,
    "y": pl.Float64,
    "y_keep": pl.Boolean,
    "n_annotators": pl.Int64,
    "rating_mean": pl.Float64,
    "weight": pl.Float64,
    "sample_kind": pl.String,
    "inclusion_prob": pl.Float64,
    "stratum": pl.String,
    "label_partition": pl.String,
    "stratum_size": pl.Int64,
    "holdout": pl.Boolean,
}


class TrainingError(ValueError):
    """Labels or documents that cannot be used; the message names the table and the rule."""


# ----------------------------------------------------------------------------- labels
def aggregate_labels(
    annotations: pl.DataFrame | pl.LazyFrame, rating_weight: float = 0.25
) -> tuple[pl.DataFrame, list[str]]:
    """One row per labelled document, and a list of the annotation rows that were not usable (why)."""
    ann = annotations.collect() if isinstance(annotations, pl.LazyFrame) else annotations
    problems: list[str] = []
    if ann.height == 0:
        return pl.DataFrame(schema=LABEL_SCHEMA), problems
    missing = {"doc_id", "decision"} - set(ann.columns)
    if missing:
        raise TrainingError(
            f"annotations: missing column(s) {sorted(missing)} (schemas/documents.py ANNOTATION_SCHEMA)"
        )
    for name, dtype in (
        ("rating", pl.Int64),
        ("sample_kind", pl.String),
        ("inclusion_prob", pl.Float64),
        ("stratum", pl.String),
        ("partition", pl.String),
        ("stratum_size", pl.Int64),
        ("holdout", pl.Boolean),
    ):
        if name not in ann.columns:
            ann = ann.with_columns(pl.lit(None, dtype=dtype).alias(name))
    ann = ann.with_row_index("_row")
    bad = ann.filter(pl.col("doc_id").is_null() | ~pl.col("decision").is_in(DECISIONS) | pl.col("decision").is_null())
    for row in bad.head(50).iter_rows(named=True):
        problems.append(
            f"annotations row {row['_row']} (doc_id {row['doc_id']!r}): decision {row['decision']!r} "
            f"is not one of {DECISIONS}; not used"
        )
    if bad.height > 50:
        problems.append(f"... and {bad.height - 50} more unusable annotation rows")
    kinds = ann.filter(pl.col("sample_kind").is_not_null() & ~pl.col("sample_kind").is_in(SAMPLE_KINDS))
    if kinds.height:
        problems.append(
            f"{kinds.height} annotation rows have an unknown sample_kind "
            f"({sorted(set(kinds['sample_kind'].to_list()))[:5]}); treated as 'active' (training only)"
        )
    good = ann.filter(pl.col("doc_id").is_not_null() & pl.col("decision").is_in(DECISIONS))
    kind = pl.when(pl.col("sample_kind").is_in(DESIGN_KINDS)).then(pl.col("sample_kind")).otherwise(pl.lit("active"))
    rank = pl.when(kind == "random").then(0).when(kind == "rejected").then(1).otherwise(2)
    labels = (
        good.with_columns(_kind=kind, _rank=rank)
        .group_by("doc_id")
        .agg(
            y=(pl.col("decision") == "keep").mean().cast(pl.Float64),
            n_annotators=pl.len().cast(pl.Int64),
            rating_mean=pl.col("rating").cast(pl.Float64).mean(),
            sample_kind=pl.col("_kind").sort_by("_rank").first(),
            inclusion_prob=pl.col("inclusion_prob").cast(pl.Float64).sort_by("_rank").first(),
            stratum=pl.col("stratum").sort_by("_rank").first(),
            label_partition=pl.col("partition").sort_by("_rank").first(),
            stratum_size=pl.col("stratum_size").sort_by("_rank").first(),
            holdout=pl.col("holdout").sort_by("_rank").first(),
        )
        .with_columns(
            y_keep=(pl.col("y") > 0.5) | ((pl.col("y") == 0.5) & (pl.col("rating_mean").fill_null(0) >= 3)),
            weight=1.0 + rating_weight * (pl.col("rating_mean") - 3).abs().fill_null(0.0),
        )
        .select(list(LABEL_SCHEMA))
        .sort("doc_id")
    )
    return labels.cast(LABEL_SCHEMA), problems  # type: ignore[arg-type]


def with_holdout(labels: pl.DataFrame, seed: int, share: float) -> pl.DataFrame:
    """``holdout`` for every label: the sample's flag, else the same hash rule (random-sample labels only)."""
    from winnow.ids import is_holdout

    design = pl.col("sample_kind") == "random"
    rule = design & is_holdout(pl.col("doc_id"), seed, share)
    return labels.with_columns(holdout=pl.when(design).then(pl.coalesce(pl.col("holdout"), rule)).otherwise(False))


def label_counts(labels: pl.DataFrame) -> dict:
    """Labelled documents in total, per decision and per sample kind."""
    by_kind = {k: int(labels.filter(pl.col("sample_kind") == k).height) for k in SAMPLE_KINDS}
    return {
        "documents": labels.height,
        "keep": int(labels["y_keep"].sum() or 0) if labels.height else 0,
        "drop": int((~labels["y_keep"]).sum() or 0) if labels.height else 0,
        **{f"sample_kind_{k}": v for k, v in by_kind.items()},
        "multi_annotator": int((labels["n_annotators"] > 1).sum() or 0) if labels.height else 0,
    }


def labels_fingerprint(labels: pl.DataFrame, cfg: ModelConfig, seed: int, extra: str = "") -> str:
    """A hash of the labels and the model settings: equal inputs train an equal model (no new version)."""
    h = hashlib.sha256()
    h.update(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode())
    h.update(f"{seed}|{extra}".encode())
    for row in labels.select("doc_id", "y", "weight", "sample_kind").sort("doc_id").iter_rows():
        h.update(repr(row).encode())
    return h.hexdigest()


# ----------------------------------------------------------------------------- documents
def load_label_documents(doc_ids: list[str], tables: Mapping[str, Sequence[Path]]) -> pl.DataFrame:
    """The stored rows (all nights) of the labelled documents: the newest night's row per doc_id.

    ``tables`` maps a table's name to its Parquet files (one per night, named by night),
    in order of preference: a document found in an earlier table is not looked up later.
    Each file is scanned on its own (older nights may lack newer signal columns) and only
    the labelled ids are read; the frames are stacked with missing columns null.
    """
    wanted = pl.DataFrame({"doc_id": sorted(set(doc_ids))}, schema={"doc_id": pl.String})
    found: list[pl.DataFrame] = []
    left = wanted
    for table, files in tables.items():
        if left.height == 0:
            continue
        parts = []
        for f in files:
            part = pl.scan_parquet(f).join(left.lazy(), on="doc_id", how="semi").collect()
            if part.height:
                if "partition" not in part.columns:
                    part = part.with_columns(partition=pl.lit(f.stem))
                parts.append(part.with_columns(_table=pl.lit(table)))
        if parts:
            got = pl.concat(parts, how="diagonal_relaxed")
            found.append(got)
            left = left.join(got.select("doc_id"), on="doc_id", how="anti")
    if not found:
        return pl.DataFrame(schema={"doc_id": pl.String})
    docs = pl.concat(found, how="diagonal_relaxed")
    return docs.sort("partition", nulls_last=False).unique("doc_id", keep="last", maintain_order=True)


def with_tokens(frame: pl.DataFrame, tokenizer: str = "gpt2") -> pl.DataFrame:
    """Add ``n_tokens`` (BPE tokens of ``text``; else characters / 4; else 1) or fill its gaps from the text."""
    if "n_tokens" in frame.columns and (frame["n_tokens"].null_count() == 0 or "text" not in frame.columns):
        return frame.with_columns(pl.col("n_tokens").cast(pl.Float64))  # missing stays missing, never 1 token
    if "text" in frame.columns:  # only the texts without a count reach the tokenizer
        from winnow.tokens import n_tokens_filled

        if "n_tokens" not in frame.columns:
            frame = frame.with_columns(n_tokens=pl.lit(None, pl.Int64))
        return frame.with_columns(n_tokens_filled(tokenizer).cast(pl.Float64))
    if "n_chars" in frame.columns:
        return frame.with_columns(n_tokens=(pl.col("n_chars").cast(pl.Float64) / 4).fill_null(1.0).clip(lower_bound=1))
    return frame.with_columns(n_tokens=pl.lit(1.0))


# ----------------------------------------------------------------------------- model
@dataclass
class QualityModel:
    """Featurizer + logistic regression; ``threshold`` is the calibrated keep threshold (None: unreachable)."""

    featurizer: Featurizer
    clf: LogisticRegression
    threshold: float | None = None
    version: str | None = None

    @property
    def input_columns(self) -> list[str]:
        return ["text", *self.featurizer.spec.numeric, "source", "lang_detected", "lang", "status", "drop_family"]

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """P(human keep) for each row of ``frame``."""
        if frame.height == 0:
            return np.zeros(0)
        return self.clf.predict_proba(self.featurizer.transform(frame))[:, 1]


def _fit(frame: pl.DataFrame, spec: FeatureSpec, cfg: ModelConfig, seed: int) -> QualityModel:
    feat = Featurizer(spec).fit(frame)
    # the dual liblinear solver: far faster when features (2^18 hashed buckets) outnumber labels
    clf = LogisticRegression(C=cfg.C, max_iter=5000, solver="liblinear", dual=True, random_state=seed)
    clf.fit(feat.transform(frame), frame["y_keep"].to_numpy(), sample_weight=frame["weight"].to_numpy())
    return QualityModel(feat, clf)


@dataclass
class TrainResult:
    model: QualityModel
    metrics: dict
    oof: pl.DataFrame
    calibration: Calibration
    spec: FeatureSpec
    counts: dict = field(default_factory=dict)


def ready_to_train(labels: pl.DataFrame, cfg: ModelConfig) -> tuple[bool, str]:
    """Whether there are enough labels (cold start otherwise), and why not."""
    n = labels.height
    keep = int(labels["y_keep"].sum() or 0) if n else 0
    drop = n - keep
    if not cfg.enabled:
        return False, "model.enabled is false in the recipe: heuristic scores only"
    if n < cfg.min_labels:
        return False, f"cold start: {n} labelled documents with features (< model.min_labels = {cfg.min_labels})"
    if min(keep, drop) < cfg.min_per_class:
        return False, (
            f"cold start: {keep} keep and {drop} drop labels; each decision needs "
            f"model.min_per_class = {cfg.min_per_class}"
        )
    return True, f"{n} labelled documents ({keep} keep, {drop} drop)"


def heuristic_baseline(frame: pl.DataFrame) -> np.ndarray:
    from winnow.model.scoring import heuristic_score

    return heuristic_score(frame.lazy()).collect()["quality_score"].to_numpy()


def calibration_subset(oof: pl.DataFrame, min_labels: int) -> tuple[pl.DataFrame, np.ndarray | None, str]:
    """The labels the threshold is calibrated on, their weights, and a description (see module doc)."""
    kept_pop = pl.col("status") == "kept" if "status" in oof.columns else pl.lit(True)
    design = oof.filter(kept_pop & (pl.col("sample_kind") == "random") & (pl.col("inclusion_prob") > 0))
    if design.height >= min_labels:
        return (
            design,
            (1.0 / design["inclusion_prob"]).to_numpy(),
            (f"{design.height} random-sample labels of filter-kept documents, weighted by 1/inclusion_prob"),
        )
    return (
        oof,
        None,
        (
            f"all {oof.height} labels, unweighted (only {design.height} random-sample labels of "
            f"filter-kept documents; model.min_calibration_labels = {min_labels})"
        ),
    )


def train_quality_model(train: pl.DataFrame, cfg: ModelConfig, seed: int = 0) -> TrainResult:
    """Cross-validate, calibrate and fit the final model on ``train`` (labels joined with documents)."""
    ok, why = ready_to_train(train, cfg)
    if not ok:
        raise TrainingError(why)
    train = with_tokens(train.sort("doc_id")).with_columns(pl.col("n_tokens").fill_null(1.0))
    numeric = numeric_feature_columns({k: v for k, v in train.schema.items() if k not in LABEL_SCHEMA})
    spec = FeatureSpec(
        numeric=numeric,
        n_features=cfg.n_features,
        ngram_max=cfg.ngram_max,
        max_chars=cfg.max_chars,
        edge_lines=cfg.edge_lines,
    )
    y = train["y_keep"].to_numpy()
    n_min = int(min(y.sum(), (~y).sum()))
    folds = max(2, min(cfg.cv_folds, n_min))
    oof = np.zeros(train.height)
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        m = _fit(train[tr], spec, cfg, seed)
        oof[te] = m.predict(train[te])
    heur = heuristic_baseline(train)
    keep_cols = [
        c
        for c in (
            "doc_id",
            "y",
            "y_keep",
            "weight",
            "sample_kind",
            "inclusion_prob",
            "status",
            "n_tokens",
            "drop_family",
            "label_partition",
        )
        if c in train.columns
    ]
    oof_frame = train.select(keep_cols).with_columns(oof_score=pl.Series(oof), heuristic_score=pl.Series(heur))
    cal_rows, cal_w, basis = calibration_subset(oof_frame, cfg.min_calibration_labels)
    cal = calibrate_threshold(
        cal_rows["oof_score"].to_numpy(),
        cal_rows["y"].to_numpy(),
        cal_rows["n_tokens"].to_numpy(),
        cal_w,
        target_precision=cfg.target_precision,
        confidence=cfg.precision_confidence,
        basis=basis,
    )
    final = _fit(train, spec, cfg, seed)
    final.threshold = cal.threshold
    metrics = {
        "cv_folds": folds,
        "cv_roc_auc": float(roc_auc_score(y, oof)),
        "heuristic_roc_auc": float(roc_auc_score(y, heur)) if len(set(heur.tolist())) > 1 else 0.5,
        "threshold": cal.threshold,
        "target_precision": cfg.target_precision,
        "threshold_reachable": cal.reachable,
        "precision_at_threshold": cal.precision,
        "precision_lower_at_threshold": cal.precision_lower,
        "recall_at_threshold": cal.recall,
        "tokens_kept_share_at_threshold": cal.tokens_kept_share,
        "calibration_basis": basis,
        "n_numeric_features": len(numeric),
        "n_features_total": final.clf.coef_.shape[1],
    }
    return TrainResult(model=final, metrics=metrics, oof=oof_frame, calibration=cal, spec=spec)
