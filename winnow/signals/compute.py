"""Compute every signal column for a LazyFrame of canonical documents.

``compute_signals`` adds one ``map_batches`` expression over ``text`` (declared
elementwise, so polars' streaming engine feeds it one morsel at a time and memory
stays bounded) and unnests its struct. Inside, each batch is cut into slices of
at most ``SLICE_BYTES`` of text and every family runs vectorized over the slice:
lines, paragraphs and tokens are exploded into long frames, flagged with polars
string kernels and aggregated back per document with hash group-bys. Only the
language-ID call walks the texts, one C++ ``predict`` per document on its first
``detect_chars`` characters.

The release tokenizer's ``n_tokens`` is counted here too, while the text is in memory, and
carried downstream as a column: the funnel, the model's token weights and the release
shards read it and never tokenize again.
"""

from __future__ import annotations

from functools import partial

import polars as pl

from schemas.recipe import FiltersConfig, Recipe
from winnow import pii
from winnow.signals import c4, cjk, fineweb, gopher, langid, lines, segment, words
from winnow.signals.text import HYPHEN_WORD_LANGUAGES, OTHER_LINE_BREAKS
from winnow.tokens import n_tokens_expr

#: text bytes per vectorized slice: bounds the exploded frames (~300 MB peak at 4 MB; speed is flat from 2 to 16 MB)
SLICE_BYTES = 4 * 1024 * 1024
_STRUCT = "__winnow_signals"


#: the families whose columns ``compute_signals`` adds, in column order
COLUMN_FAMILIES = (langid.FAMILY, gopher.QUALITY, gopher.REPETITION, c4.FAMILY, fineweb.FAMILY, cjk.FAMILY)


def signal_schema(cfg: FiltersConfig) -> dict[str, pl.DataType]:
    """Every column ``compute_signals`` adds, in order, with its dtype."""
    i = pl.Int64()
    cols: dict[str, pl.DataType] = {"n_chars": i, "n_words": i, "n_lines": i}
    for family in COLUMN_FAMILIES:
        cols |= family.columns(cfg)
    cols |= {name: i for name in pii.COLUMNS} | {"text_redacted": pl.String()}
    return cols


def compute_signals(docs: pl.LazyFrame, recipe: Recipe) -> pl.LazyFrame:
    """Add the signal columns and ``n_tokens`` (release tokenizer); every input column is kept
    (a column of the same name is replaced)."""
    schema = signal_schema(recipe.filters)
    fn = partial(
        signals_batch,
        cfg=recipe.filters,
        extra_email=recipe.validation.email_pattern,
        extra_phone=recipe.validation.phone_pattern,
    )
    existing = [c for c in docs.collect_schema().names() if c in schema or c == "n_tokens"]
    return (
        docs.drop(existing)
        .with_columns(
            pl.col("text").map_batches(fn, return_dtype=pl.Struct(schema), is_elementwise=True).alias(_STRUCT),
            n_tokens_expr("text", recipe.publish.tokenizer),
        )
        .unnest(_STRUCT)
    )


def signals_batch(
    text: pl.Series, cfg: FiltersConfig, extra_email: str | None = None, extra_phone: str | None = None
) -> pl.Series:
    """The signal struct for one batch of texts (what ``map_batches`` calls)."""
    text = text.cast(pl.String).fill_null("")
    sizes = text.str.len_bytes().cast(pl.Int64).to_list()
    frames, start, acc = [], 0, 0
    for end, size in enumerate(sizes, 1):
        acc += size
        if acc >= SLICE_BYTES:
            frames.append(signals_frame(text.slice(start, end - start), cfg, extra_email, extra_phone))
            start, acc = end, 0
    if start < len(sizes) or not frames:
        frames.append(signals_frame(text.slice(start, len(sizes) - start), cfg, extra_email, extra_phone))
    return pl.concat(frames, how="vertical").to_struct(_STRUCT)


def signals_frame(
    text: pl.Series, cfg: FiltersConfig, extra_email: str | None = None, extra_phone: str | None = None
) -> pl.DataFrame:
    """All signal columns for ``text`` (one slice), as a DataFrame in ``signal_schema`` order."""
    schema = signal_schema(cfg)
    if text.len() == 0:
        return pl.DataFrame(schema=schema)
    rep = cfg.gopher_repetition
    top_ns, dup_ns = sorted(rep.top_n_grams), sorted(rep.dup_n_grams)
    docs = pl.DataFrame({"text": text.fill_null("")}).with_row_index("_d")
    lang, score = langid.detect(docs["text"], cfg.language)
    stop_words = cfg.stop_words_by_language()
    fallback = "en" if "en" in stop_words else next(iter(stop_words), "en")
    docs = docs.with_columns(lang_detected=lang, lang_score=score).with_columns(
        stop_lang=pl.when(pl.col("lang_detected").is_in(list(stop_words)))
        .then("lang_detected")
        .otherwise(pl.lit(fallback))
    )
    # how each document splits into words: its language's rules (segment_words), else the fast path
    word_lang = docs.select(pl.when(pl.lit(cfg.segment_words)).then("lang_detected")).to_series()
    seg_lang = word_lang.set(~word_lang.is_in(list(segment.SEGMENTERS)).fill_null(False), None)

    line_df = lines.line_frame(docs)
    tokens = words.token_flags(_tokens(line_df, seg_lang, word_lang))
    # C4 and Gopher quality walk str.splitlines() lines; only texts with a break other than
    # "\n" (\r, \f, U+2028 ...) need their own lines and tokens
    other = docs.select(pl.col("text").str.contains(OTHER_LINE_BREAKS))["text"]
    if other.any():
        plain = docs.filter(~other)["_d"].implode()
        sl_docs = docs.with_columns(text=pl.when(other).then(lines.splitlines_text()).otherwise("text"))
        extra = lines.line_frame(sl_docs.filter(other)).with_columns(pl.col("_l") + line_df.height)
        sl_lines = pl.concat([line_df.filter(pl.col("_d").is_in(plain)), extra])
        sl_tokens = pl.concat(
            [tokens.filter(pl.col("_d").is_in(plain)).select("_d", "_l", "tok"), _tokens(extra, seg_lang, word_lang)]
        )
    else:
        sl_docs, sl_lines, sl_tokens = docs, line_df, tokens

    parts = [
        words.doc_word_stats(docs, tokens, stop_words),
        gopher.line_quality_stats(sl_lines),
        gopher.duplicate_stats(lines.paragraph_frame(docs), "para", "para"),
        gopher.repetition_lines(line_df),
        c4.doc_stats(c4.line_flags(sl_lines, sl_tokens, cfg.c4, seg_lang)),
        fineweb.doc_stats(line_df, cfg.fineweb),
    ]
    # n-grams last, on token hashes: the token strings are freed first (memory on huge texts)
    hashed = tokens.select("_d", "tlen", h=gopher.token_hash())
    del tokens, sl_tokens, sl_lines, line_df
    parts.append(gopher.ngram_stats(hashed, top_ns, dup_ns))
    del hashed
    base = docs.with_columns(_sl=sl_docs["text"]).select(
        "_d",
        "lang_detected",
        "lang_score",
        n_chars=pl.col("text").str.len_chars().cast(pl.Int64),
        n_hash=pl.col("text").str.count_matches("#", literal=True).cast(pl.Int64),
        n_ellipsis=(
            pl.col("text").str.count_matches("...", literal=True) + pl.col("text").str.count_matches("…", literal=True)
        ).cast(pl.Int64),
        n_newlines=pl.col("text").str.count_matches("\n", literal=True).cast(pl.Int64),
        n_lines=pl.when(pl.col("_sl") == "")
        .then(0)
        .otherwise(
            pl.col("_sl").str.count_matches("\n", literal=True) + 1 - pl.col("_sl").str.ends_with("\n").cast(pl.Int64)
        )
        .cast(pl.Int64),
    )
    joined = base
    for part in parts:
        joined = joined.join(part, on="_d", how="left")
    counts = [c for c, t in joined.schema.items() if t.is_integer() and c != "_d"]
    joined = joined.with_columns(pl.col(counts).fill_null(0))
    n_chars = pl.col("n_chars")
    out = joined.sort("_d").select(
        "n_chars",
        pl.col("n_words").alias("n_words"),
        "n_lines",
        "lang_detected",
        "lang_score",
        *gopher.quality_signals(pl.col("n_lines")),
        *gopher.repetition_signals(top_ns, dup_ns, n_chars),
        *[pl.col(c) for c in c4.COUNT_COLUMNS],
        *c4.signals(),
        *fineweb.signals(n_chars - pl.col("n_newlines"), pl.col("n_newlines")),
    )
    cjk_part = cjk.signals_frame(docs["text"], out["lang_detected"], cfg.cjk_quality)
    out = pl.concat([out, cjk_part, pii.pii_frame(docs["text"], extra_email, extra_phone)], how="horizontal")
    return out.select([pl.col(c).cast(t) for c, t in schema.items()])


def _tokens(line_df: pl.DataFrame, seg_lang: pl.Series, lang: pl.Series) -> pl.DataFrame:
    """Tokens of ``line_df`` in text order: segmented where ``seg_lang[_d]`` names a segmenter,
    whole hyphenated words where ``lang[_d]`` is one of ``HYPHEN_WORD_LANGUAGES``, else the fast path."""
    segmented = seg_lang.is_not_null()
    hyphen = lang.is_in(HYPHEN_WORD_LANGUAGES).fill_null(False) & ~segmented
    if not segmented.any() and not hyphen.any():
        return lines.token_frame(line_df)
    by_line_seg, by_line_hyphen = segmented.gather(line_df["_d"]), hyphen.gather(line_df["_d"])
    parts = [lines.token_frame(line_df.filter(~by_line_seg & ~by_line_hyphen))]
    if hyphen.any():
        parts.append(lines.token_frame(line_df.filter(by_line_hyphen), keep_hyphen=True))
    if segmented.any():
        parts.append(segment.token_frame(line_df.filter(by_line_seg), seg_lang))
    return pl.concat(parts).sort("_l", maintain_order=True)
