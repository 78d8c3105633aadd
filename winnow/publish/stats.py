"""Release statistics: the funnel (documents and tokens removed per rule), dedup and languages.

Every document of the night is counted exactly once: it is either in the release, or
removed at one stage, with the reason of that stage:

- ``filter``: in ``rejected_documents``; reason = ``drop_reason`` (first failing rule);
- ``dedup``: in ``duplicates``; reason = ``duplicate_<dup_kind>``;
- ``other``: in ``scored_documents`` but in none of the above and not curated:
  reason = ``model_below_threshold`` (family ``quality_model``) when the quality model
  scored it under its calibrated threshold (``model_keep`` false), else ``not_curated``.

Raw = curated + removed. Token and character counts come from the ``n_tokens`` and
``n_chars`` columns ``document_signals`` carries; only a table without them (a night
materialized by an older version) has its texts read and tokenized here.
"""

from __future__ import annotations

import polars as pl

from schemas.documents import model_drop_expr
from winnow.tokens import n_tokens_filled

UNKNOWN_LANG = "und"
REMOVED_SCHEMA = {
    "doc_id": pl.String,
    "text": pl.String,
    "n_tokens": pl.Int64,
    "n_chars": pl.Int64,
    "lang_key": pl.String,
    "stage": pl.String,
    "family": pl.String,
    "reason": pl.String,
}
#: Order of the stages in the funnel.
STAGES = ("ingest", "filter", "dedup", "other")
#: quarantine reasons of crawl records, by funnel family (the rest are "input": broken records)
CRAWL_FAMILIES = {
    "url_filter": ("url_blocked_domain", "url_blocked", "url_banned_word", "domain_cap"),
    "extraction": (
        "http_redirect",
        "http_status",
        "non_http_record",
        "non_html_payload",
        "empty_payload",
        "page_too_large",
        "undecodable_charset",
        "no_main_text",
    ),
}


def lang_key(frame: pl.LazyFrame) -> pl.Expr:
    """The language a document counts under: detected, else given, else ``und``."""
    names = frame.collect_schema().names()
    parts = [pl.col(c).cast(pl.String) for c in ("lang_detected", "lang") if c in names]
    return pl.coalesce([*parts, pl.lit(UNKNOWN_LANG)]).fill_null(UNKNOWN_LANG).alias("lang_key")


def _measures(frame: pl.LazyFrame) -> list[pl.Expr]:
    """``text``, ``n_tokens`` and ``n_chars``: the counted columns when the table has them
    (then the text is not read at all), else the text to count them from."""
    names = frame.collect_schema().names()
    counted = {"n_tokens", "n_chars"} <= set(names)
    return [
        (pl.lit(None, pl.String) if counted else pl.col("text").cast(pl.String)).alias("text"),
        *((pl.col(c) if c in names else pl.lit(None)).cast(pl.Int64).alias(c) for c in ("n_tokens", "n_chars")),
    ]


def _col_or(frame: pl.LazyFrame, name: str, default: str) -> pl.Expr:
    if name in frame.collect_schema().names():
        return pl.col(name).cast(pl.String).fill_null(default)
    return pl.lit(default, dtype=pl.String)


def removed_documents(
    curated_ids: pl.LazyFrame,
    scored: pl.LazyFrame | None = None,
    rejected: pl.LazyFrame | None = None,
    duplicates: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """One row per document of the night that is not in the release, with stage and reason.

    ``curated_ids`` needs only a ``doc_id`` column. A document listed by several upstream
    tables is counted once, at its earliest stage (filter before dedup before other).
    """
    seen = curated_ids.select(pl.col("doc_id").cast(pl.String)).unique()
    parts: list[pl.LazyFrame] = []
    if rejected is not None:
        r = rejected.select(
            pl.col("doc_id").cast(pl.String),
            *_measures(rejected),
            lang_key(rejected),
            stage=pl.lit("filter"),
            family=_col_or(rejected, "drop_family", "unknown"),
            reason=_col_or(rejected, "drop_reason", "unknown_rule"),
        ).join(seen, on="doc_id", how="anti")
        parts.append(r)
        seen = pl.concat([seen, r.select("doc_id")]).unique()
    if duplicates is not None:
        kind = _col_or(duplicates, "dup_kind", "unknown")
        d = duplicates.select(
            pl.col("doc_id").cast(pl.String),
            *_measures(duplicates),
            lang_key(duplicates),
            stage=pl.lit("dedup"),
            family=pl.lit("dedup"),
            reason=pl.concat_str([pl.lit("duplicate_"), kind]),
        ).join(seen, on="doc_id", how="anti")
        parts.append(d)
        seen = pl.concat([seen, d.select("doc_id")]).unique()
    if scored is not None:
        by_model = model_drop_expr(scored.collect_schema().names())
        o = scored.select(
            pl.col("doc_id").cast(pl.String),
            *_measures(scored),
            lang_key(scored),
            stage=pl.lit("other"),
            family=pl.when(by_model).then(pl.lit("quality_model")).otherwise(pl.lit("other")),
            reason=pl.when(by_model).then(pl.lit("model_below_threshold")).otherwise(pl.lit("not_curated")),
        ).join(seen, on="doc_id", how="anti")
        parts.append(o)
    if not parts:
        return pl.LazyFrame(schema=REMOVED_SCHEMA)
    # parts are disjoint by the anti-joins above (doc_id is unique within a night), so no
    # global unique() is needed and the texts stream through
    return pl.concat(parts, how="vertical_relaxed")


INGEST_FAMILY_LABELS = {"url_filter": "URL filter", "extraction": "extraction", "input": "broken input"}


def ingest_removed_counts(by_reason: dict[str, int]) -> pl.DataFrame:
    """The night's quarantine counts (reason -> records) as funnel rows of stage ``ingest``.

    Their tokens are 0: a filtered URL or a PDF was never extracted, a broken line has no text.
    """
    schema = {"stage": pl.String, "family": pl.String, "reason": pl.String, "lang_key": pl.String,
              "documents": pl.Int64, "tokens": pl.Int64, "characters": pl.Int64}  # fmt: skip
    family = pl.lit("input")
    for name, reasons in CRAWL_FAMILIES.items():
        family = pl.when(pl.col("reason").is_in(list(reasons))).then(pl.lit(name)).otherwise(family)
    counts = pl.DataFrame(
        {"reason": list(by_reason), "documents": list(by_reason.values())},
        schema={"reason": pl.String, "documents": pl.Int64},
    )
    return (
        counts.with_columns(
            stage=pl.lit("ingest"),
            family=family,
            lang_key=pl.lit(UNKNOWN_LANG),
            tokens=pl.lit(0, pl.Int64),
            characters=pl.lit(0, pl.Int64),
        )
        .select(list(schema))
        .sort("reason")
    )


def count_removed(removed: pl.LazyFrame, tokenizer: str = "gpt2") -> pl.DataFrame:
    """Documents, tokens and characters removed per stage, reason and language.

    Counts come from the carried columns; a row without them is tokenized (batched,
    streaming) from its text, and only such rows reach the tokenizer.
    """
    return (
        removed.select(
            "lang_key",
            "stage",
            "family",
            "reason",
            n_tokens_filled(tokenizer),
            n_chars=pl.coalesce("n_chars", pl.col("text").str.len_chars().cast(pl.Int64)),
        )
        .group_by("stage", "family", "reason", "lang_key")
        .agg(
            documents=pl.len().cast(pl.Int64),
            tokens=pl.col("n_tokens").sum().cast(pl.Int64),
            characters=pl.col("n_chars").sum().cast(pl.Int64),
        )
        .sort("stage", "family", "reason", "lang_key")
        .collect()
    )


def curated_by_lang(release_shards: pl.LazyFrame) -> pl.DataFrame:
    """Documents, tokens and characters of the release per language."""
    return (
        release_shards.select(lang_key(release_shards), "n_tokens", n_chars=pl.col("text").str.len_chars())
        .group_by("lang_key")
        .agg(
            documents=pl.len().cast(pl.Int64),
            tokens=pl.col("n_tokens").sum().cast(pl.Int64),
            characters=pl.col("n_chars").sum().cast(pl.Int64),
        )
        .sort("lang_key")
        .collect()
    )


def funnel_table(removed_counts: pl.DataFrame, curated_docs: int, curated_tokens: int) -> pl.DataFrame:
    """The funnel as rows: raw, each removal (stage, reason), subtotal after each stage, curated.

    Columns: step, kind ("total" | "removed" | "subtotal"), stage, reason, documents,
    tokens, share_of_raw_tokens.
    """
    by_reason = (
        removed_counts.group_by("stage", "family", "reason")
        .agg(pl.col("documents").sum(), pl.col("tokens").sum())
        .with_columns(order=pl.col("stage").replace_strict({s: i for i, s in enumerate(STAGES)}, default=len(STAGES)))
        .sort(["order", "tokens", "reason"], descending=[False, True, False])
    )
    raw_docs = curated_docs + int(by_reason["documents"].sum() or 0)
    raw_tokens = curated_tokens + int(by_reason["tokens"].sum() or 0)
    rows = [("raw (all records of the night)", "total", None, None, raw_docs, raw_tokens)]
    docs, toks = raw_docs, raw_tokens
    labels = {
        "ingest": "after ingest (documents)",
        "filter": "after filters",
        "dedup": "after deduplication",
        "other": "after scoring",
    }
    present = [s for s in STAGES if s in set(by_reason["stage"].to_list())]
    last_stage = present[-1] if present else None
    for stage in STAGES:
        part = by_reason.filter(pl.col("stage") == stage)
        if part.height == 0:
            continue
        for r in part.iter_rows(named=True):
            label = f"− {r['reason']}" + (
                f" ({INGEST_FAMILY_LABELS.get(r['family'], r['family'])})" if stage == "ingest" else ""
            )
            rows.append((label, "removed", stage, r["reason"], int(r["documents"]), int(r["tokens"])))  # type: ignore[arg-type]
            docs -= int(r["documents"])
            toks -= int(r["tokens"])
        if stage != last_stage:  # the last subtotal is the release itself
            rows.append((f"= {labels[stage]}", "subtotal", stage, None, docs, toks))  # type: ignore[arg-type]
    rows.append(("= curated (this release)", "total", None, None, curated_docs, curated_tokens))
    df = pl.DataFrame(
        rows,
        schema={
            "step": pl.String,
            "kind": pl.String,
            "stage": pl.String,
            "reason": pl.String,
            "documents": pl.Int64,
            "tokens": pl.Int64,
        },
        orient="row",
    )
    return df.with_columns(share_of_raw_tokens=(pl.col("tokens") / raw_tokens) if raw_tokens else pl.lit(0.0))


def language_mix(removed_counts: pl.DataFrame, curated_lang: pl.DataFrame) -> pl.DataFrame:
    """Per language: raw and curated documents and tokens, and the share of tokens kept."""
    removed = removed_counts.group_by("lang_key").agg(
        removed_documents=pl.col("documents").sum(), removed_tokens=pl.col("tokens").sum()
    )
    cur = curated_lang.select("lang_key", curated_documents=pl.col("documents"), curated_tokens=pl.col("tokens"))
    mix = cur.join(removed, on="lang_key", how="full", coalesce=True).fill_null(0)
    total_cur = int(mix["curated_tokens"].sum() or 0)
    return (
        mix.select(
            pl.col("lang_key").alias("lang"),
            raw_documents=pl.col("curated_documents") + pl.col("removed_documents"),
            raw_tokens=pl.col("curated_tokens") + pl.col("removed_tokens"),
            curated_documents=pl.col("curated_documents"),
            curated_tokens=pl.col("curated_tokens"),
        )
        .with_columns(
            kept_token_share=pl.when(pl.col("raw_tokens") > 0).then(pl.col("curated_tokens") / pl.col("raw_tokens")),
            share_of_curated_tokens=(pl.col("curated_tokens") / total_cur) if total_cur else pl.lit(0.0),
        )
        .sort(["curated_tokens", "raw_tokens", "lang"], descending=[True, True, False])
    )


def dedup_stats(duplicates: pl.LazyFrame | None, removed_counts: pl.DataFrame) -> pl.DataFrame | None:
    """Per duplicate kind: documents and tokens removed, clusters, and the largest cluster."""
    if duplicates is None:
        return None
    names = duplicates.collect_schema().names()
    kind = pl.col("dup_kind").cast(pl.String).fill_null("unknown") if "dup_kind" in names else pl.lit("unknown")
    of = pl.col("dup_of") if "dup_of" in names else pl.lit(None, dtype=pl.String)
    per_kind = (
        duplicates.select(dup_kind=kind, dup_of=of)
        .group_by("dup_kind")
        .agg(
            documents=pl.len().cast(pl.Int64),
            clusters=pl.col("dup_of").n_unique().cast(pl.Int64),
            largest_cluster=(pl.col("dup_of").value_counts().struct.field("count").max() + 1).cast(pl.Int64),
        )
        .sort("dup_kind")
        .collect()
    )
    tokens = (
        removed_counts.filter(pl.col("stage") == "dedup")
        .group_by("reason")
        .agg(tokens_removed=pl.col("tokens").sum())
        .select(pl.col("reason").str.strip_prefix("duplicate_").alias("dup_kind"), "tokens_removed")
    )
    return per_kind.join(tokens, on="dup_kind", how="left").with_columns(pl.col("tokens_removed").fill_null(0))
