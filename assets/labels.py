"""Annotation stage, unpartitioned: labels pulled from Label Studio and agreement."""
