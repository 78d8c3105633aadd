"""Annotator error: a two-coin Dawid-Skene latent-class model, and shares corrected for it.

Each annotator ``a`` has a sensitivity ``se_a = P(says keep | truly good)`` and a
specificity ``sp_a = P(says drop | truly bad)``; documents are truly good with
probability ``pi``. EM fits them from every label; what identifies the error rates is
the overlap, where two annotators label the same document. A Beta(``PRIOR_RIGHT``,
``PRIOR_WRONG``) prior on each rate keeps a thinly seen annotator near "mostly right"
and the fit away from the label-switched solution.

A share estimated from raw labels estimates ``P(label keep)``, not the true share
``p``: with pooled rates, ``P(keep) = se p + (1 - sp)(1 - p)``. The Rogan-Gladen
correction inverts it, ``p = (q + sp - 1) / (se + sp - 1)``, and its variance adds the
rates' own uncertainty (delta method), so the corrected interval is wider.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import norm

#: bootstrap refits (over documents) that measure how well the pooled rates are known
BOOTSTRAP = 60
#: pseudo-counts of the Beta prior on each annotator's sensitivity and specificity (prior mean 0.8)
PRIOR_RIGHT, PRIOR_WRONG = 8.0, 2.0


@dataclass(frozen=True)
class AnnotatorErrors:
    annotators: list[str]
    sensitivity: np.ndarray
    specificity: np.ndarray
    labels: np.ndarray  # labels per annotator
    overlap_labels: np.ndarray  # labels per annotator on documents someone else labelled too
    prevalence: float
    #: the pooled (label-weighted) rates and their standard errors
    se: float
    sp: float
    #: bootstrap replicates of the pooled (se, sp) and of the raw keep share (documents resampled)
    boot: np.ndarray
    overlap_items: int

    def table(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "annotator": self.annotators,
                "labels": self.labels.astype(np.int64),
                "overlap_labels": self.overlap_labels.astype(np.int64),
                "sensitivity": np.round(self.sensitivity, 4),
                "specificity": np.round(self.specificity, 4),
            }
        )


def votes(annotations: pl.DataFrame) -> pl.DataFrame:
    """The keep/drop votes of an annotations table, as ``fit_annotator_errors`` takes them."""
    ok = annotations.filter(pl.col("decision").is_in(["keep", "drop"]) & pl.col("doc_id").is_not_null())
    return ok.select("doc_id", pl.col("annotator").fill_null("unknown"), keep=pl.col("decision") == "keep")


def fit_annotator_errors(
    votes: pl.DataFrame, iterations: int = 200, bootstrap: int = BOOTSTRAP, seed: int = 0
) -> AnnotatorErrors | None:
    """EM for the two-coin model on ``votes`` (``doc_id``, ``annotator``, ``keep`` bool); None without overlap."""
    if votes.height == 0:
        return None
    docs = votes["doc_id"].cast(pl.String)
    item = docs.rank("dense").cast(pl.Int64).to_numpy() - 1
    names = sorted(set(votes["annotator"].cast(pl.String).to_list()))
    ann = votes["annotator"].cast(pl.String).replace_strict({n: i for i, n in enumerate(names)}).to_numpy()
    lab = votes["keep"].cast(pl.Float64).to_numpy()
    n_items, n_ann = int(item.max()) + 1, len(names)
    per_item = np.bincount(item, minlength=n_items)
    on_overlap = per_item[item] > 1
    if not on_overlap.any():
        return None
    se, sp, pi, post = _em(item, ann, lab, n_items, n_ann, iterations, np.full(n_ann, 0.8), np.full(n_ann, 0.8))
    counts = np.bincount(ann, minlength=n_ann).astype(np.float64)
    share = counts / counts.sum()
    rng = np.random.default_rng(seed)
    pooled = []
    for _ in range(bootstrap):  # resample documents with all their votes; warm start from the fit
        pick = np.bincount(rng.integers(0, n_items, n_items), minlength=n_items)
        rows = np.repeat(np.arange(item.size), pick[item])
        # each copy of a document is its own item
        reps = pick[item]
        copy = np.arange(rows.size) - np.repeat(np.cumsum(reps) - reps, reps)
        key = item[rows] * (int(pick.max()) + 1) + copy
        new_item = np.unique(key, return_inverse=True)[1]
        b_se, b_sp, _, _ = _em(new_item, ann[rows], lab[rows], int(new_item.max()) + 1, n_ann, 20, se, sp)
        b_share = np.bincount(ann[rows], minlength=n_ann) / rows.size
        n_new = int(new_item.max()) + 1
        b_q = float(
            (np.bincount(new_item, weights=lab[rows], minlength=n_new) / np.bincount(new_item, minlength=n_new)).mean()
        )
        pooled.append(((b_share * b_se).sum(), (b_share * b_sp).sum(), b_q))
    boot = np.asarray(pooled) if pooled else np.zeros((0, 3))
    return AnnotatorErrors(
        annotators=names,
        sensitivity=se,
        specificity=sp,
        labels=counts,
        overlap_labels=np.bincount(ann, weights=on_overlap.astype(float), minlength=n_ann),
        prevalence=pi,
        se=float((share * se).sum()),
        sp=float((share * sp).sum()),
        boot=boot,
        overlap_items=int((per_item > 1).sum()),
    )


def _em(item, ann, lab, n_items, n_ann, iterations, se, sp):
    """EM for the two-coin model from starting rates; returns (se, sp, pi, posterior per item)."""
    pi, post = 0.5, np.full(n_items, 0.5)
    for _ in range(iterations):
        l1 = lab * np.log(se[ann]) + (1 - lab) * np.log(1 - se[ann])
        l0 = lab * np.log(1 - sp[ann]) + (1 - lab) * np.log(sp[ann])
        logit = math.log(pi / (1 - pi)) + np.bincount(item, weights=l1 - l0, minlength=n_items)
        new = 1 / (1 + np.exp(-np.clip(logit, -50, 50)))
        g = new[item]
        se = (np.bincount(ann, weights=g * lab, minlength=n_ann) + PRIOR_RIGHT - 1) / (
            np.bincount(ann, weights=g, minlength=n_ann) + PRIOR_RIGHT + PRIOR_WRONG - 2
        )
        sp = (np.bincount(ann, weights=(1 - g) * (1 - lab), minlength=n_ann) + PRIOR_RIGHT - 1) / (
            np.bincount(ann, weights=1 - g, minlength=n_ann) + PRIOR_RIGHT + PRIOR_WRONG - 2
        )
        pi = float(np.clip(new.mean(), 1e-4, 1 - 1e-4))
        done = np.abs(new - post).max() < 1e-8
        post = new
        if done:
            break
    return se, sp, pi, post


def corrected_share(
    q: float, q_se: float, errors: AnnotatorErrors, confidence: float = 0.95
) -> tuple[float, float, float] | None:
    """Rogan-Gladen: the true share from the raw-label share ``q`` (with its standard error); None if unusable."""
    youden = errors.se + errors.sp - 1
    if youden <= 0.05:
        return None  # annotators no better than chance: nothing to correct with
    p = min(1.0, max(0.0, (q + errors.sp - 1) / youden))
    var = q_se**2 / youden**2
    if errors.boot.shape[0] > 1:
        # the rates' share of the variance, with their covariance with the raw share: the
        # bootstrap's total, less its own raw-share part (the design variance replaces that)
        b_se, b_sp, b_q = errors.boot[:, 0], errors.boot[:, 1], errors.boot[:, 2]
        ok = b_se + b_sp - 1 > 0.05
        if ok.sum() > 1:
            shift = q - float(b_q[ok].mean())
            total = float(np.var((b_q[ok] + shift + b_sp[ok] - 1) / (b_se[ok] + b_sp[ok] - 1), ddof=1))
            var += max(0.0, total - float(np.var(b_q[ok], ddof=1)) / youden**2)
    z = float(norm.ppf(0.5 + confidence / 2))
    half = z * math.sqrt(var)
    return p, max(0.0, p - half), min(1.0, p + half)
