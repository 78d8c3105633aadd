"""The nightly job on a real Ray cluster: a head node and a worker node (separate `ray start`
processes, 1 CPU each, started by scripts/ray.sh) over a corpus of real text of at least 50 MB.

The release must equal the local run's byte for byte (shards, manifest apart from times),
with the same dedup decisions, sample and quarantine; the tasks must have run on both
nodes (Ray's state API); killing the worker node mid-run must change nothing; and an
unreachable cluster must fail the run with a message naming the address.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from bench.nights import deployment, jsonl_recipe, write_night
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
NIGHT = "2026-11-24"
CORPUS = REPO / ".winnow" / "bench" / "ray-test.jsonl"
#: broken input lines: they must reach the quarantine on the cluster as they do locally
BAD_LINES = ['{"id": "broken-1", "text": "unterminated', '{"id": "broken-2", "text": 42}', "not json at all"]


def _build_corpus() -> Path:
    """>= 50 MB of real documentation text (the bench corpus script, its first packages only)."""
    subprocess.run(
        [sys.executable, "scripts/corpus/build_bench_corpus.py", "--out", str(CORPUS), "--min-mb", "50"]
        + ["--max-mb", "55"],
        cwd=REPO,
        check=True,
    )
    return CORPUS


@pytest.fixture(scope="module")
def night_data(tmp_path_factory) -> tuple[Path, Path]:
    """The night's input (the corpus plus broken lines) and the recipe every run shares."""
    corpus = pl.read_ndjson(_build_corpus())
    assert corpus["text"].str.len_bytes().sum() >= 50 * 2**20
    root = tmp_path_factory.mktemp("ray-night")
    data = root / "data"
    path = write_night(corpus.select("id", "text", "url", "lang"), data, NIGHT)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(BAD_LINES) + "\n")
    recipe = jsonl_recipe(root, data, "ray-test")
    return data, recipe


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head and one worker node on 127.0.0.1, 1 CPU each; stopped afterwards."""
    home = tmp_path_factory.mktemp("ray-cluster")
    port, dash = free_port(), free_port()
    env = {**os.environ, "WINNOW_HOME": str(home), "WINNOW_RAY_PORT": str(port)}
    env["WINNOW_RAY_DASHBOARD_PORT"] = str(dash)
    script = ["bash", str(REPO / "scripts" / "ray.sh")]
    subprocess.run([*script, "start", "1"], env=env, check=True)
    try:
        yield {"address": f"127.0.0.1:{port}", "dashboard": f"http://127.0.0.1:{dash}", "env": env, "script": script}
    finally:
        subprocess.run([*script, "stop"], env=env, check=False)


def _night_env(home: Path, recipe: Path, address: str | None) -> dict:
    """A deployment of its own; on the cluster with shards of 4 MB (local: the default 8 MB, so the
    comparison also shows that the cut changes nothing)."""
    env = deployment(home, "in_process", recipe=recipe, nights=[NIGHT])
    if address:
        env.update(WINNOW_EXECUTION="ray", WINNOW_RAY_ADDRESS=address)
        settings = yaml.safe_load((home / "settings.yaml").read_text())
        settings["execution"] = {"shard_mb": 4}
        (home / "settings.yaml").write_text(yaml.safe_dump(settings))
    return env


def _launch(env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pipelines.launch", "nightly_curation", "--partition", NIGHT]
    with open(Path(env["WINNOW_HOME"]) / "night.log", "w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen, env: dict, timeout: float = 1500) -> None:
    rc = proc.wait(timeout=timeout)
    log = (Path(env["WINNOW_HOME"]) / "night.log").read_text()
    assert rc == 0, log[-6000:]


def _release(home: Path) -> Path:
    (found,) = list((home / "releases").glob(f"*/{NIGHT}-v*/manifest.json"))
    return found.parent


_TIMELY = re.compile(r"(_at|timings|^data_docs)$")  # data_docs: a path named by run id and time


def _timeless(value, home: Path):
    """The manifest without times, and with the deployment's own data directory as ``<home>``."""
    if isinstance(value, dict):
        return {k: _timeless(v, home) for k, v in value.items() if not _TIMELY.search(k)}
    if isinstance(value, list):
        return [_timeless(v, home) for v in value]
    return value.replace(str(home), "<home>") if isinstance(value, str) else value


def _table(home: Path, asset: str, cols: list[str]) -> pl.DataFrame:
    return pl.read_parquet(home / "storage" / asset / f"{NIGHT}.parquet").select(cols).sort(cols[0])


def _assert_same_night(a: Path, b: Path) -> None:
    ra, rb = _release(a), _release(b)
    shards = sorted(p.name for p in ra.glob("*.parquet"))
    assert shards and shards == sorted(p.name for p in rb.glob("*.parquet"))
    for name in shards:
        assert hashlib.sha256((ra / name).read_bytes()).digest() == hashlib.sha256((rb / name).read_bytes()).digest()
    ma, mb = (json.loads((r / "manifest.json").read_text()) for r in (ra, rb))
    assert _timeless(ma, a) == _timeless(mb, b)
    assert _table(a, "duplicates", ["doc_id", "dup_of", "dup_kind"]).equals(
        _table(b, "duplicates", ["doc_id", "dup_of", "dup_kind"])
    )
    assert _table(a, "annotation_sample", ["doc_id"]).equals(_table(b, "annotation_sample", ["doc_id"]))
    qa, qb = (_table(h, "quarantine", ["source_line", "reason"]) for h in (a, b))
    assert qa.equals(qb) and qa.height >= len(BAD_LINES)


EXECUTION = """
import json, dagster as dg
with dg.DagsterInstance.get() as inst:
    out = {}
    for key in ["raw_documents", "document_signals", "filtered_documents", "scored_documents",
                "deduplicated_documents", "curated_release"]:
        ev = inst.get_latest_materialization_event(dg.AssetKey(key))
        md = ev.asset_materialization.metadata.get("execution")
        out[key] = md.value if md else None
    print(json.dumps(out))
"""


def _execution(env: dict) -> dict:
    """Each stage's task summary from its materialization metadata (tasks, nodes, peak task RSS)."""
    out = subprocess.run([sys.executable, "-c", EXECUTION], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _tasks(dashboard: str, name: str) -> list:
    from ray.util.state import list_tasks

    return list_tasks(address=dashboard, filters=[("name", "=", name)], limit=10_000, raise_on_missing_output=False)


@pytest.fixture(scope="module")
def local_night(tmp_path_factory, night_data) -> Path:
    _, recipe = night_data
    home = tmp_path_factory.mktemp("local")
    env = _night_env(home, recipe, None)
    _finish(_launch(env), env)
    return home


def test_a_night_on_two_nodes_equals_the_local_night(tmp_path, night_data, cluster, local_night):
    _, recipe = night_data
    home = tmp_path / "ray"
    env = _night_env(home, recipe, cluster["address"])
    _finish(_launch(env), env)
    _assert_same_night(local_night, home)
    nodes = {t.node_id for t in _tasks(cluster["dashboard"], "signals") if t.state == "FINISHED"}
    assert len(nodes) == 2, nodes  # the signal shards ran on the head and on the worker
    for stage in ("ingest", "filters", "scoring", "dedup_map", "dedup_reduce", "release_shards"):
        assert any(t.state == "FINISHED" for t in _tasks(cluster["dashboard"], stage)), stage
    # memory per task: every stage's largest worker stays under what each task declares (2 GiB)
    stages = {label: s for summary in _execution(env).values() for label, s in summary.items() if label != "runner"}
    assert {"ingest", "signals", "filters", "scoring", "dedup_map", "dedup_reduce", "release_shards"} <= set(stages)
    assert stages["signals"]["tasks"] >= 12 and stages["signals"]["nodes"] == 2  # >= 50 MB in 4 MB shards
    assert all(0 < s["peak_task_rss_mb"] <= 2048 for s in stages.values()), stages


def test_the_night_survives_the_worker_node_dying_mid_run(tmp_path, night_data, cluster, local_night):
    _, recipe = night_data
    home = tmp_path / "ray-killed"
    env = _night_env(home, recipe, cluster["address"])
    import ray

    ray.init(address=cluster["address"], logging_level="ERROR", log_to_driver=False)
    try:
        worker = [
            n["NodeID"] for n in ray.nodes() if n["Alive"] and not n.get("Resources", {}).get("node:__internal_head__")
        ]
    finally:
        ray.shutdown()
    assert len(worker) == 1
    before = {t.task_id for t in _tasks(cluster["dashboard"], "signals")}
    proc = _launch(env)
    deadline = time.time() + 900
    while time.time() < deadline:  # wait until a signal task of this run is running on the worker
        running = [
            t for t in _tasks(cluster["dashboard"], "signals")
            if t.task_id not in before and t.state == "RUNNING" and t.node_id == worker[0]
        ]  # fmt: skip
        if running:
            break
        assert proc.poll() is None, (Path(env["WINNOW_HOME"]) / "night.log").read_text()[-4000:]
        time.sleep(0.5)
    else:
        raise AssertionError("no signal task ever ran on the worker node")
    subprocess.run([*cluster["script"], "kill-worker", "1"], env=cluster["env"], check=True)
    _finish(proc, env)
    _assert_same_night(local_night, home)
    retried = [t for t in _tasks(cluster["dashboard"], "signals") if t.task_id not in before and t.attempt_number > 0]
    assert retried, "the tasks lost with the worker were not retried"


def test_an_unreachable_cluster_fails_the_night_naming_the_address(tmp_path, night_data):
    _, recipe = night_data
    address = f"127.0.0.1:{free_port()}"
    env = _night_env(tmp_path / "nocluster", recipe, address)
    proc = _launch(env)
    assert proc.wait(timeout=600) != 0
    log = (Path(env["WINNOW_HOME"]) / "night.log").read_text()
    assert f"no Ray cluster answers at {address}" in log and "bash scripts/ray.sh start" in log, log[-3000:]
    assert not list((tmp_path / "nocluster").glob("releases/*/*/manifest.json"))  # no release, half or whole
