"""Exploded views of a batch of texts: one row per line, per paragraph, per token.

Every frame carries ``_d`` (the document's row in the batch), so a family computes
its per-line or per-token flags vectorized over the whole batch and aggregates them
back with one ``group_by("_d")``. Order inside a document is preserved (``explode``
keeps it), which the n-gram and sentence logic rely on.
"""

from __future__ import annotations

import polars as pl

from winnow.signals.text import INFIX, INFIX_KEEP_HYPHEN, INFIX_REPLACE, OTHER_LINE_BREAKS, TOKEN


def line_frame(texts: pl.DataFrame) -> pl.DataFrame:
    """One row per ``text.split("\\n")`` element: ``_d``, ``_l`` (global line id), ``li``
    (index in its document), ``n_li`` (lines of the document), ``line``."""
    return (
        texts.select("_d", line=pl.col("text").str.split("\n"))
        .with_columns(n_li=pl.col("line").list.len().cast(pl.Int64))
        .with_columns(_start=pl.col("n_li").cum_sum() - pl.col("n_li"))
        .explode("line")
        .with_columns(_l=pl.int_range(pl.len(), dtype=pl.Int64))
        .with_columns(li=pl.col("_l") - pl.col("_start"))
        .drop("_start")
    )


def splitlines_text() -> pl.Expr:
    """The text with every ``str.splitlines`` break turned into one ``"\\n"``."""
    return pl.col("text").str.replace_all(OTHER_LINE_BREAKS, "\n")


def paragraph_frame(texts: pl.DataFrame) -> pl.DataFrame:
    """One row per ``re.split(r"\\n{2,}", text.strip())`` element: ``_d``, ``para``."""
    return texts.select(
        "_d",
        para=pl.col("text").str.strip_chars().str.replace_all(r"\n{3,}", "\n\n").str.split("\n\n"),
    ).explode("para")


def tokens_expr(line: pl.Expr, keep_hyphen: bool = False) -> pl.Expr:
    """Word tokens of each line (see ``text.TOKEN``): infixes spaced out twice, then extracted.
    ``keep_hyphen``: a single hyphen inside a word does not split it (spaCy's de and pt rules)."""
    infix = INFIX_KEEP_HYPHEN if keep_hyphen else INFIX
    return line.str.replace_all(infix, INFIX_REPLACE).str.replace_all(infix, INFIX_REPLACE).str.extract_all(TOKEN)


def token_frame(lines: pl.DataFrame, keep_hyphen: bool = False) -> pl.DataFrame:
    """One row per token of every line: ``_d``, ``_l``, ``tok`` (in text order)."""
    return (
        lines.filter(pl.col("line").str.contains(r"\S"))
        .select("_d", "_l", tok=tokens_expr(pl.col("line"), keep_hyphen))
        .explode("tok")
        .drop_nulls("tok")
    )
