"""Streaming readers: each yields batches of canonical rows and quarantine rows.

Readers never hold a whole file: JSONL is read line by line through the
decompressor, Parquet batch by batch. A row that cannot become a document is
yielded as a quarantine row with its reason; a file that cannot be read to the
end raises ``CorruptFileError`` naming it.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import polars as pl
import pyarrow.parquet as pq
import zstandard

from schemas.recipe import SourceSpec
from winnow.ids import derived_doc_id, given_doc_id

BATCH_ROWS = 20_000
BATCH_BYTES = 16 << 20  # flush a batch at this much text, so huge documents keep memory bounded
EXCERPT_CHARS = 500


class CorruptFileError(Exception):
    """A file that cannot be read to the end; the message names the file."""


@dataclass
class Batch:
    """Rows read so far, as column lists (docs) and dicts (quarantine)."""

    docs: dict[str, list] = field(default_factory=lambda: {k: [] for k in DOC_FIELDS})  # type: ignore[has-type]
    quarantine: list[dict] = field(default_factory=list)

    text_bytes: int = 0

    def __len__(self) -> int:
        return len(self.docs["doc_id"]) + len(self.quarantine)

    @property
    def full(self) -> bool:
        return len(self) >= BATCH_ROWS or self.text_bytes >= BATCH_BYTES


DOC_FIELDS = ("doc_id", "text", "source", "url", "source_file", "source_line", "lang", "created_at", "metadata")


def open_binary(path: Path) -> IO[bytes]:
    """Open a possibly compressed file for streaming reads, by its suffix."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if name.endswith(".zst") or name.endswith(".zstd"):
        return io.BufferedReader(_ZstdRaw(open(path, "rb")), buffer_size=1 << 20)
    return open(path, "rb")


class _ZstdRaw(io.RawIOBase):
    """Streaming zstd reader that notices truncation.

    ``zstandard``'s own stream reader ends quietly at a cut-off frame; this one
    raises ``ZstdError`` when the file ends inside a frame. Concatenated frames work.
    """

    CHUNK = 1 << 20

    def __init__(self, fh: IO[bytes]):
        self._fh = fh
        self._dctx = zstandard.ZstdDecompressor()
        self._dobj = self._dctx.decompressobj()
        self._pending = b""
        self._in_frame = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self._pending:
            chunk = self._fh.read(self.CHUNK)
            if not chunk:
                if self._in_frame:
                    raise zstandard.ZstdError("file ends inside a zstd frame (truncated)")
                return 0
            while chunk:
                self._in_frame = True
                self._pending += self._dobj.decompress(chunk)
                if self._dobj.eof:
                    chunk = self._dobj.unused_data
                    self._dobj = self._dctx.decompressobj()
                    self._in_frame = False
                else:
                    chunk = b""
        n = min(len(buf), len(self._pending))
        buf[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def parse_timestamp(value: object) -> datetime | None:
    """ISO-8601 string or epoch seconds to an aware UTC datetime; anything else to None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(float(value), tz=UTC)
        if isinstance(value, str) and value:
            ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _excerpt(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        raw = raw[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return raw[:EXCERPT_CHARS]


def _text_problem(text: object) -> tuple[str, str] | None:
    if text is None:
        return "missing_text", "text field is absent or null"
    if not isinstance(text, str):
        return "non_string_text", f"text field is a {type(text).__name__}, not a string"
    if not text.strip():
        return "empty_text", "text field is empty or whitespace only"
    return None


class _Row:
    """Builds canonical rows for one source and file."""

    def __init__(self, source: SourceSpec, path: Path):
        self.source = source
        self.path = str(path)
        mapped = {source.text_field, source.id_field, source.url_field, source.lang_field, source.timestamp_field}
        self.mapped = {m for m in mapped if m}

    def add(self, batch: Batch, obj: dict, line: int, text: str) -> tuple[str, str] | None:
        """Append one document; returns the reason it cannot be used instead, appending nothing."""
        s = self.source
        try:
            raw_id = obj.get(s.id_field) if s.id_field else None
            nul = text.count("\x00")
            if nul:  # NUL bytes reach annotators and break tools downstream: strip them, and say so
                text = text.replace("\x00", "")
                if not text.strip():
                    return "empty_text", f"text is only {nul} NUL bytes and whitespace"
            doc_id = given_doc_id(s.name, raw_id) if raw_id not in (None, "") else derived_doc_id(s.name, text)
            url = obj.get(s.url_field) if s.url_field else None
            lang = obj.get(s.lang_field) if s.lang_field else None
            if s.metadata_fields:
                meta = {k: obj[k] for k in s.metadata_fields if k in obj}
            else:
                meta = {k: v for k, v in obj.items() if k not in self.mapped}
            if nul:
                meta["winnow_nul_bytes_removed"] = nul
            url_s = str(url) if url is not None else self.path
            lang_s = str(lang) if lang not in (None, "") else None
            meta_s = json.dumps(meta, ensure_ascii=False, default=str, sort_keys=True)
            created = parse_timestamp(obj.get(s.timestamp_field)) if s.timestamp_field else None
            for v in (doc_id, text, url_s, lang_s, meta_s):
                if v is not None and not v.isascii():
                    v.encode("utf-8")  # a lone surrogate (from a "\ud800" escape) cannot be stored
        except UnicodeEncodeError as exc:
            return "invalid_unicode", f"a lone surrogate or other unencodable character: {exc.reason}"
        except RecursionError:
            return "too_deep", "a field nested too deeply to store"
        except Exception as exc:  # one record must never cost the file
            return "unparseable_record", f"{type(exc).__name__}: {exc}"
        d = batch.docs
        d["doc_id"].append(doc_id)
        d["text"].append(text)
        d["source"].append(s.name)
        d["url"].append(url_s)
        d["source_file"].append(self.path)
        d["source_line"].append(line)
        d["lang"].append(lang_s)
        d["created_at"].append(created)
        d["metadata"].append(meta_s)
        return None

    def quarantine(self, batch: Batch, line: int | None, raw: bytes | str, reason: str, message: str) -> None:
        batch.quarantine.append(
            {
                "source": self.source.name,
                "source_file": self.path,
                "source_line": line,
                "raw_excerpt": _excerpt(raw),
                "reason": reason,
                "message": f"{self.path}" + (f":{line}" if line is not None else "") + f": {message}",
            }
        )


def _parse_record(decoded: str) -> tuple[object, tuple[str, str] | None]:
    """One JSON line to a Python value, or the reason code and message it cannot be used.

    Every exception a record's parse can raise stays the record's: a lone surrogate
    escape, nesting Python cannot recurse through, an integer too long to convert.
    """
    try:
        return json.loads(decoded), None
    except json.JSONDecodeError as exc:
        return None, ("malformed_json", f"malformed JSON: {exc.msg} (col {exc.colno})")
    except RecursionError:
        return None, ("too_deep", "JSON nested too deeply to parse")
    except ValueError as exc:  # int() refuses more than sys.get_int_max_str_digits() digits
        if "digits" in str(exc):
            return None, ("number_too_large", f"an integer literal too long to convert: {exc}")
        return None, ("unparseable_record", f"ValueError: {exc}")
    except Exception as exc:  # one record must never cost the file
        return None, ("unparseable_record", f"{type(exc).__name__}: {exc}")


def _lines(fh: IO[bytes]) -> Iterator[bytes]:
    """The file's records: a leading UTF-8 BOM stripped, and CR-only line endings split too.

    A raw CR cannot occur inside a JSON string (it must be escaped), so splitting on it
    never cuts a valid record.
    """
    first = True
    for raw in fh:
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        body = raw.rstrip(b"\r\n")
        if b"\r" in body:
            yield from body.split(b"\r")
        else:
            yield raw


def read_jsonl(source: SourceSpec, path: Path) -> Iterator[Batch]:
    """Stream a JSON Lines file (plain, .gz or .zst); blank lines are skipped.

    A BOM at the start is ignored and CR-only line endings count as line ends. A record
    that cannot be used, for whatever reason, goes to quarantine with a reason code; the
    rest of the file goes on.
    """
    row = _Row(source, path)
    batch = Batch()
    line_no = 0
    try:
        with open_binary(path) as fh:
            for raw in _lines(fh):
                line_no += 1
                stripped = raw.strip()
                if not stripped:
                    continue
                try:
                    decoded = stripped.decode("utf-8")
                except UnicodeDecodeError as exc:
                    row.quarantine(batch, line_no, stripped, "invalid_utf8", f"invalid UTF-8 at byte {exc.start}")
                    continue
                obj, why = _parse_record(decoded)
                if why is None and not isinstance(obj, dict):
                    why = ("malformed_json", f"a JSON {type(obj).__name__}, not an object")
                if why is not None:
                    row.quarantine(batch, line_no, decoded, *why)
                    continue
                assert isinstance(obj, dict)
                text = obj.get(source.text_field)
                problem = _text_problem(text) or row.add(batch, obj, line_no, text)
                if problem:
                    row.quarantine(batch, line_no, decoded, *problem)
                    continue
                batch.text_bytes += len(raw)
                if batch.full:
                    yield batch
                    batch = Batch()
    except (EOFError, OSError, zlib.error, zstandard.ZstdError) as exc:
        raise CorruptFileError(f"{path}: cannot read past line {line_no}: {type(exc).__name__}: {exc}") from exc
    yield batch


def read_parquet(source: SourceSpec, path: Path) -> Iterator[Batch]:
    """Stream a Parquet file batch by batch; rows are numbered from 1."""
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a broken footer
        raise CorruptFileError(f"{path}: not a readable Parquet file: {exc}") from exc
    columns = pf.schema_arrow.names
    if source.text_field not in columns:
        raise CorruptFileError(f"{path}: no column '{source.text_field}' (the source's text_field); columns: {columns}")
    row = _Row(source, path)
    offset = 0
    try:
        for rb in pf.iter_batches(batch_size=BATCH_ROWS):
            batch = Batch()
            for i, obj in enumerate(rb.to_pylist()):
                line = offset + i + 1
                text = obj.get(source.text_field)
                if isinstance(text, bytes):  # a binary column holding UTF-8 text
                    try:
                        text = text.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        row.quarantine(batch, line, text, "invalid_utf8", f"invalid UTF-8 at byte {exc.start}")
                        continue
                problem = _text_problem(text) or row.add(batch, obj, line, text)
                if problem:
                    row.quarantine(batch, line, json.dumps(obj, default=str, ensure_ascii=True), *problem)
                    continue
            offset += rb.num_rows
            yield batch
    except CorruptFileError:
        raise
    except Exception as exc:
        raise CorruptFileError(f"{path}: cannot read past row {offset}: {type(exc).__name__}: {exc}") from exc


def read_text_file(source: SourceSpec, path: Path, root: Path | None = None) -> Iterator[Batch]:
    """One ``.txt``/``.md`` file is one document; its id comes from source and content (a BOM is dropped)."""
    row = _Row(source, path)
    batch = Batch()
    raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        row.quarantine(batch, 1, raw, "invalid_utf8", f"invalid UTF-8 at byte {exc.start}")
        yield batch
        return
    rel = str(path.relative_to(root)) if root else path.name
    problem = _text_problem(text) or row.add(batch, {"path": rel}, 1, text)
    if problem:
        row.quarantine(batch, 1, raw, *problem)
    yield batch


def batch_frames(batch: Batch, partition: str, ingested_at: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Column lists to typed polars frames in the canonical schemas."""
    from schemas.documents import DOCUMENT_SCHEMA, QUARANTINE_SCHEMA

    n = len(batch.docs["doc_id"])
    docs = pl.DataFrame(
        {**batch.docs, "ingested_at": [ingested_at] * n, "partition": [partition] * n},
        schema={k: DOCUMENT_SCHEMA[k] for k in (*DOC_FIELDS, "ingested_at", "partition")},
    ).select(list(DOCUMENT_SCHEMA))
    quarantine = pl.DataFrame([{**q, "partition": partition} for q in batch.quarantine], schema=QUARANTINE_SCHEMA)
    return docs, quarantine
