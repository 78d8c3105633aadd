"""Run real ``nightly_curation`` nights for a benchmark: a fresh deployment, a recipe, measured launches.

The night benchmarks (``bench.night``, ``bench.history``, ``bench.whole_night``) all run the
job as a user would (``python -m pipelines.launch``, every step and check, Label Studio off)
on a deployment of their own under ``.winnow/bench/<name>``; this module is that set-up, one way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import yaml

from bench.harness import REPO, run_measured

SAMPLE_RECIPE = REPO / "recipes" / "sample.yaml"

STEP_STATS = """
import json, dagster as dg
with dg.DagsterInstance.get() as inst:
    run = inst.get_runs(limit=1)[0]
    steps = inst.get_run_step_stats(run.run_id)
    print(json.dumps({"status": str(run.status),
        "steps": {s.step_key: s.end_time - s.start_time for s in steps if s.end_time and s.start_time},
        "windows": {s.step_key: [s.start_time, s.end_time] for s in steps if s.end_time and s.start_time}}))
"""


def deployment(
    home: Path,
    executor: str,
    recipe: Path | None = None,
    nights: list[str] | None = None,
    label_studio_port: int | None = None,
) -> dict:
    """A fresh deployment under ``home`` (instance, settings); the environment that runs its jobs.
    Label Studio is off unless ``label_studio_port`` names the port of the server under ``home``
    (``label_studio`` starts it)."""
    shutil.rmtree(home / "dagster_home", ignore_errors=True)
    (home / "dagster_home").mkdir(parents=True)
    shutil.copy(REPO / "pipelines" / "dagster.yaml", home / "dagster_home" / "dagster.yaml")
    settings = yaml.safe_load((REPO / "settings.yaml").read_text())
    settings["recipe"] = str(recipe or REPO / settings["recipe"])
    settings.setdefault("work", {})["executor"] = executor
    if nights:
        settings["schedule"]["partitions_start"] = nights[0]
        settings["schedule"]["partitions_end"] = _next_day(nights[-1])
    (home / "settings.yaml").write_text(yaml.safe_dump(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINNOW_", "LABEL_STUDIO"))}
    env.update(
        WINNOW_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster_home"),
        WINNOW_SETTINGS=str(home / "settings.yaml"),
        POLARS_MAX_THREADS="2",
        PYTHONPATH=str(REPO),
    )
    if label_studio_port is None:
        env["WINNOW_LABEL_STUDIO"] = "off"
    else:
        env["WINNOW_LS_PORT"] = str(label_studio_port)
    return env


def label_studio(env: dict, action: str) -> None:
    """``scripts/labelstudio.sh start|stop`` for the deployment of ``env`` (its own data and port)."""
    subprocess.run(["bash", str(REPO / "scripts" / "labelstudio.sh"), action], env=env, check=True)


def _next_day(day: str) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def night_days(first: str, n: int) -> list[str]:
    days = [first]
    while len(days) < n:
        days.append(_next_day(days[-1]))
    return days


def jsonl_recipe(home: Path, data: Path, dataset: str, **overrides: dict) -> Path:
    """The sample recipe with one JSONL source, ``<data>/<night>/docs.jsonl``; ``overrides`` replace sections."""
    recipe = yaml.safe_load(SAMPLE_RECIPE.read_text())
    recipe["sources"] = [
        {
            "name": "web",
            "path": str(data / "{partition}" / "docs.jsonl"),
            "format": "jsonl",
            "text_field": "text",
            "id_field": "id",
            "url_field": "url",
            "lang_field": "lang",
        }
    ]
    recipe["name"] = dataset
    recipe["publish"]["dataset"] = dataset
    for section, values in overrides.items():
        recipe.setdefault(section, {}).update(values)
    path = home / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def write_night(frame: pl.DataFrame, data: Path, night: str) -> Path:
    """One night's input: ``frame`` (id, text, url, lang) as ``<data>/<night>/docs.jsonl``."""
    out = data / night / "docs.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.select("id", "text", "url", "lang").write_ndjson(out)
    return out


def run_night(env: dict, night: str, interval: float = 0.2) -> dict:
    """Launch the night; its measured process tree, run status and each step's own time."""
    cmd = [sys.executable, "-m", "pipelines.launch", "nightly_curation", "--partition", night]
    m = run_measured(cmd, env=env, capture=True, interval=interval, per_process=True)
    out = subprocess.run([sys.executable, "-c", STEP_STATS], env=env, capture_output=True, text=True, check=True)
    stats = json.loads(out.stdout)
    if not stats["status"].endswith("SUCCESS"):
        tail = (m.get("stderr") or "")[-3000:]
        raise SystemExit(f"night {night} did not succeed ({stats['status']}):\n{tail}")
    return {
        **m,
        "status": stats["status"],
        "steps": stats["steps"],
        "step_rss_mb": step_rss(m["processes"], stats["windows"]),
    }


def step_rss(processes: list[dict], windows: dict[str, list[float]]) -> dict[str, float]:
    """Peak RSS per step under the multiprocess executor (approximate): Dagster spawns one process
    per step, so each spawned process is matched, in start order, to the first unmatched step that
    starts after it (process start-up takes seconds, so the step starts later)."""
    spawned = sorted((p for p in processes if "spawn_main" in p["cmdline"]), key=lambda p: p["started"])
    steps = sorted(windows.items(), key=lambda kv: kv[1][0])
    out: dict[str, float] = {}
    for p in spawned:
        match = next((k for k, (start, _) in steps if k not in out and start >= p["started"]), None)
        if match is not None:
            out[match] = p["peak_rss_mb"]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def manifest(home: Path, night: str) -> dict:
    return json.loads(next((home / "releases").glob(f"*/{night}-v*/manifest.json")).read_text())
