"""Shared fixtures: an isolated WINNOW_HOME per test session and a tiny recipe factory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
# Operational settings of the suite (read before the code location is imported); the e2e
# tests' subprocesses drop WINNOW_* variables and so run with the sample's settings.yaml.
os.environ.setdefault("WINNOW_SETTINGS", str(REPO / "tests" / "settings.yaml"))


@pytest.fixture()
def winnow_home(tmp_path, monkeypatch) -> Path:
    """A fresh data directory, so tests never see each other's storage or releases."""
    home = tmp_path / "winnow_home"
    monkeypatch.setenv("WINNOW_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    (home / "dagster_home").mkdir(parents=True)
    return home


@pytest.fixture(scope="session")
def sample_recipe_path() -> Path:
    return REPO / "recipes" / "sample.yaml"


def pytest_collection_modifyitems(config, items):
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
