"""The Winnow code location, loaded by ``workspace.yaml`` and ``dagster -m pipelines.definitions``.

One module per stage (``assets/<stage>.py``), one Dagster group per module: each module
names its ``GROUP`` and ``OWNERS``, applied here once to all of its assets.
"""

from __future__ import annotations

import dagster as dg

import assets.annotate
import assets.curate
import assets.ingest
import assets.model
import assets.publish
from assets.validation import CHECKS
from pipelines.jobs import build_nightly_job, nightly_schedule
from pipelines.resources import build_resources
from pipelines.sensors import JOBS, SENSORS
from winnow.settings import load_settings

#: The stages, in the order data flows through them.
ASSET_MODULES = [assets.ingest, assets.curate, assets.model, assets.annotate, assets.publish]


def _stage_assets(module) -> list:
    loaded = dg.load_assets_from_modules([module], group_name=module.GROUP)
    return list(dg.map_asset_specs(lambda spec: spec.replace_attributes(owners=module.OWNERS), loaded))  # type: ignore[arg-type]


all_assets = [a for module in ASSET_MODULES for a in _stage_assets(module)]
asset_checks = [*CHECKS, *dg.load_asset_checks_from_modules(ASSET_MODULES)]
settings = load_settings()
nightly_curation = build_nightly_job(all_assets, settings.work)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=asset_checks,
    jobs=[nightly_curation, *JOBS],
    sensors=SENSORS,
    schedules=[nightly_schedule(nightly_curation, settings.schedule)],
    resources=build_resources(settings),
)
