"""Threshold calibration reaches the target precision on held-out labels.

1. Simulated: scores whose keep probability rises with the score; the threshold is
   calibrated on a labelled sample and its precision measured on 50,000 fresh documents,
   200 times over.
2. Real: the quality model trained on one night of the sample corpus (the scripted
   annotator's labels), its threshold applied to the next night's filter-kept documents,
   whose labels it never saw.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from schemas.recipe import ModelConfig
from tests.unit.test_model_fixture import annotate, labelled_documents
from winnow.model.calibrate import calibrate_threshold, precision_at, precision_curve

TARGET = 0.9


def _draw(rng, m):
    s = rng.beta(2, 2, m)
    y = (rng.random(m) < np.clip(0.5 + 0.6 * s, 0, 1)).astype(float)
    return s, y, rng.lognormal(5, 1, m)


@pytest.mark.parametrize("n_labels", [300, 1000])
def test_simulated_calibration_reaches_the_target_on_fresh_documents(n_labels):
    held, tokens = [], []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        s, y, t = _draw(rng, n_labels)
        big_s, big_y, big_t = _draw(rng, 50_000)
        cal = calibrate_threshold(s, y, t, target_precision=TARGET, confidence=0.9)
        assert cal.reachable and cal.precision_lower >= TARGET
        held.append(precision_at(big_s, big_y, cal.threshold))
        tokens.append(big_t[big_s >= cal.threshold].sum() / big_t.sum())
    # the best possible threshold: the lowest whose true precision reaches the target
    big_s, big_y, big_t = _draw(np.random.default_rng(10_000), 200_000)
    curve = precision_curve(big_s, big_y, big_t)
    oracle = [curve.filter(pl.col("precision") >= TARGET)["tokens_kept_share"].max()]
    held = np.array(held)
    share_ok = float((held >= TARGET).mean())
    print(
        f"{n_labels} labels: held-out precision >= {TARGET} in {share_ok:.1%} of 200 calibrations, "
        f"mean {held.mean():.4f}, min {held.min():.4f}; tokens kept {np.mean(tokens):.3f} "
        f"(best possible {np.mean(oracle):.3f})"
    )
    assert share_ok >= 0.9
    assert held.mean() >= TARGET
    assert held.min() >= TARGET - 0.05
    assert np.mean(tokens) >= 0.5 * np.mean(oracle)  # not bought by keeping next to nothing


def test_threshold_keeps_the_most_tokens_among_those_reaching_the_target():
    # perfectly separable scores: 140 good documents on top, 60 bad ones under them
    s = np.linspace(1, 0, 200)
    y = (s > 0.3).astype(float)
    cal = calibrate_threshold(s, y, np.ones(200), target_precision=TARGET, confidence=0.9)
    kept = int((s >= cal.threshold).sum())
    assert cal.recall == 1.0 and cal.precision_lower >= TARGET
    # it goes below the good documents exactly as far as the precision bound allows: one more fails
    curve = cal.curve.sort("threshold", descending=True)
    assert curve["precision_lower"][kept] < TARGET <= curve["precision_lower"][kept - 1]
    assert 140 < kept < 156  # 140/155 is the point-estimate limit of 0.9


def test_unreachable_target_means_no_threshold():
    rng = np.random.default_rng(0)
    s = rng.random(300)
    y = (rng.random(300) < 0.5).astype(float)  # scores carry no information, half are good
    cal = calibrate_threshold(s, y, target_precision=TARGET, confidence=0.9)
    assert not cal.reachable and cal.threshold is None
    assert cal.curve.height == 300


def test_curve_columns_and_weights():
    s = np.array([0.9, 0.8, 0.7, 0.6])
    y = np.array([1.0, 1.0, 0.0, 1.0])
    w = np.array([1.0, 3.0, 1.0, 1.0])
    c = precision_curve(s, y, np.array([10.0, 10.0, 10.0, 10.0]), w).sort("threshold", descending=True)
    assert c["precision"].to_list() == pytest.approx([1.0, 1.0, 4 / 5, 5 / 6])
    assert c["tokens_kept_share"].to_list() == pytest.approx([1 / 6, 4 / 6, 5 / 6, 1.0])
    assert c["recall"].to_list() == pytest.approx([1 / 5, 4 / 5, 4 / 5, 1.0])


def test_real_model_threshold_holds_on_the_next_night():
    """Train on night 1's sample labels; on night 2 (never labelled for training) precision >= target."""
    from winnow.model.train import aggregate_labels, train_quality_model

    night1, night2 = labelled_documents("2026-11-24"), labelled_documents("2026-11-25")
    rng = np.random.default_rng(7)
    kept1 = night1.filter(pl.col("status") == "kept")
    rej1 = night1.filter(pl.col("status") == "rejected")
    pick_k = kept1[rng.choice(kept1.height, 250, replace=False)]
    pick_r = rej1[rng.choice(rej1.height, 60, replace=False)]
    ann = pl.concat(
        [
            annotate(pick_k, noise=0.03, seed=1, inclusion_prob=250 / kept1.height, stratum="kept:web"),
            annotate(
                pick_r,
                noise=0.03,
                seed=2,
                sample_kind="rejected",
                inclusion_prob=60 / rej1.height,
                stratum="rejected:web",
            ),
        ]
    )
    labels, _ = aggregate_labels(ann)
    train = labels.join(night1.drop("truth_keep", "kind", "content_kind"), on="doc_id")
    result = train_quality_model(train, ModelConfig(target_precision=TARGET), seed=3)
    cal = result.calibration
    assert cal.reachable, result.metrics

    kept2 = night2.filter(pl.col("status") == "kept")
    scores = result.model.predict(kept2)
    human = annotate(kept2, noise=0.03, seed=9)["decision"].to_numpy() == "keep"  # held-out human labels
    held = precision_at(scores, human.astype(float), cal.threshold)
    base = human.mean()
    kept_share = float((scores >= cal.threshold).mean())
    print(
        f"threshold {cal.threshold:.3f}: calibration precision {cal.precision:.3f} (lower {cal.precision_lower:.3f}); "
        f"night 2 held-out precision {held:.3f} on {kept2.height} filter-kept documents "
        f"(filters alone: {base:.3f}), keeping {kept_share:.1%} of them"
    )
    assert held >= TARGET
    assert held > base + 0.2
    assert kept_share > 0.3
