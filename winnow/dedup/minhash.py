"""MinHash signatures and LSH band keys, vectorized over batches of shingles.

Default scheme, ``one_permutation``: each shingle is hashed once; the hash picks one
of ``k`` bins and a second hash is the value; each bin keeps its minimum, and
empty bins are filled by optimal densification (see ``_one_permutation``). Every
signature value matches between two documents with probability equal to their
Jaccard similarity, as with k permutations, at the cost of a few numpy passes
over the shingles (``np.minimum.at``) instead of k.

Classic scheme, ``permutations``: for ``k = bands × rows`` permutations ``h_i(x) = a_i·x + b_i mod 2^64`` (``a_i``
odd, so each is a bijection of the 64-bit shingle hashes), the signature of a
document is ``min_x h_i(x)`` over its shingles. The work is one numpy pass per
chunk of shingles: a ``k × chunk`` matrix ``A ⊗ x + B``, reduced per document
with ``np.minimum.reduceat``; chunks run on a small thread pool (numpy releases
the GIL). No Python loop runs per document or per permutation.

Band ``j`` of a signature (rows ``j·r … j·r+r-1``) is folded into one 64-bit
band key; two documents are LSH candidates when they share a key in some band.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from winnow.dedup.hashing import HASH_SCHEME, fmix64, splitmix64
from winnow.dedup.shingles import TokenBatch, cjk_share, content_hashes, shingle_hashes, tokenize
from winnow.settings import available_cpus

_U64_MAX = np.iinfo(np.uint64).max


@dataclass(frozen=True)
class MinHashParams:
    """The parameters that define a signature; the persisted index records them."""

    bands: int = 14
    rows: int = 8
    ngram: int = 5
    cjk_char_ngram: int = 5
    seed: int = 1
    #: documents whose tokens are at least this share CJK characters use ``cjk_char_ngram``
    cjk_min_share: float = 0.5
    #: "one_permutation": one hash per shingle split into ``num_perm`` bins, optimally densified
    #: (Shrivastava 2017); "permutations": ``num_perm`` independent permutations (classic MinHash)
    scheme: str = "one_permutation"

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    def identity(self) -> dict:
        """What must match between an index and the run that queries it."""
        return {
            "hash_scheme": HASH_SCHEME,
            "bands": self.bands,
            "rows": self.rows,
            "ngram": self.ngram,
            "cjk_char_ngram": self.cjk_char_ngram,
            "cjk_min_share": self.cjk_min_share,
            "seed": self.seed,
            "scheme": self.scheme,
            "hash_bits": 64,
        }

    @classmethod
    def from_config(cls, cfg) -> MinHashParams:
        """From a ``schemas.recipe.MinHashConfig``."""
        return cls(
            bands=cfg.bands,
            rows=cfg.rows,
            ngram=cfg.ngram,
            cjk_char_ngram=cfg.cjk_char_ngram,
            seed=cfg.seed,
            cjk_min_share=cfg.cjk_min_share,
            scheme=cfg.scheme,
        )


@dataclass
class SignatureBatch:
    """Per document of a batch: exact key, token count, MinHash signature."""

    content_hash: np.ndarray  # uint64 (n,)
    n_tokens: np.ndarray  # int64 (n,)
    signature: np.ndarray  # uint64 (n, k); rows without a signature are all 2^64-1
    has_signature: np.ndarray  # bool (n,): False for docs without tokens or skipped


class MinHasher:
    """Computes signatures and band keys for batches of texts."""

    def __init__(self, params: MinHashParams = MinHashParams(), chunk: int = 8192, threads: int | None = None):
        self.params = params
        k = params.num_perm
        self.a = splitmix64(params.seed * 2 + 1, k) | np.uint64(1)
        self.b = splitmix64(params.seed * 2 + 2, k)
        self._a_col = self.a[:, None].copy()
        self._b_col = self.b[:, None].copy()
        self.band_weights = splitmix64(params.seed * 2 + 3, params.rows) | np.uint64(1)
        self.band_salts = splitmix64(params.seed * 2 + 4, params.bands)
        self.chunk = chunk
        self._bin_salt, self._value_salt = (np.uint64(x) for x in splitmix64(params.seed * 2 + 5, 2))
        self._donors = None  # densification donor table, built on first use
        self._first_attempt = None  # its first-attempt table (k, k), likewise
        self._local = threading.local()  # one scratch matrix per worker thread
        self.threads = threads or min(4, available_cpus())

    # -- shingles -----------------------------------------------------------------
    def ngram_sizes(self, texts: pl.Series, tokens: TokenBatch) -> np.ndarray | int:
        p = self.params
        if p.cjk_char_ngram == p.ngram:
            return p.ngram
        share = cjk_share(texts, tokens)
        return np.where(share >= p.cjk_min_share, p.cjk_char_ngram, p.ngram).astype(np.int64)

    # -- the MinHash kernel ---------------------------------------------------------
    def _chunk_minima(self, shingles: np.ndarray, seg_starts: np.ndarray, c0: int, c1: int):
        """Minima over [c0, c1) for every segment piece inside the chunk: (piece starts, k × pieces)."""
        lo = np.searchsorted(seg_starts, c0, side="right")
        hi = np.searchsorted(seg_starts, c1, side="left")
        bounds = seg_starts[lo:hi]
        if len(bounds) == 0 or bounds[0] != c0:
            bounds = np.concatenate([[c0], bounds])
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.shape[1] < c1 - c0:
            buf = self._local.buf = np.empty((self.params.num_perm, self.chunk), dtype=np.uint64)
        m = buf[:, : c1 - c0]
        np.multiply(self._a_col, shingles[c0:c1][None, :], out=m)
        m += self._b_col
        return bounds, np.minimum.reduceat(m, bounds - c0, axis=1)

    def signatures_from_shingles(self, shingles: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signatures (n, k) from per-document shingle ranges; documents without shingles get all-max rows."""
        if self.params.scheme == "one_permutation":
            return self._one_permutation(shingles, offsets)
        if self.params.scheme != "permutations":
            raise ValueError(f"unknown MinHash scheme {self.params.scheme!r}")
        n = len(offsets) - 1
        k = self.params.num_perm
        sig = np.full((n, k), _U64_MAX, dtype=np.uint64)
        counts = np.diff(offsets)
        has = counts > 0
        total = int(offsets[-1]) if n else 0
        if total == 0:
            return sig, has
        docs = np.flatnonzero(has)
        seg_starts = offsets[:-1][docs].astype(np.int64)
        chunks = [(c, min(c + self.chunk, total)) for c in range(0, total, self.chunk)]
        if self.threads > 1 and len(chunks) > 4:
            with ThreadPoolExecutor(self.threads) as pool:
                parts = list(pool.map(lambda c: self._chunk_minima(shingles, seg_starts, *c), chunks))
        else:
            parts = [self._chunk_minima(shingles, seg_starts, *c) for c in chunks]
        piece_starts = np.concatenate([p[0] for p in parts])
        minima = np.concatenate([p[1] for p in parts], axis=1)  # k × pieces, pieces in shingle order
        piece_doc = np.searchsorted(seg_starts, piece_starts, side="right") - 1
        first_piece = np.flatnonzero(np.concatenate([[True], piece_doc[1:] != piece_doc[:-1]]))
        sig[docs[piece_doc[first_piece]]] = np.minimum.reduceat(minima, first_piece, axis=1).T
        return sig, has

    # -- one-permutation hashing with optimal densification ---------------------------------
    _MAX_ATTEMPTS = 4096

    def donor_table(self) -> np.ndarray:
        """(attempts, k) donor bins: attempt t for empty bin j borrows bin donors[t, j] (same for every document)."""
        if self._donors is None:
            k = self.params.num_perm
            t = np.arange(self._MAX_ATTEMPTS, dtype=np.uint64)[:, None]
            j = np.arange(k, dtype=np.uint64)[None, :]
            seed = np.uint64(splitmix64(self.params.seed * 2 + 6, 1)[0])
            self._donors = (fmix64((t * np.uint64(k) + j) ^ seed) % np.uint64(k)).astype(np.intp)  # type: ignore[assignment]
        return self._donors

    def first_donor_attempt(self) -> np.ndarray:
        """(k, k): the first attempt t >= 1 at which empty bin j borrows from bin b (``_MAX_ATTEMPTS``: never)."""
        if self._first_attempt is None:
            donors, k = self.donor_table(), self.params.num_perm
            first = np.full((k, k), self._MAX_ATTEMPTS, dtype=np.int16)  # attempts < 2**15
            for t in range(self._MAX_ATTEMPTS - 1, 0, -1):  # backwards: the earliest attempt wins
                first[np.arange(k), donors[t]] = t
            self._first_attempt = first  # type: ignore[assignment]
        return self._first_attempt

    #: rows densified at once: (rows, k, k) attempt numbers are compared in one array
    _DENSIFY_ROWS = 512

    def _densify(self, orig: np.ndarray, nonempty: np.ndarray) -> np.ndarray:
        """Fill each empty bin j with the value of the first non-empty bin in donors[1, j], donors[2, j], ...

        Vectorized: that bin is the non-empty b with the smallest ``first_donor_attempt()[j, b]``,
        so no loop over attempts (a document with few shingles needs hundreds of them).
        """
        first = self.first_donor_attempt()
        never = self._MAX_ATTEMPTS
        out = orig.copy()
        for a in range(0, len(orig), self._DENSIFY_ROWS):
            ne = nonempty[a : a + self._DENSIFY_ROWS]
            attempt = np.where(ne[:, None, :], first[None, :, :], np.int16(never))  # (rows, j, b)
            best = attempt.argmin(axis=2)
            found = np.take_along_axis(attempt, best[..., None], axis=2)[..., 0] < never
            block = out[a : a + self._DENSIFY_ROWS]
            take = ~ne & found
            block[take] = np.take_along_axis(block, best, axis=1)[take]
            for r in np.flatnonzero((~ne & ~found).any(axis=1)):  # practically unreachable
                block[r, ~ne[r] & ~found[r]] = block[r, ne[r]].min()
        return out

    def _one_permutation(self, shingles: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One hash per shingle: bin ``h1 mod k`` keeps the minimum value ``h2``; empty bins borrow.

        Each non-empty bin of two documents agrees with probability J, as for a
        permutation. An empty bin j takes the value of the first originally non-empty
        bin in the sequence donors[1, j], donors[2, j], … — the same sequence for
        every document, which keeps the collision probability of every bin exactly J
        (optimal densification, Shrivastava 2017). Cost: a few passes over the
        shingles instead of k.
        """
        n = len(offsets) - 1
        k = self.params.num_perm
        counts = np.diff(offsets)
        has = counts > 0
        sig = np.full(n * k, _U64_MAX, dtype=np.uint64)
        if int(offsets[-1] if n else 0) == 0:
            return sig.reshape(n, k), has
        doc = np.repeat(np.arange(n, dtype=np.int64), counts)
        bins = (fmix64(shingles ^ self._bin_salt, inplace=True) % np.uint64(k)).astype(np.int64)
        bins += doc * k
        np.minimum.at(sig, bins, fmix64(shingles ^ self._value_salt, inplace=True))
        sig = sig.reshape(n, k)  # type: ignore[assignment]
        empty = sig == _U64_MAX
        rows = np.flatnonzero(has & empty.any(axis=1))
        if rows.size:
            sig[rows] = self._densify(sig[rows], ~empty[rows])
        return sig, has

    # -- a whole batch --------------------------------------------------------------
    def compute(self, texts: pl.Series, skip_exact_repeats: bool = True) -> SignatureBatch:
        """Content hash, token count and signature of each text.

        With ``skip_exact_repeats``, a document whose content hash already occurred
        earlier in the batch gets no signature (exact dedup links it instead).
        """
        tokens = tokenize(texts)
        chash = content_hashes(tokens)
        shingles = shingle_hashes(tokens, self.ngram_sizes(texts, tokens))
        offsets = shingles.offsets
        hashes = shingles.hashes
        if skip_exact_repeats and len(chash):
            _, first = np.unique(chash, return_index=True)
            wanted = np.zeros(len(chash), dtype=bool)
            wanted[first] = True
            if not wanted.all():
                counts = np.diff(offsets) * wanted
                keep_sh = np.repeat(wanted, np.diff(offsets))
                hashes = hashes[keep_sh]
                offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        sig, has = self.signatures_from_shingles(hashes, offsets)
        return SignatureBatch(chash, tokens.counts.astype(np.int64), sig, has)

    # -- LSH ------------------------------------------------------------------------
    def band_keys(self, signature: np.ndarray) -> np.ndarray:
        """(n, bands) uint64: each band's rows folded into one key."""
        p = self.params
        s = signature.reshape(len(signature), p.bands, p.rows)
        acc = np.zeros((len(signature), p.bands), dtype=np.uint64)
        for r in range(p.rows):
            acc += s[:, :, r] * self.band_weights[r]
        acc ^= self.band_salts[None, :]
        return fmix64(acc, inplace=True)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Share of equal signature values, row by row: an unbiased estimate of the Jaccard similarity."""
    return (sig_a == sig_b).mean(axis=1)


def collision_probability(j: float, bands: int, rows: int) -> float:
    """P(two sets with Jaccard ``j`` share at least one LSH band key) = 1 - (1 - j^r)^b."""
    return 1.0 - (1.0 - j**rows) ** bands
