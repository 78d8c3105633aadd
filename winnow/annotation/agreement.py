"""Inter-annotator agreement on the overlap items.

* Cohen's kappa for a pair of annotators (their shared items).
* Krippendorff's alpha (nominal or interval) for any number of annotators and
  missing values, from the coincidence matrix (Krippendorff 2011, "Computing
  Krippendorff's Alpha-Reliability").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC
from itertools import combinations, permutations

import polars as pl


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters over the same items (None when undefined)."""
    if len(a) != len(b):
        raise ValueError("cohen_kappa: both raters need the same number of items")
    n = len(a)
    if n == 0:
        return None
    po = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    pe = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if pe == 1:
        return 1.0 if po == 1 else None
    return (po - pe) / (1 - pe)


def krippendorff_alpha(
    units: Mapping[Hashable, Sequence[Hashable | None]] | Sequence[Sequence[Hashable | None]], metric: str = "nominal"
) -> float | None:
    """Krippendorff's alpha; ``units`` maps each item to the values its raters gave.

    ``None`` values are missing. Only items with at least two values count ("pairable").
    ``metric`` is "nominal" or "interval" (numeric values). None when undefined.
    """
    values_by_unit = units.values() if isinstance(units, Mapping) else units
    coinc: dict[tuple, float] = defaultdict(float)
    for vals in values_by_unit:
        vs = [v for v in vals if v is not None]
        m = len(vs)
        if m < 2:
            continue
        for i, j in permutations(range(m), 2):
            coinc[(vs[i], vs[j])] += 1.0 / (m - 1)
    if not coinc:
        return None
    n_c: dict[Hashable, float] = defaultdict(float)
    for (c, _k), w in coinc.items():
        n_c[c] += w
    n = sum(n_c.values())
    if n <= 1:
        return None
    if metric == "nominal":

        def delta(c: Hashable, k: Hashable) -> float:
            return 0.0 if c == k else 1.0
    elif metric == "interval":

        def delta(c: Hashable, k: Hashable) -> float:
            return (float(c) - float(k)) ** 2  # type: ignore[arg-type]
    else:
        raise ValueError(f"unknown metric {metric!r} (nominal | interval)")
    d_o = sum(w * delta(c, k) for (c, k), w in coinc.items()) / n
    cats = list(n_c)
    d_e = sum(n_c[c] * n_c[k] * delta(c, k) for c in cats for k in cats) / (n * (n - 1))
    if d_e == 0:
        return 1.0 if d_o == 0 else None
    return 1.0 - d_o / d_e


def agreement_report(ann: pl.DataFrame, value: str = "decision") -> dict:
    """Agreement on items labelled by two or more annotators.

    Returns ``cohen_kappa`` (the pair's kappa when two annotators share items; with
    more, the mean of pairwise kappas weighted by shared items, documented as such),
    ``krippendorff_alpha`` (nominal, on ``value``), ``krippendorff_alpha_rating``
    (interval, on ``rating``), ``n_overlap_items``, ``pairwise`` (a frame),
    ``per_annotator`` (a frame) and ``disagreements`` (a frame of items whose
    decisions differ).
    """
    cols = ["doc_id", "task_id", "annotator", value, "rating"]
    a = ann.select([c for c in cols if c in ann.columns]).filter(pl.col(value).is_not_null())
    per_item = (
        a.group_by("task_id")
        .agg(
            pl.col("doc_id").first(),
            pl.col("annotator"),
            pl.col(value),
            pl.col("rating"),
            n=pl.col("annotator").n_unique(),
        )
        .filter(pl.col("n") >= 2)
        .sort("task_id")
    )
    units = {r["task_id"]: r[value] for r in per_item.iter_rows(named=True)}
    ratings = {r["task_id"]: r["rating"] for r in per_item.iter_rows(named=True)}
    by_pair: dict[tuple[str, str], tuple[list, list]] = defaultdict(lambda: ([], []))
    for r in per_item.iter_rows(named=True):
        labelled = dict(zip(r["annotator"], r[value]))
        for x, y in combinations(sorted(labelled), 2):
            by_pair[(x, y)][0].append(labelled[x])
            by_pair[(x, y)][1].append(labelled[y])
    pair_rows = [
        {
            "annotator_a": x,
            "annotator_b": y,
            "shared_items": len(va),
            "agreement": sum(p == q for p, q in zip(va, vb)) / len(va),
            "cohen_kappa": cohen_kappa(va, vb),
        }
        for (x, y), (va, vb) in sorted(by_pair.items())
    ]
    pairwise = pl.DataFrame(
        pair_rows,
        schema={
            "annotator_a": pl.String,
            "annotator_b": pl.String,
            "shared_items": pl.Int64,
            "agreement": pl.Float64,
            "cohen_kappa": pl.Float64,
        },
    )
    defined = pairwise.filter(pl.col("cohen_kappa").is_not_null())
    kappa = None
    if defined.height:
        kappa = float((defined["cohen_kappa"] * defined["shared_items"]).sum() / defined["shared_items"].sum())  # type: ignore[operator]
    per_annotator = (
        ann.group_by("annotator")
        .agg(
            annotations=pl.len(),
            keep=(pl.col(value) == "keep").sum(),
            drop=(pl.col(value) == "drop").sum(),
            mean_rating=pl.col("rating").mean(),
            overlap_items=pl.col("task_id").is_in(per_item["task_id"].implode()).sum(),
            **({"median_lead_time_s": pl.col("lead_time_s").median()} if "lead_time_s" in ann.columns else {}),
        )
        .sort("annotator")
    )
    disagreements = per_item.filter(pl.col(value).list.n_unique() > 1).select(
        "doc_id",
        "task_id",
        pl.col("annotator").list.join(", ").alias("annotators"),
        pl.col(value).list.join(", ").alias(value + "s"),
    )
    return {
        "cohen_kappa": kappa,
        "krippendorff_alpha": krippendorff_alpha(units, "nominal"),
        "krippendorff_alpha_rating": krippendorff_alpha(
            {k: [v for v in vs if v is not None] for k, vs in ratings.items()}, "interval"
        ),
        "n_overlap_items": per_item.height,
        "n_annotators": ann["annotator"].n_unique() if ann.height else 0,
        "pairwise": pairwise,
        "per_annotator": per_annotator,
        "disagreements": disagreements,
    }


AGREEMENT_SCHEMA = {
    "cohen_kappa": pl.Float64,
    "krippendorff_alpha": pl.Float64,
    "krippendorff_alpha_rating": pl.Float64,
    "n_overlap_items": pl.Int64,
    "n_annotators": pl.Int64,
    "n_annotations": pl.Int64,
    "min_alpha": pl.Float64,
    "computed_at": pl.Datetime("us", "UTC"),
}


def agreement_summary(rep: dict, n_annotations: int, min_alpha: float) -> pl.DataFrame:
    """The agreement report as the one-row table the annotator_agreement asset stores."""
    from datetime import datetime

    return pl.DataFrame(
        [
            {
                "cohen_kappa": rep["cohen_kappa"],
                "krippendorff_alpha": rep["krippendorff_alpha"],
                "krippendorff_alpha_rating": rep["krippendorff_alpha_rating"],
                "n_overlap_items": rep["n_overlap_items"],
                "n_annotators": rep["n_annotators"],
                "n_annotations": n_annotations,
                "min_alpha": min_alpha,
                "computed_at": datetime.now(UTC),
            }
        ],
        schema=AGREEMENT_SCHEMA,  # type: ignore[arg-type]
    )


def accuracy_vs_consensus(ann: pl.DataFrame, value: str = "decision") -> pl.DataFrame:
    """Each annotator's agreement with the others on shared items, per night (drift shows across nights).

    The consensus an annotator is judged against leaves their own label out: the majority
    of the other annotators of the item (ties are skipped), so with two annotators it is
    the partner's label.
    """
    cols = {"doc_id", "task_id", "annotator", value}
    schema = {"annotator": pl.String, "partition": pl.String, "judged_labels": pl.Int64, "accuracy": pl.Float64}
    if not cols <= set(ann.columns) or ann.height == 0:
        return pl.DataFrame(schema=schema)
    night = pl.col("partition") if "partition" in ann.columns else pl.lit(None, dtype=pl.String)
    a = ann.filter(pl.col(value).is_not_null()).select("task_id", "annotator", value, night.alias("partition"))
    keep = (pl.col(value) == "keep").cast(pl.Int64)
    totals = a.group_by("task_id").agg(n=pl.len(), k=keep.sum())
    judged = (
        a.join(totals, on="task_id")
        .filter(pl.col("n") >= 2)
        .with_columns(
            others_keep=pl.col("k") - keep,
            others=pl.col("n") - 1,
        )
        .filter(pl.col("others_keep") * 2 != pl.col("others"))
        .with_columns(consensus=pl.when(pl.col("others_keep") * 2 > pl.col("others")).then(1).otherwise(0))
    )
    return (
        judged.group_by("annotator", "partition")
        .agg(judged_labels=pl.len(), accuracy=(keep == pl.col("consensus")).mean())
        .sort("annotator", "partition")
        .cast(schema)  # type: ignore[arg-type]
    )


def anchoring(ann: pl.DataFrame, sample: pl.DataFrame | None, value: str = "decision") -> pl.DataFrame:
    """How often labels agree with the pipeline's own verdict, blind against pre-annotated.

    The verdict is what a pre-annotation would have said (keep iff the score at push
    time >= 0.5). Blind labels agreeing far less often than pre-annotated ones is the
    anchoring the blind probability sample avoids; the two groups are different documents
    (active ones are the uncertain), so read the gap as an upper bound on the effect.
    """
    schema = {"labels": pl.String, "n": pl.Int64, "agree_with_pipeline": pl.Float64}
    if sample is None or ann.height == 0 or "quality_score" not in sample.columns or value not in ann.columns:
        return pl.DataFrame(schema=schema)
    pre = pl.col("pre_annotated") if "pre_annotated" in ann.columns else pl.col("sample_kind") == "active"
    verdict = sample.select("doc_id", machine=pl.col("quality_score") >= 0.5).unique("doc_id")
    joined = ann.join(verdict, on="doc_id", how="inner").filter(pl.col(value).is_not_null())
    return (
        joined.with_columns(
            labels=pl.when(pre.fill_null(False)).then(pl.lit("pre-annotated")).otherwise(pl.lit("blind"))
        )
        .group_by("labels")
        .agg(n=pl.len(), agree_with_pipeline=((pl.col(value) == "keep") == pl.col("machine")).mean())
        .sort("labels")
        .cast(schema)  # type: ignore[arg-type]
    )
