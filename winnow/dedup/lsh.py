"""LSH buckets as files: the map writes band-partitioned bucket files, the reduce pairs them up.

Map (per shard of documents, anywhere): ``write_band_buckets`` writes, for each band
``b``, ``<root>/band_<b>/<shard>.parquet`` with columns ``key`` (the band key) and
``doc`` (a global integer document id). Reduce (per band, anywhere):
``band_candidate_pairs`` reads one band's files from every shard and returns the
document pairs that share a key. The pairs of all bands then go to union-find
(``winnow.dedup.components``). Each step only needs its own files, so shards and
bands can run as separate Dagster partitions or on separate machines over an
object store; one band of one night is the largest thing any step holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

#: in a bucket with m members, each member is paired with the first ``head`` members only
#: (all pairs when m <= head + 1): linear, not quadratic, in the size of a huge bucket
DEFAULT_BUCKET_HEAD = 32


def band_dir(root: Path, band: int) -> Path:
    return root / f"band_{band:03d}"


def write_band_buckets(root: Path, shard: str, docs: np.ndarray, keys: np.ndarray) -> None:
    """Write one shard's band keys: ``keys`` is (n, bands) uint64 for the documents ``docs``."""
    for b in range(keys.shape[1]):
        d = band_dir(root, b)
        d.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(
            {"key": pl.Series(keys[:, b], dtype=pl.UInt64), "doc": pl.Series(docs, dtype=pl.Int64)}
        ).write_parquet(d / f"{shard}.parquet", compression="lz4", statistics=False)


def band_files(root: Path, band: int) -> list[Path]:
    d = band_dir(root, band)
    return sorted(d.glob("*.parquet")) if d.exists() else []


def bucket_pairs(buckets: pl.LazyFrame, head: int = DEFAULT_BUCKET_HEAD) -> pl.LazyFrame:
    """Pairs (a < b) of documents sharing a ``key`` in ``buckets`` (columns key, doc)."""
    ranked = (
        buckets.sort(["key", "doc"])
        .with_columns(_rank=pl.int_range(pl.len()).over("key"), _size=pl.len().over("key"))
        .filter(pl.col("_size") > 1)
    )
    heads = ranked.filter(pl.col("_rank") < head).select("key", a=pl.col("doc"))
    return (
        ranked.select("key", b=pl.col("doc")).join(heads, on="key").filter(pl.col("a") < pl.col("b")).select("a", "b")
    )


def band_candidate_pairs(root: Path, band: int, head: int = DEFAULT_BUCKET_HEAD) -> pl.DataFrame:
    """The reduce step of one band: every candidate pair from all shards' bucket files."""
    files = band_files(root, band)
    if not files:
        return pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64})
    return bucket_pairs(pl.scan_parquet(files), head).collect()


def all_candidate_pairs(root: Path, bands: int, head: int = DEFAULT_BUCKET_HEAD, runner=None) -> pl.DataFrame:
    """Unique candidate pairs over all bands (a < b); one band per task on a remote ``runner``."""
    jobs = [(root, b, head) for b in range(bands)]
    if runner is not None and runner.remote:
        parts = runner.map(band_candidate_pairs, jobs, label="dedup_reduce")
    else:
        parts = [band_candidate_pairs(*job) for job in jobs]
    return pl.concat(parts).unique(maintain_order=False).sort(["a", "b"])
