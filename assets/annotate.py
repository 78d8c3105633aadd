"""Annotate stage, per night: the human sample and its push to Label Studio."""

import time

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import LabelStudioResource, RecipeResource
from winnow.annotation.ledger import Ledger, ledger_path
from winnow.annotation.push import push_sample
from winnow.annotation.sampling import kept_design, sample_summary, select_sample
from winnow.annotation.tasks import instructions_html, label_config
from winnow.paths import optional_table, winnow_home

OWNERS = ["team:annotation"]

PUSHED_SCHEMA = {
    "doc_id": pl.String(),
    "task_id": pl.Int64(),
    "state": pl.String(),
    "partition": pl.String(),
    "stratum": pl.String(),
    "sample_kind": pl.String(),
    "overlap": pl.Boolean(),
    "project_id": pl.Int64(),
}


def _sample_chart(sample: pl.DataFrame) -> bytes | None:
    """Rows per source and kind (stacked bars), for the Dagster UI."""
    if sample.height == 0:
        return None
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src = sample.with_columns(pl.col("source").fill_null("unknown"))
    table = src.group_by("source", "sample_kind").agg(n=pl.len())
    sources = sorted(table["source"].unique().to_list())
    fig, ax = plt.subplots(figsize=(5.5, 0.6 + 0.4 * len(sources)))
    left = [0] * len(sources)
    for kind, color in (("random", "#4c78a8"), ("rejected", "#e45756"), ("active", "#f58518")):
        counts = dict(table.filter(pl.col("sample_kind") == kind).select("source", "n").iter_rows())
        vals = [counts.get(s, 0) for s in sources]
        ax.barh(sources, vals, left=left, color=color, label=kind)
        left = [a + b for a, b in zip(left, vals)]
    ax.set_xlabel("documents sent for annotation")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


@dg.asset(
    partitions_def=daily_partitions,
    group_name="annotate",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="Tonight's documents for human labelling: a deterministic, stratified sample (population "
    "kept/rejected x source x language x score bucket) of exactly the recipe's fraction per stratum, chosen by "
    "hashing doc_id with the recipe seed; plus a rejected slice, uncertainty-chosen 'active' rows kept apart, "
    "an overlap flag (two annotators) and the nightly budget cap. Each row carries its inclusion probability. "
    "The design is drawn once per night: a rerun (say, after a new model) keeps the stored rows and strata "
    "and refreshes only the scores, unless the night's documents or the sampling config changed.",
)
def annotation_sample(context: dg.AssetExecutionContext, recipe: RecipeResource, scored_documents: pl.LazyFrame):
    r = recipe.load()
    stored = optional_table("annotation_sample", [context.partition_key])
    previous = stored.collect() if stored is not None else None  # read before this run overwrites it
    sample = select_sample(scored_documents, r, previous).collect()
    if previous is None or previous.height == 0:
        design = "drawn"
    elif sample.height and kept_design(previous, sample["design_key"][0]) is not None:
        design = "kept from the night's first draw (same documents and sampling config)"
    else:
        design = "drawn anew: the night's documents or the sampling config changed"
    kinds = sample.group_by("sample_kind").agg(rows=pl.len(), overlap=pl.col("overlap").sum()).sort("sample_kind")
    budget_bound = bool(sample["budget_bound"].any()) if sample.height else False
    if budget_bound:
        context.log.warning(
            f"nightly budget {r.sampling.nightly_budget} binds: the design sample was scaled down and its "
            "inclusion probabilities with it"
        )
    chart = _sample_chart(sample)
    return dg.Output(sample, metadata={
        "dagster/row_count": sample.height,
        **({"chart": png_md(chart, "sample by source and kind")} if chart else {}),
        "population_rows": row_count(scored_documents),
        "design": design,
        "by_kind": table_md(kinds),
        "strata": table_md(sample_summary(sample)),
        "budget_bound": budget_bound,
        "nightly_budget": r.sampling.nightly_budget,
        "fraction": r.sampling.fraction,
        "rejected_fraction": r.sampling.rejected_fraction,
        "preview": preview(sample, ["doc_id", "sample_kind", "stratum", "inclusion_prob", "overlap", "text"]),
    })


@dg.asset(
    partitions_def=daily_partitions,
    group_name="annotate",
    owners=OWNERS,
    kinds={"labelstudio", "parquet"},
    description="The night's annotation sample pushed to Label Studio as tasks (PII-redacted text, doc_id, "
    "stratum, weight, signals, and pre-annotations from the current score) into one project found or "
    "created by title. Batched and idempotent: a persisted ledger means a rerun or a later night never sends "
    "a document twice, and a crash mid-import is reconciled on the next run. If no Label Studio is "
    "configured the push is skipped with a warning (the nightly run never waits for humans).",
)
def label_studio_tasks(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    label_studio: LabelStudioResource,
    annotation_sample: pl.LazyFrame,
):
    r = recipe.load()
    sample = annotation_sample.collect()
    client = label_studio.client(r)
    if client is None:
        msg = ("Label Studio is not configured (WINNOW_LABEL_STUDIO_URL unset and no local server started by "
               "scripts/labelstudio.sh): push skipped. Start it with `scripts/labelstudio.sh start` and "
               "rematerialize this partition to send the sample.")
        context.log.warning(msg)
        return dg.Output(pl.DataFrame(schema=PUSHED_SCHEMA), metadata={
            "dagster/row_count": 0, "status": "skipped: not configured", "warning": msg,
            "sample_rows": sample.height,
        })
    t0 = time.perf_counter()
    try:
        client.wait_healthy()
        project_id = client.ensure_project(r.annotation.project_title, label_config(), instructions_html())
        ledger = Ledger(ledger_path(winnow_home(), client.url, project_id))
        result = push_sample(
            client, project_id, sample, ledger,
            batch_size=r.annotation.import_batch_size,
            model_version=r.annotation.prediction_model_version,
            overlap_annotators=r.annotation.overlap_annotators,
            after_batch=lambda b, ids: context.log.info(f"imported batch {b}: {len(ids)} tasks"),
        )
    finally:
        client.close()
    seconds = time.perf_counter() - t0
    led = ledger.read().filter(pl.col("doc_id").is_in(sample["doc_id"].implode()))
    pushed = led.select(
        "doc_id", "task_id", "state", "partition", "stratum", "sample_kind", "overlap",
        project_id=pl.lit(project_id, dtype=pl.Int64),
    )
    return dg.Output(pushed, metadata={
        "dagster/row_count": pushed.height,
        "status": "pushed",
        "label_studio_project": dg.MetadataValue.url(f"{client.url}/projects/{project_id}/data"),
        "project_id": project_id,
        **{k: v for k, v in result.as_dict().items() if k != "project_id"},
        "seconds": round(seconds, 3),
        "tasks_per_s": round(result.imported / seconds, 1) if result.imported and seconds else 0.0,
        "preview": preview(pushed, ["doc_id", "task_id", "sample_kind", "overlap", "stratum"]),
    })
