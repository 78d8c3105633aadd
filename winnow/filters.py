"""Filters as data: each rule is ``(name, reason, keep_expr)``; all run in one pass.

The first failing rule (in recipe order) becomes the document's ``drop_reason``;
``keep`` is true when no rule fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas.recipe import Recipe


@dataclass(frozen=True)
class Rule:
    family: str  # e.g. "gopher_quality"
    reason: str  # reason code written to drop_reason, e.g. "gopher_short_doc"
    keep: pl.Expr  # true where the document passes this rule


def build_rules(recipe: Recipe) -> list[Rule]:
    """The recipe's rules, in the order they are checked. (Foundation: none yet.)"""
    return []


def apply_filters(signals: pl.LazyFrame, recipe: Recipe) -> pl.LazyFrame:
    """Add ``keep`` (bool), ``drop_reason`` and ``drop_family`` (null when kept)."""
    rules = build_rules(recipe)
    reason = pl.lit(None, dtype=pl.String)
    family = pl.lit(None, dtype=pl.String)
    for rule in reversed(rules):
        failed = rule.keep.fill_null(True).not_()
        reason = pl.when(failed).then(pl.lit(rule.reason)).otherwise(reason)
        family = pl.when(failed).then(pl.lit(rule.family)).otherwise(family)
    return signals.with_columns(drop_reason=reason, drop_family=family).with_columns(
        keep=pl.col("drop_reason").is_null()
    )


def funnel(filtered: pl.LazyFrame) -> pl.DataFrame:
    """Documents and characters removed per reason, most first, plus the kept total."""
    return (
        filtered.group_by(pl.col("drop_reason").fill_null("(kept)"))
        .agg(documents=pl.len(), characters=pl.col("text").str.len_chars().sum())
        .sort("documents", descending=True)
        .collect()
    )
