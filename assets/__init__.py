"""Dagster assets and asset checks, grouped by stage. Each is a thin call into the engine."""
