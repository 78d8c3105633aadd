"""Publish stage: the versioned, atomic release with its card and compute report."""


import shutil
import tempfile
from pathlib import Path

import dagster as dg
import polars as pl

from assets.metadata import png_md, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource, ReleaseStoreResource
from winnow.paths import asset_table_path, optional_table, winnow_home
from winnow.publish.card import strip_front_matter
from winnow.publish.compute import report_markdown
from winnow.publish.publish import COMPUTE_PNG, FUNNEL_PNG, NightTables, publish_night, read_check_summaries
from winnow.publish.release import verify_release

OWNERS = ["team:data-curation"]

#: Asset check names (module constants, so tests and sensors refer to one spelling).
CHECK_MANIFEST = "manifest_matches_files"

#: Nightly tables read for the funnel, dedup stats, language mix and lineage.
NIGHT_UPSTREAMS = ["scored_documents", "rejected_documents", "duplicates", "raw_documents", "quarantine",
                   "annotation_sample"]
#: Tables built from human labels; they may not exist yet (cold start).
LABEL_UPSTREAMS = ["quality_estimates", "annotator_agreement"]


def _collect(frame: pl.LazyFrame | None) -> pl.DataFrame | None:
    return None if frame is None else frame.collect()


@dg.asset(
    partitions_def=daily_partitions,
    group_name="publish",
    owners=OWNERS,
    kinds={"parquet"},
    deps=[*NIGHT_UPSTREAMS, *LABEL_UPSTREAMS],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK_MANIFEST,
            asset="curated_release",
            description="Every shard's sha256, bytes, rows and token sum, and the card and report files, "
            "match manifest.json.",
        )
    ],
    description="The night's curated documents published as `releases/<dataset>/<night>-v<recipe version>/`: "
    "zstd Parquet shards sorted by doc_id with a GPT-2 BPE token count per document, manifest.json "
    "(sha256/rows/bytes/tokens per shard, recipe and its hash, git sha, input files with fingerprints, "
    "check summaries), the dataset card (README.md) and the compute-savings report (JSON, Markdown, PNG). "
    "Written to a temp dir and renamed into place; `releases/<dataset>/LATEST` moves only after that. "
    "Runs only when the blocking checks on curated_documents passed.",
)
def curated_release(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    releases: ReleaseStoreResource,
    curated_documents: pl.LazyFrame,
) -> dg.MaterializeResult:
    spec = recipe.load()
    night = context.partition_key
    tables = {name: optional_table(name, [night]) for name in [*NIGHT_UPSTREAMS, "quality_estimates"]}
    overall = {name: optional_table(name) for name in ("annotator_agreement", "annotations")}  # all nights
    upstream = {name: str(asset_table_path(name, night)) for name, frame in tables.items() if frame is not None}
    upstream |= {name: str(asset_table_path(name).parent) for name, frame in overall.items() if frame is not None}
    missing = [name for name, frame in {**tables, **overall}.items() if frame is None]
    if missing:
        context.log.info(f"not available yet (the card says so): {', '.join(missing)}")

    work = winnow_home() / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f"publish-{night}-", dir=work)
    try:
        result = publish_night(
            NightTables(
                curated=curated_documents,
                scored=tables["scored_documents"],
                rejected=tables["rejected_documents"],
                duplicates=tables["duplicates"],
                raw=tables["raw_documents"],
                quarantine=tables["quarantine"],
                sample=tables["annotation_sample"],
                estimates=_collect(tables["quality_estimates"]),
                agreement=_collect(overall["annotator_agreement"]),
                annotations=overall["annotations"],
            ),
            spec,
            night,
            releases.path,
            work_dir=Path(scratch),
            checks=read_check_summaries(winnow_home() / "validation", night),
            fingerprint_cache=winnow_home() / "publish" / "fingerprints.json",
            upstream=upstream,
            source_root=recipe.recipe_dir,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    problems = verify_release(result.path)
    m = result.manifest
    report = result.report
    per_model = {}
    for mod in report["models"]:
        per_model[f"gpu_hours_saved_{mod['label']}"] = float(mod["savings"]["gpu_hours"])
        per_model[f"cost_saved_{mod['label']}_{report['assumptions']['currency']}"] = float(mod["savings"]["cost"])
    context.log.info(f"published {result.path} in {result.timings['total']:.1f} s; LATEST = {result.latest}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "version": result.version,
            "latest": result.latest or "",
            "moved_latest": result.moved_latest,
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
            "funnel_chart": png_md((result.path / FUNNEL_PNG).read_bytes(), "funnel"),
            "language_mix": table_md(result.language_mix),
            "compute_report": dg.MetadataValue.md(report_markdown(report)),
            "compute_chart": png_md((result.path / COMPUTE_PNG).read_bytes(), "compute report"),
            "card": dg.MetadataValue.md(strip_front_matter(result.card)),
            "timings_s": dg.MetadataValue.json(result.timings),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=CHECK_MANIFEST,
                passed=not problems,
                metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "_none_"),
                          "shards": m["totals"]["shards"]},
            )
        ],
    )
