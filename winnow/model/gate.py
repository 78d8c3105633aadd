"""A night's quality estimates from its labels, and the release gate judged on them."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from schemas.recipe import Recipe
from winnow.model.estimates import ESTIMATE_SCHEMA, design_units, estimate_table, night_documents
from winnow.model.train import aggregate_labels


@dataclass
class NightEstimates:
    table: pl.DataFrame
    design_labels: int
    active_labels: int
    coverage: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def night_estimates(
    recipe: Recipe,
    night: str,
    annotations: pl.LazyFrame | None,
    sample: pl.LazyFrame | None,
    scored: pl.LazyFrame,
    curated: pl.LazyFrame,
) -> NightEstimates:
    """Design-based estimates from the night's random/rejected-sample labels (active labels excluded)."""
    night_ann = (
        annotations.filter(pl.col("partition") == night).collect() if annotations is not None else pl.DataFrame()
    )
    labels, problems = aggregate_labels(night_ann, recipe.model.rating_weight)
    sample_df = None
    if sample is not None:
        wanted = [c for c in ("stratum", "stratum_size", "sample_kind") if c in sample.collect_schema().names()]
        sample_df = sample.select(wanted).collect()
    docs, sizes = night_documents(scored, curated, labels["doc_id"].to_list())
    units, more, info = design_units(labels, docs, sample_df)
    table = (
        estimate_table(units, sizes, recipe.estimates.confidence)
        if units.height
        else pl.DataFrame(schema=ESTIMATE_SCHEMA)
    )
    return NightEstimates(
        table, units.height, int(labels.filter(pl.col("sample_kind") == "active").height), dict(info), problems + more
    )


@dataclass
class GateVerdict:
    passed: bool
    reason: str
    metadata: dict


def curated_quality_gate(table: pl.DataFrame, recipe: Recipe, night: str) -> GateVerdict:
    """Is the curated keep share's lower bound at least ``estimates.min_curated_quality``?

    Judged once the curated population has ``estimates.min_labels`` labels; before that it
    passes, saying there are not enough labels.
    """
    cfg = recipe.estimates
    row = table.filter((pl.col("population") == "curated") & (pl.col("metric") == "keep_share"))
    n = int(row["n_labels"][0]) if row.height else 0
    if n < cfg.min_labels:
        reason = (
            f"not enough labels to judge: {n} random-sample labels of curated documents for {night} "
            f"(< estimates.min_labels = {cfg.min_labels}); passes until there are"
        )
        return GateVerdict(True, reason, {"reason": reason, "n_labels": n})
    est, lower, upper = (float(row[c][0]) for c in ("estimate", "lower", "upper"))
    passed = lower >= cfg.min_curated_quality
    reason = (
        f"curated keep share {est:.3f} (95% interval {lower:.3f}-{upper:.3f}, {n} labels): lower bound "
        f"{'>=' if passed else '<'} estimates.min_curated_quality {cfg.min_curated_quality}"
    )
    return GateVerdict(
        passed,
        reason,
        {
            "reason": reason,
            "n_labels": n,
            "estimate": round(est, 4),
            "lower": round(lower, 4),
            "upper": round(upper, 4),
            "min_curated_quality": cfg.min_curated_quality,
        },
    )


def agreement_verdict(alpha: float | None, n_items: int, min_items: int, min_alpha: float) -> GateVerdict:
    """Krippendorff's alpha on keep/drop against ``annotation.min_alpha``, once there are enough overlap items."""
    if n_items < min_items or alpha is None:
        reason = f"not judged yet: {n_items} overlap items (< {min_items}) or alpha undefined"
        passed = True
    else:
        passed = alpha >= min_alpha
        reason = f"alpha {alpha:.3f} {'>=' if passed else '<'} min_alpha {min_alpha} on {n_items} overlap items"
    meta = {"reason": reason, "n_overlap_items": n_items, **({"alpha": round(alpha, 4)} if alpha is not None else {})}
    return GateVerdict(passed, reason, meta)
