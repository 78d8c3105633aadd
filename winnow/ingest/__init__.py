"""Ingest: turn raw files into canonical documents plus a quarantine of bad rows."""

from winnow.ingest.ingest import IngestResult, ingest_partition
from winnow.ingest.sources import resolve_source_files

__all__ = ["IngestResult", "ingest_partition", "resolve_source_files"]
