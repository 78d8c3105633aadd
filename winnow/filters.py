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
FineWeb pipeline), then the CJK rules. Every family applies to every language. A rule's
threshold is the family default (datatrove's, tuned on English) unless the document's
detected language has its own value in ``filters.language_thresholds`` (FineWeb-2's, by
default): each such rule is one ``when(lang).then(...)`` chain, so the pass stays one
vectorized expression per rule. ``threshold_sources`` says which languages ran on the
defaults for want of their own (docs/languages.md).
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
    rule, as in datatrove (``if self.min_doc_words and ...``); per language too."""
    f = recipe.filters
    views = {lang: f.for_language(lang) for lang in judged_languages(recipe)}
    rules: list[Rule] = []
    for family in REGISTRY:
        base = dict(family.rules(f)) if family.enabled(f) else {}
        per = {lang: dict(family.rules(v)) if family.enabled(v) else {} for lang, v in views.items()}
        reasons = list(base) + [r for rows in per.values() for r in rows if r not in base]
        for reason in dict.fromkeys(reasons):
            default = base.get(reason, pl.lit(True))
            branches: list[tuple[list[str], pl.Expr]] = []
            for lang, rows in per.items():
                keep = rows.get(reason, pl.lit(True))
                if keep.meta.eq(default):
                    continue
                same = next((b for b in branches if b[1].meta.eq(keep)), None)
                if same:
                    same[0].append(lang)
                else:
                    branches.append(([lang], keep))
            rules.append(Rule(family.name, reason, _by_language(branches, default)))
    return rules


def _by_language(branches: list[tuple[list[str], pl.Expr]], default: pl.Expr) -> pl.Expr:
    """``when(lang in langs) then keep ... otherwise default``, or ``default`` with no branch."""
    expr = default
    for langs, keep in reversed(branches):
        expr = pl.when(pl.col("lang_detected").is_in(langs)).then(keep).otherwise(expr)
    return expr


def judged_languages(recipe: Recipe) -> list[str]:
    """The languages whose own thresholds can matter: the allowed ones while the language filter
    is on (the rest are dropped first), else every language with a row."""
    f = recipe.filters
    rows = list(f.language_thresholds)
    return [lang for lang in rows if lang in f.language.allowed] if f.language.enabled else rows


#: the language the family defaults were tuned on
DEFAULTS_LANGUAGE = "en"


def threshold_sources(filtered: pl.LazyFrame, recipe: Recipe) -> pl.DataFrame:
    """Per detected language: documents, kept, and whose thresholds judged them.

    ``thresholds`` is the row's source (FineWeb-2's config file ...), ``defaults`` for English,
    or ``defaults (fallback: no thresholds of its own)``; ``fallback`` is true for the last.
    Documents the language filter dropped are not counted (no quality rule judged them).
    """
    rows = recipe.filters.language_thresholds
    judged = filtered
    if recipe.filters.language.enabled:
        judged = judged.filter(pl.col("drop_family").fill_null("") != "language")
    table = (
        judged.group_by(pl.col("lang_detected").fill_null("(none)"))
        .agg(documents=pl.len().cast(pl.Int64), kept=pl.col("keep").sum().cast(pl.Int64))
        .sort(["documents", "lang_detected"], descending=[True, False])
        .collect()
    )
    own = {lang: row.source for lang, row in rows.items()}
    own[DEFAULTS_LANGUAGE] = own.get(DEFAULTS_LANGUAGE, "defaults (datatrove, tuned on English)")
    fallback = "defaults (fallback: no thresholds of its own)"
    return table.with_columns(
        thresholds=pl.col("lang_detected").replace_strict(own, default=fallback, return_dtype=pl.String),
    ).with_columns(fallback=pl.col("thresholds") == fallback)


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


def fallback_note(sources: pl.DataFrame) -> str | None:
    """One sentence naming the languages ``threshold_sources`` found on the fallback, or None."""
    fell = sources.filter("fallback")
    if fell.height == 0:
        return None
    langs = ", ".join(f"{r['lang_detected']} ({r['documents']:,} documents)" for r in fell.iter_rows(named=True))
    return (
        f"Judged on the English defaults for want of thresholds of their own: {langs}. "
        "Add a row to filters.language_thresholds (docs/languages.md)."
    )
