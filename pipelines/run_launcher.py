"""Dagster's default run launcher, able to tell when a run's worker process has died.

A run killed with ``kill -9`` (or by the out-of-memory killer) never reports its own end,
so it stayed ``STARTED`` for ever. Dagster's run monitoring (``run_monitoring`` in
``dagster.yaml``, checked by the daemon of ``dagster dev``) asks the launcher whether the
worker is alive, but the default launcher cannot say. This one can: the worker logs
``Started process for run (pid: N)`` when it starts, so the run's worker is alive while
process N runs (a zombie or a process started after the run began, that is a reused pid,
is not it). A dead worker's run is then marked failed with the reason in its log.
"""

from __future__ import annotations

import psutil
from dagster import DagsterEventType, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.dagster_run import DagsterRun

#: the engine event a run worker logs first (dagster/_grpc/impl.py)
WORKER_STARTED = "Started process for run (pid: "


class MonitoredRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` plus a worker health check by process id."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def _worker(self, run: DagsterRun) -> tuple[int, float] | None:
        """(pid, when it was logged) of the run's newest worker process, or None before it started."""
        events = self._instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
        for event in reversed(events):
            if not (event.message or "").startswith(WORKER_STARTED):  # step subprocesses log pids too
                continue
            data = event.dagster_event.engine_event_data if event.dagster_event else None
            pid = data.metadata.get("pid") if data is not None else None
            if pid is not None:
                return int(str(pid.value)), event.timestamp
        return None

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        found = self._worker(run)
        if found is None:  # not started yet: run monitoring's start timeout covers it
            return CheckRunHealthResult(WorkerStatus.RUNNING, "worker not started yet")
        pid, started = found
        try:
            proc = psutil.Process(pid)
            alive = proc.status() != psutil.STATUS_ZOMBIE and proc.create_time() <= started + 1.0
        except psutil.NoSuchProcess:
            alive = False
        if alive:
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"run worker pid {pid} is running")
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the run worker (pid {pid}) is gone without reporting an end: it was killed "
            "(kill -9, the out-of-memory killer, or a reboot). Rerun the partition: every stage is idempotent",
        )
