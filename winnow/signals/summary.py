"""Night summaries of the signals, for the UI: languages detected and PII found."""

from __future__ import annotations

import polars as pl

from winnow.pii import COLUMNS as PII_COLUMNS


def language_summary(decided: pl.LazyFrame, top: int = 15) -> pl.DataFrame:
    """Documents, kept documents and mean confidence per detected language (the most frequent first)."""
    return (
        decided.group_by("lang_detected")
        .agg(documents=pl.len(), kept=pl.col("keep").sum(), mean_score=pl.col("lang_score").mean())
        .sort("documents", descending=True)
        .head(top)
        .collect()
    )


def pii_summary(decided: pl.LazyFrame) -> pl.DataFrame:
    """Per kind of PII: how many were found and in how many documents."""
    cols = list(PII_COLUMNS)
    sums = decided.select(
        *[pl.col(c).sum().alias(c) for c in cols], *[(pl.col(c) > 0).sum().alias(f"{c}_docs") for c in cols]
    ).collect()
    return pl.DataFrame(
        {
            "kind": [c.removeprefix("pii_") for c in cols],
            "found": [int(sums[c][0]) for c in cols],
            "documents": [int(sums[f"{c}_docs"][0]) for c in cols],
        }
    )
