"""`dagster dev -w workspace.yaml` serves Winnow; a nightly run launched over GraphQL publishes a
release, and the Dagster UI shows the run and the release asset in headless Chromium.

This is the path a user takes from the Dagster UI: the webserver, the daemon and the run
launcher of `dagster dev` all take part. Screenshots: test-artifacts/dagster_*.png.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.browser import ARTIFACTS, browser, keep_screenshot  # noqa: F401  (the fixture)
from tests.e2e.conftest import BIN, REPO, free_port

pytestmark = pytest.mark.slow
NIGHT = "2026-11-24"
LOCATION = "pipelines.definitions"

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
RUN = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
LOCATION_STATUS = """
{ workspaceOrError { ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


class DagsterDev:
    """`dagster dev` in its own process group, so stopping it stops the daemon and code server too."""

    def __init__(self, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(env["WINNOW_HOME"]) / "dagster_dev.log"
        self.proc = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def gql(self, query: str, variables: dict | None = None) -> dict:
        r = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
        r.raise_for_status()
        body = r.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait_loaded(self, timeout: float = 240) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                entries = self.gql(LOCATION_STATUS)["workspaceOrError"]["locationEntries"]
                loc = next((e["locationOrLoadError"] for e in entries if e["name"] == LOCATION), None)
                if loc and loc["__typename"] == "RepositoryLocation":
                    return
                assert not loc or loc["__typename"] != "PythonError", loc
            except requests.RequestException:
                pass
            time.sleep(1)
        raise AssertionError(f"code location never loaded:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=60)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=30)


def test_dagster_dev_launches_the_nightly_run_and_shows_it(ui_env, browser):
    cli_env = ui_env
    from winnow.publish.release import verify_release

    dev = DagsterDev(cli_env)
    try:
        dev.wait_loaded()
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "jobName": "nightly_curation",
            },
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": NIGHT}]},
        }
        launched = dev.gql(LAUNCH, {"params": params})["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]

        deadline, status = time.time() + 1500, None
        while time.time() < deadline:
            status = dev.gql(RUN, {"id": run_id})["runOrError"]["status"]
            if status in {"SUCCESS", "FAILURE", "CANCELED"}:
                break
            time.sleep(3)
        assert status == "SUCCESS", (status, dev.log.read_text()[-5000:])

        releases = list((Path(cli_env["WINNOW_HOME"]) / "releases").glob(f"*/{NIGHT}-v*/manifest.json"))
        assert len(releases) == 1, releases
        assert verify_release(releases[0].parent) == []

        # the UI: the "join the community" pop-up is shown once per instance; mark it seen
        assert dev.gql("mutation { setNuxSeen }")["setNuxSeen"]
        browser.get(f"{dev.url}/runs/{run_id}")
        browser.wait_text("nightly_curation", "Success", timeout=120)
        # the run page has loaded when its logs and step list are shown, not the loading spinner
        text = browser.wait_gone("Loading run logs", timeout=120)
        done = re.search(r"Succeeded \((\d+)\)", text)
        assert done and int(done.group(1)) >= 10 and "STEP_" in text, text[:3000]  # steps listed, events shown
        time.sleep(2)  # let the Gantt chart settle
        keep_screenshot(browser.screenshot(ARTIFACTS / "dagster_run.png"), "dagster_run.png")
        browser.get(f"{dev.url}/assets/curated_release")
        browser.wait_text("curated_release", "funnel_chart", "compute_report", "tokens", timeout=120)
        png = browser.screenshot(ARTIFACTS / "dagster_curated_release.png")
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
        keep_screenshot(png, "dagster_curated_release.png")
        browser.get(f"{dev.url}/assets/curated_release?view=checks")
        browser.wait_text("manifest_matches_files", "release_manifest_expectations", timeout=120)
        browser.screenshot(ARTIFACTS / "dagster_curated_release_checks.png")
    finally:
        dev.stop()
