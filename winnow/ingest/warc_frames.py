"""WARC framing: split a (gzip-compressed) WARC file into records, resynchronising after damage.

fastwarc parses a record well, but trusts ``Content-Length``: one record whose length lies
makes it swallow every record after it and end quietly (measured with fastwarc 2.0), and a
cut gzip member ends the file. Framing is therefore done here, and each framed record is
then parsed by fastwarc:

* A record ends where its ``Content-Length`` says, if the bytes there are the ``\\r\\n\\r\\n``
  separator followed by the next ``WARC/`` header (or the end). If not, the length lied:
  the record is cut at the next ``\\r\\n\\r\\nWARC/1.`` and reported, and the records after it
  are read as usual.
* ``.warc.gz`` files are read gzip member by member (one record per member, as crawlers
  write them), so each record's offset is its member's offset in the compressed file, the
  one Common Crawl's index gives. A corrupt member is skipped to the next gzip header; a
  cut member at the end is reported as truncated.

ARC files (the Internet Archive's format before WARC: ``.arc``, ``.arc.gz``) are framed by
their record header lines and handed on as WARC response records.

``frames(path)`` yields ``Frame``s: the record's bytes and offset, or a problem (reason code
and message) for bytes that are not a whole record. Memory holds one record at a time.
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")
_SEP = b"\r\n\r\nWARC/1."
_GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass
class Frame:
    offset: int  # in the file as stored (the gzip member's offset for .warc.gz)
    data: bytes  # the whole record, headers and block; b"" for a problem
    problem: tuple[str, str] | None = None  # (reason code, message)


def _decompressed(path: Path) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(offset of the member in the file, its decompressed bytes or None, problem message or None)."""
    with open(path, "rb") as fh:
        buf, base = fh.read(CHUNK), 0  # base: file offset of buf[0]
        while buf:
            start, at_start = base, True
            d = zlib.decompressobj(wbits=31)
            out: list[bytes] = []
            try:
                out.append(d.decompress(buf))
                while not d.eof:
                    more = fh.read(CHUNK)
                    if not more:
                        yield start, None, "the file ends inside a gzip member (truncated)"
                        return
                    base, buf, at_start = base + len(buf), more, False
                    out.append(d.decompress(buf))
                rest = d.unused_data
                base, buf = base + len(buf) - len(rest), rest
                yield start, b"".join(out), None
            except zlib.error as exc:
                nxt = buf.find(_GZIP_MAGIC, 1 if at_start else 0)
                while nxt < 0:  # skip to the next gzip header
                    more = fh.read(CHUNK)
                    if not more:
                        yield start, None, f"corrupt gzip member ({exc}); nothing readable after it"
                        return
                    keep = buf[-2:]
                    base, buf = base + len(buf) - len(keep), keep + more
                    nxt = buf.find(_GZIP_MAGIC)
                yield start, None, f"corrupt gzip member ({exc}); skipped to the next member"
                base, buf = base + nxt, buf[nxt:]
            if len(buf) < CHUNK // 2:
                buf += fh.read(CHUNK)


def _plain(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(offset, bytes, at end of file) chunks of an uncompressed file."""
    with open(path, "rb") as fh:
        offset = 0
        while True:
            data = fh.read(CHUNK)
            if not data:
                yield offset, b"", True
                return
            yield offset, data, False
            offset += len(data)


def _split(buf: bytes, base: int, final: bool) -> tuple[list[Frame], int]:
    """Whole records at the start of ``buf`` (file offset ``base``); returns them and the bytes used."""
    frames: list[Frame] = []
    pos = 0
    n = len(buf)
    while pos < n:
        if not buf.startswith(b"WARC/", pos):
            # blank lines between records are fine; anything else is reported up to the next header
            nxt = buf.find(b"WARC/1.", pos)
            if nxt < 0 and not final:
                if buf[pos:].strip() == b"":
                    return frames, n
                if n - pos < CHUNK:
                    break  # read on: the next header may be in the next chunk
                nxt = n - 8  # a megabyte of non-WARC bytes: report it now, so memory stays bounded
            end = n if nxt < 0 else nxt
            junk = buf[pos:end]
            if junk.strip():
                frames.append(
                    Frame(base + pos, b"", ("unframed_bytes", f"{len(junk)} bytes that are not a WARC record"))
                )
            pos = end
            continue
        hdr_end = buf.find(b"\r\n\r\n", pos)
        if hdr_end < 0:
            if not final:
                break
            frames.append(Frame(base + pos, b"", ("truncated_record", "the file ends inside a record's headers")))
            return frames, n
        m = _LENGTH.search(buf, pos, hdr_end + 2)
        length = int(m.group(1)) if m else -1
        end = hdr_end + 4 + length
        need = end + 4 + 7
        if m and need > n and not final:
            break  # read more
        if m and end <= n and buf[end : end + 4] == b"\r\n\r\n" and (end + 4 >= n or buf.startswith(b"WARC/", end + 4)):
            frames.append(Frame(base + pos, buf[pos : end + 4]))
            pos = end + 4
            continue
        nxt = buf.find(_SEP, hdr_end)
        if nxt < 0 and not final:
            break
        cut = n if nxt < 0 else nxt + 4
        said = f"Content-Length {length}" if m else "no Content-Length"
        if nxt < 0 and m and end > n:
            why = ("truncated_record", f"{said}, but the file ends {end - n} bytes early")
        else:
            why = ("content_length_mismatch", f"{said}, but the record is {cut - hdr_end - 8} bytes long")
        frames.append(Frame(base + pos, buf[pos:cut], why))
        pos = cut
    return frames, pos


_ARC_HEADER = re.compile(rb"(\S+) (\S+) (\d{14}) (\S*) (\d+)\r?\n")


def _split_arc(buf: bytes, base: int, final: bool) -> tuple[list[Frame], int]:
    """ARC v1 records (``URL IP date mime length`` line, then the HTTP response) as WARC response records.

    The ``filedesc://`` record that opens an ARC file describes it and is skipped; each record
    becomes the WARC record a crawler would write today, so parsing is the same for both.
    """
    frames: list[Frame] = []
    pos, n = 0, len(buf)
    while pos < n:
        while pos < n and buf[pos : pos + 1] in (b"\n", b"\r"):
            pos += 1
        if pos >= n:
            break
        m = _ARC_HEADER.match(buf, pos)
        if m is None:
            eol = buf.find(b"\n", pos)
            if eol < 0 and not final:
                break
            frames.append(Frame(base + pos, b"", ("unframed_bytes", "a line that is not an ARC record header")))
            pos = n if eol < 0 else eol + 1
            continue
        start, end = m.end(), m.end() + int(m.group(5))
        if end > n:
            if not final:
                break
            frames.append(
                Frame(
                    base + pos, b"", ("truncated_record", f"ARC length {m.group(5).decode()}, but the file ends early")
                )
            )
            return frames, n
        url, date = m.group(1).decode("utf-8", "replace"), m.group(3).decode()
        if not url.startswith("filedesc:"):
            payload = buf[start:end]
            iso = f"{date[:4]}-{date[4:6]}-{date[6:8]}T{date[8:10]}:{date[10:12]}:{date[12:14]}Z"
            rid = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'arc:{url}:{date}:{base + pos}')}>"
            head = (
                f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: {rid}\r\nWARC-Date: {iso}\r\n"
                f"WARC-Target-URI: {url}\r\nContent-Type: application/http; msgtype=response\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n"
            )
            frames.append(Frame(base + pos, head.encode() + payload + b"\r\n\r\n"))
        pos = end
    return frames, pos


def frames(path: Path) -> Iterator[Frame]:
    """Every record of a WARC, WET or ARC file (plain or ``.gz``), or the problem in its place."""
    path = Path(path)
    split = _split_arc if ".arc" in path.name.lower() else _split
    if path.name.lower().endswith(".gz"):
        for offset, data, problem in _decompressed(path):
            if problem is not None:
                reason = "truncated_record" if "truncated" in problem else "corrupt_gzip_member"
                yield Frame(offset, b"", (reason, problem))
                continue
            assert data is not None
            got, used = split(data, offset, final=True)
            for f in got:
                f.offset = offset  # a member's records are found again through the member
                if f.problem is not None and f.problem[0] == "truncated_record":  # the member is whole: the length lied
                    f.problem = (
                        "content_length_mismatch",
                        f.problem[1].replace("the file ends", "its gzip member ends"),
                    )
                yield f
        return
    buf, base = b"", 0
    for offset, data, at_end in _plain(path):
        if not buf:
            base = offset
        buf += data
        got, used = split(buf, base, final=at_end)
        yield from got
        buf, base = buf[used:], base + used
        if at_end:
            return
