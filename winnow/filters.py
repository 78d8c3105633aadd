"""Filters as data: each rule is ``Rule(family, reason, keep)``; all run in one vectorized pass.

Each family (``winnow/signals/family.py``) declares its signal columns, rules and reason
codes next to the code that computes its signals; the recipe (``filters``) names every
threshold; ``build_rules`` loops over ``REGISTRY`` to turn it into the ordered rule list, and ``apply_filters`` evaluates them together as polars
expressions over the signal columns. The first failing rule (in rule order)
becomes the document's ``drop_reason`` and its ``drop_family``; ``keep`` is true
when no rule fails. Reason codes follow datatrove's (``gopher_short_doc``,
``dup_line_frac``, ``top_2_gram``, ``duplicated_5_n_grams``, ``line_punct_ratio``,
...); C4's are prefixed (``c4_too_few_sentences`` ...), see ``REASONS``.

Order: language, Gopher repetition, Gopher quality, C4, FineWeb (the order of the
FineWeb pipeline). Gopher quality, C4 and FineWeb were designed for English: they
apply only to documents whose detected language is in ``filters.rule_languages``.
Gopher repetition applies to every language (its word n-grams count each CJK
character as a word).
"""

from __future__ import annotations

import polars as pl

from schemas.recipe import Recipe
from winnow.signals import c4, cjk, fineweb, gopher, langid
from winnow.signals.family import Family, Rule

#: the rule families, in the order their rules are checked (the FineWeb pipeline's order)
REGISTRY: tuple[Family, ...] = (
    langid.FAMILY,
    gopher.REPETITION,
    gopher.QUALITY,
    c4.FAMILY,
    fineweb.FAMILY,
    cjk.FAMILY,
)
FAMILIES = tuple(f.name for f in REGISTRY)

#: every reason code a rule can write, with what it means (docs/reference.md lists these)
REASONS: dict[str, str] = {code: text for family in REGISTRY for code, text in family.reasons.items()}


def build_rules(recipe: Recipe) -> list[Rule]:
    """The recipe's rules, in the order they are checked. A threshold of 0/None disables its
    rule, as in datatrove (``if self.min_doc_words and ...``)."""
    f = recipe.filters
    in_rule_langs = pl.lit(True) if "*" in f.rule_languages else pl.col("lang_detected").is_in(f.rule_languages)
    rules: list[Rule] = []
    for family in REGISTRY:
        if family.enabled(f):
            for reason, keep in family.rules(f):
                rules.append(Rule(family.name, reason, (~in_rule_langs | keep) if family.rule_languages_only else keep))
    return rules


def apply_filters(signals: pl.LazyFrame, recipe: Recipe) -> pl.LazyFrame:
    """Add ``keep`` (bool), ``drop_reason`` and ``drop_family`` (null when kept), in one pass."""
    rules = build_rules(recipe)
    if not rules:
        return signals.with_columns(
            keep=pl.lit(True), drop_reason=pl.lit(None, dtype=pl.String), drop_family=pl.lit(None, dtype=pl.String)
        )
    failed = [rule.keep.fill_null(True).not_() for rule in rules]
    reason = pl.coalesce([pl.when(f).then(pl.lit(r.reason)) for f, r in zip(failed, rules)])
    family = pl.coalesce([pl.when(f).then(pl.lit(r.family)) for f, r in zip(failed, rules)])
    return signals.with_columns(drop_reason=reason, drop_family=family).with_columns(
        keep=pl.col("drop_reason").is_null()
    )


def funnel(filtered: pl.LazyFrame) -> pl.DataFrame:
    """Documents and characters removed per reason (most documents first), then the kept total.

    Columns: ``drop_family``, ``drop_reason`` ("(kept)" for the kept row), ``documents``,
    ``characters``, ``doc_share`` and ``char_share`` (of all input documents/characters).
    """
    names = filtered.collect_schema().names()
    chars = pl.col("n_chars") if "n_chars" in names else pl.col("text").str.len_chars()
    table = (
        filtered.group_by(pl.col("drop_family").fill_null("(kept)"), pl.col("drop_reason").fill_null("(kept)"))
        .agg(documents=pl.len().cast(pl.Int64), characters=chars.sum().cast(pl.Int64))
        .collect()
    )
    total_docs, total_chars = table["documents"].sum(), table["characters"].sum()
    removed = table.filter(pl.col("drop_reason") != "(kept)").sort(
        ["documents", "drop_reason"], descending=[True, False]
    )
    kept = table.filter(pl.col("drop_reason") == "(kept)")
    if kept.height == 0:
        kept = pl.DataFrame(
            {"drop_family": ["(kept)"], "drop_reason": ["(kept)"], "documents": [0], "characters": [0]},
            schema=table.schema,
        )
    return pl.concat([removed, kept]).with_columns(
        doc_share=pl.col("documents") / max(total_docs, 1),
        char_share=pl.col("characters") / max(total_chars, 1),
    )
