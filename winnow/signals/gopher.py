"""Gopher quality and repetition signals (Rae et al. 2021, Table A1), as datatrove 0.10.1 computes them.

Quality (``gopher_quality``): non-symbol word count, mean word length, "#" and
ellipsis per token, bullet-line and ellipsis-line shares, share of tokens with a
letter, distinct stop words.

Repetition (``gopher_repetition``): duplicate paragraph/line shares by count and by
characters, the character share of the most frequent 2/3/4-gram, and the character
share of duplicated 5..10-grams. All vectorized over a whole batch: n-grams are
identified by chaining 64-bit hashes of the tokens, and counted with hash
group-bys; nothing loops over documents in Python.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from winnow.signals.family import Family, Threshold

#: passes that redo the repeats without the n-grams the greedy scan jumps over (2: exact on ~98% of
#: (document, n) pairs of real text, the rest within part of one n-gram)
REFINE = 2
_PRIME = np.uint64(0x100000001B3)
_DOC_MIX = np.uint64(0x9E3779B97F4A7C15)  # FNV-64 prime: odd, so the n-gram hash is a bijection per step

# ---------------------------------------------------------------- quality


def line_quality_stats(lines: pl.DataFrame) -> pl.DataFrame:
    """Per ``_d``: bullet lines and ellipsis-ending lines (``str.splitlines`` lines)."""
    return lines.group_by("_d").agg(
        bullet_lines=pl.col("line").str.contains(r"^\s*[•\-]").sum().cast(pl.Int64),
        ellipsis_lines=pl.col("line").str.contains(r"(?:\.\.\.|…)\s*$").sum().cast(pl.Int64),
    )


def quality_signals(n_splitlines: pl.Expr) -> list[pl.Expr]:
    """Gopher quality columns from the joined per-document counts (see ``compute``)."""
    n_tok = pl.col("n_tokens")
    return [
        pl.col("n_words").alias("gopher_n_words"),
        _ratio(pl.col("word_chars"), pl.col("n_words")).alias("gopher_mean_word_length"),
        _ratio(pl.col("n_hash"), n_tok).alias("gopher_hash_per_word"),
        _ratio(pl.col("n_ellipsis"), n_tok).alias("gopher_ellipsis_per_word"),
        _ratio(pl.col("bullet_lines"), n_splitlines).alias("gopher_bullet_lines_ratio"),
        _ratio(pl.col("ellipsis_lines"), n_splitlines).alias("gopher_ellipsis_lines_ratio"),
        _ratio(pl.col("n_alpha_tokens"), n_tok).alias("gopher_alpha_words_ratio"),
        pl.col("n_stop_words").alias("gopher_stop_words"),
    ]


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den as Float64, 0.0 when den is 0 (never NaN or null)."""
    return pl.when(den > 0).then(num.cast(pl.Float64) / den.cast(pl.Float64)).otherwise(0.0)


# ---------------------------------------------------------------- repetition


def duplicate_stats(items: pl.DataFrame, col: str, prefix: str) -> pl.DataFrame:
    """Per ``_d``: ``{prefix}_n`` elements, ``{prefix}_dups`` non-first occurrences and their characters."""
    seen = pl.struct("_d", pl.col(col).hash(7)).is_first_distinct()
    return (
        items.with_columns(_dup=~seen, _len=pl.col(col).str.len_chars().cast(pl.Int64))
        .group_by("_d")
        .agg(
            pl.len().cast(pl.Int64).alias(f"{prefix}_n"),
            pl.col("_dup").sum().cast(pl.Int64).alias(f"{prefix}_dups"),
            pl.col("_len").filter(pl.col("_dup")).sum().cast(pl.Int64).alias(f"{prefix}_dup_chars"),
        )
    )


def repetition_lines(lines: pl.DataFrame) -> pl.DataFrame:
    """``re.split("\\n+", text)`` elements: non-empty lines, plus an empty first/last one."""
    keep = (pl.col("line") != "") | (pl.col("li") == 0) | (pl.col("li") == pl.col("n_li") - 1)
    return duplicate_stats(lines.filter(keep), "line", "rline")


def token_hash() -> pl.Expr:
    """64-bit hash of each token (``ngram_stats`` mixes in the document)."""
    return pl.col("tok").hash(11)


def ngram_stats(tokens: pl.DataFrame, top_ns: list[int], dup_ns: list[int]) -> pl.DataFrame:
    """Per ``_d``: ``top_{n}_chars`` and ``dup_{n}_chars`` (see module doc).

    ``tokens`` must be in text order and carry ``_d``, ``tlen`` and ``h`` (``token_hash()``;
    or ``tok``, hashed here). An n-gram's id is
    a polynomial hash (mod 2**64) of its tokens' 64-bit hashes, each already mixed with the
    document, so equal n-grams of one document get equal ids; every array op below is
    vectorized over the whole slice.

    * ``top_{n}_chars``: characters of the most frequent n-gram (joined with spaces, as
      datatrove counts them) times its count; ties go to the n-gram seen first (what
      ``Counter.most_common(1)`` returns).
    * ``dup_{n}_chars``: characters of the repeated n-grams found by datatrove's greedy scan
      (``find_all_duplicate``: at a repeated n-gram count its characters and jump n tokens).
      A run of consecutive repeated n-gram starts ``p..q`` is scanned as ``ceil((q-p+1)/n)``
      hits covering ``[p, p + hits*n)``; a run that begins inside the previous run's cover
      starts where that cover ends. Repeats are found once more after excluding the n-grams
      the scan jumps over (datatrove never records those), which makes the result exact on
      most texts; the few others differ by part of one n-gram.
    """
    schema = (
        {"_d": pl.UInt32} | {f"top_{n}_chars": pl.Int64 for n in top_ns} | {f"dup_{n}_chars": pl.Int64 for n in dup_ns}
    )
    if not tokens.height or not (top_ns or dup_ns):
        return pl.DataFrame(schema=schema)
    d = tokens["_d"].to_numpy()
    h = (tokens["h"] if "h" in tokens.columns else tokens.select(token_hash())["tok"]).to_numpy()
    h = h ^ (d.astype(np.uint64) * _DOC_MIX)  # equal token ids only within one document
    csum = np.concatenate(([0], np.cumsum(tokens["tlen"].to_numpy().astype(np.int64))))
    size = len(h)
    idx_t = np.int32 if size < 2**31 - 16 else np.int64  # positions: half the memory on huge texts
    docs, doc_start, doc_len = np.unique(d, return_index=True, return_counts=True)
    cols: dict[str, np.ndarray] = {}
    # n = 2 over every position whose bigram stays in its document; afterwards only positions
    # where the (n-1)-gram and the next one both repeat can hold a repeated n-gram, so each
    # step works on a shrinking sorted array ``sel`` with its hashes ``gs``
    sel = np.flatnonzero(d[1:] == d[:-1]).astype(idx_t)
    gs = h[sel] * _PRIME + h[sel + 1]  # polynomial hash, wraps mod 2**64
    for n in range(2, max(top_ns + dup_ns) + 1):
        keep = _maybe_repeated(gs)  # cheap prefilter: drops most n-grams seen once
        sel, gs = sel[keep], gs[keep]
        runs = _runs(gs, sel)
        rep = runs.repeated
        if n in top_ns:
            once = np.where(doc_len >= n, csum[np.minimum(doc_start + n, size)] - csum[doc_start] + (n - 1), 0)
            cols[f"top_{n}_chars"] = _top_chars(d, once, runs, csum, n, docs)
        if n in dup_ns:
            cols[f"dup_{n}_chars"] = _dup_chars(d, gs[rep], sel[rep], runs.first_at[rep], csum, n, size, docs)
        # next: n-grams at repeated positions whose successor position repeats too
        sel, gs = sel[rep], gs[rep]
        nxt = np.flatnonzero((sel[1:] == sel[:-1] + 1) & (sel[:-1] + n < size))
        nxt = nxt[d[np.minimum(sel[nxt] + n, size - 1)] == d[sel[nxt]]]
        sel, gs = sel[nxt], gs[nxt] * _PRIME + h[sel[nxt] + n]
    out = pl.DataFrame({"_d": docs}, schema={"_d": pl.UInt32})
    return out.with_columns(
        [
            pl.Series(name, cols.get(name, np.zeros(len(docs), dtype=np.int64)), dtype=pl.Int64)
            for name in list(schema)[1:]
        ]
    )


class _Runs:
    """Equal n-gram ids grouped by sorting: per distinct n-gram its first position and count
    (``first``, ``count``); per element (aligned with the input) whether its n-gram occurs
    more than once and that n-gram's first position (``repeated``, ``first_at``)."""

    __slots__ = ("first", "count", "repeated", "first_at")

    def __init__(self, first, count, repeated, first_at):
        self.first, self.count, self.repeated, self.first_at = first, count, repeated, first_at


def _maybe_repeated(keys: np.ndarray) -> np.ndarray:
    """True for keys that may occur more than once (a one-pass bucket count, no false negatives):
    the exact sort then only sees repeated n-grams and a few bucket collisions."""
    if len(keys) < 2:
        return np.zeros(len(keys), dtype=bool)
    bits = max(int(np.ceil(np.log2(len(keys) * 4))), 4)
    bucket = (keys >> np.uint64(64 - bits)).astype(np.int64)
    return np.bincount(bucket, minlength=1 << bits)[bucket] > 1


def _runs(keys: np.ndarray, pos: np.ndarray) -> _Runs:
    """Sort-based grouping (polars' radix arg-sort, then run lengths): about twice as fast as
    a hash window on millions of 64-bit keys."""
    if len(keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Runs(empty, empty, np.zeros(0, dtype=bool), empty)
    order = pl.Series(keys).arg_sort().to_numpy()
    sk = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
    lengths = np.diff(np.concatenate((starts, [len(keys)])))
    firsts = np.minimum.reduceat(pos[order], starts)
    repeated = np.empty(len(keys), dtype=bool)
    first_at = np.empty(len(keys), dtype=pos.dtype)
    repeated[order] = np.repeat(lengths > 1, lengths)
    first_at[order] = np.repeat(firsts, lengths)
    return _Runs(firsts, lengths, repeated, first_at)


def _per_doc(keys: np.ndarray, values: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Sum ``values`` by document (``docs`` sorted), aligned to ``docs``."""
    out = np.zeros(len(docs), dtype=np.int64)
    if len(keys):
        np.add.at(out, np.searchsorted(docs, keys), values)
    return out


def _top_chars(d, once, runs: _Runs, csum, n, docs) -> np.ndarray:
    """Characters x count of each document's most frequent n-gram (the earliest among ties:
    ``Counter.most_common(1)``); ``once``: per document, its first n-gram's characters (the
    answer when no n-gram repeats; 0 without any n-gram)."""
    out = once.astype(np.int64).copy()
    span = lambda p: csum[p + n] - csum[p] + (n - 1)  # noqa: E731  " ".join of the n tokens
    multi = runs.count > 1
    if multi.any():
        first, count = runs.first[multi], runs.count[multi]
        slot = np.searchsorted(docs, d[first])
        best = np.zeros(len(docs), dtype=np.int64)
        np.maximum.at(best, slot, count)  # per document: most frequent ...
        tie = count == best[slot]
        earliest = np.full(len(docs), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(earliest, slot[tie], first[tie])  # ... then the earliest
        has = best > 0
        out[has] = span(earliest[has]) * best[has]
    return out


def _dup_chars(d, gp, pos, first, csum, n, size, docs) -> np.ndarray:
    """Characters covered by datatrove's greedy scan of repeated n-grams (see ``ngram_stats``).

    ``pos``: positions of n-grams occurring more than once (sorted), ``gp`` their ids,
    ``first``: the first position of each one's n-gram."""
    dup = first < pos  # aligned with pos: a repeat (not the n-gram's first occurrence)
    first_known = first.copy()
    for _ in range(REFINE):
        start, end = _greedy_cover(pos[dup], n)
        # the scan records an n-gram only where it stops without a hit; an n-gram whose first
        # occurrence was jumped over is first *known* later: redo just those n-grams
        # (and n-grams moved before, whose earlier occurrences may be visited again)
        jumped = (_skipped(start, end, n, first_known) & (first_known < size)) | (first_known != first)
        if not jumped.any():
            break
        sub = np.flatnonzero(pl.Series(gp).is_in(pl.Series(gp[jumped]).unique().implode()).to_numpy())
        known = ~_skipped(start, end, n, pos[sub]) & ~dup[sub]
        fk = (
            pl.DataFrame({"g": gp[sub], "p": pos[sub], "k": known})
            .select(pl.col("p").filter(pl.col("k")).min().over("g"))["p"]
            .fill_null(size)
            .to_numpy()
        )
        first_known[sub] = fk
        dup[sub] = fk < pos[sub]
    start, end = _greedy_cover(pos[dup], n)
    return _per_doc(d[start], csum[end] - csum[start], docs)


def _greedy_cover(dpos: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[start, end)`` that datatrove's greedy scan covers, given the sorted positions
    where repeated n-grams start: a run of consecutive repeat starts ``p..q`` gives hits at
    ``p, p+n, ...`` (``ceil((q-p+1)/n)`` of them); a run that begins inside the previous cover
    starts after it. (A valid start ``q`` has its n-gram inside its document, so every window
    stays inside its document.)"""
    if len(dpos) == 0:
        return dpos, dpos
    brk = np.flatnonzero(np.diff(dpos) != 1)
    p = dpos[np.concatenate(([0], brk + 1))].astype(np.int64)
    q = dpos[np.concatenate((brk, [len(dpos) - 1]))].astype(np.int64)
    raw_end = p + (-(-(q - p + 1) // n)) * n
    prev_end = np.concatenate(([0], np.maximum.accumulate(raw_end)[:-1]))
    start = np.maximum(p, prev_end)
    hits = np.maximum(-(-(q - start + 1) // n), 0)
    keep = hits > 0
    return start[keep], start[keep] + hits[keep] * n


def _skipped(start: np.ndarray, end: np.ndarray, n: int, pos: np.ndarray) -> np.ndarray:
    """For the sorted positions ``pos``: does the greedy scan jump over them (inside a cover
    window ``[start, end)`` but not one of its hits ``start + k*n``)?"""
    k = np.searchsorted(start, pos, side="right") - 1
    ok = k >= 0
    kk = np.where(ok, k, 0)
    inside = ok & (pos < end[kk]) if len(start) else np.zeros(len(pos), dtype=bool)
    return inside & ((pos - start[kk]) % n != 0) if len(start) else inside


def repetition_signals(top_ns: list[int], dup_ns: list[int], n_chars: pl.Expr) -> list[pl.Expr]:
    """Gopher repetition columns from the joined per-document counts (see ``compute``).

    Fractions are capped at 1.0: a top n-gram's characters are counted with the spaces
    between its words, so a text of one repeated word can exceed its own length
    (the cap never changes a decision: every threshold is below 1).
    """
    exprs = [
        _ratio(pl.col("para_dups"), pl.col("para_n")).alias("gopher_dup_para_frac"),
        _ratio(pl.col("para_dup_chars"), n_chars).alias("gopher_dup_para_char_frac"),
        _ratio(pl.col("rline_dups"), pl.col("rline_n")).alias("gopher_dup_line_frac"),
        _ratio(pl.col("rline_dup_chars"), n_chars).alias("gopher_dup_line_char_frac"),
    ]
    exprs += [
        _ratio(pl.col(f"top_{n}_chars"), n_chars).clip(0.0, 1.0).alias(f"gopher_top_{n}_gram_frac") for n in top_ns
    ]
    exprs += [
        _ratio(pl.col(f"dup_{n}_chars"), n_chars).clip(0.0, 1.0).alias(f"gopher_dup_{n}_gram_frac") for n in dup_ns
    ]
    return exprs


# ----------------------------------------------------------------------------- the families
def _quality_rules(f) -> list:
    q, c = f.gopher_quality, pl.col
    words, mean = c("gopher_n_words"), c("gopher_mean_word_length")
    checks = [
        ("gopher_short_doc", q.min_doc_words, words >= q.min_doc_words),
        ("gopher_long_doc", q.max_doc_words, words <= q.max_doc_words),
        ("gopher_below_avg_threshold", q.min_avg_word_length, mean >= q.min_avg_word_length),
        ("gopher_above_avg_threshold", q.max_avg_word_length, mean <= q.max_avg_word_length),
        ("gopher_too_many_hashes", q.max_symbol_word_ratio, c("gopher_hash_per_word") <= q.max_symbol_word_ratio),
        ("gopher_too_many_ellipsis", q.max_symbol_word_ratio, c("gopher_ellipsis_per_word") <= q.max_symbol_word_ratio),
        (
            "gopher_too_many_bullets",
            q.max_bullet_lines_ratio,
            c("gopher_bullet_lines_ratio") <= q.max_bullet_lines_ratio,
        ),
        (
            "gopher_too_many_end_ellipsis",
            q.max_ellipsis_lines_ratio,
            c("gopher_ellipsis_lines_ratio") <= q.max_ellipsis_lines_ratio,
        ),
        (
            "gopher_below_alpha_threshold",
            q.max_non_alpha_words_ratio,
            c("gopher_alpha_words_ratio") >= q.max_non_alpha_words_ratio,
        ),
        ("gopher_enough_stop_words", q.min_stop_words, c("gopher_stop_words") >= q.min_stop_words),
    ]
    return [(reason, keep) for reason, thr, keep in checks if thr]  # 0/None disables, as in datatrove


def _repetition_rules(f) -> list:
    rep, c = f.gopher_repetition, pl.col
    rules = [("empty", c("n_chars") > 0)]
    for key in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac"):
        thr = getattr(rep, key)
        if thr:
            rules.append((key, c(f"gopher_{key}") <= thr))
    rules += [(f"top_{n}_gram", c(f"gopher_top_{n}_gram_frac") <= thr) for n, thr in sorted(rep.top_n_grams.items())]
    rules += [
        (f"duplicated_{n}_n_grams", c(f"gopher_dup_{n}_gram_frac") <= thr) for n, thr in sorted(rep.dup_n_grams.items())
    ]
    return rules


_F, _I = pl.Float64(), pl.Int64()


def _quality_thresholds(f) -> dict[str, Threshold]:
    t = Threshold
    return {
        "gopher_short_doc": t("gopher_n_words", "min_doc_words", ">="),
        "gopher_long_doc": t("gopher_n_words", "max_doc_words", "<="),
        "gopher_below_avg_threshold": t("gopher_mean_word_length", "min_avg_word_length", ">="),
        "gopher_above_avg_threshold": t("gopher_mean_word_length", "max_avg_word_length", "<="),
        "gopher_too_many_hashes": t("gopher_hash_per_word", "max_symbol_word_ratio", "<="),
        "gopher_too_many_ellipsis": t("gopher_ellipsis_per_word", "max_symbol_word_ratio", "<="),
        "gopher_too_many_bullets": t("gopher_bullet_lines_ratio", "max_bullet_lines_ratio", "<="),
        "gopher_too_many_end_ellipsis": t("gopher_ellipsis_lines_ratio", "max_ellipsis_lines_ratio", "<="),
        "gopher_below_alpha_threshold": t("gopher_alpha_words_ratio", "max_non_alpha_words_ratio", ">="),
        "gopher_enough_stop_words": t("gopher_stop_words", "min_stop_words", ">="),
    }


def _repetition_thresholds(f) -> dict[str, Threshold]:
    rep = f.gopher_repetition
    out = {k: Threshold(f"gopher_{k}", k, "<=") for k in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac")}
    out["dup_line_char_frac"] = Threshold("gopher_dup_line_char_frac", "dup_line_char_frac", "<=")
    out |= {f"top_{n}_gram": Threshold(f"gopher_top_{n}_gram_frac", f"top_n_grams.{n}", "<=") for n in rep.top_n_grams}
    out |= {
        f"duplicated_{n}_n_grams": Threshold(f"gopher_dup_{n}_gram_frac", f"dup_n_grams.{n}", "<=")
        for n in rep.dup_n_grams
    }
    return out


QUALITY = Family(
    name="gopher_quality",
    reasons={
        "gopher_short_doc": "fewer non-symbol words than min_doc_words",
        "gopher_long_doc": "more non-symbol words than max_doc_words",
        "gopher_below_avg_threshold": "mean word length below min_avg_word_length",
        "gopher_above_avg_threshold": "mean word length above max_avg_word_length",
        "gopher_too_many_hashes": "'#' per word above max_symbol_word_ratio",
        "gopher_too_many_ellipsis": "ellipses per word above max_symbol_word_ratio",
        "gopher_too_many_bullets": "share of bullet lines above max_bullet_lines_ratio",
        "gopher_too_many_end_ellipsis": "share of lines ending in an ellipsis above max_ellipsis_lines_ratio",
        "gopher_below_alpha_threshold": "share of words with a letter below max_non_alpha_words_ratio",
        "gopher_enough_stop_words": "fewer distinct stop words than min_stop_words",
    },
    columns=lambda f: {
        "gopher_n_words": _I,
        "gopher_mean_word_length": _F,
        "gopher_hash_per_word": _F,
        "gopher_ellipsis_per_word": _F,
        "gopher_bullet_lines_ratio": _F,
        "gopher_ellipsis_lines_ratio": _F,
        "gopher_alpha_words_ratio": _F,
        "gopher_stop_words": _I,
    },
    rules=_quality_rules,
    thresholds=_quality_thresholds,
)

REPETITION = Family(
    name="gopher_repetition",
    reasons={
        "empty": "empty text (Gopher repetition) / no non-blank line (FineWeb)",
        "dup_para_frac": "too many duplicated paragraphs",
        "dup_para_char_frac": "too many characters in duplicated paragraphs",
        "dup_line_frac": "too many duplicated lines",
        "dup_line_char_frac": "too many characters in duplicated lines",
        "top_{n}_gram": "the most frequent word n-gram covers too many characters",
        "duplicated_{n}_n_grams": "repeated word n-grams cover too many characters",
    },
    columns=lambda f: {
        "gopher_dup_para_frac": _F,
        "gopher_dup_para_char_frac": _F,
        "gopher_dup_line_frac": _F,
        "gopher_dup_line_char_frac": _F,
        **{f"gopher_top_{n}_gram_frac": _F for n in sorted(f.gopher_repetition.top_n_grams)},
        **{f"gopher_dup_{n}_gram_frac": _F for n in sorted(f.gopher_repetition.dup_n_grams)},
    },
    rules=_repetition_rules,
    thresholds=_repetition_thresholds,
)
