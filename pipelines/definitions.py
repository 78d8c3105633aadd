"""The Winnow code location, loaded by ``workspace.yaml`` and ``dagster -m pipelines.definitions``."""

from __future__ import annotations

import dagster as dg

import assets.annotate
import assets.dedup
import assets.filtering
import assets.ingest
import assets.labels
import assets.model
import assets.publish
import assets.scoring
import assets.validation
from assets.resources import LabelStudioResource, RecipeResource, ReleaseStoreResource
from pipelines.io_manager import ParquetIOManager
from pipelines.jobs import build_nightly_job, nightly_schedule
from pipelines.sensors import JOBS, SENSORS

ASSET_MODULES = [
    assets.ingest,
    assets.filtering,
    assets.dedup,
    assets.scoring,
    assets.annotate,
    assets.labels,
    assets.model,
    assets.validation,
    assets.publish,
]

all_assets = dg.load_assets_from_modules(ASSET_MODULES)
nightly_curation = build_nightly_job(all_assets)


def resources() -> dict:
    """Default (embedded) resources; tests swap in their own paths."""
    return {
        "io_manager": ParquetIOManager(),
        "recipe": RecipeResource(),
        "releases": ReleaseStoreResource(),
        "label_studio": LabelStudioResource(),
    }


defs = dg.Definitions(
    assets=all_assets,
    asset_checks=dg.load_asset_checks_from_modules(ASSET_MODULES),
    jobs=[nightly_curation, *JOBS],
    sensors=SENSORS,
    schedules=[nightly_schedule(nightly_curation)],
    resources=resources(),
)
