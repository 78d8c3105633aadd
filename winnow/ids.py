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
