"""Publish stage: the curated set, the versioned atomic release with its card and compute report,
and the dedup index that later nights are deduplicated against."""

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import ExecutionResource, RecipeResource, SettingsResource, StoreResource, execution_md
from winnow.dedup.index import SignatureIndex
from winnow.dedup.minhash import MinHashParams
from winnow.model.scoring import curated_selection
from winnow.publish.card import strip_front_matter
from winnow.publish.compute import report_markdown
from winnow.publish.publish import (
    COMPUTE_PNG,
    FUNNEL_PNG,
    NightTables,
    PublishResult,
    publish_night,
    read_check_summaries,
)
from winnow.publish.release import code_version
from winnow.store import Store

GROUP = "publish"
OWNERS = ["team:data-curation"]
#: Asset check names (module constants, so tests and sensors refer to one spelling).
CHECK_MANIFEST = "manifest_matches_files"

#: Nightly tables read for the funnel, dedup stats, language mix and lineage.
NIGHT_UPSTREAMS = [
    "scored_documents",
    "rejected_documents",
    "duplicates",
    "raw_documents",
    "quarantine",
    "annotation_sample",
]
#: Tables built from human labels; they may not exist yet (cold start).
LABEL_UPSTREAMS = ["quality_estimates", "annotator_agreement"]


@dg.asset(
    partitions_def=daily_partitions,
    kinds={"polars", "parquet"},
    description="The documents that go into tonight's release: passed the filters and deduplication and, once "
    "a quality model exists (and model.apply_threshold), scored at or above its calibrated threshold. Documents "
    "under the threshold stay visible in scored_documents (status kept, model_keep false) and in "
    "deduplicated_documents: nothing is lost.",
)
def curated_documents(recipe: RecipeResource, deduplicated_documents: pl.LazyFrame):
    sel = curated_selection(deduplicated_documents, recipe.load().model.apply_threshold)
    n_in, n_out = row_count(deduplicated_documents), row_count(sel.curated)
    return dg.Output(
        sel.curated,
        metadata={
            "dagster/row_count": n_out,
            "deduplicated_documents": n_in,
            "dropped_under_model_threshold": n_in - n_out,
            "model_threshold_applied": sel.threshold_applied,
            "model_version": ", ".join(sel.model_versions) or "none (heuristic scores: nothing dropped by score)",
            "preview": preview(sel.curated, ["doc_id", "source", "quality_score", "text"]),
            **(
                {"dropped_preview": preview(sel.dropped, ["doc_id", "source", "quality_score", "text"])}
                if n_in != n_out
                else {}
            ),
        },
    )


@dg.asset(
    partitions_def=daily_partitions,
    kinds={"parquet"},
    deps=[*NIGHT_UPSTREAMS, *LABEL_UPSTREAMS],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_MANIFEST,
            asset="curated_release",
            description="Every shard's sha256, bytes, rows and token sum, and the card and report files, "
            "match manifest.json (verified in the staging folder, before the atomic rename).",
        )
    ],
    description="The night's curated documents published as releases/{dataset}/{night}-v{recipe version}/: "
    "zstd Parquet shards sorted by doc_id with a GPT-2 BPE token count per document, manifest.json "
    "(sha256/rows/bytes/tokens per shard, recipe and its hash, git sha, input files with fingerprints, "
    "check summaries), the dataset card (README.md) and the compute-savings report (JSON, Markdown, PNG). "
    "Written to a temp dir and renamed into place; releases/{dataset}/LATEST moves only after that. "
    "Runs only when the blocking checks on curated_documents passed.",
)
def curated_release(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    settings: SettingsResource,
    store: StoreResource,
    execution: ExecutionResource,
    curated_documents: pl.LazyFrame,
) -> dg.MaterializeResult:
    night, root = context.partition_key, store.store
    runner = execution.runner()
    tables, upstream = _night_tables(root, night, curated_documents)
    with root.scratch(f"publish-{night}") as scratch:
        result = publish_night(
            tables,
            recipe.load(),
            night,
            root.releases,
            work_dir=scratch,
            checks=read_check_summaries(root.validation, night),
            fingerprint_cache=root.fingerprint_cache,
            upstream=upstream,
            source_root=recipe.recipe_dir,
            code=code_version(override=settings.get().code_version),
            runner=runner,
        )
    context.log.info(f"published {result.path} in {result.timings['total']:.1f} s; LATEST = {result.latest}")
    return dg.MaterializeResult(
        metadata={**_release_metadata(result), "execution": execution_md(runner)},
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_MANIFEST,
                passed=True,
                metadata={"problems": dg.MetadataValue.md("_none_"), "shards": result.manifest["totals"]["shards"]},
            )
        ],
    )


def _night_tables(root: Store, night: str, curated: pl.LazyFrame) -> tuple[NightTables, dict]:
    """The night's upstream tables (None where not materialized yet) and where each was read from."""
    nightly = {name: root.table(name, [night]) for name in [*NIGHT_UPSTREAMS, "quality_estimates"]}
    overall = {name: root.table(name) for name in ("annotator_agreement", "annotations")}  # all nights
    upstream = {name: str(root.table_path(name, night)) for name, f in nightly.items() if f is not None}
    upstream |= {name: str(root.table_path(name).parent) for name, f in overall.items() if f is not None}
    estimates, agreement = nightly["quality_estimates"], overall["annotator_agreement"]
    tables = NightTables(
        curated=curated,
        scored=nightly["scored_documents"],
        rejected=nightly["rejected_documents"],
        duplicates=nightly["duplicates"],
        raw=nightly["raw_documents"],
        quarantine=nightly["quarantine"],
        sample=nightly["annotation_sample"],
        annotations=overall["annotations"],
        estimates=None if estimates is None else estimates.collect(),
        agreement=None if agreement is None else agreement.collect(),
    )
    return tables, upstream


def _release_metadata(result: PublishResult) -> dict:
    m, report = result.manifest, result.report
    currency = report["assumptions"]["currency"]
    per_model = {}
    for mod in report["models"]:
        per_model[f"gpu_hours_saved_{mod['label']}"] = float(mod["savings"]["gpu_hours"])
        per_model[f"cost_saved_{mod['label']}_{currency}"] = float(mod["savings"]["cost"])
    return {
        "path": dg.MetadataValue.path(str(result.path)),
        "version": result.version,
        "latest": result.latest or "",
        "moved_latest": result.moved_latest,
        "cleaned_temp_folders": dg.MetadataValue.json(result.cleaned),
        "dagster/row_count": m["totals"]["rows"],
        "shards": m["totals"]["shards"],
        "bytes": m["totals"]["bytes"],
        "tokens": m["totals"]["tokens"],
        "raw_tokens": report["tokens"]["raw"],
        "tokens_removed_share": float(report["tokens"]["removed_share"]),
        **per_model,
        "tokenizer": m["tokenizer"]["name"],
        "recipe_sha256": m["recipe"]["sha256"],
        "code_version": str(m["code_version"].get("git_sha") or "unknown"),
        "input_files": len(m["lineage"]["source_files"]),
        "funnel": table_md(result.funnel.drop("kind", "stage", "reason")),
        **png_md("funnel_chart", (result.path / FUNNEL_PNG).read_bytes(), "funnel"),
        "language_mix": table_md(result.language_mix),
        "compute_report": dg.MetadataValue.md(report_markdown(report)),
        **png_md("compute_chart", (result.path / COMPUTE_PNG).read_bytes(), "compute report"),
        "card": dg.MetadataValue.md(strip_front_matter(result.card)),
        "timings_s": dg.MetadataValue.json(result.timings),
    }


@dg.asset(
    partitions_def=daily_partitions,
    kinds={"parquet"},
    deps=["curated_release"],
    description="Adds the night's published documents (content hashes, MinHash signatures, band keys) to "
    "the persisted dedup index under {home}/dedup_index/partitions/{night}/, replacing that night's "
    "entries on a rerun. Later nights are deduplicated against it; rebuild it from the releases with "
    "`python -m winnow.dedup.index rebuild <releases root>`.",
)
def dedup_index(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    store: StoreResource,
    dedup_signatures: pl.LazyFrame,
    curated_documents: pl.LazyFrame,
) -> dg.MaterializeResult:
    index = SignatureIndex(store.store.dedup_index, MinHashParams.from_config(recipe.load().dedup.minhash))
    entries = dedup_signatures.join(curated_documents.select("doc_id").unique(), on="doc_id", how="semi")
    rows = index.publish_partition(context.partition_key, entries)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "index_partitions": len(index.partitions()),
            "index_documents": index.size(),
            "path": dg.MetadataValue.path(str(index.root)),
        }
    )
