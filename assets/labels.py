"""Annotation stage, unpartitioned: labels pulled from Label Studio and agreement."""

import io
from datetime import datetime, timedelta, timezone

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, table_md
from assets.resources import LabelStudioResource, RecipeResource
from schemas.documents import ANNOTATION_SCHEMA
from winnow.annotation.agreement import agreement_report
from winnow.annotation.parse import EXTRA
from winnow.annotation.pull import pull_annotations
from winnow.paths import optional_table

OWNERS = ["team:annotation"]

#: Asset check names (module constants, so tests and the UI agree).
AGREEMENT_CHECK = "agreement_alpha_at_least_min"

TABLE_SCHEMA = {**ANNOTATION_SCHEMA, **EXTRA, "task_updated_at": pl.Datetime("us", "UTC")}


def _previous() -> pl.DataFrame | None:
    lf = optional_table("annotations")
    return lf.collect() if lf is not None else None


@dg.asset(
    group_name="annotate",
    owners=OWNERS,
    kinds={"labelstudio", "polars", "parquet"},
    deps=["label_studio_tasks"],
    description="Human labels pulled from Label Studio: one row per (task, annotator) with doc_id, decision "
    "(keep/drop), rating 1-5, issue tags, comment, lead time, timestamps, and the sample's stratum, inclusion "
    "probability and sample kind. Pulled incrementally (only tasks updated since the last pull); an updated "
    "annotation replaces the older one. Materialized by the annotation sensor's job, never by the nightly run.",
)
def annotations(context: dg.AssetExecutionContext, recipe: RecipeResource, label_studio: LabelStudioResource):
    r = recipe.load()
    previous = _previous()
    client = label_studio.client(r)
    if client is None:
        msg = "Label Studio is not configured: nothing pulled (start it with `scripts/labelstudio.sh start`)."
        context.log.warning(msg)
        out = previous if previous is not None else pl.DataFrame(schema=TABLE_SCHEMA)
        return dg.Output(out, metadata={"dagster/row_count": out.height, "status": "skipped: not configured",
                                        "warning": msg})
    try:
        client.wait_healthy()
        project_id = client.find_project(r.annotation.project_title)
        if project_id is None:
            out = previous if previous is not None else pl.DataFrame(schema=TABLE_SCHEMA)
            return dg.Output(out, metadata={"dagster/row_count": out.height,
                                            "status": f"no project titled {r.annotation.project_title!r} yet"})
        table, stats = pull_annotations(client, project_id, previous,
                                        timedelta(seconds=r.annotation.pull_safety_margin_s))
    finally:
        client.close()
    table = table.select([pl.col(c).cast(t) for c, t in TABLE_SCHEMA.items()])
    if stats.report.problems:
        context.log.warning(f"{len(stats.report.problems)} annotations look incomplete: "
                            + "; ".join(stats.report.problems[:5]))
    by_decision = table.group_by("decision").agg(rows=pl.len()).sort("decision")
    return dg.Output(table, metadata={
        "dagster/row_count": table.height,
        "status": "pulled",
        "project_id": project_id,
        "pulled_since": str(stats.since) if stats.since else "beginning",
        "changed_tasks": stats.changed_tasks,
        "fresh_rows": stats.fresh_rows,
        "skipped_cancelled": stats.report.cancelled,
        "problems": "\n".join(stats.report.problems[:50]) or "none",
        "pull_seconds": round(stats.seconds, 3),
        "documents_labelled": table["doc_id"].n_unique(),
        "annotators": table["annotator"].n_unique(),
        "by_decision": table_md(by_decision),
        "preview": preview(table.with_columns(pl.col("tags").list.join(", ")),
                           ["doc_id", "annotator", "decision", "rating", "tags", "sample_kind", "updated_at"]),
    })


def _kappa_chart(pairwise: pl.DataFrame) -> bytes | None:
    if pairwise.height == 0:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 0.5 + 0.35 * pairwise.height))
    labels = [f"{a} / {b}" for a, b in zip(pairwise["annotator_a"], pairwise["annotator_b"])]
    ax.barh(labels, pairwise["cohen_kappa"].fill_null(0).to_list(), color="#4c78a8")
    ax.set_xlim(-1, 1)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("Cohen's kappa (keep/drop) on shared items")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


@dg.asset(
    group_name="annotate",
    owners=OWNERS,
    kinds={"polars"},
    description="Inter-annotator agreement on the overlap items (tasks labelled by two or more annotators): "
    "Cohen's kappa and Krippendorff's alpha (nominal) on keep/drop, alpha (interval) on the rating; per-annotator "
    "counts and the disagreement list in metadata. Its check warns below the recipe's annotation.min_alpha.",
    check_specs=[dg.AssetCheckSpec(
        AGREEMENT_CHECK, asset="annotator_agreement",
        description="Krippendorff's alpha on keep/drop is at least annotation.min_alpha (warns; judged once "
        "annotation.min_overlap_items overlap items exist).",
    )],
)
def annotator_agreement(context: dg.AssetExecutionContext, recipe: RecipeResource, annotations: pl.LazyFrame):
    cfg = recipe.load().annotation
    ann = annotations.collect()
    rep = agreement_report(ann)
    summary = pl.DataFrame([{
        "cohen_kappa": rep["cohen_kappa"],
        "krippendorff_alpha": rep["krippendorff_alpha"],
        "krippendorff_alpha_rating": rep["krippendorff_alpha_rating"],
        "n_overlap_items": rep["n_overlap_items"],
        "n_annotators": rep["n_annotators"],
        "n_annotations": ann.height,
        "min_alpha": cfg.min_alpha,
        "computed_at": datetime.now(timezone.utc),
    }], schema={"cohen_kappa": pl.Float64, "krippendorff_alpha": pl.Float64,
                "krippendorff_alpha_rating": pl.Float64, "n_overlap_items": pl.Int64, "n_annotators": pl.Int64,
                "n_annotations": pl.Int64, "min_alpha": pl.Float64, "computed_at": pl.Datetime("us", "UTC")})

    def _f(v):
        return None if v is None else round(float(v), 4)

    metadata = {
        "dagster/row_count": 1,
        "cohen_kappa": _f(rep["cohen_kappa"]),
        "krippendorff_alpha": _f(rep["krippendorff_alpha"]),
        "krippendorff_alpha_rating": _f(rep["krippendorff_alpha_rating"]),
        "n_overlap_items": rep["n_overlap_items"],
        "per_annotator": table_md(rep["per_annotator"]),
        "pairwise": table_md(rep["pairwise"]),
        "disagreements": table_md(rep["disagreements"].head(50)),
        "n_disagreements": rep["disagreements"].height,
    }
    metadata = {k: v for k, v in metadata.items() if v is not None}
    chart = _kappa_chart(rep["pairwise"])
    if chart:
        metadata["kappa_chart"] = png_md(chart, "pairwise kappa")
    yield dg.Output(summary, metadata=metadata)

    alpha, n = rep["krippendorff_alpha"], rep["n_overlap_items"]
    if n < cfg.min_overlap_items or alpha is None:
        passed, why = True, f"not judged yet: {n} overlap items (< {cfg.min_overlap_items}) or alpha undefined"
    else:
        passed = alpha >= cfg.min_alpha
        why = f"alpha {alpha:.3f} {'>=' if passed else '<'} min_alpha {cfg.min_alpha} on {n} overlap items"
    yield dg.AssetCheckResult(
        check_name=AGREEMENT_CHECK, passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"reason": why, "n_overlap_items": n, **({"alpha": round(alpha, 4)} if alpha is not None else {})},
    )
