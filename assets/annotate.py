"""Annotate stage: the human sample, its push to Label Studio, the labels pulled back and agreement."""

from datetime import timedelta

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import LabelStudioResource, RecipeResource, SettingsResource, StoreResource
from schemas.documents import ANNOTATION_SCHEMA
from winnow.annotation.agreement import accuracy_vs_consensus, agreement_report, agreement_summary, anchoring
from winnow.annotation.parse import EXTRA
from winnow.annotation.pull import attach_design, pull_project
from winnow.annotation.push import PUSHED_SCHEMA, push_night
from winnow.annotation.sampling import design_status, sample_summary, select_sample
from winnow.annotation.tasks import instructions_html, label_config
from winnow.model.annotator_error import fit_annotator_errors, votes
from winnow.model.gate import agreement_verdict
from winnow.plots import kappa_png, sample_png

GROUP = "annotate"
OWNERS = ["team:annotation"]
#: Asset check names (module constants, so tests and the UI agree).
AGREEMENT_CHECK = "agreement_alpha_at_least_min"

TABLE_SCHEMA = {**ANNOTATION_SCHEMA, **EXTRA, "task_updated_at": pl.Datetime("us", "UTC")}
EMPTY_NIGHT = (
    "no documents for night {night}: nothing to sample. Every source matched no file or only bad records: "
    "see the ingest check all_files_readable and the quarantine table of the night"
)
PUSH_SKIPPED = (
    "Label Studio is not configured (WINNOW_LABEL_STUDIO_URL unset and no local server started by "
    "scripts/labelstudio.sh): push skipped. Start it with `scripts/labelstudio.sh start` and "
    "rematerialize this partition to send the sample."
)
PULL_SKIPPED = "Label Studio is not configured: nothing pulled (start it with `scripts/labelstudio.sh start`)."


@dg.asset(
    partitions_def=daily_partitions,
    kinds={"polars", "parquet"},
    description="Tonight's documents for human labelling: a deterministic, stratified sample (population "
    "kept/rejected x source x language x score bucket) of exactly the recipe's fraction per stratum, chosen by "
    "hashing doc_id with the recipe seed; plus a rejected slice, uncertainty-chosen 'active' rows kept apart, "
    "an overlap flag (two annotators) and the nightly budget cap. Each row carries its inclusion probability. "
    "The design is drawn once per night: a rerun (say, after a new model) keeps the stored rows and strata "
    "and refreshes only the scores, unless the night's documents or the sampling config changed.",
)
def annotation_sample(
    context: dg.AssetExecutionContext, recipe: RecipeResource, store: StoreResource, scored_documents: pl.LazyFrame
):
    r = recipe.load()
    if row_count(scored_documents) == 0:
        raise dg.Failure(EMPTY_NIGHT.format(night=context.partition_key))
    previous = store.store.collect("annotation_sample", [context.partition_key])  # before this run overwrites it
    sample = select_sample(scored_documents, r, previous).collect()
    budget_bound = bool(sample["budget_bound"].any()) if sample.height else False
    if budget_bound:
        context.log.warning(
            f"nightly budget {r.sampling.nightly_budget} binds: the design sample was scaled "
            "down and its inclusion probabilities with it"
        )
    kinds = sample.group_by("sample_kind").agg(rows=pl.len(), overlap=pl.col("overlap").sum()).sort("sample_kind")
    return dg.Output(
        sample,
        metadata={
            "dagster/row_count": sample.height,
            **png_md("chart", sample_png(sample), "sample by source and kind"),
            "population_rows": row_count(scored_documents),
            "design": design_status(previous, sample),
            "by_kind": table_md(kinds),
            "strata": table_md(sample_summary(sample)),
            "budget_bound": budget_bound,
            "nightly_budget": r.sampling.nightly_budget,
            "fraction": r.sampling.fraction,
            "rejected_fraction": r.sampling.rejected_fraction,
            "preview": preview(sample, ["doc_id", "sample_kind", "stratum", "inclusion_prob", "overlap", "text"]),
        },
    )


@dg.asset(
    partitions_def=daily_partitions,
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
    settings: SettingsResource,
    store: StoreResource,
    label_studio: LabelStudioResource,
    annotation_sample: pl.LazyFrame,
):
    cfg, sample = recipe.load().annotation, annotation_sample.collect()
    client = label_studio.client()
    if client is None:  # keep the record of what an earlier push sent: skipping sends nothing new
        context.log.warning(PUSH_SKIPPED)
        sent = store.store.collect("label_studio_tasks", [context.partition_key])
        sent = sent if sent is not None else pl.DataFrame(schema=PUSHED_SCHEMA)
        return dg.Output(sent, metadata=_skipped(sent.height, PUSH_SKIPPED, sample_rows=sample.height))
    night = push_night(
        client,
        sample,
        store.store.root,
        project_title=cfg.project_title,
        label_config=label_config(),
        instructions=instructions_html(),
        batch_size=settings.get().label_studio.import_batch_size,
        model_version=cfg.prediction_model_version,
        overlap_annotators=cfg.overlap_annotators,
        log=context.log.info,
        warn=context.log.warning,
    )
    return dg.Output(
        night.pushed,
        metadata={
            "dagster/row_count": night.pushed.height,
            "status": "pushed",
            "label_studio_project": dg.MetadataValue.url(f"{night.url}/projects/{night.project_id}/data"),
            **night.metadata(),
            "preview": preview(night.pushed, ["doc_id", "task_id", "sample_kind", "overlap", "stratum"]),
        },
    )


def _skipped(rows: int, msg: str, **extra) -> dict:
    return {"dagster/row_count": rows, "status": "skipped: not configured", "warning": msg, **extra}


@dg.asset(
    kinds={"labelstudio", "polars", "parquet"},
    deps=["label_studio_tasks"],
    description="Human labels pulled from Label Studio: one row per (task, annotator) with doc_id, decision "
    "(keep/drop), rating 1-5, issue tags, comment, lead time, timestamps, and the sample's stratum, inclusion "
    "probability and sample kind. Pulled incrementally (only tasks updated since the last pull); an updated "
    "annotation replaces the older one. Materialized by the annotation sensor's job, never by the nightly run.",
)
def annotations(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    settings: SettingsResource,
    store: StoreResource,
    label_studio: LabelStudioResource,
):
    title, previous = recipe.load().annotation.project_title, store.store.collect("annotations")
    kept = previous if previous is not None else pl.DataFrame(schema=TABLE_SCHEMA)
    client = label_studio.client()
    if client is None:
        context.log.warning(PULL_SKIPPED)
        return dg.Output(kept, metadata=_skipped(kept.height, PULL_SKIPPED))
    margin = timedelta(seconds=settings.get().label_studio.pull_safety_margin_s)
    pulled = pull_project(client, title, previous, margin)
    if pulled is None:
        return dg.Output(
            kept, metadata={"dagster/row_count": kept.height, "status": f"no project titled {title!r} yet"}
        )
    table, stats, project_id = pulled
    if stats.report.problems:
        problems = stats.report.problems
        context.log.warning(f"{len(problems)} annotations look incomplete: " + "; ".join(problems[:5]))
    table = attach_design(table, store.store.table_files("annotation_sample"))
    table = table.select([pl.col(c).cast(t) for c, t in TABLE_SCHEMA.items()])
    return dg.Output(table, metadata=_pull_metadata(table, stats, project_id))


def _pull_metadata(table: pl.DataFrame, stats, project_id: int) -> dict:
    return {
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
        "by_decision": table_md(table.group_by("decision").agg(rows=pl.len()).sort("decision")),
        "preview": preview(
            table.with_columns(pl.col("tags").list.join(", ")),
            ["doc_id", "annotator", "decision", "rating", "tags", "sample_kind", "updated_at"],
        ),
    }


@dg.asset(
    kinds={"polars"},
    description="Inter-annotator agreement on the overlap items (tasks labelled by two or more annotators): "
    "Cohen's kappa and Krippendorff's alpha (nominal) on keep/drop, alpha (interval) on the rating; per-annotator "
    "counts, accuracy against the others' consensus per night (drift), Dawid-Skene error rates, the anchoring "
    "measure (agreement with the pipeline, blind against pre-annotated labels) and the disagreement list in "
    "metadata. Its check warns below the recipe's annotation.min_alpha.",
    check_specs=[
        dg.AssetCheckSpec(
            AGREEMENT_CHECK,
            asset="annotator_agreement",
            description="Krippendorff's alpha on keep/drop is at least annotation.min_alpha (warns; judged once "
            "annotation.min_overlap_items overlap items exist).",
        )
    ],
)
def annotator_agreement(recipe: RecipeResource, store: StoreResource, annotations: pl.LazyFrame):
    cfg = recipe.load().annotation
    ann = annotations.collect()
    rep = agreement_report(ann)
    sample = store.store.table("annotation_sample")
    yield dg.Output(
        agreement_summary(rep, ann.height, cfg.min_alpha),
        metadata=_agreement_metadata(rep, ann, _sample_scores(sample)),
    )
    verdict = agreement_verdict(rep["krippendorff_alpha"], rep["n_overlap_items"], cfg.min_overlap_items, cfg.min_alpha)
    yield dg.AssetCheckResult(
        check_name=AGREEMENT_CHECK,
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=verdict.metadata,
    )


def _sample_scores(sample: pl.LazyFrame | None) -> pl.DataFrame | None:
    if sample is None or "quality_score" not in sample.collect_schema().names():
        return None
    return sample.select("doc_id", "quality_score").collect()


def _agreement_metadata(rep: dict, ann: pl.DataFrame, scores: pl.DataFrame | None) -> dict:
    rounded = {
        k: round(float(rep[k]), 4)
        for k in ("cohen_kappa", "krippendorff_alpha", "krippendorff_alpha_rating")
        if rep[k] is not None
    }
    cast = votes(ann)
    errors = fit_annotator_errors(cast) if cast.height else None
    return {
        "dagster/row_count": 1,
        **rounded,
        "n_overlap_items": rep["n_overlap_items"],
        "per_annotator": table_md(rep["per_annotator"]),
        "accuracy_vs_consensus_by_night": table_md(accuracy_vs_consensus(ann), max_rows=200),
        "annotator_error_rates": table_md(errors.table()) if errors is not None else "no overlap items yet",
        "anchoring": table_md(anchoring(ann, scores)),
        "pairwise": table_md(rep["pairwise"]),
        "disagreements": table_md(rep["disagreements"].head(50)),
        "n_disagreements": rep["disagreements"].height,
        **png_md("kappa_chart", kappa_png(rep["pairwise"]), "pairwise kappa"),
    }
