"""Great Expectations suites run as blocking Dagster asset checks: the gates of the graph.

Every check comes from one factory (``gx_check``): it reads tonight's table from the
store, runs the suite from ``schemas/expectations.py`` with Great Expectations
(``winnow/validation.py``), renders Data Docs and writes a JSON summary to
``<home>/validation/<asset>/<night>.json`` (publishing copies these into the release
manifest). A failing check (severity ERROR) stops everything downstream of its asset in
the same run: a bad ``curated_documents`` never reaches ``curated_release``.
``validation.warn_only`` in the recipe turns a suite's failures into warnings.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from assets.metadata import table_md
from assets.resources import RecipeResource, SettingsResource, StoreResource
from schemas.expectations import (
    ANNOTATIONS_SUITE,
    CURATED_SUITE,
    MANIFEST_SUITE,
    RAW_SUITE,
    SAMPLE_SUITE,
    SuiteSpec,
    annotation_sample_spec,
    annotations_spec,
    curated_documents_spec,
    raw_documents_spec,
    release_manifest_spec,
)
from schemas.recipe import Recipe
from winnow.publish.publish import release_version
from winnow.store import Store
from winnow.validation import ValidationInputError, ValidationOutcome, failures_table, manifest_frame, validate

#: Asset check names (module constants: tests, sensors and the UI use one spelling).
RAW_CHECK = "raw_documents_expectations"
CURATED_CHECK = "curated_documents_expectations"
SAMPLE_CHECK = "annotation_sample_expectations"
ANNOTATIONS_CHECK = "annotations_expectations"
MANIFEST_CHECK = "release_manifest_expectations"


@dataclass
class Subject:
    """What one check validates: a frame, its suite, and where the summary is filed."""

    frame: pl.LazyFrame
    spec: SuiteSpec
    asset: str
    partition: str | None
    metadata: dict = field(default_factory=dict)


def _night_table(store: Store, asset: str, night: str) -> pl.LazyFrame:
    """The night's stored table, and only it.

    Dagster hands a check on a partitioned asset every partition of it as its input, so
    validating the input would re-check all of history each night: the gate's cost would
    grow with the history, and an old night could block tonight's release.
    """
    frame = store.table(asset, [night])
    if frame is None:
        raise ValidationInputError(f"{asset}: night {night} has no stored table ({store.table_path(asset, night)})")
    return frame


def _raw(store: Store, r: Recipe, night: str) -> Subject:
    return Subject(_night_table(store, "raw_documents", night), raw_documents_spec(r), "raw_documents", night)


def _curated(store: Store, r: Recipe, night: str) -> Subject:
    frame = _night_table(store, "curated_documents", night)
    return Subject(frame, curated_documents_spec(r, dict(frame.collect_schema())), "curated_documents", night)


def _sample(store: Store, r: Recipe, night: str) -> Subject:
    frame = _night_table(store, "annotation_sample", night)
    return Subject(frame, annotation_sample_spec(r, frame.collect_schema().names()), "annotation_sample", night)


def _annotations(store: Store, r: Recipe, night: str | None) -> Subject:
    frame = store.table("annotations")
    if frame is None:
        raise ValidationInputError(f"annotations: no stored table ({store.table_path('annotations')})")
    return Subject(frame, annotations_spec(r), "annotations", None)


def _manifest(store: Store, r: Recipe, night: str) -> Subject:
    release = store.releases / r.publish.dataset / release_version(r, night)
    manifest, shards = manifest_frame(release)
    curated = store.table("curated_documents", [night])
    rows = int(curated.select(pl.len()).collect().item()) if curated is not None else None
    return Subject(
        shards.lazy(),
        release_manifest_spec(manifest, rows),
        "curated_release",
        night,
        {"release": dg.MetadataValue.path(str(release))},
    )


def check_result(outcome: ValidationOutcome, recipe: Recipe, extra: dict | None = None) -> dg.AssetCheckResult:
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
        **(extra or {}),
    }
    if outcome.failures:
        first = outcome.failures[0]
        metadata["failing_expectation"] = first.expectation
        metadata["failing_column"] = first.column or "(table)"
        metadata["failing_doc_ids"] = dg.MetadataValue.json(outcome.failing_ids(cfg.max_failing_ids))
        metadata["failures"] = table_md(failures_table(outcome))
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
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN if suite in recipe.validation.warn_only else dg.AssetCheckSeverity.ERROR,
        description=f"{suite}: could not be validated: {exc}"[:2000],
        metadata={"suite": suite, "error": str(exc)[:2000]},
    )


def _night(context: dg.AssetCheckExecutionContext) -> str | None:
    """The run's partition (checks follow their asset's partition in a nightly run)."""
    if context.has_partition_key:
        return context.partition_key
    return context.run.tags.get("dagster/partition")


def gx_check(
    name: str,
    asset: str,
    suite: str,
    subject: Callable[[Store, Recipe, str], Subject],
    description: str,
    nightly: bool = True,
) -> dg.AssetChecksDefinition:
    """A blocking asset check that validates ``subject`` with the Great Expectations suite ``suite``."""

    @dg.asset_check(asset=asset, name=name, blocking=True, description=description)
    def _check(
        context: dg.AssetCheckExecutionContext, recipe: RecipeResource, store: StoreResource, settings: SettingsResource
    ) -> dg.AssetCheckResult:
        r, night = recipe.load(), _night(context)
        try:
            if nightly and not night:
                raise ValidationInputError(
                    "this check validates one night: launch it with a partition (dagster/partition tag)"
                )
            try:
                s = subject(store.store, r, night)
            except ValidationInputError:
                raise
            except Exception as exc:  # an unreadable table fails the gate, naming it, instead of crashing
                raise ValidationInputError(f"{asset}: {exc}") from None
            ops = settings.get().validation
            outcome = validate(
                s.frame,
                s.spec,
                asset=s.asset,
                partition=s.partition,
                root=store.store.validation,
                run_name=f"{s.partition or 'all'}__{context.run.run_id[:8]}",
                max_ids=r.validation.max_failing_ids,
                data_docs=ops.data_docs,
                keep_runs=ops.data_docs_keep_runs,
                static_dir=ops.static_dir,
            )
        except ValidationInputError as exc:
            return _input_error(suite, r, exc)
        context.log.info(f"{outcome.headline()} ({outcome.timings.get('total', 0):.1f} s)")
        return check_result(outcome, r, s.metadata)

    return _check


CHECKS = [
    gx_check(
        RAW_CHECK,
        "raw_documents",
        RAW_SUITE,
        _raw,
        "Great Expectations suite `raw_documents`: canonical columns and types, non-null and unique doc_id, "
        "non-null text within validation.min/max_text_chars, a source on every row. Blocking: a failure "
        "stops the rest of the night's graph.",
    ),
    gx_check(
        CURATED_CHECK,
        "curated_documents",
        CURATED_SUITE,
        _curated,
        "Great Expectations suite `curated_documents`: canonical columns and types, non-null unique doc_id, "
        "text length bounds, no duplicate content_hash, every document scored, language in "
        "filters.language.allowed, and every signal column in range (ratios/scores in [0, 1], counts >= 0; "
        "found by name). Blocking: a failure stops curated_release from publishing.",
    ),
    gx_check(
        SAMPLE_CHECK,
        "annotation_sample",
        SAMPLE_SUITE,
        _sample,
        "Great Expectations suite `annotation_sample`: what annotators will see carries no e-mail address "
        "or phone number (validation.email_pattern / phone_pattern on the redacted text), doc_ids are "
        "unique and inclusion probabilities positive. Blocking: a failure stops the push to Label Studio.",
    ),
    gx_check(
        ANNOTATIONS_CHECK,
        "annotations",
        ANNOTATIONS_SUITE,
        _annotations,
        "Great Expectations suite `annotations`: the annotation schema's columns and types, doc_id and "
        "annotator on every row, one row per (task, annotator), decision in keep/drop, rating 1..5, issue "
        "tags from the labeling config, positive inclusion probabilities. Blocking: agreement and the "
        "quality model are not recomputed from bad labels.",
        nightly=False,
    ),
    gx_check(
        MANIFEST_CHECK,
        "curated_release",
        MANIFEST_SUITE,
        _manifest,
        "Great Expectations suite `release_manifest` on the night's release: every shard listed exists and "
        "no unlisted one lies beside it; each shard's rows, bytes, sha256 and token sum in manifest.json "
        "equal the file's; totals equal the sums; the shards hold exactly the curated documents.",
    ),
]
