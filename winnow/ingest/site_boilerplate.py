"""Site boilerplate: lines repeated across many pages of one host are removed, as CCNet does.

It runs once every file of the night is read, in file order, so files can be read in
parallel with the same result.

A navigation menu, a cookie banner or a footer is the same on every page of a site, and the
extractor's main-content heuristics do not catch all of it. Within a night, a line (compared
stripped and lower-cased) found in at least ``min_docs`` documents of the same host is removed
from each of them; the document keeps its other lines in order, and its metadata counts the
lines removed (``site_boilerplate_lines``). Only crawl sources are rewritten.
"""

from __future__ import annotations

import polars as pl

HOST = r"^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)"


def strip_site_boilerplate(docs: pl.LazyFrame, min_docs: dict[str, int]) -> pl.LazyFrame:
    """``docs`` with repeated site lines removed from the documents of the sources in ``min_docs``.

    ``min_docs`` maps a source name to its threshold. A document left with no line keeps its
    text (the filters then judge it), so no document disappears here.
    """
    if not min_docs:
        return docs
    threshold = pl.col("source").replace_strict(min_docs, default=None, return_dtype=pl.Int64)
    crawl = docs.filter(pl.col("source").is_in(list(min_docs))).select(
        "doc_id", "text", _host=pl.col("url").str.extract(HOST, 1).str.to_lowercase(), _min=threshold
    )
    lines = (
        crawl.select("doc_id", "_host", "_min", _line=pl.col("text").str.split("\n"))
        .with_columns(_pos=pl.int_ranges(pl.col("_line").list.len()))
        .explode("_line", "_pos")
        .with_columns(_key=pl.col("_line").str.strip_chars().str.to_lowercase())
    )
    repeated = (
        lines.filter(pl.col("_key") != "")
        .group_by("_host", "_key")
        .agg(_n=pl.col("doc_id").n_unique(), _min=pl.col("_min").first())
        .filter(pl.col("_n") >= pl.col("_min"))
        .select("_host", "_key", _drop=pl.lit(True))
    )
    kept = (
        lines.join(repeated, on=["_host", "_key"], how="left")
        .with_columns(_drop=pl.col("_drop").fill_null(False) & (pl.col("_key") != ""))
        .sort("doc_id", "_pos")
        .group_by("doc_id", maintain_order=True)
        .agg(
            _text=pl.col("_line").filter(~pl.col("_drop")).str.join("\n"),
            _removed=pl.col("_drop").sum().cast(pl.Int64),
        )
        .with_columns(_text=pl.col("_text").str.replace(r"^\n+", "").str.replace(r"\n{3,}", "\n\n"))
    )
    out = docs.join(kept, on="doc_id", how="left", maintain_order="left")
    changed = pl.col("_removed").fill_null(0) > 0
    usable = changed & (pl.col("_text").str.strip_chars() != "")
    meta = pl.col("metadata").str.replace(r"\}$", "") + pl.format(', "site_boilerplate_lines": {}}}', "_removed")
    return out.with_columns(
        text=pl.when(usable).then(pl.col("_text")).otherwise(pl.col("text")),
        metadata=pl.when(usable).then(meta).otherwise(pl.col("metadata")),
    ).drop("_text", "_removed")
