"""Phase timings for a step's metadata: ``lap("phase")`` records the seconds since the last lap."""

from __future__ import annotations

import time


class Stopwatch:
    def __init__(self) -> None:
        self.start = self._last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now

    def total(self) -> dict[str, float]:
        """The laps so far plus ``total``, the seconds since the start."""
        return {**self.timings, "total": round(time.perf_counter() - self.start, 3)}
