"""Great Expectations suites run as blocking Dagster asset checks: the gates of the graph.

Each check reads its table through the IO manager, runs the suite from
``schemas/expectations.py`` with Great Expectations (``winnow/validation.py``), renders
Data Docs and writes a JSON summary to ``$WINNOW_HOME/validation/<asset>/<partition>.json``
(publishing copies these into the release manifest). A failing check (severity ERROR)
stops everything downstream of its asset in the same run: a bad ``curated_documents``
never reaches ``curated_release``. ``validation.warn_only`` in the recipe turns a suite's
failures into warnings (nothing blocked) when someone decides so.
"""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.metadata import table_md
from assets.resources import RecipeResource, ReleaseStoreResource
from schemas.expectations import (
    ANNOTATIONS_SUITE,
    CURATED_SUITE,
    MANIFEST_SUITE,
    RAW_SUITE,
    SAMPLE_SUITE,
    annotation_sample_spec,
    annotations_spec,
    curated_documents_spec,
    raw_documents_spec,
    release_manifest_spec,
)
from schemas.recipe import Recipe
from winnow.paths import asset_table_path, optional_table, winnow_home
from winnow.validation import ValidationInputError, ValidationOutcome, manifest_frame, validate

#: Asset check names (module constants: tests, sensors and the UI use one spelling).
RAW_CHECK = "raw_documents_expectations"
CURATED_CHECK = "curated_documents_expectations"
SAMPLE_CHECK = "annotation_sample_expectations"
ANNOTATIONS_CHECK = "annotations_expectations"
MANIFEST_CHECK = "release_manifest_expectations"

#: Which suite each check runs.
CHECK_SUITES = {
    RAW_CHECK: RAW_SUITE,
    CURATED_CHECK: CURATED_SUITE,
    SAMPLE_CHECK: SAMPLE_SUITE,
    ANNOTATIONS_CHECK: ANNOTATIONS_SUITE,
    MANIFEST_CHECK: MANIFEST_SUITE,
}


def validation_root() -> Path:
    return winnow_home() / "validation"


def _ids_md(ids: list[str], n: int = 5) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:n])
    return shown + (f" (+{len(ids) - n})" if len(ids) > n else "")


def check_result(outcome: ValidationOutcome, recipe: Recipe) -> dg.AssetCheckResult:
    """The check's result: pass/fail, the failing expectations, columns and doc_ids, the Data Docs link."""
    cfg = recipe.validation
    warn_only = outcome.suite in cfg.warn_only
    stats = outcome.statistics
    metadata: dict = {
        "suite": outcome.suite,
        "rows": outcome.rows,
        "evaluated_expectations": int(stats.get("evaluated_expectations", 0)),
        "successful_expectations": int(stats.get("successful_expectations", 0)),
        "timings_s": dg.MetadataValue.json(outcome.timings),
    }
    if outcome.failures:
        first = outcome.failures[0]
        metadata["failing_expectation"] = first.expectation
        metadata["failing_column"] = first.column or "(table)"
        metadata["failing_doc_ids"] = dg.MetadataValue.json(outcome.failing_ids(cfg.max_failing_ids))
        metadata["failures"] = table_md(pl.DataFrame(
            [{
                "expectation": f.expectation,
                "column": f.column or "(table)",
                "unexpected": f.unexpected_count if f.unexpected_count is not None else (
                    "error" if f.exception else str(f.observed_value)[:60]),
                "failing_ids": _ids_md(f.failing_ids),
                "rule": (f.exception or f.description)[:160],
            } for f in outcome.failures],
            schema={"expectation": pl.String, "column": pl.String, "unexpected": pl.String,
                    "failing_ids": pl.String, "rule": pl.String},
        ).with_columns(pl.col("unexpected").cast(pl.String)))
        metadata["failing_ids_by_expectation"] = dg.MetadataValue.json(
            {f"{f.expectation} [{f.column or 'table'}]": f.failing_ids for f in outcome.failures}
        )
    if outcome.data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(outcome.data_docs)
        metadata["data_docs_url"] = dg.MetadataValue.url(Path(outcome.data_docs).as_uri())
    if outcome.data_docs_index:
        metadata["data_docs_index"] = dg.MetadataValue.path(outcome.data_docs_index)
    if outcome.summary_path:
        metadata["summary"] = dg.MetadataValue.path(outcome.summary_path)
    if warn_only and not outcome.success:
        metadata["warn_only"] = f"validation.warn_only lists {outcome.suite}: failures warn, nothing is blocked"
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.WARN if warn_only else dg.AssetCheckSeverity.ERROR,
        description=outcome.headline()[:2000],
        metadata=metadata,
    )


def _input_error(suite: str, recipe: Recipe, exc: Exception) -> dg.AssetCheckResult:
    warn_only = suite in recipe.validation.warn_only
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN if warn_only else dg.AssetCheckSeverity.ERROR,
        description=f"{suite}: could not be validated: {exc}"[:2000],
        metadata={"suite": suite, "error": str(exc)[:2000]},
    )


def _night(context: dg.AssetCheckExecutionContext) -> str:
    """The run's partition (checks follow their asset's partition in a nightly run)."""
    if context.has_partition_key:
        return context.partition_key
    night = context.run.tags.get("dagster/partition")
    if not night:
        raise ValueError("this check validates one night: launch it with a partition (dagster/partition tag)")
    return night


def _night_table(asset: str, night: str) -> pl.LazyFrame:
    """The night's stored table, and only it.

    Dagster hands a check on a partitioned asset every partition of it as its input, so
    validating the input would re-check all of history each night: the gate's cost would
    grow with the history, and an old night could block tonight's release.
    """
    frame = optional_table(asset, [night])
    if frame is None:
        raise ValidationInputError(f"{asset}: night {night} has no stored table ({asset_table_path(asset, night)})")
    return frame


def _run(context, frame, spec, recipe: Recipe, asset: str, partition: str | None) -> dg.AssetCheckResult:
    run_name = f"{partition or 'all'}__{context.run.run_id[:8]}"
    try:
        outcome = validate(
            frame, spec, asset=asset, partition=partition, root=validation_root(), run_name=run_name,
            max_ids=recipe.validation.max_failing_ids, data_docs=recipe.validation.data_docs,
            keep_runs=recipe.validation.data_docs_keep_runs,
        )
    except ValidationInputError as exc:
        return _input_error(spec.name, recipe, exc)
    context.log.info(f"{outcome.headline()} ({outcome.timings.get('total', 0):.1f} s)")
    if outcome.data_docs:
        context.log.info(f"Data Docs: {outcome.data_docs}")
    return check_result(outcome, recipe)


@dg.asset_check(
    asset="raw_documents",
    name=RAW_CHECK,
    blocking=True,
    description="Great Expectations suite `raw_documents`: canonical columns and types, non-null and unique "
    "doc_id, non-null text within validation.min/max_text_chars, a source on every row. Blocking: a failure "
    "stops the rest of the night's graph.",
)
def raw_documents_expectations(context: dg.AssetCheckExecutionContext, recipe: RecipeResource) -> dg.AssetCheckResult:
    r = recipe.load()
    night = _night(context)
    try:
        raw_documents = _night_table("raw_documents", night)
    except ValidationInputError as exc:
        return _input_error(RAW_SUITE, r, exc)
    return _run(context, raw_documents, raw_documents_spec(r), r, "raw_documents", night)


@dg.asset_check(
    asset="curated_documents",
    name=CURATED_CHECK,
    blocking=True,
    description="Great Expectations suite `curated_documents`: canonical columns and types, non-null unique "
    "doc_id, text length bounds, no duplicate content_hash, every document scored, language in "
    "filters.language.allowed, and every signal column in range (ratios/scores in [0, 1], counts >= 0; "
    "found by name). Blocking: a failure stops curated_release from publishing.",
)
def curated_documents_expectations(context: dg.AssetCheckExecutionContext, recipe: RecipeResource) -> dg.AssetCheckResult:
    r = recipe.load()
    night = _night(context)
    try:
        curated_documents = _night_table("curated_documents", night)
        columns = dict(curated_documents.collect_schema())
    except Exception as exc:
        return _input_error(CURATED_SUITE, r, ValidationInputError(f"curated_documents: {exc}"))
    spec = curated_documents_spec(r, columns)
    return _run(context, curated_documents, spec, r, "curated_documents", night)


@dg.asset_check(
    asset="annotation_sample",
    name=SAMPLE_CHECK,
    blocking=True,
    description="Great Expectations suite `annotation_sample`: what annotators will see carries no e-mail "
    "address or phone number (validation.email_pattern / phone_pattern on the redacted text), doc_ids are "
    "unique and inclusion probabilities positive. Blocking: a failure stops the push to Label Studio.",
)
def annotation_sample_expectations(context: dg.AssetCheckExecutionContext, recipe: RecipeResource) -> dg.AssetCheckResult:
    r = recipe.load()
    night = _night(context)
    try:
        annotation_sample = _night_table("annotation_sample", night)
        columns = annotation_sample.collect_schema().names()
    except Exception as exc:
        return _input_error(SAMPLE_SUITE, r, ValidationInputError(f"annotation_sample: {exc}"))
    spec = annotation_sample_spec(r, columns)
    return _run(context, annotation_sample, spec, r, "annotation_sample", night)


@dg.asset_check(
    asset="annotations",
    name=ANNOTATIONS_CHECK,
    blocking=True,
    description="Great Expectations suite `annotations`: the annotation schema's columns and types, doc_id and "
    "annotator on every row, one row per (task, annotator), decision in keep/drop, rating 1..5, issue tags "
    "from the labeling config, positive inclusion probabilities. Blocking: agreement and the quality model "
    "are not recomputed from bad labels.",
)
def annotations_expectations(
    context: dg.AssetCheckExecutionContext, recipe: RecipeResource, annotations: pl.LazyFrame
) -> dg.AssetCheckResult:
    r = recipe.load()
    return _run(context, annotations, annotations_spec(r), r, "annotations", None)


@dg.asset_check(
    asset="curated_release",
    name=MANIFEST_CHECK,
    blocking=True,
    description="Great Expectations suite `release_manifest` on the night's release: every shard listed "
    "exists and no unlisted one lies beside it; each shard's rows, bytes, sha256 and token sum in "
    "manifest.json equal the file's; totals equal the sums; the shards hold exactly the curated documents.",
)
def release_manifest_expectations(
    context: dg.AssetCheckExecutionContext, recipe: RecipeResource, releases: ReleaseStoreResource
) -> dg.AssetCheckResult:
    from winnow.publish.publish import release_version

    r = recipe.load()
    night = _night(context)
    release = releases.path / r.publish.dataset / release_version(r, night)
    try:
        manifest, shards = manifest_frame(release)
    except ValidationInputError as exc:
        return _input_error(MANIFEST_SUITE, r, exc)
    curated = optional_table("curated_documents", [night])
    curated_rows = int(curated.select(pl.len()).collect().item()) if curated is not None else None
    spec = release_manifest_spec(manifest, curated_rows)
    result = _run(context, shards, spec, r, "curated_release", night)
    return dg.AssetCheckResult(
        passed=result.passed, severity=result.severity, description=result.description,
        metadata={**result.metadata, "release": dg.MetadataValue.path(str(release))},
    )
