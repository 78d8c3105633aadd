"""Stable 64-bit hashing primitives, vectorized with numpy.

Everything the dedup index persists (content hashes, MinHash signatures, band keys)
is derived from these functions only, never from ``polars.Expr.hash`` (whose
output may change between polars releases and CPU features). The constants come
from SplitMix64 streams and the mixer is MurmurHash3's ``fmix64``, so a value
computed today is the same on any machine, any numpy/polars version, tomorrow.
Changing anything here changes every persisted key: bump ``HASH_SCHEME``.
"""

from __future__ import annotations

import numpy as np

#: version of the token/shingle/signature hashing scheme, stored in the index meta
#: (2: traditional Chinese characters hash as their simplified forms)
HASH_SCHEME = 2

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


def splitmix64(seed: int, n: int) -> np.ndarray:
    """``n`` 64-bit values from the SplitMix64 stream seeded with ``seed`` (pure integer arithmetic)."""
    out = np.empty(n, dtype=np.uint64)
    state = seed & MASK64
    for i in range(n):
        state = (state + _GOLDEN) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out[i] = z ^ (z >> 31)
    return out


def fmix64(x: np.ndarray, inplace: bool = False) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer: a bijection with full avalanche (wrapping arithmetic)."""
    x = x if inplace else x.copy()
    x ^= x >> _S33
    x *= _M1
    x ^= x >> _S33
    x *= _M2
    x ^= x >> _S33
    return x


# Per-position salts for the packed-word token hash (word k of a token uses _WORD_SALT[k % 64]).
_WORD_SALT = splitmix64(0x7E57AB1E, 64)
_LEN_SALT = np.uint64(splitmix64(0x1E57, 1)[0])
# byte masks keeping the low m bytes of a little-endian word, m = 0..8
_BYTE_MASKS = np.array([(1 << (8 * m)) - 1 if m < 8 else MASK64 for m in range(9)], dtype=np.uint64)


_ONES = np.uint64(0x0101010101010101)
_HIGH = np.uint64(0x8080808080808080)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)


def _bytes_between(w: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """SWAR: the high bit of every ASCII byte ``b`` of ``w`` with ``lo < b < hi`` (0 elsewhere)."""
    low = w & _LOW7
    return (_ONES * np.uint64(127 + hi) - low) & ~w & (low + _ONES * np.uint64(127 - lo)) & _HIGH


def _load_words(data: np.ndarray, offsets: np.ndarray, nbytes: np.ndarray) -> np.ndarray:
    """Little-endian 64-bit words at byte ``offsets`` keeping ``nbytes`` (0..8) bytes each."""
    padded = np.zeros(len(data) + 8, dtype=np.uint8)
    padded[: len(data)] = data
    # an unaligned uint64 view: element o is the 8 bytes starting at byte o
    words_at = np.ndarray(shape=(len(data) + 1,), dtype="<u8", buffer=padded, strides=(1,))  # type: ignore[var-annotated]
    return words_at[offsets] & np.take(_BYTE_MASKS, nbytes)


def _prepare(w: np.ndarray, ascii_lower: bool, special: np.ndarray | None) -> np.ndarray:
    if ascii_lower:
        w |= _bytes_between(w, 0x40, 0x5B) >> np.uint64(2)  # 'A'..'Z' -> 'a'..'z'
    if special is not None:
        special |= ((w & _HIGH) | _bytes_between(w, 0x2F, 0x3A)) != 0  # non-ASCII or a digit
    return w


def hash_tokens(
    data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, ascii_lower: bool = False, want_special: bool = False
):
    """A 64-bit hash per token; token ``i`` is ``data[starts[i] : starts[i] + lengths[i]]``.

    The bytes are read 8 at a time (little-endian words, the tail masked), each word
    is salted by its position and mixed, the words are summed and mixed with the
    length. Most words in natural text fit one 8-byte word, so this is a few numpy
    passes over the tokens, not over the bytes.

    ``ascii_lower`` lowercases ASCII letters on the fly (SWAR, no pass over the
    bytes). ``want_special`` also returns, per token, whether it has a digit or a
    non-ASCII byte (those need Unicode normalization before hashing).
    """
    n = len(starts)
    special = np.zeros(n, dtype=bool) if want_special else None
    if n == 0:
        out = np.empty(0, dtype=np.uint64)
        return (out, special) if want_special else out
    starts = starts.astype(np.int64, copy=False)
    lengths = lengths.astype(np.int64, copy=False)
    w = _prepare(_load_words(data, starts, np.minimum(lengths, 8)), ascii_lower, special)
    w ^= _WORD_SALT[0]
    acc = fmix64(w, inplace=True)
    long = np.flatnonzero(lengths > 8)
    if long.size:  # the rest of the tokens longer than one word
        extra = (lengths[long] - 1) >> 3
        first = np.cumsum(extra) - extra
        tok = np.repeat(np.arange(long.size, dtype=np.int64), extra)
        k = np.arange(len(tok), dtype=np.int64) - first[tok] + 1
        remaining = np.minimum(lengths[long][tok] - 8 * k, 8)
        sub_special = np.zeros(len(tok), dtype=bool) if want_special else None
        wk = _prepare(_load_words(data, starts[long][tok] + 8 * k, remaining), ascii_lower, sub_special)
        wk ^= _WORD_SALT[k & 63]
        acc[long] += np.add.reduceat(fmix64(wk, inplace=True), first)
        if want_special:
            special[long] |= np.maximum.reduceat(sub_special, first)
    acc += lengths.astype(np.uint64) * _LEN_SALT
    out = fmix64(acc, inplace=True)
    return (out, special) if want_special else out


def hash_strings(values: list[str]) -> np.ndarray:
    """``hash_tokens`` for a list of Python strings (UTF-8), for tests and small inputs."""
    encoded = [v.encode("utf-8", "surrogatepass") for v in values]
    lengths = np.array([len(b) for b in encoded], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return hash_tokens(data, starts, lengths)


_POS_SALT_SEED = 0xC0FFEE
_SEQ_LEN_SALT = np.uint64(splitmix64(0x5E9, 1)[0])


def position_salts(positions: np.ndarray) -> np.ndarray:
    """A distinct pseudo-random 64-bit salt for every position (for order-sensitive sums)."""
    return fmix64(positions.astype(np.uint64) * np.uint64(_GOLDEN) + np.uint64(_POS_SALT_SEED), inplace=True)


def sequence_hashes(token_hashes: np.ndarray, doc_offsets: np.ndarray) -> np.ndarray:
    """One order-sensitive 64-bit hash per document of its whole token sequence.

    ``doc_offsets`` has ``n_docs + 1`` entries; document ``d`` owns tokens
    ``[doc_offsets[d], doc_offsets[d+1])``. A document without tokens hashes to the
    hash of the empty sequence, so all empty documents are equal.
    """
    counts = np.diff(doc_offsets).astype(np.int64)
    n_docs = len(counts)
    sums = np.zeros(n_docs, dtype=np.uint64)
    nonempty = counts > 0
    if token_hashes.size:
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), counts)
        pos = np.arange(token_hashes.size, dtype=np.int64) - doc_offsets[:-1][doc_of]
        mixed = fmix64(token_hashes ^ position_salts(pos), inplace=True)
        sums[nonempty] = np.add.reduceat(mixed, doc_offsets[:-1][nonempty])
    sums += counts.astype(np.uint64) * _SEQ_LEN_SALT + _SEQ_LEN_SALT
    return fmix64(sums, inplace=True)


def to_hex(values: np.ndarray) -> list[str]:
    """Unsigned 64-bit values as 16-char lowercase hex strings."""
    return [f"{int(v):016x}" for v in values]
