"""Label Studio absent or down: never block the night for humans, but say exactly what to start."""

from __future__ import annotations

import dagster as dg
import polars as pl
import pytest

from tests.integration.ls_server import LS_OPS, write_recipe
from tests.integration.test_labelstudio_roundtrip import P, _meta, _scored, _sensor_tick
from tests.resources import resources_for

ENV = (
    "WINNOW_LABEL_STUDIO_URL",
    "WINNOW_LABEL_STUDIO_TOKEN",
    "WINNOW_LABEL_STUDIO_TOKEN_FILE",
    "WINNOW_LS_DATA",
    "WINNOW_LABEL_STUDIO",
)


def _resources(recipe):
    # the server comes from the environment (WINNOW_LABEL_STUDIO_URL / _TOKEN), as in production
    return resources_for(recipe, recipe.parent / "releases", label_studio=dict(LS_OPS))


def test_not_configured_skips_push_and_pull_with_a_warning(tmp_path, winnow_home, monkeypatch):
    from pipelines.definitions import all_assets
    from pipelines.sensors import label_studio_annotations

    for k in ENV:
        monkeypatch.delenv(k, raising=False)
    recipe = write_recipe(tmp_path / "recipe.yaml", "Winnow not configured")
    _scored(winnow_home, n=300)
    res = dg.materialize(
        all_assets, selection=["annotation_sample", "label_studio_tasks"], partition_key=P, resources=_resources(recipe)
    )
    assert res.success
    meta = _meta(res, "label_studio_tasks")
    assert meta["status"] == "skipped: not configured" and "scripts/labelstudio.sh start" in meta["warning"]
    assert (
        meta["sample_rows"] > 0
        and pl.read_parquet(winnow_home / "storage" / "label_studio_tasks" / f"{P}.parquet").height == 0
    )
    # a record of what an earlier push sent survives a skipped push (#14, item 13)
    from winnow.annotation.push import PUSHED_SCHEMA

    sent_path = winnow_home / "storage" / "label_studio_tasks" / f"{P}.parquet"
    sent = (
        pl.DataFrame({"doc_id": ["web:1", "web:2"], "task_id": [11, 12]})
        .with_columns(
            [pl.lit(None, dtype=t).alias(c) for c, t in PUSHED_SCHEMA.items() if c not in ("doc_id", "task_id")]
        )
        .select(list(PUSHED_SCHEMA))
        .cast(PUSHED_SCHEMA)
    )
    sent.write_parquet(sent_path)
    again = dg.materialize(all_assets, selection=["label_studio_tasks"], partition_key=P, resources=_resources(recipe))
    assert again.success and _meta(again, "label_studio_tasks")["dagster/row_count"] == 2
    assert pl.read_parquet(sent_path)["task_id"].to_list() == [11, 12]
    pulled = dg.materialize(all_assets, selection=["annotations", "annotator_agreement"], resources=_resources(recipe))
    assert pulled.success and _meta(pulled, "annotations")["status"] == "skipped: not configured"
    with dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(),
        resources={k: v for k, v in _resources(recipe).items() if k in ("recipe", "label_studio")},
    ) as ctx:
        skip = label_studio_annotations(ctx)
    assert isinstance(skip, dg.SkipReason) and "not configured" in skip.skip_message


@pytest.mark.slow
@pytest.mark.labelstudio
def test_stopped_server_fails_the_push_saying_what_to_start(tmp_path, winnow_home, monkeypatch, ls_server):
    from pipelines.definitions import all_assets

    for k in ENV:
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("WINNOW_LABEL_STUDIO_URL", ls_server.url)
    monkeypatch.setenv("WINNOW_LABEL_STUDIO_TOKEN", ls_server.token)
    recipe = write_recipe(tmp_path / "recipe.yaml", "Winnow IT stopped")
    _scored(winnow_home, n=300)
    ok = dg.materialize(
        all_assets, selection=["annotation_sample", "label_studio_tasks"], partition_key=P, resources=_resources(recipe)
    )
    assert ok.success and _meta(ok, "label_studio_tasks")["imported"] > 0

    stop = ls_server.script("stop")
    ls_server.stopped = True
    assert "stopped" in stop.stderr
    status = ls_server.script("status", check=False)
    assert status.returncode != 0 and "NOT running" in status.stdout and "scripts/labelstudio.sh start" in status.stdout

    res = dg.materialize(
        all_assets,
        selection=["label_studio_tasks"],
        partition_key=P,
        resources=_resources(recipe),
        raise_on_error=False,
    )
    assert not res.success
    (failure,) = res.get_step_failure_events()
    message = failure.event_specific_data.error.message + "".join(
        c.message for c in [failure.event_specific_data.error.cause] if c
    )
    assert "did not answer" in message and "scripts/labelstudio.sh start" in message
    assert ls_server.url in message and ls_server.token not in message

    out, _ = _sensor_tick(recipe, ls_server, None)
    assert isinstance(out, dg.SkipReason) and "scripts/labelstudio.sh start" in out.skip_message


@pytest.mark.slow
@pytest.mark.labelstudio
def test_a_wrong_token_is_named_as_such(ls_server):
    """The real server answers 401: the message says the token was rejected and where it comes from (#14, 19)."""
    from winnow.annotation.labelstudio import LabelStudioClient, LabelStudioError

    client = LabelStudioClient(ls_server.url, "0" * 40, retries=0)
    try:
        with pytest.raises(LabelStudioError) as err:
            client.find_project("anything")
    finally:
        client.close()
    msg = str(err.value)
    assert "rejected the API token (HTTP 401)" in msg and "WINNOW_LABEL_STUDIO_TOKEN" in msg
    assert "0" * 40 not in msg
