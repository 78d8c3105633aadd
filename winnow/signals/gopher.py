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

#: passes that redo the repeats without the n-grams the greedy scan jumps over (2: exact on ~98% of
#: (document, n) pairs of real text, the rest within part of one n-gram)
REFINE = 2
_PRIME = np.uint64(0x100000001B3)  # FNV-64 prime: odd, so the n-gram hash is a bijection per step

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
    """64-bit hash of each token mixed with its document (``_d``): equal only within a document."""
    return pl.struct("_d", pl.col("tok").hash(11)).hash(13)


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
    schema = {"_d": pl.UInt32} | {f"top_{n}_chars": pl.Int64 for n in top_ns} | {f"dup_{n}_chars": pl.Int64 for n in dup_ns}
    if not tokens.height or not (top_ns or dup_ns):
        return pl.DataFrame(schema=schema)
    d = tokens["_d"].to_numpy()
    h = (tokens["h"] if "h" in tokens.columns else tokens.select(token_hash())["_d"]).to_numpy()
    csum = np.concatenate(([0], np.cumsum(tokens["tlen"].to_numpy().astype(np.int64))))
    size = len(h)
    idx_t = np.int32 if size < 2**31 - 16 else np.int64  # positions: half the memory on huge texts
    docs = np.unique(d)
    cols: dict[str, np.ndarray] = {}
    g = h.copy()
    repeated = None  # where the (n-1)-gram occurs more than once in its document
    for n in range(2, max(top_ns + dup_ns) + 1):
        if n > size:  # no n-gram anywhere in this slice
            break
        g *= _PRIME  # wraps mod 2**64
        g[: size - n + 1] += h[n - 1 :]
        valid = np.zeros(size, dtype=bool)
        valid[: size - n + 1] = d[n - 1 :] == d[: size - n + 1]
        # an n-gram can repeat only where its (n-1)-gram prefix and suffix both repeat, so each
        # step hashes only those positions (a small share of the text beyond n = 3)
        cand = valid if repeated is None else valid & repeated & np.concatenate((repeated[1:], [False]))
        sel = np.flatnonzero(cand).astype(idx_t)
        del cand
        runs = _runs(g[sel], sel)
        del sel
        repeated = np.zeros(size, dtype=bool)
        repeated[runs.rep_pos] = True
        if n in top_ns:
            cols[f"top_{n}_chars"] = _top_chars(d, valid, runs, csum, n, docs)
        if n in dup_ns:
            pos = np.flatnonzero(repeated)
            first_full = np.zeros(size, dtype=idx_t)
            first_full[runs.rep_pos] = runs.rep_first
            cols[f"dup_{n}_chars"] = _dup_chars(d, g, pos, first_full[pos], csum, n, size, docs)
    out = pl.DataFrame({"_d": docs}, schema={"_d": pl.UInt32})
    return out.with_columns(
        [pl.Series(name, cols.get(name, np.zeros(len(docs), dtype=np.int64)), dtype=pl.Int64) for name in list(schema)[1:]]
    )


class _Runs:
    """Equal n-gram ids grouped by sorting: per distinct n-gram its first position and count
    (``first``, ``count``), and the positions of n-grams that occur more than once with the
    first position of their n-gram (``rep_pos``, ``rep_first``; not sorted)."""

    __slots__ = ("first", "count", "rep_pos", "rep_first")

    def __init__(self, first, count, rep_pos, rep_first):
        self.first, self.count, self.rep_pos, self.rep_first = first, count, rep_pos, rep_first


def _runs(keys: np.ndarray, pos: np.ndarray) -> _Runs:
    """Sort-based grouping (polars' radix arg-sort, then run lengths): about twice as fast as
    a hash window on millions of 64-bit keys, and only repeated n-grams are scattered back."""
    empty = np.zeros(0, dtype=np.int64)
    if len(keys) == 0:
        return _Runs(empty, empty, empty, empty)
    order = pl.Series(keys).arg_sort().to_numpy()
    sk = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1])))
    lengths = np.diff(np.concatenate((starts, [len(keys)])))
    sorted_pos = pos[order]
    firsts = np.minimum.reduceat(sorted_pos, starts)
    multi = np.repeat(lengths > 1, lengths)
    return _Runs(firsts, lengths, sorted_pos[multi], np.repeat(firsts, lengths)[multi])


def _per_doc(keys: np.ndarray, values: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Sum ``values`` by document (``keys`` and ``docs`` sorted), aligned to ``docs``."""
    out = np.zeros(len(docs), dtype=np.int64)
    if len(keys):
        np.add.at(out, np.searchsorted(docs, keys), values)
    return out


def _top_chars(d, valid, runs: _Runs, csum, n, docs) -> np.ndarray:
    """Characters x count of each document's most frequent n-gram (the earliest among ties:
    ``Counter.most_common(1)``)."""
    out = np.zeros(len(docs), dtype=np.int64)
    span = lambda p: csum[p + n] - csum[p] + (n - 1)  # noqa: E731  " ".join of the n tokens
    vpos = np.flatnonzero(valid)
    if len(vpos):  # no repeat: the first n-gram, once
        first_doc, first_at = np.unique(d[vpos], return_index=True)
        out[np.searchsorted(docs, first_doc)] = span(vpos[first_at])
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


def _dup_chars(d, g, pos, first, csum, n, size, docs) -> np.ndarray:
    """Characters covered by datatrove's greedy scan of repeated n-grams (see ``ngram_stats``).

    ``pos``: positions of n-grams occurring more than once (sorted), ``first``: the first
    position of each one's n-gram."""
    dup = np.zeros(size, dtype=bool)
    dup[pos] = first < pos
    first_known = first.copy()
    for _ in range(REFINE):
        start, end = _greedy_cover(dup, n)
        # the scan records an n-gram only where it stops without a hit; an n-gram whose first
        # occurrence was jumped over is first *known* later: redo just those n-grams
        # (and n-grams moved before, whose earlier occurrences may be visited again)
        jumped = (_skipped(start, end, n, first_known) & (first_known < size)) | (first_known != first)
        if not jumped.any():
            break
        ids = pl.Series(g[pos])
        affected = ids.is_in(pl.Series(g[pos][jumped]).unique().implode()).to_numpy()
        sub = np.flatnonzero(affected)
        known = ~_skipped(start, end, n, pos[sub]) & ~dup[pos[sub]]
        fk = (
            pl.DataFrame({"g": g[pos[sub]], "p": pos[sub], "k": known})
            .select(pl.col("p").filter(pl.col("k")).min().over("g"))["p"]
            .fill_null(size)
            .to_numpy()
        )
        first_known[sub] = fk
        dup[pos[sub]] = fk < pos[sub]
    start, end = _greedy_cover(dup, n)
    return _per_doc(d[start], csum[end] - csum[start], docs)


def _greedy_cover(dup: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``[start, end)`` that datatrove's greedy scan covers, given where the repeated
    n-grams start: a run of consecutive repeat starts ``p..q`` gives hits at ``p, p+n, ...``
    (``ceil((q-p+1)/n)`` of them); a run that begins inside the previous cover starts after it."""
    size = len(dup)
    prev = np.concatenate(([False], dup[:-1]))
    nxt = np.concatenate((dup[1:], [False]))
    p = np.flatnonzero(dup & ~prev)
    q = np.flatnonzero(dup & ~nxt)
    raw_end = p + (-(-(q - p + 1) // n)) * n
    prev_end = np.concatenate(([0], np.maximum.accumulate(raw_end)[:-1])) if len(p) else p
    start = np.maximum(p, prev_end)
    hits = np.maximum(-(-(q - start + 1) // n), 0)
    keep = hits > 0
    start, end = start[keep], np.minimum(start[keep] + hits[keep] * n, size)
    return start, end


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
