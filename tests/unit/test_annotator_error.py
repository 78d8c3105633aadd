"""Dawid-Skene error rates from the overlap, and the share corrected for them."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from winnow.annotation.pull import attach_design
from winnow.model.annotator_error import corrected_share, fit_annotator_errors


def _votes(seed=0, n=3000, error=(0.05, 0.1, 0.2), share=0.6):
    rng = np.random.default_rng(seed)
    good = rng.random(n) < share
    err = np.asarray(error)
    first = rng.integers(0, 3, n)
    second = (first + rng.integers(1, 3, n)) % 3
    two = rng.random(n) < 0.4
    item = np.r_[np.arange(n), np.flatnonzero(two)]
    who = np.r_[first, second[two]]
    vote = np.where(rng.random(item.size) < err[who], ~good[item], good[item])
    return pl.DataFrame({"doc_id": item.astype(str), "annotator": who.astype(str), "keep": vote})


def test_error_rates_are_recovered_from_the_overlap():
    errors = fit_annotator_errors(_votes(), bootstrap=10)
    acc = (errors.sensitivity + errors.specificity) / 2
    assert acc[0] > acc[1] > acc[2]
    assert acc == pytest.approx([0.95, 0.9, 0.8], abs=0.05)
    assert errors.overlap_items > 1000 and errors.table().height == 3


def test_no_overlap_means_no_error_model():
    votes = pl.DataFrame({"doc_id": ["a", "b"], "annotator": ["x", "y"], "keep": [True, False]})
    assert fit_annotator_errors(votes) is None


def test_the_corrected_share_undoes_the_flips_and_is_wider():
    votes = _votes(seed=1)
    errors = fit_annotator_errors(votes, bootstrap=30)
    q = float(votes.group_by("doc_id").agg(pl.col("keep").mean())["keep"].mean())
    p, lo, hi = corrected_share(q, 0.02, errors)
    assert abs(p - 0.6) < abs(q - 0.6)  # the raw share is pulled toward 0.5 by the flips
    # never narrower than the raw interval scaled by the correction (the rates add, never remove, width)
    assert hi - lo >= 2 * 1.959964 * 0.02 / (errors.se + errors.sp - 1) - 1e-6


def test_blind_labels_get_their_design_from_the_sample(tmp_path):
    sample = pl.DataFrame(
        {
            "doc_id": ["d1", "d2"],
            "partition": ["n1", "n1"],
            "stratum": ["kept:s:en:q0.00-1.00"] * 2,
            "inclusion_prob": [0.1, 0.1],
            "sample_kind": ["random", "rejected"],
            "stratum_size": [20, 20],
            "holdout": [True, False],
        }
    )
    path = tmp_path / "n1.parquet"
    sample.write_parquet(path)
    ann = pl.DataFrame(
        {
            "doc_id": ["d1", "d2", "d3"],
            "partition": ["n1", "n1", "n1"],
            "stratum": [None, None, "kept:x"],
            "inclusion_prob": [None, None, 1.0],
            "sample_kind": [None, None, "active"],
            "stratum_size": [None, None, None],
            "holdout": [None, None, None],
        },
        schema_overrides={"stratum_size": pl.Int64, "holdout": pl.Boolean, "inclusion_prob": pl.Float64},
    )
    out = attach_design(ann, [path]).sort("doc_id")
    assert out["sample_kind"].to_list() == ["random", "rejected", "active"]
    assert out["stratum_size"].to_list() == [20, 20, None] and out["holdout"].to_list() == [True, False, None]
