"""Night-level crawl rules, applied once every file is read: the per-domain cap and site boilerplate.

They need the whole night, so they run here rather than in the reader, which keeps file
reading parallel and the result independent of the order files finish in.

**Per-domain cap.** At most ``max_docs_per_domain`` documents per host and night, the first
in file and record order; the others go to quarantine (``domain_cap``). Their extraction was
already done: the cost of reading files in parallel.

**Site boilerplate.** Lines repeated across many pages of one host are removed (as CCNet does).

A navigation menu, a cookie banner or a footer is the same on every page of a site, and the
extractor's main-content heuristics do not catch all of it. Within a night, a line (compared
stripped and lower-cased) found in at least ``min_docs`` documents of the same host is removed
from each of them; the document keeps its other lines in order, and its metadata counts the
lines removed (``site_boilerplate_lines``). Only crawl sources are rewritten.
"""

from __future__ import annotations

import polars as pl

from schemas.documents import QUARANTINE_SCHEMA

HOST = r"^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)"


def cap_per_domain(docs: pl.LazyFrame, caps: dict[str, int]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(documents within each source's cap, the rest as quarantine rows); ``caps``: source -> cap."""
    if not caps:
        return docs, pl.LazyFrame(schema=QUARANTINE_SCHEMA)
    cap = pl.col("source").replace_strict(caps, default=None, return_dtype=pl.Int64)
    host = pl.col("url").str.extract(HOST, 1).str.to_lowercase()
    ranked = docs.with_columns(_host=host, _cap=cap).with_columns(
        _rank=pl.int_range(pl.len()).over("source", "_host")  # docs come in file and record order
    )
    over = pl.col("_cap").is_not_null() & pl.col("_host").is_not_null() & (pl.col("_rank") >= pl.col("_cap"))
    quarantine = ranked.filter(over).select(
        "source",
        "source_file",
        "source_line",
        pl.col("text").str.slice(0, 500).alias("raw_excerpt"),
        pl.lit("domain_cap").alias("reason"),
        pl.format(
            "{}:{}: {} already has {} documents tonight (crawl.max_docs_per_domain)",
            "source_file", "source_line", "_host", "_cap",
        ).alias("message"),
        "partition",
    )  # fmt: skip
    return ranked.filter(~over).drop("_host", "_cap", "_rank"), quarantine.cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]


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
