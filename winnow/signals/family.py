"""A rule family as one unit: its signal columns, its rules and their reason codes.

Each family module of ``winnow.signals`` (``langid``, ``gopher``, ``c4``, ``fineweb``)
declares a ``Family``: the columns its signals add, the reason codes its rules write,
and ``rules(cfg)``, which turns the recipe's thresholds (the family's config class in
``schemas/recipe.py``, where the defaults live) into ``Rule`` expressions.
``winnow.filters`` loops over the registry of families, so adding a family is one
module here, its config class, one line in the registry, and its tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from schemas.recipe import FiltersConfig


@dataclass(frozen=True)
class Rule:
    family: str  # the family's name
    reason: str  # reason code written to drop_reason, e.g. "gopher_short_doc"
    keep: pl.Expr  # true where the document passes this rule


@dataclass(frozen=True)
class Family:
    name: str
    #: every reason code the family's rules can write, with what it means
    reasons: dict[str, str]
    #: the signal columns the family adds (name -> dtype), for a recipe's filters config
    columns: Callable[[FiltersConfig], dict[str, pl.DataType]]
    #: the enabled rules for a recipe's filters config, in the order they are checked
    rules: Callable[[FiltersConfig], list[tuple[str, pl.Expr]]]

    def enabled(self, cfg: FiltersConfig) -> bool:
        return bool(getattr(cfg, self.name).enabled)
