"""Repeated sampling from simulated populations with a known truth: the 95% intervals of the
stratified estimator (winnow.model.estimates.ratio_estimate) cover the truth 93-97% of the time.

Each scenario builds a finite population of strata with different sizes and keep rates,
token counts that are heavy-tailed (log-normal) and longer for good documents, and a
domain ("curated") that good documents are more likely to be in. Each repetition draws
the design the sampler uses (per stratum ``max(1, round(f * N_h))`` documents without
replacement), estimates, and checks whether the interval covers the population value.
The seeds are fixed, so the figures are reproducible; they are printed with ``-s``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from winnow.model.estimates import ratio_estimate

REPS = 1000


def _population(rng, sizes, rates):
    strata, y, tok, dom = [], [], [], []
    for h, (n, p) in enumerate(zip(sizes, rates)):
        yy = (rng.random(n) < p).astype(float)
        strata.append(np.full(n, h))
        y.append(yy)
        tok.append(rng.lognormal(6, 1.0, n) * (1 + 0.5 * yy))
        dom.append(rng.random(n) < np.where(yy > 0, 0.85, 0.5))
    return (
        np.concatenate(strata),
        np.concatenate(y),
        np.concatenate(tok),
        np.concatenate(dom).astype(float),
        np.asarray(sizes),
    )


def _coverage(seed: int, sizes, rates, fraction: float, metrics: tuple[str, ...], reps: int = REPS) -> dict:
    rng = np.random.default_rng(seed)
    st, y, tok, dom, sizes = _population(rng, sizes, rates)
    ones = np.ones_like(y)
    truth = {
        "doc": y.mean(),
        "tokens": (y * tok).sum() / tok.sum(),
        "domain": (y * dom).sum() / dom.sum(),
        "domain_tokens": (y * dom * tok).sum() / (dom * tok).sum(),
    }
    members = [np.nonzero(st == h)[0] for h in range(len(sizes))]
    n_h = [min(n, max(1, math.floor(fraction * n + 0.5))) for n in sizes]
    hits = dict.fromkeys(metrics, 0)
    for _ in range(reps):
        sel = np.concatenate([rng.choice(ix, n, replace=False) for ix, n in zip(members, n_h)])
        s, yy, tt, dd = st[sel], y[sel], tok[sel], dom[sel]
        big_n = sizes[s].astype(float)
        args = {
            "doc": (ones[sel], ones[sel]),
            "tokens": (tt, ones[sel]),
            "domain": (ones[sel], dd),
            "domain_tokens": (tt, dd),
        }
        for m in metrics:
            x, d = args[m]
            e = ratio_estimate(yy, x, d, s, big_n, confidence=0.95)
            hits[m] += e.lower <= truth[m] <= e.upper
    cov = {m: hits[m] / reps for m in metrics}
    print(f"seed {seed}: {sum(n_h)} labels / {sizes.sum()} documents in {len(sizes)} strata, coverage {cov}")
    return cov


def _assert_nominal(cov: dict) -> None:
    for metric, c in cov.items():
        assert 0.93 <= c <= 0.97, f"{metric}: 95% interval covered the truth in {c:.1%} of {REPS} samples"


def test_coverage_mixed_quality_population_2_percent_sample():
    """16 strata of 50-4,000 documents, keep rates 5-97%, a 2% sample (~650 labels)."""
    rng = np.random.default_rng(100)
    sizes = rng.integers(50, 4000, 16).tolist()
    rates = rng.uniform(0.05, 0.97, 16).tolist()
    _assert_nominal(_coverage(1, sizes, rates, 0.02, ("doc", "tokens", "domain", "domain_tokens")))


def test_coverage_small_sample_with_singleton_strata():
    """10 strata plus 10 tiny ones (one label each, collapsed for the variance): ~150 labels."""
    rng = np.random.default_rng(200)
    sizes = rng.integers(40, 600, 10).tolist() + rng.integers(5, 40, 10).tolist()
    rates = rng.uniform(0.05, 0.97, 20).tolist()
    _assert_nominal(_coverage(2, sizes, rates, 0.05, ("doc", "domain")))


def test_coverage_high_quality_population_near_the_boundary():
    """A curated-like population (keep rates 85-99%), where normal intervals fail: Wilson holds."""
    rng = np.random.default_rng(300)
    sizes = rng.integers(100, 3000, 12).tolist()
    rates = rng.uniform(0.85, 0.99, 12).tolist()
    _assert_nominal(_coverage(3, sizes, rates, 0.02, ("doc", "domain")))


@pytest.mark.parametrize("interval", ["wilson", "normal"])
def test_estimate_is_exact_when_every_document_is_labelled(interval):
    """A census (f = 1): the estimate is the truth and the variance vanishes (fpc)."""
    rng = np.random.default_rng(5)
    st = np.repeat(np.arange(4), 25)
    y = (rng.random(100) < 0.6).astype(float)
    e = ratio_estimate(y, np.ones(100), np.ones(100), st, np.full(100, 25.0), interval=interval)
    assert e.estimate == pytest.approx(y.mean())
    assert e.se == pytest.approx(0.0, abs=1e-12)
