"""The one benchmark harness: run a tool as a process tree, measure it, write the results.

``run_measured`` starts a command and reports its wall time, the CPU time of its whole
process tree and the tree's peak resident memory. CPU is counted two ways and the larger
is kept:

- ``getrusage(RUSAGE_CHILDREN)`` before and after: exact for every descendant that was
  waited for (the command itself, pool workers that were joined);
- the last ``cpu_times()`` sampled from every process of the tree, keyed by pid and
  start time: covers descendants nobody waits for (datatrove's workers are children of
  a forkserver), up to the sampling interval.

``tests/unit/test_bench_harness.py`` checks the method on a workload whose CPU time is
known. ``write_results`` puts a benchmark's figures in ``bench/results/<name>.json`` and
``.md``, the files the docs include: figures are never pasted by hand.
"""

from __future__ import annotations

import json
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


#: each sampled process's command line, by (pid, start time): read by bench.nights to name step processes
CMDLINES: dict[tuple[int, float], str] = {}


def process_tree(root_pid: int) -> list[psutil.Process]:
    """The process and all its descendants now (empty if it is gone)."""
    try:
        root = psutil.Process(root_pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def sample_cpu(p: psutil.Process, sampled: dict[tuple[int, float], float]) -> tuple[int, float]:
    """Record ``p``'s CPU seconds so far in ``sampled`` under its key (pid, start time); returns the key."""
    ct = p.cpu_times()
    key = (p.pid, p.create_time())
    sampled[key] = ct.user + ct.system
    return key


def _watch(
    proc: subprocess.Popen, interval: float, peaks: dict[tuple[int, float], int]
) -> tuple[int, int, dict[tuple[int, float], float]]:
    """Sample the tree under ``proc`` until it exits: peak RSS (tree, largest process), last CPU per process;
    ``peaks`` gets each process's peak RSS, keyed by (pid, start time)."""
    sampled: dict[tuple[int, float], float] = {}
    peak_tree = peak_single = 0
    cmdlines = CMDLINES
    while proc.poll() is None:
        rss = []
        for p in process_tree(proc.pid):
            try:
                with p.oneshot():
                    key = sample_cpu(p, sampled)
                    rss.append(p.memory_info().rss)
                    peaks[key] = max(peaks.get(key, 0), rss[-1])
                    if key not in cmdlines:
                        cmdlines[key] = " ".join(p.cmdline())[:4000]
            except psutil.Error:
                pass
        peak_tree, peak_single = max(peak_tree, sum(rss)), max(peak_single, max(rss, default=0))
        time.sleep(interval)
    return peak_tree, peak_single, sampled


def run_measured(
    cmd: list[str],
    *,
    env: dict | None = None,
    cwd: Path = REPO,
    nice: int = 0,
    interval: float = 0.05,
    capture: bool = False,
    per_process: bool = False,
) -> dict:
    """Run ``cmd`` to completion; ``wall_s``, ``cpu_s``, ``peak_rss_mb`` (tree), ``peak_rss_single_mb``, and
    with ``per_process``, ``processes``: each process's start time (epoch s), peak RSS in MB and command line."""
    before = _children_cpu()
    t0 = time.perf_counter()
    full = ["nice", "-n", str(nice), *cmd] if nice else cmd
    # captured output goes to files, not pipes: a chatty tool would fill a pipe nobody reads while we poll
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        proc = subprocess.Popen(
            full, env=env, cwd=cwd, stdout=out_f if capture else None, stderr=err_f if capture else None, text=True
        )
        peaks: dict[tuple[int, float], int] = {}
        peak_tree, peak_single, sampled = _watch(proc, interval, peaks)
        wall = time.perf_counter() - t0
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    if proc.returncode != 0:
        detail = f"\n{err[-3000:]}" if capture else ""
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {' '.join(cmd)}{detail}")
    cpu = max(_children_cpu() - before, sum(sampled.values()))
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "peak_rss_mb": round(peak_tree / 2**20, 1),
        "peak_rss_single_mb": round(peak_single / 2**20, 1),
        **({"stdout": out, "stderr": err} if capture else {}),
        **(
            {
                "processes": [
                    {"started": k[1], "peak_rss_mb": round(v / 2**20, 1), "cmdline": CMDLINES.get(k, "")}
                    for k, v in sorted(peaks.items())
                ]
            }
            if per_process
            else {}
        ),
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def write_results(
    name: str, summary: dict, markdown: str, command: str | None = None, measured_at: str | None = None
) -> Path:
    """``bench/results/<name>.json`` (everything) and ``.md`` (the table the docs include);
    ``command`` is what made them (default ``python -m bench.<name>.run``); ``measured_at`` keeps
    the time of a measurement whose files are only re-rendered."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = measured_at or datetime.now(UTC).isoformat(timespec="seconds")
    (RESULTS / f"{name}.json").write_text(json.dumps({"measured_at": stamp, **summary}, indent=2, default=str) + "\n")
    md = RESULTS / f"{name}.md"
    command = command or f"python -m bench.{name}.run"
    md.write_text(f"{markdown.rstrip()}\n\n_Measured {stamp} by `{command}`._\n", encoding="utf-8")
    return md


def summary_markdown(summary: dict) -> str:
    """A readable table of a benchmark's figures: one row per tool (nested dicts), then the scalar figures."""

    def fmt(v) -> str:
        return f"{v:,.3g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)

    rows = {
        k: v for k, v in summary.items() if isinstance(v, dict) and all(not isinstance(x, dict) for x in v.values())
    }
    lines: list[str] = []
    if rows:
        cols = sorted({c for r in rows.values() for c, x in r.items() if isinstance(x, (int, float, str))})
        lines += ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        lines += [f"| {name} | " + " | ".join(fmt(r.get(c, "")) for c in cols) + " |" for name, r in rows.items()]
        lines.append("")
    scalars = {k: v for k, v in summary.items() if isinstance(v, (int, float, str))}
    if scalars:
        lines += ["| figure | value |", "|---|---|", *[f"| {k} | {fmt(v)} |" for k, v in scalars.items()]]
    return "\n".join(lines)
