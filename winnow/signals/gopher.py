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


def ngram_stats(tokens: pl.DataFrame, top_ns: list[int], dup_ns: list[int]) -> pl.DataFrame:
    """Per ``_d``: ``top_{n}_chars`` and ``dup_{n}_chars`` (see module doc).

    ``tokens`` must be in text order and carry ``_d``, ``tok``, ``tlen``. An n-gram's id is
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
    h = tokens.select(pl.struct("_d", pl.col("tok").hash(11)).hash(13))["_d"].to_numpy()
    tlen = tokens["tlen"].to_numpy().astype(np.int64)
    csum = np.concatenate(([0], np.cumsum(tlen)))
    size = len(h)
    docs = np.unique(d)
    out = pl.DataFrame({"_d": docs}, schema={"_d": pl.UInt32})
    g = h.copy()
    # An n-gram can repeat only where its (n-1)-gram prefix and suffix both repeat, so each
    # step hashes only those candidate positions (a small share of the text beyond n = 3).
    repeated = _is_duplicated(h, np.ones(size, dtype=bool))
    for n in range(2, max(top_ns + dup_ns) + 1):
        if n > size:  # no n-gram anywhere in this slice
            out = out.with_columns(
                [pl.lit(0, dtype=pl.Int64).alias(f"{k}_{n}_chars") for k, ns in (("top", top_ns), ("dup", dup_ns)) if n in ns]
            )
            continue
        nxt = np.zeros(size, dtype=np.uint64)
        nxt[: size - n + 1] = h[n - 1 :]
        g = g * _PRIME + nxt  # wraps mod 2**64
        valid = np.zeros(size, dtype=bool)
        valid[: size - n + 1] = d[n - 1 :] == d[: size - n + 1]
        cand = valid & repeated & np.concatenate((repeated[1:], [False]))
        repeated = _is_duplicated(g, cand)
        if n in top_ns:
            sel = np.flatnonzero(repeated)
            chars = csum[sel + n] - csum[sel] + (n - 1)
            best = (
                pl.DataFrame({"g": g[sel], "_d": d[sel], "_i": sel, "chars": chars})
                .group_by("g")
                .agg(pl.col("_d").first(), cnt=pl.len().cast(pl.Int64), first=pl.col("_i").min(), chars=pl.col("chars").first())
                # most frequent first, then the earliest: one sortable key
                .with_columns(key=pl.col("cnt") * (size + 1) - pl.col("first"))
                .group_by("_d")
                .agg((pl.col("chars").get(pl.col("key").arg_max()) * pl.col("cnt").max()).cast(pl.Int64).alias("best"))
            )
            # documents without a repeated n-gram: the first n-gram, once (Counter order)
            vpos = np.flatnonzero(valid)
            first_pos = vpos[np.unique(d[vpos], return_index=True)[1]] if len(vpos) else vpos
            firsts = pl.DataFrame(
                {"_d": d[first_pos], "once": csum[first_pos + n] - csum[first_pos] + (n - 1)},
                schema={"_d": pl.UInt32, "once": pl.Int64},
            )
            out = (
                out.join(firsts, on="_d", how="left")
                .join(best, on="_d", how="left")
                .with_columns(pl.coalesce("best", "once").alias(f"top_{n}_chars"))
                .drop("best", "once")
            )
        if n in dup_ns:
            sel = np.flatnonzero(repeated)
            dup = np.zeros(size, dtype=bool)
            if len(sel):
                dup[sel] = ~pl.Series(g[sel]).is_first_distinct().to_numpy()
                # datatrove's scan never records the n-grams it jumps over: redo the
                # repeats knowing only the n-grams at positions the scan actually visits
                for _ in range(REFINE):
                    start, end = _greedy_cover(dup, n)
                    visited = ~_skipped(start, end, n, size)
                    known = visited[sel] & ~dup[sel]
                    first_known = (
                        pl.DataFrame({"g": g[sel], "pos": sel, "known": known})
                        .select(pl.col("pos").filter(pl.col("known")).min().over("g"))["pos"]
                        .fill_null(size)
                        .to_numpy()
                    )
                    dup[sel] = first_known < sel
            start, end = _greedy_cover(dup, n)
            if len(start) == 0:
                out = out.with_columns(pl.lit(0, dtype=pl.Int64).alias(f"dup_{n}_chars"))
                continue
            covered = csum[end] - csum[start]
            per_doc = (
                pl.DataFrame({"_d": d[start], "c": covered})
                .group_by("_d")
                .agg(pl.col("c").sum().cast(pl.Int64).alias(f"dup_{n}_chars"))
            )
            out = out.join(per_doc, on="_d", how="left")
    return out.with_columns(pl.exclude("_d").fill_null(0)).select(list(schema))


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


def _skipped(start: np.ndarray, end: np.ndarray, n: int, size: int) -> np.ndarray:
    """Positions the greedy scan jumps over: inside a cover window but not a hit (window start + k*n)."""
    depth = np.zeros(size + 1, dtype=np.int64)
    np.add.at(depth, start, 1)
    np.add.at(depth, end, -1)
    inside = np.cumsum(depth[:size]) > 0
    anchor = np.full(size, -1, dtype=np.int64)
    anchor[start] = start
    anchor = np.maximum.accumulate(anchor)
    pos = np.arange(size, dtype=np.int64)
    return inside & ((pos - anchor) % n != 0)


def _is_duplicated(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Boolean array: ``mask`` positions whose value occurs at another ``mask`` position."""
    out = np.zeros(len(values), dtype=bool)
    sel = np.flatnonzero(mask)
    if len(sel) > 1:
        out[sel] = pl.Series(values[sel]).is_duplicated().to_numpy()
    return out


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
