"""Canonical table schemas (polars) for documents, quarantine and annotations.

Every stage reads and writes these, so a column is named and typed in one place.
"""

from __future__ import annotations

import polars as pl

SCHEMA_VERSION = "1.0"

UTC_TS = pl.Datetime("us", "UTC")

#: One row per ingested document. ``doc_id`` is stable across reruns.
DOCUMENT_SCHEMA: dict[str, pl.DataType] = {
    "doc_id": pl.String(),
    "text": pl.String(),
    "source": pl.String(),  # source name from the recipe
    "url": pl.String(),  # URL, or the path of the file it came from
    "source_file": pl.String(),
    "source_line": pl.Int64(),  # 1-based line (JSONL) or row (Parquet) number
    "lang": pl.String(),  # language given by the input, if any (nullable)
    "created_at": UTC_TS,  # timestamp given by the input, if any (nullable)
    "ingested_at": UTC_TS,
    "partition": pl.String(),
    "metadata": pl.String(),  # free-form JSON object as text
}

#: Quarantine codes: why a row could not become a document.
QUARANTINE_REASONS: dict[str, str] = {
    "malformed_json": "the line is not a valid JSON object",
    "invalid_utf8": "the line or file is not valid UTF-8",
    "missing_text": "the text field is absent or null",
    "non_string_text": "the text field is not a string",
    "empty_text": "the text field is empty or whitespace only",
    "duplicate_id": "another row of this partition already has this doc_id",
    "corrupt_file": "the file could not be read to the end (truncated or corrupt)",
    "bad_row": "the row could not be converted (see message)",
}

#: One row per input row that could not be ingested; nothing is silently dropped.
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "source_file": pl.String(),
    "source_line": pl.Int64(),  # null when the whole file failed
    "raw_excerpt": pl.String(),  # first 500 characters of the raw row (lossy-decoded)
    "reason": pl.String(),  # a key of QUARANTINE_REASONS
    "message": pl.String(),
    "partition": pl.String(),
}

#: One row per (task, annotator) after pulling from Label Studio; newest update wins.
ANNOTATION_SCHEMA: dict[str, pl.DataType] = {
    "doc_id": pl.String(),
    "task_id": pl.Int64(),
    "annotation_id": pl.Int64(),
    "annotator": pl.String(),
    "decision": pl.String(),  # "keep" | "drop"
    "rating": pl.Int64(),  # 1..5, nullable
    "tags": pl.List(pl.String()),
    "comment": pl.String(),
    "lead_time_s": pl.Float64(),
    "created_at": UTC_TS,
    "updated_at": UTC_TS,
    "stratum": pl.String(),
    "inclusion_prob": pl.Float64(),
    "sample_kind": pl.String(),  # "random" | "rejected" | "active"
    "partition": pl.String(),
}

DECISIONS = ("keep", "drop")
ISSUE_TAGS = (
    "boilerplate/navigation",
    "spam/ads",
    "machine-generated",
    "toxic/NSFW",
    "personal data",
    "wrong language",
    "garbled/truncated",
    "near-duplicate",
)


def conform(frame: pl.LazyFrame, schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    """Select and cast the schema's columns in order; extra columns are kept after them."""
    names = frame.collect_schema().names()
    cols = [(pl.col(n).cast(t) if n in names else pl.lit(None, dtype=t).alias(n)) for n, t in schema.items()]
    extra = [n for n in names if n not in schema]
    return frame.select(cols + extra)  # type: ignore[operator]


# --- Release (publishing; owner: publish) -----------------------------------------
#: Version of the release layout and manifest.json (bump on incompatible changes).
RELEASE_MANIFEST_VERSION = 1

#: Columns of a published release shard, in order. Run-dependent columns (ingested_at)
#: are left out so equal inputs give byte-identical shards.
RELEASE_SCHEMA: dict[str, pl.DataType] = {
    "doc_id": pl.String(),
    "text": pl.String(),
    "source": pl.String(),
    "url": pl.String(),
    "lang": pl.String(),  # as given by the input (nullable)
    "lang_detected": pl.String(),  # from language ID (nullable)
    "created_at": UTC_TS,
    "partition": pl.String(),
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    "metadata": pl.String(),
    "quality_score": pl.Float64(),
    "n_tokens": pl.Int64(),  # BPE tokens of ``text`` (tokenizer named in the manifest)
}


def model_drop_expr(names: list[str]) -> pl.Expr:
    """True for a filter-kept document the model scores under its calibrated threshold."""
    if "model_keep" not in names:
        return pl.lit(False)
    return pl.col("model_keep").fill_null(True).not_()
