"""How many cores this process may keep busy: a Ray task gets one (its ``num_cpus``), a step all."""

from __future__ import annotations

import os

#: set for every Ray task (``RayRunner``): the cores its thread pools may use
TASK_CPUS_VAR = "WINNOW_TASK_CPUS"


def available_cpus() -> int:
    """``WINNOW_TASK_CPUS`` when set (a task of a cluster node), else the machine's core count."""
    value = os.environ.get(TASK_CPUS_VAR)
    return max(1, int(value)) if value else (os.cpu_count() or 1)
