"""The release gate answers pass, fail or insufficient evidence, and never passes silently."""

from __future__ import annotations

import polars as pl
import pytest

from schemas.recipe import Recipe
from winnow.model.estimates import ESTIMATE_SCHEMA
from winnow.release_gate import curated_quality_gate, labels_to_decide


def _recipe(**estimates) -> Recipe:
    return Recipe.model_validate(
        {
            "name": "t",
            "version": 1,
            "sources": [{"name": "s", "path": "x", "format": "jsonl"}],
            "estimates": {"min_curated_quality": 0.8, "min_labels": 20, **estimates},
        }
    )


def _table(estimate, lower, upper, n):
    row = {c: None for c in ESTIMATE_SCHEMA} | {
        "population": "curated",
        "metric": "keep_share",
        "estimate": estimate,
        "lower": lower,
        "upper": upper,
        "n_labels": n,
        "labels_used": "held-out labels",
    }
    return pl.DataFrame([row], schema=ESTIMATE_SCHEMA)


def test_pass_when_the_lower_bound_reaches_the_threshold():
    v = curated_quality_gate(_table(0.9, 0.82, 0.95, 120), _recipe(), "n")
    assert (v.state, v.passed) == ("pass", True)


def test_fail_when_the_upper_bound_is_below_the_threshold():
    v = curated_quality_gate(_table(0.5, 0.4, 0.6, 120), _recipe(), "n")
    assert (v.state, v.passed) == ("fail", False)


def test_a_straddling_interval_is_insufficient_evidence_and_blocks_by_default():
    v = curated_quality_gate(_table(0.85, 0.75, 0.92, 50), _recipe(), "n")
    assert (v.state, v.passed) == ("insufficient evidence", False)
    assert v.metadata["more_labels_needed"] > 0 and "more held-out random-sample labels" in v.reason
    warn = curated_quality_gate(_table(0.85, 0.75, 0.92, 50), _recipe(on_insufficient_evidence="warn"), "n")
    assert (warn.state, warn.passed) == ("insufficient evidence", True)


def test_few_labels_never_pass_silently():
    """The old gate passed below 20 labels, so a 30%-good curated set passed every night."""
    v = curated_quality_gate(_table(1.0, 0.83, 1.0, 19), _recipe(), "n")
    assert (v.state, v.passed) == ("insufficient evidence", False)
    assert v.metadata["more_labels_needed"] >= 1
    none = curated_quality_gate(pl.DataFrame(schema=ESTIMATE_SCHEMA), _recipe(), "n")
    assert (none.state, none.passed) == ("insufficient evidence", False)
    # far below the threshold, a handful of labels is already enough to fail
    bad = curated_quality_gate(_table(0.3, 0.12, 0.55, 12), _recipe(), "n")
    assert bad.state == "fail"


def test_labels_to_decide_follows_the_square_root_law():
    # half-width 0.1 at 100 labels, 0.05 from the threshold: about 4x the labels, so ~300 more
    assert labels_to_decide(0.85, 0.75, 0.95, 100, 0.8) == pytest.approx(300, abs=1)
    assert labels_to_decide(0.8, 0.7, 0.9, 100, 0.8) is None
