"""winnow.filters: every reason code, rule order, language gating, the funnel."""

from __future__ import annotations

import re

import polars as pl
import pytest

from schemas.recipe import Recipe
from winnow.filters import REASONS, apply_filters, build_rules, funnel
from winnow.signals import signal_schema


def _recipe(**filters) -> Recipe:
    return Recipe.model_validate(
        {"name": "t", "version": 1, "sources": [{"name": "s", "path": "x", "format": "jsonl"}], "filters": filters}
    )


RECIPE = _recipe()

# a document that passes every default rule
CLEAN = {
    "doc_id": "d",
    "text": "x" * 1000,
    "n_chars": 1000,
    "lang_detected": "en",
    "lang_score": 0.99,
    "gopher_n_words": 200,
    "gopher_mean_word_length": 4.8,
    "gopher_hash_per_word": 0.0,
    "gopher_ellipsis_per_word": 0.0,
    "gopher_bullet_lines_ratio": 0.1,
    "gopher_ellipsis_lines_ratio": 0.0,
    "gopher_alpha_words_ratio": 0.9,
    "gopher_stop_words": 6,
    "gopher_dup_para_frac": 0.0,
    "gopher_dup_para_char_frac": 0.0,
    "gopher_dup_line_frac": 0.0,
    "gopher_dup_line_char_frac": 0.0,
    "c4_lorem_ipsum_lines": 0,
    "c4_curly_bracket_lines": 0,
    "c4_sentences": 12,
    "c4_removed_line_frac": 0.2,
    "fineweb_lines": 10,
    "fineweb_line_punct_ratio": 0.8,
    "fineweb_short_line_ratio": 0.2,
    "fineweb_char_dup_ratio": 0.0,
    "fineweb_newlines_per_word": 0.05,
    "cjk_chars": 0,
    "cjk_script_share": 0.0,
    "cjk_fullwidth_punct_per_char": 0.0,
    "cjk_char_rep_ratio": 0.0,
    "cjk_spam_hits": 0,
    "cjk_flagged_ratio": 0.0,
    "garbled_ratio": 0.0,
}
#: the CJK rules judge a CJK-language document with enough CJK characters
CJK = {"lang_detected": "zh", "cjk_chars": 400, "cjk_script_share": 0.95, "cjk_fullwidth_punct_per_char": 0.05,
       "cjk_char_rep_ratio": 0.1, "cjk_flagged_ratio": 0.0}  # fmt: skip
for n in (2, 3, 4):
    CLEAN[f"gopher_top_{n}_gram_frac"] = 0.05
for n in range(5, 11):
    CLEAN[f"gopher_dup_{n}_gram_frac"] = 0.0

# (family, reason, the change that should trip exactly that rule)
CASES = [
    ("language", "lang_not_allowed", {"lang_detected": "ru"}),
    ("language", "lang_low_confidence", {"lang_score": 0.3}),
    ("gopher_repetition", "empty", {"n_chars": 0}),
    ("gopher_repetition", "dup_para_frac", {"gopher_dup_para_frac": 0.31}),
    ("gopher_repetition", "dup_para_char_frac", {"gopher_dup_para_char_frac": 0.21}),
    ("gopher_repetition", "dup_line_frac", {"gopher_dup_line_frac": 0.31}),
    ("gopher_repetition", "dup_line_char_frac", {"gopher_dup_line_char_frac": 0.21}),
    ("gopher_repetition", "top_2_gram", {"gopher_top_2_gram_frac": 0.21}),
    ("gopher_repetition", "top_3_gram", {"gopher_top_3_gram_frac": 0.19}),
    ("gopher_repetition", "top_4_gram", {"gopher_top_4_gram_frac": 0.17}),
    *[
        ("gopher_repetition", f"duplicated_{n}_n_grams", {f"gopher_dup_{n}_gram_frac": 0.16 - (n - 5) * 0.01 + 0.005})
        for n in range(5, 11)
    ],
    ("gopher_quality", "gopher_short_doc", {"gopher_n_words": 49}),
    ("gopher_quality", "gopher_long_doc", {"gopher_n_words": 100_001}),
    ("gopher_quality", "gopher_below_avg_threshold", {"gopher_mean_word_length": 2.9}),
    ("gopher_quality", "gopher_above_avg_threshold", {"gopher_mean_word_length": 10.1}),
    ("gopher_quality", "gopher_too_many_hashes", {"gopher_hash_per_word": 0.11}),
    ("gopher_quality", "gopher_too_many_ellipsis", {"gopher_ellipsis_per_word": 0.11}),
    ("gopher_quality", "gopher_too_many_bullets", {"gopher_bullet_lines_ratio": 0.91}),
    ("gopher_quality", "gopher_too_many_end_ellipsis", {"gopher_ellipsis_lines_ratio": 0.31}),
    ("gopher_quality", "gopher_below_alpha_threshold", {"gopher_alpha_words_ratio": 0.79}),
    ("gopher_quality", "gopher_enough_stop_words", {"gopher_stop_words": 1}),
    ("c4", "c4_lorem_ipsum", {"c4_lorem_ipsum_lines": 1}),
    ("c4", "c4_curly_bracket", {"c4_curly_bracket_lines": 2}),
    ("c4", "c4_too_few_sentences", {"c4_sentences": 4}),
    ("fineweb", "empty", {"fineweb_lines": 0}),
    ("fineweb", "line_punct_ratio", {"fineweb_line_punct_ratio": 0.11}),
    ("fineweb", "short_line_ratio", {"fineweb_short_line_ratio": 0.68}),
    ("fineweb", "char_dup_ratio", {"fineweb_char_dup_ratio": 0.011}),
    ("fineweb", "list_ratio", {"fineweb_newlines_per_word": 0.31}),
    ("cjk_quality", "cjk_low_script_share", {**CJK, "cjk_script_share": 0.09}),
    ("cjk_quality", "cjk_no_punctuation", {**CJK, "cjk_fullwidth_punct_per_char": 0.001}),
    ("cjk_quality", "cjk_char_repetition", {**CJK, "cjk_char_rep_ratio": 0.51}),
    ("cjk_quality", "cjk_spam", {**CJK, "cjk_spam_hits": 3}),
    ("cjk_quality", "flagged_words", {**CJK, "cjk_flagged_ratio": 0.006}),
    ("cjk_quality", "garbled_text", {"garbled_ratio": 0.011}),
]


def _decide(rows: list[dict], recipe: Recipe = RECIPE) -> pl.DataFrame:
    return apply_filters(pl.LazyFrame(rows), recipe).collect()


def test_clean_document_is_kept():
    out = _decide([CLEAN])
    assert out["keep"].to_list() == [True]
    assert out["drop_reason"].to_list() == [None] and out["drop_family"].to_list() == [None]


@pytest.mark.parametrize("family,reason,change", CASES, ids=[c[1] + "-" + c[0] for c in CASES])
def test_each_rule_writes_its_reason(family, reason, change):
    out = _decide([CLEAN | change])
    assert out["keep"].to_list() == [False]
    assert out["drop_reason"].to_list() == [reason]
    assert out["drop_family"].to_list() == [family]
    assert reason in REASONS or re.sub(r"_\d+_", "_{n}_", reason) in REASONS  # documented


def test_all_rules_in_one_pass_first_failure_wins():
    # fails language, repetition and quality at once: the language rule comes first
    row = CLEAN | {"lang_detected": "ru", "gopher_dup_line_frac": 0.9, "gopher_n_words": 3}
    assert _decide([row])["drop_reason"].to_list() == ["lang_not_allowed"]
    # repetition is checked before quality, quality before C4, C4 before FineWeb
    row = CLEAN | {"gopher_dup_line_frac": 0.9, "gopher_n_words": 3, "c4_sentences": 0, "fineweb_lines": 0}
    assert _decide([row])["drop_reason"].to_list() == ["dup_line_frac"]
    row = CLEAN | {"gopher_n_words": 3, "c4_sentences": 0, "fineweb_lines": 0}
    assert _decide([row])["drop_reason"].to_list() == ["gopher_short_doc"]
    row = CLEAN | {"c4_sentences": 0, "fineweb_line_punct_ratio": 0.0}
    assert _decide([row])["drop_reason"].to_list() == ["c4_too_few_sentences"]
    # many rows, many reasons, one plan
    rows = [CLEAN | change for _, _, change in CASES]
    out = _decide(rows)
    assert out["drop_reason"].to_list() == [reason for _, reason, _ in CASES]


def test_every_language_gets_every_family_with_its_own_thresholds():
    # a Chinese document is judged by Gopher quality, C4 and FineWeb too (it used to face repetition alone)
    zh = CLEAN | {"lang_detected": "zh"}
    assert _decide([zh | {"gopher_stop_words": 0}])["drop_reason"].to_list() == ["gopher_enough_stop_words"]
    assert _decide([zh | {"c4_sentences": 0}])["drop_reason"].to_list() == ["c4_too_few_sentences"]
    # ... on FineWeb-2's thresholds for Chinese: mean word length 1..5, not English's 3..10
    short_words = CLEAN | {"gopher_mean_word_length": 1.6}
    assert _decide([short_words])["drop_reason"].to_list() == ["gopher_below_avg_threshold"]
    assert _decide([short_words | {"lang_detected": "zh"}])["keep"].to_list() == [True]
    # FineWeb-2 turns the duplicated-paragraph rules off, and sets its own n-gram limits
    dup_para = {"gopher_dup_para_frac": 0.5, "gopher_top_2_gram_frac": 0.23}
    assert _decide([CLEAN | dup_para])["drop_reason"].to_list() == ["dup_para_frac"]
    assert _decide([zh | dup_para])["keep"].to_list() == [True]
    # a recipe's row wins; {} judges every language on the defaults, as datatrove's English filters
    own = _recipe(language_thresholds={"zh": {"gopher_quality": {"min_avg_word_length": 2}}})
    assert _decide([short_words | {"lang_detected": "zh"}], own)["drop_reason"].to_list() == [
        "gopher_below_avg_threshold"
    ]
    defaults = _recipe(language_thresholds={})
    assert _decide([zh | dup_para], defaults)["drop_reason"].to_list() == ["dup_para_frac"]


def test_a_language_without_thresholds_falls_back_to_the_defaults_and_says_so():
    from winnow.filters import threshold_sources

    recipe = _recipe(language={"allowed": ["en", "zh", "eo"]})
    rows = [CLEAN | {"doc_id": "e", "lang_detected": "eo", "gopher_mean_word_length": 1.6}]
    rows += [CLEAN | {"doc_id": "z", "lang_detected": "zh"}, CLEAN | {"doc_id": "n"}]
    rows += [CLEAN | {"doc_id": "r", "lang_detected": "ru"}]  # not allowed: the language rule judged it
    decided = apply_filters(pl.LazyFrame(rows), recipe)
    # Esperanto has no row: the English defaults judge it (a 1.6-character mean word is too short)
    assert decided.collect()["drop_reason"].to_list()[0] == "gopher_below_avg_threshold"
    table = threshold_sources(decided, recipe)
    by = {r["lang_detected"]: r for r in table.iter_rows(named=True)}
    assert set(by) == {"eo", "zh", "en"}
    assert by["eo"]["fallback"] and by["eo"]["thresholds"].startswith("defaults (fallback")
    assert by["zh"]["thresholds"] == "FineWeb-2 configs/cmn_Hani.yml" and not by["zh"]["fallback"]
    assert by["en"]["thresholds"].startswith("defaults (datatrove") and not by["en"]["fallback"]


def test_a_bad_per_language_threshold_names_the_language_and_the_field():
    with pytest.raises(ValueError, match=r"language_thresholds\.zh: .*min_doc_words"):
        _recipe(language_thresholds={"zh": {"gopher_quality": {"min_doc_words": "many"}}})
    with pytest.raises(ValueError, match=r"language_thresholds\.zh: .*no_such_rule"):
        _recipe(language_thresholds={"zh": {"fineweb": {"no_such_rule": 1}}})


def test_thresholds_come_from_the_recipe():
    strict = _recipe(gopher_quality={"min_doc_words": 500}, fineweb={"enabled": False})
    assert _decide([CLEAN], strict)["drop_reason"].to_list() == ["gopher_short_doc"]
    # 0 disables a rule, like datatrove's falsy thresholds; disabled families add no rules
    lax = _recipe(gopher_quality={"min_stop_words": 0}, c4={"enabled": False})
    assert _decide([CLEAN | {"gopher_stop_words": 0, "c4_sentences": 0}], lax)["keep"].to_list() == [True]
    reasons = {r.reason for r in build_rules(lax)}
    assert "gopher_enough_stop_words" not in reasons and not reasons & {"c4_too_few_sentences", "c4_curly_bracket"}
    # the optional C4 removed-line rule (off by default)
    assert "c4_no_terminal_punct" not in {r.reason for r in build_rules(RECIPE)}
    on = _recipe(c4={"max_removed_line_frac": 0.5})
    assert _decide([CLEAN | {"c4_removed_line_frac": 0.6}], on)["drop_reason"].to_list() == ["c4_no_terminal_punct"]
    # FineWeb's line_punct_exclude_zero keeps documents with no punctuated line at all
    ex = _recipe(fineweb={"line_punct_exclude_zero": True})
    assert _decide([CLEAN | {"fineweb_line_punct_ratio": 0.0}], ex)["keep"].to_list() == [True]


def test_null_signal_never_drops():
    assert _decide([CLEAN | {"gopher_stop_words": None}])["keep"].to_list() == [True]


def test_every_rule_reads_an_existing_signal_column():
    names = set(signal_schema(RECIPE.filters))
    everything = _recipe(c4={"max_removed_line_frac": 0.5}, language={"enabled": False})
    for rule in build_rules(everything):
        assert set(rule.keep.meta.root_names()) <= names, rule.reason


def test_funnel_counts_documents_and_characters_per_reason():
    rows = [CLEAN | {"doc_id": f"k{i}", "n_chars": 100} for i in range(3)]
    rows += [CLEAN | {"doc_id": "a", "n_chars": 10, "gopher_n_words": 1}]
    rows += [CLEAN | {"doc_id": f"b{i}", "n_chars": 7, "lang_detected": "ru"} for i in range(2)]
    table = funnel(apply_filters(pl.LazyFrame(rows), RECIPE))
    assert table.columns == ["drop_family", "drop_reason", "documents", "characters", "doc_share", "char_share"]
    assert table.rows() == [
        ("language", "lang_not_allowed", 2, 14, 2 / 6, 14 / 324),
        ("gopher_quality", "gopher_short_doc", 1, 10, 1 / 6, 10 / 324),
        ("(kept)", "(kept)", 3, 300, 3 / 6, 300 / 324),
    ]
