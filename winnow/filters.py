"""Filters as data: each rule is ``Rule(family, reason, keep)``; all run in one vectorized pass.

The recipe (``filters``) names every threshold; ``build_rules`` turns it into the
ordered rule list, and ``apply_filters`` evaluates them together as polars
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

from dataclasses import dataclass

import polars as pl

from schemas.recipe import Recipe

FAMILIES = ("language", "gopher_repetition", "gopher_quality", "c4", "fineweb")

#: every reason code a rule can write, with what it means (the README lists these)
REASONS: dict[str, str] = {
    "lang_not_allowed": "detected language not in filters.language.allowed",
    "lang_low_confidence": "language-ID confidence below filters.language.min_confidence",
    "empty": "empty text (Gopher repetition) / no non-blank line (FineWeb)",
    "dup_para_frac": "too many duplicated paragraphs",
    "dup_para_char_frac": "too many characters in duplicated paragraphs",
    "dup_line_frac": "too many duplicated lines",
    "dup_line_char_frac": "too many characters in duplicated lines",
    "top_{n}_gram": "the most frequent word n-gram covers too many characters",
    "duplicated_{n}_n_grams": "repeated word n-grams cover too many characters",
    "gopher_short_doc": "fewer non-symbol words than min_doc_words",
    "gopher_long_doc": "more non-symbol words than max_doc_words",
    "gopher_below_avg_threshold": "mean word length below min_avg_word_length",
    "gopher_above_avg_threshold": "mean word length above max_avg_word_length",
    "gopher_too_many_hashes": "'#' per word above max_symbol_word_ratio",
    "gopher_too_many_ellipsis": "ellipses per word above max_symbol_word_ratio",
    "gopher_too_many_bullets": "share of bullet lines above max_bullet_lines_ratio",
    "gopher_too_many_end_ellipsis": "share of lines ending in an ellipsis above max_ellipsis_lines_ratio",
    "gopher_below_alpha_threshold": "share of words with a letter below max_non_alpha_words_ratio",
    "gopher_enough_stop_words": "fewer distinct stop words than min_stop_words",
    "c4_lorem_ipsum": "a line C4 keeps contains 'lorem ipsum' (datatrove: lorem_ipsum)",
    "c4_curly_bracket": "a line C4 keeps contains '{' (datatrove: curly_bracket)",
    "c4_too_few_sentences": "fewer than min_num_sentences sentences in the lines C4 keeps (datatrove: too_few_sentences)",
    "c4_no_terminal_punct": "share of lines C4 would remove above max_removed_line_frac (Winnow extension, off by default)",
    "line_punct_ratio": "share of lines ending in terminal punctuation below line_punct_thr",
    "short_line_ratio": "share of short lines above short_line_thr",
    "char_dup_ratio": "characters in duplicated lines above char_duplicates_ratio",
    "list_ratio": "newlines per word above new_line_ratio",
}


@dataclass(frozen=True)
class Rule:
    family: str  # one of FAMILIES
    reason: str  # reason code written to drop_reason, e.g. "gopher_short_doc"
    keep: pl.Expr  # true where the document passes this rule


def build_rules(recipe: Recipe) -> list[Rule]:
    """The recipe's rules, in the order they are checked. A threshold of 0/None disables its
    rule, as in datatrove (``if self.min_doc_words and ...``)."""
    f = recipe.filters
    rules: list[Rule] = []
    c = pl.col
    in_rule_langs = pl.lit(True) if "*" in f.rule_languages else c("lang_detected").is_in(f.rule_languages)

    def add(family: str, reason: str, keep: pl.Expr, english_only: bool = False) -> None:
        rules.append(Rule(family, reason, (~in_rule_langs | keep) if english_only else keep))

    lang = f.language
    if lang.enabled:
        add("language", "lang_not_allowed", c("lang_detected").is_in(lang.allowed))
        if lang.min_confidence:
            add("language", "lang_low_confidence", c("lang_score") >= lang.min_confidence)

    rep = f.gopher_repetition
    if rep.enabled:
        add("gopher_repetition", "empty", c("n_chars") > 0)
        for key, thr in (
            ("dup_para_frac", rep.dup_para_frac),
            ("dup_para_char_frac", rep.dup_para_char_frac),
            ("dup_line_frac", rep.dup_line_frac),
            ("dup_line_char_frac", rep.dup_line_char_frac),
        ):
            if thr:
                add("gopher_repetition", key, c(f"gopher_{key}") <= thr)
        for n, thr in sorted(rep.top_n_grams.items()):
            add("gopher_repetition", f"top_{n}_gram", c(f"gopher_top_{n}_gram_frac") <= thr)
        for n, thr in sorted(rep.dup_n_grams.items()):
            add("gopher_repetition", f"duplicated_{n}_n_grams", c(f"gopher_dup_{n}_gram_frac") <= thr)

    q = f.gopher_quality
    if q.enabled:
        words, mean = c("gopher_n_words"), c("gopher_mean_word_length")
        checks = [
            ("gopher_short_doc", q.min_doc_words, words >= q.min_doc_words),
            ("gopher_long_doc", q.max_doc_words, words <= q.max_doc_words),
            ("gopher_below_avg_threshold", q.min_avg_word_length, mean >= q.min_avg_word_length),
            ("gopher_above_avg_threshold", q.max_avg_word_length, mean <= q.max_avg_word_length),
            ("gopher_too_many_hashes", q.max_symbol_word_ratio, c("gopher_hash_per_word") <= q.max_symbol_word_ratio),
            (
                "gopher_too_many_ellipsis",
                q.max_symbol_word_ratio,
                c("gopher_ellipsis_per_word") <= q.max_symbol_word_ratio,
            ),
            (
                "gopher_too_many_bullets",
                q.max_bullet_lines_ratio,
                c("gopher_bullet_lines_ratio") <= q.max_bullet_lines_ratio,
            ),
            (
                "gopher_too_many_end_ellipsis",
                q.max_ellipsis_lines_ratio,
                c("gopher_ellipsis_lines_ratio") <= q.max_ellipsis_lines_ratio,
            ),
            (
                "gopher_below_alpha_threshold",
                q.max_non_alpha_words_ratio,
                c("gopher_alpha_words_ratio") >= q.max_non_alpha_words_ratio,
            ),
            ("gopher_enough_stop_words", q.min_stop_words, c("gopher_stop_words") >= q.min_stop_words),
        ]
        for reason, thr, keep in checks:
            if thr:
                add("gopher_quality", reason, keep, english_only=True)

    c4 = f.c4
    if c4.enabled:
        if c4.filter_lorem_ipsum:
            add("c4", "c4_lorem_ipsum", c("c4_lorem_ipsum_lines") == 0, english_only=True)
        if c4.filter_curly_bracket:
            add("c4", "c4_curly_bracket", c("c4_curly_bracket_lines") == 0, english_only=True)
        if c4.min_num_sentences != -1:
            add("c4", "c4_too_few_sentences", c("c4_sentences") >= c4.min_num_sentences, english_only=True)
        if c4.max_removed_line_frac is not None:
            add("c4", "c4_no_terminal_punct", c("c4_removed_line_frac") <= c4.max_removed_line_frac, english_only=True)

    fw = f.fineweb
    if fw.enabled:
        ratio = c("fineweb_line_punct_ratio")
        punct_ok = ratio >= fw.line_punct_thr
        if fw.line_punct_exclude_zero:
            punct_ok = punct_ok | (ratio == 0)
        add("fineweb", "empty", c("fineweb_lines") > 0, english_only=True)
        add("fineweb", "line_punct_ratio", punct_ok, english_only=True)
        add("fineweb", "short_line_ratio", c("fineweb_short_line_ratio") <= fw.short_line_thr, english_only=True)
        add("fineweb", "char_dup_ratio", c("fineweb_char_dup_ratio") <= fw.char_duplicates_ratio, english_only=True)
        add("fineweb", "list_ratio", c("fineweb_newlines_per_word") <= fw.new_line_ratio, english_only=True)
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
