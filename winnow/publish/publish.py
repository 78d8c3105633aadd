"""Publish one night: shards, statistics, card, compute report and manifest, atomically.

``publish_night`` is the whole publishing step as a plain function (no Dagster): the
``curated_release`` asset is a thin wrapper around it, and the benchmark calls it
directly.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from schemas.documents import RELEASE_MANIFEST_VERSION, RELEASE_SCHEMA, SCHEMA_VERSION
from schemas.recipe import Recipe
from winnow.plots import compute_png, funnel_png
from winnow.publish.card import CardContext, build_card
from winnow.publish.compute import compute_report, quality_shares, report_markdown
from winnow.publish.release import (
    ReleaseError,
    ReleaseStage,
    code_version,
    fingerprint_files,
    move_latest,
    read_latest,
    write_shards,
)
from winnow.publish.stats import (
    count_removed,
    curated_by_lang,
    dedup_stats,
    funnel_table,
    ingest_removed_counts,
    language_mix,
    removed_documents,
)
from winnow.release_gate import curated_quality_gate
from winnow.stopwatch import Stopwatch
from winnow.tokens import tokenizer_info

CARD = "README.md"
FUNNEL_PNG = "funnel.png"
COMPUTE_JSON = "compute_report.json"
COMPUTE_MD = "compute_report.md"
COMPUTE_PNG = "compute_report.png"


def release_version(recipe: Recipe, partition: str) -> str:
    """``<night>-v<recipe version>``, e.g. ``2026-11-24-v1``: one release per night and recipe
    version; names sort by night."""
    return f"{partition}-v{recipe.version}"


@dataclass
class NightTables:
    """The night's tables; all but ``curated`` may be missing (None) on a cold start."""

    curated: pl.LazyFrame
    scored: pl.LazyFrame | None = None
    rejected: pl.LazyFrame | None = None
    duplicates: pl.LazyFrame | None = None
    raw: pl.LazyFrame | None = None
    quarantine: pl.LazyFrame | None = None
    estimates: pl.DataFrame | None = None
    agreement: pl.DataFrame | None = None
    annotations: pl.LazyFrame | None = None
    sample: pl.LazyFrame | None = None


def scoring_summary(scored: pl.LazyFrame) -> dict:
    """Which quality scores selected this release: a model version, or the heuristic (cold start).

    The curated set depends on the model's threshold, so the release must say which model
    cut it: re-running the night with another model gives other documents.
    """
    names = scored.collect_schema().names()
    if "score_source" not in names:
        return {"score_source": "heuristic", "model_versions": []}
    cols = ["score_source"] + (["model_version"] if "model_version" in names else [])
    seen = scored.select(cols).unique().collect()
    sources = sorted(set(seen["score_source"].drop_nulls()))
    versions = sorted(set(seen["model_version"].drop_nulls())) if "model_version" in cols else []
    return {"score_source": "+".join(sources) or "unknown", "model_versions": versions}


@dataclass
class PublishResult:
    path: Path
    version: str
    manifest: dict
    report: dict
    card: str
    funnel: pl.DataFrame
    language_mix: pl.DataFrame
    dedup: pl.DataFrame | None
    moved_latest: bool
    latest: str | None
    timings: dict = field(default_factory=dict)
    #: temp folders of crashed publishes removed before this one (reported, never silent)
    cleaned: list[str] = field(default_factory=list)


def _source_files(tables: NightTables) -> dict[str, str]:
    """Input file -> source name, from raw_documents and quarantine (files that failed too)."""
    out: dict[str, str] = {}
    for t in (tables.raw, tables.quarantine):
        if t is None:
            continue
        names = t.collect_schema().names()
        if "source_file" not in names:
            continue
        src = pl.col("source") if "source" in names else pl.lit(None, dtype=pl.String)
        for path, source in t.select(pl.col("source_file"), src.alias("source")).unique().collect().iter_rows():
            if path:
                out.setdefault(path, source)
    return out


def _intake_summary(quarantine: pl.LazyFrame | None, prefix: str | None) -> dict:
    """The night's quarantine count by reason, and the files that could not be read to the end."""
    if quarantine is None:
        return {"quarantined": 0, "by_reason": {}, "failed_files": []}
    q = quarantine.select("reason", "source_file", "message").collect()
    by_reason = dict(q.group_by("reason").len().sort("reason").iter_rows())
    failed = q.filter(pl.col("reason") == "corrupt_file")

    def rel(p: str | None) -> str:
        return p.removeprefix(prefix) if p and prefix else str(p)

    return {
        "quarantined": q.height,
        "by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "failed_files": [
            {"path": rel(f), "message": (m or "").replace(prefix or "\0", "")}
            for f, m in failed.select("source_file", "message").iter_rows()
        ],
    }


def _annotation_summary(annotations: pl.LazyFrame | None) -> dict | None:
    if annotations is None:
        return None
    names = annotations.collect_schema().names()
    aggs = [pl.len().alias("labels")]
    if "doc_id" in names:
        aggs.append(pl.col("doc_id").n_unique().alias("documents"))
    if "annotator" in names:
        aggs.append(pl.col("annotator").n_unique().alias("annotators"))
    row = annotations.select(aggs).collect().row(0, named=True)
    return row if row["labels"] else None


def _sample_summary(sample: pl.LazyFrame | None) -> dict | None:
    if sample is None:
        return None
    names = sample.collect_schema().names()
    n = int(sample.select(pl.len()).collect().item())
    by_kind = {}
    if "sample_kind" in names:
        by_kind = dict(sample.group_by("sample_kind").agg(pl.len()).collect().iter_rows())
    return {"documents": n, "by_kind": {str(k): int(v) for k, v in by_kind.items()}}


#: checks that run on the release itself, after it is written
POST_PUBLISH_CHECKS = frozenset({"curated_release", "data_docs"})


def read_check_summaries(validation_dir: Path, partition: str) -> dict:
    """Validation summaries written by the checks: ``<dir>/<asset>/<partition>.json`` (or ``__all__.json``).

    The release's own manifest check runs after publishing, so its file describes the
    previous publish of this night and is left out.
    """
    out: dict = {}
    if not validation_dir.exists():
        return out
    for asset_dir in sorted(p for p in validation_dir.iterdir() if p.is_dir() and p.name not in POST_PUBLISH_CHECKS):
        for name in (f"{partition}.json", "__all__.json"):
            f = asset_dir / name
            if f.exists():
                try:
                    out[asset_dir.name] = json.loads(f.read_text())
                except ValueError as exc:
                    out[asset_dir.name] = {"error": f"{f}: not valid JSON: {exc}"}
                break
    return out


@dataclass
class NightStatistics:
    totals: dict
    funnel: pl.DataFrame
    mix: pl.DataFrame
    by_source: pl.DataFrame
    dedup: pl.DataFrame | None
    report: dict


def _night_statistics(
    stage: ReleaseStage,
    shards: list[dict],
    tables: NightTables,
    recipe: Recipe,
    version: str,
    watch: Stopwatch,
    intake: dict,
) -> NightStatistics:
    """The funnel, language mix, dedup figures and compute report; writes the charts and the report files."""
    cfg = recipe.publish
    totals = {
        "shards": len(shards),
        "rows": sum(s["rows"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
        "tokens": sum(s["tokens"] for s in shards),
    }
    release = pl.scan_parquet([stage.tmp / s["file"] for s in shards])
    removed = removed_documents(release.select("doc_id"), tables.scored, tables.rejected, tables.duplicates)
    removed_counts = count_removed(removed, cfg.tokenizer)
    watch.lap("removed_tokens")
    by_source = (
        release.group_by("source").agg(documents=pl.len(), tokens=pl.col("n_tokens").sum()).sort("source").collect()
    )
    ingest_counts = ingest_removed_counts(intake["by_reason"])  # URL filter, extraction, broken records
    funnel = funnel_table(pl.concat([ingest_counts, removed_counts]), totals["rows"], totals["tokens"])
    mix = language_mix(removed_counts, curated_by_lang(release))
    dedup = dedup_stats(tables.duplicates, removed_counts)
    raw_tokens = int(funnel.filter(pl.col("kind") == "total")["tokens"][0])
    shares = quality_shares(tables.estimates, recipe.compute.quality_metric)
    report = compute_report(raw_tokens, totals["tokens"], recipe.compute, shares)
    watch.lap("statistics")
    stage.write_file(FUNNEL_PNG, funnel_png(funnel, f"{cfg.dataset} {version}: curation funnel"))
    stage.write_file(COMPUTE_PNG, compute_png(report))
    stage.write_file(COMPUTE_JSON, json.dumps(report, indent=2, sort_keys=True) + "\n")
    stage.write_file(COMPUTE_MD, report_markdown(report, heading="#"))
    watch.lap("charts_and_report")
    return NightStatistics(totals, funnel, mix, by_source, dedup, report)


def _lineage(
    tables: NightTables, partition: str, fingerprint_cache: Path | None, prefix: str | None, upstream: dict | None
) -> dict:
    """The night's input files with their fingerprints (recipe-relative) and the upstream tables read."""
    files = _source_files(tables)
    fps = fingerprint_files(files, fingerprint_cache)
    for fp in fps:
        fp["source"] = files.get(fp["path"])
        if prefix:
            fp["path"] = fp["path"].removeprefix(prefix)
    return {"partitions": [partition], "source_files": fps, "upstream_tables": upstream or {}}


def _manifest(ctx: CardContext, shards: list[dict]) -> dict:
    return {
        "manifest_version": RELEASE_MANIFEST_VERSION,
        "dataset": ctx.dataset,
        "version": ctx.version,
        "partition": ctx.partition,
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "schema_version": SCHEMA_VERSION,
        "columns": {c: str(t_) for c, t_ in RELEASE_SCHEMA.items()},
        "shards": shards,
        "totals": ctx.totals,
        "tokenizer": ctx.tokenizer,
        "recipe": {
            "name": ctx.recipe.name,
            "version": ctx.recipe.version,
            "sha256": ctx.recipe_hash,
            "content": ctx.recipe.model_dump(mode="json"),
        },
        "code_version": ctx.code,
        "scoring": ctx.scoring,
        "lineage": ctx.lineage,
        "checks": {
            "gate": "curated_release runs only after the blocking checks on curated_documents passed",
            "validation": ctx.checks,
        },
        "funnel": ctx.funnel.to_dicts(),
        "intake": ctx.intake,
        "language_mix": ctx.language_mix.to_dicts(),
        "dedup": None if ctx.dedup is None else ctx.dedup.to_dicts(),
        "compute": {"file": COMPUTE_JSON, "tokens": ctx.compute["tokens"]},
    }


def publish_night(
    tables: NightTables,
    recipe: Recipe,
    partition: str,
    releases_root: Path,
    *,
    work_dir: Path,
    checks: dict | None = None,
    fingerprint_cache: Path | None = None,
    upstream: dict | None = None,
    move_pointer: bool = True,
    source_root: Path | None = None,
    code: dict | None = None,
    runner=None,
) -> PublishResult:
    """Publish the night's curated documents as ``releases_root/<dataset>/<night>-v<version>/``.

    Everything is written into a hidden temp dir, the manifest is verified against the
    files, then the dir is renamed into place and ``LATEST`` is moved (forward only).
    Any exception leaves no release and ``LATEST`` untouched.

    ``source_root`` is the recipe's folder: input paths under it (``source_file``, a
    text file's ``url``, the lineage) are written relative to it, as the recipe writes
    them, so a release does not depend on where the checkout lives. ``runner`` writes the
    shards (one job each; default here).
    """
    cfg = recipe.publish
    releases_root, work_dir = Path(releases_root), Path(work_dir)
    version = release_version(recipe, partition)
    watch = Stopwatch()
    prefix = f"{source_root}{os.sep}" if source_root is not None else None
    curated = tables.curated
    if prefix:
        names = curated.collect_schema().names()
        curated = curated.with_columns(pl.col(c).str.strip_prefix(prefix) for c in ("source_file", "url") if c in names)

    n_curated = int(curated.select(pl.len()).collect().item())
    if n_curated < cfg.min_documents:
        raise ReleaseError(
            f"{partition}: {n_curated} curated documents, fewer than publish.min_documents = {cfg.min_documents}: "
            "not published and LATEST not moved. Every document was rejected, deduplicated away or quarantined: "
            "see the night's rejected_documents and quarantine"
        )
    with ReleaseStage(releases_root, cfg.dataset, version) as stage:
        shards = write_shards(
            curated,
            stage.tmp,
            work_dir=work_dir,
            shard_target_bytes=int(cfg.shard_target_mb * 1024 * 1024),
            row_group_rows=cfg.row_group_rows,
            zstd_level=cfg.zstd_level,
            tokenizer=cfg.tokenizer,
            runner=runner,
        )
        watch.lap("shards_and_curated_tokens")
        intake = _intake_summary(tables.quarantine, prefix)
        stats = _night_statistics(stage, shards, tables, recipe, version, watch, intake)
        lineage = _lineage(tables, partition, fingerprint_cache, prefix, upstream)
        watch.lap("fingerprints")
        code = code if code is not None else code_version()
        ctx = CardContext(
            dataset=cfg.dataset,
            version=version,
            partition=partition,
            recipe=recipe,
            recipe_hash=recipe.content_hash(),
            code=code,
            tokenizer=tokenizer_info(cfg.tokenizer),
            totals=stats.totals,
            funnel=stats.funnel,
            language_mix=stats.mix,
            by_source=stats.by_source,
            compute=stats.report,
            lineage=lineage,
            dedup=stats.dedup,
            estimates=tables.estimates,
            gate=None
            if tables.estimates is None
            else curated_quality_gate(tables.estimates, recipe, partition).metadata,
            agreement=tables.agreement,
            annotations=_annotation_summary(tables.annotations),
            sample=_sample_summary(tables.sample),
            checks=checks or {},
            images={"funnel": FUNNEL_PNG, "compute": COMPUTE_PNG},
            scoring=scoring_summary(tables.scored if tables.scored is not None else tables.curated),
            intake=intake,
        )
        card = build_card(ctx)
        stage.write_file(CARD, card)
        watch.lap("card")
        path = stage.commit(_manifest(ctx, shards))
        watch.lap("manifest_verify_commit")
    moved = move_latest(releases_root / cfg.dataset, version) if move_pointer else False
    timings = watch.total()
    report, funnel, mix, dedup = stats.report, stats.funnel, stats.mix, stats.dedup
    return PublishResult(
        path=path,
        version=version,
        manifest=json.loads((path / "manifest.json").read_text()),
        report=report,
        card=card,
        funnel=funnel,
        language_mix=mix,
        dedup=dedup,
        moved_latest=moved,
        latest=read_latest(releases_root / cfg.dataset),
        timings=timings,
        cleaned=[str(p) for p in stage.cleaned],
    )
