"""Parquet IO manager: tables are stored as one Parquet file per asset and partition.

LazyFrames are streamed to disk with ``sink_parquet`` and loaded back as
``scan_parquet``, so no stage has to hold a whole table in memory. Other values
(models, dicts) are pickled next to the tables.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from winnow.paths import asset_table_path, storage_dir
from winnow.storage import sink_parquet


class ParquetIOManager(dg.ConfigurableIOManager):
    base_dir: str = Field(default_factory=lambda: str(storage_dir()))

    def _path(self, key: dg.AssetKey, partition: str | None, suffix: str) -> Path:
        table = asset_table_path("/".join(key.path), partition, Path(self.base_dir))
        return table.with_suffix(suffix)

    def _partitions(self, context) -> list[str | None]:
        if context.has_asset_partitions:
            return list(context.asset_partition_keys)
        return [None]

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        (partition,) = self._partitions(context) if context.has_asset_partitions else [None]
        is_table = isinstance(obj, (pl.LazyFrame, pl.DataFrame))
        path = self._path(context.asset_key, partition, ".parquet" if is_table else ".pkl")
        if is_table:
            sink_parquet(obj, path)  # streamed, atomic: readers never see a half-written file
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_bytes(pickle.dumps(obj))
        os.replace(tmp, path)

    def load_input(self, context: dg.InputContext):
        key = context.asset_key
        parts = self._partitions(context)
        tables = [self._path(key, p, ".parquet") for p in parts]
        existing = [t for t in tables if t.exists()]
        if existing:
            return pl.scan_parquet(existing)
        pickles = [self._path(key, p, ".pkl") for p in parts]
        found = [p for p in pickles if p.exists()]
        if len(found) == 1 and len(parts) == 1:
            return pickle.loads(found[0].read_bytes())
        missing = ", ".join(str(t) for t in tables)
        raise FileNotFoundError(f"asset {key.to_user_string()} has not been materialized: no {missing}")
