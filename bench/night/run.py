"""Night overhead: a sample night's wall time against the sum of its steps' own work, per executor.

Runs the real ``nightly_curation`` job (``python -m pipelines.launch``, every step and every
check, Label Studio off) on the bundled sample's first night, once per executor setting
(``work.executor``), each on a fresh data directory. The process tree is measured by
``bench.harness``; the steps' own work is the sum of Dagster's step statistics (step start to
step end, read back from the run's instance), so what is left is overhead: Python start-up,
imports, resources and, under ``multiprocess``, one process per step.

    python -m bench.night.run

Writes ``bench/results/night.json`` and ``.md`` (docs/benchmarks.md includes them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bench.harness import REPO, ratio, run_measured, write_results

NIGHT = "2026-11-24"
WORK = REPO / ".winnow" / "bench" / "night"
EXECUTORS = ("multiprocess", "in_process")


def _env(home: Path, executor: str) -> dict:
    (home / "dagster_home").mkdir(parents=True)
    shutil.copy(REPO / "pipelines" / "dagster.yaml", home / "dagster_home" / "dagster.yaml")
    settings = yaml.safe_load((REPO / "settings.yaml").read_text())
    settings["recipe"] = str(REPO / settings["recipe"])
    settings.setdefault("work", {})["executor"] = executor
    (home / "settings.yaml").write_text(yaml.safe_dump(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WINNOW_", "LABEL_STUDIO"))}
    env.update(
        WINNOW_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster_home"),
        WINNOW_SETTINGS=str(home / "settings.yaml"),
        WINNOW_LABEL_STUDIO="off",
        POLARS_MAX_THREADS="2",
        PYTHONPATH=str(REPO),
    )
    return env


STEP_STATS = """
import json, dagster as dg
with dg.DagsterInstance.get() as inst:
    run = inst.get_runs(limit=1)[0]
    steps = inst.get_run_step_stats(run.run_id)
    print(json.dumps({"status": str(run.status),
        "steps": {s.step_key: s.end_time - s.start_time for s in steps if s.end_time and s.start_time}}))
"""


def measure(executor: str) -> dict:
    home = WORK / executor
    shutil.rmtree(home, ignore_errors=True)
    env = _env(home, executor)
    cmd = [sys.executable, "-m", "pipelines.launch", "nightly_curation", "--partition", NIGHT]
    m = run_measured(cmd, env=env, capture=True)
    out = subprocess.run([sys.executable, "-c", STEP_STATS], env=env, capture_output=True, text=True, check=True)
    stats = json.loads(out.stdout)
    work = sum(stats["steps"].values())
    manifest = json.loads(next((home / "releases").glob(f"*/{NIGHT}-v*/manifest.json")).read_text())
    return {
        "shard_sha256": [s["sha256"] for s in manifest["shards"]],
        "wall_s": m["wall_s"],
        "cpu_s": m["cpu_s"],
        "peak_rss_mb": m["peak_rss_mb"],
        "steps": len(stats["steps"]),
        "steps_own_work_s": round(work, 2),
        "wall_over_steps": ratio(m["wall_s"], work),
        "slowest_steps": dict(sorted(stats["steps"].items(), key=lambda kv: -kv[1])[:4]),
        "status": stats["status"],
    }


def _markdown(results: dict) -> str:
    lines = [
        f"The sample's night {NIGHT} through the real `nightly_curation` job (every step and check, Label Studio"
        " off), once per `work.executor`:",
        "",
        "| executor | wall s | CPU s (tree) | peak RSS MB | steps | steps' own work s | wall / steps' work |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:,.0f} | {r['steps']} "
            f"| {r['steps_own_work_s']:.1f} | **{r['wall_over_steps']:.2f}x** |"
        )
    mp, ip = results.get("multiprocess"), results.get("in_process")
    if mp and ip:
        lines += [
            "",
            f"In-process runs the night in {ip['wall_s']:.1f} s against {mp['wall_s']:.1f} s "
            f"({ratio(mp['wall_s'], ip['wall_s'])}x faster; the target: wall at most 2x the steps' own work). "
            + (
                "Both published byte-identical shards."
                if mp["shard_sha256"] == ip["shard_sha256"]
                else "**The two releases differ.**"
            ),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    results = {e: measure(e) for e in EXECUTORS}
    for name, r in results.items():
        print(name, json.dumps(r))
    md = write_results("night", {"night": NIGHT, **results}, _markdown(results))
    print(md.read_text())
    return 0 if all(r["status"].endswith("SUCCESS") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
