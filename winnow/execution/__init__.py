"""Where per-shard work runs: in the step's process (``local``) or as Ray tasks (``ray``).

Every stage that splits its work by shard (signals, filters, scoring, the dedup map and
its per-band reduce, ingest per file, release shards) hands a list of pure jobs to a
``Runner``; results come back in job order and every job writes its output under a name
fixed by its position, so nothing depends on which task finished first, and a night run
on a cluster equals the local one byte for byte.
"""

from winnow.execution.runners import (
    ClusterUnreachableError,
    LocalRunner,
    RayRunner,
    Runner,
    TaskReport,
    runner_for,
)
from winnow.execution.shards import Shard, map_shards, plan_shards

__all__ = [
    "ClusterUnreachableError",
    "LocalRunner",
    "RayRunner",
    "Runner",
    "Shard",
    "TaskReport",
    "map_shards",
    "plan_shards",
    "runner_for",
]
