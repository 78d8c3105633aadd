"""Tables as Markdown: one renderer for the dataset card, the compute report and the Dagster UI."""

from __future__ import annotations

import json

import polars as pl


def cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        v = json.dumps(v, default=str)
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(df: pl.DataFrame, max_rows: int = 30, max_cols: int = 10) -> str:
    if df is None or df.height == 0:
        return "_(empty)_"
    df = df.select(df.columns[:max_cols])
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.head(max_rows).iter_rows():
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if df.height > max_rows:
        lines.append(f"\n_… {df.height - max_rows} more rows_")
    return "\n".join(lines)
