"""Exact dedup on a hash of normalized text.

Normalization lowercases and folds whitespace, punctuation and digits, so trivially
reformatted copies collide. The kept document is the first by (created_at, doc_id):
the oldest, ties broken by id, so the choice never depends on row order.
"""

from __future__ import annotations

import polars as pl

from winnow.ids import stable_hash_hex


def normalized_text(text: pl.Expr) -> pl.Expr:
    return (
        text.str.to_lowercase()
        .str.replace_all(r"\d", "0")
        .str.replace_all(r"[\p{P}\p{S}]+", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def content_hash(text: pl.Expr) -> pl.Expr:
    """A 64-bit hash of the normalized text, as 16 hex chars."""
    return stable_hash_hex(normalized_text(text))


def mark_exact_duplicates(docs: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``content_hash``, ``exact_cluster_size``, ``exact_dup_of`` (kept doc_id, null if kept)."""
    ranked = docs.with_columns(content_hash=content_hash(pl.col("text"))).with_columns(
        exact_cluster_size=pl.len().over("content_hash").cast(pl.Int64),
        _kept=pl.col("doc_id").sort_by([pl.col("created_at"), pl.col("doc_id")], nulls_last=True).first().over("content_hash"),
    )
    return ranked.with_columns(
        exact_dup_of=pl.when(pl.col("_kept") != pl.col("doc_id")).then(pl.col("_kept")).otherwise(None)
    ).drop("_kept")
