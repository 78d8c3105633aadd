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
from typing import Literal

import numpy as np
import polars as pl

from schemas.recipe import FiltersConfig


@dataclass(frozen=True)
class Rule:
    family: str  # the family's name
    reason: str  # reason code written to drop_reason, e.g. "gopher_short_doc"
    keep: pl.Expr  # true where the document passes this rule


@dataclass(frozen=True)
class Threshold:
    """A rule's tunable threshold: the document is kept while ``signal keep_if value``.

    ``field`` is the family config's field ("min_doc_words"), or a dict entry ("top_n_grams.2").
    """

    signal: str
    field: str
    keep_if: Literal[">=", "<=", "<"]

    def value(self, family_cfg: object) -> float | None:
        name, _, key = self.field.partition(".")
        v = getattr(family_cfg, name)
        if key:
            v = v.get(int(key))
        return None if v is None else float(v)

    def keeps(self, signal: np.ndarray, value: float) -> np.ndarray:
        """Which of ``signal`` the rule keeps at ``value`` (NaN: kept, as a null signal never drops)."""
        with np.errstate(invalid="ignore"):
            kept = {">=": signal >= value, "<=": signal <= value, "<": signal < value}[self.keep_if]
        return kept | np.isnan(signal)


def _no_thresholds(cfg: FiltersConfig) -> dict[str, Threshold]:
    return {}


@dataclass(frozen=True)
class Family:
    name: str
    #: every reason code the family's rules can write, with what it means
    reasons: dict[str, str]
    #: the signal columns the family adds (name -> dtype), for a recipe's filters config
    columns: Callable[[FiltersConfig], dict[str, pl.DataType]]
    #: the enabled rules for a recipe's filters config, in the order they are checked
    rules: Callable[[FiltersConfig], list[tuple[str, pl.Expr]]]
    #: the rules with one tunable threshold (reason -> Threshold), for the label-tuned suggestions
    thresholds: Callable[[FiltersConfig], dict[str, Threshold]] = _no_thresholds

    def enabled(self, cfg: FiltersConfig) -> bool:
        return bool(getattr(cfg, self.name).enabled)
