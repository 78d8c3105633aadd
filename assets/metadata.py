"""Metadata helpers shared by all assets: row counts, previews, images."""


import base64

import dagster as dg
import polars as pl

PREVIEW_ROWS = 10
PREVIEW_CHARS = 120


def preview(frame: pl.LazyFrame | pl.DataFrame, columns: list[str] | None = None) -> dg.MarkdownMetadataValue:
    """The first rows as a Markdown table, long strings shortened."""
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    names = lf.collect_schema().names()
    cols = [c for c in (columns or names) if c in names][:8]
    head = lf.select(cols).head(PREVIEW_ROWS).collect()
    if head.height == 0:
        return dg.MetadataValue.md("_(empty)_")
    head = head.with_columns(
        [pl.col(c).cast(pl.String).str.slice(0, PREVIEW_CHARS).str.replace_all(r"[\n\r|]", " ") for c in cols]
    )
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in head.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def table_md(df: pl.DataFrame) -> dg.MarkdownMetadataValue:
    """A small frame as a Markdown table."""
    if df.height == 0:
        return dg.MetadataValue.md("_(empty)_")
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.iter_rows():
        lines.append("| " + " | ".join("" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in row) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def png_md(png: bytes, alt: str = "chart") -> dg.MarkdownMetadataValue:
    """A PNG embedded as a Markdown image, so the Dagster UI shows it inline."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def row_count(frame: pl.LazyFrame) -> int:
    return int(frame.select(pl.len()).collect().item())
