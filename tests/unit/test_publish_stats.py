"""Funnel, dedup and language statistics: every document counted once, at its first stage."""

from __future__ import annotations

import polars as pl

from winnow.publish.stats import (
    count_removed,
    dedup_stats,
    funnel_table,
    language_mix,
    removed_documents,
)
from winnow.tokens import count_tokens


def _night():
    scored = pl.LazyFrame(
        {
            "doc_id": ["a", "b", "c", "d", "e", "f", "g"],
            "text": ["one two", "three four five", "six", "seven eight", "nine", "ten eleven twelve", "x"],
            "lang": ["en", "de", None, "en", "zh", "en", "en"],
            "lang_detected": [None, "de", "fr", "en", None, "en", "en"],
        }
    )
    rejected = scored.filter(pl.col("doc_id").is_in(["b", "c"])).with_columns(
        drop_reason=pl.Series(["gopher_short_doc", "c4_no_terminal_punct"]),
        drop_family=pl.Series(["gopher_quality", "c4"]),
    )
    # "c" is listed as a duplicate too (it must count once, as a filter drop); "a" is curated
    duplicates = scored.filter(pl.col("doc_id").is_in(["c", "d", "e"])).with_columns(
        dup_kind=pl.Series(["exact", "exact", "minhash"]), dup_of=pl.Series(["a", "a", "f"])
    )
    curated = scored.filter(pl.col("doc_id").is_in(["a", "f"]))
    return scored, rejected, duplicates, curated


def test_each_removed_document_gets_one_stage_and_reason():
    scored, rejected, duplicates, curated = _night()
    removed = removed_documents(curated.select("doc_id"), scored, rejected, duplicates).collect().sort("doc_id")
    assert removed.select("doc_id", "stage", "reason").rows() == [
        ("b", "filter", "gopher_short_doc"),
        ("c", "filter", "c4_no_terminal_punct"),
        ("d", "dedup", "duplicate_exact"),
        ("e", "dedup", "duplicate_minhash"),
        ("g", "other", "not_curated"),  # scored, neither rejected nor a duplicate, yet not curated
    ]
    assert removed["lang_key"].to_list() == ["de", "fr", "en", "zh", "en"]  # detected, else given


def test_documents_the_quality_model_dropped_are_named_as_such():
    scored, rejected, duplicates, _ = _night()
    scored = scored.with_columns(model_keep=pl.Series([True, True, True, True, True, True, False]))
    curated = scored.filter(pl.col("doc_id").is_in(["a"]))  # "f" left out without a model decision
    removed = removed_documents(curated.select("doc_id"), scored, rejected, duplicates).collect()
    other = removed.filter(pl.col("stage") == "other").sort("doc_id")
    assert other.select("doc_id", "family", "reason").rows() == [
        ("f", "other", "not_curated"),
        ("g", "quality_model", "model_below_threshold"),
    ]


def test_funnel_adds_up_to_raw_with_real_token_counts():
    scored, rejected, duplicates, curated = _night()
    counts = count_removed(removed_documents(curated.select("doc_id"), scored, rejected, duplicates))
    cur_tokens = sum(count_tokens(curated.collect()["text"].to_list()))
    f = funnel_table(counts, 2, cur_tokens)
    all_tokens = sum(count_tokens(scored.collect()["text"].to_list()))
    assert f.row(0, named=True)["documents"] == 7 and f.row(0, named=True)["tokens"] == all_tokens
    assert f.row(-1, named=True)["step"].startswith("= curated") and f.row(-1, named=True)["tokens"] == cur_tokens
    removed = f.filter(pl.col("kind") == "removed")
    assert removed["documents"].sum() == 5 and removed["tokens"].sum() == all_tokens - cur_tokens
    assert removed["stage"].to_list() == ["filter", "filter", "dedup", "dedup", "other"]
    after_filters = f.filter(pl.col("step") == "= after filters").row(0, named=True)
    assert after_filters["documents"] == 5
    assert f["share_of_raw_tokens"][0] == 1.0
    # the last stage's subtotal would repeat the release line, so there is none
    assert "= after scoring" not in f["step"].to_list()


def test_language_mix_and_dedup_stats():
    scored, rejected, duplicates, curated = _night()
    counts = count_removed(removed_documents(curated.select("doc_id"), scored, rejected, duplicates))
    cur = curated.collect().with_columns(n_tokens=pl.Series(count_tokens(curated.collect()["text"].to_list())))
    from winnow.publish.stats import curated_by_lang

    mix = language_mix(counts, curated_by_lang(cur.lazy()))
    en = mix.filter(pl.col("lang") == "en").row(0, named=True)
    assert (en["raw_documents"], en["curated_documents"]) == (4, 2)  # a, d, f, g
    assert mix["share_of_curated_tokens"].sum() == 1.0
    assert set(mix["lang"]) == {"en", "de", "fr", "zh"}
    d = dedup_stats(duplicates, counts).sort("dup_kind")
    assert d.select("dup_kind", "documents", "clusters", "largest_cluster").rows() == [
        ("exact", 2, 1, 3),  # c and d duplicate a: a cluster of three
        ("minhash", 1, 1, 2),
    ]
    # tokens removed count only documents removed at the dedup stage (c was dropped by a filter)
    assert d.filter(pl.col("dup_kind") == "exact")["tokens_removed"].item() == count_tokens(["seven eight"])[0]
    assert dedup_stats(None, counts) is None


def test_cold_start_with_only_curated():
    scored, *_ = _night()
    removed = removed_documents(scored.select("doc_id")).collect()
    assert removed.height == 0
    f = funnel_table(count_removed(removed.lazy()), 7, 20)
    assert f.select("step", "documents").rows() == [
        ("raw (all records of the night)", 7),
        ("= curated (this release)", 7),
    ]


def test_carried_token_counts_are_read_and_only_uncounted_texts_are_tokenized():
    """Tables from ``document_signals`` carry n_tokens and n_chars: the funnel reads them and never
    tokenizes again (#17); a table without them (an older night) is still counted from its text."""
    scored, rejected, duplicates, curated = _night()
    marked = rejected.with_columns(n_tokens=pl.lit(1000, pl.Int64), n_chars=pl.lit(7, pl.Int64))
    removed = removed_documents(curated.select("doc_id"), scored, marked, duplicates)
    rows = removed.collect()
    assert rows.filter(pl.col("stage") == "filter")["text"].null_count() == 2  # the text is not even read
    counts = count_removed(removed)
    by_stage = counts.group_by("stage").agg(pl.col("tokens").sum(), pl.col("characters").sum())
    tokens = dict(by_stage.select("stage", "tokens").iter_rows())
    assert tokens["filter"] == 2000  # the carried figure, not the 4 BPE tokens of "three four five", "six"
    assert tokens["dedup"] == sum(count_tokens(["seven eight", "nine"]))  # counted from the text
    assert dict(by_stage.select("stage", "characters").iter_rows())["filter"] == 14
