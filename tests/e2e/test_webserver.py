"""The Dagster webserver serves our workspace: GraphQL lists the asset keys and the nightly schedule."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from tests.e2e.conftest import BIN, REPO, free_port

pytestmark = pytest.mark.slow

QUERY = """
{
  assetNodes { assetKey { path } groupName }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name schedules { name cronSchedule scheduleState { status } } } }
  }
}
"""


def test_webserver_graphql_lists_assets_and_schedule(cli_env):
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            time.sleep(1)
        data = None
        while time.time() < deadline:  # the code location loads after the server answers
            r = requests.post(f"{url}/graphql", json={"query": QUERY}, timeout=30)
            r.raise_for_status()
            data = r.json()["data"]
            if data["assetNodes"]:
                break
            time.sleep(1)
        keys = {"/".join(n["assetKey"]["path"]) for n in data["assetNodes"]}
        assert {"raw_documents", "quarantine", "curated_release", "annotation_sample"} <= keys
        schedules = {s["name"]: s for repo in data["repositoriesOrError"]["nodes"] for s in repo["schedules"]}
        assert schedules["nightly_curation_schedule"]["cronSchedule"] == "0 2 * * *"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
