"""Nightly partitions: one per day of incoming data."""


import dagster as dg

from winnow.paths import default_recipe_path
from schemas.recipe import load_recipe

#: Days start at the recipe's ``partitions_start``; ``end_offset=1`` lets today's
#: partition run tonight.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=load_recipe(default_recipe_path()).partitions_start, end_offset=1
)
