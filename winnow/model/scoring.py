"""Document quality scores in [0, 1].

Until enough human labels exist (cold start) the score is a heuristic from the filter
outcome; later it comes from the latest trained quality model (``score_source``).

**Heuristic.** ``q`` is the mean of the "goodness" signals that exist, each in [0, 1]:
``lang_score``, ``gopher_alpha_words_ratio``, ``1 - gopher_dup_line_frac``,
``1 - c4_removed_line_frac``, ``fineweb_line_punct_ratio`` and
``1 - fineweb_short_line_ratio`` (nulls ignored; 0.5 when none exists). A document the
filters kept scores ``0.5 + 0.5 q``, a rejected one ``0.5 q``: the filter decision stays
the main signal (kept >= 0.5 > rejected), and the grading inside each half gives the
sampler's score buckets and the active-learning uncertainty (``|score - 0.5|``)
something to work with.

**Model.** ``P(human keep)`` from ``QualityModel.predict``, computed on slices of
``model.score_batch_rows`` documents (only the feature columns are read; the slice is
pushed down to the Parquet scan, so memory holds one slice) and attached by row position. ``model_keep`` is ``score >= threshold`` (the calibrated threshold;
null when there is no model or the target precision was unreachable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from schemas.documents import model_drop_expr

#: (column, True if higher is better) used by the heuristic when present.
HEURISTIC_SIGNALS: tuple[tuple[str, bool], ...] = (
    ("lang_score", True),
    ("gopher_alpha_words_ratio", True),
    ("gopher_dup_line_frac", False),
    ("c4_removed_line_frac", False),
    ("fineweb_line_punct_ratio", True),
    ("fineweb_short_line_ratio", False),
)

SCORE_COLUMNS = {
    "quality_score": pl.Float64,
    "score_source": pl.String,
    "model_version": pl.String,
    "model_keep": pl.Boolean,
}


def _kept_expr(names: list[str]) -> pl.Expr:
    if "status" in names:
        return pl.col("status") != "rejected"
    if "keep" in names:
        return pl.col("keep").fill_null(True)
    return pl.lit(True)


def heuristic_quality(names: list[str]) -> pl.Expr:
    """``q`` in [0, 1]: the mean of the available goodness signals (0.5 when none)."""
    parts = []
    for name, higher in HEURISTIC_SIGNALS:
        if name in names:
            v = pl.col(name).cast(pl.Float64).fill_nan(None).clip(0.0, 1.0)
            parts.append(v if higher else 1.0 - v)
    if not parts:
        return pl.lit(0.5)
    return pl.mean_horizontal(parts).fill_null(0.5)


def heuristic_score(filtered: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``quality_score`` (see module doc), ``score_source`` = "heuristic", null model columns."""
    names = filtered.collect_schema().names()
    q = heuristic_quality(names)
    return filtered.with_columns(
        quality_score=pl.when(_kept_expr(names)).then(0.5 + 0.5 * q).otherwise(0.5 * q).cast(pl.Float64),
        score_source=pl.lit("heuristic"),
        model_version=pl.lit(None, dtype=pl.String),
        model_keep=pl.lit(None, dtype=pl.Boolean),
    )


def model_scores(frame: pl.LazyFrame, model, batch_rows: int = 5_000) -> pl.DataFrame:
    """``_row`` (position in ``frame``) and ``quality_score`` from ``model``, slice by slice.

    Each slice of ``batch_rows`` documents is read on its own (only the feature columns);
    on a Parquet scan the slice is pushed down to the row groups, so memory holds one
    slice. (``collect_batches()`` or a ``map_batches`` UDF in a streaming query let the
    reader run ahead of the model and buffer text: peak memory grew with the table.) Give
    it a single scan, not a ``concat`` of scans: polars reads a union from its start for
    every slice; ``score_documents`` takes the parts as a list for that reason.
    """
    names = frame.collect_schema().names()
    cols = [c for c in dict.fromkeys(model.input_columns) if c in names]
    narrow = frame.select(cols)
    total = int(frame.select(pl.len()).collect().item())
    parts: list[pl.DataFrame] = []
    for offset in range(0, total, batch_rows):
        batch = narrow.slice(offset, batch_rows).collect()
        if batch.height == 0:
            continue
        parts.append(
            pl.DataFrame(
                {
                    "_row": pl.Series(np.arange(offset, offset + batch.height), dtype=pl.UInt32),
                    "quality_score": np.asarray(model.predict(batch), dtype=np.float64),
                }
            )
        )
    if not parts:
        return pl.DataFrame(schema={"_row": pl.UInt32, "quality_score": pl.Float64})
    return pl.concat(parts)


def _with_model_scores(frame: pl.LazyFrame, loaded, batch_rows: int) -> pl.LazyFrame:
    scores = model_scores(frame, loaded.model, batch_rows)
    threshold = loaded.threshold
    keep = (pl.col("quality_score") >= threshold) if threshold is not None else pl.lit(None, dtype=pl.Boolean)
    return (
        frame.with_row_index("_row")
        .join(scores.lazy(), on="_row", how="left", maintain_order="left")
        .drop("_row")
        .with_columns(
            score_source=pl.lit("model"),
            model_version=pl.lit(loaded.version, dtype=pl.String),
            model_keep=keep,
        )
    )


def score_documents(frames: pl.LazyFrame | list[pl.LazyFrame], loaded=None, batch_rows: int = 5_000) -> pl.LazyFrame:
    """Every document with its score: from ``loaded`` (a registry ``LoadedModel``) if given, else heuristic.

    ``frames``: one table, or several parts (e.g. kept and rejected documents) that are
    scored one by one and stacked (``diagonal_relaxed``) in order.
    """
    parts = frames if isinstance(frames, list) else [frames]
    parts = [f.drop([c for c in SCORE_COLUMNS if c in f.collect_schema().names()]) for f in parts]
    if loaded is None:
        base = parts[0] if len(parts) == 1 else pl.concat(parts, how="diagonal_relaxed")
        return heuristic_score(base)
    scored = [_with_model_scores(f, loaded, batch_rows) for f in parts]
    return scored[0] if len(scored) == 1 else pl.concat(scored, how="diagonal_relaxed")


def score_summary(scored: pl.LazyFrame) -> tuple[pl.DataFrame, int]:
    """Documents, mean score and documents under the threshold per filter status, and how many
    filter-kept documents the model's threshold drops."""
    by_status = (
        scored.group_by("status")
        .agg(
            documents=pl.len(),
            mean_score=pl.col("quality_score").mean(),
            under_threshold=pl.col("model_keep").not_().sum(),
        )
        .sort("status")
        .collect()
    )
    drop = model_drop_expr(scored.collect_schema().names()) & (pl.col("status") == "kept")
    return by_status, int(scored.select(drop.sum()).collect().item())


@dataclass
class CuratedSelection:
    curated: pl.LazyFrame
    dropped: pl.LazyFrame
    threshold_applied: bool
    model_versions: list[str]


def curated_selection(deduplicated: pl.LazyFrame, apply_threshold: bool) -> CuratedSelection:
    """The release's documents: deduplicated ones, minus those under the model threshold (if applied)."""
    names = deduplicated.collect_schema().names()
    below = model_drop_expr(names) if apply_threshold else pl.lit(False)
    versions = (
        deduplicated.select(pl.col("model_version").drop_nulls().unique()).collect()["model_version"].to_list()
        if "model_version" in names
        else []
    )
    return CuratedSelection(
        deduplicated.filter(~below), deduplicated.filter(below), bool(apply_threshold and versions), versions
    )
