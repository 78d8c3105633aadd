"""Sensors and the jobs they launch (annotation pull)."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from assets.resources import LabelStudioResource, RecipeResource
from winnow.annotation.labelstudio import START_HINT, LabelStudioError, LabelStudioUnavailable
from winnow.annotation.pull import latest_change
from winnow.settings import load_settings

#: Pull completed annotations and recompute agreement (unpartitioned assets).
annotation_pull_job = dg.define_asset_job(
    name="annotation_pull",
    selection=dg.AssetSelection.assets("annotations", "annotator_agreement", "quality_model"),
    description="Pull new or updated annotations from Label Studio, recompute agreement and retrain the quality model.",
)


@dg.sensor(
    name="label_studio_annotations",
    job=annotation_pull_job,
    minimum_interval_seconds=load_settings().label_studio.sensor_interval_s,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches Label Studio for annotated tasks updated since the cursor (the newest task "
    "updated_at seen) and launches annotation_pull. Skips, never fails, while Label Studio is not "
    "configured, not running or has no new labels.",
)
def label_studio_annotations(
    context: dg.SensorEvaluationContext, recipe: RecipeResource, label_studio: LabelStudioResource
):
    r = recipe.load()
    try:
        client = label_studio.client(quick=True)
    except LabelStudioError as exc:
        return dg.SkipReason(str(exc))
    if client is None:
        return dg.SkipReason("Label Studio is not configured; nothing to pull. " + START_HINT)
    try:
        if not client.health():
            return dg.SkipReason(f"Label Studio at {client.url} is not answering. {START_HINT}")
        project_id = client.find_project(r.annotation.project_title)
        if project_id is None:
            return dg.SkipReason(f"no Label Studio project titled {r.annotation.project_title!r} yet")
        since = datetime.fromisoformat(context.cursor) if context.cursor else None
        latest = latest_change(client, project_id, since)
    except (LabelStudioUnavailable, LabelStudioError) as exc:
        return dg.SkipReason(str(exc))
    finally:
        client.close()
    if latest is None:
        return dg.SkipReason(f"no new or updated annotations since {context.cursor or 'the beginning'}")
    cursor = latest.isoformat()
    context.update_cursor(cursor)
    return dg.RunRequest(run_key=f"annotations@{cursor}", tags={"winnow/annotations_until": cursor})


#: Jobs launched by sensors (added to Definitions).
JOBS: list = [annotation_pull_job]
#: Sensors (added to Definitions).
SENSORS: list = [label_studio_annotations]
