"""Compute every signal column for a LazyFrame of canonical documents.

(Foundation version: basic size signals; the Gopher, C4, FineWeb, language and PII
families are added by the signals work.)
"""

from __future__ import annotations

import polars as pl

from schemas.recipe import Recipe


def compute_signals(docs: pl.LazyFrame, recipe: Recipe) -> pl.LazyFrame:
    """Add signal columns; every input column is kept."""
    return docs.with_columns(
        n_chars=pl.col("text").str.len_chars(),
        n_words=pl.col("text").str.split(" ").list.len(),
        text_redacted=pl.col("text"),
        lang_detected=pl.col("lang"),
        lang_score=pl.lit(None, dtype=pl.Float64),
    )
