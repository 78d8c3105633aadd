"""The dagster CLI runs the nightly job on the bundled sample and the release matches its manifest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tests.e2e.conftest import BIN, REPO

pytestmark = pytest.mark.slow
NIGHT = "2026-11-24"


def _executor_of_last_run(env: dict) -> str:
    """Which executor ran the instance's last run, from its engine events."""
    probe = (
        "import dagster as dg\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    r = i.get_runs(limit=1)[0]\n"
        "    print([e.message for e in i.all_logs(r.run_id) if e.dagster_event"
        " and e.dagster_event.event_type_value == 'ENGINE_EVENT'][0])\n"
    )
    out = subprocess.run([str(BIN / "python"), "-c", probe], env=env, capture_output=True, text=True, check=True)
    first = out.stdout.strip()
    if first.startswith("Executing steps using multiprocess executor"):
        return "multiprocess"
    return "in_process" if first.startswith("Executing steps in process") else first


def test_definitions_validate_with_workspace(cli_env):
    out = subprocess.run(
        [str(BIN / "python"), "-m", "pipelines.launch", "validate"],
        cwd=REPO,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "definitions load and validate" in out.stdout + out.stderr


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_nightly_job_on_sample_via_cli(cli_env, executor, tmp_path):
    """settings.yaml runs the sample in one process; a large night's deployment uses one process per step."""
    import yaml

    settings = yaml.safe_load((REPO / "settings.yaml").read_text())
    settings["recipe"] = str(REPO / settings["recipe"])
    settings["work"] = {**settings.get("work", {}), "executor": executor}
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(settings))
    cli_env = {**cli_env, "WINNOW_SETTINGS": str(tmp_path / "settings.yaml")}
    out = subprocess.run(
        [str(BIN / "python"), "-m", "pipelines.launch", "nightly_curation", "--partition", NIGHT],
        cwd=REPO,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-5000:])
    assert "SupersessionWarning" not in out.stderr
    assert _executor_of_last_run(cli_env) == executor
    home = Path(cli_env["WINNOW_HOME"])
    manifests = list((home / "releases").glob(f"*/{NIGHT}*/manifest.json"))
    assert len(manifests) == 1, manifests
    release = manifests[0].parent
    manifest = json.loads(manifests[0].read_text())
    import hashlib

    total = 0
    for shard in manifest["shards"]:
        f = release / shard["file"]
        assert hashlib.sha256(f.read_bytes()).hexdigest() == shard["sha256"]
        rows = pl.scan_parquet(f).select(pl.len()).collect().item()
        assert rows == shard["rows"]
        total += rows
    assert total == manifest["totals"]["rows"] > 0
    # the sample's deliberately broken rows are in quarantine, not lost
    q = pl.read_parquet(home / "storage" / "quarantine" / f"{NIGHT}.parquet")
    assert q.height >= 3
