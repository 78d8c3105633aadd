"""The store: one data root and the layout of everything Winnow keeps under it.

Dagster's IO manager and every side read (an optional upstream such as the labels,
the night's own stored table, the model registry, the dedup index, validation
results) go through one ``Store``, so moving the data root moves all of them.

Layout under ``root``::

    storage/<asset>/<night>.parquet      asset tables (``__all__`` when unpartitioned)
    models/                              quality-model registry
    dedup_index/                         signatures of everything published
    validation/<asset>/<night>.json      Great Expectations summaries and Data Docs
    annotation/ledger/                   what was sent to Label Studio
    publish/fingerprints.json            input-file fingerprint cache
    tmp/                                 scratch, removed after each step
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from winnow.storage import sink_parquet

UNPARTITIONED = "__all__"


@dataclass(frozen=True)
class Store:
    root: Path
    #: published releases; None = ``<root>/releases``
    releases_root: Path | None = None
    #: the root's permissions (settings ``data_dir_mode``): raw text with PII lives here
    mode: int = 0o700

    @property
    def releases(self) -> Path:
        path = self.releases_root or self.root / "releases"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _dir(self, name: str) -> Path:
        return self.root / name

    @property
    def tables(self) -> Path:
        return self._dir("storage")

    @property
    def models(self) -> Path:
        return self._dir("models")

    @property
    def dedup_index(self) -> Path:
        return self._dir("dedup_index")

    @property
    def validation(self) -> Path:
        return self._dir("validation")

    @property
    def fingerprint_cache(self) -> Path:
        return self._dir("publish") / "fingerprints.json"

    def table_path(self, asset: str, partition: str | None = None) -> Path:
        """Where ``asset`` is kept: one Parquet file per partition."""
        return self.tables / asset / f"{partition or UNPARTITIONED}.parquet"

    def table_files(self, asset: str) -> list[Path]:
        """Every stored partition file of ``asset``, in night order."""
        folder = self.tables / asset
        return sorted(folder.glob("*.parquet")) if folder.exists() else []

    def table(self, asset: str, partitions: list[str] | None = None) -> pl.LazyFrame | None:
        """A lazy scan of a stored table (the given partitions, else all), or None if never written.

        For optional upstreams (labels, the model) that a nightly run must not wait for:
        the asset declares them with ``deps=[...]`` for lineage and reads them here.
        """
        if partitions is None:
            found = self.table_files(asset)
        else:
            found = [p for p in (self.table_path(asset, n) for n in partitions) if p.exists()]
        return pl.scan_parquet(found) if found else None

    def collect(self, asset: str, partitions: list[str] | None = None) -> pl.DataFrame | None:
        frame = self.table(asset, partitions)
        return None if frame is None else frame.collect()

    def write_table(self, asset: str, partition: str | None, frame: pl.LazyFrame | pl.DataFrame) -> Path:
        """Stream ``frame`` into the store, atomically."""
        return sink_parquet(frame, self.table_path(asset, partition))

    @contextmanager
    def scratch(self, prefix: str) -> Iterator[Path]:
        """A private temporary folder under the root, removed afterwards whatever happens."""
        work = self._dir("tmp")
        work.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=work))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def ensure(self) -> Store:
        """Create the root, and give it ``mode`` (also when it existed with wider permissions)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if (self.root.stat().st_mode & 0o777) != self.mode:
            try:
                os.chmod(self.root, self.mode)
            except PermissionError as exc:
                raise PermissionError(
                    f"cannot set {self.root} to {self.mode:04o} (settings data_dir_mode): {exc.strerror}; "
                    "the data directory must belong to the pipeline's user"
                ) from None
        return self
