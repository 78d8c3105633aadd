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
