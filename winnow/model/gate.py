"""A night's quality estimates from its labels, and the release gate judged on them."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from scipy.stats import norm

from schemas.recipe import Recipe
from winnow.model.annotator_error import AnnotatorErrors, corrected_share, fit_annotator_errors, votes
from winnow.model.estimates import ESTIMATE_SCHEMA, design_units, estimate_table, night_documents
from winnow.model.train import aggregate_labels, with_holdout
from winnow.release_gate import GateVerdict

#: the populations whose raw-label share also gets an annotator-error-corrected estimate
CORRECTED = ("raw", "kept", "curated", "rejected")
CORRECTED_METHOD = "Rogan-Gladen correction with Dawid-Skene annotator error rates (bootstrap)"


@dataclass
class NightEstimates:
    table: pl.DataFrame
    design_labels: int
    active_labels: int
    coverage: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    annotator_errors: AnnotatorErrors | None = None
    #: the night's design units (``design_units``): what the threshold suggestions are judged on
    units: pl.DataFrame | None = None


def night_estimates(
    recipe: Recipe,
    night: str,
    annotations: pl.LazyFrame | None,
    sample: pl.LazyFrame | None,
    scored: pl.LazyFrame,
    curated: pl.LazyFrame,
) -> NightEstimates:
    """Design-based estimates from the night's random/rejected-sample labels (active labels excluded).

    Every sampled design document enters, labelled or not: strata not labelled yet are
    bounded, never imputed. The model-dependent populations use held-out labels only.
    Raw-label shares get an annotator-error-corrected twin when the overlap allows.
    """
    all_ann = annotations.collect() if annotations is not None else pl.DataFrame()
    night_ann = all_ann.filter(pl.col("partition") == night) if all_ann.height else all_ann
    labels, problems = aggregate_labels(night_ann, recipe.model.rating_weight)
    labels = with_holdout(labels, recipe.seed, recipe.estimates.holdout_share)
    sample_df = _design_sample(sample, recipe)
    ids = labels["doc_id"].to_list() + ([] if sample_df is None else sample_df["doc_id"].to_list())
    docs, sizes = night_documents(scored, curated, sorted(set(ids)))
    units, more, info = design_units(labels, docs, sample_df)
    conf = recipe.estimates.confidence
    table = estimate_table(units, sizes, conf) if units.height else pl.DataFrame(schema=ESTIMATE_SCHEMA)
    errors = fit_annotator_errors(votes(all_ann), seed=recipe.seed) if all_ann.height else None
    if errors is not None and table.height:
        table = pl.concat([table, _corrected_rows(table, errors, conf)], how="vertical_relaxed")
    n_design = int(units["y"].is_not_null().sum()) if units.height else 0
    return NightEstimates(
        table,
        n_design,
        int(labels.filter(pl.col("sample_kind") == "active").height),
        dict(info),
        problems + more,
        errors,
        units,
    )


def _design_sample(sample: pl.LazyFrame | None, recipe: Recipe) -> pl.DataFrame | None:
    if sample is None:
        return None
    names = sample.collect_schema().names()
    wanted = [c for c in ("doc_id", "stratum", "stratum_size", "sample_kind", "holdout") if c in names]
    frame = sample.select(wanted).collect()
    if "holdout" not in frame.columns and "doc_id" in frame.columns:
        frame = with_holdout(frame.with_columns(holdout=pl.lit(None, dtype=pl.Boolean)), recipe.seed,
                             recipe.estimates.holdout_share)  # fmt: skip
    return frame


def _corrected_rows(table: pl.DataFrame, errors: AnnotatorErrors, confidence: float) -> pl.DataFrame:
    rows = []
    zq = float(norm.ppf(0.5 + confidence / 2))
    for r in table.filter(pl.col("metric") == "keep_share").iter_rows(named=True):
        if r["population"] not in CORRECTED or r["estimate"] is None or r["unlabelled_strata_share"]:
            continue
        # the raw share's standard error, recovered from its interval's half-width
        q_se = (r["upper"] - r["lower"]) / (2 * zq)
        out = corrected_share(r["estimate"], q_se, errors, confidence)
        if out is None:
            continue
        rows.append(
            {
                **r,
                "metric": "keep_share_corrected",
                "estimate": out[0],
                "lower": out[1],
                "upper": out[2],
                "method": CORRECTED_METHOD,
                "n_eff": None,
            }
        )
    return pl.DataFrame(rows, schema=ESTIMATE_SCHEMA)


def agreement_verdict(alpha: float | None, n_items: int, min_items: int, min_alpha: float) -> GateVerdict:
    """Krippendorff's alpha on keep/drop against ``annotation.min_alpha``, once there are enough overlap items."""
    if n_items < min_items or alpha is None:
        reason = f"not judged yet: {n_items} overlap items (< {min_items}) or alpha undefined"
        passed = True
    else:
        passed = alpha >= min_alpha
        reason = f"alpha {alpha:.3f} {'>=' if passed else '<'} min_alpha {min_alpha} on {n_items} overlap items"
    meta = {"reason": reason, "n_overlap_items": n_items, **({"alpha": round(alpha, 4)} if alpha is not None else {})}
    return GateVerdict(passed, reason, meta, "pass" if passed else "fail")
