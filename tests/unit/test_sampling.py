"""Sampling: exact per-stratum fractions, determinism, rejected slice, budget, active rows, overlap."""

from __future__ import annotations

import math

import polars as pl
import pytest

from schemas.recipe import Recipe
from winnow.annotation.sampling import bucket_labels, largest_remainder, select_sample, stratum_sizes
from winnow.ids import hash_seed_fraction


def _recipe(**sampling) -> Recipe:
    base = {
        "fraction": 0.02,
        "rejected_fraction": 0.01,
        "overlap_fraction": 0.2,
        "nightly_budget": 100_000,
        "active_learning_share": 0.0,
    }
    base.update(sampling)
    return Recipe.model_validate(
        {
            "name": "t",
            "version": 1,
            "seed": 11,
            "sources": [{"name": "s", "path": "x", "format": "jsonl"}],
            "sampling": base,
        }
    )


def _scored(sizes: dict[tuple[str, str | None, float, str], int]) -> pl.LazyFrame:
    rows = []
    for (source, lang, score, status), n in sizes.items():
        for i in range(n):
            rows.append(
                {
                    "doc_id": f"{source}:{lang}:{score}:{status}:{i}",
                    "source": source,
                    "lang": lang,
                    "lang_detected": lang,
                    "quality_score": score,
                    "status": status,
                    "text": f"original {i}",
                    "text_redacted": f"redacted {i}",
                    "partition": "2026-11-24",
                    "drop_reason": None if status == "kept" else "gopher_short_doc",
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None).lazy()


SIZES = {
    ("web", "en", 0.9, "kept"): 1000,  # 0.02 * 1000 = 20
    ("web", "de", 0.9, "kept"): 37,  # 0.74 -> round half up -> 1
    ("docs", "en", 0.3, "kept"): 125,  # 2.5 -> 3 (half up)
    ("docs", None, 0.6, "kept"): 3,  # 0.06 -> at least one
    ("web", "en", 0.1, "rejected"): 450,  # 0.01 * 450 = 4.5 -> 5
}


def test_exact_fraction_per_stratum_with_round_half_up_and_at_least_one():
    sample = select_sample(_scored(SIZES), _recipe()).collect()
    got = dict(sample.group_by("stratum").agg(pl.len()).iter_rows())
    assert got == {
        "kept:web:en:q0.75-1.00": 20,
        "kept:web:de:q0.75-1.00": 1,
        "kept:docs:en:q0.25-0.50": 3,
        "kept:docs:und:q0.50-0.75": 1,
        "rejected:web:en:q0.00-0.25": 5,
    }
    probs = dict(sample.group_by("stratum").agg(pl.col("inclusion_prob").first()).iter_rows())
    assert probs["kept:web:en:q0.75-1.00"] == pytest.approx(20 / 1000)
    assert probs["kept:web:de:q0.75-1.00"] == pytest.approx(1 / 37)
    assert probs["rejected:web:en:q0.00-0.25"] == pytest.approx(5 / 450)
    # the rejected slice is its own kind; text is the redacted text
    assert set(sample.filter(pl.col("stratum").str.starts_with("rejected"))["sample_kind"]) == {"rejected"}
    assert sample["text"].str.starts_with("redacted").all()


def test_horvitz_thompson_counts_recover_each_population_exactly():
    sample = select_sample(_scored(SIZES), _recipe()).collect()
    ht = sample.group_by("sample_kind").agg((1 / pl.col("inclusion_prob")).sum()).sort("sample_kind")
    assert dict(ht.iter_rows()) == pytest.approx({"random": 1000 + 37 + 125 + 3, "rejected": 450})


def test_deterministic_and_independent_of_row_order_and_seed_sensitive():
    lf = _scored(SIZES)
    a = select_sample(lf, _recipe()).collect()
    b = select_sample(lf.collect().sample(fraction=1.0, shuffle=True, seed=3).lazy(), _recipe()).collect()
    assert a["doc_id"].to_list() == b["doc_id"].to_list()
    other = _recipe().model_copy(update={"seed": 12})
    c = select_sample(lf, other).collect()
    assert set(c["doc_id"]) != set(a["doc_id"])


def test_score_buckets_cut_points_go_up_and_null_language_falls_back():
    assert bucket_labels([0.25, 0.5, 0.75]) == ["q0.00-0.25", "q0.25-0.50", "q0.50-0.75", "q0.75-1.00"]
    lf = pl.DataFrame(
        {
            "doc_id": ["a", "b", "c"],
            "source": ["s"] * 3,
            "lang": ["fr", None, None],
            "lang_detected": [None, None, "it"],
            "quality_score": [0.25, 0.5, 0.0],
            "status": ["kept"] * 3,
            "text": ["x"] * 3,
        }
    ).lazy()
    s = select_sample(lf, _recipe(fraction=1.0, overlap_fraction=0)).collect().sort("doc_id")
    assert s["stratum"].to_list() == ["kept:s:fr:q0.25-0.50", "kept:s:und:q0.50-0.75", "kept:s:it:q0.00-0.25"]


def test_budget_cap_scales_inclusion_probabilities_and_active_share():
    budget, share = 20, 0.1
    sample = select_sample(_scored(SIZES), _recipe(nightly_budget=budget, active_learning_share=share)).collect()
    assert sample.height == budget
    active = sample.filter(pl.col("sample_kind") == "active")
    assert active.height == math.floor(share * budget + 0.5) == 2
    assert (active["inclusion_prob"] == 1.0).all()
    design = sample.filter(pl.col("sample_kind") != "active")
    assert design["budget_bound"].all()
    # within each stratum, rows == inclusion_prob * N: the probabilities describe what was drawn
    per = design.group_by("stratum").agg(
        n=pl.len(), p=pl.col("inclusion_prob").first(), N=pl.col("stratum_size").first()
    )
    for n, p, N in per.select("n", "p", "N").iter_rows():
        assert n == round(p * N)
    # scaled-down design sample is a subset of the uncapped one (same hashes, fewer per stratum)
    full = select_sample(_scored(SIZES), _recipe()).collect()
    assert set(design["doc_id"]) <= set(full["doc_id"])
    assert not set(active["doc_id"]) & set(design["doc_id"])


def test_active_rows_are_the_most_uncertain_and_kept_apart():
    rows = [
        {"doc_id": f"d{i}", "source": "s", "lang": "en", "quality_score": i / 100, "status": "kept", "text": "t"}
        for i in range(101)
    ]
    s = select_sample(pl.DataFrame(rows).lazy(), _recipe(fraction=0.05, active_learning_share=0.5)).collect()
    active = s.filter(pl.col("sample_kind") == "active")
    design = s.filter(pl.col("sample_kind") == "random")
    assert active.height == design.height  # share 0.5 of what is sent
    dist = (active["quality_score"] - 0.5).abs()
    rest = (pl.DataFrame(rows).filter(~pl.col("doc_id").is_in(s["doc_id"].implode()))["quality_score"] - 0.5).abs()
    assert dist.max() <= rest.min()


def test_overlap_is_the_configured_share_of_sent_rows():
    s = select_sample(_scored(SIZES), _recipe(overlap_fraction=0.25)).collect()
    assert s["overlap"].sum() == math.floor(0.25 * s.height + 0.5)


def test_helpers():
    assert stratum_sizes(0, 0.5) == 0 and stratum_sizes(10, 0) == 0
    assert stratum_sizes(50, 0.01) == 1 and stratum_sizes(150, 0.01) == 2 and stratum_sizes(3, 1.0) == 3
    assert largest_remainder({"a": 5, "b": 3, "c": 2}, 5) == {"a": 3, "b": 1, "c": 1}
    assert largest_remainder({"a": 1}, 5) == {"a": 1}


def test_a_rerun_with_new_scores_keeps_the_nights_design_and_refreshes_the_scores():
    recipe = _recipe(active_learning_share=0.1)
    first = select_sample(_scored(SIZES), recipe).collect()
    rescored = _scored(SIZES).with_columns(quality_score=hash_seed_fraction(pl.col("doc_id"), 5))  # a new model
    fresh = select_sample(rescored, recipe).collect()
    assert set(fresh["doc_id"]) != set(first["doc_id"])  # drawn from scratch, the strata would move

    again = select_sample(rescored, recipe, previous=first).collect()
    design = ["doc_id", "stratum", "inclusion_prob", "sample_kind", "overlap", "stratum_size", "design_key"]
    assert again.select(design).sort("doc_id").equals(first.select(design).sort("doc_id"))
    scores = dict(rescored.select("doc_id", "quality_score").collect().iter_rows())
    assert all(again["quality_score"][i] == pytest.approx(scores[d]) for i, d in enumerate(again["doc_id"]))


def test_a_changed_night_or_config_draws_anew():
    recipe = _recipe()
    first = select_sample(_scored(SIZES), recipe).collect()
    grown = select_sample(_scored({**SIZES, ("web", "fr", 0.9, "kept"): 60}), recipe, previous=first).collect()
    assert grown["design_key"][0] != first["design_key"][0]
    assert grown.filter(pl.col("stratum") == "kept:web:fr:q0.75-1.00").height == 1
    other = select_sample(_scored(SIZES), _recipe(fraction=0.05), previous=first).collect()
    assert other.height > first.height and other["design_key"][0] != first["design_key"][0]
    # a sample stored before design keys existed is drawn anew, not trusted
    legacy = select_sample(_scored(SIZES), recipe, previous=first.drop("design_key")).collect()
    assert legacy.equals(first)


# ----------------------------------------------------------------------------- the audit's findings (#13)
def _many_strata() -> pl.LazyFrame:
    """12 languages x 4 score buckets x 2 sources of kept documents: 96 strata."""
    sizes = {}
    for lang in ["en", "de", "fr", "es", "it", "pt", "ja", "zh", "ko", "ru", "nl", "pl"]:
        for score in (0.1, 0.4, 0.6, 0.9):
            for source in ("web", "docs"):
                sizes[(source, lang, score, "kept")] = 40 if lang != "en" else 4000
    return _scored(sizes)


def test_a_budget_smaller_than_the_strata_collapses_them_and_drops_none():
    scored = _many_strata()
    n_docs = scored.select(pl.len()).collect().item()
    for budget in (60, 20, 5, 1):
        sample = select_sample(scored, _recipe(nightly_budget=budget)).collect()
        assert sample.height == budget
        # every document of the night is in some sampled stratum: a positive inclusion probability
        per = sample.group_by("stratum").agg(N=pl.col("stratum_size").first(), p=pl.col("inclusion_prob").first())
        assert per["N"].sum() == n_docs, budget
        assert (per["p"] > 0).all()
        for n, p, N in (
            sample.group_by("stratum")
            .agg(n=pl.len(), p=pl.col("inclusion_prob").first(), N=pl.col("stratum_size").first())
            .select("n", "p", "N")
            .iter_rows()
        ):
            assert n == round(p * N)
        assert sample["stratum_rule"][0].startswith("collapsed"), sample["stratum_rule"][0]
    # 60 places for 96 strata: the score buckets merge in pairs first
    rule = select_sample(scored, _recipe(nightly_budget=60)).collect()["stratum_rule"][0]
    assert rule.startswith("collapsed: score buckets merged by 2")


def test_a_capped_budget_keeps_at_least_one_document_per_stratum():
    """One huge stratum and many small ones: proportional scaling alone would zero the small ones."""
    sizes = {("web", "en", 0.9, "kept"): 50_000} | {("web", f"l{i}", 0.9, "kept"): 60 for i in range(9)}
    sample = select_sample(_scored(sizes), _recipe(nightly_budget=20)).collect()
    assert sample["stratum"].n_unique() == 10 and sample["stratum_rule"][0] == "full strata"
    assert sample.filter(pl.col("sample_lang") == "en").height == 11


def test_push_order_is_a_hash_not_the_stratum_order():
    sample = select_sample(_scored(SIZES), _recipe()).collect()
    assert sample["push_rank"].is_sorted()
    # the first half pushed holds documents of several strata, not the alphabetically first ones
    first = sample.head(sample.height // 2)
    assert first["stratum"].n_unique() >= 3
    assert sample["stratum"].to_list() != sorted(sample["stratum"].to_list())


def test_holdout_marks_about_its_share_of_the_design_sample_only():
    sample = select_sample(_scored(SIZES), _recipe(active_learning_share=0.2)).collect()
    random = sample.filter(pl.col("sample_kind") == "random")
    assert 0.25 < random["holdout"].mean() < 0.75
    assert not sample.filter(pl.col("sample_kind") != "random")["holdout"].any()


def test_an_annotator_sees_at_most_max_task_chars_and_is_told_so():
    """A 50 MB document was once pushed as a task (#14, item 15)."""
    rows = [
        {"doc_id": "big", "source": "s", "lang": "en", "quality_score": 0.9, "status": "kept", "text": "w " * 60_000}
    ]
    rows += [{"doc_id": "small", "source": "s", "lang": "en", "quality_score": 0.9, "status": "kept", "text": "short"}]
    r = _recipe(fraction=1.0)
    sample = select_sample(pl.DataFrame(rows).lazy(), r).collect().sort("doc_id")
    big, small = sample.row(0, named=True), sample.row(1, named=True)
    cap = r.annotation.max_task_chars
    assert big["text_truncated"] and big["text"].startswith("w w") and len(big["text"]) < cap + 100
    assert "cut for annotation at 20,000 characters" in big["text"]
    assert not small["text_truncated"] and small["text"] == "short"
