"""Quality signals: one column per signal, computed vectorized over batches of documents.

Families (one module each): ``gopher`` (quality and repetition), ``c4``,
``fineweb``, ``langid`` (offline language ID), ``pii`` (counts and redaction);
``words``/``lines``/``text`` hold the shared tokenization. ``compute_signals`` is
the entry point; ``signal_schema`` lists the columns it adds.
"""

from winnow.signals.compute import compute_signals, signal_schema, signals_frame

__all__ = ["compute_signals", "signal_schema", "signals_frame"]
