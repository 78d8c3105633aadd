"""Operational settings: one validated object from a file and the environment, apart from the recipe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from schemas.recipe import RecipeError, load_recipe
from winnow.settings import SettingsError, read_settings_file, settings_from

REPO = Path(__file__).resolve().parents[2]


def test_environment_overrides_the_file_and_paths_resolve_against_it(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("home: data\nrecipe: r.yaml\nwork: {score_batch_rows: 200}\n")
    s = settings_from(read_settings_file(f), {}, str(f))
    assert s.home == (tmp_path / "data").resolve() and s.recipe == (tmp_path / "r.yaml").resolve()
    assert s.work.score_batch_rows == 200 and s.releases_root == (tmp_path / "data" / "releases").resolve()
    env = {
        "WINNOW_HOME": str(tmp_path / "other"),
        "WINNOW_LABEL_STUDIO_URL": "http://127.0.0.1:1",
        "WINNOW_LABEL_STUDIO": "off",
        "WINNOW_CODE_VERSION": "build-7",
    }
    s = settings_from(read_settings_file(f), env, str(f))
    assert s.home == (tmp_path / "other").resolve() and s.label_studio.url == "http://127.0.0.1:1"
    assert s.label_studio.enabled is False and s.code_version == "build-7"


def test_a_bad_setting_names_the_file_and_the_field(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("work: {score_batch_rows: 3}\nlabel_studio: {retries: -1}\n")
    with pytest.raises(SettingsError) as err:
        settings_from(read_settings_file(f), {}, str(f))
    assert f"{f}: field 'work.score_batch_rows'" in str(err.value)
    assert f"{f}: field 'label_studio.retries'" in str(err.value)


def test_operational_knobs_are_not_recipe_fields(tmp_path):
    """A knob left in a recipe is refused by name, so it cannot slip into the recipe hash."""
    r = yaml.safe_load((REPO / "recipes" / "sample.yaml").read_text())
    r["model"] = {"score_batch_rows": 100}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(r))
    with pytest.raises(RecipeError, match="model.score_batch_rows"):
        load_recipe(path)


def test_the_sample_settings_give_the_sample_nights_and_nothing_more():
    import dagster as dg

    s = settings_from(read_settings_file(REPO / "settings.yaml"), {}, "settings.yaml")
    nights = sorted(p.name for p in (REPO / "data" / "sample").iterdir() if p.is_dir() and p.name[:2] == "20")
    parts = dg.DailyPartitionsDefinition(start_date=s.schedule.partitions_start, end_date=s.schedule.partitions_end)
    assert parts.get_partition_keys() == nights
