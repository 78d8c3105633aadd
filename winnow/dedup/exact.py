"""Exact duplicates: a stable 64-bit hash of the normalized text.

The normalized text is the sequence of normalized tokens (``winnow.dedup.shingles``):
lowercase, punctuation and whitespace dropped, every run of digits ``0``, diacritics
removed. Two documents are exact duplicates when these sequences are equal, so
reformatted, re-cased or re-numbered copies collide. Every document whose
normalized text is empty (empty, whitespace or punctuation only) has the same hash:
one of them is kept. ``run_dedup`` groups by this hash; the expression below is for
ad-hoc use on small frames.
"""

from __future__ import annotations

import polars as pl

from winnow.dedup.hashing import to_hex
from winnow.dedup.shingles import content_hashes, tokenize


def content_hash_series(texts: pl.Series) -> pl.Series:
    """16 hex chars per text (a null text counts as empty)."""
    return pl.Series(texts.name, to_hex(content_hashes(tokenize(texts))), dtype=pl.String)


def content_hash(text: pl.Expr) -> pl.Expr:
    """Expression form of ``content_hash_series``."""
    return text.map_batches(content_hash_series, return_dtype=pl.String)
