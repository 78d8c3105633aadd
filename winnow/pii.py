"""PII: counts of e-mail addresses, phone numbers, IP addresses and card-like numbers,
and ``text_redacted`` with ``[EMAIL]``, ``[CARD]``, ``[IP]``, ``[PHONE]`` in their place.

``text_redacted`` is what annotators see, so the patterns lean towards catching
too much rather than too little. They run in this order on the progressively
redacted text, so one span is counted once: e-mail (also ``name (at) host (dot) org``
forms), card-like numbers (13-19 digits, plain or grouped by spaces/dashes, passing
the Luhn check), IPv4 (valid octets) and IPv6, phone numbers (international ``+``
forms, ``(area) number``, ``555-123-4567``, and numbers after "Tel"/"Phone"/"Fax"/
"Mobile"). Pure polars expressions: vectorized, streaming, no Python per row.

The redaction also removes everything the release validation looks for
(``recipe.validation.email_pattern`` / ``phone_pattern``), which are added to the
e-mail and phone patterns here.
"""

from __future__ import annotations

import polars as pl

_LOCAL = r"[A-Za-z0-9._%+\-]+"
_HOST = r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_AT = r"\s?[(\[{<]\s?(?i:at)\s?[)\]}>]\s?"
_DOT = r"(?:\.|\s?[(\[{<]\s?(?i:dot)\s?[)\]}>]\s?)"
EMAIL = rf"{_LOCAL}@{_HOST}|{_LOCAL}{_AT}[A-Za-z0-9\-]+(?:{_DOT}[A-Za-z0-9\-]+)*{_DOT}[A-Za-z]{{2,}}"

# 13-19 digits, optionally in groups separated by one space or dash (4-4-4-4, 4-6-5, ...)
CARD_CANDIDATE = r"(?-u:\b)[0-9](?:[ \-]?[0-9]){12,18}(?-u:\b)"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_H = r"[0-9A-Fa-f]{1,4}"
IP = (
    rf"(?-u:\b)(?:{_OCTET}\.){{3}}{_OCTET}(?-u:\b)"
    rf"|(?-u:\b)(?:{_H}:){{7}}{_H}(?-u:\b)"
    rf"|(?-u:\b)(?:{_H}:){{1,6}}:(?:{_H}(?::{_H}){{0,5}})?|::1(?-u:\b)|::ffff:[0-9.]+"
)

PHONE = (
    r"\+[0-9]{1,3}(?:[ .\-]?\(?[0-9]{1,4}\)?){1,5}[ .\-]?[0-9]{2,8}(?-u:\b)"
    r"|\+[0-9]{7,15}(?-u:\b)"
    r"|\([0-9]{2,5}\)[ .\-]?[0-9]{2,4}(?:[ .\-]?[0-9]{2,5}){0,2}(?-u:\b)"
    r"|(?-u:\b)[0-9]{3}[.\-][0-9]{3}[.\-][0-9]{4}(?-u:\b)"
)
# a number after a phone keyword: the keyword stays, the number goes
PHONE_KEYWORD = (
    r"(?i)((?-u:\b)(?:tel|telephone|phone|fax|mobile|cell|call)(?-u:\b)\.?:?\s*)(\+?[0-9][0-9 \-./()]{5,}[0-9])"
)

PLACEHOLDERS = {"email": "[EMAIL]", "card": "[CARD]", "ip": "[IP]", "phone": "[PHONE]"}


def _luhn_ok(candidate: pl.Expr) -> pl.Expr:
    """Luhn checksum over the digits of each candidate string."""
    digits = candidate.str.replace_all(r"[^0-9]", "").str.reverse()
    chars = digits.str.split("").list.eval(pl.element().cast(pl.Int64))
    doubled = chars.list.eval(
        pl.when(pl.int_range(pl.len()) % 2 == 1)
        .then(pl.when(pl.element() * 2 > 9).then(pl.element() * 2 - 9).otherwise(pl.element() * 2))
        .otherwise(pl.element())
    )
    return doubled.list.sum() % 10 == 0


#: the PII counts per document, in column order
COLUMNS = ("pii_email", "pii_phone", "pii_ip", "pii_card")


def pii_frame(text: pl.Series, extra_email: str | None = None, extra_phone: str | None = None) -> pl.DataFrame:
    """``pii_email``, ``pii_phone``, ``pii_ip``, ``pii_card`` (Int64) and ``text_redacted`` for ``text``."""
    email = EMAIL + (f"|{re2_to_rust(extra_email)}" if extra_email else "")
    phone = PHONE + (f"|{re2_to_rust(extra_phone)}" if extra_phone else "")
    df = pl.DataFrame({"t": text.fill_null("")}).with_row_index("_r")
    # one regex pass per kind: replace, then count the placeholders it added (a literal count)
    df = _redact(df, email, "[EMAIL]", "pii_email")
    # cards: candidates by regex, kept if the Luhn check passes (only rows that have a candidate)
    cands = (
        df.select("_r", c=pl.col("t").str.extract_all(CARD_CANDIDATE))
        .filter(pl.col("c").list.len() > 0)
        .explode("c")
        .with_columns(ok=_luhn_ok(pl.col("c")))
    )
    valid = cands.filter("ok").group_by("_r").agg(pl.col("c").unique(), pii_card=pl.len().cast(pl.Int64))
    df = df.join(valid, on="_r", how="left").with_columns(pl.col("pii_card").fill_null(0))
    if valid.height:
        # replace each valid card literally; longest first so a prefix never shadows a longer number
        rows = df.filter(pl.col("pii_card") > 0)
        redacted = [
            _replace_literals(t, sorted(c, key=len, reverse=True), "[CARD]") for t, c in zip(rows["t"], rows["c"])
        ]
        df = df.update(rows.select("_r", t=pl.Series(redacted, dtype=pl.String)), on="_r")
    df = df.drop("c")
    df = _redact(df, IP, "[IP]", "pii_ip")
    before = pl.col("t").str.count_matches("[PHONE]", literal=True)
    df = (
        df.with_columns(_p0=before)
        .with_columns(t=pl.col("t").str.replace_all(PHONE_KEYWORD, "${1}[PHONE]").str.replace_all(phone, "[PHONE]"))
        .with_columns(pii_phone=(before - pl.col("_p0")).cast(pl.Int64))
    )
    return df.sort("_r").select("pii_email", "pii_phone", "pii_ip", "pii_card", text_redacted="t")


def _redact(df: pl.DataFrame, pattern: str, placeholder: str, count: str) -> pl.DataFrame:
    """Replace ``pattern`` by ``placeholder`` in ``t``; ``count`` = placeholders added."""
    n = pl.col("t").str.count_matches(placeholder, literal=True)
    return (
        df.with_columns(_n0=n)
        .with_columns(t=pl.col("t").str.replace_all(pattern, placeholder))
        .with_columns((n - pl.col("_n0")).cast(pl.Int64).alias(count))
        .drop("_n0")
    )


def re2_to_rust(pattern: str) -> str:
    """An RE2 pattern (ASCII ``\\b``, ``\\d``, ``\\w``) for the Rust engine, where those are Unicode
    and much slower: the same meaning, spelled ASCII."""
    return (
        pattern.replace(r"\b", r"(?-u:\b)")
        .replace(r"\B", r"(?-u:\B)")
        .replace(r"\d", "[0-9]")
        .replace(r"\D", "[^0-9]")
        .replace(r"\w", "[0-9A-Za-z_]")
        .replace(r"\W", "[^0-9A-Za-z_]")
    )


def _replace_literals(text: str, literals: list[str], placeholder: str) -> str:
    for lit in literals:
        text = text.replace(lit, placeholder)
    return text
