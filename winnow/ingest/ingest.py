"""Ingest one partition: every source's files to canonical Parquet parts plus quarantine.

Each file is written to its own part and kept only if it was read to the end, so a
truncated file contributes one ``corrupt_file`` quarantine row (naming it) instead of
half its rows, while the other files go on. Duplicate ids are moved to quarantine
after all files are read, keeping the first occurrence in file and line order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from schemas.documents import DOCUMENT_SCHEMA, QUARANTINE_SCHEMA
from schemas.recipe import Recipe, SourceSpec
from winnow.execution import LocalRunner, Runner
from winnow.ingest.readers import (
    Batch,
    CorruptFileError,
    batch_frames,
    read_jsonl,
    read_parquet,
    read_text_file,
)
from winnow.ingest.site_boilerplate import strip_site_boilerplate
from winnow.ingest.sources import resolve_source_files
from winnow.ingest.url_filter import UrlFilter, load_blocklist
from winnow.ingest.warc import domain_caps, read_warc

log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    documents: pl.LazyFrame
    quarantine: pl.LazyFrame
    files: list[dict] = field(default_factory=list)  # per file: source, path, bytes, rows, status
    errors: list[str] = field(default_factory=list)  # one message per file that failed


def _read(
    source: SourceSpec, path: Path, root: Path, url_filter: UrlFilter | None, capped: dict[int, str] | None
) -> Iterator[Batch]:
    if source.format == "jsonl":
        return read_jsonl(source, path)
    if source.format == "parquet":
        return read_parquet(source, path)
    if source.is_crawl:
        return read_warc(source, path, url_filter, capped)
    return read_text_file(source, path, root)


def _url_filter(source: SourceSpec, recipe_dir: Path) -> UrlFilter | None:
    """A crawl source's URL rules, its blocklists read once (relative to the recipe)."""
    if not source.is_crawl:
        return None
    c = source.crawl
    paths = [Path(p) if Path(p).is_absolute() else recipe_dir / p for p in c.url_blocklists]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:  # a filter that cannot run as configured must not let blocked pages through
        raise FileNotFoundError(
            f"source {source.name}: crawl.url_blocklists names {', '.join(missing)}, which does not exist "
            f"(paths are relative to the recipe's folder {recipe_dir})"
        )
    domains, prefixes = load_blocklist(paths)
    words = frozenset(w.lower() for w in c.banned_url_words)
    return UrlFilter(domains, prefixes, words)


class _PartWriter:
    """Appends frames to one Parquet file through pyarrow, so memory stays one batch."""

    def __init__(self, path: Path):
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        table = frame.to_arrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table)
        self.rows += frame.height

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class _Parts:
    """What reading the night's files produced: Parquet parts, per-file stats and failures."""

    docs: list[Path] = field(default_factory=list)
    quarantine: list[Path] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    def extend(self, other: _Parts) -> None:
        """Append what another reader (a worker process) produced."""
        self.docs += other.docs
        self.quarantine += other.quarantine
        self.files += other.files
        self.errors += other.errors
        self.failures += other.failures


def ingest_partition(
    recipe: Recipe, recipe_dir: Path, partition: str, work_dir: Path, workers: int = 1, runner: Runner | None = None
) -> IngestResult:
    """Read every source of ``recipe`` for ``partition`` into parts under ``work_dir``.

    Phases: read each file into its own part (a corrupt file contributes one row naming
    it), one job per file on ``runner`` (default: ``workers`` local processes when more than
    one; a Ray runner reads files on the cluster); then, over the whole night in file
    order, move repeated ids to quarantine and apply the crawl rules that need the night.
    Returns lazy scans of the documents and the quarantine (both in canonical schemas);
    the caller persists them before ``work_dir`` is removed. The result does not depend
    on the runner.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    ingested_at = datetime.now(UTC).replace(microsecond=0)
    parts = _Parts()
    jobs: list[tuple[SourceSpec, Path, Path, UrlFilter | None, dict[int, str] | None]] = []
    for source in recipe.sources:
        found = resolve_source_files(source, partition, recipe_dir)
        paths = found.files
        for link in found.skipped:
            log.warning("source %s: %s", source.name, link.message)
            parts.failures.append(_failure(source, link.path, partition, link.reason, link.message, link.target))
        if not paths and not found.skipped:
            pattern = source.path.replace("{partition}", partition)
            where = pattern if Path(pattern).is_absolute() else str(recipe_dir / pattern)
            if source.optional:
                log.info("source %s: no files for partition %s (optional)", source.name, partition)
            else:
                msg = (
                    f"source {source.name}: no file matches {where} (path {source.path!r}, night {partition}); "
                    "fix the path, or mark the source optional: true if some nights have no files"
                )
                parts.errors.append(msg)
                log.error(msg)
        root = Path(source.path.replace("{partition}", partition))
        root = root if root.is_absolute() else recipe_dir / root
        rules = _url_filter(source, recipe_dir)
        caps = domain_caps(source, paths, rules) if source.is_crawl else {}
        jobs += [(source, path, root, rules, caps.get(path)) for path in paths]
    _read_all(jobs, partition, ingested_at, work_dir, parts, runner or LocalRunner(workers=workers))
    if parts.failures:
        failed = work_dir / "quarantine-files.parquet"
        pl.DataFrame(parts.failures, schema=QUARANTINE_SCHEMA).write_parquet(failed)
        parts.quarantine.append(failed)
    documents, duplicates = _first_of_each_id(parts.docs)
    site_lines = {
        s.name: s.crawl.site_boilerplate_min_docs
        for s in recipe.sources
        if s.is_crawl and s.crawl.site_boilerplate_min_docs is not None
    }
    documents = strip_site_boilerplate(documents, site_lines)
    base_q = pl.scan_parquet(parts.quarantine) if parts.quarantine else pl.LazyFrame(schema=QUARANTINE_SCHEMA)
    quarantine = pl.concat(
        [base_q.select(list(QUARANTINE_SCHEMA)), duplicates.cast(QUARANTINE_SCHEMA)]  # type: ignore[arg-type]
    )
    return IngestResult(documents.cast(DOCUMENT_SCHEMA), quarantine, parts.files, parts.errors)  # type: ignore[arg-type]


def _read_all(jobs: list, partition: str, ingested_at: datetime, work_dir: Path, parts: _Parts, runner) -> None:
    """Every file into its own parts, merged in job order (so the night is the same on any runner)."""
    stems = [work_dir / f"{i + 1:05d}" for i in range(len(jobs))]
    args = [
        (source, path, root, partition, ingested_at, stem, rules, capped)
        for (source, path, root, rules, capped), stem in zip(jobs, stems)
    ]
    for one in runner.map(_read_one, args, label="ingest"):
        parts.extend(one)


def _read_one(
    source: SourceSpec, path: Path, root: Path, partition: str, ingested_at: datetime, stem: Path, rules, capped
) -> _Parts:
    """One file in a worker process: its parts and stats."""
    one = _Parts()
    _read_file(source, path, root, partition, ingested_at, stem, one, rules, capped)
    return one


def _read_file(
    source: SourceSpec,
    path: Path,
    root: Path,
    partition: str,
    ingested_at: datetime,
    stem: Path,
    parts: _Parts,
    url_filter: UrlFilter | None = None,
    capped: dict[int, str] | None = None,
) -> None:
    """One file into its own document and quarantine parts, kept only if it was read to the end."""
    docs_w = _PartWriter(stem.with_name(f"docs-{stem.name}.parquet"))
    q_w = _PartWriter(stem.with_name(f"quarantine-{stem.name}.parquet"))
    status = "ok"
    try:
        for batch in _read(source, path, root, url_filter, capped):
            d, q = batch_frames(batch, partition, ingested_at)
            docs_w.write(d)
            q_w.write(q)
    except (CorruptFileError, OSError) as exc:
        status = "failed"
        msg = str(exc) if isinstance(exc, CorruptFileError) else f"{path}: {exc}"
        parts.errors.append(msg)
        log.error("ingest of %s failed: %s", path, msg)
        note = " (no rows of this file were ingested; fix or replace it and rerun)"
        parts.failures.append(_failure(source, path, partition, "corrupt_file", msg + note))
    finally:
        docs_w.close()
        q_w.close()
    if status == "ok":
        parts.docs += [docs_w.path] if docs_w.rows else []
        parts.quarantine += [q_w.path] if q_w.rows else []
    else:
        docs_w.path.unlink(missing_ok=True)
        q_w.path.unlink(missing_ok=True)
    parts.files.append(
        {
            "source": source.name,
            "path": str(path),
            "bytes": path.stat().st_size if path.exists() else 0,
            "rows": docs_w.rows if status == "ok" else 0,
            "quarantined": q_w.rows if status == "ok" else 0,
            "status": status,
        }
    )


def _failure(source: SourceSpec, path: Path, partition: str, reason: str, message: str, excerpt: str = "") -> dict:
    """A quarantine row for a whole file or link that gave no records."""
    return {
        "source": source.name,
        "source_file": str(path),
        "source_line": None,
        "raw_excerpt": excerpt,
        "reason": reason,
        "message": message,
        "partition": partition,
    }


def _first_of_each_id(doc_parts: list[Path]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The documents with the first occurrence of each id (file and line order), and the repeats as quarantine."""
    all_docs = (
        pl.scan_parquet(doc_parts).with_row_index("_order")
        if doc_parts
        else pl.LazyFrame(schema=DOCUMENT_SCHEMA).with_row_index("_order")
    )
    # Only ids seen more than once are held in memory (a group-by over ids, not texts).
    repeated = (
        all_docs.group_by("doc_id")
        .agg(_first=pl.col("_order").min(), _n=pl.len())
        .filter(pl.col("_n") > 1)
        .drop("_n")
        .collect(engine="streaming")
    )
    # a filter against those few ids streams in file and line order; a join would have to
    # buffer to keep that order
    first = ~pl.col("doc_id").is_in(repeated["doc_id"].implode()) | pl.col("_order").is_in(repeated["_first"].implode())
    duplicates = all_docs.filter(~first).select(
        "source",
        "source_file",
        "source_line",
        pl.col("text").str.slice(0, 500).alias("raw_excerpt"),
        pl.lit("duplicate_id").alias("reason"),
        pl.format(
            "{}:{}: doc_id '{}' already used earlier in this partition", "source_file", "source_line", "doc_id"
        ).alias("message"),
        "partition",
    )
    return all_docs.filter(first).drop("_order"), duplicates
