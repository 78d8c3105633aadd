"""Dagster on PostgreSQL: `dagster dev` on an instance stored in a real PostgreSQL server
(scripts/postgres.sh, 127.0.0.1, generated password in a 0600 file; pipelines/dagster-postgres.yaml).

Against it: two nights launched as a backfill over the UI's GraphQL API under a run-level
concurrency limit (one run at a time: the runs must not overlap), a tick of the nightly
schedule that runs yesterday's night, and the annotation sensor, which sees labels made
in a real Label Studio and launches annotation_pull. Runs, ticks and cursors must be in
PostgreSQL's tables.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import REPO, _cli_env, free_port
from tests.e2e.test_dagster_dev import LOCATION, DagsterDev
from tests.integration.ls_server import get_server, server_settings

pytestmark = pytest.mark.slow
NIGHTS = ["2026-11-24", "2026-11-25"]
REPO_SELECTOR = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__"}

BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
BACKFILL_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status numPartitions } }
}
"""
RUNS = """
query Runs($job: String!) {
  runsOrError(filter: {pipelineName: $job}) {
    ... on Runs { results { runId status startTime endTime tags { key value } } }
  }
}
"""
TICKS = """
query Ticks($schedule: ScheduleSelector!, $sensor: SensorSelector!) {
  scheduleOrError(scheduleSelector: $schedule) {
    ... on Schedule { scheduleState { ticks(limit: 20) { status runIds } } }
  }
  sensorOrError(sensorSelector: $sensor) {
    ... on Sensor { sensorState { ticks(limit: 50) { status runIds skipReason } } }
  }
}
"""


@pytest.fixture()
def postgres(tmp_path):
    """A PostgreSQL server of this test's own (port, data directory, credentials)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "WINNOW_HOME": str(home), "WINNOW_PG_PORT": str(free_port())}
    script = ["bash", str(REPO / "scripts" / "postgres.sh")]
    subprocess.run([*script, "start"], env=env, check=True, timeout=900)
    cred = home / "postgres.env"
    try:
        assert cred.stat().st_mode & 0o777 == 0o600
        yield dict(line.split("=", 1) for line in cred.read_text().splitlines() if line.startswith("WINNOW_PG_"))
    finally:
        subprocess.run([*script, "destroy"], env=env, check=False, timeout=300)


def _deployment(tmp_path: Path, pg: dict, ls) -> tuple[dict, str, str]:
    """A deployment on the PostgreSQL instance: the sample's nights plus yesterday's (for the schedule)."""
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    data = tmp_path / "data"
    shutil.copytree(REPO / "data" / "sample", data)
    shutil.copytree(data / NIGHTS[1], data / yesterday)
    recipe = yaml.safe_load((REPO / "recipes" / "sample.yaml").read_text().replace("../data/sample/", f"{data}/"))
    title = f"pg-e2e-{uuid.uuid4().hex[:8]}"
    recipe["annotation"] = {**recipe.get("annotation", {}), "project_title": title}
    # yesterday's input is a copy of a sample night: keep it, do not dedup it against the history
    recipe["dedup"] = {**recipe.get("dedup", {}), "against_history": False}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    env = _cli_env(tmp_path / "home")
    shutil.copy(REPO / "pipelines" / "dagster-postgres.yaml", Path(env["DAGSTER_HOME"]) / "dagster.yaml")
    settings = {
        "recipe": str(tmp_path / "recipe.yaml"),
        "schedule": {"cron": "* * * * *", "partitions_start": NIGHTS[0], "partitions_end": None},
        "work": {"executor": "in_process"},
        "label_studio": {**server_settings(ls), "sensor_interval_s": 5},
    }
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    env.update(pg, WINNOW_SETTINGS=str(tmp_path / "settings.yaml"))
    return env, yesterday, title


def _wait(what: str, check, timeout: float, dev: DagsterDev):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(3)
    raise AssertionError(f"{what} within {timeout:.0f} s:\n{dev.log.read_text()[-5000:]}")


def _runs(dev: DagsterDev, job: str) -> list[dict]:
    return dev.gql(RUNS, {"job": job})["runsOrError"]["results"]


def _partition(run: dict) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == "dagster/partition"), None)


def _label_some_tasks(ls, title: str, n: int = 6) -> int:
    from label_studio_sdk import LabelStudio

    sdk = LabelStudio(base_url=ls.url, api_key=ls.token)
    project = next(p for p in sdk.projects.list() if p.title == title)
    done = 0
    for task in sdk.tasks.list(project=project.id):
        sdk.annotations.create(
            id=task.id, result=[{"from_name": "decision", "to_name": "text", "type": "choices",
                                 "value": {"choices": ["keep" if done % 2 else "drop"]}}]
        )  # fmt: skip
        done += 1
        if done == n:
            break
    return done


def test_nights_schedule_and_sensor_run_on_postgres(tmp_path, postgres):
    import psycopg2

    ls = get_server()
    env, yesterday, title = _deployment(tmp_path, postgres, ls)
    dev = DagsterDev(env)
    try:
        dev.wait_loaded()
        params = {
            "selector": {"partitionSetName": "nightly_curation_partition_set", "repositorySelector": REPO_SELECTOR},
            "partitionNames": NIGHTS,
        }
        launched = dev.gql(BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = launched["backfillId"]

        def nights_done():
            runs = {_partition(r): r for r in _runs(dev, "nightly_curation")}
            finished = [p for p in [*NIGHTS, yesterday] if runs.get(p, {}).get("status") in {"SUCCESS", "FAILURE"}]
            status = dev.gql(BACKFILL_STATUS, {"id": backfill})["partitionBackfillOrError"]
            # the backfill daemon marks the backfill done on its next pass after the last run
            return (runs, status) if len(finished) == 3 and status["status"].startswith("COMPLETED") else None

        runs, status = _wait("the backfill's nights and the scheduled night finished", nights_done, 1800, dev)
        assert {p: runs[p]["status"] for p in [*NIGHTS, yesterday]} == dict.fromkeys([*NIGHTS, yesterday], "SUCCESS")
        assert status["status"] == "COMPLETED_SUCCESS" and status["numPartitions"] == 2, status
        spans = sorted((r["startTime"], r["endTime"]) for r in runs.values())
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), spans  # one at a time

        # labels in Label Studio: the sensor (a tick every 5 s) launches annotation_pull
        assert _label_some_tasks(ls, title) == 6
        pulled = _wait(
            "annotation_pull launched by the sensor and finished",
            lambda: [r for r in _runs(dev, "annotation_pull") if r["status"] in {"SUCCESS", "FAILURE"}],
            600,
            dev,
        )
        assert pulled[0]["status"] == "SUCCESS", pulled

        ticks = dev.gql(
            TICKS,
            {
                "schedule": {**REPO_SELECTOR, "scheduleName": "nightly_curation_schedule"},
                "sensor": {**REPO_SELECTOR, "sensorName": "label_studio_annotations"},
            },
        )
        schedule_ticks = ticks["scheduleOrError"]["scheduleState"]["ticks"]
        assert any(t["status"] == "SUCCESS" and t["runIds"] for t in schedule_ticks), schedule_ticks
        sensor_ticks = ticks["sensorOrError"]["sensorState"]["ticks"]
        assert any(t["status"] == "SUCCESS" and t["runIds"] for t in sensor_ticks), sensor_ticks
    finally:
        dev.stop()

    # everything above lives in PostgreSQL, not in files under DAGSTER_HOME
    assert not list(Path(env["DAGSTER_HOME"]).rglob("*.db"))
    conn = psycopg2.connect(
        host=postgres["WINNOW_PG_HOST"],
        port=int(postgres["WINNOW_PG_PORT"]),
        user=postgres["WINNOW_PG_USER"],
        password=postgres["WINNOW_PG_PASSWORD"],
        dbname=postgres["WINNOW_PG_DB"],
    )
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        assert cur.fetchone()[0] >= 4  # two backfilled nights, the scheduled night, the pull
        cur.execute("SELECT count(*) FROM job_ticks")
        assert cur.fetchone()[0] >= 2
        cur.execute("SELECT count(*) FROM bulk_actions")
        assert cur.fetchone()[0] == 1
    conn.close()
