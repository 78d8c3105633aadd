"""The compute report against hand calculations."""

from __future__ import annotations

import polars as pl
import pytest
from pydantic import ValidationError

from schemas.recipe import ComputeConfig
from winnow.publish.compute import (
    QualityShare,
    compute_report,
    gpu_hours,
    quality_shares,
    report_markdown,
    training_flops,
)

DEFAULT = ComputeConfig()  # A100-class 312 TFLOP/s, MFU 0.4, 7.8 CNY/GPU-hour, 1B and 7B


def test_defaults_are_the_documented_ones():
    assert DEFAULT.model_sizes == [1e9, 7e9]
    assert (DEFAULT.peak_flops, DEFAULT.mfu, DEFAULT.price_per_gpu_hour, DEFAULT.currency) == (312e12, 0.4, 7.8, "CNY")


def test_flops_hours_and_cost_by_hand():
    # 1B params x 2B tokens: C = 6 * 1e9 * 2e9 = 1.2e19 FLOPs.
    # Effective 312e12 * 0.4 = 1.248e14 FLOP/s -> 96,153.846 s = 26.7094 GPU-hours -> x 7.8 = 208.333 CNY.
    assert training_flops(1e9, 2e9) == 1.2e19
    assert gpu_hours(1.2e19, DEFAULT) == pytest.approx(26.709401709, rel=1e-9)
    r = compute_report(2_000_000_000, 1_500_000_000, DEFAULT)
    one, seven = r["models"]
    assert (one["label"], seven["label"]) == ("1B", "7B")
    assert one["raw"]["flops"] == pytest.approx(1.2e19)
    assert one["raw"]["gpu_hours"] == pytest.approx(26.709401709)
    assert one["raw"]["cost"] == pytest.approx(208.3333333)
    # curated 1.5B tokens: 9e18 FLOPs -> 20.0320513 h -> 156.25 CNY
    assert one["curated"]["gpu_hours"] == pytest.approx(20.032051282)
    assert one["curated"]["cost"] == pytest.approx(156.25)
    assert one["savings"]["cost"] == pytest.approx(52.0833333)
    assert one["savings"]["share"] == pytest.approx(0.25)
    # 7B is exactly 7x: 186.966 GPU-hours, 1458.33 CNY raw
    assert seven["raw"]["gpu_hours"] == pytest.approx(186.965811966)
    assert seven["raw"]["cost"] == pytest.approx(1458.3333333)
    assert r["tokens"] == {
        "raw": 2_000_000_000,
        "curated": 1_500_000_000,
        "removed": 500_000_000,
        "removed_share": 0.25,
    }
    assert r["models"][0]["quality_adjusted"] is None  # cold start: no estimates


def test_quality_adjusted_by_hand():
    q = {
        "raw": QualityShare(0.5, 0.4, 0.6, 120, "keep_share", "ht"),
        "curated": QualityShare(0.8, 0.7, 0.9, 80, "keep_share", "ht"),
    }
    r = compute_report(2_000_000_000, 1_500_000_000, DEFAULT, q)
    assert r["good_tokens"]["raw"]["good_tokens"] == pytest.approx(1e9)
    assert r["good_tokens"]["curated"]["good_tokens"] == pytest.approx(1.2e9)
    assert r["good_tokens"]["raw"]["good_tokens_lower"] == pytest.approx(0.8e9)
    qa = r["models"][0]["quality_adjusted"]
    # raw: 208.333 CNY for 1e9 good tokens; curated: 156.25 CNY for 1.2e9 -> 130.208 per 1e9
    assert qa["raw"]["cost_per_1b_good_tokens"] == pytest.approx(208.3333333)
    assert qa["curated"]["cost_per_1b_good_tokens"] == pytest.approx(130.2083333)
    # interval: curated share 0.9 -> 156.25/1.35 = 115.74; 0.7 -> 156.25/1.05 = 148.81
    assert qa["curated"]["cost_per_1b_good_tokens_lower"] == pytest.approx(115.7407407)
    assert qa["curated"]["cost_per_1b_good_tokens_upper"] == pytest.approx(148.8095238)
    assert qa["raw"]["cost_on_not_good_tokens"] == pytest.approx(104.1666667)
    assert qa["raw"]["gpu_hours_per_1b_good_tokens"] == pytest.approx(26.709401709)
    assert qa["cost_per_good_token_saving_share"] == pytest.approx(0.375)
    assert qa["good_tokens_retained_share"] == pytest.approx(1.2)
    md = report_markdown(r)
    assert "208.33" in md and "130.21" in md and "37.5%" in md


def test_custom_hardware_and_price():
    cfg = ComputeConfig(
        model_sizes=[70e9], peak_flops=989e12, mfu=0.5, price_per_gpu_hour=2.0, currency="USD", gpu_name="H100"
    )
    r = compute_report(10**12, 10**11, cfg)
    m = r["models"][0]
    # 6 * 70e9 * 1e12 = 4.2e23 FLOPs / (989e12 * 0.5) = 849,342,770.5 s = 235,928.55 GPU-hours -> 471,857.09 USD
    assert m["label"] == "70B"
    assert m["raw"]["gpu_hours"] == pytest.approx(4.2e23 / 494.5e12 / 3600)
    assert m["raw"]["cost"] == pytest.approx(471857.09, abs=0.01)
    assert "USD" in report_markdown(r) and "H100" in report_markdown(r)


def test_zero_tokens_does_not_divide_by_zero():
    r = compute_report(
        0,
        0,
        DEFAULT,
        {
            "raw": QualityShare(0.0, 0.0, 0.1, 3, "keep_share", None),
            "curated": QualityShare(0.5, 0.2, 0.8, 3, "keep_share", None),
        },
    )
    assert r["tokens"]["removed_share"] == 0.0
    assert r["models"][0]["quality_adjusted"]["raw"]["cost_per_1b_good_tokens"] is None
    report_markdown(r)


def test_quality_shares_picks_the_configured_metric_with_fallback():
    est = pl.DataFrame(
        {
            "population": ["Raw", "curated", "raw", "curated", "rejected"],
            "metric": ["mean_rating", "mean_rating", "keep_share", "keep_share", "keep_share"],
            "estimate": [3.1, 4.0, 0.55, 0.81, 0.2],
            "lower": [2.9, 3.8, 0.45, 0.74, 0.1],
            "upper": [3.3, 4.2, 0.65, 0.88, 0.3],
            "n_labels": [100, 90, 100, 90, 20],
            "method": ["ht"] * 5,
        }
    )
    q = quality_shares(est, "keep_share")
    assert q["raw"].estimate == 0.55 and q["curated"].upper == 0.88 and q["rejected"].n_labels == 20
    # a differently named keep metric is still found; a rating is never used as a share
    q2 = quality_shares(est.with_columns(pl.col("metric").str.replace("keep_share", "good_share")), "keep_share")
    assert q2["raw"].estimate == 0.55 and q2["raw"].metric == "good_share"
    assert quality_shares(est.filter(pl.col("metric") == "mean_rating"), "keep_share") == {}
    assert quality_shares(None) == {} and quality_shares(est.clear()) == {}


def test_compute_config_rejects_nonsense():
    with pytest.raises(ValidationError):
        ComputeConfig(mfu=1.5)
    with pytest.raises(ValidationError):
        ComputeConfig(model_sizes=[-1e9])
    with pytest.raises(ValidationError):
        ComputeConfig(peak_flops=0)
