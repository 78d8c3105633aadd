"""Where Winnow keeps its data: one directory, ``WINNOW_HOME`` (default ``.winnow``)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def winnow_home() -> Path:
    """The data directory; created on first use. DAGSTER_HOME lives inside it by default."""
    home = Path(os.environ.get("WINNOW_HOME", REPO_ROOT / ".winnow")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def default_recipe_path() -> Path:
    return Path(os.environ.get("WINNOW_RECIPE", REPO_ROOT / "recipes" / "sample.yaml")).resolve()


def storage_dir() -> Path:
    """Materialized asset tables (Parquet), one folder per asset."""
    return winnow_home() / "storage"


def releases_dir() -> Path:
    return Path(os.environ.get("WINNOW_RELEASES", winnow_home() / "releases")).resolve()


def asset_table_path(asset: str, partition: str | None = None, base: Path | None = None) -> Path:
    """Where the Parquet IO manager keeps ``asset`` (one file per partition, ``__all__`` if unpartitioned)."""
    return (base or storage_dir()) / asset / f"{partition or '__all__'}.parquet"


def optional_table(asset: str, partitions: list[str] | None = None, base: Path | None = None):
    """A lazy scan of an asset's stored table, or None if it was never materialized.

    For optional upstreams (labels, the model) that a nightly run must not wait for:
    declare them with ``deps=[...]`` for lineage and read them here.
    """
    import polars as pl

    paths = [asset_table_path(asset, p, base) for p in (partitions or [None])]
    if partitions is None:
        folder = (base or storage_dir()) / asset
        paths = sorted(folder.glob("*.parquet")) if folder.exists() else []
    found = [p for p in paths if p.exists()]
    return pl.scan_parquet(found) if found else None
