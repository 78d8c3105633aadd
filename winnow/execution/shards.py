"""Shards: a night's table cut into row ranges of about ``shard_mb`` of text, one task each.

The plan reads only text lengths (the driver never holds document text); each task
reads its own row range of the stored scan (a slice pushed down to the Parquet row
groups), so a task holds one shard and memory per task does not grow with the night.
The cut depends only on the data and ``shard_mb``, never on the runner, and every
per-row stage gives the same rows in the same order for any cut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from winnow.execution.runners import Runner
from winnow.storage import atomic_path


@dataclass(frozen=True)
class Shard:
    index: int
    #: first row in the source table, and rows of the source it covers
    offset: int
    rows: int
    #: rows kept by the plan's ``where`` before this shard (a global position for the stage)
    start: int
    #: rows kept by ``where`` in this shard
    kept: int
    text_bytes: int


def plan_shards(source: pl.LazyFrame, shard_mb: float, where: pl.Expr | None = None, text: str = "text") -> list[Shard]:
    """Row ranges of ``source`` holding about ``shard_mb`` of ``text`` each (rows not ``where`` weigh nothing)."""
    mask = pl.lit(True) if where is None else where.fill_null(False)
    got = source.select(
        size=pl.when(mask).then(pl.col(text).str.len_bytes().fill_null(0)).otherwise(0).cast(pl.Int64),
        keep=mask.cast(pl.Int64),
    ).collect()
    n = got.height
    if n == 0:
        return []
    size = got.get_column("size").to_numpy()
    keep = got.get_column("keep").to_numpy()
    target = max(1, int(shard_mb * 2**20))
    before = np.cumsum(size) - size  # text before each row
    ids = before // target  # non-decreasing: a shard starts where a multiple of target is crossed
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    ends = np.r_[starts[1:], n]
    kept_before = np.cumsum(keep) - keep
    return [
        Shard(
            index=i,
            offset=int(a),
            rows=int(b - a),
            start=int(kept_before[a]),
            kept=int(keep[a:b].sum()),
            text_bytes=int(size[a:b].sum()),
        )
        for i, (a, b) in enumerate(zip(starts, ends))
    ]


def shard_frame(source: pl.LazyFrame, shard: Shard, where: pl.Expr | None = None) -> pl.LazyFrame:
    """The lazy rows of one shard (what a task collects)."""
    part = source.slice(shard.offset, shard.rows)
    return part if where is None else part.filter(where.fill_null(False))


def _part_task(fn: Callable, frame: pl.LazyFrame, path: Path, args: tuple) -> int:
    out = fn(frame, *args)
    if isinstance(out, pl.LazyFrame):  # a lazy stage function: the task collects its one shard
        out = out.collect()
    # write then rename: a task killed mid-write leaves no part for its retry to trip on
    with atomic_path(path) as tmp:
        out.write_parquet(tmp, compression="lz4")
    return out.height


def map_shards(
    source: pl.LazyFrame,
    fn: Callable[..., pl.DataFrame | pl.LazyFrame],
    out_dir: Path,
    runner: Runner,
    *,
    shard_mb: float,
    label: str,
    args: tuple = (),
    where: pl.Expr | None = None,
    memory_mb: float | None = None,
) -> pl.LazyFrame:
    """``fn(shard_lazyframe, *args)`` per shard on ``runner``, stacked in shard order.

    ``out_dir/part-NNNNN.parquet`` holds shard N's result; returns a scan of them (keep
    ``out_dir`` until it has been consumed). An empty input gives ``fn`` of no rows.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = plan_shards(source, shard_mb, where)
    if not shards:
        path = out_dir / "part-00000.parquet"
        _part_task(fn, shard_frame(source.head(0), Shard(0, 0, 0, 0, 0, 0), where), path, args)
        return pl.scan_parquet(path)
    paths = [out_dir / f"part-{s.index:05d}.parquet" for s in shards]
    jobs = [(fn, shard_frame(source, s, where), p, args) for s, p in zip(shards, paths)]
    runner.map(_part_task, jobs, label=label, memory_mb=memory_mb)
    return pl.scan_parquet(paths)
