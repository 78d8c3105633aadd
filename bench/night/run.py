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
import shutil
import sys

from bench.harness import REPO, ratio, write_results
from bench.nights import deployment, manifest, run_night

NIGHT = "2026-11-24"
WORK = REPO / ".winnow" / "bench" / "night"
EXECUTORS = ("multiprocess", "in_process")


def measure(executor: str) -> dict:
    home = WORK / executor
    shutil.rmtree(home, ignore_errors=True)
    env = deployment(home, executor)
    r = run_night(env, NIGHT)
    work = sum(r["steps"].values())
    return {
        "shard_sha256": [s["sha256"] for s in manifest(home, NIGHT)["shards"]],
        "wall_s": r["wall_s"],
        "cpu_s": r["cpu_s"],
        "peak_rss_mb": r["peak_rss_mb"],
        "steps": len(r["steps"]),
        "steps_own_work_s": round(work, 2),
        "wall_over_steps": ratio(r["wall_s"], work),
        "slowest_steps": dict(sorted(r["steps"].items(), key=lambda kv: -kv[1])[:4]),
        "status": r["status"],
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
