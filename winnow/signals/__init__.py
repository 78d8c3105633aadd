"""Quality signals: one column per signal, computed in one vectorized polars pass."""

from winnow.signals.compute import compute_signals

__all__ = ["compute_signals"]
