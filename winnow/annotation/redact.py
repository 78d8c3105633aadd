"""Every field an annotator sees is PII-redacted, not just the text.

Label Studio shows a task's ``doc_id`` and ``url`` in the Data Manager, so a ``doc_id`` of
``user-jane.doe@corp-mail.com`` or a url with ``?email=…&phone=…`` reached annotators.

* ``task_doc_id``: the ``doc_id`` itself when it holds no PII (almost always), else
  ``<source>:redacted-<xxh3 of the doc_id>``. It is a pure function of the doc_id, so
  the ledger, a reconcile and a pull map a task back to its document without ever
  sending the real id.
* ``url``: every query value and the fragment are replaced by ``…`` (query strings carry
  tracking ids, e-mails and phone numbers), then the text redaction runs over the rest.
"""

from __future__ import annotations

import re

import polars as pl
import xxhash

from winnow.pii import pii_frame

_QUERY_VALUE = re.compile(r"=[^&#]*")


def _redacted(values: list[str | None]) -> list[str | None]:
    present = [v for v in values if v is not None]
    shown = iter(pii_frame(pl.Series(present, dtype=pl.String))["text_redacted"].to_list())
    return [next(shown) if v is not None else None for v in values]


def task_doc_ids(doc_ids: pl.Series) -> pl.Series:
    """The id a task shows for each ``doc_id`` (see the module docstring)."""
    ids = doc_ids.cast(pl.String).to_list()
    out = []
    for d, shown in zip(ids, _redacted(ids)):
        if d is None or shown == d:
            out.append(d)
        else:
            source = d.split(":", 1)[0] if ":" in d and "@" not in d.split(":", 1)[0] else "doc"
            out.append(f"{source}:redacted-{xxhash.xxh3_128_hexdigest(d.encode('utf-8', 'surrogatepass'))[:24]}")
    return pl.Series(doc_ids.name, out, dtype=pl.String)


def task_doc_id(doc_id: str) -> str:
    return task_doc_ids(pl.Series([doc_id], dtype=pl.String))[0]


def shown_urls(urls: pl.Series) -> pl.Series:
    """Each url with its query values and fragment blanked and the rest PII-redacted."""
    blanked: list[str | None] = []
    for u in urls.cast(pl.String).to_list():
        if u is None:
            blanked.append(None)
            continue
        base, hash_, _frag = u.partition("#")
        path, q, query = base.partition("?")
        blanked.append(path + (q + _QUERY_VALUE.sub("=…", query) if q else "") + ("#…" if hash_ else ""))
    return pl.Series(urls.name, _redacted(blanked), dtype=pl.String)


def redact_shown_fields(sample: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``task_doc_id`` and redact ``url`` in a sample (the columns a task shows besides its text)."""
    names = sample.collect_schema().names()
    out = sample.with_columns(task_doc_id=pl.col("doc_id").map_batches(task_doc_ids, return_dtype=pl.String))
    if "url" in names:
        out = out.with_columns(pl.col("url").map_batches(shown_urls, return_dtype=pl.String))
    return out
