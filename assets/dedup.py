"""Curate stage, part 2: exact and near-duplicate removal, within the night and against history.

Thin wrappers over ``winnow.dedup``: ``deduplication`` removes duplicates from the
night's kept documents; ``dedup_index`` adds what the night published to the
persisted signature index, so later nights are deduplicated against it.
"""

import io
import shutil

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.dedup.index import SignatureIndex, default_index_root
from winnow.dedup.minhash import MinHashParams
from winnow.dedup.pipeline import DedupSettings, dedup_frames, run_dedup
from winnow.paths import winnow_home

OWNERS = ["team:data-curation"]
SIZE_BUCKETS = [(2, 2), (3, 5), (6, 10), (11, 100), (101, None)]


def _work_dir(partition: str):
    return winnow_home() / "dedup_work" / partition


def _size_histogram(kept: pl.LazyFrame) -> pl.DataFrame:
    sizes = kept.filter(pl.col("dup_cluster_size") > 1).select("dup_cluster_size").collect().get_column("dup_cluster_size")
    rows = []
    for lo, hi in SIZE_BUCKETS:
        sel = (sizes >= lo) & ((sizes <= hi) if hi is not None else True)
        rows.append({"cluster size": f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi else f">{lo - 1}"), "clusters": int(sel.sum())})
    return pl.DataFrame(rows)


def _histogram_png(hist: pl.DataFrame) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.6), dpi=90)
    ax.bar(hist["cluster size"].to_list(), hist["clusters"].to_list(), color="#4c72b0")
    ax.set_xlabel("documents per duplicate cluster")
    ax.set_ylabel("clusters")
    ax.set_title("Duplicate cluster sizes")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@dg.multi_asset(
    outs={
        "deduplicated_documents": dg.AssetOut(
            description="The night's documents kept by the filters, one per duplicate cluster (exact: equal "
            "normalized text; near: MinHash LSH 14×8 on word 5-grams, verified; history: already published). "
            "Adds content_hash, dup_cluster_id (the kept doc_id) and dup_cluster_size.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
        "duplicates": dg.AssetOut(
            description="Documents removed as duplicates, nothing lost: each names the kept doc_id (dup_of), "
            "how it matched (dup_kind: exact | near | history) and its dup_cluster_id.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
        "dedup_signatures": dg.AssetOut(
            description="content_hash and MinHash signature of every kept document; dedup_index publishes "
            "the ones that reach the release.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
    },
    partitions_def=daily_partitions,
)
def deduplication(context: dg.AssetExecutionContext, recipe: RecipeResource, scored_documents: pl.LazyFrame):
    spec = recipe.load()
    settings = DedupSettings.from_config(spec.dedup)
    partition = context.partition_key
    kept_by_filters = scored_documents.filter(pl.col("status") == "kept")
    index = SignatureIndex(default_index_root(), settings.params) if settings.against_history else None
    work = _work_dir(partition)
    try:
        outcome = run_dedup(kept_by_filters, settings, work, index=index, partition=partition)
        kept, dups = dedup_frames(kept_by_filters, outcome)
        n_in, n_kept, n_dups = row_count(kept_by_filters), row_count(kept), row_count(dups)
        if n_kept + n_dups != n_in:  # nothing may be lost between input and outputs
            raise RuntimeError(f"deduplication lost documents: {n_in} in, {n_kept} kept + {n_dups} duplicates")
        by_kind = dups.group_by("dup_kind").agg(documents=pl.len()).sort("dup_kind").collect()
        hist = _size_histogram(kept)
        clusters = int(hist["clusters"].sum())
        stats = outcome.stats
        yield dg.Output(kept, output_name="deduplicated_documents", metadata={
            "dagster/row_count": n_kept,
            "input_documents": n_in,
            "duplicate_clusters": clusters,
            "cluster_sizes": table_md(hist),
            "cluster_size_chart": png_md(_histogram_png(hist), "duplicate cluster sizes"),
            "history_index_documents": index.size() if index is not None else 0,
            "timings_s": dg.MetadataValue.json({k: v for k, v in stats.items() if k.startswith("seconds")}),
            "pairs": dg.MetadataValue.json({k: v for k, v in stats.items() if k.endswith("pairs")}),
            "preview": preview(kept, ["doc_id", "content_hash", "dup_cluster_id", "dup_cluster_size", "quality_score", "text"]),
        })
        yield dg.Output(dups, output_name="duplicates", metadata={
            "dagster/row_count": n_dups,
            "by_kind": table_md(by_kind),
            "preview": preview(dups, ["doc_id", "dup_of", "dup_kind", "dup_cluster_id", "dup_cluster_size", "text"]),
        })
        sigs = outcome.signatures.with_columns(partition=pl.lit(partition))
        yield dg.Output(sigs, output_name="dedup_signatures", metadata={
            "dagster/row_count": n_kept,
            "params": dg.MetadataValue.json(settings.params.identity()),
        })
    finally:
        shutil.rmtree(work, ignore_errors=True)


@dg.asset(
    partitions_def=daily_partitions,
    group_name="publish",
    owners=OWNERS,
    kinds={"parquet"},
    deps=["curated_release"],
    description="Adds the night's published documents (content hashes, MinHash signatures, band keys) to "
    "the persisted dedup index under `WINNOW_HOME/dedup_index/partitions/<night>/`, replacing that night's "
    "entries on a rerun. Later nights are deduplicated against it; rebuild it from the releases with "
    "`python -m winnow.dedup.index rebuild <releases root>`.",
)
def dedup_index(
    context: dg.AssetExecutionContext,
    recipe: RecipeResource,
    dedup_signatures: pl.LazyFrame,
    curated_documents: pl.LazyFrame,
) -> dg.MaterializeResult:
    spec = recipe.load()
    params = MinHashParams.from_config(spec.dedup.minhash)
    index = SignatureIndex(default_index_root(), params)
    published = curated_documents.select("doc_id").unique()
    entries = dedup_signatures.join(published, on="doc_id", how="semi")
    rows = index.publish_partition(context.partition_key, entries)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "index_partitions": len(index.partitions()),
        "index_documents": index.size(),
        "path": dg.MetadataValue.path(str(index.root)),
    })
