"""Operational scripts (demo, Label Studio control, corpus builders)."""
