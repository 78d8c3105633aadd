"""Writing tables: the one place that decides Parquet layout.

Row groups are kept small (8,192 rows) because polars' streaming sink buffers a
whole row group: with the default (~260k rows) a corpus of 3 KB documents would
hold ~800 MB per group, so memory would grow with the corpus.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

ROW_GROUP_ROWS = 8192


def sink_parquet(frame: pl.LazyFrame | pl.DataFrame, path: Path) -> Path:
    """Stream ``frame`` to ``path`` atomically (temp file, then rename), zstd-compressed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        else:
            frame.write_parquet(tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
