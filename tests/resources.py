"""Resources for tests, built the way the code location builds its own: from one Settings object."""

from __future__ import annotations

import os
from pathlib import Path

from winnow.settings import read_settings_file, settings_from

TEST_SETTINGS = Path(__file__).resolve().parent / "settings.yaml"


def test_settings(recipe: Path | str, releases: Path | str | None = None, *, label_studio: dict | None = None):
    """The suite's settings with this test's recipe, data directory (WINNOW_HOME) and releases."""
    raw = read_settings_file(TEST_SETTINGS) | {"recipe": str(recipe)}
    if releases is not None:
        raw["releases"] = str(releases)
    if label_studio is not None:
        raw["label_studio"] = label_studio
    return settings_from(raw, dict(os.environ), str(TEST_SETTINGS))


def resources_for(recipe: Path | str, releases: Path | str | None = None, *, label_studio: dict | None = None) -> dict:
    from pipelines.resources import build_resources

    return build_resources(test_settings(recipe, releases, label_studio=label_studio))


test_settings.__test__ = False  # not a test, despite its name
