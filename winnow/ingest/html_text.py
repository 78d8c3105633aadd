"""HTML payloads to text: charset detection, then main-content extraction.

* Charset: the HTTP header's, else a ``<meta charset>`` in the first 2 KB; if the bytes do
  not decode strictly with it (a page that declares its charset wrongly), uchardet's guess
  (resiliparse); if nothing decodes, the record is quarantined (``undecodable_charset``).
* Extraction: ``resiliparse`` (``extract_plain_text`` with main-content heuristics, the
  default: the fastest, see ``bench/crawl``) or ``trafilatura`` (a recipe choice).
"""

from __future__ import annotations

import codecs
import re

from resiliparse.parse.encoding import detect_encoding

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def declared_charset(http_charset: str | None, payload: bytes) -> str | None:
    if http_charset:
        return http_charset.lower()
    m = _META.search(payload[:2048])
    return m.group(1).decode("ascii", "replace").lower() if m else None


def decode(payload: bytes, declared: str | None) -> tuple[str | None, str | None]:
    """(text, the codec used) or (None, None) when no charset decodes the bytes strictly."""
    tried = []
    for name in (declared, detect_encoding(payload), "utf-8"):
        codec = _codec(name)
        if codec is None or codec in tried:
            continue
        tried.append(codec)
        try:
            return payload.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    return None, None


def extract(html: str, extractor: str) -> str:
    """The main text of a page (blank lines between blocks), or "" when there is none."""
    if extractor == "trafilatura":
        import trafilatura

        return trafilatura.extract(html, include_comments=False, include_tables=True, favor_precision=False) or ""
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True, preserve_formatting=True, alt_texts=False, list_bullets=True)
