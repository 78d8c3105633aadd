"""C4 line heuristics (Raffel et al. 2020) as signals, following datatrove's ``C4QualityFilter``.

datatrove *edits* the text: it deletes every line that does not end in terminal
punctuation, has fewer than 3 words, has a word over 1000 characters, mentions
"javascript" or a cookie/terms policy, and then drops the document if a surviving
line contains "lorem ipsum" or "{", or if fewer than 5 sentences survive. Winnow
never edits text (the annotators, the dedup and the release all see the original),
so the same walk is recorded as columns: how many lines each rule would remove, how
many survive, how many sentences they hold, and whether a surviving line would have
dropped the document. The drop rules (``winnow.filters``) then reproduce datatrove's
keep/drop decision exactly where datatrove drops; the removed-line share is a
signal (and an optional rule, off by default).
"""

from __future__ import annotations

import polars as pl

from schemas.recipe import C4Config
from winnow.signals.family import Family, Threshold
from winnow.signals.text import NON_SYMBOL, SENTENCE_CLASS

CITATION = r"\[\d*]|\[edit]|\[citation needed]"
#: datatrove's END_PUNCTUATION, and the same with the CJK sentence marks (segmented languages)
END = r"[.?!\"']$"
CJK_END = r"[.?!\"'。！？｡」』”]$"
POLICY = r"terms of use|privacy policy|cookie policy|uses cookies|use of cookies|use cookies"


def sentence_flags(tokens: pl.DataFrame) -> pl.DataFrame:
    """Per token (``_l`` kept): ``sp``, a sentence-final punctuation token (". ! ?" ...), and
    ``np``, a token that is not punctuation (spaCy's ``is_punct``: every character in a
    Unicode P category). Tokens that are neither never matter and are dropped."""
    is_sp = pl.col("tok").str.contains(rf"^[{SENTENCE_CLASS}]$")
    np_ = ~pl.col("tok").str.contains(r"^\p{P}+$") & ~is_sp
    return tokens.select("_l", sp=is_sp, np=np_).filter(pl.col("sp") | pl.col("np"))


def sentence_counts(flags: pl.DataFrame) -> pl.DataFrame:
    """Per line ``_l``: sentences as spaCy's Sentencizer splits them (datatrove's
    ``split_into_sentences``): a new sentence starts at each non-punctuation token whose
    nearest preceding sentence-final or non-punctuation token in the line is sentence-final."""
    if not flags.height:
        return pl.DataFrame(schema={"_l": pl.Int64, "sentences": pl.Int64})
    same_line = pl.col("_l") == pl.col("_l").shift(1)
    boundary = pl.col("np") & pl.col("sp").shift(1).fill_null(False) & same_line.fill_null(False)
    return flags.with_columns(b=boundary).group_by("_l").agg(sentences=(pl.col("b").sum() + 1).cast(pl.Int64))


def line_flags(
    lines: pl.DataFrame, tokens: pl.DataFrame, cfg: C4Config, seg_lang: pl.Series | None = None
) -> pl.DataFrame:
    """Per non-blank ``str.splitlines`` line: which C4 step removes it, or whether it is kept,
    and (for kept lines) its sentences, counted on its ``tokens``.

    Lines of a segmented document (``seg_lang[_d]`` not null, see segment.py) count their words
    and word lengths on the segmenter's words, not on spaces, and may also end in the CJK
    sentence marks (``CJK_END``): datatrove's ``line.split()`` sees one "word" in a Chinese line.
    """
    s = pl.col("line").str.strip_chars()
    k = cfg.min_words_per_line
    # "at least k whitespace-separated words", answered by the regex engine with an early exit
    enough = pl.col("s").str.contains(r"\S+" + r"\s+\S+" * (k - 1)) if k > 1 else pl.col("s") != ""
    frame = lines.select("_d", "_l", s=s).filter(pl.col("s") != "").with_columns(enough=enough)
    too_long = pl.Series("too_long", [False] * frame.height, dtype=pl.Boolean)
    if cfg.max_word_length != -1:
        # only lines longer than the limit can hold a too-long word: test just those
        long = frame.with_row_index("_r").filter(pl.col("s").str.len_chars() > cfg.max_word_length)
        if long.height:
            hit = long.filter(
                pl.col("s").str.extract_all(r"\S+").list.eval(pl.element().str.len_chars()).list.max()
                > cfg.max_word_length
            )["_r"]
            too_long = too_long.scatter(hit, True)
    frame = frame.with_columns(too_long)
    if seg_lang is not None and seg_lang.is_not_null().any():
        frame = _segmented_words(frame, tokens, seg_lang, k, cfg.max_word_length)
    else:
        frame = frame.with_columns(cjk_end=pl.lit(False))
    lf = frame.lazy()
    s2 = pl.col("s").str.replace_all(CITATION, "") if cfg.remove_citations else pl.col("s")
    lf = lf.with_columns(s2=s2)
    no_punct = (
        (
            ~pl.when("cjk_end").then(pl.col("s2").str.contains(CJK_END)).otherwise(pl.col("s2").str.contains(END))
            | pl.col("s2").str.ends_with("...")
        )
        if cfg.filter_no_terminal_punct
        else pl.lit(False)
    )
    few_words = ~pl.col("enough")
    lf = (
        lf.with_columns(
            no_punct=~pl.col("too_long") & no_punct,
        )
        .with_columns(
            few_words=~pl.col("too_long") & ~pl.col("no_punct") & few_words,
        )
        .with_columns(cand=~pl.col("too_long") & ~pl.col("no_punct") & ~pl.col("few_words"))
    )
    base = lf.collect()
    # the content rules only look at lines that survived the shape rules: test just those
    flag = lambda on, pattern: pl.col("s2").str.contains(pattern) if on else pl.lit(False)  # noqa: E731
    content = (
        base.lazy()
        .filter("cand")
        .select(
            "_l",
            lorem=flag(cfg.filter_lorem_ipsum, "(?i)lorem ipsum"),
            js=flag(cfg.filter_javascript, "(?i)javascript"),
            curly=flag(cfg.filter_curly_bracket, r"\{"),
            policy=flag(cfg.filter_policy, f"(?i){POLICY}"),
        )
        .select(
            "_l",
            lorem="lorem",
            javascript=~pl.col("lorem") & pl.col("js"),
            curly=~pl.col("lorem") & ~pl.col("js") & pl.col("curly"),
            policy=~pl.col("lorem") & ~pl.col("js") & ~pl.col("curly") & pl.col("policy"),
        )
    )
    lf = (
        base.lazy()
        .drop("s", "s2", "cjk_end")
        .join(content, on="_l", how="left")
        .with_columns(pl.col("lorem", "javascript", "curly", "policy").fill_null(False))
        .with_columns(
            kept=pl.col("cand") & ~pl.col("lorem") & ~pl.col("javascript") & ~pl.col("curly") & ~pl.col("policy")
        )
    )
    flags = lf.collect()
    kept = sentence_flags(tokens.select("_l", "tok").join(flags.filter("kept").select("_l"), on="_l", how="semi"))
    return flags.join(sentence_counts(kept), on="_l", how="left").with_columns(pl.col("sentences").fill_null(1))


def _segmented_words(frame: pl.DataFrame, tokens: pl.DataFrame, seg_lang: pl.Series, k: int, longest: int):
    """``enough`` and ``too_long`` of segmented documents' lines from their word tokens."""
    segmented = seg_lang.is_not_null()
    per_line = (
        tokens.filter(segmented.gather(tokens["_d"]) & pl.col("tok").str.contains(NON_SYMBOL))
        .group_by("_l")
        .agg(_n=pl.len(), _max=pl.col("tok").str.len_chars().max())
    )
    seg = pl.Series("cjk_end", segmented.gather(frame["_d"]))
    out = (
        frame.with_columns(seg)
        .join(per_line, on="_l", how="left", maintain_order="left")
        .with_columns(pl.col("_n", "_max").fill_null(0))
    )
    too_long = (pl.col("_max") > longest) if longest != -1 else pl.lit(False)
    return out.with_columns(
        enough=pl.when("cjk_end").then(pl.col("_n") >= k).otherwise("enough"),
        too_long=pl.when("cjk_end").then(too_long).otherwise("too_long"),
    ).drop("_n", "_max")


def doc_stats(flags: pl.DataFrame) -> pl.DataFrame:
    """Per ``_d``: the C4 counters (see ``signals``)."""
    c = lambda name: pl.col(name).sum().cast(pl.Int64)  # noqa: E731
    return flags.group_by("_d").agg(
        c4_lines=pl.len().cast(pl.Int64),
        c4_too_long_word_lines=c("too_long"),
        c4_no_terminal_punct_lines=c("no_punct"),
        c4_too_few_words_lines=c("few_words"),
        c4_lorem_ipsum_lines=c("lorem"),
        c4_javascript_lines=c("javascript"),
        c4_curly_bracket_lines=c("curly"),
        c4_policy_lines=c("policy"),
        c4_kept_lines=c("kept"),
        c4_sentences=pl.col("sentences").filter(pl.col("kept")).sum().cast(pl.Int64),
    )


COUNT_COLUMNS = [
    "c4_lines",
    "c4_too_long_word_lines",
    "c4_no_terminal_punct_lines",
    "c4_too_few_words_lines",
    "c4_lorem_ipsum_lines",
    "c4_javascript_lines",
    "c4_curly_bracket_lines",
    "c4_policy_lines",
    "c4_kept_lines",
    "c4_sentences",
]


def signals() -> list[pl.Expr]:
    """Derived C4 columns (after the counters are joined and null-filled)."""
    lines = pl.col("c4_lines")
    removed = lines - pl.col("c4_kept_lines")
    return [
        pl.when(lines > 0)
        .then(removed.cast(pl.Float64) / lines.cast(pl.Float64))
        .otherwise(0.0)
        .alias("c4_removed_line_frac")
    ]


# ----------------------------------------------------------------------------- the family
def _rules(f) -> list:
    c4, c = f.c4, pl.col
    rules = []
    if c4.filter_lorem_ipsum:
        rules.append(("c4_lorem_ipsum", c("c4_lorem_ipsum_lines") == 0))
    if c4.filter_curly_bracket:
        rules.append(("c4_curly_bracket", c("c4_curly_bracket_lines") == 0))
    if c4.min_num_sentences != -1:
        rules.append(("c4_too_few_sentences", c("c4_sentences") >= c4.min_num_sentences))
    if c4.max_removed_line_frac is not None:
        rules.append(("c4_no_terminal_punct", c("c4_removed_line_frac") <= c4.max_removed_line_frac))
    return rules


FAMILY = Family(
    name="c4",
    reasons={
        "c4_lorem_ipsum": "a line C4 keeps contains 'lorem ipsum' (datatrove: lorem_ipsum)",
        "c4_curly_bracket": "a line C4 keeps contains '{' (datatrove: curly_bracket)",
        "c4_too_few_sentences": "fewer than min_num_sentences sentences in the lines C4 keeps "
        "(datatrove: too_few_sentences)",
        "c4_no_terminal_punct": "share of lines C4 would remove above max_removed_line_frac "
        "(Winnow extension, off by default)",
    },
    columns=lambda f: {**{name: pl.Int64() for name in COUNT_COLUMNS}, "c4_removed_line_frac": pl.Float64()},
    rules=_rules,
    thresholds=lambda f: {
        "c4_too_few_sentences": Threshold("c4_sentences", "min_num_sentences", ">="),
        "c4_no_terminal_punct": Threshold("c4_removed_line_frac", "max_removed_line_frac", "<="),
    },
)
