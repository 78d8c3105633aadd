"""The benchmark harness counts the CPU of a whole process tree, waited-for children or not."""

from __future__ import annotations

import sys

from bench.harness import run_measured

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < {s}: pass\n"


def test_cpu_of_the_tree_includes_children_that_nobody_waits_for():
    # the parent starts two children that burn 0.6 s each, burns 0.4 s itself, lets the children
    # finish and exits without ever waiting for them: their CPU is in nobody's rusage
    code = (
        "import os, subprocess, sys, time\n"
        f"child = {BURN.format(s=0.6)!r}\n"
        "procs = [subprocess.Popen([sys.executable, '-c', child]) for _ in range(2)]\n"
        + BURN.format(s=0.4)
        + "time.sleep(1.5)\n"
        "os._exit(0)\n"
    )
    m = run_measured([sys.executable, "-c", code], interval=0.02)
    assert 1.5 <= m["cpu_s"] <= 2.6, m  # 0.4 + 2 x 0.6, plus interpreter start-up
    assert m["wall_s"] > 0 and m["peak_rss_mb"] > 0


def test_cpu_of_a_single_process_is_exact():
    m = run_measured([sys.executable, "-c", BURN.format(s=0.5)])
    assert 0.5 <= m["cpu_s"] <= 0.9, m


def test_captured_output_larger_than_a_pipe_does_not_block_the_tool():
    # 1 MB on each stream: a pipe nobody reads while the harness polls would fill at 64 KB and hang
    code = "import sys; sys.stdout.write('x' * 1_000_000); sys.stderr.write('y' * 1_000_000)"
    m = run_measured([sys.executable, "-c", code], capture=True)
    assert len(m["stdout"]) == len(m["stderr"]) == 1_000_000


def test_step_processes_are_matched_to_the_steps_they_ran():
    from bench.nights import step_rss

    spawn = "python -c from multiprocessing.spawn import spawn_main; spawn_main()"
    processes = [
        {"started": 100.0, "peak_rss_mb": 900.0, "cmdline": "python -m pipelines.launch"},
        {"started": 101.0, "peak_rss_mb": 400.0, "cmdline": spawn},
        {"started": 104.0, "peak_rss_mb": 1500.0, "cmdline": spawn},
        {"started": 105.0, "peak_rss_mb": 300.0, "cmdline": "tail -F x.out"},
    ]
    windows = {"ingest": [103.0, 104.5], "document_signals": [109.0, 150.0]}
    assert step_rss(processes, windows) == {"document_signals": 1500.0, "ingest": 400.0}
