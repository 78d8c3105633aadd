"""Metadata helpers shared by all assets: row counts, previews, tables, images."""

import base64

import dagster as dg
import polars as pl

from winnow.markdown import md_table

PREVIEW_ROWS = 10
PREVIEW_CHARS = 120


def table_md(df: pl.DataFrame, max_rows: int = 60) -> dg.MarkdownMetadataValue:
    """A small frame as a Markdown table."""
    return dg.MetadataValue.md(md_table(df, max_rows=max_rows, max_cols=len(df.columns) or 1))


def preview(frame: pl.LazyFrame | pl.DataFrame, columns: list[str] | None = None) -> dg.MarkdownMetadataValue:
    """The first rows as a Markdown table, long strings shortened."""
    lf = frame.lazy()
    names = lf.collect_schema().names()
    cols = [c for c in (columns or names) if c in names][:8]
    head = lf.select(cols).head(PREVIEW_ROWS).collect()
    return table_md(head.with_columns(pl.col(c).cast(pl.String).str.slice(0, PREVIEW_CHARS) for c in cols))


def bullet_md(lines: list[str]) -> dg.MarkdownMetadataValue:
    """A Markdown list, or "none"."""
    return dg.MetadataValue.md("\n".join(f"- {line}" for line in lines) or "_none_")


def png_md(key: str, png: bytes | None, alt: str) -> dict:
    """``{key: image}`` with the PNG embedded as Markdown, or ``{}`` when there is no chart."""
    if not png:
        return {}
    return {key: dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")}


def row_count(frame: pl.LazyFrame) -> int:
    return int(frame.select(pl.len()).collect().item())
