"""Choose the documents humans will label: a fixed fraction, deterministic by doc_id hash.

(Foundation version: a Bernoulli sample by hash; stratification, the rejected slice,
overlap and the budget come with the annotation work.)
"""

from __future__ import annotations

import polars as pl

from schemas.recipe import Recipe
from winnow.ids import hash_seed_fraction


def select_sample(scored: pl.LazyFrame, recipe: Recipe) -> pl.LazyFrame:
    """Rows of ``scored`` chosen for annotation, with ``inclusion_prob`` and ``sample_kind``."""
    f = recipe.sampling.fraction
    return (
        scored.with_columns(_u=hash_seed_fraction(pl.col("doc_id"), recipe.seed))
        .filter(pl.col("_u") < f)
        .drop("_u")
        .with_columns(inclusion_prob=pl.lit(f), sample_kind=pl.lit("random"), stratum=pl.col("source"))
    )
