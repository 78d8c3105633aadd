"""Benchmarks against reference tools; run as modules, e.g. ``python -m bench.ingest.run``."""
