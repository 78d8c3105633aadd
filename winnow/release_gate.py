"""The release gate on the curated share's interval: pass, fail or insufficient evidence.

Shared (not in a stage package) because two stages judge by it: the model stage's
``curated_quality_lower_bound`` check, and the publish stage's card, which records which
state let the release through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from schemas.recipe import Recipe


@dataclass
class GateVerdict:
    passed: bool
    reason: str
    metadata: dict
    #: "pass", "fail" or "insufficient evidence"
    state: str = "pass"


def labels_to_decide(estimate: float, lower: float, upper: float, n: int, threshold: float) -> int | None:
    """About how many more held-out random labels would likely move the interval off the threshold.

    Interval widths shrink as ``1/sqrt(n)``: the half-width ``h`` must fall to the distance
    ``|estimate - threshold|``, so ``n' = n (h / distance)^2``. None when the estimate sits on it.
    """
    distance = abs(estimate - threshold)
    if distance < 1e-6 or n <= 0:
        return None
    half = (upper - lower) / 2
    return max(1, math.ceil(n * (half / distance) ** 2) - n)


def curated_quality_gate(table: pl.DataFrame, recipe: Recipe, night: str) -> GateVerdict:
    """Three states: pass (lower bound >= threshold), fail (upper bound < it), insufficient evidence.

    Insufficient evidence (the interval straddles the threshold, or fewer than
    ``estimates.min_labels`` curated labels) blocks unless ``estimates.on_insufficient_evidence``
    is "warn"; it says about how many more labels would probably decide it.
    """
    cfg = recipe.estimates
    threshold = cfg.min_curated_quality
    row = table.filter((pl.col("population") == "curated") & (pl.col("metric") == "keep_share"))
    n = int(row["n_labels"][0]) if row.height else 0
    meta: dict = {"n_labels": n, "min_curated_quality": threshold, "min_labels": cfg.min_labels}
    if row.height and row["lower"][0] is not None:
        est, lower, upper = (
            float(row[c][0]) if row[c][0] is not None else None for c in ("estimate", "lower", "upper")
        )
        meta |= {"lower": round(lower, 4), "upper": round(upper, 4)}
        if est is not None:
            meta["estimate"] = round(est, 4)
        if "labels_used" in row.columns:
            meta["labels_used"] = row["labels_used"][0]
    else:
        est = lower = upper = None
    if n >= cfg.min_labels and lower is not None and lower >= threshold:
        state = "pass"
        reason = f"curated keep share {est:.3f} [{lower:.3f}, {upper:.3f}] from {n} labels: lower bound >= {threshold}"
    elif upper is not None and upper < threshold:
        state = "fail"
        reason = f"curated keep share {est:.3f} [{lower:.3f}, {upper:.3f}] from {n} labels: upper bound < {threshold}"
    else:
        state = "insufficient evidence"
        if lower is None or est is None:
            need = "labels of curated documents"
            reason = f"no held-out random-sample labels of curated documents for {night} yet"
        else:
            more = labels_to_decide(est, lower, upper, n, threshold)
            more = max(more or 0, cfg.min_labels - n)
            need = f"about {more} more held-out random-sample labels" if more else "more labels"
            reason = (
                f"curated keep share {est:.3f} [{lower:.3f}, {upper:.3f}] from {n} labels "
                f"(min_labels {cfg.min_labels}) does not decide against {threshold}"
            )
            meta["more_labels_needed"] = more
        reason += f": {need} would probably decide it"
    block = state == "fail" or (state == "insufficient evidence" and cfg.on_insufficient_evidence == "block")
    meta |= {"state": state, "reason": reason, "blocks": block}
    return GateVerdict(not block, reason, meta, state)
