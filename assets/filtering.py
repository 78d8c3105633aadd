"""Curate stage, part 1: quality signals and rule-based filtering (thin wrappers over
``winnow.signals`` and ``winnow.filters``; README.md, 'Quality signals and filters', documents each signal)."""

import io

import dagster as dg
import polars as pl

from assets.metadata import png_md, preview, row_count, table_md
from assets.partitions import daily_partitions
from assets.resources import RecipeResource
from winnow.filters import FAMILIES, apply_filters, build_rules, funnel
from winnow.signals import compute_signals, signal_schema

OWNERS = ["team:data-curation"]
_FAMILY_COLORS = {
    "language": "#8064a2",
    "gopher_repetition": "#f79646",
    "gopher_quality": "#c0504d",
    "c4": "#4bacc6",
    "fineweb": "#9bbb59",
}


@dg.asset(
    partitions_def=daily_partitions,
    group_name="curate",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    description="raw_documents plus one column per quality signal: Gopher quality and repetition, C4 line "
    "rules, FineWeb, offline language ID (lang_detected, lang_score), PII counts (pii_email, pii_phone, "
    "pii_ip, pii_card) and text_redacted, the PII-redacted text annotators see. Computed streaming, in "
    "vectorized batches (README.md, 'Signal columns', lists every column).",
)
def document_signals(context: dg.AssetExecutionContext, recipe: RecipeResource, raw_documents: pl.LazyFrame):
    spec = recipe.load()
    out = compute_signals(raw_documents, spec)
    return dg.Output(
        out,
        metadata={
            "dagster/row_count": row_count(raw_documents),
            "signal_columns": dg.MetadataValue.md(", ".join(f"`{c}`" for c in signal_schema(spec.filters))),
        },
    )


@dg.multi_asset(
    outs={
        "filtered_documents": dg.AssetOut(
            description="Documents that pass every rule of the recipe (language, Gopher repetition, Gopher "
            "quality, C4, FineWeb), with their signals.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
        "rejected_documents": dg.AssetOut(
            description="Documents removed by a rule, with drop_reason (the first failing rule, datatrove-style "
            "code) and drop_family. Kept, never lost.",
            group_name="curate", owners=OWNERS, kinds={"polars", "parquet"},
        ),
    },
    partitions_def=daily_partitions,
)
def filtering(context: dg.AssetExecutionContext, recipe: RecipeResource, document_signals: pl.LazyFrame):
    """Apply all filters in one vectorized pass; split kept and rejected."""
    spec = recipe.load()
    decided = apply_filters(document_signals, spec)
    table = funnel(decided)
    kept = decided.filter(pl.col("keep"))
    rejected = decided.filter(~pl.col("keep"))
    n_rules = len(build_rules(spec))
    common = {
        "funnel": table_md(table),
        "funnel_chart": png_md(funnel_png(table), "documents and characters removed per reason"),
        "rules": n_rules,
    }
    yield dg.Output(kept, output_name="filtered_documents", metadata={
        "dagster/row_count": row_count(kept),
        **common,
        "languages": table_md(_languages(decided)),
        "pii_found": table_md(_pii(decided)),
        "preview": preview(kept, ["doc_id", "source", "lang_detected", "lang_score", "n_words", "text"]),
    })
    yield dg.Output(rejected, output_name="rejected_documents", metadata={
        "dagster/row_count": row_count(rejected),
        **common,
        "preview": preview(rejected, ["doc_id", "drop_family", "drop_reason", "lang_detected", "text"]),
    })


def _languages(decided: pl.LazyFrame) -> pl.DataFrame:
    return (
        decided.group_by("lang_detected")
        .agg(documents=pl.len(), kept=pl.col("keep").sum(), mean_score=pl.col("lang_score").mean())
        .sort("documents", descending=True)
        .head(15)
        .collect()
    )


def _pii(decided: pl.LazyFrame) -> pl.DataFrame:
    cols = ["pii_email", "pii_phone", "pii_ip", "pii_card"]
    sums = decided.select(
        *[pl.col(c).sum().alias(c) for c in cols], *[(pl.col(c) > 0).sum().alias(f"{c}_docs") for c in cols]
    ).collect()
    return pl.DataFrame(
        {
            "kind": [c.removeprefix("pii_") for c in cols],
            "found": [int(sums[c][0]) for c in cols],
            "documents": [int(sums[f"{c}_docs"][0]) for c in cols],
        }
    )


def funnel_png(table: pl.DataFrame) -> bytes:
    """Two bar panels, documents and characters removed per reason, coloured by rule family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patches
    import matplotlib.pyplot as plt

    removed = table.filter(pl.col("drop_reason") != "(kept)")
    kept = table.filter(pl.col("drop_reason") == "(kept)")
    rows = pl.concat([removed, kept]) if removed.height else kept
    labels = [
        "kept" if r == "(kept)" else f"{r}" for r in rows["drop_reason"].to_list()
    ][::-1]
    colors = [_FAMILY_COLORS.get(f, "#4f81bd" if f == "(kept)" else "#777777") for f in rows["drop_family"].to_list()][::-1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.3 + 0.34 * max(rows.height, 1)), sharey=True)
    for ax, col in ((axes[0], "documents"), (axes[1], "characters")):
        vals = rows[col].to_list()[::-1]
        bars = ax.barh(range(len(vals)), vals, color=colors)
        ax.set_yticks(range(len(vals)), labels)
        ax.set_xlabel(f"{col} removed (kept: last bar)")
        for b, v in zip(bars, vals):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {v:,}", va="center", fontsize=8)
        ax.margins(x=0.22)
        ax.spines[["top", "right"]].set_visible(False)
    present = set(rows["drop_family"].to_list())
    handles = [matplotlib.patches.Patch(color=_FAMILY_COLORS[f], label=f) for f in FAMILIES if f in present]
    if handles:
        axes[1].legend(handles=handles, frameon=False, fontsize=8, loc="lower right")
    fig.suptitle("Filtering funnel: documents and characters removed per reason")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
