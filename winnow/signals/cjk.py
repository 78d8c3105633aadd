"""Rules Chinese, Japanese and Korean web text needs, and garbled text in any language.

The Gopher, C4 and FineWeb rules were designed for space-separated languages; a Chinese page
faced Gopher repetition alone. This family adds, with Data-Juicer's and the Chinese corpus
pipelines' versions of them as the model (thresholds in ``CjkQualityConfig``):

* ``cjk_script_share``: CJK characters among letters (``cjk_low_script_share``);
* ``cjk_fullwidth_punct_per_char``: full-width punctuation per CJK character, low for keyword
  lists and SEO stuffing (``cjk_no_punctuation``); the half-width share is kept as a signal;
* ``cjk_char_rep_ratio``: Data-Juicer's character repetition, the top √(distinct) character
  n-grams' share of all (``cjk_char_repetition``);
* ``cjk_spam_hits``: contact lures such as 加微信 or QQ numbers, download bait, invoice and
  gambling ads (``cjk_spam``);
* ``cjk_flagged_ratio``: flagged words of the document's language per CJK character
  (``flagged_words``);
* ``garbled_ratio``: replacement characters, UTF-8 read as Latin-1 (``Ã©``) and runs of
  Latin-1 letters that are GBK bytes read as Latin-1 (``ÖÐÎÄ``), per character, in every
  language (``garbled_text``).

All signals are polars expressions over the whole text except the n-gram repetition, which
hashes the first ``REP_CHARS`` code points of each judged document with numpy (no Python
loop over characters). A signal that does not apply is 0, never null.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from schemas.recipe import CjkQualityConfig
from winnow.signals.family import Family, Threshold

CJK = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]"
FULLWIDTH_PUNCT = r"[，。！？；：、“”‘’（）《》〈〉【】「」『』…—～·]"
HALFWIDTH_PUNCT = r"[,.!?;:()]"
#: U+FFFD, UTF-8 read as cp1252/Latin-1 (a lead byte then a continuation), GBK read as Latin-1
GARBLED = (
    "\ufffd"
    "|[\u00c2-\u00ef][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
    "|[\u00c0-\u00ff]{4,}"
)
#: the repetition ratio reads the first this many characters (bounded memory on a 50 MB page)
REP_CHARS = 200_000
COLUMNS = {
    "cjk_chars": pl.Int64(),
    "cjk_script_share": pl.Float64(),
    "cjk_fullwidth_punct_per_char": pl.Float64(),
    "cjk_halfwidth_punct_share": pl.Float64(),
    "cjk_char_rep_ratio": pl.Float64(),
    "cjk_spam_hits": pl.Int64(),
    "cjk_flagged_ratio": pl.Float64(),
    "garbled_ratio": pl.Float64(),
}


def char_rep_ratio(text: str, n: int) -> float:
    """Data-Juicer's character repetition ratio: the top √(distinct n-grams) n-grams' share of all."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    if codes.size < n:
        return 0.0
    powers = np.uint64(1_000_003) ** np.arange(n, dtype=np.uint64)
    grams = np.lib.stride_tricks.sliding_window_view(codes, n) @ powers  # wraps mod 2^64: a hash
    counts = np.sort(np.unique(grams, return_counts=True)[1])[::-1]
    top = int(math.sqrt(counts.size))
    return float(counts[:top].sum() / counts.sum()) if top else 0.0


def signals_frame(text: pl.Series, lang: pl.Series, cfg: CjkQualityConfig) -> pl.DataFrame:
    """The family's columns for one slice of texts and their detected languages.

    Script and punctuation shares and garbling are measured on every text (the quality model
    reads them in any language). Spam lures, flagged words and character repetition only matter
    for a document detected as one of ``cfg.languages``, so only those rows are scanned for them
    (the rest get 0): most of a crawl is not CJK, and those patterns are the family's costliest.
    """
    df = pl.DataFrame({"t": text.fill_null(""), "lang": lang}).with_row_index("_i")
    cjk = pl.col("t").str.count_matches(CJK).cast(pl.Int64)
    letters = pl.col("t").str.count_matches(r"\p{L}")
    full = pl.col("t").str.count_matches(FULLWIDTH_PUNCT)
    half = pl.col("t").str.count_matches(HALFWIDTH_PUNCT)
    n_chars = pl.col("t").str.len_chars()
    out = df.with_columns(_cjk=cjk).select(
        "_i",
        cjk_chars="_cjk",
        cjk_script_share=pl.when(letters > 0).then(pl.col("_cjk") / letters).otherwise(0.0),
        cjk_fullwidth_punct_per_char=pl.when(pl.col("_cjk") > 0).then(full / pl.col("_cjk")).otherwise(0.0),
        cjk_halfwidth_punct_share=pl.when(full + half > 0).then(half / (full + half)).otherwise(0.0),
        garbled_ratio=pl.when(n_chars > 0).then(pl.col("t").str.count_matches(GARBLED) / n_chars).otherwise(0.0),
    )
    rows = df.filter(pl.col("lang").is_in(cfg.languages)).join(out.select("_i", "cjk_chars"), on="_i")
    spam = pl.sum_horizontal([pl.col("t").str.count_matches(p) for p in cfg.spam_patterns] or [pl.lit(0)])
    flagged = pl.lit(0)
    for code, flagged_words in cfg.flagged_words.items():
        if flagged_words:
            hits = pl.col("t").str.count_matches("|".join(flagged_words), literal=False)
            flagged = pl.when(pl.col("lang") == code).then(hits).otherwise(flagged)
    c = pl.col("cjk_chars")
    rep = [
        char_rep_ratio(t[:REP_CHARS], cfg.char_rep_n) if n >= cfg.min_cjk_chars else 0.0
        for t, n in zip(rows["t"].to_list(), rows["cjk_chars"].to_list())
    ]
    scored = rows.select(
        "_i",
        cjk_spam_hits=spam.cast(pl.Int64),
        cjk_flagged_ratio=pl.when(c > 0).then(flagged / c).otherwise(0.0),
        cjk_char_rep_ratio=pl.Series(rep, dtype=pl.Float64),
    )
    out = out.join(scored, on="_i", how="left", maintain_order="left")
    return out.select([pl.col(c).cast(t).fill_null(0) for c, t in COLUMNS.items()])


def _rules(f) -> list:
    cfg, c = f.cjk_quality, pl.col
    judged = c("lang_detected").is_in(cfg.languages) & (c("cjk_chars") >= cfg.min_cjk_chars)
    return [
        ("cjk_low_script_share", ~judged | (c("cjk_script_share") >= cfg.min_script_share)),
        ("cjk_no_punctuation", ~judged | (c("cjk_fullwidth_punct_per_char") >= cfg.min_fullwidth_punct_per_char)),
        ("cjk_char_repetition", ~judged | (c("cjk_char_rep_ratio") <= cfg.max_char_rep_ratio)),
        ("cjk_spam", ~judged | (c("cjk_spam_hits") < cfg.max_spam_hits)),
        ("flagged_words", ~judged | (c("cjk_flagged_ratio") <= cfg.max_flagged_ratio)),
        ("garbled_text", c("garbled_ratio") <= cfg.max_garbled_ratio),
    ]


FAMILY = Family(
    name="cjk_quality",
    reasons={
        "cjk_low_script_share": "a CJK-language document whose CJK characters are under min_script_share of its letters",
        "cjk_no_punctuation": "full-width punctuation per CJK character under min_fullwidth_punct_per_char",
        "cjk_char_repetition": "character n-gram repetition above max_char_rep_ratio",
        "cjk_spam": "spam or advertising lures (spam_patterns) at or above max_spam_hits",
        "flagged_words": "flagged words of the document's language per CJK character above max_flagged_ratio",
        "garbled_text": "replacement characters or mojibake per character above max_garbled_ratio (any language)",
    },
    columns=lambda f: dict(COLUMNS),
    rules=_rules,
    thresholds=lambda f: {
        "cjk_low_script_share": Threshold("cjk_script_share", "min_script_share", ">="),
        "cjk_no_punctuation": Threshold("cjk_fullwidth_punct_per_char", "min_fullwidth_punct_per_char", ">="),
        "cjk_char_repetition": Threshold("cjk_char_rep_ratio", "max_char_rep_ratio", "<="),
        "cjk_spam": Threshold("cjk_spam_hits", "max_spam_hits", "<"),
        "flagged_words": Threshold("cjk_flagged_ratio", "max_flagged_ratio", "<="),
        "garbled_text": Threshold("garbled_ratio", "max_garbled_ratio", "<="),
    },
)
