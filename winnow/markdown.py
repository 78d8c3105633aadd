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


def fmt_count(x: float | None) -> str:
    if x is None:
        return "n/a"
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.2f} {suffix}"
    return f"{x:,.0f}"


def fmt_num(x: float | None, digits: int = 2) -> str:
    """Fixed decimals, or 3 significant digits for small values (so 0.0041 is not shown as 0.00)."""
    if x is None:
        return "n/a"
    if x != 0 and abs(x) < 10 ** (1 - digits):
        return f"{x:.3g}"
    return f"{x:,.{digits}f}"


def fmt_pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"
