"""Estimates from labels: known answers by hand, which labels enter, populations, and bad input."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from winnow.model.estimates import (
    design_units,
    estimate_table,
    night_documents,
    ratio_estimate,
    wilson_interval,
)
from winnow.model.train import aggregate_labels


def _ann(rows):
    """rows: (doc_id, decision, stratum, inclusion_prob, sample_kind[, rating])"""
    return pl.DataFrame(
        [
            {
                "doc_id": r[0],
                "annotator": "a",
                "decision": r[1],
                "stratum": r[2],
                "inclusion_prob": r[3],
                "sample_kind": r[4],
                "rating": r[5] if len(r) > 5 else None,
                "partition": "2026-11-24",
            }
            for r in rows
        ],
        schema={
            "doc_id": pl.String,
            "annotator": pl.String,
            "decision": pl.String,
            "stratum": pl.String,
            "inclusion_prob": pl.Float64,
            "sample_kind": pl.String,
            "rating": pl.Int64,
            "partition": pl.String,
        },
    )


def _night():
    """Stratum kept:A has 100 documents, kept:B 300, rejected:C 50 (family gopher_quality)."""
    docs = []
    for i in range(100):
        docs.append({"doc_id": f"a{i}", "status": "kept", "drop_family": None})
    for i in range(300):
        docs.append({"doc_id": f"b{i}", "status": "kept", "drop_family": None})
    for i in range(50):
        docs.append({"doc_id": f"c{i}", "status": "rejected", "drop_family": "gopher_quality"})
    scored = pl.DataFrame(
        docs, schema={"doc_id": pl.String, "status": pl.String, "drop_family": pl.String}
    ).with_columns(text=pl.lit("word " * 10), model_keep=pl.lit(None, dtype=pl.Boolean))
    sample = pl.DataFrame(
        {
            "doc_id": ["a0", "a1", "b0", "b1", "b2", "c0", "c1"],
            "stratum": ["kept:A"] * 2 + ["kept:B"] * 3 + ["rejected:C"] * 2,
            "stratum_size": [100] * 2 + [300] * 3 + [50] * 2,
            "sample_kind": ["random"] * 5 + ["rejected"] * 2,
        }
    )
    ann = _ann(
        [
            ("a0", "keep", "kept:A", 0.02, "random", 5),
            ("a1", "drop", "kept:A", 0.02, "random", 1),
            ("b0", "keep", "kept:B", 0.01, "random", 4),
            ("b1", "keep", "kept:B", 0.01, "random", 4),
            ("b2", "drop", "kept:B", 0.01, "random", 2),
            ("c0", "keep", "rejected:C", 0.04, "rejected", 3),
            ("c1", "drop", "rejected:C", 0.04, "rejected", 1),
            # uncertainty-chosen: trains the model, never enters estimates
            ("a50", "drop", "kept:A", 1.0, "active", 1),
            ("b50", "drop", "kept:B", 1.0, "active", 1),
        ]
    )
    return scored, sample, ann


def _table(curated_ids=None):
    scored, sample, ann = _night()
    labels, problems = aggregate_labels(ann)
    assert problems == []
    cur = pl.DataFrame({"doc_id": curated_ids}).lazy() if curated_ids is not None else None
    docs, sizes = night_documents(scored.lazy(), cur, labels["doc_id"].to_list())
    units, problems, info = design_units(labels, docs, sample)
    return estimate_table(units, sizes), units, problems, info


def _row(table, population, metric="keep_share"):
    rows = table.filter((pl.col("population") == population) & (pl.col("metric") == metric))
    assert rows.height == 1, (population, metric, table)
    return rows.row(0, named=True)


def test_stratified_estimate_matches_the_hand_computation():
    table, units, _, _ = _table()
    # kept: (100 * 1/2 + 300 * 2/3) / 400 = 250 / 400
    assert _row(table, "kept")["estimate"] == pytest.approx(0.625)
    # raw adds the rejected stratum: (50 + 200 + 50 * 1/2) / 450
    assert _row(table, "raw")["estimate"] == pytest.approx(275 / 450)
    assert _row(table, "rejected")["estimate"] == pytest.approx(0.5)
    assert _row(table, "rejected:gopher_quality", "false_drop_rate")["estimate"] == pytest.approx(0.5)
    # mean rating, weighted the same way: (100 * 3 + 300 * 10/3) / 400
    assert _row(table, "kept", "mean_rating")["estimate"] == pytest.approx((300 + 1000) / 400)
    for row in table.iter_rows(named=True):
        if row["metric"] != "mean_rating":
            assert 0 <= row["lower"] <= row["estimate"] <= row["upper"] <= 1
    assert _row(table, "raw")["n_labels"] == 7 and _row(table, "raw")["population_size"] == 450
    assert sorted(units["doc_id"]) == ["a0", "a1", "b0", "b1", "b2", "c0", "c1"]  # active labels left out


def test_curated_is_a_domain_of_the_kept_strata():
    table, *_ = _table(curated_ids=["a0", "b0", "b1"] + [f"b{i}" for i in range(10, 200)])
    cur = _row(table, "curated")
    assert cur["estimate"] == pytest.approx(1.0) and cur["n_labels"] == 3
    assert cur["upper"] == 1.0 and cur["lower"] < 1.0  # Wilson: an honest interval even at 100%
    assert cur["population_size"] == 193


def test_token_share_weighs_documents_by_length():
    scored, sample, ann = _night()
    labels, _ = aggregate_labels(ann)
    docs, sizes = night_documents(scored.lazy(), None, labels["doc_id"].to_list())
    # the kept documents' length decides: a0 long, a1 short
    docs = docs.with_columns(n_tokens=pl.when(pl.col("doc_id") == "a0").then(900.0).otherwise(100.0))
    units, _, _ = design_units(labels, docs, sample)
    t = estimate_table(units, sizes)
    tok = _row(t, "kept", "token_keep_share")["estimate"]
    # A: 100/2 * (900 keep + 100 drop); B: 300/3 * (100+100 keep, 100 drop)
    assert tok == pytest.approx((50 * 900 + 100 * 200) / (50 * 1000 + 100 * 300))


def test_without_the_sample_table_stratum_sizes_come_from_inclusion_probabilities():
    scored, _, ann = _night()
    labels, _ = aggregate_labels(ann)
    docs, sizes = night_documents(scored.lazy(), None, labels["doc_id"].to_list())
    units, problems, _ = design_units(labels, docs, None)
    assert any("no annotation_sample" in p for p in problems)
    # N_h = m_h / p: A = 2 / 0.02 = 100, B = 3 / 0.01 = 300: the same answer
    assert _row(estimate_table(units, sizes), "kept")["estimate"] == pytest.approx(0.625)


def test_unusable_labels_are_reported_never_silently_dropped():
    scored, sample, ann = _night()
    extra = _ann(
        [
            ("a2", "keep", None, 0.02, "random"),
            ("zz", "keep", "kept:A", 0.02, "random"),
            ("a3", "maybe", "kept:A", 0.02, "random"),
        ]
    )
    labels, problems = aggregate_labels(pl.concat([ann, extra]))
    assert any("'maybe'" in p and "a3" in p for p in problems)
    docs, sizes = night_documents(scored.lazy(), None, labels["doc_id"].to_list())
    units, problems, _ = design_units(labels, docs, sample)
    assert any("a2" in p and "stratum" in p for p in problems)
    assert any("1 labels are of documents not in tonight's annotation_sample" in p for p in problems)
    assert units.height == 7


def test_multiple_annotators_average_into_the_keep_share():
    ann = _ann(
        [
            ("d", "keep", "kept:A", 0.5, "random", 4),
            ("d", "drop", "kept:A", 0.5, "random", 2),
            ("e", "keep", "kept:A", 0.5, "random", 2),
            ("e", "drop", "kept:A", 0.5, "random", 2),
        ]
    )
    labels, _ = aggregate_labels(ann)
    d, e = labels.sort("doc_id").iter_rows(named=True)
    assert d["y"] == 0.5 and d["n_annotators"] == 2
    assert d["y_keep"] is True and e["y_keep"] is False  # a tie goes to the mean rating (>= 3 keeps)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0.5, 100, 1.959964)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    lo, hi = wilson_interval(0.0, 10, 1.959964)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)


def test_singleton_strata_still_get_an_interval():
    y = np.array([1.0, 0.0, 1.0])
    e = ratio_estimate(y, np.ones(3), np.ones(3), np.array([0, 1, 2]), np.array([10.0, 20.0, 30.0]))
    assert e.estimate == pytest.approx((10 + 30) / 60)
    assert 0 < e.lower < e.estimate < e.upper < 1 and e.se > 0


def test_empty_domain_gives_no_estimate():
    e = ratio_estimate(np.ones(2), np.ones(2), np.zeros(2), np.array([0, 0]), np.array([5.0, 5.0]))
    assert e.estimate is None and e.n_labels == 0
    assert estimate_table(pl.DataFrame()).height == 0


def test_labels_from_an_earlier_draw_of_the_sample_use_their_own_inclusion_probabilities():
    """A night re-scored after labelling is re-sampled with other strata: the labels' design still holds."""
    scored, sample, ann = _night()
    labels, _ = aggregate_labels(ann)
    docs, sizes = night_documents(scored.lazy(), None, labels["doc_id"].to_list())
    redrawn = sample.with_columns(stratum=pl.col("stratum") + ":new")
    units, _, info = design_units(labels, docs, redrawn)
    assert info["strata_sampled"] == 3
    assert _row(estimate_table(units, sizes), "kept")["estimate"] == pytest.approx(0.625)


# ----------------------------------------------------------------------------- the audit's bugs (#13)
def test_agreeing_labels_in_differing_strata_never_give_a_zero_width_interval():
    """Labels agree within each stratum but strata differ: the variance is not 1e-30."""
    st = np.repeat(np.arange(3), 20)
    y = np.repeat([1.0, 1.0, 0.0], 20)
    e = ratio_estimate(y, np.ones(60), np.ones(60), st, np.repeat([900.0, 700.0, 60.0], 20))
    assert e.upper - e.lower > 0.02
    assert e.lower <= e.estimate <= e.upper


def test_no_cliff_in_width_between_29_and_30_labels():
    """The audit's case: strata that each agree; one more label must not shrink the width 80-fold."""
    widths = []
    for n in (29, 30, 31):
        st = np.arange(n) % 3
        y = (st != 2).astype(float)
        e = ratio_estimate(y, np.ones(n), np.ones(n), st, np.array([900.0, 700.0, 60.0])[st])
        widths.append(e.upper - e.lower)
    assert min(widths) > 0.03 and max(widths) / min(widths) < 1.2, widths


def test_without_the_sample_stratum_sizes_come_from_the_labels_stratum_size():
    """Two equal strata, one labelled 10/10 good, the other 2/10 all bad: 0.5, not 0.833."""
    rows = [(f"a{i}", "keep", "kept:A", 0.1, "random") for i in range(10)]
    rows += [(f"b{i}", "drop", "kept:B", 0.1, "random") for i in range(2)]
    ann = _ann(rows).with_columns(stratum_size=pl.lit(100, dtype=pl.Int64))
    labels, _ = aggregate_labels(ann)
    scored = pl.DataFrame({"doc_id": [r[0] for r in rows], "status": ["kept"] * 12, "text": ["w " * 9] * 12})
    docs, sizes = night_documents(scored.lazy(), None, labels["doc_id"].to_list())
    units, _, _ = design_units(labels, docs, None)
    assert _row(estimate_table(units, sizes), "kept")["estimate"] == pytest.approx(0.5)


def test_unlabelled_strata_are_bounded_not_imputed():
    """A sampled stratum without labels widens the interval to cover all-good and all-bad."""
    st = np.repeat([0, 1], 10)
    y = np.r_[np.ones(10), np.full(10, np.nan)]
    e = ratio_estimate(y, np.ones(20), np.ones(20), st, np.full(20, 100.0))
    assert e.estimate == pytest.approx(1.0)  # the labelled stratum's own share
    assert e.lower < 0.5 and e.upper == pytest.approx(1.0)
    assert e.unlabelled_share == pytest.approx(0.5) and e.labelled_share == pytest.approx(0.5)


def test_missing_token_counts_are_counted_from_the_text_never_one_token():
    scored, sample, ann = _night()
    scored = scored.with_columns(n_tokens=pl.lit(None, dtype=pl.Int64))
    labels, _ = aggregate_labels(ann)
    docs, _ = night_documents(scored.lazy(), None, labels["doc_id"].to_list())
    assert docs["n_tokens"].min() > 1


def test_nan_labels_are_reported_not_estimated_on():
    scored, sample, ann = _night()
    labels, _ = aggregate_labels(ann)
    labels = labels.with_columns(y=pl.when(pl.col("doc_id") == "a0").then(float("nan")).otherwise(pl.col("y")))
    docs, sizes = night_documents(scored.lazy(), None, labels["doc_id"].to_list())
    units, problems, _ = design_units(labels, docs, sample)
    assert any("a0" in p and "unusable" in p for p in problems)
    for row in estimate_table(units, sizes).iter_rows(named=True):
        assert row["estimate"] is None or np.isfinite(row["estimate"])
        assert 0 <= row["lower"] <= row["upper"]


def test_model_populations_are_measured_by_held_out_labels_only():
    scored, sample, ann = _night()
    scored = scored.with_columns(model_keep=~pl.col("doc_id").is_in(["b1", "b2"]))
    held = sample.with_columns(holdout=pl.col("doc_id").is_in(["a0", "a1", "b0", "b2", "c0"]))
    labels, _ = aggregate_labels(ann)
    cur = pl.DataFrame({"doc_id": ["a0", "a1", "b0"]}).lazy()
    docs, sizes = night_documents(scored.lazy(), cur, held["doc_id"].to_list())
    units, _, _ = design_units(labels, docs, held)
    table = estimate_table(units, sizes)
    curated, dropped = _row(table, "curated"), _row(table, "rejected:quality_model", "false_drop_rate")
    assert curated["labels_used"] == "held-out labels" and _row(table, "kept")["labels_used"] == "all design labels"
    assert curated["n_labels"] == 3  # a0, a1, b0 are held out and curated
    assert dropped["n_labels"] == 1  # b2 held out; b1 trained the model


@pytest.mark.parametrize("interval", ["wilson", "normal"])
def test_estimate_is_exact_when_every_document_is_labelled(interval):
    """A census (f = 1): the estimate is the truth and the variance vanishes (fpc)."""
    rng = np.random.default_rng(5)
    st = np.repeat(np.arange(4), 25)
    y = (rng.random(100) < 0.6).astype(float)
    e = ratio_estimate(y, np.ones(100), np.ones(100), st, np.full(100, 25.0), interval=interval)
    assert e.estimate == pytest.approx(y.mean())
    assert e.se == pytest.approx(0.0, abs=1e-12)
