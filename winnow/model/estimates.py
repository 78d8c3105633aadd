"""Design-based estimates of dataset quality from the human sample, with 95% intervals.

The night's annotation sample is a stratified simple random sample: stratum ``h`` (of
``N_h`` documents) gave ``n_h`` documents. Only ``sample_kind`` "random" and "rejected"
labels enter; "active" labels are not a probability sample and only train the model.
docs/statistics.md has the derivations and the simulations behind each choice.

**Partial labelling.** Tasks are pushed in a random order (a hash of ``doc_id``), so the
``m_h`` labels a stratum has so far are a random subsample of its ``n_h``: each weighs
``N_h / m_h``. A sampled stratum with no label yet is not assumed to look like the
others: its documents' share is only known to lie in [0, 1], so the interval runs from
the estimate with all of them bad to the one with all of them good, widened by the
Imbens-Manski critical value (it covers every point of that set at 95%). ``labelled_share``
and ``unlabelled_strata_share`` say how much of each population this concerns.

**Estimator.** For a population (domain) ``D``, the human-keep share is the ratio
``R = sum(w d x y) / sum(w d x)``: ``y`` the document's share of keep votes, ``d`` = 1 in
``D``, ``x`` = 1 (share of documents) or its BPE token count (share of tokens).

**Variance** by linearization, ``V = sum_h (1 - m_h/N_h) N_h^2 s_h^2 / m_h`` with ``s_h^2``
the within-stratum variance of ``u = d x (y - R) / sum(w d x)``. A thin stratum's ``s_h^2``
is shrunk toward the variance a bounded ``y`` at the population's share would have,
with ``SHRINK`` (1) pseudo-label: a stratum whose few labels agree (``s_h^2 = 0``) no
longer claims to be certain, and a lone label needs no collapsing. Token counts are
heavy-tailed, so for token shares the variance is also scaled by ``tail_factor``.

**Interval.** Wilson's score interval at the design effective sample size
``n_eff = R (1 - R) / V``; when ``V`` is numerical noise (below ``REL_TOL`` of the
binomial variance) or ``R`` is 0 or 1, Kish's ``n_eff = (sum w)^2 / sum w^2``. The
variance of a share rests on its minority labels (the defects, when they are rare), so
with few of them ``n_eff`` leans on Kish's: ``1/n_eff = lam/kish + (1 - lam)/n_var``,
``lam = MINORITY / (MINORITY + minority labels)``. No cap and no cliff at any number of
labels.

**Populations** (``population`` column): ``raw`` (every document of the night: both
kept and rejected strata), ``kept`` (kept by the filters), ``curated`` (in
``curated_documents``: kept, deduplicated, over the model threshold), ``rejected``
(removed by a filter), ``rejected:<family>`` per filter family and
``rejected:quality_model`` (filter-kept documents under the model threshold); the last
ones carry the metric ``false_drop_rate`` (the human-keep share of what was dropped).
The model decides ``curated`` and ``rejected:quality_model``, so only held-out labels
(``holdout``: never trained or calibrated on) measure them (``labels_used``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import brentq
from scipy.stats import norm

DESIGN_KINDS = ("random", "rejected")
METHOD_WILSON = "stratified ratio estimator, Wilson interval at design effective n"
METHOD_TOKENS = (
    "stratified ratio estimator; interval: union of a heavy-tail-scaled Wilson and a log-normal (Cox) logit interval"
)
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
    "labelled_share": pl.Float64,
    "unlabelled_strata_share": pl.Float64,
    "labels_used": pl.String,
}


#: pseudo-labels at the domain's own share that each stratum's variance is shrunk with (see module doc)
SHRINK = 2.0
#: a variance this small relative to r(1 - r) / n is numerical noise: the Kish n_eff is used instead
REL_TOL = 1e-9
#: minority labels at which the variance-based and Kish's effective n weigh equally
MINORITY = 5.0
#: the most the heavy-tail correction may scale a variance (see ``tail_factor``)
MAX_TAIL = 25.0


@dataclass(frozen=True)
class Estimate:
    estimate: float | None
    lower: float | None
    upper: float | None
    n_labels: int
    n_eff: float | None
    se: float | None
    #: design-weighted share of the domain's sampled documents that carry a label (1.0: fully labelled)
    labelled_share: float | None = None
    #: the domain's share, by weight, in sampled strata with no label yet (bounded, not imputed)
    unlabelled_share: float = 0.0


def wilson_interval(p: float, n: float, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed on ``n`` (possibly fractional) trials."""
    if not n > 0 or not math.isfinite(p):
        return 0.0, 1.0
    p = min(1.0, max(0.0, p))
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class _Fit:
    r: float
    var: float
    kish: float
    n_eff: float


def _fit(y, x, d, stratum, big_n, use, k, bounds=(0.0, 1.0)) -> _Fit | None:
    """Ratio, shrunken linearization variance and effective n over the ``use`` units."""
    s, yy, xx, dd, nn = stratum[use], y[use], x[use], d[use], big_n[use]
    m_h = np.bincount(s, minlength=k).astype(np.float64)
    m = m_h[s]
    w = nn / m
    b_i = w * dd * xx
    big_b = float(b_i.sum())
    if big_b <= 0:
        return None
    r = float((b_i * yy).sum() / big_b)
    u = dd * xx * (yy - r) / big_b
    sum_u = np.bincount(s, weights=u, minlength=k)
    ss = np.bincount(s, weights=u * u, minlength=k) - sum_u**2 / np.maximum(m_h, 1)
    q = np.bincount(s, weights=(dd * xx / big_b) ** 2, minlength=k) / np.maximum(m_h, 1)
    n_h = np.bincount(s, weights=nn, minlength=k) / np.maximum(m_h, 1)
    spread = max((r - bounds[0]) * (bounds[1] - r), 0.0)  # Bhatia-Davis: the most a bounded y can vary
    s2 = (np.maximum(ss, 0.0) + SHRINK * spread * q) / np.maximum(m_h - 1 + SHRINK, 1e-12)
    fpc = np.clip(1.0 - m_h / np.maximum(n_h, 1.0), 0.0, 1.0)
    var = float(np.where(m_h > 0, fpc * n_h**2 * s2 / np.maximum(m_h, 1), 0.0).sum())
    var *= tail_factor(xx[dd > 0], w[dd > 0], s[dd > 0])
    kish = big_b**2 / float((b_i**2).sum())
    ref = spread / max(kish, 1.0)
    n_eff = spread / var if var > REL_TOL * max(ref, 1e-300) and spread > 0 else kish
    # the variance (so n_eff) rests on the minority labels: with few of them, lean on Kish's n
    if bounds == (0.0, 1.0):
        minority = max(0.0, float(min((dd * yy).sum(), (dd * (1 - yy)).sum())))
        lam = MINORITY / (MINORITY + minority)
        n_eff = 1.0 / (lam / kish + (1 - lam) / n_eff)
    return _Fit(r, var, kish, n_eff)


def tail_factor(x: np.ndarray, w: np.ndarray, stratum: np.ndarray) -> float:
    """How much a heavy-tailed size's second moment exceeds what the sample shows (>= 1).

    The sample mean of ``x**2`` is usually far below the population's when sizes are
    heavy-tailed (token counts are close to log-normal): the long documents that carry
    the variance are rarely drawn, so variances of token shares come out too small and
    intervals too narrow, on the optimistic side. A log-normal fitted to ``log x`` within
    strata (each stratum its own scale, one pooled spread, so short web pages and long
    manuals in other strata do not count as a tail) gives the second moment the tail
    implies; its ratio to the one the sample shows, capped at ``MAX_TAIL``, scales the
    variance. Constant sizes (document shares) give 1.
    """
    ok = x > 0
    codes = np.unique(stratum[ok], return_inverse=True)[1]
    dof = int(ok.sum()) - (int(codes.max()) + 1 if codes.size else 0)
    if dof < 2:
        return 1.0
    lx, ww = np.log(x[ok]), w[ok]
    mu = np.bincount(codes, weights=lx) / np.bincount(codes)
    dev = lx - mu[codes]
    s2 = float((dev**2).sum()) / dof
    observed = float(np.average(np.exp(2 * dev), weights=ww))
    implied = math.exp(2 * s2)
    return float(min(MAX_TAIL, max(1.0, implied / observed))) if observed > 0 else 1.0


def _im_z(width: float, se: float, confidence: float) -> float:
    """Imbens-Manski critical value: covers any point of an identified set ``width`` wide."""
    lo, hi = float(norm.ppf(0.5 + confidence / 2)), float(norm.ppf(confidence))
    if se <= 0 or width <= 0:
        return lo
    ratio = width / se
    return float(brentq(lambda c: norm.cdf(c + ratio) - norm.cdf(-c) - confidence, hi - 1e-9, lo + 1e-9))


def ratio_estimate(
    y: np.ndarray,
    x: np.ndarray,
    d: np.ndarray,
    stratum: np.ndarray,
    big_n: np.ndarray,
    confidence: float = 0.95,
    interval: str = "wilson",
    bounds: tuple[float, float] = (0.0, 1.0),
) -> Estimate:
    """The stratified ratio estimate of ``y`` over domain ``d`` (see module doc).

    One entry per *sampled* design document: ``y`` its keep share (NaN: not labelled yet),
    ``x`` its size (1, or tokens), ``d`` 1 if in the domain, ``stratum`` integer codes and
    ``big_n`` the size N_h of its stratum. ``interval``: "wilson" (proportions) or "normal";
    ``bounds``: the range of ``y`` (a share: 0-1; a rating: 1-5).
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    stratum = np.asarray(stratum, dtype=np.int64)
    big_n = np.asarray(big_n, dtype=np.float64)
    if not (np.isfinite(x[d > 0]).all() and np.isfinite(big_n).all()):
        raise ValueError("ratio_estimate: every sampled domain document needs a finite size and stratum size")
    labelled = np.isfinite(y)
    k = int(stratum.max()) + 1 if stratum.size else 1
    m_h = np.bincount(stratum[labelled], minlength=k)
    bare = (m_h[stratum] == 0) & ~labelled  # in a sampled stratum nobody has labelled yet
    n_dom = int((labelled & (d > 0)).sum())
    base = _fit(np.where(labelled, y, 0.0), x, d, stratum, big_n, labelled, k, bounds) if n_dom else None
    w_all = big_n / np.bincount(stratum, minlength=k)[stratum]
    w_dom = w_all * d * x
    lab_w, bare_w = float(w_dom[labelled].sum()), float(w_dom[bare].sum())
    total_w = float(w_dom.sum())
    share = lab_w / total_w if total_w > 0 else None
    unl = bare_w / (bare_w + lab_w) if bare_w + lab_w > 0 else 0.0
    zq = float(norm.ppf(0.5 + confidence / 2))
    if base is None and bare_w <= 0:
        return Estimate(None, None, None, n_dom, None, None, share, unl)
    if bare_w <= 0:
        assert base is not None
        se = math.sqrt(base.var)
        if interval == "normal":
            lo, hi = max(bounds[0], base.r - zq * se), min(bounds[1], base.r + zq * se)
            return Estimate(base.r, lo, hi, n_dom, None, se, share, 0.0)
        lo, hi = wilson_interval(base.r, base.n_eff, zq)
        # Wilson's bounds hold p exactly; rounding can leave 1.0 a hair above its upper bound
        return Estimate(base.r, min(lo, base.r), max(hi, base.r), n_dom, base.n_eff, se, share, 0.0)
    # strata without labels: their share is anywhere in [0, 1]; bound it (Imbens-Manski), never impute
    use = labelled | bare
    ends = [_fit(np.where(labelled, y, fill), x, d, stratum, big_n, use, k, bounds) for fill in bounds]
    low, high = ends
    assert low is not None and high is not None
    se = max(math.sqrt(low.var), math.sqrt(high.var))
    c = _im_z(high.r - low.r, se, confidence)
    if interval == "normal":
        lo, hi = max(bounds[0], low.r - c * math.sqrt(low.var)), min(bounds[1], high.r + c * math.sqrt(high.var))
    else:
        lo, hi = wilson_interval(low.r, low.n_eff, c)[0], wilson_interval(high.r, high.n_eff, c)[1]
    point = base.r if base is not None else None
    if point is not None:
        lo, hi = min(lo, point), max(hi, point)
    return Estimate(point, lo, hi, n_dom, base.n_eff if base is not None else None, se, share, unl)


# ----------------------------------------------------------------------------- the night's table
def design_units(
    labels: pl.DataFrame,
    documents: pl.DataFrame,
    sample: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, list[str], dict]:
    """One row per sampled design document of the night: stratum size, label (null if none yet), memberships.

    ``labels``: aggregated labels (``winnow.model.train.aggregate_labels``) of the night.
    ``documents``: the night's sampled documents, one row each: ``doc_id``, ``status``
    (kept/rejected), ``drop_family``, ``in_curated``, ``model_dropped``, ``n_tokens``.
    ``sample``: the night's ``annotation_sample`` (``doc_id``, ``stratum``,
    ``stratum_size``, ``sample_kind``, ``holdout``). Without it only the labelled
    documents are known, and ``N_h`` is the labels' ``stratum_size`` (else
    ``stratum_sample_size / inclusion_prob``, else labels / inclusion probability, which
    is only right for a fully labelled stratum; a problem says so).

    Returns the units, problems (labels that could not be used, with why) and coverage info.
    """
    problems: list[str] = []
    design = labels.filter(pl.col("sample_kind").is_in(DESIGN_KINDS))
    bad = design.filter(
        pl.col("stratum").is_null()
        | pl.col("inclusion_prob").is_null()
        | (pl.col("inclusion_prob") <= 0)
        | (pl.col("inclusion_prob") > 1)
        | pl.col("y").is_nan()
    )
    for row in bad.head(20).iter_rows(named=True):
        problems.append(
            f"label of {row['doc_id']}: stratum {row['stratum']!r} / inclusion_prob "
            f"{row['inclusion_prob']!r} / keep share {row['y']!r} unusable (needs a stratum, 0 < p <= 1 and a "
            "finite label); left out of estimates"
        )
    design = design.join(bad.select("doc_id"), on="doc_id", how="anti")
    info: dict = {}
    usable = sample is not None and sample.height > 0 and {"doc_id", "stratum", "stratum_size"} <= set(sample.columns)
    if usable:
        assert sample is not None
        frame = sample.filter(pl.col("sample_kind").is_in(DESIGN_KINDS)) if "sample_kind" in sample.columns else sample
        frame = frame.select(
            "doc_id",
            "stratum",
            pl.col("stratum_size").cast(pl.Float64).alias("N_h"),
            *([pl.col("holdout").cast(pl.Boolean)] if "holdout" in frame.columns else []),
        ).unique("doc_id", keep="first")
        outside = design.join(frame, on="doc_id", how="anti")
        if outside.height:
            # the night was re-scored and re-sampled after these labels were drawn
            problems.append(
                f"{outside.height} labels are of documents not in tonight's annotation_sample (it was re-drawn "
                "after labelling); left out of estimates"
            )
        units = frame.join(design.select("doc_id", "y", "rating_mean"), on="doc_id", how="left")
    else:
        size = pl.col("stratum_size") if "stratum_size" in design.columns else pl.lit(None, dtype=pl.Float64)
        m_h = pl.len().over("stratum")
        units = design.with_columns(N_h=pl.coalesce(size.cast(pl.Float64), m_h / pl.col("inclusion_prob")))
        if "stratum_size" not in design.columns or design["stratum_size"].is_null().any():
            problems.append(
                "no annotation_sample for the night: stratum sizes estimated as labels / inclusion_prob, "
                "right only where every sampled document of a stratum is labelled"
            )
        units = units.select(
            "doc_id", "stratum", "N_h", "y", "rating_mean", *(["holdout"] if "holdout" in units.columns else [])
        )
    if "holdout" not in units.columns:
        units = units.with_columns(holdout=pl.lit(None, dtype=pl.Boolean))
    units = units.join(documents, on="doc_id", how="left")
    lost = units.filter(pl.col("status").is_null())
    for row in lost.head(20).iter_rows(named=True):
        problems.append(f"sampled document {row['doc_id']}: not among the night's scored documents; left out")
    if lost.height > 20:
        problems.append(f"... {lost.height - 20} more sampled documents not among the night's documents")
    units = units.filter(pl.col("status").is_not_null()).with_columns(
        _code=pl.col("stratum").rank("dense").cast(pl.Int64) - 1
    )
    labelled = units["y"].is_not_null()
    info["strata_sampled"] = units["stratum"].n_unique()
    info["strata_labelled"] = units.filter(labelled)["stratum"].n_unique()
    info["labelled_of_sampled"] = f"{int(labelled.sum())}/{units.height}"
    return units, problems, info


#: populations whose membership depends on the quality model: only held-out labels measure them
MODEL_POPULATIONS = ("curated", "rejected:quality_model")


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


def measuring_units(units: pl.DataFrame, model_dependent: bool) -> pl.DataFrame:
    """The units whose labels may measure a population.

    For a population the model decides (``MODEL_POPULATIONS``), only held-out documents
    count: the others' labels trained or calibrated the model. A stratum with no held-out
    document at all keeps its sampled documents, unlabelled, so its weight is bounded
    rather than lost.
    """
    if not model_dependent or units["holdout"].is_null().all():
        return units
    held = units["holdout"].fill_null(False)
    strata_held = set(units.filter(held)["stratum"].to_list())
    keep = held | ~units["stratum"].is_in(list(strata_held))
    return units.filter(keep).with_columns(y=pl.when(pl.col("holdout").fill_null(False)).then(pl.col("y")))


def estimate_table(units: pl.DataFrame, sizes: dict[str, int] | None = None, confidence: float = 0.95) -> pl.DataFrame:
    """The estimates of the night: population, metric, estimate, lower, upper, n_labels, method, ..."""
    rows = []
    sizes = sizes or {}
    if units.height == 0:
        return pl.DataFrame(schema=ESTIMATE_SCHEMA)
    for population, metric, expr in _domains(units):
        part = measuring_units(units, population in MODEL_POPULATIONS)
        d = part.with_columns(expr.fill_null(False).cast(pl.Float64).alias("_d"))["_d"].to_numpy()
        if d.sum() == 0:
            continue
        y = part["y"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        code, big_n = part["_code"].to_numpy(), part["N_h"].to_numpy()
        basis = (
            "held-out labels"
            if population in MODEL_POPULATIONS and not part["holdout"].is_null().all()
            else "all design labels"
        )
        est = ratio_estimate(y, np.ones_like(y), d, code, big_n, confidence)
        rows.append((population, metric, est, METHOD_WILSON, basis))
        if metric != "keep_share":
            continue
        tok = part["n_tokens"].cast(pl.Float64).to_numpy() if "n_tokens" in part.columns else None
        if tok is not None and np.isfinite(tok[d > 0]).all():
            est_t = ratio_estimate(y, tok, d, code, big_n, confidence)
            rows.append((population, "token_keep_share", est_t, METHOD_TOKENS, basis))
        if "rating_mean" in part.columns:
            rating = part["rating_mean"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
            rated = np.isfinite(rating) | ~np.isfinite(y)
            if (np.isfinite(rating) & (d > 0)).any():
                est_r = ratio_estimate(
                    np.where(rated, rating, np.nan), np.ones_like(y), d, code, big_n, confidence,
                    interval="normal", bounds=(1.0, 5.0),
                )  # fmt: skip
                rows.append((population, "mean_rating", est_r, METHOD_NORMAL, basis))
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
                "labelled_share": e.labelled_share,
                "unlabelled_strata_share": e.unlabelled_share,
                "labels_used": basis,
            }
            for p, m, e, meth, basis in rows
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
