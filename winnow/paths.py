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
