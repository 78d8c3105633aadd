"""Stable document ids and content hashes.

A given id is namespaced by its source (``source:id``) so two sources can reuse ids;
without one, the id is derived from the source and the content, so a rerun gives
the same id.
"""

from __future__ import annotations

import polars as pl
import xxhash


def derived_doc_id(source: str, text: str) -> str:
    """Content-derived id: ``source:h<xxh3-128 hex>``."""
    return f"{source}:h{xxhash.xxh3_128_hexdigest(text.encode('utf-8', 'surrogatepass'))}"


def given_doc_id(source: str, raw_id: object) -> str:
    return f"{source}:{raw_id}"


def _stable_fraction(series: pl.Series, seed: int) -> pl.Series:
    seed_b = f"{seed}:".encode()
    values = [
        xxhash.xxh64_intdigest(seed_b + v.encode("utf-8", "surrogatepass")) / 2.0**64 if v is not None else None
        for v in series.cast(pl.String).to_list()
    ]
    return pl.Series(series.name, values, dtype=pl.Float64)


def hash_seed_fraction(key: pl.Expr, seed: int) -> pl.Expr:
    """A uniform number in [0, 1) from xxh64 of ``seed:key``.

    It does not depend on the polars version (``Expr.hash`` may change between
    releases), so a rerun or an upgrade picks the same documents.
    """
    return key.map_batches(lambda s: _stable_fraction(s, seed), return_dtype=pl.Float64)


#: seed offsets of the sample's independent hash streams (the draw itself uses the recipe seed)
OVERLAP_STREAM, PUSH_STREAM, HOLDOUT_STREAM = 1, 2, 3


def push_rank(doc_id: pl.Expr, seed: int) -> pl.Expr:
    """The order tasks are sent in: a hash of ``doc_id``, so any labelled prefix is a random subsample."""
    return hash_seed_fraction(doc_id, seed + PUSH_STREAM)


def is_holdout(doc_id: pl.Expr, seed: int, share: float) -> pl.Expr:
    """Design documents whose labels only measure a model's release, never train or calibrate it."""
    return hash_seed_fraction(doc_id, seed + HOLDOUT_STREAM) < share
