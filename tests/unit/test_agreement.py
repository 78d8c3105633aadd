"""Agreement statistics against published / independently computed answers."""

from __future__ import annotations

import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score

from winnow.annotation.agreement import agreement_report, cohen_kappa, krippendorff_alpha

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 coders x 12 units example:
# nominal alpha = 0.743, interval alpha = 0.849.
K_A = [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N]
K_B = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3]
K_C = [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N]
K_D = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N]


def test_krippendorff_alpha_matches_the_published_example():
    units = [list(u) for u in zip(K_A, K_B, K_C, K_D)]
    assert krippendorff_alpha(units, "nominal") == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(units, "interval") == pytest.approx(0.849, abs=5e-4)


def test_krippendorff_alpha_edge_cases():
    assert krippendorff_alpha([["a", "a"], ["b", "b"]]) == 1.0
    assert krippendorff_alpha([["a"], ["b"]]) is None  # nothing pairable
    assert krippendorff_alpha([["a", "b"], ["b", "a"]]) < 0  # systematic disagreement
    with pytest.raises(ValueError, match="unknown metric"):
        krippendorff_alpha([[1, 2]], "ratio")


def test_cohen_kappa_hand_example_and_sklearn():
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5, kappa = 0.4
    a = ["k"] * 25 + ["d"] * 25
    b = ["k"] * 20 + ["d"] * 5 + ["k"] * 10 + ["d"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    x = ["keep", "drop", "keep", "keep", "drop", "keep", "drop", "drop", "keep"]
    y = ["keep", "drop", "drop", "keep", "drop", "keep", "keep", "drop", "keep"]
    assert cohen_kappa(x, y) == pytest.approx(cohen_kappa_score(x, y))
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["k", "k"], ["k", "k"]) == 1.0


def _ann(rows):
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "doc_id": pl.String,
            "task_id": pl.Int64,
            "annotator": pl.String,
            "decision": pl.String,
            "rating": pl.Int64,
            "lead_time_s": pl.Float64,
        },
    )


def test_agreement_report_on_overlap_items_only():
    rows = []
    truth = ["keep", "drop", "keep", "keep", "drop", "keep", "drop", "drop"]
    other = ["keep", "drop", "drop", "keep", "drop", "keep", "keep", "drop"]
    for t, (u, v) in enumerate(zip(truth, other)):
        rows.append((f"d{t}", t, "ann1@x", u, 4, 3.0))
        rows.append((f"d{t}", t, "ann2@x", v, 4 if u == v else 2, 5.0))
    rows += [("d100", 100, "ann1@x", "keep", 5, 1.0), ("d101", 101, "ann3@x", "drop", 1, 1.0)]  # single labels
    rep = agreement_report(_ann(rows))
    assert rep["n_overlap_items"] == 8
    assert rep["cohen_kappa"] == pytest.approx(cohen_kappa_score(truth, other))
    assert rep["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(list(zip(truth, other))))
    assert rep["disagreements"]["doc_id"].to_list() == ["d2", "d6"]
    per = {r["annotator"]: r for r in rep["per_annotator"].iter_rows(named=True)}
    assert per["ann1@x"]["annotations"] == 9 and per["ann1@x"]["overlap_items"] == 8
    assert per["ann3@x"]["annotations"] == 1 and per["ann3@x"]["overlap_items"] == 0


def test_three_annotators_weighted_pairwise_kappa():
    rows = []
    labels = {
        "a": ["keep", "drop", "keep", "drop"],
        "b": ["keep", "drop", "keep", "keep"],
        "c": ["keep", "drop", "drop", "drop"],
    }
    for ann, vals in labels.items():
        for t, v in enumerate(vals):
            rows.append((f"d{t}", t, ann, v, None, None))
    rep = agreement_report(_ann(rows))
    pw = rep["pairwise"]
    assert pw.height == 3 and pw["shared_items"].to_list() == [4, 4, 4]
    assert rep["cohen_kappa"] == pytest.approx(pw["cohen_kappa"].mean())
    assert rep["krippendorff_alpha"] == pytest.approx(krippendorff_alpha([list(v) for v in zip(*labels.values())]))


def test_empty_annotations():
    rep = agreement_report(_ann([]))
    assert rep["n_overlap_items"] == 0 and rep["krippendorff_alpha"] is None and rep["cohen_kappa"] is None


def test_accuracy_against_the_others_consensus_per_night():
    from winnow.annotation.agreement import accuracy_vs_consensus

    rows = []
    for t in range(10):  # a and b agree on 8 of 10 shared items; c always sides with a
        truth = "keep" if t % 2 else "drop"
        other = truth if t < 8 else ("drop" if truth == "keep" else "keep")
        rows += [(t, "a", truth, "n1"), (t, "b", other, "n1"), (t, "c", truth, "n1")]
    rows += [(20, "a", "keep", "n2"), (20, "b", "drop", "n2")]
    ann = pl.DataFrame(rows, schema=["task_id", "annotator", "decision", "partition"], orient="row").with_columns(
        doc_id=pl.col("task_id").cast(pl.String)
    )
    acc = accuracy_vs_consensus(ann)
    n1 = {r["annotator"]: r["accuracy"] for r in acc.filter(pl.col("partition") == "n1").iter_rows(named=True)}
    assert n1["b"] == pytest.approx(0.8) and n1["a"] == pytest.approx(1.0)
    # night 2: a and b disagree with no third vote: each is wrong against the other
    n2 = acc.filter(pl.col("partition") == "n2")
    assert n2["accuracy"].to_list() == [0.0, 0.0]


def test_anchoring_compares_blind_and_pre_annotated_labels_with_the_pipeline():
    from winnow.annotation.agreement import anchoring

    ann = pl.DataFrame(
        {
            "doc_id": ["a", "b", "c", "d"],
            "decision": ["keep", "drop", "keep", "keep"],
            "pre_annotated": [False, False, True, True],
        }
    )
    sample = pl.DataFrame({"doc_id": ["a", "b", "c", "d"], "quality_score": [0.9, 0.9, 0.8, 0.7]})
    out = {r["labels"]: r["agree_with_pipeline"] for r in anchoring(ann, sample).iter_rows(named=True)}
    assert out == {"blind": 0.5, "pre-annotated": 1.0}
