"""Web crawls: WARC responses (HTML extracted) and WET conversions (text) to documents.

Record by record (``winnow.ingest.warc_frames`` frames and resynchronises, fastwarc
parses): only ``response`` records with an HTML or text payload become documents in a
WARC, ``conversion`` records in a WET; request, metadata and warcinfo records are the
crawl's bookkeeping and are skipped. Every other response goes to quarantine with its
reason, file and offset, and the rest of the file goes on:

``content_length_mismatch``, ``truncated_record``, ``corrupt_gzip_member``, ``unframed_bytes``,
``unparseable_record`` (framing and parsing); ``non_http_record``, ``http_redirect``,
``http_status`` (not a 2xx page); ``non_html_payload`` (PDF, image…), ``empty_payload``,
``page_too_large``; the URL rules (``winnow.ingest.url_filter``) and the per-domain cap
(``domain_caps``, a header-only pass over the night's files in order), applied before any
decoding; ``undecodable_charset``; ``no_main_text`` (the extractor found none). A repeated
``WARC-Record-ID`` repeats the ``doc_id``, so the night keeps its first record
(``duplicate_id``).

A document is ``doc_id = <source>:<WARC-Record-ID>``, ``url``, ``created_at`` = ``WARC-Date``,
and metadata ``warc_record_id``, ``warc_offset`` (the record's, or its gzip member's, byte
offset in the file), ``http_status``, ``content_type``, ``charset`` (used) and
``charset_declared``; ``html`` too with ``crawl.keep_html``.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastwarc.warc import ArchiveIterator, WarcRecordType

from schemas.recipe import SourceSpec
from winnow.ingest.html_text import declared_charset, decode, extract
from winnow.ingest.readers import Batch, _Row
from winnow.ingest.url_filter import UrlFilter, host_of
from winnow.ingest.warc_frames import frames

HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
TEXT_TYPES = ("text/plain",)
#: the fields read_warc fills; a crawl source's own field names are not used
_FIELDS = {"id_field": "id", "url_field": "url", "timestamp_field": "date", "lang_field": None, "metadata_fields": []}


def read_warc(
    source: SourceSpec, path: Path, url_filter: UrlFilter | None = None, capped: dict[int, str] | None = None
) -> Iterator[Batch]:
    """Stream one WARC or WET file into batches of documents and quarantine rows.

    ``capped`` maps record numbers to the domain-cap message for records over
    ``crawl.max_docs_per_domain`` (``domain_caps``): they are quarantined before decoding.
    """
    spec = source.model_copy(update=_FIELDS)
    row = _Row(spec, path)
    cfg = source.crawl
    rules = url_filter or UrlFilter()
    max_bytes = int(cfg.max_page_mb * 1024 * 1024)
    wet = source.format == "wet"
    capped = capped or {}
    batch = Batch()
    for n, frame in enumerate(frames(path), start=1):
        where = f"offset {frame.offset}"
        if frame.problem is not None:
            problem: tuple[str, str] | None = frame.problem
        else:
            try:
                head = _head(frame.data, frame.offset, wet, rules)
                if isinstance(head, _Head) and n in capped:
                    problem = ("domain_cap", capped[n])
                elif isinstance(head, _Head):
                    problem = _body(batch, row, head, n, max_bytes, cfg)
                else:
                    problem = head
            except Exception as exc:  # one record must never cost the file
                problem = ("unparseable_record", f"{type(exc).__name__}: {exc}")
        if problem is not None:
            row.quarantine(batch, n, frame.data[:2000], problem[0], f"{where}: {problem[1]}")
        if batch.full:
            yield batch
            batch = Batch()
    yield batch


def domain_caps(source: SourceSpec, paths: list[Path], url_filter: UrlFilter | None) -> dict[Path, dict[int, str]]:
    """Per file, the records over the source's ``max_docs_per_domain``, first come first kept in file order.

    A pass over the records' headers only (no payload is decoded or extracted), so the cap
    saves the extraction work and does not depend on how many files are read at once. A
    page counts when its record could become a document up to the URL rules.
    """
    cap = source.crawl.max_docs_per_domain
    if cap is None:
        return {}
    rules, wet = url_filter or UrlFilter(), source.format == "wet"
    seen: Counter = Counter()
    out: dict[Path, dict[int, str]] = {}
    for path in paths:
        for n, frame in enumerate(frames(path), start=1):
            if frame.problem is not None:
                continue
            try:
                head = _head(frame.data, frame.offset, wet, rules)
            except Exception:
                continue
            if not isinstance(head, _Head):
                continue
            host = host_of(head.url)
            seen[host] += 1
            if seen[host] > cap:
                out.setdefault(path, {})[n] = f"{host} already has {cap} documents tonight (crawl.max_docs_per_domain)"
    return out


@dataclass
class _Head:
    """What the record's headers say, for a record that may become a document."""

    rec: object
    url: str
    html: bool
    wet: bool
    meta: dict


def _head(data: bytes, offset: int, wet: bool, rules: UrlFilter) -> _Head | tuple[str, str] | None:
    """Parse one framed record's headers: a ``_Head``, the reason it is no document, or None to skip it."""
    try:
        rec = next(iter(ArchiveIterator(io.BytesIO(data), parse_http=not wet, record_types=WarcRecordType.any_type)))
    except StopIteration:
        return "unparseable_record", "fastwarc found no record in these bytes"
    wanted = WarcRecordType.conversion if wet else WarcRecordType.response
    if rec.record_type != wanted:  # request, metadata, warcinfo…: the crawl's bookkeeping, not content
        return None
    url = rec.headers.get("WARC-Target-URI") or ""
    meta: dict = {"warc_record_id": rec.record_id or "", "warc_offset": offset}
    if not wet:
        if not rec.is_http:
            return "non_http_record", "a response record without an HTTP response in it"
        status = rec.http_headers.status_code
        meta["http_status"] = status
        if 300 <= status < 400:
            return "http_redirect", f"HTTP {status} to {rec.http_headers.get('Location') or '?'}"
        if not 200 <= status < 300:
            return "http_status", f"HTTP {status}"
    ctype = (rec.http_content_type or "").lower() if not wet else "text/plain"
    meta["content_type"] = ctype
    html = ctype.startswith(HTML_TYPES) or (not ctype and not wet)
    if not html and not ctype.startswith(TEXT_TYPES):
        return "non_html_payload", f"Content-Type {ctype or 'missing'} is neither HTML nor text"
    why = rules.check(url) if url else None
    if why is not None:
        return why
    return _Head(rec, url, html, wet, meta)


def _body(batch: Batch, row: _Row, head: _Head, n: int, max_bytes: int, cfg) -> tuple[str, str] | None:
    """Decode and extract the payload and add the document; the reason it is none otherwise."""
    rec, meta, wet = head.rec, head.meta, head.wet
    payload = rec.reader.read(max_bytes + 1)  # type: ignore[attr-defined]
    if len(payload) > max_bytes:
        return "page_too_large", f"payload over crawl.max_page_mb = {cfg.max_page_mb:g}"
    if not payload.strip():
        return "empty_payload", "the HTTP payload is empty"
    declared = declared_charset(None if wet else rec.http_charset, payload)  # type: ignore[attr-defined]
    text, used = decode(payload, declared or ("utf-8" if wet else None))
    if text is None:
        return "undecodable_charset", f"no charset decodes the payload (declared {declared or 'none'})"
    meta |= {"charset": used, "charset_declared": declared}
    body = extract(text, cfg.extractor) if head.html else text
    if not body.strip():
        return "no_main_text", f"{cfg.extractor} found no main text"
    if head.html and cfg.keep_html:
        meta["html"] = text
    date = rec.record_date.isoformat() if rec.record_date is not None else None  # type: ignore[attr-defined]
    rid = meta["warc_record_id"]
    return row.add(batch, {"id": rid.strip("<>"), "url": head.url, "date": date, **meta}, n, body)
