"""Ray benchmark: the filter work (signals + rules, shard by shard) run locally, then on a real
Ray cluster of one node and of two nodes, each node 1 CPU, on the filters benchmark corpora.

The work is ``winnow.execution.map_shards`` of signals + rules (``bench.filters``' recipe)
over one Parquet file of each whole corpus (or its first ``--limit-mb`` MB), cut into shards of
``--shard-mb``; the three runs do the same work on the same data and their outputs must
be equal:

- ``local``: ``LocalRunner``, the shards one after another in the driver process;
- ``ray_1_node``: ``scripts/ray.sh start 0``, a head node with 1 CPU;
- ``ray_2_nodes``: the same plus one worker node with 1 CPU (``scripts/ray.sh add-worker``).

Each run is a fresh driver process (the cluster's worker processes start, and import the
signal code, inside the measured time, as they do for a night). Measured: wall time, CPU
seconds of the driver's process tree and of every node's process tree (sampled with
psutil before and after), peak RSS of the driver. The per-task overhead is measured on
its own: ``--overhead-tasks`` empty tasks on the two-node cluster, wall time per task.

    python -m bench.ray.run [--corpora long short] [--limit-mb N] [--shard-mb 8]

Writes ``bench/results/ray.json`` and ``.md`` (docs/benchmarks.md and docs/production.md include them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.filters.run import CORPORA, CORPUS_SCRIPTS, bench_recipe, prepare
from bench.harness import REPO, process_tree, ratio, run_measured, sample_cpu, write_results

RAY_SH = ["bash", str(REPO / "scripts" / "ray.sh")]
DEFAULT_WORK = REPO / ".winnow" / "bench" / "ray"
MODES = ("local", "ray_1_node", "ray_2_nodes")


def signals_and_rules(frame, recipe):
    """One shard's filter work: every signal, then every rule (what document_signals + filtering do)."""
    from winnow.filters import apply_filters
    from winnow.signals import compute_signals

    return apply_filters(compute_signals(frame, recipe), recipe).select(
        "id", "keep", "drop_reason", "lang_detected", "n_tokens"
    )


def _noop(i: int) -> int:
    return i


def worker(mode: str, data: Path, out: Path, shard_mb: float, address: str | None, overhead_tasks: int) -> None:
    """The measured driver: map the shards on ``mode``'s runner, write the decisions, print the task reports."""
    import polars as pl

    from winnow.execution import LocalRunner, RayRunner, map_shards
    from winnow.execution.runners import summarize

    runner = LocalRunner() if mode == "local" else RayRunner(address or "")
    decided = map_shards(
        pl.scan_parquet(data), signals_and_rules, out / "parts", runner, shard_mb=shard_mb, label="filters",
        args=(bench_recipe(),),
    )  # fmt: skip
    decided.sink_parquet(out / "decided.parquet")
    report = summarize(runner.reports)
    if overhead_tasks:
        t0 = time.perf_counter()
        runner.map(_noop, [(i,) for i in range(overhead_tasks)], label="noop")
        report["noop_wall_s"] = time.perf_counter() - t0
    print("REPORT " + json.dumps(report))


def _cluster_env(port: int, dash: int, home: Path) -> dict:
    return {
        **os.environ,
        "WINNOW_HOME": str(home),
        "WINNOW_RAY_PORT": str(port),
        "WINNOW_RAY_DASHBOARD_PORT": str(dash),
    }


class NodeCPU:
    """CPU seconds spent by the cluster's nodes while a run lasts: every process of every node's tree
    (raylet, workers that exit when the driver leaves, GCS) sampled every 0.1 s, last reading kept."""

    def __init__(self, env: dict):
        self.pidfiles = list((Path(env["WINNOW_HOME"]) / "ray").glob("*.pid"))
        self.first: dict[tuple[int, float], float] = {}
        self.last: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()
        self._sample()  # processes alive before the run count only what they spend during it
        self.first = dict(self.last)
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        for pidfile in self.pidfiles:
            try:
                procs = process_tree(int(pidfile.read_text()))
            except (ValueError, OSError):
                continue
            for p in procs:
                try:
                    sample_cpu(p, self.last)
                except psutil.Error:
                    pass

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> NodeCPU:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(v - self.first.get(k, 0.0) for k, v in self.last.items())


def measure(mode: str, data: Path, work: Path, args, env: dict | None, address: str | None) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=work))
    cmd = [sys.executable, "-m", "bench.ray.run", "--worker", mode, "--data", str(data), "--out", str(out)]
    cmd += [
        "--shard-mb",
        str(args.shard_mb),
        "--overhead-tasks",
        str(args.overhead_tasks if mode == "ray_2_nodes" else 0),
    ]
    if address:
        cmd += ["--address", address]
    run_env = {**os.environ, "POLARS_MAX_THREADS": "1" if mode != "local" else "2", "PYTHONPATH": str(REPO)}
    if env:
        with NodeCPU(env) as nodes:
            r = run_measured(cmd, env=run_env, capture=True)
        nodes_cpu = nodes.seconds
    else:
        r, nodes_cpu = run_measured(cmd, env=run_env, capture=True), 0.0
    line = next(x for x in r["stdout"].splitlines() if x.startswith("REPORT "))
    report = json.loads(line[len("REPORT ") :])
    tasks = report["filters"]
    res = {
        "wall_s": r["wall_s"],
        "cpu_s": round(r["cpu_s"] + nodes_cpu, 2),
        "driver_cpu_s": r["cpu_s"],
        "nodes_cpu_s": round(nodes_cpu, 2),
        "driver_peak_rss_mb": r["peak_rss_mb"],
        "tasks": tasks["tasks"],
        "nodes_used": tasks["nodes"] if mode != "local" else 1,
        "peak_task_rss_mb": tasks["peak_task_rss_mb"],
        "task_seconds": tasks["task_seconds"],
    }
    if "noop_wall_s" in report:
        res["noop_tasks"] = args.overhead_tasks
        res["overhead_ms_per_task"] = round(1000 * report["noop_wall_s"] / args.overhead_tasks, 2)
    res["_out"] = str(out / "decided.parquet")
    return res


def run_corpus(name: str, corpus: Path, work: Path, args, cluster: dict) -> dict:
    import polars as pl

    info = prepare(corpus, work, 1, args.limit_mb)
    data = Path(info["dir"]) / "part-0000.parquet"
    mb = info["text_bytes"] / 1e6
    print(f"{name}: {info['docs']:,} docs, {mb:.1f} MB", flush=True)
    results = {}
    for mode in MODES:
        if mode == "ray_1_node":
            subprocess.run([*RAY_SH, "start", "0"], env=cluster["env"], check=True)
        if mode == "ray_2_nodes":
            subprocess.run([*RAY_SH, "start", "1"], env=cluster["env"], check=True)
        env = cluster["env"] if mode != "local" else None
        r = measure(mode, data, work, args, env, cluster["address"] if mode != "local" else None)
        r["mb_per_s"] = round(mb / r["wall_s"], 3)
        results[mode] = r
        print(f"  {mode}: {json.dumps({k: v for k, v in r.items() if not k.startswith('_')})}", flush=True)
    base = pl.read_parquet(results["local"].pop("_out")).sort("id")
    same = all(pl.read_parquet(results[m].pop("_out")).sort("id").equals(base) for m in MODES[1:])
    one, two, local = results["ray_1_node"], results["ray_2_nodes"], results["local"]
    return {
        "corpus": {"docs": info["docs"], "text_mb": round(mb, 1)},
        "shard_mb": args.shard_mb,
        "results": results,
        "same_decisions": same,
        "speedup_2_over_1_node": ratio(one["wall_s"], two["wall_s"]),
        "speedup_2_nodes_over_local": ratio(local["wall_s"], two["wall_s"]),
        "ray_1_node_over_local_wall": ratio(one["wall_s"], local["wall_s"]),
        "overhead_s_per_task_1_node": round((one["wall_s"] - local["wall_s"]) / max(one["tasks"], 1), 3),
        "docs_per_s_per_worker_core": round(info["docs"] / two["wall_s"] / 2, 1),
        "mb_per_s_per_worker_core": round(mb / two["wall_s"] / 2, 3),
    }


def _markdown(runs: dict) -> str:
    lines = [
        "| corpus | run | wall s | CPU s (driver + nodes) | tasks | nodes used | peak task RSS MB | MB/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        for mode, r in run["results"].items():
            lines.append(
                f"| {name} ({run['corpus']['text_mb']} MB, {run['corpus']['docs']:,} docs) | {mode} | {r['wall_s']:.1f} | "
                f"{r['cpu_s']:.1f} ({r['driver_cpu_s']:.1f} + {r['nodes_cpu_s']:.1f}) | {r['tasks']} | {r['nodes_used']} | "
                f"{r['peak_task_rss_mb']:,.0f} | {r['mb_per_s']:.2f} |"
            )
    lines.append("")
    for name, run in runs.items():
        two, one, local = (run["results"][m] for m in ("ray_2_nodes", "ray_1_node", "local"))
        extra_cpu = (one["cpu_s"] - local["cpu_s"]) / max(one["tasks"], 1)
        lines.append(
            f"- **{name}**: two nodes / one node = **{run['speedup_2_over_1_node']:.2f}×** by wall time (target 1.7×). "
            f"Per-task overhead: an empty task takes {two.get('overhead_ms_per_task', float('nan')):.1f} ms, and a "
            f"shard of {run['shard_mb']:g} MB costs {extra_cpu:+.2f} CPU-s more on Ray than in the local run (worker "
            f"start-up and imports included). `local` uses both cores (polars threads) where a node has one: it takes "
            f"{1 / run['ray_1_node_over_local_wall']:.2f}× the wall time of one node, and two nodes take "
            f"{1 / run['speedup_2_nodes_over_local']:.2f}× the wall time of local. Per worker core: "
            f"{run['docs_per_s_per_worker_core']:,.0f} docs/s, {run['mb_per_s_per_worker_core']:.2f} MB/s. The three "
            f"runs' decisions are {'identical' if run['same_decisions'] else 'DIFFERENT'}."
        )
    return "\n".join(lines)


#: a sizing assumption, stated in the table: the nightly window and the cores of one worker node
WINDOW_H, NODE_CORES = 8, 16


def sizing(runs: dict) -> tuple[dict, str]:
    """Nodes for 1 TB a night from the measured per-core rates, and the union-find's input per TB
    from the dedup benchmark's pairs per document (bench/results/dedup.json)."""
    dedup = json.loads((REPO / "bench" / "results" / "dedup.json").read_text())["corpora"]
    rows, out = [], {}
    for name, run in runs.items():
        two = run["results"]["ray_2_nodes"]
        mb_core = run["mb_per_s_per_worker_core"]
        docs_per_tb = run["corpus"]["docs"] / run["corpus"]["text_mb"] * 1e6
        cores = 1e6 / mb_core / (WINDOW_H * 3600)
        st = dedup.get(name, {}).get("results", {}).get("winnow-none", {}).get("stats", {})
        pairs_per_doc = (st.get("exact_pairs", 0) + st.get("near_pairs", 0)) / max(st.get("documents", 1), 1)
        uf_gb = (docs_per_tb * 8 + docs_per_tb * pairs_per_doc * 16) / 1e9  # parent array + (a, b) pairs
        o = {
            "docs_per_s_per_core": run["docs_per_s_per_worker_core"],
            "mb_per_s_per_core": mb_core,
            "peak_task_rss_mb": two["peak_task_rss_mb"],
            "shard_mb": run["shard_mb"],
            "cores_for_1tb": round(cores),
            "nodes_for_1tb": -(-round(cores) // NODE_CORES),
            "docs_per_tb": round(docs_per_tb),
            "pairs_per_doc": round(pairs_per_doc, 3),
            "union_find_input_gb_per_tb": round(uf_gb, 1),
        }
        out[name] = o
        rows.append(
            f"| {name} | {o['docs_per_s_per_core']:,.0f} | {o['mb_per_s_per_core']:.2f} | {o['peak_task_rss_mb']:,.0f} "
            f"({o['shard_mb']:g} MB shards) | {o['cores_for_1tb']:,} | **{o['nodes_for_1tb']:,}** | "
            f"{o['docs_per_tb'] / 1e6:,.0f} M | {o['pairs_per_doc']:.3f} | {o['union_find_input_gb_per_tb']:.1f} GB |"
        )
    header = (
        "| corpus | docs/s per worker core | MB/s per worker core | memory per task, MB | cores for 1 TB "
        f"in {WINDOW_H} h | nodes of {NODE_CORES} cores | documents per TB | dedup pairs per document | "
        "union-find input per TB |"
    )
    return out, "\n".join([header, "|---|---|---|---|---|---|---|---|---|", *rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", nargs="+", choices=list(CORPORA), default=list(CORPORA))
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK)
    ap.add_argument("--limit-mb", type=float, default=None, help="only the first N MB of each corpus")
    ap.add_argument("--shard-mb", type=float, default=8.0)
    ap.add_argument("--overhead-tasks", type=int, default=200)
    ap.add_argument("--port", type=int, default=6391)
    ap.add_argument("--render", action="store_true", help="rewrite the Markdown from bench/results/ray.json")
    ap.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--address", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.out, args.shard_mb, args.address, args.overhead_tasks)
        return
    if args.render:
        _write(json.loads((REPO / "bench" / "results" / "ray.json").read_text()))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    cluster = {
        "address": f"127.0.0.1:{args.port}",
        "env": _cluster_env(args.port, args.port + 1000, args.work / "cluster"),
    }
    runs = {}
    try:
        for name in args.corpora:
            if not CORPORA[name].exists():
                raise SystemExit(f"{CORPORA[name]}: corpus not found; build it with {CORPUS_SCRIPTS[name]}")
            runs[name] = run_corpus(name, CORPORA[name], args.work / name, args, cluster)
            subprocess.run([*RAY_SH, "stop"], env=cluster["env"], check=True)
    finally:
        subprocess.run([*RAY_SH, "stop"], env=cluster["env"], check=False)
    _write({"limit_mb": args.limit_mb, "shard_mb": args.shard_mb, "runs": runs})


def _write(summary: dict) -> None:
    stamp = summary.pop("measured_at", None)  # re-rendering keeps when it was measured
    limit = f" --limit-mb {summary['limit_mb']:g}" if summary["limit_mb"] else ""
    command = f"python -m bench.ray.run{limit} --shard-mb {summary['shard_mb']:g}"
    write_results("ray", summary, _markdown(summary["runs"]), command, measured_at=stamp)
    table, md = sizing(summary["runs"])
    sizes = {"window_h": WINDOW_H, "node_cores": NODE_CORES, "corpora": table}
    write_results("ray_sizing", sizes, md, command, measured_at=stamp)


if __name__ == "__main__":
    main()
