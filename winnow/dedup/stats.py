"""Night summaries of deduplication, for the UI."""

from __future__ import annotations

import polars as pl

SIZE_BUCKETS = [(2, 2), (3, 5), (6, 10), (11, 100), (101, None)]


def cluster_size_histogram(kept: pl.LazyFrame) -> pl.DataFrame:
    """Duplicate clusters (size > 1) per size bucket."""
    sizes = kept.filter(pl.col("dup_cluster_size") > 1).select("dup_cluster_size").collect()["dup_cluster_size"]
    rows = []
    for lo, hi in SIZE_BUCKETS:
        sel = (sizes >= lo) & ((sizes <= hi) if hi is not None else True)
        label = f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi else f">{lo - 1}")
        rows.append({"cluster size": label, "clusters": int(sel.sum())})
    return pl.DataFrame(rows)
