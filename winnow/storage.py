"""Writing files: the one place that decides Parquet layout and how a write is made atomic.

Row groups are kept small (8,192 rows) because polars' streaming sink buffers a
whole row group: with the default (~260k rows) a corpus of 3 KB documents would
hold ~800 MB per group, so memory would grow with the corpus.

Every file a reader may open while it is being written goes through ``atomic_path``:
write a hidden temporary file beside the target, then rename it over the target, so a
reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import xxhash

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


class CorruptStateError(RuntimeError):
    """A saved state file cannot be read: the message names the file, says what it holds and how to recover."""


def _state_error(path: Path, what: str, recover: str, exc: BaseException) -> CorruptStateError:
    return CorruptStateError(
        f"{path} ({what}) cannot be read: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
        f"The file is truncated or damaged. To recover: {recover}"
    )


def read_state_json(path: Path, what: str, recover: str) -> Any:
    """A JSON state file, or ``CorruptStateError`` naming it (``what`` it holds, how to ``recover``)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _state_error(path, what, recover, exc) from None


def read_state_parquet(path: Path, what: str, recover: str) -> pl.DataFrame:
    """A Parquet state file read whole, or ``CorruptStateError`` naming it."""
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.ComputeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise _state_error(path, what, recover, exc) from None


def file_digest(path: Path, new: Callable[[], Any]) -> str:
    """The hex digest of a file's bytes with the hash object ``new()`` makes, read in 1 MiB chunks."""
    h = new()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """sha256 of a file: what release manifests record, so anyone can check them."""
    return file_digest(path, hashlib.sha256)


def file_checksum(path: Path) -> str:
    """xxh3-128 of a file: a fast corruption check for Winnow's own state, not a signature."""
    return file_digest(path, xxhash.xxh3_128)
