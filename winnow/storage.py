"""Writing files: the one place that decides Parquet layout and how a write is made atomic.

Row groups are kept small (8,192 rows) because polars' streaming sink buffers a
whole row group: with the default (~260k rows) a corpus of 3 KB documents would
hold ~800 MB per group, so memory would grow with the corpus.

Every file a reader may open while it is being written goes through ``atomic_path``:
write a hidden temporary file beside the target, then rename it over the target, so a
reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

ROW_GROUP_ROWS = 8192


@contextmanager
def atomic_path(path: Path, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str, *, fsync: bool = False) -> Path:
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sink_parquet(frame: pl.LazyFrame | pl.DataFrame, path: Path) -> Path:
    """Stream ``frame`` to ``path`` atomically, zstd-compressed."""
    with atomic_path(path) as tmp:
        if isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        else:
            frame.write_parquet(tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return Path(path)
