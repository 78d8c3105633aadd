"""Document quality scores in [0, 1].

Until enough human labels exist (cold start) the score is a heuristic from the
filter outcome; later it comes from the trained quality model.
"""

from __future__ import annotations

import polars as pl


def heuristic_score(filtered: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``quality_score`` and ``score_source`` = "heuristic"."""
    return filtered.with_columns(
        quality_score=pl.when(pl.col("keep")).then(0.75).otherwise(0.25),
        score_source=pl.lit("heuristic"),
    )
