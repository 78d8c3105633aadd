"""Parquet IO manager: asset tables live in the store, one Parquet file per asset and partition.

LazyFrames are streamed to disk with ``sink_parquet`` and loaded back as
``scan_parquet``, so no stage has to hold a whole table in memory. The layout is the
store's (``winnow.store.Store``), the same one every side read uses.
"""

from __future__ import annotations

import dagster as dg
import polars as pl

from assets.resources import StoreResource


class ParquetIOManager(dg.ConfigurableIOManager):
    store: StoreResource

    def _partitions(self, context) -> list[str | None]:
        if context.has_asset_partitions:
            return list(context.asset_partition_keys)
        return [None]

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        if obj is None:
            return
        if not isinstance(obj, (pl.LazyFrame, pl.DataFrame)):
            raise TypeError(
                f"{context.asset_key.to_user_string()}: the IO manager stores polars tables only, "
                f"got {type(obj).__name__}"
            )
        (partition,) = self._partitions(context)
        # streamed, atomic: readers never see a half-written file
        self.store.store.write_table("/".join(context.asset_key.path), partition, obj)

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        store = self.store.store
        asset = "/".join(context.asset_key.path)
        tables = [store.table_path(asset, p) for p in self._partitions(context)]
        existing = [t for t in tables if t.exists()]
        if existing:
            return pl.scan_parquet(existing)
        missing = ", ".join(str(t) for t in tables)
        raise FileNotFoundError(f"asset {context.asset_key.to_user_string()} has not been materialized: no {missing}")
