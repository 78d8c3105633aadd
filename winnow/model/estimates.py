"""Design-based estimates of dataset quality from the human sample, with 95% intervals.

The night's annotation sample is a stratified simple random sample: stratum ``h`` (of
``N_h`` documents, population kept/rejected x source x language x score bucket) gave
``n_h`` documents with inclusion probability ``n_h / N_h``. Only ``sample_kind``
"random" and "rejected" labels enter; "active" labels are not a probability sample and
only train the model.

**Estimator.** With ``m_h`` labelled documents in stratum ``h`` (labels missing at
random within a stratum), each labelled document weighs ``w = N_h / m_h``. For a
population (domain) ``D`` of the night, the human-keep share is the ratio

    R = sum(w d x y) / sum(w d x)

where ``y`` is the document's share of keep votes, ``d`` = 1 if it belongs to ``D``,
and ``x`` = 1 (share of documents) or its BPE token count (share of tokens).

**Variance** by the stratified delete-one jackknife (JKn): for each label ``i`` of
stratum ``h``, ``R_(hi)`` is the estimate without it, the other labels of ``h`` weighing
``m_h / (m_h - 1)`` more; ``V = sum_h (1 - m_h/N_h) (m_h-1)/m_h sum_i (R_(hi) - mean_h R_(h.))^2``.
For a ratio it is a little more conservative than linearization in small samples
with heavy-tailed token counts, where linearization under-covered in our simulations
(0.91-0.94 at 90 labels). Strata with a single label cannot estimate their own
variance; they are collapsed into one pseudo-stratum per population (kept/rejected),
which is conservative.

**Interval.** Wilson's score interval at the effective sample size
``n_eff = R (1 - R) / V`` (Kish's design effect, as in Korn & Graubard 1998); when ``R``
is 0 or 1 (no variance), ``n_eff`` is the number of labels in ``D``. Stratification can
make ``n_eff`` larger than the number of labels (strata that differ in quality are each
measured), and that is kept: capping it over-covered (97-99% in the simulations). For a
population with fewer than ``SMALL_DOMAIN`` (30) labels the variance estimate itself is
too unstable to credit such gains, so there ``n_eff`` is capped at the number of labels. Wilson stays inside [0, 1] and keeps its coverage near the nominal
level for small samples and shares near 0 or 1, where the normal interval does not.
``tests/unit/test_estimates_coverage.py`` checks the 95% coverage by simulation.

**Populations** (``population`` column): ``raw`` (every document of the night: both
kept and rejected strata), ``kept`` (kept by the filters), ``curated`` (in
``curated_documents``: kept, deduplicated, over the model threshold), ``rejected``
(removed by a filter), ``rejected:<family>`` per filter family and
``rejected:quality_model`` (filter-kept documents under the model threshold); the last
ones carry the metric ``false_drop_rate`` (the human-keep share of what was dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import norm

DESIGN_KINDS = ("random", "rejected")
#: below this many labels in a population, n_eff is capped at the number of labels (see module doc)
SMALL_DOMAIN = 30
METHOD_WILSON = "stratified ratio estimator, Wilson interval at design effective n"
METHOD_NORMAL = "stratified ratio estimator, normal interval (linearization)"

ESTIMATE_SCHEMA = {
    "population": pl.String,
    "metric": pl.String,
    "estimate": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "n_labels": pl.Int64,
    "method": pl.String,
    "n_eff": pl.Float64,
    "population_size": pl.Int64,
}


@dataclass(frozen=True)
class Estimate:
    estimate: float | None
    lower: float | None
    upper: float | None
    n_labels: int
    n_eff: float | None
    se: float | None


def wilson_interval(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on ``n`` (possibly fractional) trials."""
    if n <= 0:
        return 0.0, 1.0
    p = min(1.0, max(0.0, p))
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio_estimate(
    y: np.ndarray,
    x: np.ndarray,
    d: np.ndarray,
    stratum: np.ndarray,
    big_n: np.ndarray,
    group: np.ndarray | None = None,
    confidence: float = 0.95,
    interval: str = "wilson",
) -> Estimate:
    """The stratified ratio estimate of ``y`` over domain ``d`` (see module doc).

    Arrays have one entry per labelled design document: ``stratum`` integer codes,
    ``big_n`` the size N_h of its stratum, ``group`` the collapse group of singleton
    strata (e.g. the population code). ``interval``: "wilson" (proportions) or "normal".
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    stratum = np.asarray(stratum, dtype=np.int64)
    big_n = np.asarray(big_n, dtype=np.float64)
    group = np.zeros_like(stratum) if group is None else np.asarray(group, dtype=np.int64)
    n_dom = int(d.sum())
    if n_dom == 0:
        return Estimate(None, None, None, 0, None, None)
    k = int(stratum.max()) + 1
    m_h = np.bincount(stratum, minlength=k).astype(np.float64)
    w = big_n / m_h[stratum]
    a, b = w * d * x * y, w * d * x
    big_a, big_b = float(a.sum()), float(b.sum())
    if big_b <= 0:
        return Estimate(None, None, None, n_dom, None, None)
    r = big_a / big_b
    # replicate strata: a stratum with one label joins its group's pseudo-stratum (codes k + group)
    single = m_h[stratum] == 1
    rep = np.where(single, k + group, stratum)
    kk = int(rep.max()) + 1
    m_r = np.bincount(rep, minlength=kk).astype(np.float64)[rep]
    a_r, b_r = np.bincount(rep, weights=a, minlength=kk)[rep], np.bincount(rep, weights=b, minlength=kk)[rep]
    ok = m_r > 1
    grow = np.where(ok, m_r / np.maximum(m_r - 1, 1), 0.0)  # the others of the stratum stand in for the unit
    a_i = big_a - a_r + grow * (a_r - a)
    b_i = big_b - b_r + grow * (b_r - b)
    r_i = np.where(ok & (b_i > 0), a_i / np.where(b_i > 0, b_i, 1.0), r)
    r_bar = (np.bincount(rep, weights=r_i, minlength=kk) / np.maximum(np.bincount(rep, minlength=kk), 1))[rep]
    n_h = (np.bincount(stratum, weights=big_n, minlength=k) / np.maximum(m_h, 1))[stratum]
    fpc = np.where(single, 1.0, 1.0 - m_h[stratum] / np.maximum(n_h, 1.0))
    var = float((fpc * np.where(ok, (m_r - 1) / np.maximum(m_r, 1), 0.0) * (r_i - r_bar) ** 2).sum())
    if (~ok).any():  # a lone label in its group: its linearized contribution, squared (conservative)
        u = w * d * x * (y - r) / big_b
        var += float((u[~ok] ** 2).sum())
    se = math.sqrt(max(var, 0.0))
    zq = float(norm.ppf(0.5 + confidence / 2))
    if interval == "normal":
        return Estimate(r, r - zq * se, r + zq * se, n_dom, None, se)
    n_eff = r * (1 - r) / var if var > 0 and 0 < r < 1 else float(n_dom)
    if n_dom < SMALL_DOMAIN:
        n_eff = min(n_eff, float(n_dom))
    lo, hi = wilson_interval(r, n_eff, zq)
    return Estimate(r, lo, hi, n_dom, n_eff, se)


# ----------------------------------------------------------------------------- the night's table
def design_units(
    labels: pl.DataFrame,
    documents: pl.DataFrame,
    sample: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, list[str], dict]:
    """One row per labelled design document of the night, with its stratum size and memberships.

    ``labels``: aggregated labels (``winnow.model.train.aggregate_labels``) of the night.
    ``documents``: the night's documents, one row each: ``doc_id``, ``status``
    (kept/rejected), ``drop_family``, ``in_curated``, ``model_dropped``, ``n_tokens``.
    ``sample``: the night's ``annotation_sample`` (stratum sizes); without it, ``N_h`` is
    estimated as labels / inclusion probability.

    Returns the units, problems (labels that could not be used, with why) and coverage info.
    """
    problems: list[str] = []
    design = labels.filter(pl.col("sample_kind").is_in(DESIGN_KINDS))
    bad = design.filter(
        pl.col("stratum").is_null()
        | pl.col("inclusion_prob").is_null()
        | (pl.col("inclusion_prob") <= 0)
        | (pl.col("inclusion_prob") > 1)
    )
    for row in bad.head(20).iter_rows(named=True):
        problems.append(
            f"label of {row['doc_id']}: stratum {row['stratum']!r} / inclusion_prob "
            f"{row['inclusion_prob']!r} unusable (needs a stratum and 0 < p <= 1); left out of estimates"
        )
    design = design.join(bad.select("doc_id"), on="doc_id", how="anti")
    units = design.join(documents, on="doc_id", how="left")
    lost = units.filter(pl.col("status").is_null())
    for row in lost.head(20).iter_rows(named=True):
        problems.append(f"label of {row['doc_id']}: not among the night's scored documents; left out of estimates")
    if lost.height > 20:
        problems.append(f"... {lost.height - 20} more labels not among the night's documents")
    units = units.filter(pl.col("status").is_not_null())
    m_h = units.group_by("stratum").agg(m_h=pl.len(), pi=pl.col("inclusion_prob").mean())
    info: dict = {"strata_labelled": m_h.height}
    usable = sample is not None and sample.height and {"stratum", "stratum_size"} <= set(sample.columns)
    if usable and not set(m_h["stratum"].to_list()) <= set(sample["stratum"].to_list()):
        # the night was re-scored and re-sampled after these labels were drawn: other strata now
        usable = False
        info["note"] = (
            "annotation_sample was re-drawn after labelling (its strata differ from the labels'): "
            "stratum sizes estimated from inclusion_prob"
        )
    if usable:
        sizes = (
            sample.filter(pl.col("sample_kind").is_in(DESIGN_KINDS))
            .group_by("stratum")
            .agg(N_h=pl.col("stratum_size").first().cast(pl.Float64), n_h=pl.len())
        )
        m_h = m_h.join(sizes, on="stratum", how="left").with_columns(
            N_h=pl.coalesce(pl.col("N_h"), pl.col("m_h") / pl.col("pi"))
        )
        pop = pl.col("stratum").str.split(":").list.first()
        all_sizes = sizes.with_columns(_pop=pop).group_by("_pop").agg(N_all=pl.col("N_h").sum())
        lab_sizes = m_h.with_columns(_pop=pop).group_by("_pop").agg(N_lab=pl.col("N_h").sum())
        cov = lab_sizes.join(all_sizes, on="_pop", how="left").with_columns(
            adj=pl.when(pl.col("N_all") > 0).then(pl.col("N_all") / pl.col("N_lab")).otherwise(1.0)
        )
        info["coverage"] = {
            r["_pop"]: round(float(r["N_lab"] / r["N_all"]), 4) if r["N_all"] else None
            for r in cov.iter_rows(named=True)
        }
        info["strata_sampled"] = sizes.height
        info["labelled_of_sampled"] = f"{units.height}/{int(sizes['n_h'].sum())}"
        # weighting-class adjustment: strata without labels are represented by their population's other strata
        m_h = (
            m_h.with_columns(_pop=pop)
            .join(cov.select("_pop", "adj"), on="_pop", how="left")
            .with_columns(N_h=pl.col("N_h") * pl.col("adj").fill_null(1.0))
            .drop("_pop", "adj")
        )
    else:
        m_h = m_h.with_columns(N_h=pl.col("m_h") / pl.col("pi"))
        info["coverage"] = "unknown (no matching annotation_sample): stratum sizes estimated from inclusion_prob"
    units = (
        units.join(m_h.select("stratum", "N_h"), on="stratum", how="left")
        .with_columns(
            population=pl.col("stratum").str.split(":").list.first(),
            _code=pl.col("stratum").rank("dense").cast(pl.Int64) - 1,
        )
        .with_columns(_group=pl.col("population").rank("dense").cast(pl.Int64) - 1)
    )
    return units, problems, info


def _domains(units: pl.DataFrame) -> list[tuple[str, str, pl.Expr]]:
    out: list[tuple[str, str, pl.Expr]] = [
        ("raw", "keep_share", pl.lit(True)),
        ("kept", "keep_share", pl.col("status") == "kept"),
        ("curated", "keep_share", pl.col("in_curated").fill_null(False)),
        ("rejected", "keep_share", pl.col("status") == "rejected"),
    ]
    families = sorted({f for f in units.filter(pl.col("status") == "rejected")["drop_family"].to_list() if f})
    for fam in families:
        out.append(
            (f"rejected:{fam}", "false_drop_rate", (pl.col("status") == "rejected") & (pl.col("drop_family") == fam))
        )
    if "model_dropped" in units.columns and units["model_dropped"].fill_null(False).any():
        out.append(("rejected:quality_model", "false_drop_rate", pl.col("model_dropped").fill_null(False)))
    return out


def estimate_table(units: pl.DataFrame, sizes: dict[str, int] | None = None, confidence: float = 0.95) -> pl.DataFrame:
    """The estimates of the night: population, metric, estimate, lower, upper, n_labels, method, ..."""
    rows = []
    sizes = sizes or {}
    if units.height == 0:
        return pl.DataFrame(schema=ESTIMATE_SCHEMA)
    y = units["y"].to_numpy()
    tok = (
        units["n_tokens"].cast(pl.Float64).fill_null(1.0).to_numpy()
        if "n_tokens" in units.columns
        else np.ones(units.height)
    )
    code, big_n, group = units["_code"].to_numpy(), units["N_h"].to_numpy(), units["_group"].to_numpy()
    rating = units["rating_mean"].to_numpy() if "rating_mean" in units.columns else None
    for population, metric, expr in _domains(units):
        d = units.with_columns(expr.fill_null(False).alias("_d"))["_d"].to_numpy().astype(np.float64)
        if d.sum() == 0:
            continue
        est = ratio_estimate(y, np.ones_like(y), d, code, big_n, group, confidence)
        rows.append((population, metric, est, METHOD_WILSON))
        if metric == "keep_share":
            est_t = ratio_estimate(y, tok, d, code, big_n, group, confidence)
            rows.append((population, "token_keep_share", est_t, METHOD_WILSON))
            if rating is not None and np.isfinite(rating[d > 0]).any():
                rd = d * np.isfinite(rating)
                if rd.sum() > 0:
                    est_r = ratio_estimate(
                        np.nan_to_num(rating, nan=0.0),
                        np.ones_like(y),
                        rd,
                        code,
                        big_n,
                        group,
                        confidence,
                        interval="normal",
                    )
                    rows.append((population, "mean_rating", est_r, METHOD_NORMAL))
    return pl.DataFrame(
        [
            {
                "population": p,
                "metric": m,
                "estimate": e.estimate,
                "lower": e.lower,
                "upper": e.upper,
                "n_labels": e.n_labels,
                "method": meth,
                "n_eff": e.n_eff,
                "population_size": sizes.get(p),
            }
            for p, m, e, meth in rows
        ],
        schema=ESTIMATE_SCHEMA,
    )


def night_documents(
    scored: pl.LazyFrame, curated_ids: pl.LazyFrame | None, label_ids: list[str]
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The labelled documents' memberships (status, family, curated, model-dropped, tokens) and population sizes."""
    names = scored.collect_schema().names()
    status = pl.col("status") if "status" in names else pl.lit("kept")
    family = pl.col("drop_family") if "drop_family" in names else pl.lit(None, dtype=pl.String)
    model_drop = (
        (pl.col("model_keep").fill_null(True).not_() & (status == "kept")) if "model_keep" in names else pl.lit(False)
    )
    base = scored.select(
        "doc_id",
        status.alias("status"),
        family.alias("drop_family"),
        model_drop.alias("model_dropped"),
        *(["text"] if "text" in names else []),
        *(["n_tokens"] if "n_tokens" in names else []),
    )
    counts = (
        scored.select(raw=pl.len(), kept=(status == "kept").sum(), rejected=(status == "rejected").sum())
        .collect()
        .row(0, named=True)
    )
    sizes = {k: int(v) for k, v in counts.items()}
    ids = pl.DataFrame({"doc_id": label_ids}, schema={"doc_id": pl.String}).lazy()
    docs = base.join(ids, on="doc_id", how="semi")
    if curated_ids is not None:
        cur = curated_ids.select("doc_id").unique()
        docs = docs.join(cur.with_columns(in_curated=pl.lit(True)), on="doc_id", how="left")
        sizes["curated"] = int(cur.select(pl.len()).collect().item())
    else:
        docs = docs.with_columns(in_curated=pl.lit(None, dtype=pl.Boolean))
    if "model_keep" in names:
        sizes["rejected:quality_model"] = int(scored.select(model_drop.sum()).collect().item())
    if "drop_family" in names:
        fam = scored.filter(status == "rejected").group_by("drop_family").agg(n=pl.len()).collect()
        sizes |= {f"rejected:{f}": int(n) for f, n in fam.iter_rows() if f}
    docs = docs.collect().unique("doc_id", keep="first")  # type: ignore[assignment]
    from winnow.model.train import with_tokens

    docs = with_tokens(docs).drop("text", strict=False)  # type: ignore[arg-type,assignment]
    return docs, sizes  # type: ignore[return-value]
