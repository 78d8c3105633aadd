"""Word counting: per-document token statistics shared by the Gopher and FineWeb families.

Tokens come from ``lines.token_frame`` (an approximation of the spaCy English
tokenizer datatrove uses). Chinese and Japanese have no spaces between words, so
every Han, Hiragana or Katakana character is one token; Korean (spaced) and the
other scripts split like English. A *word* is a token with at least one character
outside datatrove's punctuation set (Gopher's "non-symbol word"), so ``n_words``
of a Chinese text is about its number of characters. Stop-word lists live in the
recipe (``filters.gopher_quality.stop_words``).
"""

from __future__ import annotations

import polars as pl

from winnow.signals.text import NON_SYMBOL


def token_flags(tokens: pl.DataFrame) -> pl.DataFrame:
    """Add ``tlen`` (characters), ``is_word`` (non-symbol) and ``is_alpha`` (has a letter) per token."""
    return tokens.with_columns(
        tlen=pl.col("tok").str.len_chars().cast(pl.Int64),
        is_word=pl.col("tok").str.contains(NON_SYMBOL),
        is_alpha=pl.col("tok").str.contains(r"\p{L}"),
    )


def doc_word_stats(
    docs: pl.DataFrame, tokens: pl.DataFrame, stop_words: dict[str, list[str]], stop_lang: str = "stop_lang"
) -> pl.DataFrame:
    """Per ``_d``: ``n_tokens``, ``n_words``, ``word_chars``, ``n_alpha_tokens``, ``n_stop_words``.

    ``docs[stop_lang]`` names the stop-word list of each document (missing lists count 0).
    """
    stats = tokens.group_by("_d").agg(
        n_tokens=pl.len().cast(pl.Int64),
        n_words=pl.col("is_word").sum().cast(pl.Int64),
        word_chars=pl.col("tlen").filter(pl.col("is_word")).sum().cast(pl.Int64),
        n_alpha_tokens=pl.col("is_alpha").sum().cast(pl.Int64),
    )
    pairs = pl.DataFrame(
        [(lang, w) for lang, words in stop_words.items() for w in words],
        schema={"_lang": pl.String, "tok": pl.String},
        orient="row",
    )
    every = pairs["tok"].unique()
    hits = (
        tokens.select("_d", "tok")
        .filter(pl.col("tok").is_in(every.implode()))
        .join(docs.select("_d", _lang=pl.col(stop_lang)), on="_d")
        .join(pairs, on=["_lang", "tok"], how="semi")
        .group_by("_d")
        .agg(n_stop_words=pl.col("tok").n_unique().cast(pl.Int64))
    )
    return stats.join(hits, on="_d", how="left").with_columns(pl.col("n_stop_words").fill_null(0))
