"""Runners: run a list of pure jobs here or as Ray tasks, results in job order.

A job is ``fn(*args)``: a module-level function and picklable arguments (paths, slices of
lazy scans, the recipe). It reads its own input and writes its output under a name given
by its position, so a retried or reordered task changes nothing. Ray retries a task whose
worker or node died (``retries``); an exception raised by the job itself is not retried:
bad input is the job's to quarantine, and anything else is a bug that must surface.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlparse

from winnow.settings import TASK_CPUS_VAR

#: how to get a cluster when none answers (the message names it)
START_HINT = (
    "start a local one with `bash scripts/ray.sh start` (it listens on 127.0.0.1:6390), "
    "point execution.ray_address (WINNOW_RAY_ADDRESS) at a running cluster, "
    "or set execution.mode: local (WINNOW_EXECUTION=local) to run without one"
)


class ClusterUnreachableError(ConnectionError):
    """No Ray cluster answers at the configured address."""


@dataclass(frozen=True)
class TaskReport:
    """Where and how one job ran (for step metadata and the memory-per-task tests)."""

    node: str
    pid: int
    seconds: float
    #: the peak resident memory of the process that ran it, so far (MB)
    peak_rss_mb: float


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _node_id() -> str:
    try:
        import ray

        if ray.is_initialized():
            return ray.get_runtime_context().get_node_id()
    except Exception:  # pragma: no cover - ray absent or not in a task
        pass
    return "local"


def run_reported(fn: Callable, args: tuple) -> tuple[Any, TaskReport]:
    """``fn(*args)`` and its report (what a Ray task runs, and the local runner too)."""
    t0 = time.perf_counter()
    out = fn(*args)
    return out, TaskReport(_node_id(), os.getpid(), round(time.perf_counter() - t0, 3), round(_peak_rss_mb(), 1))


class Runner(Protocol):
    """Runs jobs; ``reports`` keeps, per label, where each job ran."""

    name: str
    remote: bool
    reports: dict[str, list[TaskReport]]

    def map(self, fn: Callable, jobs: Sequence[tuple], *, label: str, memory_mb: float | None = None) -> list: ...


@dataclass
class LocalRunner:
    """Jobs one after another in this process (``workers == 1``), or on ``workers`` spawned processes."""

    workers: int = 1
    name: str = "local"
    #: jobs run on this machine, sharing its files and memory with the step
    remote: bool = False
    reports: dict[str, list[TaskReport]] = field(default_factory=dict)

    def map(self, fn: Callable, jobs: Sequence[tuple], *, label: str, memory_mb: float | None = None) -> list:
        if self.workers <= 1 or len(jobs) <= 1:
            done = [run_reported(fn, tuple(job)) for job in jobs]
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=ctx) as pool:
                futures = [pool.submit(run_reported, fn, tuple(job)) for job in jobs]
                done = [f.result() for f in futures]  # in job order
        self.reports.setdefault(label, []).extend(r for _, r in done)
        return [out for out, _ in done]


def host_port(address: str) -> tuple[str, int]:
    """``host:port`` of a GCS address (``127.0.0.1:6390``) or a client one (``ray://host:10001``)."""
    parsed = urlparse(address if "://" in address else f"gcs://{address}")
    if not parsed.hostname or not parsed.port:
        raise ValueError(f"execution.ray_address {address!r} is not host:port or ray://host:port")
    return parsed.hostname, parsed.port


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Raise ``ClusterUnreachableError`` naming ``address`` unless something listens there."""
    host, port = host_port(address)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise ClusterUnreachableError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); {START_HINT}"
        ) from None


def connect(address: str, timeout_s: float = 5.0) -> None:
    """Join the cluster at ``address`` as a driver, unless this process already has."""
    import ray

    if ray.is_initialized():
        return
    check_reachable(address, timeout_s)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    except ConnectionError as exc:
        raise ClusterUnreachableError(
            f"Ray cluster at {address} refused the connection ({exc}); {START_HINT}"
        ) from None


@dataclass
class RayRunner:
    """Jobs as Ray tasks of one CPU each on the cluster at ``address`` (joined on first use)."""

    address: str
    retries: int = 3
    name: str = "ray"
    remote: bool = True
    reports: dict[str, list[TaskReport]] = field(default_factory=dict)

    def map(self, fn: Callable, jobs: Sequence[tuple], *, label: str, memory_mb: float | None = None) -> list:
        import ray

        connect(self.address)
        if not jobs:
            return []
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": self.retries, "name": label}
        # one core per task: polars and our thread pools size themselves from these at import
        options["runtime_env"] = {"env_vars": {"POLARS_MAX_THREADS": "1", TASK_CPUS_VAR: "1"}}
        if memory_mb:
            options["memory"] = int(memory_mb * 2**20)  # the scheduler never packs more than fits
        task = ray.remote(run_reported).options(**options)
        refs = [task.remote(fn, tuple(job)) for job in jobs]
        done = ray.get(refs)  # in job order, whatever order the tasks finished in
        self.reports.setdefault(label, []).extend(r for _, r in done)
        return [out for out, _ in done]


def runner_for(mode: str, *, address: str | None = None, retries: int = 3, workers: int = 1) -> Runner:
    """The runner the execution settings name."""
    if mode == "ray":
        if not address:
            raise ValueError(f"execution.mode is ray but execution.ray_address is not set; {START_HINT}")
        return RayRunner(address, retries=retries)
    return LocalRunner(workers=workers)


def summarize(reports: dict[str, list[TaskReport]]) -> dict[str, dict]:
    """Per label: tasks, distinct nodes, peak task RSS and task seconds (step metadata)."""
    out = {}
    for label, rs in reports.items():
        out[label] = {
            "tasks": len(rs),
            "nodes": len({r.node for r in rs}),
            "peak_task_rss_mb": max((r.peak_rss_mb for r in rs), default=0.0),
            "task_seconds": round(sum(r.seconds for r in rs), 2),
        }
    return out
