"""Sensors and the jobs they launch (annotation pull)."""

from __future__ import annotations

#: Jobs launched by sensors (added to Definitions).
JOBS: list = []
#: Sensors (added to Definitions).
SENSORS: list = []
