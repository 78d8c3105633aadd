"""winnow.threshold_suggestions: labels move a badly set threshold toward a better one."""

from __future__ import annotations

import numpy as np
import polars as pl
from test_filters import CJK, CLEAN, _recipe

from winnow.filters import apply_filters
from winnow.threshold_suggestions import suggestion_table

TRUE_CUT = 0.62  # a Chinese document with fewer alphabetic words than this is bad (5% label noise)


def _night(bad_threshold: float, seed: int = 7, n: int = 4000):
    """A labelled night: kept and rejected strata sampled at 8% and 25%, 80% of the sample labelled."""
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(0.3, 1.0, n)
    good = (alpha >= TRUE_CUT) ^ (rng.random(n) < 0.05)
    recipe = _recipe(
        language_thresholds={"zh": {"gopher_quality": {"max_non_alpha_words_ratio": bad_threshold}}},
        language={"allowed": ["zh"]},
    )
    rows = [CLEAN | CJK | {"doc_id": f"d{i}", "gopher_alpha_words_ratio": float(a)} for i, a in enumerate(alpha)]
    night = (
        apply_filters(pl.LazyFrame(rows), recipe)
        .collect()
        .with_columns(n_tokens=pl.Series(np.ceil(rng.lognormal(6, 1, n))), good=pl.Series(good))
    )
    status = np.where(night["keep"].to_numpy(), 0, 1)
    sampled = rng.random(n) < np.where(status == 0, 0.08, 0.25)
    labelled = sampled & (rng.random(n) < 0.8)
    units = pl.DataFrame(
        {
            "doc_id": night["doc_id"],
            "_code": status,
            "N_h": np.bincount(status)[status].astype(float),
            "y": np.where(labelled, good.astype(float), np.nan),
            "sampled": sampled,
        }
    ).filter("sampled")
    units = units.with_columns(pl.col("y").fill_nan(None))
    return recipe, units, night


def test_the_suggestion_moves_a_bad_threshold_toward_the_one_the_labels_support():
    recipe, units, night = _night(bad_threshold=0.85)
    table = suggestion_table(recipe, units, night)
    row = table.filter((pl.col("rule") == "gopher_below_alpha_threshold") & (pl.col("language") == "zh")).row(
        0, named=True
    )
    assert row["field"] == "gopher_quality.max_non_alpha_words_ratio" and row["current"] == 0.85
    # at 0.85 the rule drops many good documents: about (0.62 - 0.3) / (0.85 - 0.3) of its drops are bad
    fails = night.filter(pl.col("gopher_alpha_words_ratio") < 0.85)
    true_precision = 1 - fails["good"].mean()
    assert row["precision_lower"] <= true_precision <= row["precision_upper"]
    assert row["precision"] < recipe.filters.target_drop_precision
    true_good_tokens = fails.filter("good")["n_tokens"].sum()
    assert row["good_tokens_lower"] <= true_good_tokens <= row["good_tokens_upper"]
    # the suggestion is stricter about what it drops: nearer the true cut, at the target precision
    suggested = float(row["suggested"])
    assert abs(suggested - TRUE_CUT) < abs(0.85 - TRUE_CUT) / 2
    assert row["suggested_precision"] >= recipe.filters.target_drop_precision
    assert row["suggested_good_tokens_removed"] < row["good_tokens_removed"] / 2
    assert row["note"] == "move to the suggested value"


def test_a_threshold_set_too_loose_is_tightened_and_a_good_one_is_kept_near():
    recipe, units, night = _night(bad_threshold=0.4, seed=8)
    row = (
        suggestion_table(recipe, units, night)
        .filter(pl.col("rule") == "gopher_below_alpha_threshold")
        .row(0, named=True)
    )
    # 0.4 drops only the worst documents, at high precision: the suggestion drops more of the bad ones
    assert row["precision"] >= 0.8 and float(row["suggested"]) > 0.55
    assert row["suggested_fails"] > 2 * row["fails"]


def test_no_labels_no_suggestions():
    recipe, units, night = _night(bad_threshold=0.85)
    table = suggestion_table(recipe, units.with_columns(y=pl.lit(None, dtype=pl.Float64)), night)
    assert table.height == 0
