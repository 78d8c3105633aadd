"""FineWeb quality signals (Penedo et al. 2024), as datatrove's ``FineWebQualityFilter`` computes them.

Over the non-blank lines of ``text.split("\\n")``: the share ending in terminal
punctuation, the share of short lines, the characters of repeated lines over the
text's characters without newlines, and newlines per word token.
"""

from __future__ import annotations

import polars as pl

from schemas.recipe import FineWebConfig
from winnow.signals.family import Family, Threshold
from winnow.signals.gopher import _ratio, duplicate_stats
from winnow.signals.text import TERMINAL_CLASS


def doc_stats(lines: pl.DataFrame, cfg: FineWebConfig) -> pl.DataFrame:
    """Per ``_d``: ``fw_lines`` (non-blank), ``fw_punct_lines``, ``fw_short_lines``, ``fw_dup_chars``."""
    nonblank = lines.filter(pl.col("line").str.contains(r"\S"))
    stop = cfg.stop_chars
    ends = (
        pl.col("line").str.contains(rf"[{TERMINAL_CLASS}]$")
        if stop is None
        else pl.any_horizontal(pl.col("line").str.ends_with(c) for c in stop)
    )
    counts = nonblank.group_by("_d").agg(
        fw_lines=pl.len().cast(pl.Int64),
        fw_punct_lines=ends.sum().cast(pl.Int64),
        fw_short_lines=(pl.col("line").str.len_chars() <= cfg.short_line_length).sum().cast(pl.Int64),
    )
    dups = duplicate_stats(nonblank, "line", "fwline").select("_d", fw_dup_chars="fwline_dup_chars")
    return counts.join(dups, on="_d", how="left")


def signals(n_chars_no_newline: pl.Expr, n_newlines: pl.Expr) -> list[pl.Expr]:
    lines = pl.col("fw_lines")
    return [
        _ratio(pl.col("fw_punct_lines"), lines).alias("fineweb_line_punct_ratio"),
        _ratio(pl.col("fw_short_lines"), lines).alias("fineweb_short_line_ratio"),
        _ratio(pl.col("fw_dup_chars"), n_chars_no_newline).alias("fineweb_char_dup_ratio"),
        _ratio(n_newlines, pl.col("n_tokens")).alias("fineweb_newlines_per_word"),
        lines.alias("fineweb_lines"),
    ]


# ----------------------------------------------------------------------------- the family
def _rules(f) -> list:
    fw, c = f.fineweb, pl.col
    ratio = c("fineweb_line_punct_ratio")
    punct_ok = ratio >= fw.line_punct_thr
    if fw.line_punct_exclude_zero:
        punct_ok = punct_ok | (ratio == 0)
    return [
        ("empty", c("fineweb_lines") > 0),
        ("line_punct_ratio", punct_ok),
        ("short_line_ratio", c("fineweb_short_line_ratio") <= fw.short_line_thr),
        ("char_dup_ratio", c("fineweb_char_dup_ratio") <= fw.char_duplicates_ratio),
        ("list_ratio", c("fineweb_newlines_per_word") <= fw.new_line_ratio),
    ]


FAMILY = Family(
    name="fineweb",
    reasons={
        "line_punct_ratio": "share of lines ending in terminal punctuation below line_punct_thr",
        "short_line_ratio": "share of short lines above short_line_thr",
        "char_dup_ratio": "characters in duplicated lines above char_duplicates_ratio",
        "list_ratio": "newlines per word above new_line_ratio",
    },
    columns=lambda f: {
        "fineweb_lines": pl.Int64(),
        "fineweb_line_punct_ratio": pl.Float64(),
        "fineweb_short_line_ratio": pl.Float64(),
        "fineweb_char_dup_ratio": pl.Float64(),
        "fineweb_newlines_per_word": pl.Float64(),
    },
    rules=_rules,
    thresholds=lambda f: {
        "line_punct_ratio": Threshold("fineweb_line_punct_ratio", "line_punct_thr", ">="),
        "short_line_ratio": Threshold("fineweb_short_line_ratio", "short_line_thr", "<="),
        "char_dup_ratio": Threshold("fineweb_char_dup_ratio", "char_duplicates_ratio", "<="),
        "list_ratio": Threshold("fineweb_newlines_per_word", "new_line_ratio", "<="),
    },
)
