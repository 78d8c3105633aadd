"""Text → normalized tokens → token hashes → shingle hashes, for a batch of documents.

Normalization (the same for exact and near-duplicate detection):

* tokens are maximal runs of characters that are not whitespace, punctuation,
  symbols or control/format characters; a decimal number such as ``3.14`` or
  ``1,000`` stays one token;
* CJK-aware: every Han, Hiragana, Katakana, Thai, Lao, Khmer or Myanmar character
  is a token of its own (these scripts do not separate words with spaces), so a
  Chinese text is shingled as character n-grams and mixed text as mixed n-grams;
* a traditional Chinese character is read as its simplified form (OpenCC's ``t2s``
  characters, ``winnow.dedup.chinese_scripts``), so the two versions of a page match;
* each token is lowercased, every run of digits (with its decimal separators)
  becomes ``0`` and diacritics are removed (NFD, combining marks dropped), like
  datatrove's ``simplify_text``.

Tokenizing is one Rust regex pass in polars; lowercasing ASCII is a SWAR
trick on 64-bit words in numpy; only tokens with digits or non-ASCII bytes (a small share of a
typical corpus) go through polars' Unicode normalization. Hashing is vectorized
(``winnow.dedup.hashing``) and stable across versions and machines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from winnow.dedup.chinese_scripts import traditional_to_simplified
from winnow.dedup.hashing import fmix64, hash_tokens, sequence_hashes, splitmix64

#: scripts written without spaces between words: one token per character
CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_SEP_CLASS = r"\s\p{P}\p{S}\p{Cc}\p{Cf}\p{Z}"
TOKEN_PATTERN = rf"[{CJK_CLASS}]|(?:[0-9](?:[.,][0-9])*|[^{_SEP_CLASS}{CJK_CLASS}])+"


@dataclass
class TokenBatch:
    """Token hashes of a batch; document ``d`` owns ``hashes[offsets[d]:offsets[d+1]]``."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, n_docs + 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def normalize_tokens(tokens: pl.Series) -> pl.Series:
    """The full normalization of individual tokens (simplified Chinese, lowercase, digits → 0, no diacritics)."""
    src, dst = traditional_to_simplified()
    return (
        tokens.str.replace_many([chr(c) for c in src], [chr(c) for c in dst])
        .str.to_lowercase()
        .str.replace_all(r"[\p{Nd}.,]+", "0")
        .str.normalize("NFD")
        .str.replace_all(r"\p{Mn}+", "")
    )


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(data bytes, starts, lengths) of a (large_)string arrow array, zero-copy."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.string_view() or arr.type == pa.string():
        arr = arr.cast(pa.large_string())
    _, offs_buf, data_buf = arr.buffers()
    offs = np.frombuffer(offs_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    return data, offs[:-1], np.diff(offs)


_SEP, _WORD, _CJK = 0, 1, 2
_CP_CLASS: np.ndarray | None = None


def _utf8_array(cps: np.ndarray) -> pa.Array:
    """One string per code point, UTF-8 encoded with numpy (no Python loop)."""
    width = np.where(cps < 0x80, 1, np.where(cps < 0x800, 2, np.where(cps < 0x10000, 3, 4)))
    offsets = np.concatenate([[0], np.cumsum(width)]).astype(np.int64)
    buf = np.zeros(int(offsets[-1]), dtype=np.uint8)
    start = offsets[:-1]
    for w, lead in ((1, 0x00), (2, 0xC0), (3, 0xE0), (4, 0xF0)):
        sel = width == w
        c, s0 = cps[sel], start[sel]
        buf[s0] = (lead | (c >> (6 * (w - 1)))).astype(np.uint8)
        for j in range(1, w):
            buf[s0 + j] = (0x80 | ((c >> (6 * (w - 1 - j))) & 0x3F)).astype(np.uint8)
    return pa.LargeStringArray.from_buffers(len(cps), pa.py_buffer(offsets), pa.py_buffer(buf))


def codepoint_classes() -> np.ndarray:
    """uint8 class of every Unicode code point (separator / word / CJK), from TOKEN_PATTERN's classes.

    Built once per process (about half a second) with the same polars regex classes
    as ``TOKEN_PATTERN``, so the byte tokenizer and the regex agree by construction.
    """
    global _CP_CLASS
    if _CP_CLASS is None:
        cps = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
        chars = pl.Series(_utf8_array(cps))
        cls = np.full(0x110000, _SEP, dtype=np.uint8)  # surrogates never occur in valid UTF-8
        word = np.where(chars.str.contains(rf"^[{_SEP_CLASS}]$").to_numpy(), _SEP, _WORD)
        cls[cps] = np.where(chars.str.contains(rf"^[{CJK_CLASS}]$").to_numpy(), _CJK, word).astype(np.uint8)
        _CP_CLASS = cls
    return _CP_CLASS


def _token_spans(data: np.ndarray, doc_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the tokens of ``TOKEN_PATTERN`` in UTF-8 ``data``, vectorized over bytes.

    ``doc_starts`` are byte offsets where a new document begins (tokens never span them).
    """
    n = len(data)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    digit = np.subtract(data, ord("0"), dtype=np.uint8) < 10
    word = np.subtract(data | 0x20, ord("a"), dtype=np.uint8) < 26
    word |= digit
    # a decimal separator between two ASCII digits stays inside the number ("3.14")
    if n > 2:
        mid = data[1:-1]
        sep = np.flatnonzero(((mid == ord(".")) | (mid == ord(","))) & digit[:-2] & digit[2:]) + 1
        word[sep] = True
    breaks = [np.asarray(doc_starts, dtype=np.int64)]  # forced token boundaries: documents, CJK characters
    lead = np.flatnonzero(data >= 0xC0)  # first byte of every non-ASCII character
    if lead.size:
        b0 = data[lead].astype(np.uint32)
        width = np.where(b0 < 0xE0, 2, np.where(b0 < 0xF0, 3, 4))
        tail = [data[np.minimum(lead + j, n - 1)].astype(np.uint32) & 0x3F for j in (1, 2, 3)]
        cp = np.where(
            width == 2,
            ((b0 & 0x1F) << 6) | tail[0],
            np.where(
                width == 3,
                ((b0 & 0x0F) << 12) | (tail[0] << 6) | tail[1],
                ((b0 & 0x07) << 18) | (tail[0] << 12) | (tail[1] << 6) | tail[2],
            ),
        )
        cls = codepoint_classes()[np.minimum(cp, 0x10FFFF)]
        in_tok = cls != _SEP
        for j in range(4):  # every byte of a character takes the character's class
            sel = width > j
            word[lead[sel] + j] = in_tok[sel]
        cjk = cls == _CJK
        breaks += [lead[cjk], lead[cjk] + width[cjk]]  # a CJK character is a token of its own
    brk = np.unique(np.concatenate(breaks))
    # a forced break inside a run (between two word bytes) splits it: an end and a start there
    inner = brk[(brk > 0) & (brk < n)]
    inner = inner[word[inner] & word[inner - 1]]
    if inner.size * 200 < n:
        # few splits (text with spaces): one pass finds both edges of every run of word bytes
        change = np.empty(n + 1, dtype=bool)
        change[0] = word[0]
        change[n] = word[n - 1]
        np.not_equal(word[1:], word[:-1], out=change[1:n])
        edges = np.flatnonzero(change)
        starts, ends = edges[0::2], edges[1::2]
        if inner.size:
            starts = np.insert(starts, np.searchsorted(starts, inner), inner)
            ends = np.insert(ends, np.searchsorted(ends, inner), inner)
        return starts, ends
    # many splits (CJK text): mark starts and ends separately
    first = np.empty(n, dtype=bool)
    first[0] = word[0]
    np.greater(word[1:], word[:-1], out=first[1:])
    first[inner] = True
    last = np.empty(n, dtype=bool)
    last[-1] = word[-1]
    np.greater(word[:-1], word[1:], out=last[:-1])
    last[inner - 1] = True
    return np.flatnonzero(first), np.flatnonzero(last) + 1


def _decode_at(data: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code point, UTF-8 width) of the characters starting at byte positions ``pos``."""
    n = len(data)
    b0 = data[pos].astype(np.uint32)
    width = np.where(b0 < 0x80, 1, np.where(b0 < 0xE0, 2, np.where(b0 < 0xF0, 3, 4)))
    tail = [data[np.minimum(pos + j, n - 1)].astype(np.uint32) & 0x3F for j in (1, 2, 3)]
    cp = np.select(
        [width == 1, width == 2, width == 3],
        [b0, ((b0 & 0x1F) << 6) | tail[0], ((b0 & 0x0F) << 12) | (tail[0] << 6) | tail[1]],
        ((b0 & 0x07) << 18) | (tail[0] << 12) | (tail[1] << 6) | tail[2],
    )
    return np.minimum(cp, 0x10FFFF), width


_SINGLE: tuple[np.ndarray, np.ndarray] | None = None


def single_char_hashes() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: the hash of the normalized one-character token, and whether it normalizes to nothing."""
    global _SINGLE
    if _SINGLE is None:
        cps = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
        norm = normalize_tokens(pl.Series(_utf8_array(cps)))
        ndata, nstarts, nlens = _string_buffers(norm.to_arrow())
        table = np.zeros(0x110000, dtype=np.uint64)
        empty = np.zeros(0x110000, dtype=bool)
        table[cps] = hash_tokens(ndata, nstarts, nlens)
        empty[cps] = nlens == 0
        _SINGLE = (table, empty)
    return _SINGLE


def _gather_bytes(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The byte ranges concatenated, and their offsets (n + 1)."""
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    pos = np.repeat(starts - offsets[:-1], lengths) + np.arange(int(offsets[-1]), dtype=np.int64)
    return data[pos], offsets


def _fold_ascii_digits(buf: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ASCII tokens normalized like ``normalize_tokens``: lowercase, each run of [0-9.,] -> "0"."""
    digitish = (np.subtract(buf, ord("0"), dtype=np.uint8) < 10) | (buf == ord(".")) | (buf == ord(","))
    starts = np.zeros(len(buf), dtype=bool)
    starts[offsets[:-1][offsets[:-1] < len(buf)]] = True
    keep = ~digitish
    keep[1:] |= ~digitish[:-1] | starts[1:]
    keep[0] = True
    out = np.where(digitish, np.uint8(ord("0")), buf)
    upper = np.subtract(out, ord("A"), dtype=np.uint8) < 26
    out[upper] += 32
    kept_before = np.concatenate([[0], np.cumsum(keep)])
    return out[keep], kept_before[offsets].astype(np.int64)


def _gather_strings(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """The byte ranges as an arrow large_string array (one copy of just those bytes)."""
    total = int(lengths.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    pos = np.repeat(starts - offsets[:-1], lengths) + np.arange(total, dtype=np.int64)
    buf = data[pos]
    return pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(buf))


def texts_to_arrow(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes, n_docs + 1 offsets) of a string series; nulls are empty."""
    arr = texts.cast(pl.String).fill_null("").rechunk().to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    _, offs_buf, data_buf = arr.buffers()
    offs = np.frombuffer(offs_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    lo, hi = int(offs[0]), int(offs[-1])
    return data[lo:hi], (offs - lo).astype(np.int64)


def tokenize(texts: pl.Series) -> TokenBatch:
    """Normalized token hashes for each text (a null text has no tokens).

    Token boundaries are found on the raw UTF-8 bytes with numpy (ASCII by lookup
    table, other characters by decoding their code point and looking up its class),
    equivalent to ``str.extract_all(TOKEN_PATTERN)`` but without building strings.
    """
    data, doc_offsets = texts_to_arrow(texts)
    starts, ends = _token_spans(data, doc_offsets[:-1])
    lengths = ends - starts
    tok_offsets = np.searchsorted(starts, doc_offsets).astype(np.int64)
    if len(starts) == 0:
        return TokenBatch(np.empty(0, dtype=np.uint64), tok_offsets)
    hashes, special = hash_tokens(data, starts, lengths, ascii_lower=True, want_special=True)
    idx = np.flatnonzero(special)
    empty_idx = []
    if idx.size:
        # single-character tokens (every CJK token): normalized hash from a per-code-point table
        cp, width = _decode_at(data, starts[idx])
        single = lengths[idx] == width
        if single.any():
            table, table_empty = single_char_hashes()
            sel, c = idx[single], cp[single]
            hashes[sel] = table[c]
            empty_idx.append(sel[table_empty[c]])
            idx = idx[~single]
    if idx.size:  # ASCII tokens with digits: digit runs -> "0" and lowercase, in numpy
        buf, offs = _gather_bytes(data, starts[idx], lengths[idx])
        is_ascii = np.maximum.reduceat(buf >= 0x80, offs[:-1]) == 0 if len(buf) else np.ones(len(idx), bool)
        if is_ascii.any():
            sel = idx[is_ascii]
            nbuf, noffs = _fold_ascii_digits(*_gather_bytes(data, starts[sel], lengths[sel]))
            hashes[sel] = hash_tokens(nbuf, noffs[:-1], np.diff(noffs))
            idx = idx[~is_ascii]
    if idx.size:
        norm = normalize_tokens(pl.Series(_gather_strings(data, starts[idx], lengths[idx])))
        ndata, nstarts, nlens = _string_buffers(norm.to_arrow())
        hashes[idx] = hash_tokens(ndata, nstarts, nlens)
        empty_idx.append(idx[nlens == 0])  # e.g. a token made only of combining marks
    keep = None
    if empty_idx and sum(len(e) for e in empty_idx):
        keep = np.ones(len(hashes), dtype=bool)
        keep[np.concatenate(empty_idx)] = False
    if keep is not None:
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        hashes = hashes[keep]
        tok_offsets = kept_before[tok_offsets]
    return TokenBatch(hashes, tok_offsets.astype(np.int64))


def tokens_regex(texts: pl.Series) -> list[list[str]]:
    """Reference tokenizer (the raw tokens, before normalization), for tests and docs."""
    return [t or [] for t in texts.cast(pl.String).str.extract_all(TOKEN_PATTERN).to_list()]


def cjk_share(texts: pl.Series, tokens: TokenBatch) -> np.ndarray:
    """Per document, the share of its tokens that are single CJK-family characters."""
    cjk = texts.cast(pl.String).str.count_matches(rf"[{CJK_CLASS}]").fill_null(0).to_numpy().astype(np.float64)
    counts = tokens.counts.astype(np.float64)
    return np.divide(cjk, counts, out=np.zeros_like(cjk), where=counts > 0)


def content_hashes(tokens: TokenBatch) -> np.ndarray:
    """64-bit hash of each document's normalized token sequence (its exact-duplicate key)."""
    return sequence_hashes(tokens.hashes, tokens.offsets)


@dataclass
class ShingleBatch:
    """Shingle hashes; document ``d`` owns ``hashes[offsets[d]:offsets[d+1]]`` (none if it has no tokens)."""

    hashes: np.ndarray
    offsets: np.ndarray


def _shingle_weights(n: int) -> np.ndarray:
    return splitmix64(0x5417, max(n, 1)) | np.uint64(1)


def shingle_hashes(tokens: TokenBatch, n: np.ndarray | int) -> ShingleBatch:
    """Hashes of the token n-grams of every document.

    ``n`` may differ per document (CJK documents may use ``cjk_char_ngram``). A
    document with fewer tokens than its ``n`` (but at least one) gets exactly one
    shingle, the hash of all its tokens, so it can only match a document with the
    same tokens; a document without tokens gets no shingle at all.
    """
    counts = tokens.counts
    n_docs = len(counts)
    n_arr = np.broadcast_to(np.asarray(n, dtype=np.int64), (n_docs,))
    nsh = np.where(counts >= n_arr, counts - n_arr + 1, np.where(counts > 0, 1, 0)).astype(np.int64)
    sh_offsets = np.concatenate([[0], np.cumsum(nsh)]).astype(np.int64)
    total = int(sh_offsets[-1])
    if total == 0:
        return ShingleBatch(np.empty(0, dtype=np.uint64), sh_offsets)
    max_n = int(n_arr.max()) if n_docs else 1
    weights = _shingle_weights(max_n)
    width = np.minimum(counts, n_arr)
    if bool((width[nsh > 0] == max_n).all()):
        # every shingle is a full n-gram: windows over the whole token array by slicing
        # (contiguous, no gathers), minus the windows that cross a document boundary
        t = tokens.hashes
        m = len(t) - max_n + 1
        acc = t[:m] * weights[0]
        for k in range(1, max_n):
            acc += t[k : k + m] * weights[k]
        if max_n > 1:
            valid = np.ones(m, dtype=bool)
            ends = tokens.offsets[1:-1]  # where one document's tokens stop and the next one's begin
            crossing = (ends[:, None] - np.arange(1, max_n)[None, :]).ravel()
            valid[crossing[(crossing >= 0) & (crossing < m)]] = False
            acc = acc[valid]
        if len(acc) != total:  # cannot happen with consistent offsets; fail loudly rather than misalign
            raise RuntimeError(f"shingle windows: {len(acc)} kept, {total} expected")
    else:
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), nsh)
        pos = np.arange(total, dtype=np.int64) - sh_offsets[:-1][doc_of] + tokens.offsets[:-1][doc_of]
        padded = np.concatenate([tokens.hashes, np.zeros(max_n, dtype=np.uint64)])
        acc = np.zeros(total, dtype=np.uint64)
        w_sh = width[doc_of]
        for k in range(max_n):
            term = padded[pos + k] * weights[k]
            term[w_sh <= k] = 0
            acc += term
    return ShingleBatch(fmix64(acc, inplace=True), sh_offsets)
