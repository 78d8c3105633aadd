"""The estimates' 95% intervals cover the truth 93-97% of simulated nights, in every scenario #13 lists.

The scenarios (``tests/simulation/scenarios.py``) draw with the real sampler's plan and
estimate with the real estimator; 2,000 nights each (the binomial error of a coverage
near 95% is then 0.5 points), with fixed seeds, so the figures are reproducible. The
same runs make the table in docs/statistics-coverage.md (``python -m scripts.coverage_table``).
"""

from __future__ import annotations

import pytest

from tests.simulation.scenarios import SCENARIOS

NIGHTS = 2000


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.slow] if slow else []) for n, (_, slow, _) in SCENARIOS.items()],
)
def test_coverage(name):
    run, _, (low, high) = SCENARIOS[name]
    for r in run(NIGHTS):
        print(
            f"{r.name}: coverage {r.coverage:.3f}, mean width {r.width:.3f}, bias {r.bias:+.4f}, {r.labels:.0f} labels"
        )
        assert low <= r.coverage <= high, f"{r.name}: covered the truth in {r.coverage:.1%} of {r.reps} nights"
        assert r.outside == 0, f"{r.name}: {r.outside} intervals outside [0, 1]"
        assert r.zero_width == 0, f"{r.name}: {r.zero_width} zero-width intervals from several strata"
