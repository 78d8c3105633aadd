"""Contracts shared by every stage: table schemas, the recipe model, the
Label Studio labeling config and the Great Expectations suites.

Nothing here imports Dagster or the engine, so the contracts can be read by
any tool (and tested) on their own.
"""
