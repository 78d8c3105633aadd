"""Nightly partitions: one per day of incoming data, as the settings' schedule says."""

import dagster as dg

from winnow.settings import load_settings

_schedule = load_settings().schedule

#: Days from ``partitions_start``; without ``partitions_end``, ``end_offset=1`` lets
#: today's partition run tonight.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=_schedule.partitions_start,
    end_date=_schedule.partitions_end,
    end_offset=0 if _schedule.partitions_end else 1,
)
