"""A run whose worker is killed with kill -9 is marked failed by Dagster's run monitoring (#14, item 10).

The instance is built from the repo's own pipelines/dagster.yaml, and the daemon's own
monitoring step (``monitor_started_run``) is run against a real worker process.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from dagster._core.events import EngineEventData
from dagster._core.test_utils import create_run_for_test
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

from pipelines.run_launcher import MonitoredRunLauncher

REPO = Path(__file__).resolve().parents[2]


def test_a_killed_run_worker_gets_its_run_marked_failed(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.run_monitoring_enabled and isinstance(instance.run_launcher, MonitoredRunLauncher)
        run = create_run_for_test(instance, job_name="nightly_curation", status=dg.DagsterRunStatus.STARTED)
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        try:
            instance.report_engine_event(
                f"Started process for run (pid: {worker.pid}).", run, EngineEventData.in_process(worker.pid)
            )
            step = subprocess.Popen([sys.executable, "-c", "pass"])
            step.wait()  # a finished step subprocess logs its pid too; it is not the run's worker
            instance.report_engine_event("Executing steps in process", run, EngineEventData.in_process(step.pid))
            log = logging.getLogger("test-run-monitoring")
            monitor_started_run(instance, None, instance.get_run_record_by_id(run.run_id), log)
            assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED  # alive: left alone
            worker.send_signal(signal.SIGKILL)
            time.sleep(0.5)  # not reaped yet: a zombie is not a live worker either
            monitor_started_run(instance, None, instance.get_run_record_by_id(run.run_id), log)
        finally:
            worker.kill()
            worker.wait()
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        messages = [e.message for e in instance.all_logs(run.run_id)]
        assert any(f"the run worker (pid {worker.pid}) is gone" in m and "Rerun the partition" in m for m in messages)
