"""Curate stage: quality signals, rule-based filtering and deduplication.

Thin wrappers over ``winnow.signals``, ``winnow.filters`` and ``winnow.dedup``
(docs/curate.md documents each signal, rule and the dedup design).
"""

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import ExecutionResource, RecipeResource, SettingsResource, StoreResource, execution_md
from winnow.dedup.index import SignatureIndex
from winnow.dedup.pipeline import DedupOutcome, DedupSettings, dedup_frames, run_dedup
from winnow.dedup.stats import cluster_size_histogram
from winnow.filters import apply_filters, build_rules, fallback_note, funnel, threshold_sources
from winnow.markdown import md_table
from winnow.plots import cluster_sizes_png, rule_funnel_png
from winnow.signals import compute_signals, signal_schema
from winnow.signals.summary import language_summary, pii_summary

GROUP = "curate"
OWNERS = ["team:data-curation"]
TABLE = {"polars", "parquet"}


@dg.asset(
    partitions_def=daily_partitions,
    kinds=TABLE,
    description="raw_documents plus one column per quality signal: Gopher quality and repetition, C4 line "
    "rules, FineWeb, offline language ID (lang_detected, lang_score), PII counts (pii_email, pii_phone, "
    "pii_ip, pii_card), text_redacted (the PII-redacted text annotators see) and n_tokens (the release "
    "tokenizer's count, made once here and read by the funnel, the model and the release). Computed "
    "streaming, in vectorized batches (docs/reference.md lists every column).",
)
def document_signals(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    store: StoreResource,
    execution: ExecutionResource,
    raw_documents: pl.LazyFrame,
):
    spec = recipe.load()
    runner = execution.runner()
    with store.store.scratch(f"signals-{context.partition_key}") as work:
        signals = execution.map_shards(runner, raw_documents, compute_signals, work, "signals", args=(spec,))
        yield dg.Output(
            signals,
            metadata={
                "dagster/row_count": row_count(raw_documents),
                "signal_columns": dg.MetadataValue.md(", ".join(f"`{c}`" for c in signal_schema(spec.filters))),
                "execution": execution_md(runner),
            },
        )


@dg.multi_asset(
    outs={
        "filtered_documents": dg.AssetOut(
            description="Documents that pass every rule of the recipe (language, Gopher repetition, Gopher "
            "quality, C4, FineWeb), with their signals.",
            kinds=TABLE,
        ),
        "rejected_documents": dg.AssetOut(
            description="Documents removed by a rule, with drop_reason (the first failing rule, datatrove-style "
            "code) and drop_family. Kept, never lost.",
            kinds=TABLE,
        ),
    },
    partitions_def=daily_partitions,
)
def filtering(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    store: StoreResource,
    execution: ExecutionResource,
    document_signals: pl.LazyFrame,
):
    """Apply all filters in one vectorized pass per shard; split kept and rejected."""
    spec = recipe.load()
    runner = execution.runner()
    with store.store.scratch(f"filters-{context.partition_key}") as work:
        decided = execution.map_shards(runner, document_signals, apply_filters, work, "filters", args=(spec,))
        yield from _filter_outputs(context, decided, spec, runner)


def _filter_outputs(context: dg.AssetExecutionContext, decided: pl.LazyFrame, spec, runner):
    common = _filter_metadata(context, decided, spec)
    kept, rejected = decided.filter(pl.col("keep")), decided.filter(~pl.col("keep"))
    yield dg.Output(
        kept,
        output_name="filtered_documents",
        metadata={
            "dagster/row_count": row_count(kept),
            **common,
            "languages": table_md(language_summary(decided)),
            "pii_found": table_md(pii_summary(decided)),
            "preview": preview(kept, ["doc_id", "source", "lang_detected", "lang_score", "n_words", "text"]),
            "execution": execution_md(runner),
        },
    )
    yield dg.Output(
        rejected,
        output_name="rejected_documents",
        metadata={
            "dagster/row_count": row_count(rejected),
            **common,
            "preview": preview(rejected, ["doc_id", "drop_family", "drop_reason", "lang_detected", "text"]),
        },
    )


def _filter_metadata(context: dg.AssetExecutionContext, decided: pl.LazyFrame, spec) -> dict:
    """The funnel (table, chart, and which languages ran on fallback thresholds), shared by both outputs."""
    table = funnel(decided)
    sources = threshold_sources(decided, spec)
    note = fallback_note(sources)
    if note:
        context.log.warning(note)
    return {
        "funnel": dg.MetadataValue.md(md_table(table, max_rows=60) + (f"\n\n**{note}**" if note else "")),
        "thresholds_by_language": table_md(sources),
        "languages_on_fallback_thresholds": sources.filter("fallback")["lang_detected"].to_list(),
        "rules": len(build_rules(spec)),
        **png_md("funnel_chart", rule_funnel_png(table), "documents and characters removed per reason"),
    }


@dg.multi_asset(
    outs={
        "deduplicated_documents": dg.AssetOut(
            description="The night's documents kept by the filters, one per duplicate cluster (exact: equal "
            "normalized text; near: MinHash LSH 14×8 on word 5-grams, verified; history: already published). "
            "Adds content_hash, dup_cluster_id (the kept doc_id) and dup_cluster_size.",
            kinds=TABLE,
        ),
        "duplicates": dg.AssetOut(
            description="Documents removed as duplicates, nothing lost: each names the kept doc_id (dup_of), "
            "how it matched (dup_kind: exact | near | history) and its dup_cluster_id.",
            kinds=TABLE,
        ),
        "dedup_signatures": dg.AssetOut(
            description="content_hash and MinHash signature of every kept document; dedup_index publishes "
            "the ones that reach the release.",
            kinds=TABLE,
        ),
    },
    partitions_def=daily_partitions,
)
def deduplication(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    settings: SettingsResource,
    store: StoreResource,
    execution: ExecutionResource,
    scored_documents: pl.LazyFrame,
):
    work = settings.get().work
    cfg = DedupSettings.from_config(recipe.load().dedup, batch_mb=work.dedup_batch_mb, workers=work.dedup_workers)
    night, root = context.partition_key, store.store
    kept_rows = pl.col("status") == "kept"
    docs = scored_documents.filter(kept_rows)
    runner = execution.runner()
    index = SignatureIndex(root.dedup_index, cfg.params) if cfg.against_history else None
    with root.scratch(f"dedup-{night}") as scratch:
        outcome = run_dedup(
            docs, cfg, scratch, index=index, partition=night, runner=runner, source=(scored_documents, kept_rows)
        )
        kept, dups = dedup_frames(docs, outcome)
        n_in, n_kept, n_dups = row_count(docs), row_count(kept), row_count(dups)
        if n_kept + n_dups != n_in:  # nothing may be lost between input and outputs
            raise RuntimeError(f"deduplication lost documents: {n_in} in, {n_kept} kept + {n_dups} duplicates")
        metadata = {**_kept_metadata(kept, outcome, n_in, index), "execution": execution_md(runner)}
        yield dg.Output(kept, output_name="deduplicated_documents", metadata=metadata)
        yield dg.Output(dups, output_name="duplicates", metadata=_dups_metadata(dups, n_dups))
        yield dg.Output(
            outcome.signatures.with_columns(partition=pl.lit(night)),
            output_name="dedup_signatures",
            metadata={"dagster/row_count": n_kept, "params": dg.MetadataValue.json(cfg.params.identity())},
        )


def _dups_metadata(dups: pl.LazyFrame, n_dups: int) -> dict:
    return {
        "dagster/row_count": n_dups,
        "by_kind": table_md(dups.group_by("dup_kind").agg(documents=pl.len()).sort("dup_kind").collect()),
        "preview": preview(dups, ["doc_id", "dup_of", "dup_kind", "dup_cluster_id", "dup_cluster_size", "text"]),
    }


def _kept_metadata(kept: pl.LazyFrame, outcome: DedupOutcome, n_in: int, index: SignatureIndex | None) -> dict:
    hist = cluster_size_histogram(kept)
    stats = outcome.stats
    return {
        "dagster/row_count": row_count(kept),
        "input_documents": n_in,
        "duplicate_clusters": int(hist["clusters"].sum()),
        "cluster_sizes": table_md(hist),
        **png_md("cluster_size_chart", cluster_sizes_png(hist), "duplicate cluster sizes"),
        "history_index_documents": index.size() if index is not None else 0,
        "timings_s": dg.MetadataValue.json({k: v for k, v in stats.items() if k.startswith("seconds")}),
        "pairs": dg.MetadataValue.json({k: v for k, v in stats.items() if k.endswith("pairs")}),
        "preview": preview(
            kept, ["doc_id", "content_hash", "dup_cluster_id", "dup_cluster_size", "quality_score", "text"]
        ),
    }
